// Shape measurements over a batch of masks of different sizes (cuda/shape.cu), equal to the
// integer parts of cpu::measure_shape that need no more than one pass over the pixels: the raw
// moments (cpu::mask_moments), the 4-neighbour boundary edge count (the image border counts as
// outside) and the inclusive bounding box (min 0, max -1 for an empty mask, as
// ShapeAccumulator's defaults). The convex hull, chamfer thickness, components and lobes are
// not computed here. Host-callable.
#pragma once
#include <string>
#include <vector>

#include "components.hpp"  // PackedMasks
#include "exec.hpp"
#include "features/accumulators.hpp"

HEMOLENS_CUDA_BEGIN

// out: one accumulator per mask with moments, edges, min_x, max_x, min_y and max_y set and
// every other field at its default. Returns false with `error` set when a device call fails.
bool shape_moments(const PackedMasks& m, std::vector<features::ShapeAccumulator>& out, std::string* error);

HEMOLENS_CUDA_END
