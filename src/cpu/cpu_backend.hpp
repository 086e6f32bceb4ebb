// The CPU backend: segment -> measure -> feature row, one image at a time, batches in
// parallel (the pipeline runs several batches at once on its threads).
#pragma once
#include <cstdint>
#include <string>

#include "cpu/segment.hpp"
#include "features/accumulators.hpp"
#include "hemolens/image.hpp"

namespace hemolens::cpu {

// Nanoseconds spent per stage, added to by extract_image when given.
struct StageNanos {
  std::int64_t segment = 0, measure = 0, formulas = 0;
};

// One image: fills `acc` and writes its feature row; returns the quality flags. The one path
// from pixels to a row on the CPU: the backend and the benchmarks call it.
std::uint32_t extract_image(const RgbView& img, const SegmentParams& params, features::ImageAccumulators& acc, float* row,
                            StageNanos* nanos = nullptr);

// The measuring half of extract_image, for a caller that keeps the segmentation (the server
// draws its outlines): measure -> formulas -> row; returns the quality flags.
std::uint32_t extract_segmented(const Segmentation& seg, features::ImageAccumulators& acc, float* row, StageNanos* nanos = nullptr);

// The segmentation parameters as the store records them (JSON), for every backend.
std::string segment_parameters_json(const SegmentParams& params);

}  // namespace hemolens::cpu
