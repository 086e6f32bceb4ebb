// Inputs the parity tests run besides whole sample images: the masks that make union-find merge
// late or break indexing (U shapes, combs, spirals, frames on the border, checkerboards,
// one-pixel-wide and one-row images, 1 x 1, empty and full masks), random masks of mixed sizes,
// and crops of odd sizes. Header-only over hemolens/image.hpp: the host-execution tests
// (tests/cuda) and the fixture writer for the GPU check (make_gpu_fixtures) share it.
#pragma once
#include <random>
#include <string>
#include <vector>

#include "hemolens/image.hpp"

namespace hemolens::gpu_fixture {

struct NamedMask {
  std::string name;
  Plane8 mask;
};

// A one-pixel-wide rectangular spiral from the outside in (one component, whose union-find
// merges run the whole length); with `diagonal`, corner pixels are removed so that only
// 8-connectivity holds it together.
inline Plane8 spiral(int n, bool diagonal) {
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
        if (m.at(y, x) && m.at(y - 1, x) && m.at(y, x - 1) && !m.at(y - 1, x - 1)) m.at(y, x) = 0;
  return m;
}

inline Plane8 u_shape(int h, int w, int arm) {  // two arms joined only along the last rows
  Plane8 m(h, w, 0);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) m.at(y, x) = x < arm || x >= w - arm || y >= h - arm;
  return m;
}

inline std::vector<NamedMask> edge_masks() {
  std::vector<NamedMask> out;
  out.push_back({"U 40x31 arms 3", u_shape(40, 31, 3)});
  const Plane8 u = u_shape(25, 19, 2);
  Plane8 upside(25, 19);
  for (int y = 0; y < 25; ++y)
    for (int x = 0; x < 19; ++x) upside.at(y, x) = u.at(24 - y, x);
  out.push_back({"upside-down U", upside});
  Plane8 comb(21, 33, 0);  // teeth every other column, joined by the last row only
  for (int y = 0; y < comb.height; ++y)
    for (int x = 0; x < comb.width; ++x) comb.at(y, x) = x % 2 == 0 || y == comb.height - 1;
  out.push_back({"comb 21x33", comb});
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

// Random masks, sides 1..48, densities 0.05..0.95.
inline std::vector<NamedMask> random_masks(std::size_t count, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> size(1, 48);
  std::uniform_real_distribution<double> density(0.05, 0.95), u(0, 1);
  std::vector<NamedMask> out;
  for (std::size_t k = 0; k < count; ++k) {
    const int h = size(rng), w = size(rng);
    const double d = density(rng);
    Plane8 m(h, w);
    for (auto& v : m.data) v = u(rng) < d;
    out.push_back({"random " + std::to_string(h) + "x" + std::to_string(w) + " density " + std::to_string(d), m});
  }
  return out;
}

// The h x w crop of img at (y0, x0), added to the batch.
inline void add_crop(ImageBatch& batch, const RgbView& img, int y0, int x0, int h, int w, std::size_t entry) {
  std::vector<std::uint8_t> crop;
  for (int y = 0; y < h; ++y) {
    const std::uint8_t* row = img.data + (std::size_t(y0 + y) * std::size_t(img.width) + std::size_t(x0)) * 3;
    crop.insert(crop.end(), row, row + std::size_t(w) * 3);
  }
  batch.add(crop.data(), h, w, entry);
}

}  // namespace hemolens::gpu_fixture
