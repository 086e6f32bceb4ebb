// Isolation-forest scoring (cuda/forest_score.hpp, cuda/stages.cuh). The path length of a row in
// a tree is one HL_HD function. Portable path: one item per row sums its trees in order, in
// double, exactly as the CPU (src/model/isolation_forest.cpp). Fast path (GPU): one block per
// row, its threads walk trees t, t + blockDim.x, ... and a shared-memory reduction adds the
// partial sums in a fixed order, so a score does not depend on scheduling; it differs from the
// CPU's only by the order of the double additions (well below float rounding).
#include <math.h>

#include <string>
#include <type_traits>

#include "forest_score.hpp"
#include "stages.cuh"

HEMOLENS_CUDA_BEGIN
namespace {

struct Forest {
  const std::int32_t *roots, *feature, *left, *right;
  const float *threshold, *adjustment;
  int trees, max_depth;
  double c_sample;
};

HL_HD double tree_path(const Forest& f, int tree, const float* row) {
  int node = f.roots[tree];
  int depth = 0;
  // depth <= max_depth always holds for a well-formed tree; the bound stops a damaged one.
  while (f.feature[node] >= 0 && depth <= f.max_depth) {
    const float v = row[f.feature[node]];
    node = v <= f.threshold[node] ? f.left[node] : f.right[node];  // NaN compares false: right
    ++depth;
  }
  return depth + double(f.adjustment[node]);
}

HL_HD float score_of(const Forest& f, double path_sum) { return float(::exp2(-(path_sum / f.trees) / f.c_sample)); }

struct ScoreRows {
  Forest f;
  const float* x;
  std::size_t cols;
  float* scores;
  HL_HD void operator()(std::size_t i) const {
    double sum = 0;
    for (int t = 0; t < f.trees; ++t) sum += tree_path(f, t, x + i * cols);
    scores[i] = score_of(f, sum);
  }
};

#ifdef __CUDACC__
constexpr int kBlock = 128;

__global__ void score_block_kernel(Forest f, const float* x, std::size_t cols, float* scores) {
  __shared__ double partial[kBlock];
  const float* row = x + std::size_t(blockIdx.x) * cols;
  double sum = 0;
  for (int t = threadIdx.x; t < f.trees; t += blockDim.x) sum += tree_path(f, t, row);
  partial[threadIdx.x] = sum;
  __syncthreads();
  for (int half = blockDim.x / 2; half > 0; half /= 2) {
    if (int(threadIdx.x) < half) partial[threadIdx.x] += partial[threadIdx.x + half];
    __syncthreads();
  }
  if (threadIdx.x == 0) scores[blockIdx.x] = score_of(f, partial[0]);
}
#endif

}  // namespace

void score_forest(exec::Context& c, const ForestArrays& a, const float* x, std::size_t rows, std::size_t cols, float* scores) {
  c.stage("forest");
  const Forest f{a.roots, a.feature, a.left, a.right, a.threshold, a.adjustment, int(a.trees), a.max_depth, a.c_sample};
#ifdef __CUDACC__
  if (c.path() == Path::kFast) {
    if (!c.ok() || rows == 0 || !c.check_grid(rows, "forest")) return;
    ++c.counters().launches;
    score_block_kernel<<<unsigned(rows), kBlock, 0, c.stream()>>>(f, x, cols, scores);
    c.check(cudaGetLastError(), "kernel launch");
    return;
  }
#endif
  exec::for_each(c, rows, ScoreRows{f, x, cols, scores});
}

bool score_forest(const ForestArrays& h, const float* x, std::size_t rows, std::size_t cols, float* scores, std::string* error, Path path) {
  if (rows == 0) return true;
  if (h.trees == 0 || h.nodes == 0) {
    if (error) *error = "empty forest";
    return false;
  }
  return exec::run_once(
      path,
      [&](exec::Context& c) {
        c.stage("upload");
        ForestArrays d = h;
        auto put = [&](const auto* host, std::size_t n, const auto** device) {
          using T = std::remove_const_t<std::remove_pointer_t<decltype(host)>>;
          T* p = c.take<T>(n);
          c.upload(p, host, n * sizeof(T));
          *device = p;
        };
        put(h.roots, h.trees, &d.roots);
        put(h.feature, h.nodes, &d.feature);
        put(h.threshold, h.nodes, &d.threshold);
        put(h.left, h.nodes, &d.left);
        put(h.right, h.nodes, &d.right);
        put(h.adjustment, h.nodes, &d.adjustment);
        const float* d_x = nullptr;
        put(x, rows * cols, &d_x);
        auto* d_scores = c.take<float>(rows);
        score_forest(c, d, d_x, rows, cols, d_scores);
        c.stage("download");
        c.download(scores, d_scores, rows * sizeof(float));
      },
      error);
}

HEMOLENS_CUDA_END
