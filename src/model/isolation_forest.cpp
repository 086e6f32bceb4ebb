#include "model/isolation_forest.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <istream>
#include <limits>
#include <numeric>
#include <ostream>
#include <random>
#include <stdexcept>
#include <utility>

#include "hemolens/backend.hpp"
#ifdef HEMOLENS_WITH_CUDA
#include "forest_score.hpp"  // for the GPU scoring kernel (cuda/)
#endif

namespace hemolens::model {

static_assert(std::endian::native == std::endian::little, "the forest file format is little-endian and written by memcpy");

double average_path_length(double n) {
  if (n <= 1) return 0.0;
  if (n <= 2) return 1.0;
  constexpr double kEulerGamma = 0.5772156649015329;
  return 2.0 * (std::log(n - 1.0) + kEulerGamma) - 2.0 * (n - 1.0) / n;
}

int depth_limit(int sample_size) { return std::max(1, int(std::ceil(std::log2(std::max(sample_size, 2))))); }

std::vector<float> IsolationForest::leaf_adjustments() const {
  std::vector<float> a(nodes(), 0.0f);
  for (std::size_t i = 0; i < nodes(); ++i)
    if (feature[i] < 0) a[i] = float(average_path_length(size[i]));
  return a;
}

void IsolationForest::validate() const {
  const std::size_t n = nodes();
  if (threshold.size() != n || left.size() != n || right.size() != n || size.size() != n)
    throw std::runtime_error("isolation forest: node arrays of different lengths");
  if (roots.empty() || features <= 0 || sample_size <= 0) throw std::runtime_error("isolation forest: empty");
  const auto in_range = [n](std::int32_t i) { return i >= 0 && std::size_t(i) < n; };
  for (std::size_t i = 0; i < n; ++i) {
    if (feature[i] >= features) throw std::runtime_error("isolation forest: node " + std::to_string(i) + " splits on a feature past the last column");
    if (feature[i] >= 0 && !(in_range(left[i]) && in_range(right[i])))
      throw std::runtime_error("isolation forest: node " + std::to_string(i) + " has a child outside the node array");
    if (feature[i] < 0 && size[i] < 0) throw std::runtime_error("isolation forest: negative leaf size");
  }
  // Every path must end within the depth limit: no cycles, nothing deeper than fitting makes.
  std::vector<std::pair<std::int32_t, int>> stack;
  for (std::int32_t r : roots) {
    if (!in_range(r)) throw std::runtime_error("isolation forest: a tree root outside the node array");
    stack.assign(1, {r, 0});
    while (!stack.empty()) {
      const auto [node, depth] = stack.back();
      stack.pop_back();
      if (depth > max_depth) throw std::runtime_error("isolation forest: a tree deeper than its depth limit (damaged?)");
      if (feature[std::size_t(node)] < 0) continue;
      stack.push_back({left[std::size_t(node)], depth + 1});
      stack.push_back({right[std::size_t(node)], depth + 1});
    }
  }
}

namespace {

// Grows one tree over the sampled rows idx[begin, end). Recursion depth <= max_depth.
class TreeBuilder {
 public:
  // `columns`: the columns splits may use (all when empty).
  TreeBuilder(IsolationForest& f, const float* x, std::size_t cols, const std::vector<int>& columns, std::mt19937_64& rng)
      : f_(f), x_(x), cols_(cols), rng_(rng), order_(columns.begin(), columns.end()) {
    if (order_.empty()) {
      order_.resize(cols);
      std::iota(order_.begin(), order_.end(), 0);
    }
  }

  std::int32_t grow(std::vector<std::size_t>& idx, std::size_t begin, std::size_t end, int depth) {
    const std::int32_t node = add_node();
    float lo = 0, hi = 0;
    const int feat = (end - begin > 1 && depth < f_.max_depth) ? pick_feature(idx, begin, end, &lo, &hi) : -1;
    if (feat < 0) {
      f_.size[std::size_t(node)] = std::int32_t(end - begin);
      return node;
    }
    // Uniform in [lo, hi); rounding to float could reach hi and leave the right side empty.
    float split = float(std::uniform_real_distribution<double>(lo, hi)(rng_));
    if (split >= hi) split = std::nextafter(hi, lo);
    const auto mid = std::partition(idx.begin() + std::ptrdiff_t(begin), idx.begin() + std::ptrdiff_t(end),
                                    [&](std::size_t r) { return x_[r * cols_ + std::size_t(feat)] <= split; });
    const std::size_t m = std::size_t(mid - idx.begin());
    f_.feature[std::size_t(node)] = feat;
    f_.threshold[std::size_t(node)] = split;
    const std::int32_t l = grow(idx, begin, m, depth + 1);
    const std::int32_t r = grow(idx, m, end, depth + 1);
    f_.left[std::size_t(node)] = l;
    f_.right[std::size_t(node)] = r;
    return node;
  }

