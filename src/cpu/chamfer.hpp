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
//
// Each pass goes a row at a time: first the minimum over the row before it, element by element
// (no dependence along the row, so the compiler vectorises it), then the running minimum along
// the row, min(t[x], d[x -+ 1] + 3). That is the raster order's result exactly, since a pixel's
// neighbours in the row before are final when the row starts. Nothing beyond the window reads
// as kChamferFar (never shorter than a distance inside), the frame as a source (0).
template <bool kFrame>
HL_HD inline void chamfer_relax(std::int32_t* d, std::size_t ds, int h, int w) {
  if (h <= 0 || w <= 0) return;
  constexpr std::int32_t kBeyond = kFrame ? 0 : kChamferFar;
  auto min3 = [](std::int32_t a, std::int32_t b) { return a < b ? a : b; };
  // Row `cur` from its neighbour row `near` (nullptr: beyond the window).
  auto from_row = [&](std::int32_t* cur, const std::int32_t* near) {
    if (!near) {
      for (int x = 0; x < w; ++x) cur[x] = min3(cur[x], kBeyond + 3);
      return;
    }
    if (w == 1) {
      cur[0] = min3(cur[0], min3(near[0] + 3, kBeyond + 4));
      return;
    }
    cur[0] = min3(cur[0], min3(near[0] + 3, min3(kBeyond, near[1]) + 4));
    for (int x = 1; x + 1 < w; ++x) cur[x] = min3(cur[x], min3(near[x] + 3, min3(near[x - 1], near[x + 1]) + 4));
    cur[w - 1] = min3(cur[w - 1], min3(near[w - 1] + 3, min3(near[w - 2], kBeyond) + 4));
  };
  for (int y = 0; y < h; ++y) {
    std::int32_t* cur = d + std::size_t(y) * ds;
    from_row(cur, y > 0 ? cur - ds : nullptr);
    cur[0] = min3(cur[0], kBeyond + 3);
    for (int x = 1; x < w; ++x) cur[x] = min3(cur[x], cur[x - 1] + 3);
  }
  for (int y = h - 1; y >= 0; --y) {
    std::int32_t* cur = d + std::size_t(y) * ds;
    from_row(cur, y + 1 < h ? cur + ds : nullptr);
    cur[w - 1] = min3(cur[w - 1], kBeyond + 3);
    for (int x = w - 2; x >= 0; --x) cur[x] = min3(cur[x], cur[x + 1] + 3);
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
