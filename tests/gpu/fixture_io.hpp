// The files that carry CPU results to the GPU checks (header-only, standard C++ only, so the
// checks build on a GPU machine that has the CUDA toolkit and nothing else).
//
// A fixture file is a sequence of arrays, each: uint64 count, uint32 element size, then the
// raw little-endian elements. make_gpu_fixtures writes them from the CPU reference;
// gpu_checks reads them in the same order and compares the GPU's answers.
//   features.fix   uint64 {images, cols, sizeof(ImageAccumulators)}, the accumulators as bytes,
//                  the CPU feature rows (float, images x cols)
//   preprocess.fix uint64 byte offsets, int32 heights, int32 widths, uint8 packed RGB, double
//                  {bright fraction, target}, then the CPU's uint8 planes r, g, b, smoothed
//                  stain, smoothed green (packed like the images), int32 background (x 3),
//                  uint32 stain and green histograms (x 256)
//   components.fix uint64 pixel offsets, int32 heights, int32 widths, uint8 packed 0/1 masks,
//                  then for 4- and 8-connectivity: int32 labels (packed), uint64 labels per
//                  image, int64 stats per label (area, sum_x, sum_y, min_x, min_y, max_x,
//                  max_y); then uint8 the masks with holes filled
//   morphology.fix the masks as in components.fix, int32 pairs (operation: 0 erode, 1 dilate,
//                  2 open, 3 close; radius), then per pair the CPU's result (uint8, packed)
//   distance.fix   the masks as in components.fix, then the CPU's int32 chamfer distances
//   textures.fix   uint64 pixel offsets, int32 heights, int32 widths, uint8 grey, cell and
//                  nucleus planes (packed), then the CPU's uint32 GLCM (images x 3 x 4 x 1024),
//                  LBP and ring-2 LBP counts (images x 3 x 10)
//   histograms.fix uint64 pixel offsets, int32 heights, int32 widths, uint8 planes r, g, b,
//                  cell, nucleus, background (packed), then the CPU's uint32 histograms
//                  (images x 4 regions x features::kChannels x 256)
//   shape.fix      the masks as in components.fix, then the CPU's int64 values per mask (x 15):
//                  moments m00 m10 m01 m20 m11 m02 m30 m21 m12 m03, edges, min_x, max_x,
//                  min_y, max_y (cpu::measure_shape)
//   lane.fix       uint64 byte offsets, int32 heights, int32 widths, uint8 packed RGB (images of
//                  mixed sizes, segmented with the default cpu::SegmentParams), then the CPU's
//                  cpu::segment: uint8 cell, nucleus and background planes (packed like the
//                  images), int64 per image {stain threshold, green threshold, other nucleated,
//                  flags}; its cpu::measure, flattened (AccumulatorValues): int64 head (x 9),
//                  uint32 colour histograms, GLCM, LBP, ring-2 LBP, int64 shape (x 44), int64
//                  grey sums (x 22), double hull perimeters (x 2); uint32 stain and green
//                  histograms (x 256), uint64 {cols}, float feature rows (images x cols)
//   bench.fix      uint64 byte offsets, int32 heights, int32 widths, uint8 packed RGB of sample
//                  images (the benchmark replicates them)
//   forest_K.fix   int32 {max_depth}, uint64 {cols, rows}, double {c(psi)}, int32 roots,
//                  int32 feature, float threshold, int32 left, int32 right, float adjustment,
//                  float rows x cols, float CPU scores
#pragma once
#include <cstdint>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "features/accumulators.hpp"

