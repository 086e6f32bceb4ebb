// Feature rows: the shared formulas (src/features/feature_row.hpp) over a batch of
// accumulators, one image per item. Host-callable, no CUDA types in the API.
#pragma once
#include <cstddef>
#include <string>

#include "exec.hpp"
#include "features/accumulators.hpp"

HEMOLENS_CUDA_BEGIN

// Uploads n accumulators, runs one thread per image, downloads n x cols floats.
// Returns the number of columns, or -1 with `error` set when the device call fails.
int compute_rows(const features::ImageAccumulators* acc, std::size_t n, float* rows, std::size_t cols, std::string* error);

HEMOLENS_CUDA_END
