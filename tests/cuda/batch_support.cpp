#include "batch_support.hpp"

#include <random>

#include "cpu/color.hpp"
#include "hemolens/decode.hpp"
#include "support.hpp"

namespace hemolens::test {

Packed pack(const std::vector<Plane8>& planes, std::size_t gap, std::uint8_t gap_fill) {
  Packed p;
  for (std::size_t i = 0; i < planes.size(); ++i) {
    if (i > 0) p.data.insert(p.data.end(), gap, gap_fill);
    p.offsets.push_back(p.data.size());
    p.heights.push_back(planes[i].height);
    p.widths.push_back(planes[i].width);
    p.data.insert(p.data.end(), planes[i].data.begin(), planes[i].data.end());
  }
  return p;
}

std::vector<std::uint8_t> pack_like(const Packed& layout, const std::vector<Plane8>& planes, std::uint8_t gap_fill) {
  std::vector<std::uint8_t> out(layout.extent(), gap_fill);
  for (std::size_t i = 0; i < planes.size(); ++i) std::copy(planes[i].data.begin(), planes[i].data.end(), out.begin() + std::ptrdiff_t(layout.offsets[i]));
  return out;
}

std::vector<NamedMask> sample_masks(std::size_t images) {
  std::vector<NamedMask> out;
  const auto files = sample_jpegs();
  for (std::size_t k = 0; k < files.size() && out.size() < 2 * images; k += 17) {
    const DecodeResult d = decode_file(files[k], {});
    const cpu::BalancedRgb rgb = cpu::white_balance({d.image->rgb.data(), d.image->height, d.image->width}, 0.25, 224);
    out.push_back({"stained " + files[k].filename().string(), cpu::threshold_above(cpu::stain_channel(rgb), 60)});
    Plane8 dark(rgb.g.height, rgb.g.width);
    for (std::size_t i = 0; i < dark.size(); ++i) dark.data[i] = rgb.g.data[i] <= 170;
    out.push_back({"dark " + files[k].filename().string(), dark});
  }
  return out;
}

namespace {

// A one-pixel-wide rectangular spiral from the outside in; with `diagonal` its turns are cut
// so that only 8-connectivity holds it together.
Plane8 spiral(int n, bool diagonal) {
  Plane8 m(n, n, 0);
  int y0 = 0, x0 = 0, y1 = n - 1, x1 = n - 1;
  while (y0 <= y1 && x0 <= x1) {
    for (int x = x0; x <= x1; ++x) m.at(y0, x) = 1;
    for (int y = y0; y <= y1; ++y) m.at(y, x1) = 1;
    if (y1 > y0 + 1)
      for (int x = x0; x <= x1; ++x) m.at(y1, x) = 1;
    if (x1 > x0 + 1)
      for (int y = y0 + 2; y <= y1; ++y) m.at(y, x0) = 1;
    y0 += 2, x0 += 2, y1 -= 2, x1 -= 2;
    if (y0 <= y1 && x0 <= x1) m.at(y0 - 1, x0 - 1) = 1;  // the step in to the next turn
  }
  if (diagonal)
    for (int y = 1; y + 1 < n; ++y)
      for (int x = 1; x + 1 < n; ++x)
        if (m.at(y, x) && m.at(y - 1, x) && m.at(y, x - 1) && !m.at(y - 1, x - 1)) m.at(y, x) = 0;  // corners: keep the diagonal
  return m;
}

Plane8 u_shape(int h, int w, int arm) {
  Plane8 m(h, w, 0);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) m.at(y, x) = x < arm || x >= w - arm || y >= h - arm;
  return m;
}

Plane8 comb(int h, int w) {  // teeth every other column, joined by the last row only
  Plane8 m(h, w, 0);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) m.at(y, x) = x % 2 == 0 || y == h - 1;
  return m;
}

}  // namespace

std::vector<NamedMask> edge_masks() {
  std::vector<NamedMask> out;
  out.push_back({"U 40x31 arms 3", u_shape(40, 31, 3)});
  out.push_back({"upside-down U", [] {
                   Plane8 u = u_shape(25, 19, 2), m(25, 19);
                   for (int y = 0; y < 25; ++y)
                     for (int x = 0; x < 19; ++x) m.at(y, x) = u.at(24 - y, x);
                   return m;
                 }()});
  out.push_back({"comb 21x33", comb(21, 33)});
  out.push_back({"spiral 31", spiral(31, false)});
  out.push_back({"spiral 24 diagonal turns", spiral(24, true)});
  Plane8 frame(17, 23, 0);  // touches every border, a hole inside
  for (int y = 0; y < frame.height; ++y)
    for (int x = 0; x < frame.width; ++x) frame.at(y, x) = y == 0 || x == 0 || y == frame.height - 1 || x == frame.width - 1;
  out.push_back({"frame", frame});
  Plane8 ring(15, 15, 0);  // a ring with a hole, off the border
  for (int y = 2; y < 13; ++y)
    for (int x = 2; x < 13; ++x) ring.at(y, x) = y < 5 || y > 9 || x < 5 || x > 9;
  out.push_back({"ring", ring});
  Plane8 checker(9, 7, 0);
  for (int y = 0; y < checker.height; ++y)
    for (int x = 0; x < checker.width; ++x) checker.at(y, x) = (x + y) % 2;
  out.push_back({"checkerboard", checker});
  Plane8 column(29, 1, 0);  // one pixel wide
  for (int y = 0; y < 29; ++y) column.at(y, 0) = y % 5 != 2;
  out.push_back({"1-pixel-wide column", column});
  Plane8 row(1, 41, 0);
  for (int x = 0; x < 41; ++x) row.at(0, x) = x % 7 < 4;
  out.push_back({"1-row image", row});
  out.push_back({"1x1 set", Plane8(1, 1, 1)});
  out.push_back({"1x1 empty", Plane8(1, 1, 0)});
  out.push_back({"empty", Plane8(20, 30, 0)});
  out.push_back({"full", Plane8(23, 17, 1)});
  Plane8 corners(19, 26, 0);
  corners.at(0, 0) = corners.at(18, 0) = corners.at(0, 25) = corners.at(18, 25) = 1;
  for (int x = 3; x < 15; ++x) corners.at(0, x) = 1;
  out.push_back({"corners and a bar on the border", corners});
  return out;
}

std::vector<NamedMask> random_masks(std::size_t count, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> size(1, 48);
  std::uniform_real_distribution<double> density(0.05, 0.95);
  std::vector<NamedMask> out;
  for (std::size_t k = 0; k < count; ++k) {
    const int h = size(rng), w = size(rng);
    const double d = density(rng);
    out.push_back({"random " + std::to_string(h) + "x" + std::to_string(w) + " density " + std::to_string(d), random_mask(h, w, d, rng)});
  }
  return out;
}

std::vector<cpu::Segmentation> sample_segmentations(std::size_t images) {
  std::vector<cpu::Segmentation> out;
  const auto files = sample_jpegs();
  for (std::size_t k = 3; k < files.size() && out.size() < images; k += 11) {
    const DecodeResult d = decode_file(files[k], {});
    out.push_back(cpu::segment({d.image->rgb.data(), d.image->height, d.image->width}, {}));
  }
  return out;
}

std::vector<Plane8> masks_of(const std::vector<NamedMask>& named) {
  std::vector<Plane8> out;
  for (const auto& n : named) out.push_back(n.mask);
  return out;
}

}  // namespace hemolens::test