namespace hemolens::gpu_fixture {

template <typename T>
void write_array(std::ofstream& out, const std::vector<T>& v) {
  const std::uint64_t n = v.size();
  const std::uint32_t size = sizeof(T);
  out.write(reinterpret_cast<const char*>(&n), sizeof n);
  out.write(reinterpret_cast<const char*>(&size), sizeof size);
  out.write(reinterpret_cast<const char*>(v.data()), std::streamsize(n * sizeof(T)));
  if (!out) throw std::runtime_error("cannot write a fixture array");
}

template <typename T>
std::vector<T> read_array(std::ifstream& in, const std::string& what) {
  std::uint64_t n = 0;
  std::uint32_t size = 0;
  in.read(reinterpret_cast<char*>(&n), sizeof n);
  in.read(reinterpret_cast<char*>(&size), sizeof size);
  if (!in || size != sizeof(T) || n > (std::uint64_t(1) << 34) / sizeof(T))
    throw std::runtime_error("fixture: " + what + " is missing or of another element size (remake the fixtures)");
  std::vector<T> v(n);
  in.read(reinterpret_cast<char*>(v.data()), std::streamsize(n * sizeof(T)));
  if (!in) throw std::runtime_error("fixture: " + what + " is truncated");
  return v;
}

// The 32-bit words of an array of std::uint32_t (an accumulator's histogram), appended to v.
template <typename A>
void append_words(std::vector<std::uint32_t>& v, const A& array) {
  const auto* p = reinterpret_cast<const std::uint32_t*>(&array);
  v.insert(v.end(), p, p + sizeof array / sizeof(std::uint32_t));
}

// The 15 integers of a shape accumulator that shape.fix holds: moments m00 m10 m01
// m20 m11 m02 m30 m21 m12 m03, edges, min_x, max_x, min_y, max_y.
inline void append_shape_values(std::vector<std::int64_t>& v, const features::ShapeAccumulator& s) {
  const features::MaskMoments& m = s.moments;
  v.insert(v.end(), {m.m00, m.m10, m.m01, m.m20, m.m11, m.m02, m.m30, m.m21, m.m12, m.m03, s.edges, s.min_x, s.max_x, s.min_y, s.max_y});
}

// Every field of one image's accumulators, flattened in groups: what lane.fix holds and what
// the parity tests compare, exactly (the hull perimeter too: integer vertices, sqrt and sums in
// the same order on both sides).
struct AccumulatorValues {
  std::vector<std::int64_t> head;  // height, width, background R G B, stain and green thresholds, other nucleated, flags
  std::vector<std::uint32_t> hist, glcm, lbp, lbp2;
  // per region (cell, nucleus): the 15 values of append_shape_values, then hull_area2,
  // components, lobes, distance_sum, distance_max and the eroded lobes
  std::vector<std::int64_t> shape;
  // closing sums over the cell, closing and opening sums over the cytoplasm (0..4 each), the
  // cytoplasm's pixels, the Laplacian's sums, squares and counts (image, cell)
  std::vector<std::int64_t> grey;
  std::vector<double> hull_perimeter;  // cell, nucleus
};
inline constexpr std::size_t kHeadValues = 9, kShapeValues = 2 * (15 + 5 + features::kErosions),
                             kGreyValues = 3 * (features::kGranularitySizes + 1) + 1 + 6;
inline void append_accumulator_values(AccumulatorValues& v, const features::ImageAccumulators& a) {
  v.head.insert(v.head.end(), {a.height, a.width, a.background_rgb[0], a.background_rgb[1], a.background_rgb[2], a.stain_threshold, a.green_threshold,
                               a.other_nucleated, std::int64_t(a.flags)});
  append_words(v.hist, a.hist);
  append_words(v.glcm, a.glcm);
  append_words(v.lbp, a.lbp);
  append_words(v.lbp2, a.lbp2);
  for (const auto& s : a.shape) {
    append_shape_values(v.shape, s);
    v.shape.insert(v.shape.end(), {s.hull_area2, s.components, s.lobes, s.distance_sum, s.distance_max});
    v.shape.insert(v.shape.end(), std::begin(s.eroded_lobes), std::end(s.eroded_lobes));
    v.hull_perimeter.push_back(s.hull_perimeter);
  }
  for (const auto* sums : {&a.closing_sum, &a.cyto_closing_sum, &a.cyto_opening_sum}) v.grey.insert(v.grey.end(), std::begin(*sums), std::end(*sums));
  v.grey.push_back(a.cyto_pixels);
  for (const auto* sums : {&a.laplacian_sum, &a.laplacian_sq, &a.laplacian_n}) v.grey.insert(v.grey.end(), std::begin(*sums), std::end(*sums));
}

}  // namespace hemolens::gpu_fixture
