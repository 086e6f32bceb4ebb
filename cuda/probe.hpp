// Plain C++ view of what executes cuda/ for host code: the .cu files keep CUDA (and anything
// nvcc compiles) on their side, and host code never includes CUDA headers.
#pragma once
#include <cstddef>
#include <string>

#include "exec.hpp"

HEMOLENS_CUDA_BEGIN

struct Probe {
  int devices = 0;      // usable GPUs; 1 for the host execution (its one device is the CPU)
  bool gpu = false;     // a real GPU executes the kernels
  std::string message;  // the first device's name and memory, or why there is none
};

// Never throws; a machine without a driver reports 0 devices and the runtime's reason.
Probe probe();

// Bytes free on the first device now (it creates the device's context, so only the backend asks);
// 0 when unknown: no device, or the host execution.
std::size_t free_device_memory();

HEMOLENS_CUDA_END
