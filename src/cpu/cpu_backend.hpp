// The CPU backend: segment -> measure -> feature row, one image at a time, batches in
// parallel (the pipeline runs several batches at once on its threads).
#pragma once
#include <cstdint>

#include "cpu/segment.hpp"
#include "features/accumulators.hpp"
#include "hemolens/image.hpp"

namespace hemolens::cpu {

// One image: fills `acc` and writes its feature row; returns the quality flags.
std::uint32_t extract_image(const RgbView& img, const SegmentParams& params, features::ImageAccumulators& acc, float* row);

}  // namespace hemolens::cpu
