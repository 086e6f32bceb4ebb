// Texture kernels against hand-computed answers:
//   cpu::accumulate_glcm   co-occurrence counts of a 4x4 image counted by hand (below), a
//                          region mask, accumulation, and a direct re-count on random images;
//   features::haralick     the seven features of small matrices worked out by hand;
//   features::lbp_riu2     uniform rotation-invariant codes of chosen patterns;
//   cpu::accumulate_lbp    histograms of synthetic images whose codes follow from geometry.
#include <gtest/gtest.h>

#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <vector>

#include "cpu/measure.hpp"
#include "cpu/segment.hpp"
#include "hemolens/decode.hpp"
#include "features/haralick.hpp"
#include "features/shape.hpp"
#include "support.hpp"

namespace hemolens::test {
namespace {

// The classic 4x4 test image with grey levels 0..3 (Haralick et al. 1973):
//   x:  0 1 2 3
//   y0: 0 0 1 1
//   y1: 0 0 1 1
//   y2: 0 2 2 2
//   y3: 2 2 3 3
Plane8 classic_image() {
  const int v[4][4] = {{0, 0, 1, 1}, {0, 0, 1, 1}, {0, 2, 2, 2}, {2, 2, 3, 3}};
  Plane8 p(4, 4);
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 4; ++x) p.at(y, x) = std::uint8_t(v[y][x]);
  return p;
}

using Glcm4 = std::array<std::uint32_t, 16>;

Glcm4 glcm4(const Plane8& grey, const Plane8& region, int d) {
  Glcm4 c{};
  cpu::accumulate_glcm(grey, region, d, 4, c.data());
  return c;
}

// Straightforward re-count for random images: for every pixel pair (p, q) with q - p one of
// the four offsets, both in the image and in the region, add one to (g(p), g(q)) and one to
// (g(q), g(p)).
std::vector<std::uint32_t> glcm_recount(const Plane8& g, const Plane8& region, int d, int levels) {
  std::vector<std::uint32_t> c(std::size_t(levels * levels), 0);
  const int off[4][2] = {{d, 0}, {d, d}, {0, d}, {-d, d}};
  for (int y = 0; y < g.height; ++y)
    for (int x = 0; x < g.width; ++x)
      for (const auto& o : off) {
        const int x2 = x + o[0], y2 = y + o[1];
        if (x2 < 0 || y2 < 0 || x2 >= g.width || y2 >= g.height) continue;
        if (!region.at(y, x) || !region.at(y2, x2)) continue;
        ++c[std::size_t(g.at(y, x) * levels + g.at(y2, x2))];
        ++c[std::size_t(g.at(y2, x2) * levels + g.at(y, x))];
      }
  return c;
}

void expect_haralick(const features::Haralick& h, const features::Haralick& want) {
  EXPECT_NEAR(h.contrast, want.contrast, 1e-12);
  EXPECT_NEAR(h.dissimilarity, want.dissimilarity, 1e-12);
  EXPECT_NEAR(h.homogeneity, want.homogeneity, 1e-12);
  EXPECT_NEAR(h.energy, want.energy, 1e-12);
  EXPECT_NEAR(h.entropy, want.entropy, 1e-12);
  EXPECT_NEAR(h.correlation, want.correlation, 1e-12);
  EXPECT_NEAR(h.max_probability, want.max_probability, 1e-12);
}

}  // namespace

