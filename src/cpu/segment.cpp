#include "cpu/segment.hpp"

#include <algorithm>
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
  for (std::size_t i = 0; i < stained.size(); ++i) {
    const bool dark = green.data[i] <= seg.green_threshold;
    stained.data[i] = dark || nucleus_candidates.data[i];
    seg.background.data[i] = !stained.data[i];
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
  // The object holding most seed pixels (ties: the lower label).
  std::vector<std::int64_t> overlap(object_stats.size(), 0);
  for (std::size_t i = 0; i < nucleus_labels.size(); ++i)
    if (nucleus_labels.data[i] == seed) ++overlap[std::size_t(object_labels.data[i])];
  overlap[0] = 0;
  const int cell_label = int(std::max_element(overlap.begin(), overlap.end()) - overlap.begin());
  Plane8 cell(h, w);
  for (std::size_t i = 0; i < cell.size(); ++i)
    cell.data[i] = (cell_label > 0 && object_labels.data[i] == cell_label) || nucleus_labels.data[i] == seed;
  fill_holes(cell, seg.cell);
  for (std::size_t i = 0; i < cell.size(); ++i) seg.nucleus.data[i] = nucleus_candidates.data[i] && seg.cell.data[i];

  // Quality flags.
  std::vector<std::uint8_t> touches_cell(nucleus_stats.size(), 0);
  std::int64_t cell_area = 0, nucleus_area = 0;
  bool border = false;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const std::size_t i = std::size_t(y) * w + x;
      if (!seg.cell.data[i]) continue;
      ++cell_area;
      nucleus_area += seg.nucleus.data[i];
      touches_cell[std::size_t(nucleus_labels.data[i])] = 1;
      border |= x == 0 || y == 0 || x == w - 1 || y == h - 1;
    }
  for (std::size_t l = 1; l < nucleus_stats.size(); ++l)
    if (!touches_cell[l] && nucleus_stats[l].area >= sp.other_nucleus_min_area) ++seg.other_nucleated;
  if (border) seg.flags |= kTouchesBorder;
  if (seg.other_nucleated > 0) seg.flags |= kMultipleNucleated;
  if (cell_area < sp.min_cell_area || nucleus_area < sp.min_nucleus_area ||
      cell_area > sp.max_cell_fraction * double(h) * w)
    seg.flags |= kImplausibleSize;
  return seg;
}

}  // namespace hemolens::cpu
