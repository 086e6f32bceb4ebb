// Batched segmentation preprocessing (cuda/preprocess.hpp). Work is cut into tiles of up to
// kTile pixels of one image; a table of (image, first pixel) per tile lets one launch cover
// a whole batch of images of different sizes, each block knowing its image's size and
// offset. Every formula is the CPU reference's, in the same integer arithmetic.
#include <cuda_runtime.h>

#include <algorithm>
#include <string>
#include <tuple>

#include "packed_layout.cuh"
#include "preprocess.hpp"

namespace hemolens::cuda {
namespace {

constexpr int kTile = 4096;    // pixels per block
constexpr int kThreads = 256;  // threads per block
constexpr int kLevels = 766;   // R + G + B in 0..765

struct Images {
  const std::size_t* pixel_offset;  // first pixel of image i in the packed planes
  const int* height;
  const int* width;
  const int* tile_image;  // image of each tile
  const int* tile_start;  // first pixel of each tile, within its image
};

__device__ int reflect101(int i, int n) {  // as src/cpu/filters.cpp
  if (n == 1) return 0;
  while (i < 0 || i >= n) i = i < 0 ? -i : 2 * n - 2 - i;
  return i;
}

// Calls f(image, pixel index within the image, y, x) for the pixels of this block's tile.
template <class F>
__device__ void for_tile(const Images& im, F&& f) {
  const int i = im.tile_image[blockIdx.x];
  const int w = im.width[i], n = im.height[i] * w;
  const int end = min(im.tile_start[blockIdx.x] + kTile, n);
  for (int p = im.tile_start[blockIdx.x] + int(threadIdx.x); p < end; p += blockDim.x) f(i, p, p / w, p % w);
}

// Per image and brightness level: pixel count and channel sums (white balance, step 1).
__global__ void brightness_kernel(Images im, const std::uint8_t* rgb, unsigned* count, unsigned long long* sums) {
  __shared__ unsigned c[kLevels];
  __shared__ unsigned long long s[kLevels * 3];
  for (int k = threadIdx.x; k < kLevels; k += blockDim.x) c[k] = 0;
  for (int k = threadIdx.x; k < kLevels * 3; k += blockDim.x) s[k] = 0;
  __syncthreads();
  for_tile(im, [&](int i, int p, int, int) {
    const std::uint8_t* q = rgb + 3 * (im.pixel_offset[i] + std::size_t(p));
    const int level = q[0] + q[1] + q[2];
    atomicAdd(&c[level], 1u);
    for (int ch = 0; ch < 3; ++ch) atomicAdd(&s[level * 3 + ch], (unsigned long long)q[ch]);
  });
  __syncthreads();
  const int i = im.tile_image[blockIdx.x];
  for (int k = threadIdx.x; k < kLevels; k += blockDim.x)
    if (c[k]) atomicAdd(&count[std::size_t(i) * kLevels + k], c[k]);
  for (int k = threadIdx.x; k < kLevels * 3; k += blockDim.x)
    if (s[k]) atomicAdd(&sums[std::size_t(i) * kLevels * 3 + k], s[k]);
}

// One thread per image: the background colour of the brightest fraction and the gains
// (white balance, step 2; the loop of src/cpu/color.cpp).
__global__ void gains_kernel(std::size_t images, const int* height, const int* width, const unsigned* count, const unsigned long long* sums,
                             double bright_fraction, int target, int* background, int* gain) {
  const std::size_t i = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x;
  if (i >= images) return;
  const double want = bright_fraction * double(std::size_t(height[i]) * std::size_t(width[i]));
  long long sum[3] = {0, 0, 0}, above = 0;
  for (int t = kLevels - 1; t >= 0; --t) {
    above += count[i * kLevels + t];
    for (int c = 0; c < 3; ++c) sum[c] += (long long)sums[(i * kLevels + t) * 3 + c];
    if (double(above) >= want) break;
  }
  for (int c = 0; c < 3; ++c) {
    const int bg = above ? int((sum[c] + above / 2) / above) : 255;
    background[i * 3 + c] = bg;
    gain[i * 3 + c] = (target * 256 + max(bg, 1) / 2) / max(bg, 1);
  }
}

// Balanced R, G, B and the stain channel max(B - G, 0).
__global__ void balance_kernel(Images im, const std::uint8_t* rgb, const int* gain, std::uint8_t* r, std::uint8_t* g, std::uint8_t* b,
                               std::uint8_t* stain) {
  for_tile(im, [&](int i, int p, int, int) {
    const std::size_t at = im.pixel_offset[i] + std::size_t(p);
    const std::uint8_t* q = rgb + 3 * at;
    const int* k = gain + 3 * i;
    const int vr = min(255, (q[0] * k[0] + 128) >> 8), vg = min(255, (q[1] * k[1] + 128) >> 8), vb = min(255, (q[2] * k[2] + 128) >> 8);
    r[at] = std::uint8_t(vr);
    g[at] = std::uint8_t(vg);
    b[at] = std::uint8_t(vb);
    stain[at] = std::uint8_t(vb > vg ? vb - vg : 0);
  });
}

__constant__ unsigned kBinomial5[5] = {16, 64, 96, 64, 16};  // sums to 256: 8 fractional bits

// Gaussian 5x5, horizontal pass: 8 fractional bits kept in 16 bits.
__global__ void gaussian_h_kernel(Images im, const std::uint8_t* in, std::uint16_t* tmp) {
  for_tile(im, [&](int i, int p, int y, int x) {
    const int w = im.width[i];
    const std::uint8_t* row = in + im.pixel_offset[i] + std::size_t(y) * w;
    unsigned acc = 0;
    for (int j = 0; j < 5; ++j) acc += row[reflect101(x + j - 2, w)] * kBinomial5[j];
    tmp[im.pixel_offset[i] + std::size_t(p)] = std::uint16_t(acc);
  });
}

// Vertical pass: 16 fractional bits, rounded half up.
__global__ void gaussian_v_kernel(Images im, const std::uint16_t* tmp, std::uint8_t* out) {
  for_tile(im, [&](int i, int p, int y, int x) {
    const int w = im.width[i], h = im.height[i];
    const std::uint16_t* col = tmp + im.pixel_offset[i] + std::size_t(x);
    unsigned acc = 0;
    for (int j = 0; j < 5; ++j) acc += unsigned(col[std::size_t(reflect101(y + j - 2, h)) * w]) * kBinomial5[j];
    out[im.pixel_offset[i] + std::size_t(p)] = std::uint8_t((acc + (1u << 15)) >> 16);
  });
}

// Median of the 3x3 window, borders replicated: the 5th of the 9 values.
__global__ void median3_kernel(Images im, const std::uint8_t* in, std::uint8_t* out) {
  for_tile(im, [&](int i, int p, int y, int x) {
    const int w = im.width[i], h = im.height[i];
    const std::uint8_t* base = in + im.pixel_offset[i];
    std::uint8_t v[9];
    int k = 0;
    for (int dy = -1; dy <= 1; ++dy)
      for (int dx = -1; dx <= 1; ++dx) v[k++] = base[std::size_t(min(max(y + dy, 0), h - 1)) * w + min(max(x + dx, 0), w - 1)];
    for (int a = 0; a <= 4; ++a)  // partial selection sort: v[4] ends as the median
      for (int b = a + 1; b < 9; ++b)
        if (v[b] < v[a]) {
          const std::uint8_t t = v[a];
          v[a] = v[b];
          v[b] = t;
        }
    out[im.pixel_offset[i] + std::size_t(p)] = v[4];
  });
}

// 256-bin histogram per image.
__global__ void histogram_kernel(Images im, const std::uint8_t* plane, unsigned* hist) {
  __shared__ unsigned h[256];
  for (int k = threadIdx.x; k < 256; k += blockDim.x) h[k] = 0;
  __syncthreads();
  for_tile(im, [&](int i, int p, int, int) { atomicAdd(&h[plane[im.pixel_offset[i] + std::size_t(p)]], 1u); });
  __syncthreads();
  const int i = im.tile_image[blockIdx.x];
  for (int k = threadIdx.x; k < 256; k += blockDim.x)
    if (h[k]) atomicAdd(&hist[std::size_t(i) * 256 + k], h[k]);
}

}  // namespace

bool preprocess(const PackedBatch& batch, double bright_fraction, int balance_target, Preprocessed& out, std::string* error) {
  const std::size_t n = batch.images;
  std::vector<std::size_t> pixel_offset(n);
  std::vector<int> tile_image, tile_start;
  std::size_t pixels = 0;
  for (std::size_t i = 0; i < n; ++i) {
    pixel_offset[i] = batch.offsets[i] / 3;
    const int count = batch.heights[i] * batch.widths[i];
    pixels = std::max(pixels, pixel_offset[i] + std::size_t(count));
    for (int s = 0; s < count; s += kTile) {
      tile_image.push_back(int(i));
      tile_start.push_back(s);
    }
  }
  out = Preprocessed{};
  if (n == 0) return true;
  DeviceArena d;
  cudaError_t& err = d.err;
  auto* rgb = d.alloc<std::uint8_t>(pixels * 3);
  auto* off = d.alloc<std::size_t>(n);
  auto* hh = d.alloc<int>(n);
  auto* ww = d.alloc<int>(n);
  auto* ti = d.alloc<int>(tile_image.size());
  auto* ts = d.alloc<int>(tile_start.size());
  auto* count = d.alloc<unsigned>(n * kLevels);
  auto* sums = d.alloc<unsigned long long>(n * kLevels * 3);
  auto* background = d.alloc<int>(n * 3);
  auto* gain = d.alloc<int>(n * 3);
  auto* r = d.alloc<std::uint8_t>(pixels);
  auto* g = d.alloc<std::uint8_t>(pixels);
  auto* b = d.alloc<std::uint8_t>(pixels);
  auto* stain = d.alloc<std::uint8_t>(pixels);
  auto* blurred = d.alloc<std::uint8_t>(pixels);
  auto* tmp = d.alloc<std::uint16_t>(pixels);
  auto* smooth_stain = d.alloc<std::uint8_t>(pixels);
  auto* smooth_green = d.alloc<std::uint8_t>(pixels);
  auto* hist = d.alloc<unsigned>(n * 512);
  const auto up = [&](void* dst, const void* src, std::size_t bytes) { d.up(dst, src, bytes); };
  up(rgb, batch.rgb, pixels * 3);
  up(off, pixel_offset.data(), n * sizeof(std::size_t));
  up(hh, batch.heights, n * sizeof(int));
  up(ww, batch.widths, n * sizeof(int));
  up(ti, tile_image.data(), tile_image.size() * sizeof(int));
  up(ts, tile_start.data(), tile_start.size() * sizeof(int));
  if (err == cudaSuccess) err = cudaMemset(count, 0, n * kLevels * sizeof(unsigned));
  if (err == cudaSuccess) err = cudaMemset(sums, 0, n * kLevels * 3 * sizeof(unsigned long long));
  if (err == cudaSuccess) err = cudaMemset(hist, 0, n * 512 * sizeof(unsigned));
  const unsigned tiles = unsigned(tile_image.size());
  const Images im{off, hh, ww, ti, ts};
  if (err == cudaSuccess && tiles > 0) {
    brightness_kernel<<<tiles, kThreads>>>(im, rgb, count, sums);
    gains_kernel<<<unsigned((n + 127) / 128), 128>>>(n, hh, ww, count, sums, bright_fraction, balance_target, background, gain);
    balance_kernel<<<tiles, kThreads>>>(im, rgb, gain, r, g, b, stain);
    for (const auto& [plane, smooth, h] : {std::tuple{stain, smooth_stain, hist}, std::tuple{g, smooth_green, hist + n * 256}}) {
      gaussian_h_kernel<<<tiles, kThreads>>>(im, plane, tmp);
      gaussian_v_kernel<<<tiles, kThreads>>>(im, tmp, blurred);
      median3_kernel<<<tiles, kThreads>>>(im, blurred, smooth);
      histogram_kernel<<<tiles, kThreads>>>(im, smooth, h);
    }
    err = cudaGetLastError();
  }
  out.r.resize(pixels);
  out.g.resize(pixels);
  out.b.resize(pixels);
  out.stain.resize(pixels);
  out.green.resize(pixels);
  out.background.resize(n * 3);
  std::vector<unsigned> both(n * 512);
  const auto down = [&](void* dst, const void* src, std::size_t bytes) { d.down(dst, src, bytes); };
  down(out.r.data(), r, pixels);
  down(out.g.data(), g, pixels);
  down(out.b.data(), b, pixels);
  down(out.stain.data(), smooth_stain, pixels);
  down(out.green.data(), smooth_green, pixels);
  down(out.background.data(), background, n * 3 * sizeof(int));
  down(both.data(), hist, n * 512 * sizeof(unsigned));
  out.stain_hist.assign(both.begin(), both.begin() + std::ptrdiff_t(n * 256));
  out.green_hist.assign(both.begin() + std::ptrdiff_t(n * 256), both.end());
  if (err != cudaSuccess && error) *error = cudaGetErrorString(err);
  return err == cudaSuccess;
}

}  // namespace hemolens::cuda
