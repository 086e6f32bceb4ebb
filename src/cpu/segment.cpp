#include "cpu/segment.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "cpu/components.hpp"
#include "cpu/filters.hpp"
#include "cpu/morphology.hpp"
#include "features/thresholds.hpp"
#include "hemolens/quality.hpp"

namespace hemolens::cpu {
namespace {

Plane8 smooth(const Plane8& p, const SegmentParams& sp) {
  Plane8 g, m;
  gaussian_blur(p, g, sp.gaussian_ksize);
  median_blur(g, m, sp.median_ksize);
  return m;
}

// The window where the target cell can lie: the seed's box grown by the object holding it.
struct CellBox {
  int x0, y0, x1, y1;  // inclusive
  void add(const ComponentStats& s) {
    x0 = std::min(x0, s.min_x), y0 = std::min(y0, s.min_y), x1 = std::max(x1, s.max_x), y1 = std::max(y1, s.max_y);
  }
  template <class F>
  void for_each(F&& f) const {
    for (int y = y0; y <= y1; ++y)
      for (int x = x0; x <= x1; ++x) f(y, x);
  }
};

// Nucleus component nearest the centre; centroids in 1/16 pixel, so the choice is exact
// integer arithmetic on every backend. Returns 0 when none is large enough.
int pick_seed(const std::vector<ComponentStats>& stats, int h, int w, int min_area) {
  int best = 0;
  std::int64_t best_d = std::numeric_limits<std::int64_t>::max();
  for (std::size_t l = 1; l < stats.size(); ++l) {
    const ComponentStats& s = stats[l];
    if (s.area < min_area) continue;
    const std::int64_t cx = (s.sum_x * 16 + s.area / 2) / s.area - (w - 1) * 8;
    const std::int64_t cy = (s.sum_y * 16 + s.area / 2) / s.area - (h - 1) * 8;
    const std::int64_t d = cx * cx + cy * cy;
    if (d < best_d) {
      best_d = d;
      best = int(l);
    }
  }
  return best;
}

// Nucleus candidates inside the cell that belong to the seed's nucleus: components large
// enough to be a lobe (not granules), reached from the seed through gaps of at most
// `lobe_gap` seed diameters. The lobes of a segmented nucleus lie a filament apart; the
// nucleus of a neighbour that the (pale) cell object has swallowed lies two cytoplasm rims
// away and stays out. Lobes join one round at a time, each round measuring from all joined.
Plane8 nucleus_in_cell(const Plane8& candidates, const Plane32& labels, const std::vector<ComponentStats>& stats, const Plane8& cell,
                       const CellBox& box, int seed, const SegmentParams& sp) {
  const std::int64_t seed_area = stats[std::size_t(seed)].area;
  const double min_area = sp.lobe_fraction * double(seed_area);
  const double gap_px = std::max(sp.min_lobe_gap, sp.lobe_gap * std::sqrt(4.0 * double(seed_area) / 3.14159265358979323846));
  const std::int32_t gap = std::int32_t(std::lround(3.0 * gap_px));  // chamfer units
  auto is_lobe = [&](int y, int x) {
    return candidates.at(y, x) && cell.at(y, x) && double(stats[std::size_t(labels.at(y, x))].area) >= min_area;
  };
  std::vector<std::uint8_t> present(stats.size(), 0), in(stats.size(), 0);
  box.for_each([&](int y, int x) {
    if (is_lobe(y, x)) present[std::size_t(labels.at(y, x))] = 1;
  });
  in[std::size_t(seed)] = 1;
  // A chamfer distance is at least 3 x the chessboard distance, which is at least the gap
  // between the components' boxes: components whose boxes lie farther apart cannot join,
  // and distances are only computed (exactly: shortest chamfer paths stay inside the box of
  // their ends) in the box of the joined lobes and the candidates near them. Most cells
  // have one nucleus component and no candidate at all.
  auto box_gap = [&](const ComponentStats& a, const ComponentStats& b) {
    return std::max({0, a.min_x - b.max_x, b.min_x - a.max_x, a.min_y - b.max_y, b.min_y - a.max_y});
  };
  for (bool grew = true; grew;) {
    grew = false;
    const ComponentStats& s = stats[std::size_t(seed)];
    CellBox near{s.min_x, s.min_y, s.max_x, s.max_y};
    bool any = false;
    for (std::size_t l = 1; l < stats.size(); ++l) {
      if (!present[l] || in[l]) continue;
      for (std::size_t j = 1; j < stats.size(); ++j)
        if (in[j] && 3 * box_gap(stats[l], stats[j]) <= gap) {
          near.add(stats[l]);
          any = true;
          break;
        }
    }
    if (!any) break;
    for (std::size_t j = 1; j < stats.size(); ++j)
      if (in[j]) near.add(stats[j]);
    Plane8 crop(near.y1 - near.y0 + 1, near.x1 - near.x0 + 1);
    near.for_each([&](int y, int x) { crop.at(y - near.y0, x - near.x0) = in[std::size_t(labels.at(y, x))]; });
    const Plane32 dist = chamfer_distance(crop);
    near.for_each([&](int y, int x) {
      std::uint8_t& joined = in[std::size_t(labels.at(y, x))];
      if (!joined && is_lobe(y, x) && dist.at(y - near.y0, x - near.x0) <= gap) {
        joined = 1;
        grew = true;
      }
    });
  }
  Plane8 n(candidates.height, candidates.width);
  box.for_each([&](int y, int x) { n.at(y, x) = is_lobe(y, x) && in[std::size_t(labels.at(y, x))]; });
  return n;
}

// The cell limited to `cell_reach` nucleus diameters around the nucleus; the piece holding
// the seed, holes filled. Everything happens in the nucleus's box grown by the reach and a
// one-pixel frame (within the cell's box): nothing farther can be within reach, since a
// chamfer distance is at least 3 x the chessboard one; distances there are exact, because
// shortest chamfer paths stay inside the box of their ends; and the empty frame connects
// the outside as the whole image would, so the same holes are filled.
Plane8 cut_to_reach(const Plane8& cell, const Plane8& nucleus, const Plane32& nucleus_labels, int seed, const CellBox& cell_box,
                    const SegmentParams& sp) {
  Plane8 out(cell.height, cell.width);
  std::int64_t area = 0;
  CellBox box{cell_box.x1, cell_box.y1, cell_box.x0, cell_box.y0};  // the nucleus's box, grown below
  cell_box.for_each([&](int y, int x) {
    if (!nucleus.at(y, x)) return;
    ++area;
    box.x0 = std::min(box.x0, x), box.y0 = std::min(box.y0, y), box.x1 = std::max(box.x1, x), box.y1 = std::max(box.y1, y);
  });
  const double reach_px = std::max(8.0, sp.cell_reach * std::sqrt(4.0 * double(area) / 3.14159265358979323846));
  const std::int32_t reach = std::int32_t(std::lround(3.0 * reach_px));  // chamfer units
  if (area == 0) {
    box = cell_box;
  } else {
    const int grow = int(std::ceil(reach_px)) + 1;
    box = {std::max(cell_box.x0, box.x0 - grow), std::max(cell_box.y0, box.y0 - grow), std::min(cell_box.x1, box.x1 + grow),
           std::min(cell_box.y1, box.y1 + grow)};
  }
  const int bh = box.y1 - box.y0 + 1, bw = box.x1 - box.x0 + 1;
  Plane8 crop_nucleus(bh, bw), near(bh, bw);
  box.for_each([&](int y, int x) { crop_nucleus.at(y - box.y0, x - box.x0) = nucleus.at(y, x); });
  const Plane32 dist = chamfer_distance(crop_nucleus);
  box.for_each([&](int y, int x) { near.at(y - box.y0, x - box.x0) = cell.at(y, x) && dist.at(y - box.y0, x - box.x0) <= reach; });
  // The piece holding most of the seed.
  Plane32 labels;
  const auto stats = label_components(near, 8, labels);
  std::vector<std::int64_t> overlap(stats.size(), 0);
  box.for_each([&](int y, int x) {
    if (nucleus_labels.at(y, x) == seed) ++overlap[std::size_t(labels.at(y - box.y0, x - box.x0))];
  });
  overlap[0] = 0;
  const int keep = int(std::max_element(overlap.begin(), overlap.end()) - overlap.begin());
  Plane8 piece(bh, bw), filled;
  for (std::size_t i = 0; i < piece.size(); ++i) piece.data[i] = keep > 0 && labels.data[i] == keep;
  fill_holes(piece, filled);
  box.for_each([&](int y, int x) { out.at(y, x) = filled.at(y - box.y0, x - box.x0); });
  return out;
}

}  // namespace

Segmentation segment(const RgbView& img, const SegmentParams& sp) {
  Segmentation seg;
  const int h = img.height, w = img.width;
  seg.rgb = white_balance(img, sp.bright_fraction, sp.balance_target);

  // Thresholds from the smoothed stain and green channels.
  const Plane8 stain = smooth(stain_channel(seg.rgb), sp);
  const Plane8 green = smooth(seg.rgb.g, sp);
  std::uint32_t hist[256];
  histogram(stain, nullptr, hist);
  seg.stain_threshold = std::max(features::multi_otsu3(hist).high, sp.min_stain_threshold);
  histogram(green, nullptr, hist);
  seg.green_threshold = features::otsu_threshold(hist);

  Plane8 nucleus_candidates;
  open(threshold_above(stain, seg.stain_threshold), nucleus_candidates, sp.nucleus_open_radius);

  Plane8 stained(h, w), filled, objects;
  seg.background = Plane8(h, w);
  // Objects reach paler than the threshold (pale cytoplasm of neutrophils, monocytes and ig
  // lies between the dark red cells and the slide); the background keeps the Otsu split.
  const int pale_threshold = seg.green_threshold + int(std::lround(sp.pale_fraction * (sp.balance_target - seg.green_threshold)));
  {
    // Raw pointers, a fixed count and no short-circuit (| instead of ||, which would branch
    // on each pixel): the loop vectorises.
    const std::uint8_t *g = green.data.data(), *cand = nucleus_candidates.data.data();
    std::uint8_t *st = stained.data.data(), *bg = seg.background.data.data();
    // Both thresholds lie in 0..255: Otsu's is a grey level, the pale one lies between it and the slide.
    const std::uint8_t dark_max = std::uint8_t(seg.green_threshold), pale_max = std::uint8_t(std::clamp(pale_threshold, 0, 255));
    const std::size_t n = stained.size();
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint8_t v = g[i], c = cand[i] != 0;
      st[i] = std::uint8_t((v <= pale_max) | c);
      bg[i] = std::uint8_t(((v <= dark_max) | c) ^ 1);
    }
  }
  fill_holes(stained, filled);
  open(filled, objects, sp.cell_open_radius);

