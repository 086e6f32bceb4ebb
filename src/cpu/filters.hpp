// Smoothing filters of the CPU reference backend. Both are bit-exact with OpenCV
// (cv::GaussianBlur with sigma 0 and BORDER_REFLECT_101, cv::medianBlur), which is the
// oracle in tests/test_filters.cpp; the CUDA backend mirrors them in cuda/filters.cu.
#pragma once
#include "hemolens/image.hpp"

namespace hemolens::cpu {

// Gaussian blur with the binomial kernel of size 3 ([1 2 1]/4) or 5 ([1 4 6 4 1]/16),
// which is what OpenCV uses for sigma 0. Integer arithmetic with the same result as OpenCV's
// fixed-point path (8 fractional bits a pass, rounded half up at the end), computed with the
// small binomial weights on 16-bit lanes.
void gaussian_blur(const Plane8& in, Plane8& out, int ksize);

// Median of the ksize x ksize window (3 or 5), borders replicated.
void median_blur(const Plane8& in, Plane8& out, int ksize);

// Reflect-101 index into [0, n): -1 -> 1, n -> n - 2 (as cv::borderInterpolate).
int reflect101(int i, int n);

}  // namespace hemolens::cpu
