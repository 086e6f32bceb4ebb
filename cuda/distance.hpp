// Chamfer (3-4) distance to the nearest set pixel on the device, over a batch of masks of
// different sizes (cuda/distance.cu), equal to cpu::chamfer_distance: 3 units a pixel step,
// 4 a diagonal step, paths inside the image; 1 << 28 where a mask is empty. Host-callable.
// Not yet run on a GPU (issue 4).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "components.hpp"  // PackedMasks

namespace hemolens::cuda {

bool chamfer_distance(const PackedMasks& m, std::vector<std::int32_t>& out, std::string* error);

}  // namespace hemolens::cuda
