// The two raster passes of the chamfer (3-4) distance, written once for the CPU reference
// (cpu::chamfer_distance, the segmentation's lobe joining and reach cut, the thickness of
// cpu::measure_shape) and the CUDA kernels (cuda/distance.cu, cuda/segment.cu, cuda/measure.cu:
// one image per work item). Header-only, standard C++ and HL_HD only.
//
// Every function works on an h x w window of planes with their own row strides, so the device
// runs them on a box inside an image of a packed batch and the CPU on a plane or a crop.
#pragma once
#include <cstddef>
#include <cstdint>

#include "features/hd.hpp"

namespace hemolens::cpu {

inline constexpr std::int32_t kChamferFar = 1 << 28;  // the distance where a mask is empty

// The two passes over a window of distances d (row stride ds), already 0 at the sources and
// kChamferFar elsewhere. Beyond the window there is nothing (paths stay inside it) or, with
// kFrame, a source on every side (a one-pixel frame of sources around the window). The two
// passes give the shortest 3-4 path exactly: the forward pass brings every distance from above
// and the left, the backward pass from below and the right.
template <bool kFrame>
HL_HD inline void chamfer_relax(std::int32_t* d, std::size_t ds, int h, int w) {
  auto relax = [&](int y, int x, int yy, int xx, std::int32_t step) {
    std::int32_t u = step;  // a source of the frame
    if (yy < 0 || yy >= h || xx < 0 || xx >= w) {
      if (!kFrame) return;
    } else {
      u += d[std::size_t(yy) * ds + std::size_t(xx)];
    }
    std::int32_t& v = d[std::size_t(y) * ds + std::size_t(x)];
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

// d: 3 units per pixel step, 4 per diagonal step, from every pixel of the window to the
// nearest pixel where mask != 0, along paths inside the window (kChamferFar when the window
// holds no set pixel). mask has row stride ms, d row stride ds.
HL_HD inline void chamfer_passes(const std::uint8_t* mask, std::size_t ms, std::int32_t* d, std::size_t ds, int h, int w) {
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) d[std::size_t(y) * ds + std::size_t(x)] = mask[std::size_t(y) * ms + std::size_t(x)] ? 0 : kChamferFar;
  chamfer_relax<false>(d, ds, h, w);
}

// A packed h x w plane.
HL_HD inline void chamfer_passes(const std::uint8_t* mask, std::int32_t* d, int h, int w) {
  chamfer_passes(mask, std::size_t(w), d, std::size_t(w), h, w);
}

// The distance of every set pixel of the window to the nearest unset one, the window framed
// by unset pixels (a shape's thickness: the frame stands for everything outside its bounding
// box, which is exact because a shortest path to a farther outside pixel crosses the frame).
// d holds 0 at unset pixels; the sum and the largest distance over the set pixels are returned.
HL_HD inline void chamfer_inside(const std::uint8_t* mask, std::size_t ms, std::int32_t* d, std::size_t ds, int h, int w, std::int64_t* sum,
                                 std::int32_t* largest) {
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) d[std::size_t(y) * ds + std::size_t(x)] = mask[std::size_t(y) * ms + std::size_t(x)] ? kChamferFar : 0;
  chamfer_relax<true>(d, ds, h, w);
  std::int64_t s = 0;
  std::int32_t m = 0;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const std::int32_t v = d[std::size_t(y) * ds + std::size_t(x)];
      s += v;
      m = v > m ? v : m;
    }
  *sum = s;
  *largest = m;
}

}  // namespace hemolens::cpu
