// The two raster passes of the chamfer (3-4) distance over one image, written once for the CPU
// reference (cpu::chamfer_distance) and the CUDA kernel (cuda/distance.cu, one image per thread).
// Header-only, standard C++ and HL_HD only.
#pragma once
#include <cstddef>
#include <cstdint>

#include "features/hd.hpp"

namespace hemolens::cpu {

inline constexpr std::int32_t kChamferFar = 1 << 28;  // the distance where a mask is empty

// d (h x w, rows packed): 3 units per pixel step, 4 per diagonal step, from every pixel to the
// nearest pixel where mask != 0, along paths inside the image. The two passes give the
// shortest 3-4 path exactly: the forward pass brings every distance from above and the left,
// the backward pass from below and the right.
HL_HD inline void chamfer_passes(const std::uint8_t* mask, std::int32_t* d, int h, int w) {
  const std::size_t n = std::size_t(h) * std::size_t(w);
  for (std::size_t k = 0; k < n; ++k) d[k] = mask[k] ? 0 : kChamferFar;
  auto relax = [&](int y, int x, int yy, int xx, std::int32_t step) {
    if (yy < 0 || yy >= h || xx < 0 || xx >= w) return;
    std::int32_t& v = d[std::size_t(y) * w + x];
    const std::int32_t u = d[std::size_t(yy) * w + xx] + step;
    if (u < v) v = u;
  };
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      relax(y, x, y, x - 1, 3);
      relax(y, x, y - 1, x - 1, 4);
      relax(y, x, y - 1, x, 3);
      relax(y, x, y - 1, x + 1, 4);
    }
  for (int y = h - 1; y >= 0; --y)
    for (int x = w - 1; x >= 0; --x) {
      relax(y, x, y, x + 1, 3);
      relax(y, x, y + 1, x + 1, 4);
      relax(y, x, y + 1, x, 3);
      relax(y, x, y + 1, x - 1, 4);
    }
}

}  // namespace hemolens::cpu
