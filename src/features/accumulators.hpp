// What a backend measures per image: exact integer accumulators (histograms, co-occurrence
// counts, moments, edge counts). Both backends fill this same struct; the feature formulas
// (feature_row.hpp) turn it into one row. Integers make CPU/GPU parity exact up to the
// final floating-point formulas.
#pragma once
#include <cstdint>

#include "features/hd.hpp"

namespace hemolens::features {

enum Region : int { kCell = 0, kNucleus = 1, kCytoplasm = 2, kBackground = 3 };
inline constexpr int kRegions = 4;
inline constexpr int kShapeRegions = 2;    // cell, nucleus
inline constexpr int kTextureRegions = 3;  // cell, nucleus, cytoplasm (the Region order)

// RGB after white balance, HSV, and the opponent channels red-green and yellow-blue
// (features/pixel_channels.hpp).
enum Channel : int { kR = 0, kG = 1, kB = 2, kH = 3, kS = 4, kV = 5, kRG = 6, kYB = 7 };
inline constexpr int kChannels = 8;
inline constexpr int kHueBins = 180;  // H is 0..179 (2 degrees a step), as in OpenCV's 8-bit HSV

inline constexpr int kGlcmLevels = 32;  // grey levels after quantisation (g >> 3)
inline constexpr int kGlcmShift = 3;
inline constexpr int kGlcmDistances = 4;
HL_HD constexpr int glcm_distance(int i) { return 1 << i; }  // 1, 2, 4, 8 pixels

inline constexpr int kLbpBins = 10;  // uniform rotation-invariant LBP, P = 8: 0..8 and "other"
inline constexpr int kGranularitySizes = 4;  // closings with squares of side 3, 5, 7, 9
inline constexpr int kErosions = 2;          // lobes counted after eroding by 2 and 4 pixels
HL_HD constexpr int erosion_depth(int i) { return 2 + 2 * i; }

struct MaskMoments {
  // Raw moments sum x^p y^q over mask pixels (x = column, y = row), exact in 64 bits for any
  // image up to 25 Mpx.
  std::int64_t m00 = 0, m10 = 0, m01 = 0, m20 = 0, m11 = 0, m02 = 0, m30 = 0, m21 = 0, m12 = 0, m03 = 0;
};

struct ShapeAccumulator {
  MaskMoments moments;
  std::int64_t edges = 0;        // pixel edges between the mask and the rest (4-neighbourhood)
  std::int64_t hull_area2 = 0;   // twice the area of the convex hull of the mask's pixel squares
  std::int32_t min_x = 0, max_x = -1, min_y = 0, max_y = -1;  // bounding box (inclusive)
  std::int32_t components = 0;   // 8-connected components
  std::int32_t lobes = 0;        // components holding at least 5 % of the area
  double hull_perimeter = 0;     // perimeter of that convex hull (from integer vertices)
  std::int64_t distance_sum = 0; // chamfer (3-4) distance to the outside, summed over the mask
  std::int32_t distance_max = 0; // and its maximum; 3 units = one pixel step
  // Lobes left after eroding the mask by erosion_depth(i) pixels (chamfer distance above 3 x depth):
  // thin bridges between the lobes of a segmented nucleus break, a band or kidney stays whole.
  std::int32_t eroded_lobes[kErosions] = {};
};

struct ImageAccumulators {
  std::int32_t height = 0, width = 0;
  std::int32_t background_rgb[3] = {0, 0, 0};  // raw background colour before white balance
  std::int32_t stain_threshold = 0, green_threshold = 0;
  std::int32_t other_nucleated = 0;  // large nucleated objects outside the target cell
  std::uint32_t flags = 0;           // QualityFlag bits

  std::uint32_t hist[kRegions][kChannels][256] = {};
  ShapeAccumulator shape[kShapeRegions];
  std::uint32_t glcm[kTextureRegions][kGlcmDistances][kGlcmLevels * kGlcmLevels] = {};
  std::uint32_t lbp[kTextureRegions][kLbpBins] = {};
  std::uint32_t lbp2[kTextureRegions][kLbpBins] = {};  // the same code on the ring at distance 2
  std::int64_t closing_sum[kGranularitySizes + 1] = {};  // sum of grey closings over the cell, size 0..4
  std::int64_t cyto_closing_sum[kGranularitySizes + 1] = {};  // the same closings summed over the cytoplasm
  std::int64_t cyto_opening_sum[kGranularitySizes + 1] = {};  // grey openings summed over the cytoplasm
  std::int64_t cyto_pixels = 0;
  std::int64_t laplacian_sum[2] = {}, laplacian_sq[2] = {}, laplacian_n[2] = {};  // image, cell
};

}  // namespace hemolens::features
