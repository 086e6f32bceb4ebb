// The schema is read off the formulas themselves: emit_features() on empty accumulators,
// keeping the tags and dropping the values.
#include <xxhash.h>  // for the schema hash

#include <cstdio>
#include <map>
#include <memory>
#include <string>

#include "features/feature_row.hpp"
#include "hemolens/schema.hpp"

namespace hemolens {
namespace {

// Plain words for a feature, from its region, stem and index: what the lab page and
// `explain` show beside the technical name. Host-only presentation, so it lives here and not
// in the tags the device code emits.
std::string plain_label(const std::string& region, const std::string& stem, int index) {
  static const std::map<std::string, std::string> channels = {
      {"r", "red"}, {"g", "green"}, {"b", "blue"}, {"s", "colour saturation"}, {"v", "brightness"},
      {"rg", "red against green"}, {"yb", "yellow against blue"}};
  static const std::map<std::string, std::string> stats = {
      {"mean", "average"}, {"std", "variation"}, {"p10", "10th percentile"}, {"p50", "median"}, {"p90", "90th percentile"}};
  static const std::map<std::string, std::string> words = {
      {"area", "size (area)"}, {"perimeter", "outline length"}, {"circularity", "roundness"},
      {"eccentricity", "elongation"}, {"major_axis", "length"}, {"minor_axis", "width"},
      {"solidity", "solidity (filled share of its convex hull)"}, {"extent", "share of its bounding box filled"},
      {"equivalent_diameter", "diameter"}, {"convexity", "smoothness of the outline"},
      {"thickness_mean", "average thickness"}, {"thickness_max", "largest thickness"},
      {"thickness_ratio", "thinness (band-like shape when low)"}, {"cell_area_ratio", "share of the cell"},
      {"lobes", "number of lobes"}, {"components", "number of separate pieces"}, {"offset", "distance off the cell's centre"},
      {"h_cos", "hue (cosine)"}, {"h_sin", "hue (sine)"}, {"h_concentration", "uniformity of hue"},
      {"nucleus_contrast_g", "minus nucleus, green"}, {"nucleus_contrast_b", "minus nucleus, blue"},
      {"nucleus_contrast_s", "minus nucleus, colour saturation"},
      {"laplacian_std", "sharpness (focus)"}, {"background_raw_r", "slide background red, as photographed"},
      {"background_raw_g", "slide background green, as photographed"}, {"background_raw_b", "slide background blue, as photographed"},
      {"stain_threshold", "stain level chosen for the nucleus"}, {"green_threshold", "darkness level chosen for stained objects"},
      {"other_nucleated", "other nucleated cells in the image"}, {"centre_offset", "distance from the image centre"}};
  const std::string d = index >= 0 ? std::to_string(index) : "";
  const auto us = stem.find('_');
  if (us != std::string::npos && channels.count(stem.substr(0, us)) && stats.count(stem.substr(us + 1)))
    return region + " " + channels.at(stem.substr(0, us)) + ", " + stats.at(stem.substr(us + 1));
  if (auto w = words.find(stem); w != words.end()) return region + " " + w->second;
  if (stem == "hu") return region + " shape moment (Hu " + d + ")";
  if (stem.rfind("glcm_", 0) == 0) {
    std::string what = stem.substr(5, stem.size() - 7);  // drop "glcm_" and "_d"
    for (char& c : what) c = c == '_' ? ' ' : c;
    return region + " texture " + what + " at " + d + " px";
  }
  if (stem == "eroded_lobes_") return region + " lobes left after thinning by " + d + " px";
  if (stem == "lbp_riu2_") return region + " fine texture pattern " + d;
  if (stem == "lbp2_riu2_") return region + " coarse texture pattern " + d;
  if (stem == "granularity_") return region + " dark granules of " + d + " px";
  if (stem == "dark_granularity_") return region + " dark granules of " + d + " px";
  if (stem == "bright_granularity_") return region + " pale spots (vacuoles) of " + d + " px";
  return region + " " + stem + d;
}

struct TagSink {
  std::vector<FeatureInfo>* out;
  void operator()(const features::FeatureTag& t, double) {
    std::string name = std::string(t.region) + "_" + t.name;
    if (t.index >= 0) name += std::to_string(t.index);
    out->push_back({name, t.group, t.region, t.unit, t.description, plain_label(t.region, t.name, t.index)});
  }
};

FeatureSchema build_schema() {
  FeatureSchema s;
  s.version = features::kSchemaVersion;
  auto acc = std::make_unique<features::ImageAccumulators>();
  TagSink sink{&s.features};
  features::emit_features(*acc, sink);
  std::string key = "hemolens-schema-" + std::to_string(s.version);
  for (const auto& f : s.features) key += "|" + f.name + "," + f.group + "," + f.region;
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(XXH3_64bits(key.data(), key.size())));
  s.hash = hex;
  return s;
}

}  // namespace

