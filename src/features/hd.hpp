// HL_HD marks the functions both backends call: plain host functions for the CPU build,
// __host__ __device__ when nvcc compiles them for the CUDA backend.
#pragma once
#if defined(__CUDACC__)
#define HL_HD __host__ __device__
#else
#define HL_HD
#endif

namespace hemolens {

// std::min and std::max are host functions: code that both sides run takes these.
template <class T>
HL_HD constexpr T min_of(T a, T b) {
  return b < a ? b : a;
}
template <class T>
HL_HD constexpr T max_of(T a, T b) {
  return a < b ? b : a;
}

}  // namespace hemolens