TEST(Glcm, ClassicImageDistance1) {
  // Directed pairs (first pixel, neighbour) per offset, as unordered level pairs:
  //  (1,0)  east:  rows give 00 01 11 | 00 01 11 | 02 22 22 | 22 23 33
  //                -> {00}:2 {01}:2 {11}:2 {02}:1 {22}:3 {23}:1 {33}:1   (12 pairs)
  //  (0,1)  south: columns give 00 00 02 | 00 02 22 | 11 12 23 | 11 12 23
  //                -> {00}:3 {02}:2 {22}:1 {11}:2 {12}:2 {23}:2           (12 pairs)
  //  (1,1)  south-east, from (x,y) for x,y in 0..2:
  //                y0: 00 01 11, y1: 02 02 12, y2: 02 23 23
  //                -> {00}:1 {01}:1 {11}:1 {02}:3 {12}:1 {23}:2           (9 pairs)
  //  (-1,1) south-west, from (x,y) for x in 1..3, y in 0..2:
  //                y0: 00 10 11, y1: 00 12 12, y2: 22 22 23
  //                -> {00}:2 {01}:1 {11}:1 {12}:2 {22}:2 {23}:1           (9 pairs)
  // Totals: {00}:8 {01}:4 {02}:6 {03}:0 {11}:6 {12}:5 {13}:0 {22}:6 {23}:6 {33}:1 (42 pairs).
  // Each pair adds (i,j) and (j,i), so the diagonal holds twice its pair count: sum 84.
  const Glcm4 want = {16, 4, 6, 0,   //
                      4, 12, 5, 0,   //
                      6, 5, 12, 6,   //
                      0, 0, 6, 2};
  EXPECT_EQ(glcm4(classic_image(), Plane8(4, 4, 1), 1), want);
}

TEST(Glcm, ClassicImageDistance2) {
  //  (2,0):  rows 01 01 | 01 01 | 02 22 | 23 23          -> {01}:4 {02}:1 {22}:1 {23}:2
  //  (0,2):  y0->y2: 00 02 12 12, y1->y3: 02 02 13 13    -> {00}:1 {02}:3 {12}:2 {13}:2
  //  (2,2):  (0,0)->(2,2) 02, (1,0)->(3,2) 02, (0,1)->(2,3) 03, (1,1)->(3,3) 03
  //                                                       -> {02}:2 {03}:2
  //  (-2,2): (2,0)->(0,2) 10, (3,0)->(1,2) 12, (2,1)->(0,3) 12, (3,1)->(1,3) 12
  //                                                       -> {01}:1 {12}:3
  // Totals: {00}:1 {01}:5 {02}:6 {03}:2 {11}:0 {12}:5 {13}:2 {22}:1 {23}:2 {33}:0 (24 pairs).
  const Glcm4 want = {2, 5, 6, 2,  //
                      5, 0, 5, 2,  //
                      6, 5, 2, 2,  //
                      2, 2, 2, 0};
  EXPECT_EQ(glcm4(classic_image(), Plane8(4, 4, 1), 2), want);
  // Distance 4 reaches outside the 4x4 image from every pixel: nothing is counted.
  EXPECT_EQ(glcm4(classic_image(), Plane8(4, 4, 1), 4), Glcm4{});
}

TEST(Glcm, RegionExcludesPairsLeavingIt) {
  // Region = columns 0..2 (column 3 outside). The image seen through it:
  //   0 0 1 / 0 0 1 / 0 2 2 / 2 2 3
  //  east:       00 01 | 00 01 | 02 22 | 22 23        -> {00}:2 {01}:2 {02}:1 {22}:2 {23}:1
  //  south:      col0 00 00 02, col1 00 02 22, col2 11 12 23
  //                                                   -> {00}:3 {02}:2 {22}:1 {11}:1 {12}:1 {23}:1
  //  south-east: y0 00 01, y1 02 02, y2 02 23         -> {00}:1 {01}:1 {02}:3 {23}:1
  //  south-west: y0 00 10, y1 00 12, y2 22 22         -> {00}:2 {01}:1 {12}:1 {22}:2
  // Totals: {00}:8 {01}:4 {02}:6 {11}:1 {12}:2 {22}:5 {23}:3 (29 pairs).
  Plane8 region(4, 4, 1);
  for (int y = 0; y < 4; ++y) region.at(y, 3) = 0;
  const Glcm4 want = {16, 4, 6, 0,  //
                      4, 2, 2, 0,   //
                      6, 2, 10, 3,  //
                      0, 0, 3, 0};
  EXPECT_EQ(glcm4(classic_image(), region, 1), want);
  // A region of one pixel has no pairs; an empty region neither.
  Plane8 one(4, 4, 0);
  one.at(1, 1) = 1;
  EXPECT_EQ(glcm4(classic_image(), one, 1), Glcm4{});
  EXPECT_EQ(glcm4(classic_image(), Plane8(4, 4, 0), 1), Glcm4{});
  // Two region pixels side by side: exactly their pair, both ways.
  one.at(1, 2) = 1;  // levels 0 at (1,1) and 1 at (1,2)
  EXPECT_EQ(glcm4(classic_image(), one, 1), (Glcm4{0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}));
}

