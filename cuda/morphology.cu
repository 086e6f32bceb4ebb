// Batched binary morphology (cuda/morphology.hpp): one thread per pixel tests the ellipse's
// rows directly (the CPU reference reaches the same answer through run lengths per row).
#include <cuda_runtime.h>

#include <string>

#include "cpu/ellipse.hpp"
#include "morphology.hpp"
#include "packed_layout.cuh"

namespace hemolens::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kMaxRadius = 31;
__constant__ int kHalf[2 * kMaxRadius + 1];  // ellipse half-width per row offset

// Erosion: 1 when every in-image pixel under the ellipse is 1. Dilation is erosion of the
// complement, complemented (the complement's outside is ones, so dilation's is zeros).
__global__ void erode_kernel(Layout l, const std::uint8_t* in, int radius, bool dilate, std::uint8_t* out) {
  const std::size_t p = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x;
  if (p >= l.pixels) return;
  const PixelAt at = pixel_at(l, p);
  const int h = l.height[at.image], w = l.width[at.image];
  const std::uint8_t* img = in + l.offset[at.image];
  bool all = true;
  for (int dy = -radius; dy <= radius && all; ++dy) {
    const int y = at.y + dy;
    if (y < 0 || y >= h) continue;
    const int a = kHalf[dy + radius];
    for (int x = max(at.x - a, 0); x <= min(at.x + a, w - 1) && all; ++x) all = (img[std::size_t(y) * w + x] != 0) != dilate;
  }
  out[p] = std::uint8_t(all != dilate);
}

}  // namespace

bool morphology(const PackedMasks& m, Morph op, int radius, std::vector<std::uint8_t>& out, std::string* error) {
  if (radius < 0 || radius > kMaxRadius) {
    if (error) *error = "morphology radius must be in 0.." + std::to_string(kMaxRadius);
    return false;
  }
  DeviceArena d;
  const Layout l = upload_layout(d, m.offsets, m.heights, m.widths, m.images);
  auto* a = d.alloc<std::uint8_t>(l.pixels);
  auto* b = d.alloc<std::uint8_t>(l.pixels);
  d.up(a, m.mask, l.pixels);
  const std::vector<int> half = cpu::ellipse_half_widths(radius);
  if (d.err == cudaSuccess) d.err = cudaMemcpyToSymbol(kHalf, half.data(), half.size() * sizeof(int));
  // The passes, in order: erode/dilate alone, or open (erode, dilate), close (dilate, erode).
  const bool first_dilates = op == Morph::kDilate || op == Morph::kClose;
  const bool two = op == Morph::kOpen || op == Morph::kClose;
  std::uint8_t* result = b;
  if (d.err == cudaSuccess && l.pixels) {
    erode_kernel<<<blocks_for(l.pixels, kThreads), kThreads>>>(l, a, radius, first_dilates, b);
    if (two) {
      erode_kernel<<<blocks_for(l.pixels, kThreads), kThreads>>>(l, b, radius, !first_dilates, a);
      result = a;
    }
    d.err = cudaGetLastError();
  }
  out.resize(l.pixels);
  d.down(out.data(), result, l.pixels);
  if (d.err != cudaSuccess && error) *error = cudaGetErrorString(d.err);
  return d.err == cudaSuccess;
}

}  // namespace hemolens::cuda
