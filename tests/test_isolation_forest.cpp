// The isolation forest and the anomaly model: c(n) and path lengths against hand computation,
// planted outliers, determinism, the binary format and the bundle round trip, per-class
// calibration against a single forest, the quality-flag override, the CLI, and scikit-learn as
// an independent oracle (skipped when python3-sklearn is absent).
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>

#include "hemolens/quality.hpp"
#include "hemolens/store.hpp"
#include "model/anomaly.hpp"
#include "model/bundle.hpp"
#include "model/isolation_forest.hpp"
#include "model/labelled.hpp"
#include "model/train.hpp"
#include "pipeline/extract.hpp"
#include "support.hpp"

namespace fs = std::filesystem;
using namespace hemolens;
using namespace hemolens::model;

namespace {

// ROC AUC of `anomalous` (label 1) ranked by score, ties counted half.
double auc(const std::vector<float>& score, const std::vector<int>& anomalous) {
  double pairs = 0, wins = 0;
  for (std::size_t i = 0; i < score.size(); ++i)
    for (std::size_t j = 0; j < score.size(); ++j)
      if (anomalous[i] && !anomalous[j]) {
        pairs += 1;
        wins += score[i] > score[j] ? 1.0 : score[i] == score[j] ? 0.5 : 0.0;
      }
  return wins / pairs;
}

// n rows of d standard normal features around `centre`.
void gaussian_rows(std::vector<float>& x, std::size_t n, std::size_t d, float centre, float sd, std::mt19937& rng) {
  std::normal_distribution<float> g(centre, sd);
  for (std::size_t i = 0; i < n * d; ++i) x.push_back(g(rng));
}

// A hand-made tree over 2 features (psi 4, depth limit 2):
//   node 0: x0 <= 0.5 ? node 1 : node 2
//   node 1: external, 1 row            -> h = 1 + c(1) = 1
//   node 2: x1 <= 2.0 ? node 3 : node 4
//   node 3: external, 2 rows           -> h = 2 + c(2) = 3
//   node 4: external, 1 row            -> h = 2
IsolationForest hand_tree() {
  IsolationForest f;
  f.features = 2;
  f.sample_size = 4;
  f.max_depth = 2;
  f.roots = {0};
  f.feature = {0, -1, 1, -1, -1};
  f.threshold = {0.5f, 0, 2.0f, 0, 0};
  f.left = {1, -1, 3, -1, -1};
  f.right = {2, -1, 4, -1, -1};
  f.size = {0, 1, 0, 2, 1};
  f.validate();
  return f;
}

using test::sample_store;

int run_status(const std::string& cmd) {
  const int s = std::system(cmd.c_str());
  return WIFEXITED(s) ? WEXITSTATUS(s) : -1;
}

}  // namespace

TEST(IsolationForest, AveragePathLengthMatchesHandComputation) {
  EXPECT_EQ(average_path_length(0), 0.0);
  EXPECT_EQ(average_path_length(1), 0.0);
  EXPECT_EQ(average_path_length(2), 1.0);
  // c(n) = 2 (ln(n-1) + 0.5772156649) - 2 (n-1)/n, computed by hand (Python, math.log).
  EXPECT_NEAR(average_path_length(3), 1.2073923575896, 1e-12);
  EXPECT_NEAR(average_path_length(4), 1.8516559071393, 1e-12);
  EXPECT_NEAR(average_path_length(256), 10.2447709201199, 1e-12);
  EXPECT_EQ(depth_limit(256), 8);
  EXPECT_EQ(depth_limit(255), 8);
  EXPECT_EQ(depth_limit(257), 9);
  EXPECT_EQ(depth_limit(2), 1);
  EXPECT_EQ(depth_limit(1), 1);
}

