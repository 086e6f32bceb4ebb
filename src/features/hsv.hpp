// OpenCV-style 8-bit HSV of one pixel, shared by both backends: H in 0..179 (2 degrees a
// step), S and V in 0..255. Integer rounding of the textbook formulas; within 1 of
// cv::cvtColor(COLOR_RGB2HSV) (tests/test_color.cpp). Inline: it runs for most pixels.
#pragma once
#include <cstdint>

#include "features/hd.hpp"

namespace hemolens::features {

namespace detail {
#ifndef __CUDA_ARCH__
// a / b for 0 <= a < 2^20 and 0 < b < 256, without a division instruction: a * (1/b)
// is within 1e-10 of a/b, and a/b is an integer or at least 1/255 below the next one, so
// adding 1e-9 before truncating gives exactly the integer quotient.
struct Reciprocals {
  double inv[256];
  Reciprocals() {
    inv[0] = 0;
    for (int i = 1; i < 256; ++i) inv[i] = 1.0 / i;
  }
};
inline const Reciprocals kReciprocals;
#endif
// The same exact quotient on both sides; the device divides directly.
HL_HD inline int divide(int a, int b) {
#ifdef __CUDA_ARCH__
  return a / b;
#else
  return int(a * kReciprocals.inv[b] + 1e-9);
#endif
}
}  // namespace detail

HL_HD inline void rgb_to_hsv(std::uint8_t r, std::uint8_t g, std::uint8_t b, std::uint8_t& h, std::uint8_t& s, std::uint8_t& v) {
  const int mx = r > g ? (r > b ? r : b) : (g > b ? g : b);
  const int mn = r < g ? (r < b ? r : b) : (g < b ? g : b);
  const int d = mx - mn;
  v = std::uint8_t(mx);
  s = std::uint8_t(mx ? detail::divide(255 * d + mx / 2, mx) : 0);
  if (d == 0) {
    h = 0;
    return;
  }
  int num;  // hue x 6d, in [0, 6d)
  if (mx == r) num = g >= b ? g - b : g - b + 6 * d;
  else if (mx == g) num = b - r + 2 * d;
  else num = r - g + 4 * d;
  const int hh = detail::divide(num * 30 + d / 2, d);  // 180 / 6 = 30
  h = std::uint8_t(hh >= 180 ? hh - 180 : hh);
}

}  // namespace hemolens::features
