// The per-image decisions of the segmentation (src/cpu/segment.cpp), written once for the CPU
// reference and the device (cuda/segment.cu, one work item per image): the thresholds, the
// seed, the lobe rule and the joining of lobes across gaps, the reach window, the quality
// flags. Everything here is exact integer arithmetic or correctly rounded double operations
// (sqrt, lround, ceil), so both sides take the same decisions. Header-only, HL_HD.
//
// Component statistics come as any type with the fields of cpu::ComponentStats (area, sum_x,
// sum_y, min_x, min_y, max_x, max_y): the CPU's vector and the device's LabelStats. A "label1"
// pointer holds label 1 at index 0.
#pragma once
#include <math.h>  // for ::sqrt, ::lround and ::ceil, which nvcc also provides in device code

#include <cstddef>
#include <cstdint>

#include "cpu/chamfer.hpp"
#include "cpu/segment.hpp"  // SegmentParams
#include "features/hd.hpp"
#include "features/thresholds.hpp"
#include "hemolens/quality.hpp"

namespace hemolens::cpu {

inline constexpr double kPi = 3.14159265358979323846;

// An inclusive box of pixels; empty when x1 < x0.
struct Window {
  int x0 = 0, y0 = 0, x1 = -1, y1 = -1;
  HL_HD bool empty() const { return x1 < x0 || y1 < y0; }
  HL_HD bool contains(int y, int x) const { return x >= x0 && x <= x1 && y >= y0 && y <= y1; }
  HL_HD int width() const { return x1 - x0 + 1; }
  HL_HD int height() const { return y1 - y0 + 1; }
  template <class Stats>
  HL_HD static Window of(const Stats& s) {
    return {s.min_x, s.min_y, s.max_x, s.max_y};
  }
  template <class Stats>
  HL_HD void add(const Stats& s) {
    x0 = min_of(x0, int(s.min_x)), y0 = min_of(y0, int(s.min_y));
    x1 = max_of(x1, int(s.max_x)), y1 = max_of(y1, int(s.max_y));
  }
  template <class F>
  HL_HD void for_each(F&& f) const {
    for (int y = y0; y <= y1; ++y)
      for (int x = x0; x <= x1; ++x) f(y, x);
  }
};

// Nucleus candidates: smoothed stain above the upper threshold of a 3-class Otsu, and at least
// min_stain_threshold.
HL_HD inline int stain_threshold(const std::uint32_t* stain_hist, const SegmentParams& sp) {
  return max_of(features::multi_otsu3(stain_hist).high, sp.min_stain_threshold);
}

// Stained objects reach paler than the green threshold: pale_fraction of the way to the slide.
HL_HD inline int pale_threshold(int green_threshold, const SegmentParams& sp) {
  return green_threshold + int(::lround(sp.pale_fraction * (sp.balance_target - green_threshold)));
}

// Nucleus component nearest the centre; centroids in 1/16 pixel, so the choice is exact
// integer arithmetic on every backend. Returns the label (1..labels), 0 when none is large enough.
template <class Stats>
HL_HD int pick_seed(const Stats* label1, int labels, int h, int w, int min_area) {
  int best = 0;
  std::int64_t best_d = 0x7fffffffffffffffll;
  for (int l = 1; l <= labels; ++l) {
    const Stats& s = label1[l - 1];
    if (s.area < min_area) continue;
    const std::int64_t cx = (s.sum_x * 16 + s.area / 2) / s.area - std::int64_t(w - 1) * 8;
    const std::int64_t cy = (s.sum_y * 16 + s.area / 2) / s.area - std::int64_t(h - 1) * 8;
    const std::int64_t d = cx * cx + cy * cy;
    if (d < best_d) {
      best_d = d;
      best = l;
    }
  }
  return best;
}

// Which nucleus components are lobes of the seed's nucleus: at least lobe_fraction of the
// seed's area (not granules), within `gap` chamfer units (3 a pixel) of the joined lobes.
struct LobeRule {
  double min_area = 0;
  std::int32_t gap = 0;
};
HL_HD inline LobeRule lobe_rule(std::int64_t seed_area, const SegmentParams& sp) {
  LobeRule r;
  r.min_area = sp.lobe_fraction * double(seed_area);
  const double gap_px = max_of(sp.min_lobe_gap, sp.lobe_gap * ::sqrt(4.0 * double(seed_area) / kPi));
  r.gap = std::int32_t(::lround(3.0 * gap_px));
  return r;
}

// Chessboard gap between two components' boxes (0 when they overlap).
template <class Stats>
HL_HD int box_gap(const Stats& a, const Stats& b) {
  return max_of(max_of(max_of(0, int(a.min_x - b.max_x)), max_of(int(b.min_x - a.max_x), int(a.min_y - b.max_y))), int(b.min_y - a.max_y));
}

// The rounds of lobe joining: in[l] (labels 0..labels, in[seed] set by the caller) grows by
// every present[l] lobe with a pixel within rule.gap of the lobes already joined, one round at
// a time, each round measuring from all joined (so the result does not depend on an order).
// label_at(y, x) gives a pixel's label, is_lobe(y, x) whether it is a lobe pixel. A chamfer
// distance is at least 3 x the chessboard distance, which is at least the gap between the
// components' boxes: components whose boxes lie farther apart cannot join, and distances are
// only computed (exactly: shortest chamfer paths stay inside the box of their ends) in the box
// of the joined lobes and the candidates near them. crop and dist: scratch of at least the
// area of the box of every present lobe and the seed. Most cells have one nucleus component
// and no candidate at all: then nothing is computed.
template <class Stats, class LabelAt, class IsLobe>
HL_HD void join_lobes(const Stats* label1, int labels, int seed, std::int32_t gap, const std::uint8_t* present, std::uint8_t* in,
                      const LabelAt& label_at, const IsLobe& is_lobe, std::uint8_t* crop, std::int32_t* dist) {
  for (bool grew = true; grew;) {
    grew = false;
    Window near = Window::of(label1[seed - 1]);
    bool any = false;
    for (int l = 1; l <= labels; ++l) {
      if (!present[l] || in[l]) continue;
      for (int j = 1; j <= labels; ++j)
        if (in[j] && 3 * box_gap(label1[l - 1], label1[j - 1]) <= gap) {
          near.add(label1[l - 1]);
          any = true;
          break;
        }
    }
    if (!any) break;
    for (int j = 1; j <= labels; ++j)
      if (in[j]) near.add(label1[j - 1]);
    const std::size_t bw = std::size_t(near.width());
    near.for_each([&](int y, int x) { crop[std::size_t(y - near.y0) * bw + std::size_t(x - near.x0)] = in[label_at(y, x)]; });
    chamfer_passes(crop, bw, dist, bw, near.height(), near.width());
    near.for_each([&](int y, int x) {
      std::uint8_t& joined = in[label_at(y, x)];
      if (!joined && is_lobe(y, x) && dist[std::size_t(y - near.y0) * bw + std::size_t(x - near.x0)] <= gap) {
        joined = 1;
        grew = true;
      }
    });
  }
}

// The cell is cut to `cell_reach` nucleus diameters (at least 8 pixels) around the nucleus.
// Everything happens in the nucleus's box grown by the reach and a one-pixel frame, within the
// cell's box: nothing farther can be within reach, since a chamfer distance is at least 3 x
// the chessboard one; distances there are exact, because shortest chamfer paths stay inside
// the box of their ends; and the empty frame connects the outside as the whole image would,
// so the same holes are filled. Without nucleus, the cell's box.
struct ReachRule {
  Window box;
  std::int32_t reach = 0;  // chamfer units
};
HL_HD inline ReachRule reach_rule(std::int64_t nucleus_area, const Window& nucleus_box, const Window& cell_box, const SegmentParams& sp) {
  ReachRule r;
  const double reach_px = max_of(8.0, sp.cell_reach * ::sqrt(4.0 * double(nucleus_area) / kPi));
  r.reach = std::int32_t(::lround(3.0 * reach_px));
  if (nucleus_area == 0) {
    r.box = cell_box;
  } else {
    const int grow = int(::ceil(reach_px)) + 1;
    r.box = {max_of(cell_box.x0, nucleus_box.x0 - grow), max_of(cell_box.y0, nucleus_box.y0 - grow),
             min_of(cell_box.x1, nucleus_box.x1 + grow), min_of(cell_box.y1, nucleus_box.y1 + grow)};
  }
  return r;
}

// Another whole nucleated cell: a nucleus component that is large, apart from the target cell,
// and not cut by the border (crops often show part of a neighbour at the edge; that does not
// disturb the target).
template <class Stats>
HL_HD bool other_nucleus(const Stats& s, bool touches_cell, int h, int w, const SegmentParams& sp) {
  const bool at_border = s.min_x == 0 || s.min_y == 0 || s.max_x == w - 1 || s.max_y == h - 1;
  return !touches_cell && !at_border && s.area >= sp.other_nucleus_min_area;
}

// The quality flags of a segmented cell (kNoCell is the caller's: no seed).
HL_HD inline std::uint32_t quality_flags(std::int64_t cell_area, std::int64_t nucleus_area, bool touches_border, int other_nucleated, int h,
                                         int w, const SegmentParams& sp) {
  std::uint32_t flags = 0;
  if (touches_border) flags |= kTouchesBorder;
  if (other_nucleated > 0) flags |= kMultipleNucleated;
  if (cell_area < sp.min_cell_area || nucleus_area < sp.min_nucleus_area || cell_area > sp.max_cell_fraction * double(h) * w)
    flags |= kImplausibleSize;
  return flags;
}

}  // namespace hemolens::cpu
