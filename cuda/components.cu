// Batched connected components (cuda/components.hpp). Pixel indices are global over the
// packed batch; images never touch because a pixel only links to neighbours inside its own
// image. Every stage is one launch over all pixels of the batch.
#include <cuda_runtime.h>

#include <cub/device/device_scan.cuh>

#include <algorithm>
#include <string>

#include "components.hpp"
#include "packed_layout.cuh"

namespace hemolens::cuda {
namespace {

constexpr int kThreads = 256;

__device__ int find_root(const int* parent, int x) {
  while (parent[x] != x) x = parent[x];
  return x;
}

// Links the trees of a and b; the larger root is hung under the smaller, so every root is the
// smallest index of its component. atomicMin makes concurrent links safe: when another
// thread changed a root meanwhile, the loop retries from what it found.
__device__ void unite(int* parent, int a, int b) {
  for (;;) {
    a = find_root(parent, a);
    b = find_root(parent, b);
    if (a == b) return;
    if (a < b) {
      const int t = a;
      a = b;
      b = t;
    }
    const int old = atomicMin(&parent[a], b);
    if (old == a) return;
  }
}

// parent = own index for set pixels (of the mask, or of its complement), -1 elsewhere.
__global__ void init_kernel(Layout l, const std::uint8_t* mask, bool invert, int* parent) {
  const std::size_t p = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x;
  if (p < l.pixels) parent[p] = (mask[p] != 0) != invert ? int(p) : -1;
}

__global__ void merge_kernel(Layout l, int connectivity, int* parent) {
  const std::size_t p = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x;
  if (p >= l.pixels || parent[p] < 0) return;
  const PixelAt at = pixel_at(l, p);
  const int i = at.image, y = at.y, x = at.x, w = l.width[i];
  auto link = [&](int dy, int dx) {
    const int yy = y + dy, xx = x + dx;
    if (yy < 0 || xx < 0 || xx >= w) return;
    const std::size_t q = l.offset[i] + std::size_t(yy) * w + std::size_t(xx);
    if (parent[q] >= 0) unite(parent, int(p), int(q));
  };
  link(0, -1);
  link(-1, 0);
  if (connectivity == 8) {
    link(-1, -1);
    link(-1, 1);
  }
}

// Every set pixel points at its root; is_root marks the roots for the scan.
__global__ void flatten_kernel(Layout l, int* parent, int* is_root) {
  const std::size_t p = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x;
  if (p >= l.pixels) return;
  if (parent[p] >= 0) parent[p] = find_root(parent, int(p));
  is_root[p] = parent[p] == int(p);
}

// Label k of image i = rank of its root among the image's roots, in raster order, + 1.
// rank: exclusive scan of is_root over the batch; image_base: the scan at the image's start.
__global__ void label_kernel(Layout l, const int* parent, const int* rank, int* labels) {
  const std::size_t p = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x;
  if (p >= l.pixels) return;
  const int i = l.image_of[p];
  labels[p] = parent[p] < 0 ? 0 : rank[parent[p]] - rank[l.offset[i]] + 1;
}

__global__ void stats_kernel(Layout l, const int* parent, const int* rank, LabelStats* stats) {
  const std::size_t p = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x;
  if (p >= l.pixels || parent[p] < 0) return;
  const PixelAt at = pixel_at(l, p);
  const int y = at.y, x = at.x;
  LabelStats& s = stats[rank[parent[p]]];  // the batch-wide rank: image i's labels follow image i-1's
  atomicAdd(reinterpret_cast<unsigned long long*>(&s.area), 1ull);
  atomicAdd(reinterpret_cast<unsigned long long*>(&s.sum_x), (unsigned long long)x);
  atomicAdd(reinterpret_cast<unsigned long long*>(&s.sum_y), (unsigned long long)y);
  atomicMin(&s.min_x, x);
  atomicMin(&s.min_y, y);
  atomicMax(&s.max_x, x);
  atomicMax(&s.max_y, y);
}

__global__ void stats_init_kernel(LabelStats* stats, std::size_t n) {
  const std::size_t k = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x;
  if (k < n) stats[k] = {0, 0, 0, 0x7fffffff, 0x7fffffff, -1, -1};
}

// Background components (4-connected) that reach the border stay background.
__global__ void border_kernel(Layout l, const int* parent, int* reaches_border) {
  const std::size_t p = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x;
  if (p >= l.pixels || parent[p] < 0) return;
  const PixelAt at = pixel_at(l, p);
  if (at.y == 0 || at.x == 0 || at.y == l.height[at.image] - 1 || at.x == l.width[at.image] - 1) reaches_border[parent[p]] = 1;
}

__global__ void fill_kernel(Layout l, const std::uint8_t* mask, const int* parent, const int* reaches_border, std::uint8_t* out) {
  const std::size_t p = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x;
  if (p < l.pixels) out[p] = mask[p] || !reaches_border[parent[p]];
}

unsigned blocks(std::size_t n) { return blocks_for(n, kThreads); }

// The batch on the device: masks, layout tables, union-find parents.
struct Device : DeviceArena {
  Layout layout{};
  std::uint8_t* mask = nullptr;
  int* parent = nullptr;