const FeatureSchema& feature_schema() {
  static const FeatureSchema schema = build_schema();
  return schema;
}

std::vector<std::string> FeatureSchema::names() const {
  std::vector<std::string> v;
  for (const auto& f : features) v.push_back(f.name);
  return v;
}
std::vector<std::string> FeatureSchema::groups() const {
  std::vector<std::string> v;
  for (const auto& f : features) v.push_back(f.group);
  return v;
}
std::vector<std::string> FeatureSchema::regions() const {
  std::vector<std::string> v;
  for (const auto& f : features) v.push_back(f.region);
  return v;
}

}  // namespace hemolens

namespace hemolens {

std::string schema_markdown() {
  const FeatureSchema& s = feature_schema();
  std::string md =
      "# Feature schema\n\n"
      "Generated by `hemolens schema` (do not edit by hand; `tests/test_schema.cpp` checks that this file is current).\n\n"
      "Schema version " + std::to_string(s.version) + ", hash `" + s.hash + "`, " + std::to_string(s.features.size()) +
      " features. Every formula lives once in `src/features/feature_row.hpp` and runs on both backends.\n\n"
      "## Regions\n\n"
      "- **cell**: the target cell (the stained object holding the nucleus nearest the image centre, pale cytoplasm\n"
      "  included, cut to 0.6 nucleus diameters around the nucleus), holes filled.\n"
      "- **nucleus**: violet-stained pixels (B-G above a 3-class Otsu threshold) inside the cell: all lobes of a\n"
      "  segmented nucleus. For platelets, which have no nucleus, it is the stained granulomere.\n"
      "- **cytoplasm**: cell minus nucleus.\n"
      "- **background**: pixels lighter than the green Otsu threshold and not nucleus-stained (the slide).\n"
      "- **image**: the whole image.\n\n"
      "Colours are measured after white balance (the background is scaled to grey 224), so that slides with\n"
      "different illumination or stain batches compare, in RGB, HSV and two opponent channels (red-green\n"
      "(R-G+256)/2 and yellow-blue (R+G-2B+512)/4, 128 for grey; a cheap, exact stand-in for Lab's a* and b*);\n"
      "the raw background colour is kept as a quality feature.\n"
      "HSV is OpenCV's 8-bit convention (H 0..179 in 2-degree steps); hue is summarised circularly.\n"
      "Texture uses the balanced green channel: GLCM on 32 grey levels (g >> 3), symmetric, summed over the four\n"
      "directions 0/45/90/135 degrees (rotation invariant); LBP is the uniform rotation-invariant code (P=8, R=1).\n"
      "Degenerate cases (empty region, zero variance) have defined values: 0, or 1 for GLCM correlation; no NaN or Inf\n"
      "reaches a store.\n\n"
      "| # | name | in plain words | group | region | unit | definition |\n|---|---|---|---|---|---|---|\n";
  for (std::size_t i = 0; i < s.features.size(); ++i) {
    const FeatureInfo& f = s.features[i];
    md += "| " + std::to_string(i) + " | `" + f.name + "` | " + f.label + " | " + f.group + " | " + f.region + " | " + f.unit + " | " + f.description +
          " |\n";
  }
  return md;
}

}  // namespace hemolens
