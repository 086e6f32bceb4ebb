#include "cpu/segment.hpp"

#include <algorithm>
#include <memory>

#include "cpu/components.hpp"
#include "cpu/filters.hpp"
#include "cpu/morphology.hpp"
#include "cpu/segment_rules.hpp"
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

// Nucleus candidates inside the cell that belong to the seed's nucleus: components large
// enough to be a lobe (not granules), reached from the seed through gaps of at most
// `lobe_gap` seed diameters (segment_rules.hpp: join_lobes). The lobes of a segmented nucleus
// lie a filament apart; the nucleus of a neighbour that the (pale) cell object has swallowed
// lies two cytoplasm rims away and stays out.
Plane8 nucleus_in_cell(const Plane8& candidates, const Plane32& labels, const std::vector<ComponentStats>& stats, const Plane8& cell,
                       const Window& box, int seed, const SegmentParams& sp) {
  const LobeRule rule = lobe_rule(stats[std::size_t(seed)].area, sp);
  auto is_lobe = [&](int y, int x) {
    return candidates.at(y, x) && cell.at(y, x) && double(stats[std::size_t(labels.at(y, x))].area) >= rule.min_area;
  };
  auto label_at = [&](int y, int x) { return std::size_t(labels.at(y, x)); };
  std::vector<std::uint8_t> present(stats.size(), 0), in(stats.size(), 0);
  box.for_each([&](int y, int x) {
    if (is_lobe(y, x)) present[label_at(y, x)] = 1;
  });
  in[std::size_t(seed)] = 1;
  // Every lobe and the seed lie in the box: scratch of its size holds any round's crop.
  const std::size_t area = std::size_t(box.width()) * std::size_t(box.height());
  const auto crop = std::make_unique_for_overwrite<std::uint8_t[]>(area);
  const auto dist = std::make_unique_for_overwrite<std::int32_t[]>(area);
  join_lobes(stats.data() + 1, int(stats.size()) - 1, seed, rule.gap, present.data(), in.data(), label_at, is_lobe, crop.get(), dist.get());
  Plane8 n(candidates.height, candidates.width);
  box.for_each([&](int y, int x) { n.at(y, x) = is_lobe(y, x) && in[label_at(y, x)]; });
  return n;
}

// The cell limited to `cell_reach` nucleus diameters around the nucleus (segment_rules.hpp:
// reach_rule says why the reach window suffices); the piece holding the seed, holes filled.
Plane8 cut_to_reach(const Plane8& cell, const Plane8& nucleus, const Plane32& nucleus_labels, int seed, const Window& cell_box,
                    const SegmentParams& sp) {
  Plane8 out(cell.height, cell.width);
  std::int64_t area = 0;
  Window nucleus_box{cell_box.x1, cell_box.y1, cell_box.x0, cell_box.y0};  // grown below
  cell_box.for_each([&](int y, int x) {
    if (!nucleus.at(y, x)) return;
    ++area;
    nucleus_box.x0 = std::min(nucleus_box.x0, x), nucleus_box.y0 = std::min(nucleus_box.y0, y);
    nucleus_box.x1 = std::max(nucleus_box.x1, x), nucleus_box.y1 = std::max(nucleus_box.y1, y);
  });
  const ReachRule rule = reach_rule(area, nucleus_box, cell_box, sp);
  const Window& box = rule.box;
  const std::int32_t reach = rule.reach;
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
  seg.stain_threshold = stain_threshold(hist, sp);
  histogram(green, nullptr, hist);
  seg.green_threshold = features::otsu_threshold(hist);

  Plane8 nucleus_candidates;
  open(threshold_above(stain, seg.stain_threshold), nucleus_candidates, sp.nucleus_open_radius);

  Plane8 stained(h, w), filled, objects;
  seg.background = Plane8(h, w);
  // Objects reach paler than the threshold (pale cytoplasm of neutrophils, monocytes and ig
  // lies between the dark red cells and the slide); the background keeps the Otsu split.
  const int pale = pale_threshold(seg.green_threshold, sp);
  {
    // Raw pointers, a fixed count and no short-circuit (| instead of ||, which would branch
    // on each pixel): the loop vectorises.
    const std::uint8_t *g = green.data.data(), *cand = nucleus_candidates.data.data();
    std::uint8_t *st = stained.data.data(), *bg = seg.background.data.data();
    // Both thresholds lie in 0..255: Otsu's is a grey level, the pale one lies between it and the slide.
    const std::uint8_t dark_max = std::uint8_t(seg.green_threshold), pale_max = std::uint8_t(std::clamp(pale, 0, 255));
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
  const int seed = pick_seed(nucleus_stats.data() + 1, int(nucleus_stats.size()) - 1, h, w, sp.min_seed_area);

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
  Window box = Window::of(seed_stats);
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
  for (std::size_t l = 1; l < nucleus_stats.size(); ++l) seg.other_nucleated += other_nucleus(nucleus_stats[l], touches_cell[l], h, w, sp);
  seg.flags |= quality_flags(cell_area, nucleus_area, border, seg.other_nucleated, h, w, sp);
  return seg;
}

}  // namespace hemolens::cpu