  Plane32 nucleus_labels, object_labels;
  const auto nucleus_stats = label_components(nucleus_candidates, 8, nucleus_labels);
  const auto object_stats = label_components(objects, 8, object_labels);
  const int seed = pick_seed(nucleus_stats, h, w, sp.min_seed_area);

  seg.cell = Plane8(h, w);
  seg.nucleus = Plane8(h, w);
  if (seed == 0) {
    seg.flags |= kNoCell;
    return seg;
  }
  // Everything from here on happens inside the box of the seed and of the objects it touches.
  const ComponentStats& seed_stats = nucleus_stats[std::size_t(seed)];
  // The object holding most seed pixels (ties: the lower label).
  std::vector<std::int64_t> overlap(object_stats.size(), 0);
  for (int y = seed_stats.min_y; y <= seed_stats.max_y; ++y)
    for (int x = seed_stats.min_x; x <= seed_stats.max_x; ++x)
      if (nucleus_labels.at(y, x) == seed) ++overlap[std::size_t(object_labels.at(y, x))];
  overlap[0] = 0;
  const int cell_label = int(std::max_element(overlap.begin(), overlap.end()) - overlap.begin());
  CellBox box{seed_stats.min_x, seed_stats.min_y, seed_stats.max_x, seed_stats.max_y};
  if (cell_label > 0) box.add(object_stats[std::size_t(cell_label)]);
  Plane8 cell(h, w);
  box.for_each([&](int y, int x) {
    cell.at(y, x) = (cell_label > 0 && object_labels.at(y, x) == cell_label) || nucleus_labels.at(y, x) == seed;
  });
  Plane8 filled_cell;
  fill_holes(cell, filled_cell);
  seg.nucleus = nucleus_in_cell(nucleus_candidates, nucleus_labels, nucleus_stats, filled_cell, box, seed, sp);
  seg.cell = cut_to_reach(filled_cell, seg.nucleus, nucleus_labels, seed, box, sp);