TEST(Glcm, AddsToExistingCounts) {
  Glcm4 c{};
  c[15] = 100;
  cpu::accumulate_glcm(classic_image(), Plane8(4, 4, 1), 1, 4, c.data());
  cpu::accumulate_glcm(classic_image(), Plane8(4, 4, 1), 1, 4, c.data());
  const Glcm4 once = glcm4(classic_image(), Plane8(4, 4, 1), 1);
  for (std::size_t k = 0; k < 16; ++k) EXPECT_EQ(c[k], 2 * once[k] + (k == 15 ? 100u : 0u)) << k;
}

TEST(Glcm, MatchesRecountOnRandomImages) {
  std::mt19937 rng(246);
  for (int trial = 0; trial < 12; ++trial) {
    const int h = 5 + trial * 3, w = 40 - trial * 2, levels = 32;
    Plane8 g = random_plane(h, w, rng);
    for (auto& v : g.data) v = std::uint8_t(v >> 3);  // 32 levels, as measure() quantises
    const Plane8 region = random_mask(h, w, trial % 3 == 0 ? 1.0 : 0.6, rng);
    for (int d : {1, 2, 4, 8}) {
      std::vector<std::uint32_t> got(std::size_t(levels * levels), 0);
      cpu::accumulate_glcm(g, region, d, levels, got.data());
      EXPECT_EQ(got, glcm_recount(g, region, d, levels)) << "trial " << trial << " d=" << d;
    }
  }
}

TEST(Haralick, HandComputedTwoLevelMatrix) {
  // counts [[2,1],[1,0]], n = 4  ->  p = [[1/2, 1/4], [1/4, 0]]
  //   contrast      = sum (i-j)^2 p = 1/4 + 1/4                          = 0.5
  //   dissimilarity = sum |i-j| p   = 1/4 + 1/4                          = 0.5
  //   homogeneity   = sum p / (1 + (i-j)^2) = 1/2 + 1/8 + 1/8            = 0.75
  //   energy        = sqrt(sum p^2) = sqrt(1/4 + 1/16 + 1/16) = sqrt(3/8)
  //   entropy       = -sum p log2 p = 1/2 * 1 + 2 * 1/4 * 2              = 1.5
  //   mean_i = mean_j = 1/4; var_i = var_j = 3/4 * 1/16 + 1/4 * 9/16    = 3/16
  //   cov = 1/2 * (1/16) + 2 * 1/4 * (-1/4)(3/4)  = 1/32 - 3/32          = -1/16
  //   correlation   = (-1/16) / (3/16)                                   = -1/3
  //   max_probability                                                    = 0.5
  const std::uint32_t counts[4] = {2, 1, 1, 0};
  features::Haralick want;
  want.contrast = 0.5;
  want.dissimilarity = 0.5;
  want.homogeneity = 0.75;
  want.energy = std::sqrt(0.375);
  want.entropy = 1.5;
  want.correlation = -1.0 / 3.0;
  want.max_probability = 0.5;
  expect_haralick(features::haralick(counts, 2), want);
}

