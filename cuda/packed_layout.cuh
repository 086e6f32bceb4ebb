// Where each pixel of a packed batch belongs (device side, shared by the batched kernels):
// images of different sizes lie back to back; a kernel runs one thread per pixel of the
// whole batch and finds its image, row and column here. Included by .cu files only.
#pragma once
#include <cuda_runtime.h>

#include <algorithm>
#include <cstddef>
#include <vector>

namespace hemolens::cuda {

struct Layout {
  const std::size_t* offset;  // first pixel of each image
  const int* height;
  const int* width;
  const int* image_of;        // image of each pixel
  std::size_t pixels;
};

struct PixelAt {
  int image, y, x;
};

__device__ inline PixelAt pixel_at(const Layout& l, std::size_t p) {
  const int i = l.image_of[p];
  const std::size_t local = p - l.offset[i];
  const int w = l.width[i];
  return {i, int(local / std::size_t(w)), int(local % std::size_t(w))};
}

// Device memory freed with the owner; the first failing call is kept in `err` and every
// later call is skipped, so a function checks once at the end.
struct DeviceArena {
  cudaError_t err = cudaSuccess;
  std::vector<void*> owned;
  template <class T>
  T* alloc(std::size_t n) {
    void* p = nullptr;
    if (err == cudaSuccess) err = cudaMalloc(&p, std::max<std::size_t>(n, 1) * sizeof(T));
    if (p) owned.push_back(p);
    return static_cast<T*>(p);
  }
  void up(void* dst, const void* src, std::size_t bytes) {
    if (err == cudaSuccess && bytes) err = cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice);
  }
  void down(void* dst, const void* src, std::size_t bytes) {
    if (err == cudaSuccess && bytes) err = cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost);
  }
  ~DeviceArena() {
    for (void* p : owned) cudaFree(p);
  }
};

// Uploads the layout tables of images at pixel `offsets` with the given sizes.
inline Layout upload_layout(DeviceArena& a, const std::size_t* offsets, const int* heights, const int* widths, std::size_t images) {
  std::size_t pixels = 0;
  for (std::size_t i = 0; i < images; ++i) pixels = std::max(pixels, offsets[i] + std::size_t(heights[i]) * std::size_t(widths[i]));
  std::vector<int> image_of(pixels, 0);
  for (std::size_t i = 0; i < images; ++i)
    std::fill_n(image_of.begin() + std::ptrdiff_t(offsets[i]), std::size_t(heights[i]) * std::size_t(widths[i]), int(i));
  auto* off = a.alloc<std::size_t>(images);
  auto* hh = a.alloc<int>(images);
  auto* ww = a.alloc<int>(images);
  auto* img = a.alloc<int>(pixels);
  a.up(off, offsets, images * sizeof(std::size_t));
  a.up(hh, heights, images * sizeof(int));
  a.up(ww, widths, images * sizeof(int));
  a.up(img, image_of.data(), pixels * sizeof(int));
  return {off, hh, ww, img, pixels};
}

inline unsigned blocks_for(std::size_t n, int threads) { return unsigned((n + std::size_t(threads) - 1) / std::size_t(threads)); }

}  // namespace hemolens::cuda
