// Batches for the host-execution tests of cuda/ (tests/cuda): planes of mixed sizes packed the
// way cuda/ takes them (optionally with gaps between images), and the mask sets the parity
// tests run: masks of sample images, the edge cases and random masks (tests/gpu/cases.hpp).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "components.hpp"  // cuda::PackedMasks
#include "cpu/segment.hpp"
#include "gpu/cases.hpp"  // edge_masks, random_masks
#include "hemolens/image.hpp"

namespace hemolens::test {

// Planes packed back to back; `gap` pixels of `gap_fill` before every image but the first.
struct Packed {
  std::vector<std::size_t> offsets;
  std::vector<int> heights, widths;
  std::vector<std::uint8_t> data;
  std::size_t extent() const { return data.size(); }
  cuda::PackedMasks view() const { return {data.data(), offsets.data(), heights.data(), widths.data(), offsets.size()}; }
};
Packed pack(const std::vector<Plane8>& planes, std::size_t gap = 0, std::uint8_t gap_fill = 0);
// Another plane of each image packed into the same layout (gaps filled with gap_fill).
std::vector<std::uint8_t> pack_like(const Packed& layout, const std::vector<Plane8>& planes, std::uint8_t gap_fill = 0);

// Image i's part of a packed per-pixel result.
template <class T>
std::vector<T> slice(const Packed& p, const std::vector<T>& packed, std::size_t i) {
  const auto b = packed.begin() + std::ptrdiff_t(p.offsets[i]);
  return std::vector<T>(b, b + std::ptrdiff_t(std::size_t(p.heights[i]) * std::size_t(p.widths[i])));
}

using gpu_fixture::NamedMask;
using gpu_fixture::edge_masks;
using gpu_fixture::random_masks;

// Stained-object and dark masks of sample images (scattered objects touching the border).
std::vector<NamedMask> sample_masks(std::size_t images);
// The CPU segmentation of a few sample images (cell, nucleus, background and balanced colour).
std::vector<cpu::Segmentation> sample_segmentations(std::size_t images);

std::vector<Plane8> masks_of(const std::vector<NamedMask>& named);

}  // namespace hemolens::test
