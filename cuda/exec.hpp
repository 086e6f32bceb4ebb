// What every host-callable header of cuda/ shares: the namespace of the execution and the
// choice between a kernel's fast and portable path. Standard C++ only.
//
// cuda/ is compiled twice from the same source (cuda/exec.cuh): by nvcc for the GPU (library
// hemolens_cuda) and by g++ with Thrust's TBB backend for the host (hemolens_cuda_host, a test
// build that CI executes). The two libraries define the same functions, so each lives in its
// own inline namespace: hemolens::cuda::X names the GPU's X, or the host execution's X in code
// compiled with HEMOLENS_CUDA_HOST (the host library and its tests), and a binary that links
// both (the host tests link hemolens_core, which links the GPU library) never mixes them.
#pragma once
#include <string>

#if defined(HEMOLENS_CUDA_HOST)
#define HEMOLENS_CUDA_BEGIN \
  namespace hemolens::cuda {  \
  inline namespace host {
#else
#define HEMOLENS_CUDA_BEGIN \
  namespace hemolens::cuda {  \
  inline namespace device {
#endif
#define HEMOLENS_CUDA_END \
  }                       \
  }

HEMOLENS_CUDA_BEGIN

// Kernels that need block cooperation (shared-memory privatised histograms, block reductions)
// have a fast path for the GPU and a portable path (global atomics, per-item loops) that the
// host execution runs. On the GPU both exist and the GPU check compares them; on the host the
// two are the same code.
enum class Path { kFast, kPortable };

HEMOLENS_CUDA_END
