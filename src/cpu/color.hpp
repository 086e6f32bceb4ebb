// Colour kernels of the CPU reference backend: white balance against the slide
// background, the stain channel, and 8-bit HSV.
#pragma once
#include <algorithm>
#include <array>
#include <cstdint>

#include "features/hsv.hpp"
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

// 8-bit HSV: the shared formula (src/features/hsv.hpp), also run by the CUDA kernels.
using features::rgb_to_hsv;

// 256-bin histogram of a plane, optionally only where mask != 0.
void histogram(const Plane8& p, const Plane8* mask, std::uint32_t out[256]);

// mask = p > t (1 or 0).
Plane8 threshold_above(const Plane8& p, int t);

}  // namespace hemolens::cpu
