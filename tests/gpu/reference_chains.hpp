// Chains of CPU reference functions that give what a chain of device stages must give for one
// image: the segmentation preprocessing (cuda/preprocess.hpp) and the device-resident lane
// (cuda/lane.hpp). Shared by the host-execution tests (tests/cuda) and the fixture writer for
// the GPU check (make_gpu_fixtures); header-only over src/cpu.
#pragma once
#include <algorithm>
#include <cstdint>
#include <memory>
#include <utility>

#include "cpu/color.hpp"
#include "cpu/components.hpp"
#include "cpu/filters.hpp"
#include "cpu/measure.hpp"
#include "cpu/morphology.hpp"
#include "features/accumulators.hpp"
#include "hemolens/image.hpp"

namespace hemolens::gpu_fixture {

struct PreprocessReference {
  cpu::BalancedRgb rgb;
  Plane8 stain, green;  // smoothed: Gaussian 5 then median 3
  std::uint32_t stain_hist[256], green_hist[256];
};

inline PreprocessReference preprocess_reference(const RgbView& img, double bright_fraction, int target) {
  PreprocessReference r;
  r.rgb = cpu::white_balance(img, bright_fraction, target);
  Plane8 blurred;
  cpu::gaussian_blur(cpu::stain_channel(r.rgb), blurred, 5);
  cpu::median_blur(blurred, r.stain, 3);
  cpu::gaussian_blur(r.rgb.g, blurred, 5);
  cpu::median_blur(blurred, r.green, 3);
  cpu::histogram(r.stain, nullptr, r.stain_hist);
  cpu::histogram(r.green, nullptr, r.green_hist);
  return r;
}

struct LaneReference {
  std::unique_ptr<features::ImageAccumulators> acc = std::make_unique<features::ImageAccumulators>();
  std::uint32_t stain_hist[256], green_hist[256];
};

// bright_fraction, target, levels and radii as in cuda::LaneParams.
inline LaneReference lane_reference(const RgbView& img, double bright_fraction, int target, int green_level, int stain_level, int cell_radius,
                                    int nucleus_radius) {
  LaneReference r;
  PreprocessReference pre = preprocess_reference(img, bright_fraction, target);
  std::copy(pre.stain_hist, pre.stain_hist + 256, r.stain_hist);
  std::copy(pre.green_hist, pre.green_hist + 256, r.green_hist);
  const Plane8 &stain = pre.stain, &green = pre.green;
  cpu::Segmentation seg;
  seg.rgb = std::move(pre.rgb);
  // Provisional masks: cell = green <= level, holes filled, opened; nucleus = stain > level,
  // opened, inside the cell; background = green > level.
  Plane8 raw(img.height, img.width), filled, stained = cpu::threshold_above(stain, stain_level);
  seg.background = cpu::threshold_above(green, green_level);
  for (std::size_t i = 0; i < raw.size(); ++i) raw.data[i] = !seg.background.data[i];
  cpu::fill_holes(raw, filled);
  cpu::open(filled, seg.cell, cell_radius);
  cpu::open(stained, seg.nucleus, nucleus_radius);
  for (std::size_t i = 0; i < seg.nucleus.size(); ++i) seg.nucleus.data[i] &= seg.cell.data[i];
  features::ImageAccumulators& a = *r.acc;
  a.height = img.height;
  a.width = img.width;
  for (int c = 0; c < 3; ++c) a.background_rgb[c] = seg.rgb.background[std::size_t(c)];
  a.stain_threshold = stain_level;
  a.green_threshold = green_level;
  cpu::colour_histograms(seg, a);
  for (int k = 0; k < features::kShapeRegions; ++k) {
    features::ShapeAccumulator full;
    cpu::measure_shape(k == features::kCell ? seg.cell : seg.nucleus, full);
    features::ShapeAccumulator& s = a.shape[k];  // the one-pass fields only, as the lane fills
    s.moments = full.moments;
    s.edges = full.edges;
    s.min_x = full.min_x, s.max_x = full.max_x, s.min_y = full.min_y, s.max_y = full.max_y;
  }
  cpu::accumulate_textures(seg.rgb.g, seg.cell, seg.nucleus, cpu::mask_box(seg.cell), a);
  return r;
}

}  // namespace hemolens::gpu_fixture
