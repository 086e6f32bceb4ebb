// Chains of CPU reference functions that give what a chain of device stages must give for one
// image: the segmentation preprocessing (cuda/preprocess.hpp) and the device-resident lane
// (cuda/lane.hpp: the whole segmentation and measurement). Shared by the host-execution tests
// (tests/cuda) and the fixture writer for the GPU check (make_gpu_fixtures); header-only over
// src/cpu.
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
#include "cpu/segment.hpp"
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

// The whole CPU reference for one image: what the device-resident lane must give.
struct LaneReference {
  cpu::Segmentation seg;
  std::unique_ptr<features::ImageAccumulators> acc = std::make_unique<features::ImageAccumulators>();
  std::uint32_t stain_hist[256], green_hist[256];
};

inline LaneReference lane_reference(const RgbView& img, const cpu::SegmentParams& params) {
  LaneReference r;
  const PreprocessReference pre = preprocess_reference(img, params.bright_fraction, params.balance_target);
  std::copy(pre.stain_hist, pre.stain_hist + 256, r.stain_hist);
  std::copy(pre.green_hist, pre.green_hist + 256, r.green_hist);
  r.seg = cpu::segment(img, params);
  cpu::measure(r.seg, *r.acc);
  return r;
}

}  // namespace hemolens::gpu_fixture