 private:
  std::int32_t add_node() {
    f_.feature.push_back(-1);
    f_.threshold.push_back(0.0f);
    f_.left.push_back(-1);
    f_.right.push_back(-1);
    f_.size.push_back(0);
    return std::int32_t(f_.feature.size() - 1);
  }

  // A random feature that is not constant over the node (drawn without replacement, as
  // scikit-learn's splitter does), with its range; -1 when every feature is constant.
  int pick_feature(const std::vector<std::size_t>& idx, std::size_t begin, std::size_t end, float* lo, float* hi) {
    for (std::size_t k = 0; k < order_.size(); ++k) {
      std::swap(order_[k], order_[std::uniform_int_distribution<std::size_t>(k, order_.size() - 1)(rng_)]);
      const std::size_t feat = order_[k];
      float mn = std::numeric_limits<float>::infinity(), mx = -mn;
      for (std::size_t i = begin; i < end; ++i) {
        const float v = x_[idx[i] * cols_ + feat];
        if (std::isnan(v)) continue;  // missing: ignored for the range, sent right at scoring
        mn = std::min(mn, v);
        mx = std::max(mx, v);
      }
      if (mx > mn && std::isfinite(mn) && std::isfinite(mx)) {
        *lo = mn;
        *hi = mx;
        return int(feat);
      }
    }
    return -1;
  }

