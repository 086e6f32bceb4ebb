// Colour kernels of the CPU reference backend: white balance against the slide
// background, the stain channel, and 8-bit HSV.
#pragma once
#include <algorithm>
#include <array>
#include <cstdint>

#include "hemolens/image.hpp"

namespace hemolens::cpu {

struct BalancedRgb {
  Plane8 r, g, b;
  std::array<int, 3> background{};  // raw background colour (R, G, B)
};

// Background = mean colour of the brightest `bright_fraction` of pixels (by R+G+B); each
// channel is scaled so that the background becomes `target`. Integer gains with 8
// fractional bits; results saturate at 255. Removes most of the illumination and
// stain-batch colour differences between slides.
BalancedRgb white_balance(const RgbView& img, double bright_fraction, int target);

// Stain channel: max(B - G, 0). Nuclei (violet) are high, red cells and background low.
Plane8 stain_channel(const BalancedRgb& rgb);

namespace detail {
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
inline int divide(int a, int b) { return int(a * kReciprocals.inv[b] + 1e-9); }
}  // namespace detail

// OpenCV-style 8-bit HSV: H in 0..179 (2 degrees a step), S and V in 0..255.
// Integer rounding of the textbook formulas; within 1 of cv::cvtColor(COLOR_RGB2HSV).
// Inline: it runs for most pixels of every image.
inline void rgb_to_hsv(std::uint8_t r, std::uint8_t g, std::uint8_t b, std::uint8_t& h, std::uint8_t& s, std::uint8_t& v) {
  const int mx = std::max({r, g, b}), mn = std::min({r, g, b}), d = mx - mn;
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

// 256-bin histogram of a plane, optionally only where mask != 0.
void histogram(const Plane8& p, const Plane8* mask, std::uint32_t out[256]);

// mask = p > t (1 or 0).
Plane8 threshold_above(const Plane8& p, int t);

}  // namespace hemolens::cpu
