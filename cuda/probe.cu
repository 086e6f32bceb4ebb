#include <cuda_runtime.h>

#include "probe.hpp"

namespace hemolens::cuda {

Probe probe() {
  Probe p;
  int n = 0;
  const cudaError_t err = cudaGetDeviceCount(&n);
  if (err != cudaSuccess) {
    // No driver (35) or no device (100): clear the sticky error and report the reason.
    cudaGetLastError();
    p.message = std::string("no usable CUDA device: ") + cudaGetErrorString(err);
    return p;
  }
  if (n == 0) {
    p.message = "no CUDA device found";
    return p;
  }
  cudaDeviceProp prop{};
  cudaGetDeviceProperties(&prop, 0);
  p.devices = n;
  p.message = std::string(prop.name) + ", " + std::to_string(prop.totalGlobalMem >> 20) + " MiB";
  return p;
}

}  // namespace hemolens::cuda