  IsolationForest& f_;
  const float* x_;
  std::size_t cols_;
  std::mt19937_64& rng_;
  std::vector<std::size_t> order_;
};

std::uint64_t mix_seed(std::uint64_t seed, std::uint64_t tree) {  // splitmix64: a stream per tree
  std::uint64_t z = seed + 0x9E3779B97F4A7C15ull * (tree + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace

IsolationForest fit_forest(const float* x, std::size_t cols, const std::vector<std::size_t>& rows, const ForestParams& p,
                           const std::vector<int>& columns) {
  if (rows.empty()) throw std::runtime_error("isolation forest: no rows to fit on");
  if (cols == 0) throw std::runtime_error("isolation forest: no features to fit on");
  for (int c : columns)
    if (c < 0 || std::size_t(c) >= cols) throw std::runtime_error("isolation forest: column " + std::to_string(c) + " outside the row");
  if (p.trees < 1 || p.samples < 2) throw std::runtime_error("isolation forest: needs at least 1 tree and 2 samples per tree");
  IsolationForest f;
  f.features = int(cols);
  f.sample_size = int(std::min<std::size_t>(std::size_t(p.samples), rows.size()));
  f.max_depth = depth_limit(f.sample_size);
  std::vector<std::size_t> pool = rows, sample(std::size_t(f.sample_size));
  for (int t = 0; t < p.trees; ++t) {
    std::mt19937_64 rng(mix_seed(p.seed, std::uint64_t(t)));
    for (std::size_t k = 0; k < sample.size(); ++k) {  // partial Fisher-Yates: psi rows without replacement
      std::swap(pool[k], pool[std::uniform_int_distribution<std::size_t>(k, pool.size() - 1)(rng)]);
      sample[k] = pool[k];
    }
    TreeBuilder builder(f, x, cols, columns, rng);
    f.roots.push_back(builder.grow(sample, 0, sample.size(), 0));
  }
  return f;
}

IsolationForest fit_forest(const float* x, std::size_t rows, std::size_t cols, const ForestParams& p) {
  std::vector<std::size_t> all(rows);
  std::iota(all.begin(), all.end(), 0);
  return fit_forest(x, cols, all, p);
}

double path_length(const IsolationForest& f, std::size_t tree, const float* row) {
  std::size_t node = std::size_t(f.roots[tree]);
  int depth = 0;
  while (f.feature[node] >= 0) {
    node = std::size_t(row[f.feature[node]] <= f.threshold[node] ? f.left[node] : f.right[node]);
    ++depth;
  }
  return depth + average_path_length(f.size[node]);
}

namespace {

void check_columns(const IsolationForest& f, std::size_t cols) {
  if (int(cols) != f.features)
    throw std::runtime_error("isolation forest: fitted on " + std::to_string(f.features) + " features, given rows of " + std::to_string(cols));
}

}  // namespace

std::vector<float> score_cpu(const IsolationForest& f, const float* x, std::size_t rows, std::size_t cols, int threads) {
  check_columns(f, cols);
  std::vector<float> scores(rows);
  const double c = average_path_length(f.sample_size);
  const auto body = [&](const tbb::blocked_range<std::size_t>& r) {
    for (std::size_t i = r.begin(); i != r.end(); ++i) {
      double sum = 0;  // double, tree by tree in order: the GPU sums the same way
      for (std::size_t t = 0; t < f.trees(); ++t) sum += path_length(f, t, x + i * cols);
      scores[i] = float(std::exp2(-(sum / double(f.trees())) / c));
    }
  };
  if (threads > 0) {
    tbb::task_arena arena(threads);
    arena.execute([&] { tbb::parallel_for(tbb::blocked_range<std::size_t>(0, rows, 64), body); });
  } else {
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, rows, 64), body);
  }
  return scores;
}

std::vector<float> score_cuda(const IsolationForest& f, const float* x, std::size_t rows, std::size_t cols) {
  check_columns(f, cols);
#ifdef HEMOLENS_WITH_CUDA
  const std::vector<float> adjustment = f.leaf_adjustments();
  cuda::ForestArrays a;
  a.roots = f.roots.data();
  a.trees = f.trees();
  a.feature = f.feature.data();
  a.threshold = f.threshold.data();
  a.left = f.left.data();
  a.right = f.right.data();
  a.adjustment = adjustment.data();
  a.nodes = f.nodes();
  a.max_depth = f.max_depth;
  a.c_sample = average_path_length(f.sample_size);
  std::vector<float> scores(rows);
  std::string error;
  if (!cuda::score_forest(a, x, rows, cols, scores.data(), &error)) throw std::runtime_error("isolation forest on the GPU: " + error);
  return scores;
#else
  (void)x;
  (void)rows;
  throw std::runtime_error("isolation forest on the GPU: " + cuda_status().message);
#endif
}

std::vector<float> score_forest(const IsolationForest& f, const float* x, std::size_t rows, std::size_t cols, const std::string& device,
                                std::string* used, int threads) {
  if (device != "cpu" && device != "cuda" && device != "auto") throw std::runtime_error("unknown device '" + device + "': use cpu, cuda or auto");
  bool gpu = device == "cuda";
  if (device == "auto") {
    const CudaStatus s = cuda_status();
    gpu = s.compiled && s.devices > 0;
  }
  if (used) *used = gpu ? "cuda" : "cpu";
  return gpu ? score_cuda(f, x, rows, cols) : score_cpu(f, x, rows, cols, threads);
}

// ---- binary record (docs/anomaly.md) ----

namespace {

template <typename T>
void put(std::ostream& out, const std::vector<T>& v) {
  out.write(reinterpret_cast<const char*>(v.data()), std::streamsize(v.size() * sizeof(T)));
}
void put_u32(std::ostream& out, std::uint32_t v) { out.write(reinterpret_cast<const char*>(&v), sizeof v); }

std::uint32_t get_u32(std::istream& in) {
  std::uint32_t v = 0;
  in.read(reinterpret_cast<char*>(&v), sizeof v);
  return v;
}
// Grown as the bytes arrive, 64 Ki values at a time: a header that claims more nodes than its
// file holds costs what the file holds, not the claim (2^28 nodes took 5 GB before).
template <typename T>
void get(std::istream& in, std::vector<T>& v, std::size_t n) {
  constexpr std::size_t kStep = std::size_t(1) << 16;
  v.clear();
  while (v.size() < n && in) {
    const std::size_t at = v.size(), take = std::min(kStep, n - at);
    v.resize(at + take);
    in.read(reinterpret_cast<char*>(v.data() + at), std::streamsize(take * sizeof(T)));
  }
}

}  // namespace

void write_forest(std::ostream& out, const IsolationForest& f) {
  for (std::uint32_t v : {std::uint32_t(f.features), std::uint32_t(f.sample_size), std::uint32_t(f.max_depth), std::uint32_t(f.trees()),
                          std::uint32_t(f.nodes())})
    put_u32(out, v);
  put(out, f.roots);
  put(out, f.feature);
  put(out, f.threshold);
  put(out, f.left);
  put(out, f.right);
  put(out, f.size);
}

IsolationForest read_forest(std::istream& in, const std::string& source) {
  IsolationForest f;
  f.features = int(get_u32(in));
  f.sample_size = int(get_u32(in));
  f.max_depth = int(get_u32(in));
  const std::uint32_t trees = get_u32(in), nodes = get_u32(in);
  // Bounds that no fitted forest reaches: a damaged header must not allocate gigabytes.
  if (!in || f.features <= 0 || f.features > (1 << 20) || f.sample_size <= 0 || f.max_depth <= 0 || f.max_depth > 64 || trees == 0 ||
      trees > (1u << 20) || nodes > (1u << 28))
    throw std::runtime_error(source + ": not an isolation forest record (damaged or truncated header)");
  get(in, f.roots, trees);
  get(in, f.feature, nodes);
  get(in, f.threshold, nodes);
  get(in, f.left, nodes);
  get(in, f.right, nodes);
  get(in, f.size, nodes);
  if (!in) throw std::runtime_error(source + ": isolation forest truncated");
  try {
    f.validate();
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(source + ": " + e.what());
  }
  return f;
}

}  // namespace hemolens::model