TEST(IsolationForest, PathLengthsAndScoresOnAHandMadeTree) {
  const IsolationForest f = hand_tree();
  const float a[2] = {0.0f, 5.0f}, b[2] = {1.0f, 1.0f}, c[2] = {1.0f, 3.0f}, missing[2] = {std::nanf(""), 3.0f};
  EXPECT_DOUBLE_EQ(path_length(f, 0, a), 1.0);
  EXPECT_DOUBLE_EQ(path_length(f, 0, b), 3.0);  // depth 2 + c(2) = 1 at a leaf of two rows
  EXPECT_DOUBLE_EQ(path_length(f, 0, c), 2.0);
  EXPECT_DOUBLE_EQ(path_length(f, 0, missing), 2.0);  // NaN goes right
  const float x[6] = {0.0f, 5.0f, 1.0f, 1.0f, 1.0f, 3.0f};
  const std::vector<float> s = score_cpu(f, x, 3, 2, 1);
  // s = 2^(-h / c(4)), c(4) = 1.85165590714
  EXPECT_NEAR(s[0], 0.6877436677788, 1e-6);
  EXPECT_NEAR(s[1], 0.3252968076441, 1e-6);
  EXPECT_NEAR(s[2], 0.4729913525699, 1e-6);

  // Two copies of the tree with a mirrored second: E[h] is the mean of the two paths.
  IsolationForest two = f;
  two.roots = {0, 5};
  for (int i = 0; i < 5; ++i) {
    two.feature.push_back(f.feature[std::size_t(i)]);
    two.threshold.push_back(f.threshold[std::size_t(i)]);
    two.left.push_back(f.left[std::size_t(i)] < 0 ? -1 : f.right[std::size_t(i)] + 5);  // children swapped
    two.right.push_back(f.right[std::size_t(i)] < 0 ? -1 : f.left[std::size_t(i)] + 5);
    two.size.push_back(f.size[std::size_t(i)]);
  }
  two.validate();
  // Row a: h = 1 in the first tree; in the mirrored one x0 <= 0.5 leads to node 2's copy,
  // then x1 = 5 > 2 leads to the copy of node 3 (2 rows): h = 3. Mean 2.
  EXPECT_NEAR(score_cpu(two, a, 1, 2, 1)[0], 0.4729913525699, 1e-6);
}

TEST(IsolationForest, FindsPlantedOutliers) {
  std::mt19937 rng(3);
  std::vector<float> x;
  const std::size_t d = 8, normal = 1000, planted = 20;
  gaussian_rows(x, normal, d, 0.0f, 1.0f, rng);
  gaussian_rows(x, planted, d, 0.0f, 1.0f, rng);
  // Each planted row is pushed 5 sd away in two features: not extreme in any single one.
  for (std::size_t i = normal; i < normal + planted; ++i) {
    x[i * d + i % d] += 5.0f;
    x[i * d + (i + 3) % d] -= 5.0f;
  }
  std::vector<int> anomalous(normal + planted, 0);
  std::fill(anomalous.begin() + normal, anomalous.end(), 1);
  const IsolationForest f = fit_forest(x.data(), normal + planted, d, ForestParams{});
  EXPECT_EQ(f.trees(), 200u);
  EXPECT_EQ(f.sample_size, 256);
  EXPECT_EQ(f.max_depth, 8);
  const std::vector<float> s = score_cpu(f, x.data(), normal + planted, d);
  EXPECT_GT(auc(s, anomalous), 0.99);
  std::vector<float> normal_scores(s.begin(), s.begin() + normal);
  std::sort(normal_scores.begin(), normal_scores.end());
  for (std::size_t i = normal; i < normal + planted; ++i) EXPECT_GT(s[i], normal_scores[normal * 9 / 10]) << "planted row " << i;
}

TEST(IsolationForest, SameSeedSameForestAndOtherSeedAnother) {
  std::mt19937 rng(5);
  std::vector<float> x;
  gaussian_rows(x, 300, 5, 0.0f, 1.0f, rng);
  const ForestParams p{50, 64, 7};
  std::ostringstream a, b, c;
  write_forest(a, fit_forest(x.data(), 300, 5, p));
  write_forest(b, fit_forest(x.data(), 300, 5, p));
  write_forest(c, fit_forest(x.data(), 300, 5, ForestParams{50, 64, 8}));
  EXPECT_EQ(a.str(), b.str());
  EXPECT_NE(a.str(), c.str());
}

