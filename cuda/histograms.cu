// Batched colour histograms per region (cuda/histograms.hpp): one thread per pixel, counts
// into the image's histograms with atomics.
#include <cuda_runtime.h>

#include <string>

#include "features/accumulators.hpp"
#include "features/pixel_channels.hpp"
#include "histograms.hpp"
#include "packed_layout.cuh"

namespace hemolens::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kPerImage = features::kRegions * features::kChannels * 256;

struct Planes {
  const std::uint8_t *r, *g, *b, *cell, *nucleus, *background;
};

__global__ void histogram_kernel(Layout l, Planes p, unsigned* hist) {
  const std::size_t i = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x;
  if (i >= l.pixels) return;
  const PixelAt at = pixel_at(l, i);
  const bool cell = p.cell[i] != 0, nucleus = p.nucleus[i] != 0;
  const bool background = p.background[i] && ((at.x | at.y) & 1) == 0;
  if (!cell && !background) return;
  const bool in[features::kRegions] = {cell, nucleus, cell && !nucleus, background};
  std::uint8_t value[features::kChannels];
  features::pixel_channels(p.r[i], p.g[i], p.b[i], value);
  unsigned* out = hist + std::size_t(at.image) * kPerImage;
  for (int k = 0; k < features::kRegions; ++k)
    if (in[k])
      for (int c = 0; c < features::kChannels; ++c) atomicAdd(&out[(k * features::kChannels + c) * 256 + value[c]], 1u);
}

}  // namespace

bool colour_histograms(const PackedMasks& layout, const RegionPlanes& planes, std::vector<std::uint32_t>& out, std::string* error) {
  DeviceArena a;
  const Layout l = upload_layout(a, layout.offsets, layout.heights, layout.widths, layout.images);
  const std::uint8_t* host[6] = {planes.r, planes.g, planes.b, planes.cell, planes.nucleus, planes.background};
  std::uint8_t* dev[6];
  for (int k = 0; k < 6; ++k) {
    dev[k] = a.alloc<std::uint8_t>(l.pixels);
    a.up(dev[k], host[k], l.pixels);
  }
  const std::size_t n = layout.images * kPerImage;
  auto* hist = a.alloc<unsigned>(n);
  if (a.err == cudaSuccess) a.err = cudaMemset(hist, 0, std::max<std::size_t>(n, 1) * sizeof(unsigned));
  if (a.err == cudaSuccess && l.pixels) {
    histogram_kernel<<<blocks_for(l.pixels, kThreads), kThreads>>>(l, Planes{dev[0], dev[1], dev[2], dev[3], dev[4], dev[5]}, hist);
    a.err = cudaGetLastError();
  }
  out.resize(n);
  a.down(out.data(), hist, n * sizeof(unsigned));
  if (a.err != cudaSuccess && error) *error = cudaGetErrorString(a.err);
  return a.err == cudaSuccess;
}

}  // namespace hemolens::cuda
