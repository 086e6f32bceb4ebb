// Binary morphology with OpenCV's ellipse over a batch of masks of different sizes, one launch
// per pass for the whole batch (cuda/morphology.cu), mirroring src/cpu/morphology.hpp: outside
// an image, erosion sees ones and dilation zeros. Host-callable, no CUDA types.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "components.hpp"  // PackedMasks
#include "exec.hpp"

HEMOLENS_CUDA_BEGIN

enum class Morph { kErode, kDilate, kOpen, kClose };

// `out` is packed like the masks. Returns false with `error` set when the radius is outside
// 0..31, the input is refused or a device call fails.
bool morphology(const PackedMasks& m, Morph op, int radius, std::vector<std::uint8_t>& out, std::string* error, Path path = Path::kFast);

HEMOLENS_CUDA_END
