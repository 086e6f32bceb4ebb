// The channels a colour histogram counts for one pixel, shared by both backends: RGB (after
// white balance), OpenCV-style 8-bit HSV, and two integer opponent channels (red-green and
// yellow-blue, a cheap stand-in for Lab's a* and b*). Integer arithmetic only, so CPU and GPU
// histograms agree bin for bin.
#pragma once
#include <cstdint>

#include "features/accumulators.hpp"
#include "features/hd.hpp"
#include "features/hsv.hpp"

namespace hemolens::features {

// Red against green, 128 for grey: pink/red cytoplasm and granules high, blue-grey low.
HL_HD inline std::uint8_t opponent_red_green(int r, int g) { return std::uint8_t((r - g + 256) >> 1); }

// Yellow against blue, 128 for grey: violet nuclei and basophilic cytoplasm low.
HL_HD inline std::uint8_t opponent_yellow_blue(int r, int g, int b) { return std::uint8_t((r + g - 2 * b + 512) >> 2); }

HL_HD inline void pixel_channels(std::uint8_t r, std::uint8_t g, std::uint8_t b, std::uint8_t (&out)[kChannels]) {
  out[kR] = r;
  out[kG] = g;
  out[kB] = b;
  rgb_to_hsv(r, g, b, out[kH], out[kS], out[kV]);
  out[kRG] = opponent_red_green(r, g);
  out[kYB] = opponent_yellow_blue(r, g, b);
}

}  // namespace hemolens::features
