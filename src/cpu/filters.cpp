#include "cpu/filters.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>
#include <vector>

namespace hemolens::cpu {

int reflect101(int i, int n) {
  if (n == 1) return 0;
  while (i < 0 || i >= n) i = i < 0 ? -i : 2 * n - 2 - i;
  return i;
}

namespace {

// Binomial weights: [1 2 1] (sum 4) or [1 4 6 4 1] (sum 16). OpenCV's fixed-point weights
// are these times 64 or 16 (sum 256), and its result is (sum of 256^2-scaled products + 2^15)
// >> 16; with the small weights the same sum is 256^2 / total^2 smaller, so the result is
// (v + total^2 / 2) / total^2, exactly. Every intermediate fits 16 bits (at most 255 x 16 x
// 16 = 65280), so the loops run on 16-bit lanes.
template <int K>
constexpr std::array<std::uint16_t, K> binomial_weights() {
  if constexpr (K == 3) return {1, 2, 1};
  else return {1, 4, 6, 4, 1};
}

// Rows are copied into a buffer padded by reflection, so the inner loops have no border
// tests and the compiler vectorises them.
template <int K>
void gaussian(const Plane8& in, Plane8& out) {
  constexpr int r = K / 2;
  constexpr auto k = binomial_weights<K>();
  constexpr std::uint16_t total2 = (K == 3 ? 4 : 16) * (K == 3 ? 4 : 16);
  const int h = in.height, w = in.width;
  Plane<std::uint16_t> tmp(h, w);
  std::vector<std::uint8_t> padded(std::size_t(w) + 2 * r);
  for (int y = 0; y < h; ++y) {
    const std::uint8_t* src = &in.data[std::size_t(y) * w];
    std::copy_n(src, w, &padded[r]);
    for (int x = 1; x <= r; ++x) {
      padded[std::size_t(r - x)] = src[reflect101(-x, w)];
      padded[std::size_t(r + w - 1 + x)] = src[reflect101(w - 1 + x, w)];
    }
    std::uint16_t* dst = &tmp.data[std::size_t(y) * w];
    const std::uint8_t* p = padded.data();
    for (int x = 0; x < w; ++x) {
      std::uint16_t acc = 0;  // at most 255 x 16
      for (int i = 0; i < K; ++i) acc = std::uint16_t(acc + p[x + i] * k[std::size_t(i)]);
      dst[x] = acc;
    }
  }
  out = Plane8(h, w);
  for (int y = 0; y < h; ++y) {
    const std::uint16_t* rows[K];
    for (int i = 0; i < K; ++i) rows[i] = &tmp.data[std::size_t(reflect101(y + i - r, h)) * w];
    std::uint8_t* dst = &out.data[std::size_t(y) * w];
    for (int x = 0; x < w; ++x) {
      std::uint16_t acc = total2 / 2;  // at most 255 x 16 x 16 + 128
      for (int i = 0; i < K; ++i) acc = std::uint16_t(acc + rows[i][x] * k[std::size_t(i)]);
      dst[x] = static_cast<std::uint8_t>(acc / total2);
    }
  }
}

}  // namespace

void gaussian_blur(const Plane8& in, Plane8& out, int ksize) {
  if (ksize == 3) gaussian<3>(in, out);
  else if (ksize == 5) gaussian<5>(in, out);
  else throw std::invalid_argument("gaussian_blur: ksize must be 3 or 5");
}

namespace {
inline std::uint8_t med3(std::uint8_t a, std::uint8_t b, std::uint8_t c) {
  return std::max(std::min(a, b), std::min(std::max(a, b), c));
}

// 3x3: sort each column triple once, then the median of the window is the median of
// (largest low, median of middles, smallest high): about ten operations a pixel.
void median3(const Plane8& in, Plane8& out) {
  const int h = in.height, w = in.width;
  std::vector<std::uint8_t> lo(std::size_t(w) + 2), mid(std::size_t(w) + 2), hi(std::size_t(w) + 2);
  for (int y = 0; y < h; ++y) {
    const std::uint8_t* a = &in.data[std::size_t(std::max(y - 1, 0)) * w];
    const std::uint8_t* b = &in.data[std::size_t(y) * w];
    const std::uint8_t* c = &in.data[std::size_t(std::min(y + 1, h - 1)) * w];
    for (int x = 0; x < w; ++x) {
      const std::uint8_t p = a[x], q = b[x], r = c[x];
      const std::uint8_t mn = std::min(p, q), mx = std::max(p, q);
      lo[std::size_t(x + 1)] = std::min(mn, r);
      hi[std::size_t(x + 1)] = std::max(mx, r);
      mid[std::size_t(x + 1)] = std::max(mn, std::min(mx, r));
    }
    // Replicated border columns.
    lo[0] = lo[1], mid[0] = mid[1], hi[0] = hi[1];
    lo[std::size_t(w + 1)] = lo[std::size_t(w)], mid[std::size_t(w + 1)] = mid[std::size_t(w)], hi[std::size_t(w + 1)] = hi[std::size_t(w)];
    std::uint8_t* dst = &out.data[std::size_t(y) * w];
    for (int x = 0; x < w; ++x) {
      const std::size_t i = std::size_t(x);
      const std::uint8_t max_lo = std::max(std::max(lo[i], lo[i + 1]), lo[i + 2]);
      const std::uint8_t min_hi = std::min(std::min(hi[i], hi[i + 1]), hi[i + 2]);
      dst[x] = med3(max_lo, med3(mid[i], mid[i + 1], mid[i + 2]), min_hi);
    }
  }
}

// 5x5: plain selection (used in tests and benchmarks, not on the hot path).
void median5(const Plane8& in, Plane8& out) {
  const int h = in.height, w = in.width;
  std::array<std::uint8_t, 25> win{};
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      int k = 0;
      for (int i = -2; i <= 2; ++i)
        for (int j = -2; j <= 2; ++j)
          win[std::size_t(k++)] = in.at(std::clamp(y + i, 0, h - 1), std::clamp(x + j, 0, w - 1));
      std::nth_element(win.begin(), win.begin() + 12, win.end());
      out.data[std::size_t(y) * w + x] = win[12];
    }
}
}  // namespace

void median_blur(const Plane8& in, Plane8& out, int ksize) {
  if (ksize != 3 && ksize != 5) throw std::invalid_argument("median_blur: ksize must be 3 or 5");
  out = Plane8(in.height, in.width);
  if (ksize == 3) median3(in, out);
  else median5(in, out);
}

}  // namespace hemolens::cpu
