// Plain C++ view of the CUDA runtime for host code: the .cu files keep CUDA (and
// anything nvcc compiles) on their side, and host code never includes CUDA headers.
#pragma once
#include <string>

namespace hemolens::cuda {

struct Probe {
  int devices = 0;
  std::string message;  // the first device's name and memory, or why there is none
};

// Never throws; a machine without a driver reports 0 devices and the runtime's reason.
Probe probe();

}  // namespace hemolens::cuda