  // Quality flags (and the nucleus cut to the final cell).
  std::vector<std::uint8_t> touches_cell(nucleus_stats.size(), 0);
  std::int64_t cell_area = 0, nucleus_area = 0;
  bool border = false;
  box.for_each([&](int y, int x) {
    std::uint8_t& n = seg.nucleus.at(y, x);
    if (!seg.cell.at(y, x)) {
      n = 0;
      return;
    }
    ++cell_area;
    nucleus_area += n;
    touches_cell[std::size_t(nucleus_labels.at(y, x))] = 1;
    border |= x == 0 || y == 0 || x == w - 1 || y == h - 1;
  });
  // Another whole nucleated cell: large, apart from the target, and not cut by the border
  // (crops often show part of a neighbour at the edge; that does not disturb the target).
  for (std::size_t l = 1; l < nucleus_stats.size(); ++l) {
    const ComponentStats& s = nucleus_stats[l];
    const bool at_border = s.min_x == 0 || s.min_y == 0 || s.max_x == w - 1 || s.max_y == h - 1;
    if (!touches_cell[l] && !at_border && s.area >= sp.other_nucleus_min_area) ++seg.other_nucleated;
  }
  if (border) seg.flags |= kTouchesBorder;
  if (seg.other_nucleated > 0) seg.flags |= kMultipleNucleated;
  if (cell_area < sp.min_cell_area || nucleus_area < sp.min_nucleus_area ||
      cell_area > sp.max_cell_fraction * double(h) * w)
    seg.flags |= kImplausibleSize;
  return seg;
}

}  // namespace hemolens::cpu