  // Uploads the masks and labels the set pixels (or, with invert, the unset ones).
  Device(const PackedMasks& m, int connectivity, bool invert) {
    layout = upload_layout(*this, m.offsets, m.heights, m.widths, m.images);
    const std::size_t pixels = layout.pixels;
    mask = alloc<std::uint8_t>(pixels);
    parent = alloc<int>(pixels);
    up(mask, m.mask, pixels);
    if (err == cudaSuccess && pixels) {
      init_kernel<<<blocks(pixels), kThreads>>>(layout, mask, invert, parent);
      merge_kernel<<<blocks(pixels), kThreads>>>(layout, connectivity, parent);
      err = cudaGetLastError();
    }
  }
};

}  // namespace

bool label_components(const PackedMasks& m, int connectivity, Labelled& out, std::string* error) {
  out = Labelled{};
  Device d(m, connectivity, false);
  const std::size_t pixels = d.layout.pixels;
  auto* is_root = d.alloc<int>(pixels + 1);
  auto* rank = d.alloc<int>(pixels + 1);
  auto* labels = d.alloc<int>(pixels);
  if (d.err == cudaSuccess && pixels) {
    flatten_kernel<<<blocks(pixels), kThreads>>>(d.layout, d.parent, is_root);
    d.err = cudaMemset(is_root + pixels, 0, sizeof(int));
  }
  // rank = exclusive scan of is_root (pixels + 1 entries: the last is the batch's label count).
  std::size_t scratch_bytes = 0;
  if (d.err == cudaSuccess) d.err = cub::DeviceScan::ExclusiveSum(nullptr, scratch_bytes, is_root, rank, int(pixels + 1));
  void* scratch = d.alloc<std::uint8_t>(scratch_bytes);
  if (d.err == cudaSuccess) d.err = cub::DeviceScan::ExclusiveSum(scratch, scratch_bytes, is_root, rank, int(pixels + 1));
  std::vector<int> rank_host(pixels + 1, 0);
  d.down(rank_host.data(), rank, (pixels + 1) * sizeof(int));
  const std::size_t total = std::size_t(rank_host[pixels]);
  auto* stats = d.alloc<LabelStats>(total);
  if (d.err == cudaSuccess && pixels) {
    label_kernel<<<blocks(pixels), kThreads>>>(d.layout, d.parent, rank, labels);
    stats_init_kernel<<<blocks(total), kThreads>>>(stats, total);
    stats_kernel<<<blocks(pixels), kThreads>>>(d.layout, d.parent, rank, stats);
    d.err = cudaGetLastError();
  }
  out.labels.resize(pixels);
  out.stats.resize(total);
  d.down(out.labels.data(), labels, pixels * sizeof(int));
  d.down(out.stats.data(), stats, total * sizeof(LabelStats));
  for (std::size_t i = 0; i < m.images; ++i) out.first_label.push_back(std::size_t(rank_host[m.offsets[i]]));
  out.first_label.push_back(total);
  if (d.err != cudaSuccess && error) *error = cudaGetErrorString(d.err);
  return d.err == cudaSuccess;
}

bool fill_holes(const PackedMasks& m, std::vector<std::uint8_t>& out, std::string* error) {
  Device d(m, 4, true);  // the background, 4-connected
  const std::size_t pixels = d.layout.pixels;
  auto* reaches = d.alloc<int>(pixels);
  auto* filled = d.alloc<std::uint8_t>(pixels);
  if (d.err == cudaSuccess) d.err = cudaMemset(reaches, 0, std::max<std::size_t>(pixels, 1) * sizeof(int));
  if (d.err == cudaSuccess && pixels) {
    int* is_root = d.alloc<int>(pixels);  // flatten's by-product, unused here
    flatten_kernel<<<blocks(pixels), kThreads>>>(d.layout, d.parent, is_root);
    border_kernel<<<blocks(pixels), kThreads>>>(d.layout, d.parent, reaches);
    fill_kernel<<<blocks(pixels), kThreads>>>(d.layout, d.mask, d.parent, reaches, filled);
    d.err = cudaGetLastError();
  }
  out.resize(pixels);
  d.down(out.data(), filled, pixels);
  if (d.err != cudaSuccess && error) *error = cudaGetErrorString(d.err);
  return d.err == cudaSuccess;
}

}  // namespace hemolens::cuda
