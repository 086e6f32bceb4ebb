// Where each pixel of a packed batch belongs. Images of different sizes lie back to back in
// planes of one byte (or one int) per pixel; image i's pixel (y, x) is plane[offset + y * w + x].
// Work is issued per image row: a row table (the image of each row of the batch) gives a row's
// image, its y and its first pixel with one lookup and no division, and pixels between images
// (gaps) belong to no row, so no kernel reads or counts them. Indices into the batch are 64-bit;
// within an image they are 32-bit (union-find parents, labels), which plan_layout guards.
// Included by .cu files only.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "exec.hpp"
#include "features/hd.hpp"

HEMOLENS_CUDA_BEGIN

constexpr int kTileRows = 32;  // rows per tile: the unit of a privatised histogram block

struct ImageInfo {
  std::uint64_t offset;      // first pixel in the planes
  std::uint64_t first_row;   // first row in the batch's row table
  std::uint64_t first_tile;  // first tile in the batch's tile table
  std::int32_t height, width;
};

struct Pixel {
  std::uint64_t p;  // index in the batch's planes
  std::uint32_t image;
  std::int32_t y, x, width, height;
  // The pixel dy rows and dx columns away (the caller keeps it inside the image).
  HL_HD std::uint64_t at(int dy, int dx) const { return p + std::uint64_t(std::int64_t(dy) * width + dx); }
  HL_HD std::uint64_t start() const { return p - std::uint64_t(std::int64_t(y) * width + x); }  // the image's first pixel
  HL_HD std::int32_t local() const { return y * width + x; }  // index within the image (< 2^31)
};

struct Row {
  std::uint64_t start;  // the row's first pixel
  std::uint32_t image;
  std::int32_t y, width, height;
  HL_HD Pixel pixel(int x) const { return {start + std::uint64_t(x), image, y, x, width, height}; }
};

// Device tables of a batch (made by the layout stage, cuda/stages.cuh).
struct Layout {
  const ImageInfo* image = nullptr;
  std::size_t images = 0;
  const std::uint32_t* row_image = nullptr;  // image of each row
  std::size_t rows = 0;
  const std::uint64_t* tile_row = nullptr;  // first row of each tile; a tile lies in one image
  std::size_t tiles = 0;
  std::size_t extent = 0;  // plane length: one past the last pixel of any image
  std::int32_t max_width = 0;
  // The most 8-connected components the batch's masks can have: a component holds every set
  // pixel of an aligned 2 x 2 block it touches, so an image has at most ceil(h/2) x ceil(w/2).
  // What the label statistics of the segmentation and measurement stages reserve.
  std::size_t max_labels = 0;

  HL_HD Row row(std::size_t r) const {
    const std::uint32_t i = row_image[r];
    const ImageInfo& m = image[i];
    const std::int32_t y = std::int32_t(r - m.first_row);
    return {m.offset + std::uint64_t(y) * std::uint64_t(m.width), i, y, m.width, m.height};
  }
};

// Per-image records at a fixed byte stride: a packed array (stride sizeof(T) x count), or one
// field of each ImageAccumulators of an array (stride sizeof(ImageAccumulators)).
template <class T>
struct PerImage {
  unsigned char* base = nullptr;
  std::size_t stride = 0;  // bytes
  HL_HD T* operator[](std::size_t i) const { return reinterpret_cast<T*>(base + i * stride); }
};
template <class T>
PerImage<T> packed(T* p, std::size_t per_image) {
  return {reinterpret_cast<unsigned char*>(p), per_image * sizeof(T)};
}
template <class T>
PerImage<T> strided(T* first, std::size_t stride_bytes) {
  return {reinterpret_cast<unsigned char*>(first), stride_bytes};
}

// The host's half: image table and sizes of the tables, from the images' offsets and sizes.
struct LayoutPlan {
  std::vector<ImageInfo> images;
  std::size_t rows = 0, tiles = 0, extent = 0, max_labels = 0;
  std::int32_t max_width = 0;
};

// Refuses, with a clear message, negative sizes, an image of 2^31 pixels or more (its indices
// are 32-bit) and images that overlap; gaps between images are allowed and ignored.
bool plan_layout(const std::size_t* offsets, const std::int32_t* heights, const std::int32_t* widths, std::size_t images, LayoutPlan& plan,
                 std::string* error);

HEMOLENS_CUDA_END
