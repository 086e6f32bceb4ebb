// One block per row; its threads walk the trees t = threadIdx.x, t + blockDim.x, ... and sum
// the path lengths, then the block adds the partial sums in a fixed tree order (a shared
// memory reduction), so a row's score does not depend on scheduling. Path lengths are summed
// in double, as on the CPU (src/model/isolation_forest.cpp), so the two agree to float
// rounding.
#include <cuda_runtime.h>

#include <string>

#include "forest_score.hpp"

namespace hemolens::cuda {
namespace {

constexpr int kThreads = 128;

struct DeviceForest {
  const std::int32_t* roots;
  const std::int32_t* feature;
  const float* threshold;
  const std::int32_t* left;
  const std::int32_t* right;
  const float* adjustment;
  int trees;
  int max_depth;
};

__device__ double tree_path(const DeviceForest& f, int tree, const float* row) {
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

__global__ void score_kernel(DeviceForest f, const float* x, std::size_t cols, double c_sample, float* scores) {
  __shared__ double partial[kThreads];
  const float* row = x + std::size_t(blockIdx.x) * cols;
  double sum = 0;
  for (int t = threadIdx.x; t < f.trees; t += blockDim.x) sum += tree_path(f, t, row);
  partial[threadIdx.x] = sum;
  __syncthreads();
  for (int half = blockDim.x / 2; half > 0; half /= 2) {
    if (int(threadIdx.x) < half) partial[threadIdx.x] += partial[threadIdx.x + half];
    __syncthreads();
  }
  if (threadIdx.x == 0) scores[blockIdx.x] = float(exp2(-(partial[0] / f.trees) / c_sample));
}

bool ok(cudaError_t e, std::string* error) {
  if (e == cudaSuccess) return true;
  if (error) *error = cudaGetErrorString(e);
  return false;
}

// Device copies of the host arrays, freed together.
struct Uploads {
  void* p[8] = {};
  int n = 0;
  ~Uploads() {
    for (int i = 0; i < n; ++i) cudaFree(p[i]);
  }
  template <typename T>
  bool put(const T* host, std::size_t count, T** device, std::string* error) {
    void* d = nullptr;
    if (!ok(cudaMalloc(&d, count * sizeof(T)), error)) return false;
    p[n++] = d;
    *device = static_cast<T*>(d);
    return ok(cudaMemcpy(d, host, count * sizeof(T), cudaMemcpyHostToDevice), error);
  }
};

}  // namespace

bool score_forest(const ForestArrays& h, const float* x, std::size_t rows, std::size_t cols, float* scores, std::string* error) {
  if (rows == 0) return true;
  if (h.trees == 0 || h.nodes == 0) {
    if (error) *error = "empty forest";
    return false;
  }
  Uploads up;
  std::int32_t *roots, *feature, *left, *right;
  float *threshold, *adjustment, *d_x, *d_scores;
  const bool uploaded = up.put(h.roots, h.trees, &roots, error) && up.put(h.feature, h.nodes, &feature, error) &&
                        up.put(h.threshold, h.nodes, &threshold, error) && up.put(h.left, h.nodes, &left, error) &&
                        up.put(h.right, h.nodes, &right, error) && up.put(h.adjustment, h.nodes, &adjustment, error) &&
                        up.put(x, rows * cols, &d_x, error);
  if (!uploaded || !ok(cudaMalloc(reinterpret_cast<void**>(&d_scores), rows * sizeof(float)), error)) return false;
  up.p[up.n++] = d_scores;
  const DeviceForest f{roots, feature, threshold, left, right, adjustment, int(h.trees), h.max_depth};
  score_kernel<<<unsigned(rows), kThreads>>>(f, d_x, cols, h.c_sample, d_scores);
  return ok(cudaGetLastError(), error) && ok(cudaMemcpy(scores, d_scores, rows * sizeof(float), cudaMemcpyDeviceToHost), error);
}

}  // namespace hemolens::cuda
