// Batched chamfer distance (cuda/distance.hpp) by relaxation: every pixel takes the smallest
// of its own value and its 8 neighbours' plus the step, until nothing changes. The fixed
// point is the shortest 3-4 path length, which is what the CPU's two raster passes compute
// (exact for the 3x3 chamfer mask in a rectangle). Relaxing in place only speeds it up:
// values only decrease and never below the fixed point.
#include <cuda_runtime.h>

#include <string>

#include "distance.hpp"
#include "packed_layout.cuh"

namespace hemolens::cuda {
namespace {

constexpr int kThreads = 256;
constexpr std::int32_t kFar = 1 << 28;

__global__ void init_kernel(Layout l, const std::uint8_t* mask, std::int32_t* d) {
  const std::size_t p = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x;
  if (p < l.pixels) d[p] = mask[p] ? 0 : kFar;
}

__global__ void relax_kernel(Layout l, std::int32_t* d, int* changed) {
  const std::size_t p = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x;
  if (p >= l.pixels) return;
  const PixelAt at = pixel_at(l, p);
  const int h = l.height[at.image], w = l.width[at.image];
  const std::int32_t* img = d + l.offset[at.image];
  std::int32_t best = d[p];
  for (int dy = -1; dy <= 1; ++dy)
    for (int dx = -1; dx <= 1; ++dx) {
      const int y = at.y + dy, x = at.x + dx;
      if ((dy == 0 && dx == 0) || y < 0 || y >= h || x < 0 || x >= w) continue;
      best = min(best, img[std::size_t(y) * w + x] + (dy != 0 && dx != 0 ? 4 : 3));
    }
  if (best < d[p]) {
    d[p] = best;
    *changed = 1;
  }
}

}  // namespace

bool chamfer_distance(const PackedMasks& m, std::vector<std::int32_t>& out, std::string* error) {
  DeviceArena a;
  const Layout l = upload_layout(a, m.offsets, m.heights, m.widths, m.images);
  auto* mask = a.alloc<std::uint8_t>(l.pixels);
  auto* d = a.alloc<std::int32_t>(l.pixels);
  auto* changed = a.alloc<int>(1);
  a.up(mask, m.mask, l.pixels);
  if (a.err == cudaSuccess && l.pixels) {
    init_kernel<<<blocks_for(l.pixels, kThreads), kThreads>>>(l, mask, d);
    for (int host_changed = 1; host_changed && a.err == cudaSuccess;) {
      a.err = cudaMemset(changed, 0, sizeof(int));
      relax_kernel<<<blocks_for(l.pixels, kThreads), kThreads>>>(l, d, changed);
      if (a.err == cudaSuccess) a.err = cudaGetLastError();
      a.down(&host_changed, changed, sizeof(int));
    }
  }
  out.resize(l.pixels);
  a.down(out.data(), d, l.pixels * sizeof(std::int32_t));
  if (a.err != cudaSuccess && error) *error = cudaGetErrorString(a.err);
  return a.err == cudaSuccess;
}

}  // namespace hemolens::cuda