TEST(IsolationForest, BinaryRoundTripGivesIdenticalScoresAndDamageIsRefused) {
  std::mt19937 rng(9);
  std::vector<float> x;
  gaussian_rows(x, 400, 6, 0.0f, 1.0f, rng);
  const IsolationForest f = fit_forest(x.data(), 400, 6, ForestParams{100, 128, 1});
  std::stringstream buf;
  write_forest(buf, f);
  const std::string bytes = buf.str();
  const IsolationForest g = read_forest(buf, "memory");
  EXPECT_EQ(score_cpu(f, x.data(), 400, 6), score_cpu(g, x.data(), 400, 6));

  std::istringstream truncated(bytes.substr(0, bytes.size() - 10));
  EXPECT_THROW(read_forest(truncated, "t"), std::runtime_error);
  std::string bad = bytes;
  const std::size_t first_left = 5 * 4 + f.trees() * 4 + f.nodes() * 8;  // header, roots, feature, threshold
  bad[first_left + 3] = '\x7f';  // node 0's left child (little-endian high byte): far outside the node array
  std::istringstream damaged(bad);
  try {
    read_forest(damaged, "damaged.bin");
    FAIL() << "a damaged forest was read";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("damaged.bin"), std::string::npos) << e.what();
  }
  EXPECT_THROW(score_cpu(f, x.data(), 1, 5), std::runtime_error);  // wrong number of columns
}

// Three classes of 600, 120 and 40 rows in different places. One forest over all of them
// flags the rare class far more than the common one; per-class forests with per-class
// thresholds flag each class at about the contamination rate on new rows.
TEST(Anomaly, PerClassForestsFlagEveryClassAlike) {
  std::mt19937 rng(11);
  const std::size_t d = 6;
  const std::vector<std::size_t> sizes = {600, 120, 40};
  const std::vector<float> centres = {0.0f, 4.0f, -4.0f}, spreads = {1.0f, 0.7f, 1.3f};
  std::vector<float> train, test;
  std::vector<int> train_labels, test_labels;
  for (int c = 0; c < 3; ++c) {
    gaussian_rows(train, sizes[std::size_t(c)], d, centres[std::size_t(c)], spreads[std::size_t(c)], rng);
    gaussian_rows(test, 400, d, centres[std::size_t(c)], spreads[std::size_t(c)], rng);
    train_labels.insert(train_labels.end(), sizes[std::size_t(c)], c);
    test_labels.insert(test_labels.end(), 400, c);
  }
  const std::vector<std::string> classes = {"common", "middle", "rare"};
  AnomalyParams p;
  p.contamination = 0.05;
  const std::vector<std::uint32_t> clean(test_labels.size(), 0);
  const auto rates = [&](const AnomalyModel& m) {
    const AnomalyScores s = score_anomaly(m, test.data(), test_labels.size(), d, test_labels, clean, "cpu", 2);
    std::vector<double> r(3, 0);
    for (std::size_t i = 0; i < test_labels.size(); ++i) r[std::size_t(test_labels[i])] += s.flagged[i] / 400.0;
    return r;
  };
  const AnomalyModel per_class = fit_anomaly(train.data(), train_labels.size(), d, train_labels, classes, p);
  ASSERT_EQ(per_class.forests.size(), 3u);
  EXPECT_TRUE(per_class.all_forests.empty());
  const std::vector<double> r = rates(per_class);
  for (int c = 0; c < 3; ++c) EXPECT_LT(r[std::size_t(c)], 0.12) << classes[std::size_t(c)];
  EXPECT_GT(r[0] + r[1] + r[2], 0.03 * 3) << "thresholds so high that nothing is flagged";

  p.per_class = false;
  const AnomalyModel global = fit_anomaly(train.data(), train_labels.size(), d, train_labels, classes, p);
  ASSERT_EQ(global.forests.size(), 1u);
  const std::vector<double> g = rates(global);
  EXPECT_GT(g[2], 2 * r[2] + 0.1) << "a single forest should flag the rare class far more often";
}

TEST(Anomaly, SmallClassesFallBackToTheAllRowsForest) {
  std::mt19937 rng(13);
  std::vector<float> x;
  gaussian_rows(x, 110, 4, 0.0f, 1.0f, rng);
  std::vector<int> labels(110, 0);
  std::fill(labels.begin() + 100, labels.end(), 1);  // class 1: 10 rows, under min_class_rows
  const AnomalyModel m = fit_anomaly(x.data(), 110, 4, labels, {"big", "small"}, AnomalyParams{});
  ASSERT_EQ(m.forests.size(), 2u);
  EXPECT_EQ(m.class_forests[0], std::vector<int>{0});
  EXPECT_EQ(m.class_forests[1], m.all_forests);
  EXPECT_EQ(m.forest_names[std::size_t(m.all_forests[0])], "all");
}

