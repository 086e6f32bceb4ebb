// Connected-component labelling and hole filling on the device, over a batch of masks of
// different sizes in one launch per stage (cuda/components.cu), mirroring
// src/cpu/components.hpp: labels 1..n in the raster order of each component's first pixel
// (0 background), with per-label area, coordinate sums and bounding box from the same pass.
// Union-find with atomicMin linking (Playne and Hawick 2018; the family of Allegretti et al.
// 2020): a root is always its component's smallest pixel index, which is its first pixel
// in raster order, so a per-image scan of the roots gives the CPU's canonical labels.
// Host-callable, no CUDA types in the API. Not yet run on a GPU (issue 4).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace hemolens::cuda {

// 0/1 masks packed back to back; image i starts at pixel offsets[i].
struct PackedMasks {
  const std::uint8_t* mask = nullptr;
  const std::size_t* offsets = nullptr;
  const int* heights = nullptr;
  const int* widths = nullptr;
  std::size_t images = 0;
};

struct LabelStats {  // as cpu::ComponentStats
  std::int64_t area = 0, sum_x = 0, sum_y = 0;
  int min_x = 0, min_y = 0, max_x = -1, max_y = -1;
};

struct Labelled {
  std::vector<std::int32_t> labels;            // packed like the masks
  std::vector<std::size_t> first_label;        // images + 1: image i's labels are stats[first_label[i] .. first_label[i+1])
  std::vector<LabelStats> stats;               // label k of image i at stats[first_label[i] + k - 1]
};

// connectivity 4 or 8. Returns false with `error` set when a device call fails.
bool label_components(const PackedMasks& m, int connectivity, Labelled& out, std::string* error);

// Background regions not 4-connected to the image border become foreground (cpu::fill_holes).
bool fill_holes(const PackedMasks& m, std::vector<std::uint8_t>& out, std::string* error);

}  // namespace hemolens::cuda
