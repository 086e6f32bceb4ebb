// Explanations: SHAP additivity (contributions + bias = margin) on a real model trained on
// the sample, the ranking and group sums of an explanation, and `hemolens explain` on a good
// image and on files it cannot use (exit status 1, a clear message).
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <fstream>

#include "hemolens/schema.hpp"
#include "hemolens/store.hpp"
#include "model/bundle.hpp"
#include "model/explain.hpp"
#include "model/labelled.hpp"
#include "model/train.hpp"
#include "pipeline/extract.hpp"
#include "support.hpp"

namespace fs = std::filesystem;
using namespace hemolens;
using namespace hemolens::model;

namespace {

struct Trained {
  StoreData store;
  fs::path bundle_dir;
  ModelBundle bundle;
};

// The sample store and the model trained on it, shared by the explanation tests. Never
// destroyed: a Booster freed after XGBoost's own statics at exit crashes the process.
const Trained& trained() {
  static const Trained* t = new Trained{test::sample_store(), test::sample_bundle(), load_bundle(test::sample_bundle())};
  return *t;
}

struct CommandResult {
  int status = -1;
  std::string output;
};

CommandResult run(const std::string& args) {
  CommandResult r;
  FILE* p = ::popen((test::hemolens_binary().string() + " " + args + " 2>&1").c_str(), "r");
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) r.output.append(buf, n);
  const int s = ::pclose(p);
  r.status = WIFEXITED(s) ? WEXITSTATUS(s) : -1;
  return r;
}

}  // namespace

TEST(Explain, ShapContributionsAddUpToTheMargin) {
  const Trained& t = trained();
  const StoreData& s = t.store;
  const ShapValues shap = shap_values(t.bundle.booster, s.features.data(), s.rows, s.cols, 2);
  const std::vector<float> m = margins(t.bundle.booster, s.features.data(), s.rows, s.cols, 2);
  ASSERT_EQ(shap.rows, s.rows);
  ASSERT_EQ(shap.classes, s.classes.size());
  ASSERT_EQ(m.size(), s.rows * s.classes.size());
  double worst = 0, spread = 0;
  for (std::size_t r = 0; r < s.rows; ++r)
    for (std::size_t c = 0; c < shap.classes; ++c) {
      double sum = shap.bias(r, c);
      for (std::size_t f = 0; f < s.cols; ++f) sum += shap.at(r, c, f);
      worst = std::max(worst, std::fabs(sum - m[r * shap.classes + c]));
      spread = std::max(spread, std::fabs(double(m[r * shap.classes + c]) - shap.bias(r, c)));
    }
  EXPECT_LT(worst, 1e-3) << "contributions + bias differ from the margin";
  EXPECT_GT(spread, 0.5) << "the contributions are all near zero: nothing was explained";
}

TEST(Explain, RowsAreRankedAndGroupedBySchema) {
  const Trained& t = trained();
  const StoreData& s = t.store;
  const std::vector<Explanation> ex = explain_rows(t.bundle, s.features.data(), s.rows, s.cols, 5, 2);
  // The probabilities every output shows: the model's, calibrated by the bundle's triage.
  std::vector<float> proba = blend_proba(t.bundle.booster, t.bundle.svm, s.features.data(), s.rows, s.cols, 2);
  ASSERT_TRUE(t.bundle.triage) << "the sample bundle is trained with a triage";
  t.bundle.triage->calibration.apply_in_place(proba.data(), s.rows, s.classes.size());
  ASSERT_EQ(ex.size(), s.rows);
  for (std::size_t r = 0; r < s.rows; ++r) {
    const Explanation& e = ex[r];
    EXPECT_FLOAT_EQ(e.proba[std::size_t(e.predicted)], *std::max_element(proba.begin() + std::ptrdiff_t(r * s.classes.size()),
                                                                          proba.begin() + std::ptrdiff_t((r + 1) * s.classes.size())));
    ASSERT_EQ(e.top.size(), 5u);
    for (std::size_t i = 1; i < e.top.size(); ++i) EXPECT_GE(std::fabs(e.top[i - 1].value), std::fabs(e.top[i].value));
    float largest = 0;
    for (float v : e.contributions) largest = std::max(largest, std::fabs(v));
    EXPECT_FLOAT_EQ(std::fabs(e.top[0].value), largest);
    double groups = e.bias;
    for (const auto& [name, sum] : e.groups) {
      EXPECT_NE(name, "other") << "a feature of the schema had no group";
      groups += sum;
    }
    EXPECT_NEAR(groups, e.margin, 1e-3);
  }
  const std::string summary = top_features_summary(ex[0], t.bundle.feature_names, 3);
  EXPECT_EQ(std::count(summary.begin(), summary.end(), ';'), 2) << summary;
  EXPECT_NE(summary.find(t.bundle.feature_names[ex[0].top[0].feature]), std::string::npos) << summary;
  EXPECT_EQ(feature_group(feature_schema().features.front().name), feature_schema().features.front().group);
  EXPECT_EQ(feature_group("no_such_feature"), "other");
  EXPECT_THROW(explain_rows(t.bundle, s.features.data(), 1, s.cols - 1, 3), std::runtime_error);
}

TEST(Explain, CommandExplainsAnImage) {
  const Trained& t = trained();
  const fs::path image = test::sample_dir() / t.store.images[0].path;
  const CommandResult r = run("explain " + t.bundle_dir.string() + " " + image.string() + " --top 4 --backend cpu");
  ASSERT_EQ(r.status, 0) << r.output;
  for (const char* part : {"predicted:", "class probabilities:", "anomaly score: ", "threshold", "why ", "by feature group", "baseline", "total"})
    EXPECT_NE(r.output.find(part), std::string::npos) << part << "\n" << r.output;
}

TEST(Explain, CommandFailsCleanlyOnFilesItCannotUse) {
  const Trained& t = trained();
  test::TempDir dir("explain-bad");
  std::ofstream(dir.path / "empty.jpg").close();
  const fs::path not_image = test::source_dir() / "tests" / "data" / "bad" / ".DS_169665.jpg";
  for (const fs::path& bad : {dir.path / "empty.jpg", not_image, dir.path / "missing.jpg"}) {
    const CommandResult r = run("explain " + t.bundle_dir.string() + " " + bad.string() + " --backend cpu");
    EXPECT_EQ(r.status, 1) << bad << "\n" << r.output;
    EXPECT_NE(r.output.find("error: explain:"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find(bad.filename().string()), std::string::npos) << r.output;
  }
  const CommandResult r = run("explain " + (dir.path / "no-model").string() + " " + not_image.string());
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("model bundle"), std::string::npos) << r.output;
}
