// Plain C++ view of what executes cuda/ for host code: the .cu files keep CUDA (and anything
// nvcc compiles) on their side, and host code never includes CUDA headers.
#pragma once
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

HEMOLENS_CUDA_END
