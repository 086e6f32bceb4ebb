// Segmentation of the target cell (CPU reference; cuda/segment.cu mirrors it step by step).
//
//  1. white balance against the slide background (color.hpp);
//  2. stain = max(B-G, 0) and green, each smoothed by a 5x5 Gaussian then a 3x3 median;
//  3. nucleus candidates: stain above the upper threshold of a 3-class Otsu (at least
//     `min_stain_threshold`), opened with a disc of radius 2. Violet chromatin and
//     platelet granulomeres pass; pink red cells and orange eosinophil granules do not;
//  4. stained objects: green at or below its Otsu threshold moved `pale_fraction` of the way
//     towards the slide (224 after white balance), so that pale cytoplasm counts, or a nucleus
//     candidate; holes filled, opened with a disc of radius 6 (cuts the thin contacts to red
//     cells). The background is what lies above the Otsu threshold itself;
//  5. the seed is the nucleus component (area >= min_seed_area) whose centroid is nearest
//     the image centre (CellaVision centres the target cell);
//  6. cell = the stained object holding most of the seed, plus the seed, holes filled;
//     nucleus = nucleus candidates inside the cell (all lobes of a segmented neutrophil)
//     whose components hold at least `lobe_fraction` of the seed's area (not granules) and
//     lie within `lobe_gap` seed diameters of the seed or of a lobe already joined (not the
//     nucleus of a neighbour the cell object has swallowed);
//  7. the cell is cut to pixels within `cell_reach` nucleus diameters of the nucleus, which
//     removes red cells stuck to it; its component holding the seed, holes filled, remains.
// For platelets the "nucleus" is the stained granulomere; docs/features.md says so.
#pragma once
#include <cstdint>

#include "cpu/color.hpp"
#include "hemolens/image.hpp"

namespace hemolens::cpu {

struct SegmentParams {
  double bright_fraction = 0.25;  // share of pixels taken as background for white balance
  int balance_target = 224;
  int gaussian_ksize = 5;
  int median_ksize = 3;
  int min_stain_threshold = 50;
  int nucleus_open_radius = 2;
  int cell_open_radius = 6;
  int min_seed_area = 60;
  int other_nucleus_min_area = 800;  // a nucleated object this large outside the cell: flag
  int min_cell_area = 150;
  int min_nucleus_area = 40;
  double max_cell_fraction = 0.6;  // of the image
  double lobe_fraction = 0.05;     // nucleus components smaller than this share of the seed are granules
  double lobe_gap = 0.3;           // lobes join the nucleus across gaps up to this many seed diameters
  double min_lobe_gap = 6;         // ... and at least this many pixels (small seeds)
  double pale_fraction = 0.4;      // objects: green up to this share of the way from the threshold to the slide
  double cell_reach = 0.6;         // cytoplasm lies within this many nucleus diameters of the nucleus
};

struct Segmentation {
  BalancedRgb rgb;
  Plane8 cell, nucleus, background;  // 0/1 masks
  int stain_threshold = 0, green_threshold = 0;
  int other_nucleated = 0;
  std::uint32_t flags = 0;  // QualityFlag bits
};

Segmentation segment(const RgbView& img, const SegmentParams& p);

}  // namespace hemolens::cpu
