#include "cpu/morphology.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "cpu/chamfer.hpp"

namespace hemolens::cpu {

namespace {

// Binary morphology on rows packed into 64-bit words: bit x % 64 of word x / 64 is pixel x,
// so one AND or OR handles 64 pixels. The erosion by the ellipse is, for each row dy of the
// element, the row erosion by a centred segment of half-width half[dy], taken at row y + dy
// and ANDed over dy; dilation is the same with OR (the element is symmetric). Outside the
// image, erosion sees ones and dilation zeros (OpenCV's default border): rows outside are
// left out of the AND / OR, and columns outside come from the padding bits of each row's
// last word and from the words beyond, which hold that value.
struct BitRows {
  int height = 0, width = 0, words = 0;  // words per row
  std::vector<std::uint64_t> bits;
  BitRows(int h, int w) : height(h), width(w), words((w + 63) / 64), bits(std::size_t(h) * std::size_t(words)) {}
  std::uint64_t* row(int y) { return &bits[std::size_t(y) * std::size_t(words)]; }
  const std::uint64_t* row(int y) const { return &bits[std::size_t(y) * std::size_t(words)]; }
  // The bits of the last word that lie beyond the image's width.
  std::uint64_t padding() const { return width % 64 ? ~0ull << (width % 64) : 0; }
};

// 8 mask bytes -> 8 bits (byte k -> bit k): each nonzero byte's top bit is set, moved to
// bit 0 of its byte, and one multiplication gathers the eight bytes' bits into the top byte.
inline std::uint64_t gather8(std::uint64_t bytes) {
  constexpr std::uint64_t kLow7 = 0x7F7F7F7F7F7F7F7Full, kHigh = 0x8080808080808080ull;
  const std::uint64_t nonzero = (((bytes & kLow7) + kLow7) | bytes) & kHigh;
  return ((nonzero >> 7) * 0x0102040810204080ull) >> 56;
}

BitRows pack(const Plane8& in) {
  BitRows out(in.height, in.width);
  const int w = in.width;
  for (int y = 0; y < in.height; ++y) {
    const std::uint8_t* src = &in.data[std::size_t(y) * std::size_t(w)];
    std::uint64_t* dst = out.row(y);
    int x0 = 0;
    for (; x0 + 8 <= w; x0 += 8) {
      std::uint64_t bytes;
      std::memcpy(&bytes, src + x0, 8);  // little-endian: byte k is pixel x0 + k
      dst[x0 / 64] |= gather8(bytes) << (x0 % 64);
    }
    if (x0 < w) {
      std::uint64_t bytes = 0;
      std::memcpy(&bytes, src + x0, std::size_t(w - x0));
      dst[x0 / 64] |= gather8(bytes) << (x0 % 64);
    }
  }
  return out;
}

// Byte k of kSpread[b] is bit k of b: 8 bits -> 8 mask bytes of 0 or 1.
struct Spread {
  std::uint64_t v[256];
  constexpr Spread() : v() {
    for (int b = 0; b < 256; ++b)
      for (int k = 0; k < 8; ++k) v[b] |= std::uint64_t((b >> k) & 1) << (8 * k);
  }
};
constexpr Spread kSpread;

void unpack(const BitRows& in, Plane8& out) {
  const int w = in.width;
  out = Plane8(in.height, w);
  for (int y = 0; y < in.height; ++y) {
    const std::uint64_t* src = in.row(y);
    std::uint8_t* dst = &out.data[std::size_t(y) * std::size_t(w)];
    int x0 = 0;
    for (; x0 + 8 <= w; x0 += 8) std::memcpy(dst + x0, &kSpread.v[(src[x0 / 64] >> (x0 % 64)) & 0xFF], 8);
    if (x0 < w) std::memcpy(dst + x0, &kSpread.v[(src[x0 / 64] >> (x0 % 64)) & 0xFF], std::size_t(w - x0));
  }
}

// Erosion (Erode) or dilation by the ellipse of `radius`, in place.
template <bool Erode>
void morph_bits(BitRows& m, int radius) {
  const int h = m.height, n = m.words;
  if (h == 0 || n == 0) return;
  constexpr std::uint64_t kOutside = Erode ? ~0ull : 0ull;
  auto combine = [](std::uint64_t a, std::uint64_t b) { return Erode ? a & b : a | b; };
  const std::vector<int> half = ellipse_half_widths(radius);
  const int max_half = *std::max_element(half.begin(), half.end());
  // seg[a]: every row eroded (dilated) by the segment of half-width a, a = 0..max_half:
  // seg[a](x) = seg[a-1](x-1) op seg[a-1](x) op seg[a-1](x+1).
  std::vector<BitRows> seg;
  seg.reserve(std::size_t(max_half) + 1);
  seg.push_back(m);
  for (int y = 0; y < h; ++y) {
    std::uint64_t* r = seg[0].row(y);
    r[n - 1] = Erode ? r[n - 1] | m.padding() : r[n - 1] & ~m.padding();
  }
  for (int a = 1; a <= max_half; ++a) {
    seg.emplace_back(h, m.width);
    for (int y = 0; y < h; ++y) {
      const std::uint64_t* s = seg[std::size_t(a - 1)].row(y);
      std::uint64_t* d = seg[std::size_t(a)].row(y);
      for (int i = 0; i < n; ++i) {
        const std::uint64_t before = i > 0 ? s[i - 1] : kOutside, after = i + 1 < n ? s[i + 1] : kOutside;
        const std::uint64_t from_left = (s[i] << 1) | (before >> 63), from_right = (s[i] >> 1) | (after << 63);
        d[i] = combine(combine(s[i], from_left), from_right);
      }
    }
  }
  for (int y = 0; y < h; ++y) {
    std::uint64_t* out = m.row(y);
    std::fill_n(out, n, kOutside);
    for (int dy = -radius; dy <= radius; ++dy) {
      const int yy = y + dy;
      if (yy < 0 || yy >= h) continue;
      const std::uint64_t* s = seg[std::size_t(half[std::size_t(dy + radius)])].row(yy);
      for (int i = 0; i < n; ++i) out[i] = combine(out[i], s[i]);
    }
  }
}

}  // namespace

void erode(const Plane8& in, Plane8& out, int radius) {
  BitRows m = pack(in);
  morph_bits<true>(m, radius);
  unpack(m, out);
}

void dilate(const Plane8& in, Plane8& out, int radius) {
  BitRows m = pack(in);
  morph_bits<false>(m, radius);
  unpack(m, out);
}

void open(const Plane8& in, Plane8& out, int radius) {
  BitRows m = pack(in);
  morph_bits<true>(m, radius);
  morph_bits<false>(m, radius);
  unpack(m, out);
}

void close(const Plane8& in, Plane8& out, int radius) {
  BitRows m = pack(in);
  morph_bits<false>(m, radius);
  morph_bits<true>(m, radius);
  unpack(m, out);
}

Plane32 chamfer_distance(const Plane8& mask) {
  Plane32 d(mask.height, mask.width);
  chamfer_passes(mask.data.data(), d.data.data(), mask.height, mask.width);
  return d;
}

namespace {
// 3x3 square max or min: a horizontal pass then a vertical one, borders replicated. The
// inner loops are element-wise over whole rows, which the compiler vectorises. The
// horizontal results live in a ring of three rows (row y in slot y mod 3): no intermediate
// plane, and `out` is kept when it has the size already. `out` may be `in`: row y + 1 of
// `in` is read before row y of `out` is written.
template <class Pick>
void grey3(const Plane8& in, Plane8& out, Pick pick) {
  const int h = in.height, w = in.width;
  std::vector<std::uint8_t> ring(3 * std::size_t(w));
  auto slot = [&](int y) { return &ring[std::size_t(y % 3) * std::size_t(w)]; };
  auto horizontal = [&](int y) {
    const std::uint8_t* s = &in.data[std::size_t(y) * w];
    std::uint8_t* t = slot(y);
    if (w == 1) {
      t[0] = s[0];
      return;
    }
    t[0] = pick(s[0], s[1]);
    for (int x = 1; x + 1 < w; ++x) t[x] = pick(pick(s[x - 1], s[x]), s[x + 1]);
    t[w - 1] = pick(s[w - 2], s[w - 1]);
  };
  if (out.height != h || out.width != w) out = Plane8(h, w);
  if (h == 0 || w == 0) return;
  horizontal(0);
  for (int y = 0; y < h; ++y) {
    if (y + 1 < h) horizontal(y + 1);
    const std::uint8_t* a = slot(std::max(y - 1, 0));
    const std::uint8_t* b = slot(y);
    const std::uint8_t* c = slot(std::min(y + 1, h - 1));
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
