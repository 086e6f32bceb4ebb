// Isolation forest (Liu, Ting and Zhou, "Isolation Forest", ICDM 2008), written out by hand.
//
// Each tree is grown on a random subsample of psi rows (without replacement): a node picks a
// feature at random (among those not constant in the node) and a split value uniformly
// between the feature's minimum and maximum in the node, until the node holds one row or the
// depth limit ceil(log2 psi) is reached. An anomaly is isolated in few splits, so its path
// length h(x) is short. The score is
//     s(x) = 2^(-E[h(x)] / c(psi)),   c(n) = 2 H(n-1) - 2 (n-1) / n,   H(i) ~ ln(i) + 0.5772156649
// with c(size) added to the depth at an external node that holds size > 1 rows (the average
// path length of the subtree that the depth limit cut off). s near 1: anomaly; well below 0.5:
// normal. These are the conventions of scikit-learn's IsolationForest too, so the scores of
// the two agree in distribution (benchmarks/anomaly/compare_sklearn.py).
//
// Trees are stored in flat arrays (all trees' nodes one after the other, children as absolute
// node indices) so that the GPU scores every row against every tree in one launch.
#pragma once
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

namespace hemolens::model {

struct ForestParams {
  int trees = 200;
  int samples = 256;  // psi; min(samples, rows) when fewer rows are given
  std::uint64_t seed = 42;
};

// c(n): the average path length of an unsuccessful search in a binary search tree of n nodes,
// the normaliser of path lengths. c(0) = c(1) = 0, c(2) = 1.
double average_path_length(double n);

// ceil(log2(psi)), and at least 1: the depth at which a tree stops splitting.
int depth_limit(int sample_size);

struct IsolationForest {
  int features = 0;     // columns of the rows it was fitted on (and must score)
  int sample_size = 0;  // psi actually used
  int max_depth = 0;    // depth_limit(sample_size)
  std::vector<std::int32_t> roots;  // node index of each tree's root
  // One entry per node. feature < 0 marks an external node holding `size` training rows.
  // Internal nodes send x to `left` when x[feature] <= threshold (NaN goes right).
  std::vector<std::int32_t> feature, left, right, size;
  std::vector<float> threshold;

  std::size_t trees() const { return roots.size(); }
  std::size_t nodes() const { return feature.size(); }
  // c(size) of each node (0 for internal nodes): the correction added at external nodes.
  std::vector<float> leaf_adjustments() const;
  // Throws std::runtime_error when indices point outside the arrays or a tree has a cycle
  // (what a damaged file would give).
  void validate() const;
};

// Fits on all rows of a rows x cols row-major table. Deterministic for a given seed.
IsolationForest fit_forest(const float* x, std::size_t rows, std::size_t cols, const ForestParams& p);
// Fits on the listed rows only (for per-class forests and cross-fitting). With `columns`, splits
// use only those columns (nodes still name columns of the full row, so scoring is unchanged).
IsolationForest fit_forest(const float* x, std::size_t cols, const std::vector<std::size_t>& rows, const ForestParams& p,
                           const std::vector<int>& columns = {});

// Path length of one row in one tree: depth of the external node reached + c(its size).
double path_length(const IsolationForest& f, std::size_t tree, const float* row);

// Anomaly scores s(x) on the CPU (threads: 0 = all cores).
std::vector<float> score_cpu(const IsolationForest& f, const float* x, std::size_t rows, std::size_t cols, int threads = 0);
// The same on the GPU in one launch; throws std::runtime_error when the build has no CUDA or
// the device call fails.
std::vector<float> score_cuda(const IsolationForest& f, const float* x, std::size_t rows, std::size_t cols);
// device "cpu", "cuda" or "auto" (GPU when the build has CUDA and a device is present).
// `used` receives the device that ran.
std::vector<float> score_forest(const IsolationForest& f, const float* x, std::size_t rows, std::size_t cols, const std::string& device,
                                std::string* used = nullptr, int threads = 0);

// The binary record of one forest (layout in docs/anomaly.md): little-endian, no padding.
void write_forest(std::ostream& out, const IsolationForest& f);
IsolationForest read_forest(std::istream& in, const std::string& source);  // throws naming `source`

}  // namespace hemolens::model