// Anomalies that differ only in 2 "quality" columns of 40: a forest over all columns seldom
// splits on them; the quality forest does.
TEST(Anomaly, QualityForestsCatchWhatFewColumnsShow) {
  std::mt19937 rng(31);
  const std::size_t d = 40, n = 600, bad = 60;
  std::vector<float> train, test;
  gaussian_rows(train, n, d, 0.0f, 1.0f, rng);
  gaussian_rows(test, n + bad, d, 0.0f, 1.0f, rng);
  for (std::size_t i = n; i < n + bad; ++i) {
    test[i * d + 0] -= 3.5f;  // e.g. a dark background: two colour columns move together
    test[i * d + 1] -= 3.5f;
  }
  std::vector<std::string> groups(d, "colour");
  groups[0] = groups[1] = "quality";
  std::vector<int> anomalous(n + bad, 0);
  std::fill(anomalous.begin() + n, anomalous.end(), 1);
  const std::vector<int> labels(n, 0), predicted(n + bad, 0);
  const std::vector<std::uint32_t> clean(n + bad, 0);
  AnomalyParams p;
  p.group_forests = {};
  const AnomalyModel plain = fit_anomaly(train.data(), n, d, labels, {"a"}, p, groups);
  p.group_forests = {"quality"};
  const AnomalyModel both = fit_anomaly(train.data(), n, d, labels, {"a"}, p, groups);
  ASSERT_EQ(plain.forests.size(), 1u);
  ASSERT_EQ(both.forests.size(), 2u);
  EXPECT_EQ(both.forest_columns[1], "quality");
  for (std::size_t node = 0; node < both.forests[1].nodes(); ++node) EXPECT_LT(both.forests[1].feature[node], 2);
  const auto margins = [&](const AnomalyModel& m) {
    const AnomalyScores s = score_anomaly(m, test.data(), n + bad, d, predicted, clean, "cpu");
    std::vector<float> v(n + bad);
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = s.margin[i];
    return v;
  };
  const double auc_plain = auc(margins(plain), anomalous), auc_both = auc(margins(both), anomalous);
  EXPECT_LT(auc_plain, 0.9);
  EXPECT_GT(auc_both, 0.97);
}

// A group of several forests is calibrated together: new rows from the training distribution
// are flagged at about the contamination rate, not once per forest, and the judging forest's
// margin is positive exactly when the image is flagged.
TEST(Anomaly, ForestsOfAGroupShareTheContamination) {
  std::mt19937 rng(5);
  const std::size_t d = 12, n = 1500, fresh = 6000;
  std::vector<float> train, test;
  gaussian_rows(train, n, d, 0.0f, 1.0f, rng);
  gaussian_rows(test, fresh, d, 0.0f, 1.0f, rng);
  std::vector<std::string> groups(d, "texture");
  for (std::size_t c = 0; c < 3; ++c) groups[c] = "quality", groups[c + 3] = "shape", groups[c + 6] = "colour";
  AnomalyParams p;
  p.contamination = 0.05;
  p.group_forests = {"quality", "shape", "colour"};
  const AnomalyModel m = fit_anomaly(train.data(), n, d, std::vector<int>(n, 0), {"a"}, p, groups);
  ASSERT_EQ(m.forests.size(), 4u);
  const AnomalyScores s = score_anomaly(m, test.data(), fresh, d, std::vector<int>(fresh, 0), std::vector<std::uint32_t>(fresh, 0), "cpu");
  double flagged = 0, single = 0;
  for (std::size_t i = 0; i < fresh; ++i) {
    flagged += s.flagged[i];
    EXPECT_EQ(s.flagged[i] != 0, s.margin[i] > 0) << i;
  }
  for (std::size_t f = 0; f < m.forests.size(); ++f) single += m.calibration_rate[f];
  EXPECT_NEAR(flagged / double(fresh), 0.05, 0.02);
  EXPECT_LT(single, 4 * 0.05) << "each forest alone flags less than the group's share";
}

