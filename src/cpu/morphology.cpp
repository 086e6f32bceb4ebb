#include "cpu/morphology.hpp"

#include <algorithm>
#include <cmath>

#include "cpu/chamfer.hpp"

namespace hemolens::cpu {

namespace {

// For each pixel, its distance along the row to the nearest zero (the pixel itself counts
// 0 when it is zero), saturated at 255; beyond the row's ends there are no zeros, as
// OpenCV's erosion border sees ones. A centred segment of half-width a is all ones
// exactly when this distance exceeds a.
void run_distance(const std::uint8_t* row, int w, bool invert, std::uint8_t* dist) {
  int x = 0;
  while (x < w) {
    if ((row[x] != 0) == invert) {  // a zero of the (possibly complemented) mask
      dist[x++] = 0;
      continue;
    }
    const int x0 = x;
    while (x < w && (row[x] != 0) != invert) ++x;
    // Run [x0, x); a side that reaches the border has no zero: 255.
    const int left0 = x0 == 0 ? 255 : 1, right0 = x == w ? 255 : 1;
    for (int k = x0; k < x; ++k) {
      const int left = std::min(255, left0 == 255 ? 255 : k - x0 + 1);
      const int right = std::min(255, right0 == 255 ? 255 : x - k);
      dist[k] = std::uint8_t(std::min(left, right));
    }
  }
}

// Erosion of the mask (or of its complement, for dilation by duality: dilate(m) =
// not erode(not m), and the complement's border of ones is dilation's border of zeros).
// Row by row, so the inner loop is a byte compare the compiler vectorises.
void erode_rows(const Plane8& in, Plane8& out, int radius, bool invert) {
  const int h = in.height, w = in.width;
  const std::vector<int> half = ellipse_half_widths(radius);
  Plane8 dist(h, w);
  for (int y = 0; y < h; ++y) run_distance(&in.data[std::size_t(y) * w], w, invert, &dist.data[std::size_t(y) * w]);
  out = Plane8(h, w);
  for (int y = 0; y < h; ++y) {
    std::uint8_t* o = &out.data[std::size_t(y) * w];
    std::fill_n(o, w, std::uint8_t(1));
    for (int dy = -radius; dy <= radius; ++dy) {
      const int yy = y + dy;
      if (yy < 0 || yy >= h) continue;
      const std::uint8_t a = std::uint8_t(half[std::size_t(dy + radius)]);
      const std::uint8_t* d = &dist.data[std::size_t(yy) * w];
      for (int x = 0; x < w; ++x) o[x] &= std::uint8_t(d[x] > a);
    }
    if (invert)
      for (int x = 0; x < w; ++x) o[x] ^= 1;
  }
}

}  // namespace

void erode(const Plane8& in, Plane8& out, int radius) { erode_rows(in, out, radius, false); }
void dilate(const Plane8& in, Plane8& out, int radius) { erode_rows(in, out, radius, true); }

void open(const Plane8& in, Plane8& out, int radius) {
  Plane8 tmp;
  erode(in, tmp, radius);
  dilate(tmp, out, radius);
}

void close(const Plane8& in, Plane8& out, int radius) {
  Plane8 tmp;
  dilate(in, tmp, radius);
  erode(tmp, out, radius);
}

Plane32 chamfer_distance(const Plane8& mask) {
  Plane32 d(mask.height, mask.width);
  chamfer_passes(mask.data.data(), d.data.data(), mask.height, mask.width);
  return d;
}

namespace {
// 3x3 square max or min: a horizontal pass then a vertical one, borders replicated. The
// inner loops are element-wise over whole rows, which the compiler vectorises.
template <class Pick>
void grey3(const Plane8& in, Plane8& out, Pick pick) {
  const int h = in.height, w = in.width;
  Plane8 tmp(h, w);
  for (int y = 0; y < h; ++y) {
    const std::uint8_t* s = &in.data[std::size_t(y) * w];
    std::uint8_t* t = &tmp.data[std::size_t(y) * w];
    if (w == 1) {
      t[0] = s[0];
      continue;
    }
    t[0] = pick(s[0], s[1]);
    for (int x = 1; x + 1 < w; ++x) t[x] = pick(pick(s[x - 1], s[x]), s[x + 1]);
    t[w - 1] = pick(s[w - 2], s[w - 1]);
  }
  out = Plane8(h, w);
  for (int y = 0; y < h; ++y) {
    const std::uint8_t* a = &tmp.data[std::size_t(std::max(y - 1, 0)) * w];
    const std::uint8_t* b = &tmp.data[std::size_t(y) * w];
    const std::uint8_t* c = &tmp.data[std::size_t(std::min(y + 1, h - 1)) * w];
    std::uint8_t* o = &out.data[std::size_t(y) * w];
    for (int x = 0; x < w; ++x) o[x] = pick(pick(a[x], b[x]), c[x]);
  }
}
}  // namespace

void grey_dilate3(const Plane8& in, Plane8& out) {
  grey3(in, out, [](std::uint8_t a, std::uint8_t b) { return std::max(a, b); });
}
void grey_erode3(const Plane8& in, Plane8& out) {
  grey3(in, out, [](std::uint8_t a, std::uint8_t b) { return std::min(a, b); });
}

}  // namespace hemolens::cpu
