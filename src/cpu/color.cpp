#include "cpu/color.hpp"

#include <algorithm>
#include <vector>

namespace hemolens::cpu {

BalancedRgb white_balance(const RgbView& img, double bright_fraction, int target) {
  const std::size_t n = img.pixels();
  BalancedRgb out;
  out.r = Plane8(img.height, img.width);
  out.g = Plane8(img.height, img.width);
  out.b = Plane8(img.height, img.width);
  std::uint8_t *r = out.r.data.data(), *g = out.g.data.data(), *b = out.b.data.data();
  // Pass 1: the channels apart, and the pixel count per brightness level (R+G+B). Even and
  // odd pixels count in two tables: neighbours of the uniform slide share a level, and one
  // table would make each increment wait for the previous one.
  std::vector<std::uint32_t> even(766, 0), odd(766, 0);
  const std::uint8_t* p = img.data;
  std::size_t i = 0;
  for (; i + 1 < n; i += 2, p += 6) {
    r[i] = p[0], g[i] = p[1], b[i] = p[2];
    r[i + 1] = p[3], g[i + 1] = p[4], b[i + 1] = p[5];
    ++even[std::size_t(p[0] + p[1] + p[2])];
    ++odd[std::size_t(p[3] + p[4] + p[5])];
  }
  if (i < n) {
    r[i] = p[0], g[i] = p[1], b[i] = p[2];
    ++even[std::size_t(p[0] + p[1] + p[2])];
  }
  // Lowest brightness t such that the pixels at or above t are at least the fraction.
  const double want = bright_fraction * double(n);
  std::int64_t above = 0;
  int t = 765;
  for (; t >= 0; --t) {
    above += even[std::size_t(t)] + odd[std::size_t(t)];
    if (double(above) >= want) break;
  }
  t = std::max(t, 0);
  // Pass 2: the background's mean colour, over the pixels at or above t (branch-free: the
  // compiler vectorises it).
  std::int64_t sum[3] = {0, 0, 0};
  constexpr std::size_t kChunk = 1 << 16;  // 32-bit sums cannot overflow within a chunk
  for (std::size_t i0 = 0; i0 < n; i0 += kChunk) {
    std::uint32_t sr = 0, sg = 0, sb = 0;
    for (std::size_t j = i0; j < std::min(n, i0 + kChunk); ++j) {
      const std::uint32_t in = (r[j] + g[j] + b[j]) >= t ? 0xFFFFFFFFu : 0u;
      sr += r[j] & in, sg += g[j] & in, sb += b[j] & in;
    }
    sum[0] += sr, sum[1] += sg, sum[2] += sb;
  }
  const std::int64_t count_bg = above;
  int gain[3];
  for (int c = 0; c < 3; ++c) {
    out.background[std::size_t(c)] = count_bg ? int((sum[c] + count_bg / 2) / count_bg) : 255;
    gain[c] = (target * 256 + std::max(out.background[std::size_t(c)], 1) / 2) / std::max(out.background[std::size_t(c)], 1);
  }
  // Pass 3: each channel scaled by its gain (8 fractional bits, rounded, saturated), in place:
  // (v k + 128) >> 8. With k = 256 q + m below 2^16 that is v q + ((v m + 128) >> 8), where
  // every term fits 16 bits: the loop runs on 16-bit lanes.
  std::uint8_t* planes[3] = {r, g, b};
  for (int c = 0; c < 3; ++c) {
    std::uint8_t* v = planes[c];
    const int k = gain[c];
    if (k >= 0 && k < (1 << 16)) {
      const std::uint16_t q = std::uint16_t(k >> 8), m = std::uint16_t(k & 0xFF);
      for (std::size_t j = 0; j < n; ++j) {
        const std::uint16_t x = std::uint16_t(v[j] * q + std::uint16_t(std::uint16_t(v[j] * m + 128) >> 8));
        v[j] = std::uint8_t(std::min<std::uint16_t>(x, 255));
      }
    } else {
      for (std::size_t j = 0; j < n; ++j) v[j] = std::uint8_t(std::min(255, (v[j] * k + 128) >> 8));
    }
  }
  return out;
}

Plane8 stain_channel(const BalancedRgb& rgb) {
  Plane8 s(rgb.b.height, rgb.b.width);
  const std::uint8_t* b = rgb.b.data.data();
  const std::uint8_t* g = rgb.g.data.data();
  std::uint8_t* o = s.data.data();
  for (std::size_t i = 0; i < s.size(); ++i) o[i] = std::uint8_t(b[i] > g[i] ? b[i] - g[i] : 0);  // saturating: vectorises
  return s;
}

void histogram(const Plane8& p, const Plane8* mask, std::uint32_t out[256]) {
  std::fill(out, out + 256, 0u);
  const std::uint8_t* v = p.data.data();
  const std::size_t n = p.size();
  if (mask) {
    for (std::size_t i = 0; i < n; ++i)
      if (mask->data[i]) ++out[v[i]];
    return;
  }
  // Four tables for consecutive pixels: a smooth plane repeats values, and one table would
  // make each increment wait for the previous one to the same bin.
  std::uint32_t part[4][256] = {};
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    ++part[0][v[i]];
    ++part[1][v[i + 1]];
    ++part[2][v[i + 2]];
    ++part[3][v[i + 3]];
  }
  for (; i < n; ++i) ++part[0][v[i]];
  for (int b = 0; b < 256; ++b) out[b] = part[0][b] + part[1][b] + part[2][b] + part[3][b];
}

Plane8 threshold_above(const Plane8& p, int t) {
  Plane8 m(p.height, p.width);
  const std::uint8_t* in = p.data.data();
  std::uint8_t* out = m.data.data();  // raw pointers and a fixed count: the loop vectorises
  const std::size_t n = m.size();
  if (t < 0) std::fill_n(out, n, std::uint8_t(1));
  else if (t < 255)
    for (std::size_t i = 0; i < n; ++i) out[i] = in[i] > std::uint8_t(t);
  return m;
}

}  // namespace hemolens::cpu