TEST(Anomaly, SegmentationFlagsForceTheFlag) {
  std::mt19937 rng(17);
  std::vector<float> x;
  gaussian_rows(x, 300, 4, 0.0f, 1.0f, rng);
  const std::vector<int> labels(300, 0);
  const AnomalyModel m = fit_anomaly(x.data(), 300, 4, labels, {"a"}, AnomalyParams{});
  const std::vector<float> centre = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};  // three very normal rows
  const std::vector<std::uint32_t> flags = {kNoCell, kTouchesBorder, kMultipleNucleated | kTouchesBorder};
  const AnomalyScores s = score_anomaly(m, centre.data(), 3, 4, {0, 0, 0}, flags, "cpu");
  for (std::size_t i = 0; i < 3; ++i) EXPECT_LT(s.score[i], s.threshold[i]) << "row " << i << " should look normal to the forest";
  EXPECT_TRUE(s.flagged[0]);
  EXPECT_EQ(s.reason[0], "no_cell");
  EXPECT_FALSE(s.flagged[1]) << "touches_border alone does not make an image anomalous";
  EXPECT_TRUE(s.flagged[2]);
  EXPECT_EQ(s.reason[2], "multiple_nucleated");
}

TEST(Anomaly, ExplicitThresholdAndBadParametersAreRefused) {
  std::mt19937 rng(19);
  std::vector<float> x;
  gaussian_rows(x, 100, 3, 0.0f, 1.0f, rng);
  const std::vector<int> labels(100, -1);
  AnomalyParams p;
  p.threshold = 0.61;
  const AnomalyModel m = fit_anomaly(x.data(), 100, 3, labels, {}, p);
  EXPECT_EQ(m.threshold_source, "score");
  ASSERT_EQ(m.thresholds.size(), 1u);
  EXPECT_FLOAT_EQ(m.thresholds[0], 0.61f);
  p.threshold = std::nan("");
  p.contamination = 0.7;
  EXPECT_THROW(fit_anomaly(x.data(), 100, 3, labels, {}, p), std::runtime_error);
  p.contamination = 0.05;
  p.rule = "loudest";
  EXPECT_THROW(fit_anomaly(x.data(), 100, 3, labels, {}, p), std::runtime_error);
}

// On the real sample: the forests go into a bundle and come back with identical scores; a
// damaged forest file is refused; `fit-anomaly` and `score` work end to end.
TEST(Anomaly, BundleRoundTripAndCommandsOnTheSample) {
  const StoreData& s = sample_store();
  const LabelledData d = labelled_rows(s, "sample");
  TrainParams tp;
  tp.rounds = 10;
  tp.early_stopping_rounds = 0;
  tp.device = "cpu";
  tp.threads = 2;
  test::TempDir dir("anomaly-bundle");
  const fs::path bundle_dir = dir.path / "m";
  save_bundle(bundle_dir, fit_with_validation(d.table, tp).booster,
              {{"classes", s.classes}, {"feature_names", s.feature_names}, {"schema_hash", s.meta.schema_hash}, {"schema_version", s.meta.schema_version}});
  EXPECT_FALSE(load_anomaly(load_bundle(bundle_dir)).has_value());

  AnomalyParams p;
  p.min_class_rows = 5;  // the sample has 7 to 10 images a class
  p.forest.trees = 50;
  const AnomalyModel m = fit_anomaly(s, s.classes, p);
  add_anomaly_to_bundle(bundle_dir, m);
  add_anomaly_to_bundle(bundle_dir, m);  // replacing leaves one forest file
  std::size_t files = 0;
  for (const auto& e : fs::directory_iterator(bundle_dir)) files += e.path().extension() == ".bin";
  EXPECT_EQ(files, 1u);
  const ModelBundle b = load_bundle(bundle_dir);
  const std::optional<AnomalyModel> back = load_anomaly(b);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->thresholds, m.thresholds);
  EXPECT_EQ(back->class_forests, m.class_forests);
  EXPECT_EQ(back->forest_columns, m.forest_columns);
  std::vector<int> predicted(s.rows);
  for (std::size_t i = 0; i < s.rows; ++i) predicted[i] = std::max(s.images[i].label, 0);
  const AnomalyScores a = score_store(m, s, predicted, "cpu"), c = score_store(*back, s, predicted, "cpu");
  EXPECT_EQ(a.score, c.score);
  EXPECT_EQ(a.flagged, c.flagged);

  // The CLI on the same bundle: one CSV row per image, flags where segmentation says so.
  const std::string bin = test::hemolens_binary().string();
  fs::path store_path = dir.path / "sample.h5";
  ExtractOptions opt;
  opt.input = test::sample_dir();
  opt.output = store_path;
  opt.backend = BackendKind::kCpu;
  opt.threads = 2;
  run_extract(opt);
  ASSERT_EQ(run_status(bin + " fit-anomaly " + bundle_dir.string() + " " + store_path.string() + " --trees 50 --min-class-rows 5 > /dev/null"), 0);
  const fs::path csv = dir.path / "scores.csv";
  ASSERT_EQ(run_status(bin + " score " + bundle_dir.string() + " " + store_path.string() + " -o " + csv.string() + " --device cpu > /dev/null"), 0);
  std::istringstream lines(test::read_file(csv));
  std::string header, line;
  std::getline(lines, header);
  EXPECT_EQ(header, "path,predicted,anomaly_score,anomaly_threshold,anomaly_margin,anomaly_flag,anomaly_reason,quality_flags,skipped_reason");
  std::size_t rows = 0, forced = 0;
  while (std::getline(lines, line)) {
    ++rows;
    if (line.find("multiple_nucleated,") != std::string::npos || line.find("no_cell,") != std::string::npos) {
      ++forced;
      EXPECT_NE(line.find(",1,"), std::string::npos) << line;
    }
  }
  EXPECT_EQ(rows, s.rows);
  std::size_t expected_forced = 0;
  for (const auto& r : s.images) expected_forced += (r.flags & (kNoCell | kMultipleNucleated)) != 0;
  EXPECT_EQ(forced, expected_forced);

  // A damaged forest file is refused by name; `score` then fails with status 1.
  const std::string file = b.meta["anomaly"]["file"].get<std::string>();
  std::ofstream(bundle_dir / file, std::ios::binary | std::ios::app) << "x";
  EXPECT_THROW(load_anomaly(load_bundle(bundle_dir)), std::runtime_error);
  EXPECT_EQ(run_status(bin + " score " + bundle_dir.string() + " " + store_path.string() + " -o " + csv.string() + " > /dev/null 2>&1"), 1);
}

