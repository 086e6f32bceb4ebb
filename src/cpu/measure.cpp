#include "cpu/measure.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <utility>
#include <vector>

#include "cpu/chamfer.hpp"
#include "cpu/components.hpp"
#include "cpu/morphology.hpp"
#include "cpu/runs.hpp"
#include "features/pixel_channels.hpp"
#include "features/shape.hpp"

namespace hemolens::cpu {

using features::ImageAccumulators;
using features::ShapeAccumulator;

Box mask_box(const Plane8& mask) {
  Box b{mask.width, mask.height, -1, -1};
  for (int y = 0; y < mask.height; ++y) {
    const auto [first, last] = row_extent(&mask.data[std::size_t(y) * mask.width], mask.width);
    if (first < 0) continue;
    b.x0 = std::min(b.x0, first);
    b.x1 = std::max(b.x1, last);
    b.y0 = std::min(b.y0, y);
    b.y1 = y;
  }
  return b;
}

features::MaskMoments mask_moments(const Plane8& mask) { return mask_moments(mask, mask_box(mask)); }

namespace {

// Sums of x, x^2 and x^3 over x = 0..k, modulo 2^64 (the moments' sums are exact when they
// fit 64 bits, and a difference of these is then exact too). Each product is divided by
// its factors 2 and 3 before it can wrap.
std::uint64_t sum_x(std::uint64_t k) { return k % 2 ? (k + 1) / 2 * k : k / 2 * (k + 1); }
std::uint64_t sum_x2(std::uint64_t k) {  // k (k + 1) (2k + 1) / 6
  std::uint64_t f[3] = {k, k + 1, 2 * k + 1};
  *(k % 2 ? &f[1] : &f[0]) /= 2;  // one of k, k + 1 is even
  for (std::uint64_t& v : f)      // and one of the three is a multiple of 3
    if (v % 3 == 0) {
      v /= 3;
      break;
    }
  return f[0] * f[1] * f[2];
}
std::uint64_t sum_x3(std::uint64_t k) { return sum_x(k) * sum_x(k); }

}  // namespace

features::MaskMoments mask_moments(const Plane8& mask, const Box& box) {
  features::MaskMoments m;
  for (int y = box.y0; y <= box.y1; ++y) {
    // Per-row sums first, run by run in closed form (sums over x0..x1 are differences of
    // sums from 0), then weighted by y^q once.
    std::uint64_t n = 0, sx = 0, sx2 = 0, sx3 = 0;
    const std::uint8_t* row = &mask.data[std::size_t(y) * std::size_t(mask.width) + std::size_t(box.x0)];
    for_each_run(row, box.width(), [&](int a, int b) {
      const std::uint64_t x0 = std::uint64_t(box.x0 + a), x1 = std::uint64_t(box.x0 + b);
      n += x1 - x0 + 1;
      sx += sum_x(x1) - (x0 ? sum_x(x0 - 1) : 0);
      sx2 += sum_x2(x1) - (x0 ? sum_x2(x0 - 1) : 0);
      sx3 += sum_x3(x1) - (x0 ? sum_x3(x0 - 1) : 0);
    });
    if (!n) continue;
    const std::int64_t yy = y;
    const auto nn = std::int64_t(n), ssx = std::int64_t(sx), ssx2 = std::int64_t(sx2), ssx3 = std::int64_t(sx3);
    m.m00 += nn;
    m.m10 += ssx;
    m.m01 += nn * yy;
    m.m20 += ssx2;
    m.m11 += ssx * yy;
    m.m02 += nn * yy * yy;
    m.m30 += ssx3;
    m.m21 += ssx2 * yy;
    m.m12 += ssx * yy * yy;
    m.m03 += nn * yy * yy * yy;
  }
  return m;
}

namespace {

// Pixel edges between the mask and the rest: two for each run of a row (its ends), and per
// column the set pixels whose pixel above (below) is unset or outside the image.
std::int64_t boundary_edges(const Plane8& mask, const Box& box) {
  const int h = mask.height, w = mask.width, bw = box.width();
  std::int64_t edges = 0;
  for (int y = box.y0; y <= box.y1; ++y) {
    const std::uint8_t* row = &mask.data[std::size_t(y) * std::size_t(w) + std::size_t(box.x0)];
    for_each_run(row, bw, [&](int, int) { edges += 2; });
    for (const int yy : {y - 1, y + 1}) {
      if (yy < 0 || yy >= h) {
        for (int x = 0; x < bw; ++x) edges += row[x] != 0;
        continue;
      }
      const std::uint8_t* other = &mask.data[std::size_t(yy) * std::size_t(w) + std::size_t(box.x0)];
      std::uint32_t open = 0;  // per row at most the image width
      for (int x = 0; x < bw; ++x) open += (row[x] != 0) & (other[x] == 0);
      edges += open;
    }
  }
  return edges;
}

// Chamfer (3-4) distance of each mask pixel to the nearest outside pixel, over the crop with
// a one-pixel frame of outside around it (src/cpu/chamfer.hpp, shared with the device). Returns
// the distances of the crop's pixels (0 outside the mask).
Plane32 chamfer_distances(const Plane8& crop, ShapeAccumulator& out) {
  Plane32 dist(crop.height, crop.width);
  chamfer_inside(crop.data.data(), std::size_t(crop.width), dist.data.data(), std::size_t(crop.width), crop.height, crop.width,
                 &out.distance_sum, &out.distance_max);
  return dist;
}

// 8-connected components of a mask, and those holding at least 5 % of its area (lobes).
struct Pieces {
  int components = 0, lobes = 0;
};
Pieces count_pieces(const Plane8& mask, std::int64_t area) {
  const auto stats = component_stats(mask, 8);
  Pieces p{int(stats.size()) - 1, 0};
  for (std::size_t l = 1; l < stats.size(); ++l) p.lobes += stats[l].area * 20 >= area;
  return p;
}

void eroded_lobes(const Plane32& dist, ShapeAccumulator& out) {
  Plane8 eroded(dist.height, dist.width);
  const std::int32_t* d = dist.data.data();
  std::uint8_t* e = eroded.data.data();
  const std::size_t n = dist.size();
  for (int i = 0; i < features::kErosions; ++i) {
    const std::int32_t depth = 3 * features::erosion_depth(i);
    std::int64_t area = 0;
    for (std::size_t k = 0; k < n; ++k) area += e[k] = d[k] > depth;
    out.eroded_lobes[i] = area ? count_pieces(eroded, area).lobes : 0;
  }
}

}  // namespace

void measure_shape(const Plane8& mask, ShapeAccumulator& out) {
  out = ShapeAccumulator{};
  const Box box = mask_box(mask);
  if (box.empty()) return;
  out.moments = mask_moments(mask, box);
  out.edges = boundary_edges(mask, box);
  out.min_x = box.x0;
  out.max_x = box.x1;
  out.min_y = box.y0;
  out.max_y = box.y1;

  // Components and rows of the bounding box only.
  const int rows = box.height(), cols = box.width();
  Plane8 crop(rows, cols);
  for (int r = 0; r < rows; ++r)
    std::copy_n(&mask.data[std::size_t(box.y0 + r) * mask.width + box.x0], cols, &crop.data[std::size_t(r) * cols]);
  const Pieces pieces = count_pieces(crop, out.moments.m00);
  out.components = pieces.components;
  out.lobes = pieces.lobes;

  std::vector<int> row_min(std::size_t(rows), std::numeric_limits<int>::max()), row_max(std::size_t(rows), -1);
  for (int r = 0; r < rows; ++r) {
    const auto [first, last] = row_extent(&crop.data[std::size_t(r) * cols], cols);
    if (first < 0) continue;
    row_min[std::size_t(r)] = box.x0 + first;
    row_max[std::size_t(r)] = box.x0 + last;
  }
  std::vector<features::HullPoint> points(2 * std::size_t(rows + 1)), hull(4 * std::size_t(rows + 1) + 1);
  out.hull_area2 =
      features::hull_area2_from_rows(row_min.data(), row_max.data(), rows, box.y0, points.data(), hull.data(), &out.hull_perimeter);
  eroded_lobes(chamfer_distances(crop, out), out);
}

void accumulate_glcm(const Plane8& grey, const Plane8& region, int d, int levels, std::uint32_t* counts) {
  accumulate_glcm(grey, region, mask_box(region), d, levels, counts);
}

void accumulate_glcm(const Plane8& grey, const Plane8& region, const Box& box, int d, int levels, std::uint32_t* counts) {
  if (box.empty()) return;
  // The box's grey levels with 0xFF outside the region, padded by d on the sides and below:
  // a pair is in the region exactly when both codes differ from 0xFF, with no bounds tests.
  constexpr std::uint8_t kOut = 0xFF;
  const int bw = box.width(), bh = box.height(), pw = bw + 2 * d;
  std::vector<std::uint8_t> code(std::size_t(pw) * std::size_t(bh + d), kOut);
  for (int y = 0; y < bh; ++y)
    for (int x = 0; x < bw; ++x)
      if (region.at(box.y0 + y, box.x0 + x)) code[std::size_t(y) * pw + std::size_t(x + d)] = grey.at(box.y0 + y, box.x0 + x);
  // Offsets (d,0), (d,d), (0,d), (-d,d): 0, 45, 90, 135 degrees. One direction is counted,
  // then the matrix is symmetrised.
  const std::ptrdiff_t offsets[4] = {d, std::ptrdiff_t(d) * pw + d, std::ptrdiff_t(d) * pw, std::ptrdiff_t(d) * pw - d};
  std::vector<std::uint32_t> one_way(std::size_t(levels) * std::size_t(levels), 0);
  for (int y = 0; y < bh; ++y) {
    const std::uint8_t* row = &code[std::size_t(y) * pw + std::size_t(d)];
    for (int x = 0; x < bw; ++x) {
      const std::uint8_t i = row[x];
      if (i == kOut) continue;
      std::uint32_t* counts_i = &one_way[std::size_t(i) * std::size_t(levels)];
      for (const std::ptrdiff_t o : offsets) {
        const std::uint8_t j = row[x + o];
        if (j != kOut) ++counts_i[j];
      }
    }
  }
  for (int i = 0; i < levels; ++i)
    for (int j = 0; j < levels; ++j)
      counts[i * levels + j] += one_way[std::size_t(i) * levels + j] + one_way[std::size_t(j) * levels + i];
}

void accumulate_lbp(const Plane8& grey, const Plane8& region, std::uint32_t* bins) {
  accumulate_lbp(grey, region, mask_box(region), 1, bins);
}

void accumulate_lbp(const Plane8& grey, const Plane8& region, const Box& box, int r, std::uint32_t* bins) {
  // Neighbours in circular order, starting east, counter-clockwise, on the chessboard ring r.
  const int dx[8] = {r, r, 0, -r, -r, -r, 0, r}, dy[8] = {0, -r, -r, -r, 0, r, r, r};
  for (int y = std::max(box.y0, r); y <= std::min(box.y1, grey.height - 1 - r); ++y)
    for (int x = std::max(box.x0, r); x <= std::min(box.x1, grey.width - 1 - r); ++x) {
      if (!region.at(y, x)) continue;
      const int c = grey.at(y, x);
      unsigned pattern = 0;
      for (int k = 0; k < 8; ++k) pattern |= unsigned(grey.at(y + dy[k], x + dx[k]) >= c) << k;
      ++bins[features::lbp_riu2(pattern)];
    }
}

namespace {

// features::lbp_riu2 of every 8-bit pattern.
struct Riu2Table {
  std::uint8_t code[256];
  Riu2Table() {
    for (unsigned p = 0; p < 256; ++p) code[p] = std::uint8_t(features::lbp_riu2(p));
  }
};
const Riu2Table kRiu2;

}  // namespace

void accumulate_textures(const Plane8& grey, const Plane8& cell, const Plane8& nucleus, const Box& box,
                         ImageAccumulators& acc) {
  if (box.empty()) return;
  using features::kGlcmLevels;
  // Code per pixel of the box, padded by the largest distance: inside the cell, the GLCM
  // level (5 bits) and bit 5 for the nucleus (0..63); kOut outside (and in the padding).
  constexpr std::uint8_t kNuc = 0x20, kOut = 64;
  constexpr int kCodes = kOut + 1;
  const int pad = features::glcm_distance(features::kGlcmDistances - 1);
  const int bw = box.width(), bh = box.height(), pw = bw + 2 * pad;
  std::vector<std::uint8_t> code(std::size_t(pw) * std::size_t(bh + 2 * pad), kOut);
  auto at = [&](int y, int x) -> std::uint8_t& { return code[std::size_t(y + pad) * pw + std::size_t(x + pad)]; };
  for (int y = 0; y < bh; ++y) {
    const std::size_t src = std::size_t(box.y0 + y) * std::size_t(grey.width) + std::size_t(box.x0);
    const std::uint8_t *g = &grey.data[src], *c = &cell.data[src], *n = &nucleus.data[src];
    std::uint8_t* dst = &at(y, 0);
    for (int x = 0; x < bw; ++x) dst[x] = c[x] ? std::uint8_t((g[x] >> features::kGlcmShift) | (n[x] ? kNuc : 0)) : kOut;
  }

  // GLCM: for each distance, offsets (d,0), (d,d), (0,d), (-d,d) counted one way in a table of
  // code pairs (65 x 65: both pixels' level and nucleus bit; a pair leaving the cell lands in
  // row or column kOut), then symmetrised. The nucleus matrix is the table's nucleus-nucleus
  // block, the cytoplasm's its cytoplasm-cytoplasm block, the cell's the sum of its four
  // blocks: the counts accumulate_glcm gives per region, one increment per pair.
  std::vector<std::uint32_t> pairs(std::size_t(kCodes) * kCodes);
  for (int di = 0; di < features::kGlcmDistances; ++di) {
    const int d = features::glcm_distance(di);
    const std::ptrdiff_t offsets[4] = {d, std::ptrdiff_t(d) * pw + d, std::ptrdiff_t(d) * pw, std::ptrdiff_t(d) * pw - d};
    std::fill(pairs.begin(), pairs.end(), 0u);
    for (int y = 0; y < bh; ++y) {
      const std::uint8_t* row = &at(y, 0);
      for (int x = 0; x < bw; ++x) {
        const std::uint8_t p = row[x];
        if (p == kOut) continue;
        std::uint32_t* from_p = &pairs[std::size_t(p) * kCodes];
        for (const std::ptrdiff_t o : offsets) ++from_p[row[x + o]];
      }
    }
    auto one_way = [&](int i, int j, int ni, int nj) { return pairs[std::size_t(i + ni) * kCodes + std::size_t(j + nj)]; };
    for (int i = 0; i < kGlcmLevels; ++i)
      for (int j = 0; j < kGlcmLevels; ++j) {
        const std::uint32_t nuc = one_way(i, j, kNuc, kNuc) + one_way(j, i, kNuc, kNuc);
        const std::uint32_t cyto = one_way(i, j, 0, 0) + one_way(j, i, 0, 0);
        const std::uint32_t mixed = one_way(i, j, kNuc, 0) + one_way(i, j, 0, kNuc) + one_way(j, i, kNuc, 0) + one_way(j, i, 0, kNuc);
        acc.glcm[features::kCell][di][i * kGlcmLevels + j] += nuc + cyto + mixed;
        acc.glcm[features::kNucleus][di][i * kGlcmLevels + j] += nuc;
        acc.glcm[features::kCytoplasm][di][i * kGlcmLevels + j] += cyto;
      }
  }

  // LBP on the grey plane (rings 1 and 2), pixels far enough from the image border. The
  // patterns of a row are computed for every pixel of its span (a loop the compiler
  // vectorises), then counted for the cell's pixels, per nucleus and cytoplasm; the cell's
  // bins are their sum. Bits in the order of accumulate_lbp: east, then counter-clockwise.
  const int w = grey.width;
  std::vector<std::uint8_t> pattern(std::size_t(bw), 0);
  for (int r = 1; r <= 2; ++r) {
    std::uint32_t(*bins)[features::kLbpBins] = r == 1 ? acc.lbp : acc.lbp2;
    std::uint32_t counts[2][features::kLbpBins] = {};  // [in the nucleus]
    const int x0 = std::max(box.x0, r), x1 = std::min(box.x1, w - 1 - r);
    for (int y = std::max(box.y0, r); y <= std::min(box.y1, grey.height - 1 - r); ++y) {
      const std::uint8_t* mid = &grey.data[std::size_t(y) * std::size_t(w)];
      const std::uint8_t *up = mid - std::ptrdiff_t(r) * w, *down = mid + std::ptrdiff_t(r) * w;
      for (int x = x0; x <= x1; ++x) {
        const std::uint8_t c = mid[x];
        pattern[std::size_t(x - x0)] = std::uint8_t((mid[x + r] >= c) | (up[x + r] >= c) << 1 | (up[x] >= c) << 2 | (up[x - r] >= c) << 3 |
                                                    (mid[x - r] >= c) << 4 | (down[x - r] >= c) << 5 | (down[x] >= c) << 6 |
                                                    (down[x + r] >= c) << 7);
      }
      const std::uint8_t* codes = &at(y - box.y0, x0 - box.x0);
      for (int x = 0; x <= x1 - x0; ++x)
        if (codes[x] != kOut) ++counts[codes[x] >> 5][kRiu2.code[pattern[std::size_t(x)]]];
    }
    for (int b = 0; b < features::kLbpBins; ++b) {
      bins[features::kCell][b] += counts[0][b] + counts[1][b];
      bins[features::kNucleus][b] += counts[1][b];
      bins[features::kCytoplasm][b] += counts[0][b];
    }
  }
}

// The background (most of the image) is sampled on even rows and columns: its colour is
// uniform, and a quarter of the pixels estimates it as well at a quarter of the cost. The
// cell's pixels (inside its box) count per nucleus and cytoplasm; the cell's histograms are
// their sum. A nucleus pixel outside the cell (segment() leaves none) counts where it is
// sampled as background.
void colour_histograms(const Segmentation& seg, ImageAccumulators& acc) {
  using features::kChannels;
  const int w = seg.cell.width;
  const std::uint8_t *cell = seg.cell.data.data(), *nucleus = seg.nucleus.data.data(), *background = seg.background.data.data();
  const std::uint8_t *r = seg.rgb.r.data.data(), *g = seg.rgb.g.data.data(), *b = seg.rgb.b.data.data();
  auto count = [&](std::size_t i, std::uint32_t (&hist)[kChannels][256]) {
    std::uint8_t v[kChannels];
    features::pixel_channels(r[i], g[i], b[i], v);
    for (int c = 0; c < kChannels; ++c) ++hist[c][v[c]];
  };
  std::vector<std::uint32_t> parts(2 * kChannels * 256, 0);  // [in the nucleus][channel][value]
  auto* part = reinterpret_cast<std::uint32_t(*)[kChannels][256]>(parts.data());
  const Box box = mask_box(seg.cell);
  for (int y = box.y0; y <= box.y1; ++y)
    for (int x = box.x0; x <= box.x1; ++x) {
      const std::size_t i = std::size_t(y) * std::size_t(w) + std::size_t(x);
      if (cell[i]) count(i, part[nucleus[i] ? 1 : 0]);
    }
  for (int c = 0; c < kChannels; ++c)
    for (int v = 0; v < 256; ++v) {
      acc.hist[features::kCell][c][v] += part[0][c][v] + part[1][c][v];
      acc.hist[features::kNucleus][c][v] += part[1][c][v];
      acc.hist[features::kCytoplasm][c][v] += part[0][c][v];
    }
  for (int y = 0; y < seg.cell.height; y += 2)
    for (int x = 0; x < w; x += 2) {
      const std::size_t i = std::size_t(y) * std::size_t(w) + std::size_t(x);
      if (!background[i]) continue;
      count(i, acc.hist[features::kBackground]);
      if (nucleus[i] && !cell[i]) count(i, acc.hist[features::kNucleus]);
    }
}

namespace {

// Sums of grey closings (and, over the cytoplasm, openings) of the cell's neighbourhood
// with squares of side 1, 3, 5, 7, 9: a closing fills granules darker than their
// surroundings and smaller than the square, an opening removes smaller bright spots.
void granularity(const Segmentation& seg, const ShapeAccumulator& cell, ImageAccumulators& acc) {
  if (cell.moments.m00 == 0) return;
  const int margin = features::kGranularitySizes;
  const int x0 = std::max(cell.min_x - margin, 0), x1 = std::min(cell.max_x + margin, seg.cell.width - 1);
  const int y0 = std::max(cell.min_y - margin, 0), y1 = std::min(cell.max_y + margin, seg.cell.height - 1);
  const int ch = y1 - y0 + 1, cw = x1 - x0 + 1;
  Plane8 crop(ch, cw), in_cell(ch, cw), in_cyto(ch, cw);
  for (int y = y0; y <= y1; ++y) {
    const std::size_t from = std::size_t(y) * std::size_t(seg.cell.width) + std::size_t(x0), to = std::size_t(y - y0) * std::size_t(cw);
    const std::uint8_t *g = &seg.rgb.g.data[from], *c = &seg.cell.data[from], *n = &seg.nucleus.data[from];
    std::uint8_t *o = &crop.data[to], *oc = &in_cell.data[to], *oy = &in_cyto.data[to];
    for (int x = 0; x < cw; ++x) {
      o[x] = g[x];
      oc[x] = c[x];
      oy[x] = std::uint8_t((c[x] != 0) & (n[x] == 0));  // no short-circuit: vectorises
    }
  }
  // Sums over a mask, row by row in 32 bits (a row of 8-bit values cannot overflow them),
  // so that the loop vectorises on narrow lanes.
  auto masked_sum = [cw, ch](const Plane8& p, const Plane8& mask) {
    std::int64_t s = 0;
    for (int y = 0; y < ch; ++y) {
      const std::uint8_t *v = &p.data[std::size_t(y) * std::size_t(cw)], *m = &mask.data[std::size_t(y) * std::size_t(cw)];
      std::uint32_t row = 0;
      for (int x = 0; x < cw; ++x) row += std::uint8_t(v[x] & -std::uint8_t(m[x] != 0));  // a select would branch
      s += row;
    }
    return s;
  };
  for (const auto v : in_cyto.data) acc.cyto_pixels += v;
  acc.closing_sum[0] = masked_sum(crop, in_cell);
  acc.cyto_closing_sum[0] = acc.cyto_opening_sum[0] = masked_sum(crop, in_cyto);
  // The closing of size r is r dilations then r erosions (the opening: the reverse); the
  // planes are reused in place, without copies.
  Plane8 dilated = crop, eroded = crop, closed, opened;
  for (int r = 1; r <= features::kGranularitySizes; ++r) {
    grey_dilate3(dilated, dilated);
    grey_erode3(eroded, eroded);
    grey_erode3(dilated, closed);
    grey_dilate3(eroded, opened);
    for (int k = 1; k < r; ++k) {
      grey_erode3(closed, closed);
      grey_dilate3(opened, opened);
    }
    acc.closing_sum[r] = masked_sum(closed, in_cell);
    acc.cyto_closing_sum[r] = masked_sum(closed, in_cyto);
    acc.cyto_opening_sum[r] = masked_sum(opened, in_cyto);
  }
}

void laplacian(const Segmentation& seg, ImageAccumulators& acc) {
  const Plane8& g = seg.rgb.g;
  const int w = g.width;
  if (w < 3) return;  // no interior pixel
  for (int y = 1; y + 1 < g.height; ++y) {
    const std::uint8_t* up = &g.data[std::size_t(y - 1) * w];
    const std::uint8_t* mid = &g.data[std::size_t(y) * w];
    const std::uint8_t* down = &g.data[std::size_t(y + 1) * w];
    const std::uint8_t* in_cell = &seg.cell.data[std::size_t(y) * w];
    // 32-bit sums over pieces of a row (|l| <= 1020, so 2048 squares stay below 2^32), with
    // the cell as a bit mask: the loop vectorises.
    std::int64_t sum = 0, sq = 0, cell_sum = 0, cell_sq = 0, cell_n = 0;
    for (int x0 = 1; x0 + 1 < w; x0 += 2048) {
      const int x1 = std::min(x0 + 2048, w - 1);
      std::int32_t s = 0, cs = 0, cn = 0;
      std::uint32_t q = 0, cq = 0;
      for (int x = x0; x < x1; ++x) {
        const std::int32_t l = 4 * mid[x] - up[x] - down[x] - mid[x - 1] - mid[x + 1];
        const std::int32_t c = -std::int32_t(in_cell[x] != 0);  // all ones in the cell
        s += l;
        q += std::uint32_t(l * l);
        cs += c & l;
        cq += std::uint32_t(c & (l * l));
        cn -= c;
      }
      sum += s, sq += q, cell_sum += cs, cell_sq += cq, cell_n += cn;
    }
    acc.laplacian_sum[0] += sum;
    acc.laplacian_sq[0] += sq;
    acc.laplacian_n[0] += w - 2;
    acc.laplacian_sum[1] += cell_sum;
    acc.laplacian_sq[1] += cell_sq;
    acc.laplacian_n[1] += cell_n;
  }
}

}  // namespace

void measure(const Segmentation& seg, ImageAccumulators& acc) {
  acc = ImageAccumulators{};
  acc.height = seg.cell.height;
  acc.width = seg.cell.width;
  for (int c = 0; c < 3; ++c) acc.background_rgb[c] = seg.rgb.background[std::size_t(c)];
  acc.stain_threshold = seg.stain_threshold;
  acc.green_threshold = seg.green_threshold;
  acc.other_nucleated = seg.other_nucleated;
  acc.flags = seg.flags;

  colour_histograms(seg, acc);
  measure_shape(seg.cell, acc.shape[features::kCell]);
  measure_shape(seg.nucleus, acc.shape[features::kNucleus]);

  const features::ShapeAccumulator& cell = acc.shape[features::kCell];
  const Box cell_box{cell.min_x, cell.min_y, cell.max_x, cell.max_y};
  accumulate_textures(seg.rgb.g, seg.cell, seg.nucleus, cell_box, acc);
  granularity(seg, acc.shape[features::kCell], acc);
  laplacian(seg, acc);
}

}  // namespace hemolens::cpu
