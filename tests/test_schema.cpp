// The schema: unique names, one value per name, defined values for degenerate input, and
// docs/features.md generated from the code.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>

#include "features/feature_row.hpp"
#include "hemolens/schema.hpp"
#include "support.hpp"

using namespace hemolens;

TEST(Schema, NamesAreUniqueAndDescribed) {
  const FeatureSchema& s = feature_schema();
  std::set<std::string> names, labels;
  for (const auto& f : s.features) {
    EXPECT_TRUE(names.insert(f.name).second) << "duplicate " << f.name;
    EXPECT_FALSE(f.description.empty()) << f.name;
    // Plain words for lab users: one per feature, no feature left with its technical stem.
    EXPECT_TRUE(labels.insert(f.label).second) << "label \"" << f.label << "\" of " << f.name << " is not unique";
    EXPECT_EQ(f.label.find('_'), std::string::npos) << f.name << " has no plain label: " << f.label;
    EXPECT_EQ(f.label.rfind(f.region + " ", 0), 0u) << f.name << ": the label should start with its region: " << f.label;
    EXPECT_TRUE(std::set<std::string>({"shape", "moments", "colour", "texture", "quality"}).count(f.group)) << f.name;
  }
  EXPECT_EQ(s.hash.size(), 16u);
}

TEST(Schema, EmptyAccumulatorsGiveFiniteRowOfSchemaLength) {
  auto acc = std::make_unique<features::ImageAccumulators>();
  std::vector<float> row(feature_schema().features.size() + 8, -1.0f);
  EXPECT_EQ(std::size_t(features::compute_row(*acc, row.data())), feature_schema().features.size());
  for (std::size_t i = 0; i < feature_schema().features.size(); ++i)
    EXPECT_TRUE(std::isfinite(row[i])) << feature_schema().features[i].name;
}

TEST(Schema, DocsAreGeneratedFromTheCode) {
  std::ifstream in(test::source_dir() / "docs" / "features.md");
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), schema_markdown()) << "docs/features.md is stale: regenerate it with `hemolens schema > docs/features.md`";
}
