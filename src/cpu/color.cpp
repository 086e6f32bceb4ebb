#include "cpu/color.hpp"

#include <algorithm>
#include <vector>

namespace hemolens::cpu {

BalancedRgb white_balance(const RgbView& img, double bright_fraction, int target) {
  // One pass: per brightness level (R+G+B), the pixel count and channel sums. The
  // background threshold and the background's mean colour then come from the tables.
  const std::size_t n = img.pixels();
  std::vector<std::uint32_t> count(766, 0);
  std::vector<std::int64_t> sums(766 * 3, 0);
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint8_t* p = img.data + 3 * i;
    const int s = p[0] + p[1] + p[2];
    ++count[std::size_t(s)];
    sums[std::size_t(s) * 3] += p[0];
    sums[std::size_t(s) * 3 + 1] += p[1];
    sums[std::size_t(s) * 3 + 2] += p[2];
  }
  // Lowest brightness t such that the pixels at or above t are at least the fraction.
  const double want = bright_fraction * double(n);
  std::int64_t sum[3] = {0, 0, 0}, above = 0;
  for (int t = 765; t >= 0; --t) {
    above += count[std::size_t(t)];
    for (int c = 0; c < 3; ++c) sum[c] += sums[std::size_t(t) * 3 + std::size_t(c)];
    if (double(above) >= want) break;
  }
  const std::int64_t count_bg = above;
  BalancedRgb out;
  int gain[3];
  for (int c = 0; c < 3; ++c) {
    out.background[std::size_t(c)] = count_bg ? int((sum[c] + count_bg / 2) / count_bg) : 255;
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
  const std::uint8_t* b = rgb.b.data.data();
  const std::uint8_t* g = rgb.g.data.data();
  std::uint8_t* o = s.data.data();
  for (std::size_t i = 0; i < s.size(); ++i) o[i] = std::uint8_t(b[i] > g[i] ? b[i] - g[i] : 0);  // saturating: vectorises
  return s;
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
