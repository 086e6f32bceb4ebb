// Batched GLCM and LBP counts (cuda/textures.hpp). One thread per pixel of the batch counts
// the pairs that start at its pixel (one way, as the CPU does) and its LBP codes; a second
// pass symmetrises the co-occurrence counts: c(i,j) + c(j,i).
#include <cuda_runtime.h>

#include <string>

#include "features/accumulators.hpp"
#include "features/shape.hpp"
#include "packed_layout.cuh"
#include "textures.hpp"

namespace hemolens::cuda {
namespace {

using features::kGlcmDistances;
using features::kGlcmLevels;
using features::kLbpBins;
constexpr int kThreads = 256;
constexpr int kCells = kGlcmLevels * kGlcmLevels;
constexpr int kGlcmPerImage = features::kTextureRegions * kGlcmDistances * kCells;
constexpr int kLbpPerImage = features::kTextureRegions * kLbpBins;

__global__ void count_kernel(Layout l, const std::uint8_t* grey, const std::uint8_t* cell, const std::uint8_t* nucleus, unsigned* one_way,
                             unsigned* lbp, unsigned* lbp2) {
  const std::size_t p = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x;
  if (p >= l.pixels || !cell[p]) return;
  const PixelAt at = pixel_at(l, p);
  const int h = l.height[at.image], w = l.width[at.image];
  const std::size_t base = l.offset[at.image];
  const bool nuc = nucleus[p] != 0;
  const int a = grey[p] >> features::kGlcmShift;
  unsigned* glcm = one_way + std::size_t(at.image) * kGlcmPerImage;
  for (int di = 0; di < kGlcmDistances; ++di) {
    const int d = features::glcm_distance(di);
    const int ox[4] = {d, d, 0, -d}, oy[4] = {0, d, d, d};  // (d,0), (d,d), (0,d), (-d,d)
    for (int k = 0; k < 4; ++k) {
      const int x = at.x + ox[k], y = at.y + oy[k];
      if (x < 0 || x >= w || y >= h) continue;
      const std::size_t q = base + std::size_t(y) * w + std::size_t(x);
      if (!cell[q]) continue;
      const int ij = a * kGlcmLevels + (grey[q] >> features::kGlcmShift);
      const bool nuc_q = nucleus[q] != 0;
      atomicAdd(&glcm[(features::kCell * kGlcmDistances + di) * kCells + ij], 1u);
      if (nuc && nuc_q) atomicAdd(&glcm[(features::kNucleus * kGlcmDistances + di) * kCells + ij], 1u);
      else if (!nuc && !nuc_q) atomicAdd(&glcm[(features::kCytoplasm * kGlcmDistances + di) * kCells + ij], 1u);
    }
  }
  const int dx[8] = {1, 1, 0, -1, -1, -1, 0, 1}, dy[8] = {0, -1, -1, -1, 0, 1, 1, 1};
  for (int r = 1; r <= 2; ++r) {
    if (at.y < r || at.x < r || at.y > h - 1 - r || at.x > w - 1 - r) continue;
    const int c = grey[p];
    unsigned pattern = 0;
    for (int k = 0; k < 8; ++k) pattern |= unsigned(grey[base + std::size_t(at.y + r * dy[k]) * w + std::size_t(at.x + r * dx[k])] >= c) << k;
    const int b = features::lbp_riu2(pattern);
    unsigned* bins = (r == 1 ? lbp : lbp2) + std::size_t(at.image) * kLbpPerImage;
    atomicAdd(&bins[features::kCell * kLbpBins + b], 1u);
    atomicAdd(&bins[(nuc ? features::kNucleus : features::kCytoplasm) * kLbpBins + b], 1u);
  }
}

__global__ void symmetrise_kernel(std::size_t n, const unsigned* one_way, unsigned* glcm) {
  const std::size_t k = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x;
  if (k >= n) return;
  const std::size_t cell = k % kCells, matrix = k - cell;
  const int i = int(cell) / kGlcmLevels, j = int(cell) % kGlcmLevels;
  glcm[k] = one_way[k] + one_way[matrix + std::size_t(j) * kGlcmLevels + std::size_t(i)];
}

}  // namespace

bool texture_counts(const PackedMasks& planes, const std::uint8_t* grey, const std::uint8_t* cell, const std::uint8_t* nucleus,
                    TextureCounts& out, std::string* error) {
  DeviceArena d;
  const Layout l = upload_layout(d, planes.offsets, planes.heights, planes.widths, planes.images);
  const std::size_t n = planes.images, glcm_n = n * kGlcmPerImage, lbp_n = n * kLbpPerImage;
  auto* g = d.alloc<std::uint8_t>(l.pixels);
  auto* c = d.alloc<std::uint8_t>(l.pixels);
  auto* nu = d.alloc<std::uint8_t>(l.pixels);
  auto* one_way = d.alloc<unsigned>(glcm_n);
  auto* glcm = d.alloc<unsigned>(glcm_n);
  auto* lbp = d.alloc<unsigned>(lbp_n);
  auto* lbp2 = d.alloc<unsigned>(lbp_n);
  d.up(g, grey, l.pixels);
  d.up(c, cell, l.pixels);
  d.up(nu, nucleus, l.pixels);
  for (auto [ptr, count] : {std::pair{one_way, glcm_n}, std::pair{lbp, lbp_n}, std::pair{lbp2, lbp_n}})
    if (d.err == cudaSuccess) d.err = cudaMemset(ptr, 0, std::max<std::size_t>(count, 1) * sizeof(unsigned));
  if (d.err == cudaSuccess && l.pixels) {
    count_kernel<<<blocks_for(l.pixels, kThreads), kThreads>>>(l, g, c, nu, one_way, lbp, lbp2);
    symmetrise_kernel<<<blocks_for(glcm_n, kThreads), kThreads>>>(glcm_n, one_way, glcm);
    d.err = cudaGetLastError();
  }
  out.glcm.resize(glcm_n);
  out.lbp.resize(lbp_n);
  out.lbp2.resize(lbp_n);
  d.down(out.glcm.data(), glcm, glcm_n * sizeof(unsigned));
  d.down(out.lbp.data(), lbp, lbp_n * sizeof(unsigned));
  d.down(out.lbp2.data(), lbp2, lbp_n * sizeof(unsigned));
  if (d.err != cudaSuccess && error) *error = cudaGetErrorString(d.err);
  return d.err == cudaSuccess;
}

}  // namespace hemolens::cuda
