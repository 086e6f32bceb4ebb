#include <cuda_runtime.h>

#include <string>

#include "feature_rows.hpp"
#include "features/feature_row.hpp"

namespace hemolens::cuda {
namespace {

__global__ void rows_kernel(const features::ImageAccumulators* acc, std::size_t n, float* rows, std::size_t cols) {
  const std::size_t i = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x;
  if (i < n) features::compute_row(acc[i], rows + i * cols);
}

bool ok(cudaError_t e, std::string* error) {
  if (e == cudaSuccess) return true;
  if (error) *error = cudaGetErrorString(e);
  return false;
}

}  // namespace

int compute_rows(const features::ImageAccumulators* acc, std::size_t n, float* rows, std::size_t cols, std::string* error) {
  features::ImageAccumulators* d_acc = nullptr;
  float* d_rows = nullptr;
  bool good = ok(cudaMalloc(&d_acc, n * sizeof *acc), error) && ok(cudaMalloc(&d_rows, n * cols * sizeof(float)), error) &&
              ok(cudaMemcpy(d_acc, acc, n * sizeof *acc, cudaMemcpyHostToDevice), error);
  if (good && n > 0) {
    rows_kernel<<<unsigned((n + 63) / 64), 64>>>(d_acc, n, d_rows, cols);
    good = ok(cudaGetLastError(), error) && ok(cudaMemcpy(rows, d_rows, n * cols * sizeof(float), cudaMemcpyDeviceToHost), error);
  }
  cudaFree(d_acc);
  cudaFree(d_rows);
  return good ? int(cols) : -1;
}

}  // namespace hemolens::cuda
