// Measurement (CPU reference): masks and balanced pixels -> ImageAccumulators.
// Each function fills one kind of accumulator; cuda/measure.cu mirrors them one to one.
#pragma once
#include <cstdint>

#include "cpu/segment.hpp"
#include "features/accumulators.hpp"
#include "hemolens/image.hpp"

namespace hemolens::cpu {

// Bounding box of the set pixels (inclusive); empty() when there are none.
struct Box {
  int x0, y0, x1, y1;
  bool empty() const { return x1 < x0; }
  int width() const { return x1 - x0 + 1; }
  int height() const { return y1 - y0 + 1; }
};
Box mask_box(const Plane8& mask);

// Raw moments (x = column, y = row) of the pixels where mask != 0 (inside `box`).
features::MaskMoments mask_moments(const Plane8& mask);
features::MaskMoments mask_moments(const Plane8& mask, const Box& box);

// Moments, edge count, bounding box, convex hull, components and lobes of a mask.
void measure_shape(const Plane8& mask, features::ShapeAccumulator& out);

// Symmetric co-occurrence counts of `levels` grey levels (values of `grey` must be below
// `levels`) for pixel pairs at offsets (d,0), (d,d), (0,d), (-d,d), both inside `region`;
// each pair adds (i,j) and (j,i). counts: levels x levels, added to (not cleared).
void accumulate_glcm(const Plane8& grey, const Plane8& region, int distance, int levels, std::uint32_t* counts);
void accumulate_glcm(const Plane8& grey, const Plane8& region, const Box& box, int distance, int levels, std::uint32_t* counts);

// Uniform rotation-invariant LBP (P=8, R=1) histogram of `grey` over `region`, pixels one
// away from the border only. bins: 10, added to.
void accumulate_lbp(const Plane8& grey, const Plane8& region, std::uint32_t* bins);
// With the region's bounding box, on the ring at chessboard distance r (1 or 2).
void accumulate_lbp(const Plane8& grey, const Plane8& region, const Box& box, int r, std::uint32_t* bins);

// The texture accumulators of the cell, the nucleus and the cytoplasm (= cell minus nucleus;
// the nucleus lies inside the cell) in one pass over the cell's box, GLCM levels taken as
// grey >> kGlcmShift: the same counts as accumulate_glcm / accumulate_lbp per region, which
// stay as the plain reference this is tested against.
void accumulate_textures(const Plane8& grey, const Plane8& cell, const Plane8& nucleus, const Box& cell_box,
                         features::ImageAccumulators& acc);

// Histograms of R, G, B, H, S, V per region (cell, nucleus, cytoplasm, background; the
// background sampled on even rows and columns).
void colour_histograms(const Segmentation& seg, features::ImageAccumulators& acc);

// Everything for one segmented image.
void measure(const Segmentation& seg, features::ImageAccumulators& acc);

}  // namespace hemolens::cpu
