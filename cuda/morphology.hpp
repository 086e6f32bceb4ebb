// Binary morphology with OpenCV's ellipse on the device, over a batch of masks of different
// sizes in one launch per pass (cuda/morphology.cu), mirroring src/cpu/morphology.hpp:
// outside an image, erosion sees ones and dilation zeros. Host-callable, no CUDA types.
// Not yet run on a GPU (issue 4).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "components.hpp"  // PackedMasks

namespace hemolens::cuda {

enum class Morph { kErode, kDilate, kOpen, kClose };

// `out` is packed like the masks. Returns false with `error` set when a device call fails.
bool morphology(const PackedMasks& m, Morph op, int radius, std::vector<std::uint8_t>& out, std::string* error);

}  // namespace hemolens::cuda