TEST(Haralick, HandComputedThreeLevelMatrix) {
  // counts [[0,2,0],[2,0,2],[0,2,0]], n = 8  ->  p = 1/4 at (0,1) (1,0) (1,2) (2,1)
  //   contrast = dissimilarity = 4 * 1/4 * 1 = 1;  homogeneity = 4 * 1/4 / 2 = 0.5
  //   energy = sqrt(4 / 16) = 0.5;  entropy = 4 * 1/4 * 2 = 2;  max_probability = 0.25
  //   mean_i = mean_j = 1/4 * (0 + 1 + 1 + 2) = 1; var_i = 1/4 * (1 + 0 + 0 + 1) = 1/2
  //   cov = 1/4 * ((-1)(0) + (0)(-1) + (0)(1) + (1)(0)) = 0  ->  correlation 0
  const std::uint32_t counts[9] = {0, 2, 0, 2, 0, 2, 0, 2, 0};
  features::Haralick want;
  want.contrast = 1;
  want.dissimilarity = 1;
  want.homogeneity = 0.5;
  want.energy = 0.5;
  want.entropy = 2;
  want.correlation = 0;
  want.max_probability = 0.25;
  expect_haralick(features::haralick(counts, 3), want);
}

TEST(Haralick, EmptyConstantAndDiagonalMatrices) {
  const std::uint32_t empty[9] = {};
  expect_haralick(features::haralick(empty, 3), features::Haralick{});
  // One grey level only: zero variance, correlation 1 by convention; a single cell p = 1.
  const std::uint32_t constant[9] = {0, 0, 0, 0, 7, 0, 0, 0, 0};
  features::Haralick want;
  want.homogeneity = 1;
  want.energy = 1;
  want.correlation = 1;
  want.max_probability = 1;
  expect_haralick(features::haralick(constant, 3), want);
  // Diagonal [[3,0],[0,3]]: perfectly correlated, p = 1/2 twice.
  const std::uint32_t diag[4] = {3, 0, 0, 3};
  features::Haralick d;
  d.homogeneity = 1;
  d.energy = std::sqrt(0.5);
  d.entropy = 1;
  d.correlation = 1;
  d.max_probability = 0.5;
  expect_haralick(features::haralick(diag, 2), d);
  // Anti-diagonal [[0,3],[3,0]]: perfectly anti-correlated; contrast 1; homogeneity 1/2.
  const std::uint32_t anti[4] = {0, 3, 3, 0};
  features::Haralick a;
  a.contrast = 1;
  a.dissimilarity = 1;
  a.homogeneity = 0.5;
  a.energy = std::sqrt(0.5);
  a.entropy = 1;
  a.correlation = -1;
  a.max_probability = 0.5;
  expect_haralick(features::haralick(anti, 2), a);
}

TEST(Haralick, ClassicImageMatrix) {
  // The distance-1 matrix of the classic image (Glcm.ClassicImageDistance1), n = 84:
  //   contrast = sum (i-j)^2 c / n = 2 * (4*1 + 6*4 + 5*1 + 6*1) / 84 = 78 / 84
  //   dissimilarity = 2 * (4 + 6*2 + 5 + 6) / 84 = 54 / 84
  //   max_probability = 16 / 84
  const Glcm4 c = {16, 4, 6, 0, 4, 12, 5, 0, 6, 5, 12, 6, 0, 0, 6, 2};
  const features::Haralick h = features::haralick(c.data(), 4);
  EXPECT_NEAR(h.contrast, 78.0 / 84.0, 1e-12);
  EXPECT_NEAR(h.dissimilarity, 54.0 / 84.0, 1e-12);
  EXPECT_NEAR(h.max_probability, 16.0 / 84.0, 1e-12);
  // homogeneity = (16 + 12 + 12 + 2 + 2 * (4 + 5 + 6) / 2 + 2 * 6 / 5) / 84 = (42 + 15 + 2.4) / 84
  EXPECT_NEAR(h.homogeneity, 59.4 / 84.0, 1e-12);
  EXPECT_GT(h.correlation, 0.0);
  EXPECT_LT(h.correlation, 1.0);
}

TEST(LbpRiu2, ChosenPatterns) {
  EXPECT_EQ(features::lbp_riu2(0x00), 0);
  EXPECT_EQ(features::lbp_riu2(0xFF), 8);
  EXPECT_EQ(features::lbp_riu2(0x0F), 4);
  EXPECT_EQ(features::lbp_riu2(0x01), 1);
  EXPECT_EQ(features::lbp_riu2(0x80), 1);
  EXPECT_EQ(features::lbp_riu2(0x81), 2);  // wraps around bit 7 -> bit 0: still one run
  EXPECT_EQ(features::lbp_riu2(0x7F), 7);
  EXPECT_EQ(features::lbp_riu2(0x55), 9);  // 01010101: 8 transitions, non-uniform
  EXPECT_EQ(features::lbp_riu2(0x05), 9);  // two separate runs: 4 transitions
  EXPECT_EQ(features::lbp_riu2(0x11), 9);
}

