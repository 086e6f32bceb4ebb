// HL_HD marks the functions both backends call: plain host functions for the CPU build,
// __host__ __device__ when nvcc compiles them for the CUDA backend.
#pragma once
#if defined(__CUDACC__)
#define HL_HD __host__ __device__
#else
#define HL_HD
#endif
