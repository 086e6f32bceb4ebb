// The GPU benchmark of scripts/gpu-check --bench (tests/gpu/bench.cu): every kernel family of
// cuda/ timed on a large batch of replicated sample images, kernel time from CUDA events and
// wall time around it, pinned against pageable copies, and the device-resident lane end to end
// with one lane and with two overlapping. In the host execution (CI) it runs the same code on a
// small batch, timed by the clock: that checks it runs, not how fast a GPU is.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "forest_score.hpp"

namespace hemolens::gpu_bench {

struct Images {  // packed RGB as ImageBatch
  std::vector<std::uint8_t> rgb;
  std::vector<std::size_t> offsets;
  std::vector<int> heights, widths;
};

struct Forest {  // a forest and rows to score, host arrays
  cuda::ForestArrays arrays;
  const float* x = nullptr;
  std::size_t rows = 0, cols = 0;
};

struct Line {
  std::string family;
  std::size_t items = 0;    // images (rows for the forest)
  double kernel_ms = 0;     // device time (events); the host execution: wall time
  double wall_ms = 0;       // host time around the same work, waiting included
  double bytes = 0;         // for copies: bytes moved
};

// `sample` replicated to `images` images; the lane runs `batches` batches of that size.
bool run(const Images& sample, std::size_t images, int batches, const Forest& forest, std::vector<Line>& out, std::string* error);

}  // namespace hemolens::gpu_bench
