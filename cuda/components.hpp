// Connected-component labelling and hole filling over a batch of masks of different sizes,
// one launch per stage for the whole batch (cuda/components.cu), mirroring
// src/cpu/components.hpp: labels 1..n in the raster order of each component's first pixel
// (0 background), with per-label area, coordinate sums and bounding box.
// Union-find with atomicMin linking (Playne and Hawick 2018; cuda/union_find.cuh says why it
// is correct under any interleaving): a root is always its component's smallest pixel index,
// its first pixel in raster order, so a scan of the roots gives the CPU's canonical labels.
// Host-callable, no CUDA types in the API; runs on the GPU, and on the host in the host
// execution (cuda/exec.hpp).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "exec.hpp"

HEMOLENS_CUDA_BEGIN

// 0/1 masks packed back to back; image i starts at pixel offsets[i]. Gaps between images are
// allowed (nothing reads them; outputs hold 0 there); overlapping images are refused.
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

// connectivity 4 or 8. capacity: the most labels the batch may have (0: as many as pixels, which
// always suffices). Returns false with `error` set when the input is refused, the capacity is
// exceeded or a device call fails (the error names the stage).
bool label_components(const PackedMasks& m, int connectivity, Labelled& out, std::string* error, Path path = Path::kFast,
                      std::size_t capacity = 0);

// Background regions not 4-connected to the image border become foreground (cpu::fill_holes).
bool fill_holes(const PackedMasks& m, std::vector<std::uint8_t>& out, std::string* error, Path path = Path::kFast);

HEMOLENS_CUDA_END
