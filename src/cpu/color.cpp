#include "cpu/color.hpp"

#include <algorithm>
#include <vector>

namespace hemolens::cpu {

BalancedRgb white_balance(const RgbView& img, double bright_fraction, int target) {
  const std::size_t n = img.pixels();
  std::vector<std::uint32_t> hist(766, 0);
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint8_t* p = img.data + 3 * i;
    ++hist[std::size_t(p[0] + p[1] + p[2])];
  }
  // Lowest brightness t such that the pixels at or above t are at least the fraction.
  const double want = bright_fraction * double(n);
  double above = 0;
  int t = 765;
  for (; t > 0; --t) {
    above += hist[std::size_t(t)];
    if (above >= want) break;
  }
  std::int64_t sum[3] = {0, 0, 0}, count = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint8_t* p = img.data + 3 * i;
    if (p[0] + p[1] + p[2] < t) continue;
    sum[0] += p[0];
    sum[1] += p[1];
    sum[2] += p[2];
    ++count;
  }
  BalancedRgb out;
  int gain[3];
  for (int c = 0; c < 3; ++c) {
    out.background[std::size_t(c)] = count ? int((sum[c] + count / 2) / count) : 255;
    gain[c] = (target * 256 + std::max(out.background[std::size_t(c)], 1) / 2) / std::max(out.background[std::size_t(c)], 1);
  }
  std::uint8_t lut[3][256];
  for (int c = 0; c < 3; ++c)
    for (int v = 0; v < 256; ++v) lut[c][v] = std::uint8_t(std::min(255, (v * gain[c] + 128) >> 8));
  out.r = Plane8(img.height, img.width);
  out.g = Plane8(img.height, img.width);
  out.b = Plane8(img.height, img.width);
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint8_t* p = img.data + 3 * i;
    out.r.data[i] = lut[0][p[0]];
    out.g.data[i] = lut[1][p[1]];
    out.b.data[i] = lut[2][p[2]];
  }
  return out;
}

Plane8 stain_channel(const BalancedRgb& rgb) {
  Plane8 s(rgb.b.height, rgb.b.width);
  for (std::size_t i = 0; i < s.size(); ++i) s.data[i] = std::uint8_t(std::max(0, int(rgb.b.data[i]) - int(rgb.g.data[i])));
  return s;
}

namespace {
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
const Reciprocals kRecip;
inline int divide(int a, int b) { return int(a * kRecip.inv[b] + 1e-9); }
}  // namespace

void rgb_to_hsv(std::uint8_t r, std::uint8_t g, std::uint8_t b, std::uint8_t& h, std::uint8_t& s, std::uint8_t& v) {
  const int mx = std::max({r, g, b}), mn = std::min({r, g, b}), d = mx - mn;
  v = std::uint8_t(mx);
  s = std::uint8_t(mx ? divide(255 * d + mx / 2, mx) : 0);
  if (d == 0) {
    h = 0;
    return;
  }
  // Hue in units of 1/(6d) of a turn, then scaled to 0..180 with rounding.
  int num;  // hue * 6d, in [0, 6d)
  if (mx == r) num = g >= b ? g - b : g - b + 6 * d;
  else if (mx == g) num = b - r + 2 * d;
  else num = r - g + 4 * d;
  const int hh = divide(num * 30 + d / 2, d);  // 180 / 6 = 30
  h = std::uint8_t(hh >= 180 ? hh - 180 : hh);
}

void histogram(const Plane8& p, const Plane8* mask, std::uint32_t out[256]) {
  std::fill(out, out + 256, 0u);
  for (std::size_t i = 0; i < p.size(); ++i)
    if (!mask || mask->data[i]) ++out[p.data[i]];
}

Plane8 threshold_above(const Plane8& p, int t) {
  Plane8 m(p.height, p.width);
  for (std::size_t i = 0; i < p.size(); ++i) m.data[i] = p.data[i] > t;
  return m;
}

}  // namespace hemolens::cpu
