#include "probe.hpp"

#ifdef __CUDACC__
#include <cuda_runtime.h>
#else
#include <thread>
#endif

HEMOLENS_CUDA_BEGIN

#ifdef __CUDACC__

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
  p.gpu = true;
  p.message = std::string(prop.name) + ", " + std::to_string(prop.totalGlobalMem >> 20) + " MiB";
  return p;
}

std::size_t free_device_memory() {
  std::size_t free = 0, total = 0;
  if (cudaMemGetInfo(&free, &total) == cudaSuccess) return free;
  cudaGetLastError();
  return 0;
}

#else

// The host execution always has its one "device": the CPU, through Thrust's TBB backend.
Probe probe() {
  Probe p;
  p.devices = 1;
  p.message = "host execution of cuda/ (Thrust TBB backend, " + std::to_string(std::thread::hardware_concurrency()) + " hardware threads)";
  return p;
}

std::size_t free_device_memory() { return 0; }

#endif

HEMOLENS_CUDA_END
