// Colour histograms per region over a batch of segmented images of different sizes in one
// launch (cuda/histograms.cu), equal to cpu::colour_histograms: R, G, B, H, S, V and the
// opponent channels (the shared pixel channels, src/features/pixel_channels.hpp) over the cell,
// nucleus, cytoplasm and the background sampled on even rows and columns. Host-callable.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "components.hpp"  // PackedMasks: the layout of the planes
#include "exec.hpp"

HEMOLENS_CUDA_BEGIN

struct RegionPlanes {
  const std::uint8_t *r, *g, *b;                  // white-balanced colour
  const std::uint8_t *cell, *nucleus, *background;  // 0/1 masks
};

// out: images x 4 regions x kChannels x 256 bins (ImageAccumulators::hist of each image).
bool colour_histograms(const PackedMasks& layout, const RegionPlanes& planes, std::vector<std::uint32_t>& out, std::string* error,
                       Path path = Path::kFast);

HEMOLENS_CUDA_END