// scikit-learn's IsolationForest as an independent implementation: same features, same
// parameters; scores must rank alike and detect planted anomalies equally well.
TEST(Anomaly, AgreesWithScikitLearn) {
  if (run_status("/usr/bin/python3 -c 'import sklearn, numpy' > /dev/null 2>&1") != 0) GTEST_SKIP() << "python3-sklearn not installed";
  const StoreData& s = sample_store();
  // Normal rows: the sample. Anomalies: sample rows with a third of their features taken
  // from other rows (each value plausible alone, the combination not).
  std::mt19937 rng(23);
  std::vector<float> fit = s.features, test = s.features;
  std::vector<int> anomalous(s.rows, 0);
  for (std::size_t i = 0; i < s.rows; ++i) {
    std::vector<float> row(s.features.begin() + std::ptrdiff_t(i * s.cols), s.features.begin() + std::ptrdiff_t((i + 1) * s.cols));
    for (std::size_t f = 0; f < s.cols; ++f)
      if (rng() % 3 == 0) row[f] = s.features[(rng() % s.rows) * s.cols + f];
    test.insert(test.end(), row.begin(), row.end());
    anomalous.push_back(1);
  }
  const ForestParams p{200, 256, 42};
  const IsolationForest f = fit_forest(fit.data(), s.rows, s.cols, p);
  const std::vector<float> ours = score_cpu(f, test.data(), anomalous.size(), s.cols);
  test::TempDir dir("sklearn");
  const auto dump = [&](const fs::path& path, const std::vector<float>& v) {
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(v.data()), std::streamsize(v.size() * sizeof(float)));
  };
  dump(dir.path / "fit.f32", fit);
  dump(dir.path / "test.f32", test);
  dump(dir.path / "ours.f32", ours);
  std::vector<float> labels(anomalous.begin(), anomalous.end());
  dump(dir.path / "labels.f32", labels);
  const std::string script = (test::source_dir() / "benchmarks" / "anomaly" / "compare_sklearn.py").string();
  const std::string cmd = "/usr/bin/python3 " + script + " --raw " + dir.path.string() + " --cols " + std::to_string(s.cols) +
                          " --trees 200 --samples 256 --min-spearman 0.85 --max-auc-diff 0.02";
  EXPECT_EQ(run_status(cmd), 0) << cmd;
}
