// The feature formulas: ImageAccumulators -> one row of the store, written once.
//
// emit_features() calls `out(tag, value)` for every feature in schema order. The host
// collects tags to build the schema (names, groups, descriptions: src/features/schema.cpp);
// both backends collect values to build rows. A new feature is one line here.
#pragma once
#include <cmath>

#include "features/accumulators.hpp"
#include "features/haralick.hpp"
#include "features/hd.hpp"
#include "features/histogram_stats.hpp"
#include "features/moments.hpp"
#include "features/shape.hpp"

namespace hemolens::features {

inline constexpr int kSchemaVersion = 3;

struct FeatureTag {
  const char* region;       // prefix of the name
  const char* name;         // stem
  int index;                // appended to the name when >= 0
  const char* group;        // shape, moments, colour, texture, quality
  const char* unit;
  const char* description;  // for docs/features.md and explanations
};

// Names come from switches over string literals: host arrays are not readable on the device.
HL_HD inline const char* region_name(int r) {
  switch (r) {
    case kCell: return "cell";
    case kNucleus: return "nucleus";
    case kCytoplasm: return "cytoplasm";
    default: return "background";
  }
}

// stat: 0 mean, 1 std, 2 p10, 3 p50, 4 p90; ch: any channel but kH.
HL_HD inline const char* colour_stem(int ch, int stat) {
  switch (ch * 8 + stat) {
    case kR * 8 + 0: return "r_mean"; case kR * 8 + 1: return "r_std"; case kR * 8 + 2: return "r_p10";
    case kR * 8 + 3: return "r_p50"; case kR * 8 + 4: return "r_p90";
    case kG * 8 + 0: return "g_mean"; case kG * 8 + 1: return "g_std"; case kG * 8 + 2: return "g_p10";
    case kG * 8 + 3: return "g_p50"; case kG * 8 + 4: return "g_p90";
    case kB * 8 + 0: return "b_mean"; case kB * 8 + 1: return "b_std"; case kB * 8 + 2: return "b_p10";
    case kB * 8 + 3: return "b_p50"; case kB * 8 + 4: return "b_p90";
    case kS * 8 + 0: return "s_mean"; case kS * 8 + 1: return "s_std"; case kS * 8 + 2: return "s_p10";
    case kS * 8 + 3: return "s_p50"; case kS * 8 + 4: return "s_p90";
    case kV * 8 + 0: return "v_mean"; case kV * 8 + 1: return "v_std"; case kV * 8 + 2: return "v_p10";
    case kV * 8 + 3: return "v_p50"; case kV * 8 + 4: return "v_p90";
    case kRG * 8 + 0: return "rg_mean"; case kRG * 8 + 1: return "rg_std"; case kRG * 8 + 2: return "rg_p10";
    case kRG * 8 + 3: return "rg_p50"; case kRG * 8 + 4: return "rg_p90";
    case kYB * 8 + 0: return "yb_mean"; case kYB * 8 + 1: return "yb_std"; case kYB * 8 + 2: return "yb_p10";
    case kYB * 8 + 3: return "yb_p50"; default: return "yb_p90";
  }
}

template <class Sink>
HL_HD void emit_shape(const ShapeAccumulator& s, const char* region, Sink& out) {
  const CentralMoments c = central_moments(s.moments);
  const Ellipse e = moment_ellipse(c);
  const double area = double(s.moments.m00);
  const double perimeter = perimeter_from_edges(s.edges);
  const double bbox = double(s.max_x - s.min_x + 1) * double(s.max_y - s.min_y + 1);
  out({region, "area", -1, "shape", "px", "pixels in the region"}, area);
  out({region, "perimeter", -1, "shape", "px", "boundary length: pixel edges x pi/4 (orientation-free estimate)"},
      perimeter);
  out({region, "circularity", -1, "shape", "", "4 pi area / perimeter^2 (1 for a disc)"},
      perimeter > 0 ? 4 * 3.14159265358979323846 * area / (perimeter * perimeter) : 0.0);
  out({region, "eccentricity", -1, "shape", "", "eccentricity of the ellipse with the same second moments"},
      e.eccentricity);
  out({region, "major_axis", -1, "shape", "px", "major axis of that ellipse"}, e.major);
  out({region, "minor_axis", -1, "shape", "px", "minor axis of that ellipse"}, e.minor);
  out({region, "solidity", -1, "shape", "", "area / area of the convex hull of the pixel squares"},
      s.hull_area2 > 0 ? 2 * area / double(s.hull_area2) : 0.0);
  out({region, "extent", -1, "shape", "", "area / bounding-box area"}, area > 0 ? area / bbox : 0.0);
  out({region, "equivalent_diameter", -1, "shape", "px", "diameter of the disc of the same area"},
      sqrt(4 * area / 3.14159265358979323846));
  out({region, "convexity", -1, "shape", "", "convex hull perimeter / perimeter (1 for convex shapes, lower when indented)"},
      perimeter > 0 ? s.hull_perimeter / perimeter : 0.0);
  const double mean_thickness = area > 0 ? 2.0 * double(s.distance_sum) / (3.0 * area) : 0.0;
  out({region, "thickness_mean", -1, "shape", "px", "mean of twice the distance to the outside (chamfer 3-4): how thick the shape is"},
      mean_thickness);
  out({region, "thickness_max", -1, "shape", "px", "largest inscribed diameter (twice the largest chamfer distance)"},
      2.0 * s.distance_max / 3.0);
  out({region, "thickness_ratio", -1, "shape", "", "mean thickness / equivalent diameter (low for thin, band-like shapes)"},
      area > 0 ? mean_thickness / sqrt(4 * area / 3.14159265358979323846) : 0.0);
  double hu[7];
  hu_moments(c, hu);
  for (int i = 0; i < 7; ++i)
    out({region, "hu", i + 1, "moments", "", "Hu invariant moment (1..7) of the mask, as -sign(h) log10|h|"},
        log_hu(hu[i]));
}

template <class Sink>
HL_HD void emit_colour(const ImageAccumulators& a, int region, Sink& out) {
  const char* rn = region_name(region);
  for (int ch = 0; ch < kChannels; ++ch) {
    const std::uint32_t* h = a.hist[region][ch];
    if (ch == kH) {
      const CircularStats c = hue_circular(h, kHueBins, 2.0);
      out({rn, "h_cos", -1, "colour", "", "cosine of the circular mean hue (HSV)"}, c.cos_mean);
      out({rn, "h_sin", -1, "colour", "", "sine of the circular mean hue (HSV)"}, c.sin_mean);
      out({rn, "h_concentration", -1, "colour", "", "mean resultant length of hue (1: one hue)"}, c.concentration);
      continue;
    }
    out({rn, colour_stem(ch, 0), -1, "colour", "0-255", "mean of the channel (RGB after white balance; HSV S, V; opponent red-green, yellow-blue)"},
        hist_mean(h, 256));
    out({rn, colour_stem(ch, 1), -1, "colour", "0-255", "standard deviation of the channel"}, hist_std(h, 256));
    out({rn, colour_stem(ch, 2), -1, "colour", "0-255", "10th percentile of the channel"}, hist_percentile(h, 256, 0.10));
    out({rn, colour_stem(ch, 3), -1, "colour", "0-255", "median of the channel"}, hist_percentile(h, 256, 0.50));
    out({rn, colour_stem(ch, 4), -1, "colour", "0-255", "90th percentile of the channel"}, hist_percentile(h, 256, 0.90));
  }
}

template <class Sink>
HL_HD void emit_texture(const ImageAccumulators& a, int region, Sink& out) {
  const char* rn = region_name(region);
  for (int d = 0; d < kGlcmDistances; ++d) {
    const Haralick f = haralick(a.glcm[region][d], kGlcmLevels);
    const int dist = glcm_distance(d);
    const char* g = "texture";
    out({rn, "glcm_contrast_d", dist, g, "", "GLCM contrast, sum (i-j)^2 p, at distance d, 4 directions"}, f.contrast);
    out({rn, "glcm_dissimilarity_d", dist, g, "", "GLCM dissimilarity, sum |i-j| p"}, f.dissimilarity);
    out({rn, "glcm_homogeneity_d", dist, g, "", "GLCM homogeneity, sum p / (1 + (i-j)^2)"}, f.homogeneity);
    out({rn, "glcm_energy_d", dist, g, "", "GLCM energy, sqrt(sum p^2)"}, f.energy);
    out({rn, "glcm_entropy_d", dist, g, "bits", "GLCM entropy, -sum p log2 p"}, f.entropy);
    out({rn, "glcm_correlation_d", dist, g, "", "GLCM correlation of the grey levels of pixel pairs"},
        f.correlation);
    out({rn, "glcm_max_probability_d", dist, g, "", "largest GLCM entry"}, f.max_probability);
  }
  double n = 0, n2 = 0;
  for (int b = 0; b < kLbpBins; ++b) {
    n += a.lbp[region][b];
    n2 += a.lbp2[region][b];
  }
  for (int b = 0; b < kLbpBins; ++b)
    out({rn, "lbp_riu2_", b, "texture", "", "share of pixels with uniform rotation-invariant LBP code b (P=8, R=1; 9: non-uniform)"},
        n > 0 ? a.lbp[region][b] / n : 0.0);
  for (int b = 0; b < kLbpBins; ++b)
    out({rn, "lbp2_riu2_", b, "texture", "", "the same LBP code on the 8 pixels at chessboard distance 2 (coarser texture)"},
        n2 > 0 ? a.lbp2[region][b] / n2 : 0.0);
}

template <class Sink>
HL_HD void emit_features(const ImageAccumulators& a, Sink& out) {
  // Shape and moments of the cell and the nucleus.
  emit_shape(a.shape[kCell], "cell", out);
  emit_shape(a.shape[kNucleus], "nucleus", out);
  const CentralMoments cell = central_moments(a.shape[kCell].moments);
  const CentralMoments nuc = central_moments(a.shape[kNucleus].moments);
  const double cell_d = sqrt(4 * cell.m00 / 3.14159265358979323846);
  out({"nucleus", "cell_area_ratio", -1, "shape", "", "nucleus area / cell area"},
      cell.m00 > 0 ? nuc.m00 / cell.m00 : 0.0);
  out({"nucleus", "lobes", -1, "shape", "count", "nucleus components holding at least 5 % of its area"},
      double(a.shape[kNucleus].lobes));
  for (int i = 0; i < kErosions; ++i)
    out({"nucleus", "eroded_lobes_", erosion_depth(i), "shape", "count",
         "nucleus lobes (components of at least 5 % of the area) left after eroding it by d pixels: thin bridges break"},
        double(a.shape[kNucleus].eroded_lobes[i]));
  out({"nucleus", "components", -1, "shape", "count", "8-connected components of the nucleus"},
      double(a.shape[kNucleus].components));
  out({"nucleus", "offset", -1, "shape", "", "distance nucleus centroid - cell centroid / cell equivalent diameter"},
      (nuc.m00 > 0 && cell_d > 0) ? sqrt((nuc.cx - cell.cx) * (nuc.cx - cell.cx) + (nuc.cy - cell.cy) * (nuc.cy - cell.cy)) / cell_d
                                  : 0.0);

  // Colour per region, and the contrast between nucleus and cytoplasm.
  for (int r = 0; r < kRegions; ++r) emit_colour(a, r, out);
  const bool has_cyto = hist_total(a.hist[kCytoplasm][kG], 256) > 0 && hist_total(a.hist[kNucleus][kG], 256) > 0;
  for (int ch : {int(kG), int(kB), int(kS)})
    out({"cytoplasm", ch == kG ? "nucleus_contrast_g" : ch == kB ? "nucleus_contrast_b" : "nucleus_contrast_s", -1, "colour", "0-255",
         "mean of the channel in the cytoplasm minus in the nucleus (how much paler the cytoplasm is)"},
        has_cyto ? hist_mean(a.hist[kCytoplasm][ch], 256) - hist_mean(a.hist[kNucleus][ch], 256) : 0.0);

  // Texture of the cell and the nucleus.
  for (int r = 0; r < kTextureRegions; ++r) emit_texture(a, r, out);
  const double cell_px = double(a.shape[kCell].moments.m00);
  for (int s = 1; s <= kGranularitySizes; ++s)
    out({"cell", "granularity_", 2 * s + 1, "texture", "0-255",
         "mean grey-level gain of the cell under a closing with a square of side k (dark granules of that size)"},
        cell_px > 0 ? double(a.closing_sum[s] - a.closing_sum[s - 1]) / cell_px : 0.0);

  const double cyto_px = double(a.cyto_pixels);
  for (int s = 1; s <= kGranularitySizes; ++s)
    out({"cytoplasm", "dark_granularity_", 2 * s + 1, "texture", "0-255",
         "mean grey-level gain of the cytoplasm under a closing with a square of side k (dark granules)"},
        cyto_px > 0 ? double(a.cyto_closing_sum[s] - a.cyto_closing_sum[s - 1]) / cyto_px : 0.0);
  for (int s = 1; s <= kGranularitySizes; ++s)
    out({"cytoplasm", "bright_granularity_", 2 * s + 1, "texture", "0-255",
         "mean grey-level loss of the cytoplasm under an opening with a square of side k (bright spots, vacuoles)"},
        cyto_px > 0 ? double(a.cyto_opening_sum[s - 1] - a.cyto_opening_sum[s]) / cyto_px : 0.0);

  // Image quality and acquisition.
  for (int i = 0; i < 2; ++i) {
    const double n = double(a.laplacian_n[i]);
    const double m = n > 0 ? a.laplacian_sum[i] / n : 0.0;
    out({i == 0 ? "image" : "cell", "laplacian_std", -1, "quality", "0-255",
         "standard deviation of the 4-neighbour Laplacian of green (focus: low when blurred)"},
        n > 0 ? sqrt(fmax(0.0, a.laplacian_sq[i] / n - m * m)) : 0.0);
  }
  for (int c = 0; c < 3; ++c)
    out({"image", c == 0 ? "background_raw_r" : c == 1 ? "background_raw_g" : "background_raw_b", -1, "quality", "0-255", "background colour before white balance (illumination, stain)"},
        double(a.background_rgb[c]));
  out({"image", "stain_threshold", -1, "quality", "0-255", "threshold on the stain channel B-G chosen for the nucleus"},
      double(a.stain_threshold));
  out({"image", "green_threshold", -1, "quality", "0-255", "threshold on green chosen for stained objects"},
      double(a.green_threshold));
  out({"image", "other_nucleated", -1, "quality", "count", "large nucleated objects outside the target cell"},
      double(a.other_nucleated));
  out({"cell", "centre_offset", -1, "quality", "", "distance cell centroid - image centre / image diagonal"},
      cell.m00 > 0 ? sqrt((cell.cx - (a.width - 1) / 2.0) * (cell.cx - (a.width - 1) / 2.0) +
                          (cell.cy - (a.height - 1) / 2.0) * (cell.cy - (a.height - 1) / 2.0)) /
                         sqrt(double(a.width) * a.width + double(a.height) * a.height)
                   : 0.0);
}

// True for finite values: x - x is NaN for NaN and +-Inf. (Same code on host and device.)
HL_HD inline bool is_finite(double x) { return x - x == 0.0; }

// Writes the row; anything not finite becomes 0 so that no NaN or Inf reaches a store.
struct RowSink {
  float* row;
  int n = 0;
  HL_HD void operator()(const FeatureTag&, double v) {
    const float f = float(v);  // a finite double can still overflow a float
    row[n++] = is_finite(f) ? f : 0.0f;
  }
};

HL_HD inline int compute_row(const ImageAccumulators& a, float* row) {
  RowSink sink{row};
  emit_features(a, sink);
  return sink.n;
}

}  // namespace hemolens::features
