// Images and batches as they travel from decode to a backend.
//
// Pixels are 8-bit interleaved RGB (not BGR: decode converts once, so every later
// stage reads R, G, B in that order). A batch packs images of different sizes into one
// buffer with per-image offsets: nothing is resized, and a GPU backend can upload the
// whole batch in one copy.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace hemolens {

// A non-owning view of one RGB image.
struct RgbView {
  const std::uint8_t* data = nullptr;  // row-major, 3 bytes per pixel, rows packed
  int height = 0;
  int width = 0;
  std::size_t pixels() const { return std::size_t(height) * std::size_t(width); }
};

// An owning single-channel plane; the CPU kernels read and write these.
template <class T>
struct Plane {
  int height = 0;
  int width = 0;
  std::vector<T> data;

  Plane() = default;
  Plane(int h, int w, T fill = T{}) : height(h), width(w), data(std::size_t(h) * std::size_t(w), fill) {}
  T& at(int y, int x) { return data[std::size_t(y) * std::size_t(width) + std::size_t(x)]; }
  const T& at(int y, int x) const { return data[std::size_t(y) * std::size_t(width) + std::size_t(x)]; }
  std::size_t size() const { return data.size(); }
};
using Plane8 = Plane<std::uint8_t>;
using Plane32 = Plane<std::int32_t>;

// Images of one batch, packed back to back.
struct ImageBatch {
  std::vector<std::uint8_t> pixels;      // all images, RGB, packed
  std::vector<std::size_t> offsets;      // byte offset of image i in `pixels`
  std::vector<int> heights, widths;
  std::vector<std::size_t> entry_index;  // index of the image in the dataset's entry list

  std::size_t size() const { return offsets.size(); }
  RgbView view(std::size_t i) const { return {pixels.data() + offsets[i], heights[i], widths[i]}; }
  void add(const std::uint8_t* rgb, int h, int w, std::size_t entry);
  void clear();
};

}  // namespace hemolens
