#include "hemolens/image.hpp"

namespace hemolens {

void ImageBatch::add(const std::uint8_t* rgb, int h, int w, std::size_t entry) {
  const std::size_t bytes = std::size_t(h) * std::size_t(w) * 3;
  offsets.push_back(pixels.size());
  pixels.insert(pixels.end(), rgb, rgb + bytes);  // one copy: no zero fill first
  heights.push_back(h);
  widths.push_back(w);
  entry_index.push_back(entry);
}

void ImageBatch::clear() {
  pixels.clear();  // keeps capacity: a batch buffer is reused without reallocating
  offsets.clear();
  heights.clear();
  widths.clear();
  entry_index.clear();
}

}  // namespace hemolens