TEST(LbpRiu2, RotationInvarianceAndCounts) {
  auto rotl8 = [](unsigned p, int k) { return ((p << k) | (p >> (8 - k))) & 0xFFu; };
  int per_code[10] = {};
  for (unsigned p = 0; p < 256; ++p) {
    const int code = features::lbp_riu2(p);
    ASSERT_GE(code, 0);
    ASSERT_LE(code, 9);
    ++per_code[code];
    for (int k = 1; k < 8; ++k) EXPECT_EQ(features::lbp_riu2(rotl8(p, k)), code) << "pattern " << p << " rotated " << k;
    // Uniform codes are the number of set bits.
    if (code != 9) {
      EXPECT_EQ(code, std::popcount(p)) << "pattern " << p;
    }
  }
  // 0 and 8 have one pattern each, 1..7 have the 8 rotations of a single run, 9 the rest.
  EXPECT_EQ(per_code[0], 1);
  EXPECT_EQ(per_code[8], 1);
  for (int c = 1; c <= 7; ++c) EXPECT_EQ(per_code[c], 8) << c;
  EXPECT_EQ(per_code[9], 256 - 2 - 7 * 8);
}

TEST(AccumulateLbp, SyntheticImages) {
  using Bins = std::array<std::uint32_t, 10>;
  auto lbp = [](const Plane8& g, const Plane8& region) {
    Bins b{};
    cpu::accumulate_lbp(g, region, b.data());
    return b;
  };
  // 3x3: only the centre is away from the border. Neighbours >= 5: E, NE, N, NW, i.e.
  // bits 0..3 in the kernel's order (east, then counter-clockwise): 0x0F -> code 4.
  {
    Plane8 g(3, 3);
    const int v[3][3] = {{9, 9, 9}, {0, 5, 9}, {0, 0, 0}};
    for (int y = 0; y < 3; ++y)
      for (int x = 0; x < 3; ++x) g.at(y, x) = std::uint8_t(v[y][x]);
    EXPECT_EQ(lbp(g, Plane8(3, 3, 1)), (Bins{0, 0, 0, 0, 1, 0, 0, 0, 0, 0}));
  }
  // Constant 5x5: every neighbour equals the centre (>=), 0xFF -> 8 for the 9 inner pixels.
  EXPECT_EQ(lbp(Plane8(5, 5, 77), Plane8(5, 5, 1)), (Bins{0, 0, 0, 0, 0, 0, 0, 0, 9, 0}));
  // Horizontal ramp g = x: neighbours to the east (3) and straight above/below (2) are >=,
  // the three to the west are smaller: one run of 5 -> code 5 for all 9 inner pixels.
  {
    Plane8 g(5, 5);
    for (int y = 0; y < 5; ++y)
      for (int x = 0; x < 5; ++x) g.at(y, x) = std::uint8_t(10 * x);
    EXPECT_EQ(lbp(g, Plane8(5, 5, 1)), (Bins{0, 0, 0, 0, 0, 9, 0, 0, 0, 0}));
  }
  // A single bright spot in the middle of a dark 5x5: the spot sees 8 smaller neighbours
  // (code 0); the 8 dark inner pixels see only neighbours >= themselves (code 8).
  {
    Plane8 g(5, 5, 0);
    g.at(2, 2) = 200;
    EXPECT_EQ(lbp(g, Plane8(5, 5, 1)), (Bins{1, 0, 0, 0, 0, 0, 0, 0, 8, 0}));
  }
  // Checkerboard g = (x + y) % 2 on 5x5: inner pixels with value 1 see 0 on E, N, W, S and
  // 1 on the diagonals: 10101010 -> non-uniform (9); value 0 pixels see all >= (8).
  // Inner pixels (x, y in 1..3) with x + y odd: (1,2) (2,1) (2,3) (3,2) -> 4; even -> 5.
  Plane8 cb(5, 5);
  for (int y = 0; y < 5; ++y)
    for (int x = 0; x < 5; ++x) cb.at(y, x) = std::uint8_t((x + y) % 2);
  EXPECT_EQ(lbp(cb, Plane8(5, 5, 1)), (Bins{0, 0, 0, 0, 0, 0, 0, 0, 5, 4}));
  // Region: only the centre (value 0 -> code 8); border pixels of the region are skipped.
  Plane8 region(5, 5, 0);
  region.at(2, 2) = 1;
  region.at(0, 0) = region.at(4, 2) = 1;
  EXPECT_EQ(lbp(cb, region), (Bins{0, 0, 0, 0, 0, 0, 0, 0, 1, 0}));
  // Bins are added to, not cleared.
  Bins acc{};
  cpu::accumulate_lbp(cb, Plane8(5, 5, 1), acc.data());
  cpu::accumulate_lbp(cb, Plane8(5, 5, 1), acc.data());
  EXPECT_EQ(acc, (Bins{0, 0, 0, 0, 0, 0, 0, 0, 10, 8}));
  // Images without an interior contribute nothing.
  EXPECT_EQ(lbp(Plane8(2, 9, 1), Plane8(2, 9, 1)), Bins{});
}

}  // namespace hemolens::test

