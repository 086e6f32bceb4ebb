// The first stages of segmentation over a whole batch of images of any sizes, one launch per
// stage (cuda/preprocess.cu); they mirror src/cpu/color.cpp, src/cpu/filters.cpp
// and steps 1-2 of src/cpu/segment.cpp bit for bit:
//   1. white balance: per-image brightness histogram with channel sums, the background colour
//      of the brightest fraction, integer gains; balanced R, G, B;
//   2. stain = max(B - G, 0) and green, each Gaussian 5x5 (reflect-101) then median 3x3
//      (replicated borders);
//   3. 256-bin histograms of the smoothed stain and green planes (the thresholds' input).
// Host-callable, no CUDA types in the API.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "exec.hpp"

HEMOLENS_CUDA_BEGIN

// Images packed back to back as in hemolens::ImageBatch: RGB, rows packed; byte offsets are
// multiples of 3.
struct PackedBatch {
  const std::uint8_t* rgb = nullptr;
  const std::size_t* offsets = nullptr;  // byte offset of image i
  const int* heights = nullptr;
  const int* widths = nullptr;
  std::size_t images = 0;
};

struct Preprocessed {
  // Planes of all images packed back to back, image i at pixel offset offsets[i] / 3.
  std::vector<std::uint8_t> r, g, b;              // white-balanced
  std::vector<std::uint8_t> stain, green;         // smoothed (Gaussian 5 then median 3)
  std::vector<std::int32_t> background;           // images x 3: raw background colour
  std::vector<std::uint32_t> stain_hist, green_hist;  // images x 256
};

// Returns false with `error` set when a device call fails.
bool preprocess(const PackedBatch& batch, double bright_fraction, int balance_target, Preprocessed& out, std::string* error,
                Path path = Path::kFast);

HEMOLENS_CUDA_END
