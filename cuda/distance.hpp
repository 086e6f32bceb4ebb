// Chamfer (3-4) distance to the nearest set pixel over a batch of masks of different sizes
// (cuda/distance.cu), equal to cpu::chamfer_distance: 3 units a pixel step, 4 a diagonal step,
// paths inside the image; 1 << 28 where a mask is empty. Host-callable.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "components.hpp"  // PackedMasks
#include "exec.hpp"

HEMOLENS_CUDA_BEGIN

bool chamfer_distance(const PackedMasks& m, std::vector<std::int32_t>& out, std::string* error);

HEMOLENS_CUDA_END
