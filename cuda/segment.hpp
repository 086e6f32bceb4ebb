// The segmentation of src/cpu/segment.cpp over a batch of images of any sizes (cuda/segment.cu):
// the cell, nucleus and background masks, the thresholds and the quality flags, equal to
// cpu::segment's image by image. Host-callable, no CUDA types; what the parity tests and the
// GPU check call to see the masks (the lane keeps them on the device).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "cpu/segment.hpp"  // SegmentParams
#include "exec.hpp"
#include "preprocess.hpp"  // PackedBatch

HEMOLENS_CUDA_BEGIN

struct Segmented {
  std::vector<std::uint8_t> cell, nucleus, background;  // 0/1, packed like the images (pixel offsets, 0 in gaps)
  std::vector<std::int32_t> stain_threshold, green_threshold, other_nucleated;  // per image
  std::vector<std::uint32_t> flags;                                             // per image, QualityFlag bits
};

// Returns false with `error` set when the batch is refused or a device call fails.
bool segment(const PackedBatch& batch, const cpu::SegmentParams& params, Segmented& out, std::string* error, Path path = Path::kFast);

HEMOLENS_CUDA_END