// The one-pass texture accumulation of measure() gives the per-region counts exactly.
TEST(AccumulateTextures, EqualsPerRegionAccumulationOnSampleImages) {
  int checked = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(hemolens::test::sample_dir())) {
    if (e.path().extension() != ".jpg" || checked == 12) continue;
    const hemolens::DecodeResult r = hemolens::decode_file(e.path(), {});
    ASSERT_TRUE(r.image);
    const hemolens::cpu::Segmentation seg = hemolens::cpu::segment({r.image->rgb.data(), r.image->height, r.image->width}, {});
    hemolens::Plane8 levels(seg.rgb.g.height, seg.rgb.g.width), cyto(seg.cell.height, seg.cell.width);
    for (std::size_t i = 0; i < levels.size(); ++i) {
      levels.data[i] = seg.rgb.g.data[i] >> hemolens::features::kGlcmShift;
      cyto.data[i] = seg.cell.data[i] && !seg.nucleus.data[i];
    }
    auto fused = std::make_unique<hemolens::features::ImageAccumulators>();
    auto plain = std::make_unique<hemolens::features::ImageAccumulators>();
    hemolens::cpu::accumulate_textures(seg.rgb.g, seg.cell, seg.nucleus, hemolens::cpu::mask_box(seg.cell), *fused);
    const hemolens::Plane8* regions[3] = {&seg.cell, &seg.nucleus, &cyto};
    for (int k = 0; k < 3; ++k) {
      for (int d = 0; d < hemolens::features::kGlcmDistances; ++d)
        hemolens::cpu::accumulate_glcm(levels, *regions[k], hemolens::features::glcm_distance(d), hemolens::features::kGlcmLevels,
                                       plain->glcm[k][d]);
      hemolens::cpu::accumulate_lbp(seg.rgb.g, *regions[k], hemolens::cpu::mask_box(*regions[k]), 1, plain->lbp[k]);
      hemolens::cpu::accumulate_lbp(seg.rgb.g, *regions[k], hemolens::cpu::mask_box(*regions[k]), 2, plain->lbp2[k]);
    }
    EXPECT_EQ(0, std::memcmp(fused->glcm, plain->glcm, sizeof fused->glcm)) << e.path();
    EXPECT_EQ(0, std::memcmp(fused->lbp, plain->lbp, sizeof fused->lbp)) << e.path();
    EXPECT_EQ(0, std::memcmp(fused->lbp2, plain->lbp2, sizeof fused->lbp2)) << e.path();
    ++checked;
  }
  EXPECT_EQ(checked, 12);
}
