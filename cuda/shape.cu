// Batched shape moments (cuda/shape.hpp): one thread per pixel of the whole batch, each set
// pixel giving its moment terms, its boundary edges and its position for the box. A warp
// whose set pixels all lie in one image (nearly every warp: the images are thousands of
// pixels, so only a warp across an image boundary differs) reduces them with shuffles and
// one lane adds the totals with atomics; a warp across images adds lane by lane. Integer
// sums, minima and maxima do not depend on the order, so the result equals the CPU's.
#include <cuda_runtime.h>

#include <climits>
#include <string>

#include "packed_layout.cuh"
#include "shape.hpp"

namespace hemolens::cuda {
namespace {

constexpr int kThreads = 256;  // a multiple of 32: every warp is full, as the shuffles need
constexpr unsigned kFullWarp = 0xffffffffu;
constexpr int kSums = 11;  // m00, m10, m01, m20, m11, m02, m30, m21, m12, m03, edges

// Per image. The sums are unsigned only because 64-bit atomicAdd is; every term is
// non-negative and the totals stay below 2^63, so they read back as the CPU's int64.
struct DeviceShape {
  unsigned long long sum[kSums];
  int min_x, max_x, min_y, max_y;
};

__device__ unsigned long long warp_sum(unsigned long long v) {
  for (int d = 16; d > 0; d /= 2) v += __shfl_xor_sync(kFullWarp, v, d);
  return v;
}
__device__ int warp_min(int v) {
  for (int d = 16; d > 0; d /= 2) v = min(v, __shfl_xor_sync(kFullWarp, v, d));
  return v;
}
__device__ int warp_max(int v) {
  for (int d = 16; d > 0; d /= 2) v = max(v, __shfl_xor_sync(kFullWarp, v, d));
  return v;
}

__device__ void add_to(DeviceShape& s, const unsigned long long* sum, int min_x, int max_x, int min_y, int max_y) {
  for (int k = 0; k < kSums; ++k) atomicAdd(&s.sum[k], sum[k]);
  atomicMin(&s.min_x, min_x);
  atomicMax(&s.max_x, max_x);
  atomicMin(&s.min_y, min_y);
  atomicMax(&s.max_y, max_y);
}

__global__ void shape_kernel(Layout l, const std::uint8_t* mask, DeviceShape* shapes) {
  const std::size_t p = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x;
  // No early return per thread: every lane of the warp takes part in the shuffles below.
  const bool in = p < l.pixels && mask[p] != 0;
  const unsigned set = __ballot_sync(kFullWarp, in);
  if (set == 0) return;  // the same for the whole warp
  PixelAt at{-1, 0, 0};
  unsigned long long s[kSums] = {};
  if (in) {
    at = pixel_at(l, p);
    const int h = l.height[at.image], w = l.width[at.image];
    const std::uint8_t* row = mask + l.offset[at.image] + std::size_t(at.y) * std::size_t(w);
    // As cpu boundary_edges: a side is an edge where the neighbour is outside the mask or
    // outside the image.
    const int edges = (at.x == 0 || !row[at.x - 1]) + (at.x == w - 1 || !row[at.x + 1]) + (at.y == 0 || !row[at.x - std::ptrdiff_t(w)]) +
                      (at.y == h - 1 || !row[at.x + std::ptrdiff_t(w)]);
    const unsigned long long x = unsigned(at.x), y = unsigned(at.y);
    const unsigned long long terms[kSums] = {1, x, y, x * x, x * y, y * y, x * x * x, x * x * y, x * y * y, y * y * y, unsigned(edges)};
    for (int k = 0; k < kSums; ++k) s[k] = terms[k];
  }
  const int image = __shfl_sync(kFullWarp, at.image, __ffs(set) - 1);
  if (__all_sync(kFullWarp, !in || at.image == image)) {
    // Lanes outside the mask add zeros and the identities of min and max.
    for (int k = 0; k < kSums; ++k) s[k] = warp_sum(s[k]);
    const int min_x = warp_min(in ? at.x : INT_MAX), max_x = warp_max(in ? at.x : -1);
    const int min_y = warp_min(in ? at.y : INT_MAX), max_y = warp_max(in ? at.y : -1);
    if (threadIdx.x % 32 == 0) add_to(shapes[image], s, min_x, max_x, min_y, max_y);
  } else if (in) {
    add_to(shapes[at.image], s, at.x, at.x, at.y, at.y);
  }
}

}  // namespace

bool shape_moments(const PackedMasks& m, std::vector<features::ShapeAccumulator>& out, std::string* error) {
  DeviceArena a;
  const Layout l = upload_layout(a, m.offsets, m.heights, m.widths, m.images);
  auto* mask = a.alloc<std::uint8_t>(l.pixels);
  a.up(mask, m.mask, l.pixels);
  DeviceShape none{};  // minima start above any coordinate, maxima below
  none.min_x = none.min_y = INT_MAX;
  none.max_x = none.max_y = -1;
  std::vector<DeviceShape> host(m.images, none);
  auto* shapes = a.alloc<DeviceShape>(m.images);
  a.up(shapes, host.data(), host.size() * sizeof(DeviceShape));
  if (a.err == cudaSuccess && l.pixels) {
    shape_kernel<<<blocks_for(l.pixels, kThreads), kThreads>>>(l, mask, shapes);
    a.err = cudaGetLastError();
  }
  a.down(host.data(), shapes, host.size() * sizeof(DeviceShape));
  out.assign(m.images, features::ShapeAccumulator{});
  if (a.err != cudaSuccess) {
    if (error) *error = cudaGetErrorString(a.err);
    return false;
  }
  for (std::size_t i = 0; i < m.images; ++i) {
    const DeviceShape& d = host[i];
    if (d.sum[0] == 0) continue;  // empty: the defaults, as the CPU (box min 0, max -1)
    features::ShapeAccumulator& o = out[i];
    auto v = [&](int k) { return std::int64_t(d.sum[k]); };
    o.moments = {v(0), v(1), v(2), v(3), v(4), v(5), v(6), v(7), v(8), v(9)};
    o.edges = v(10);
    o.min_x = d.min_x;
    o.max_x = d.max_x;
    o.min_y = d.min_y;
    o.max_y = d.max_y;
  }
  return true;
}

}  // namespace hemolens::cuda
