// The feature schema: every column of /features, with its meaning.
//
// The list is produced by the same code that computes the values (features/feature_row.hpp
// emits name, group, region, unit, description and value together), so names and columns
// cannot drift apart. The hash covers version, names, groups and regions: stores and model
// bundles carry it and a mismatch is refused.
#pragma once
#include <string>
#include <vector>

namespace hemolens {

struct FeatureInfo {
  std::string name;
  std::string group;   // shape, colour, texture, moments, quality
  std::string region;  // cell, nucleus, cytoplasm, background, image
  std::string unit;
  std::string description;
  std::string label;  // a few plain words for lab users ("nucleus colour saturation, median")
};

struct FeatureSchema {
  int version = 0;
  std::string hash;  // 16 hex digits
  std::vector<FeatureInfo> features;

  std::vector<std::string> names() const;
  std::vector<std::string> groups() const;
  std::vector<std::string> regions() const;
};

const FeatureSchema& feature_schema();
std::string schema_markdown();  // docs/features.md is this text

}  // namespace hemolens
