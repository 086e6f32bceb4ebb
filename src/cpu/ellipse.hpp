// The structuring element of binary morphology: OpenCV's MORPH_ELLIPSE of size (2r+1)x(2r+1),
// as the half-width of each row. Header-only, standard C++ only: the CPU morphology and the
// CUDA kernels (cuda/morphology.cu, built with the toolkit alone) take it from here.
#pragma once
#include <math.h>  // for ::sqrt and ::rint, which nvcc also provides in device code

#include <vector>

#include "features/hd.hpp"

namespace hemolens::cpu {

// Half-width of the ellipse's row at offset dy (|dy| <= r), as cv::getStructuringElement.
// Correctly rounded double operations only, so host and device agree.
HL_HD inline int ellipse_half_width(int radius, int dy) {
  const double inv_r2 = radius ? 1.0 / (double(radius) * radius) : 0.0;
  return int(::rint(radius * ::sqrt((radius * radius - dy * dy) * inv_r2)));
}

inline std::vector<int> ellipse_half_widths(int radius) {
  std::vector<int> half(std::size_t(2 * radius + 1));
  for (int dy = -radius; dy <= radius; ++dy) half[std::size_t(dy + radius)] = ellipse_half_width(radius, dy);
  return half;
}

}  // namespace hemolens::cpu
