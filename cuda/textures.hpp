// Texture counts over a batch of segmented images of different sizes in one
// launch (cuda/textures.cu), mirroring cpu::accumulate_textures (src/cpu/measure.cpp): GLCM
// of the 32-level balanced green at distances 1, 2, 4, 8 in the four directions, counted for
// pixel pairs inside the cell, the nucleus and the cytoplasm and symmetrised; uniform
// rotation-invariant LBP on the rings at distance 1 and 2. The counts fill the same
// ImageAccumulators fields, so the shared formulas turn them into features. Host-callable.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "components.hpp"  // PackedMasks: the layout of the planes
#include "exec.hpp"

HEMOLENS_CUDA_BEGIN

struct TextureCounts {
  std::vector<std::uint32_t> glcm;  // images x 3 regions x 4 distances x 32 x 32
  std::vector<std::uint32_t> lbp;   // images x 3 regions x 10 bins (ring 1)
  std::vector<std::uint32_t> lbp2;  // images x 3 regions x 10 bins (ring 2)
};

// grey, cell and nucleus are packed like planes.mask (which is not read).
bool texture_counts(const PackedMasks& planes, const std::uint8_t* grey, const std::uint8_t* cell, const std::uint8_t* nucleus,
                    TextureCounts& out, std::string* error, Path path = Path::kFast);

HEMOLENS_CUDA_END
