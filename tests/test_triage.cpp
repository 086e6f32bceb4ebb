// Triage (docs/triage.md): calibration, prediction sets, the review threshold and the decision.
// Oracles: a temperature the data were made with, pool-adjacent-violators by hand, conformal
// cuts by hand; and on a synthetic but realistic problem (overlapping classes, XGBoost trained
// as `train` trains, out-of-fold predictions), what the issue asks: calibration lowers the
// held-out log-loss, the threshold reproduces its accuracy on fresh data within the fold
// spread, and the prediction sets reach their coverage on a test fold.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <random>

#include "hemolens/quality.hpp"
#include "model/calibration.hpp"
#include "model/conformal.hpp"
#include "model/metrics.hpp"
#include "model/train.hpp"
#include "model/triage.hpp"

using namespace hemolens;
using namespace hemolens::model;

namespace {

// Rows of class probabilities softmax(sharpness * z), z ~ N(0, 1) per class, and labels drawn
// from softmax(z): the rows are over-confident by a temperature of `sharpness` exactly.
struct Drawn {
  std::vector<float> proba;
  std::vector<int> labels;
};
Drawn overconfident(std::size_t rows, std::size_t classes, double sharpness, std::uint64_t seed, double spread = 2.5) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0, spread);
  std::uniform_real_distribution<double> unit(0, 1);
  Drawn d;
  for (std::size_t r = 0; r < rows; ++r) {
    std::vector<double> z(classes), p(classes), q(classes);
    for (auto& v : z) v = normal(rng);
    double sp = 0, sq = 0;
    for (std::size_t c = 0; c < classes; ++c) sp += p[c] = std::exp(z[c]), sq += q[c] = std::exp(sharpness * z[c]);
    double u = unit(rng) * sp;
    std::size_t y = 0;
    while (y + 1 < classes && (u -= p[y]) > 0) ++y;
    d.labels.push_back(int(y));
    for (std::size_t c = 0; c < classes; ++c) d.proba.push_back(float(q[c] / sq));
  }
  return d;
}

// A feature table of `classes` overlapping Gaussian clouds of unequal size: the overlap makes
// the hard cases (no label noise, which would cap the accuracy of any accepted share). Trained as `train` trains (class weights that make
// every class weigh the same), XGBoost's probabilities lean towards the rare classes: there is
// something to calibrate, as on the real, imbalanced data.
struct Synthetic {
  std::vector<float> x;
  Table table;
};
Synthetic clouds(std::size_t rows, std::uint64_t seed) {
  constexpr std::size_t kClasses = 4, kCols = 6;
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0, 1);
  std::uniform_real_distribution<double> unit(0, 1);
  Synthetic s;
  s.table.cols = kCols;
  s.table.rows = rows;
  for (std::size_t c = 0; c < kClasses; ++c) s.table.classes.push_back("class" + std::to_string(c));
  const double share[kClasses] = {0.5, 0.25, 0.15, 0.1};
  for (std::size_t r = 0; r < rows; ++r) {
    int y = 0;
    for (double u = unit(rng); y + 1 < int(kClasses) && (u -= share[y]) > 0;) ++y;
    for (std::size_t f = 0; f < kCols; ++f) s.x.push_back(float(normal(rng) + (f == std::size_t(y) ? 2.6 : 0.0) + (f == 4 ? 0.5 * y : 0.0)));
    s.table.labels.push_back(y);
  }
  s.table.features = s.x.data();
  return s;
}

TrainParams quick() {
  TrainParams p;
  p.rounds = 60;
  p.early_stopping_rounds = 10;
  p.device = "cpu";
  p.threads = 1;  // libgomp's spin-waiting collapses on a loaded 2-core machine (notes/stack.md)
  // The boosted trees alone: on these clouds they are over-confident, which gives the
  // calibration something to correct (averaged with the SVM they are already calibrated).
  p.svm = false;
  return p;
}

std::vector<std::uint32_t> no_flags(std::size_t n) { return std::vector<std::uint32_t>(n, 0); }

std::vector<float> rows_of(const std::vector<float>& proba, std::size_t classes, const std::vector<std::size_t>& rows) {
  std::vector<float> out;
  for (std::size_t r : rows) out.insert(out.end(), proba.begin() + std::ptrdiff_t(r * classes), proba.begin() + std::ptrdiff_t((r + 1) * classes));
  return out;
}

}  // namespace

// ---- calibration --------------------------------------------------------------------------

TEST(Calibration, TemperatureScalingRecoversTheTemperatureTheDataWereMadeWith) {
  const Drawn d = overconfident(20000, 5, 2.0, 1);
  const Calibration c = fit_calibration("temperature", d.proba, d.labels, 5);
  EXPECT_NEAR(c.temperature, 2.0, 0.12);
  // Calibrated rows still sum to 1 and keep their ranking (the predicted class does not move).
  const std::vector<float> q = c.apply(d.proba, 5);
  EXPECT_EQ(argmax_rows(q, 5), argmax_rows(d.proba, 5));
  for (std::size_t r = 0; r < 100; ++r) EXPECT_NEAR(std::accumulate(q.begin() + std::ptrdiff_t(r * 5), q.begin() + std::ptrdiff_t(r * 5 + 5), 0.0), 1.0, 1e-5);
  const Drawn fresh = overconfident(20000, 5, 2.0, 2);  // 15-bin ECE of a calibrated set this size: about 0.01
  EXPECT_LT(log_loss(c.apply(fresh.proba, 5), fresh.labels, 5), log_loss(fresh.proba, fresh.labels, 5) - 0.05);
  EXPECT_LT(reliability(c.apply(fresh.proba, 5), fresh.labels, 5).ece, 0.02);
  EXPECT_GT(reliability(fresh.proba, fresh.labels, 5).ece, 0.05) << "the made-up data are not over-confident: the test proves nothing";
}

TEST(Calibration, IsotonicIsPoolAdjacentViolatorsByHand) {
  // Class 0's probabilities 0.1, 0.2, 0.3, 0.4, 0.6 with "is class 0" 1, 0, 1, 1, 0: PAV pools
  // (0.1, 0.2) to 0.5, then the 0 at 0.6 pools (0.3, 0.4, 0.6) to 2/3. Fit: 0.5, 0.5, 2/3, 2/3,
  // 2/3 -> points (0.1, 0.5), (0.2, 0.5), (0.3, 2/3), (0.6, 2/3).
  const std::vector<float> p = {0.1f, 0.9f, 0.2f, 0.8f, 0.3f, 0.7f, 0.4f, 0.6f, 0.6f, 0.4f};
  const std::vector<int> y = {0, 1, 0, 0, 1};
  const Calibration c = fit_calibration("isotonic", p, y, 2);
  ASSERT_EQ(c.isotonic.size(), 2u);
  const IsotonicMap& m = c.isotonic[0];
  EXPECT_EQ(m.x, (std::vector<float>{0.1f, 0.2f, 0.3f, 0.6f}));
  ASSERT_EQ(m.y.size(), 4u);
  EXPECT_FLOAT_EQ(m.y[0], 0.5f);
  EXPECT_FLOAT_EQ(m.y[1], 0.5f);
  EXPECT_FLOAT_EQ(m.y[2], 2.0f / 3.0f);
  EXPECT_FLOAT_EQ(m.y[3], 2.0f / 3.0f);
  EXPECT_FLOAT_EQ(m(0.25f), 0.5f + (2.0f / 3.0f - 0.5f) * 0.5f);  // linear between the points
  EXPECT_FLOAT_EQ(m(0.0f), 0.5f);                                  // constant outside them
  EXPECT_FLOAT_EQ(m(1.0f), 2.0f / 3.0f);
}

TEST(Calibration, ABadCalibrationEntryIsRefused) {
  const auto refused = [](const nlohmann::json& j, const std::string& why) {
    try {
      Calibration::from_json(j, 2);
      ADD_FAILURE() << "accepted " << j.dump();
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << e.what();
    }
  };
  refused({{"method", "platt"}}, "unknown method 'platt'");
  refused({{"method", "temperature"}, {"temperature", 0}}, "outside [0.01, 100]");
  refused({{"method", "isotonic"}, {"isotonic", {{{"x", {0.1, 0.2}}, {"y", {0.5, 0.4}}}, {{"x", {0.1}}, {"y", {0.5}}}}}}, "not increasing");
  refused({{"method", "isotonic"}, {"isotonic", {{{"x", {0.1, 0.2}}, {"y", {0.5, 0.6}}}}}}, "one map per class");
  refused({{"method", "isotonic"}, {"isotonic", {{{"x", {0.1, 2.0}}, {"y", {0.5, 0.6}}}, {{"x", {0.1}}, {"y", {0.5}}}}}}, "leaves [0, 1]");
  const Calibration c = fit_calibration("temperature", {0.9f, 0.1f, 0.2f, 0.8f, 0.6f, 0.4f}, {0, 1, 1}, 2);
  EXPECT_DOUBLE_EQ(Calibration::from_json(c.to_json(), 2).temperature, c.temperature);
}

// The test: on out-of-fold predictions of XGBoost trained as `train` trains,
// calibration chosen by cross-fitting lowers the log-loss of rows its map did not see.
TEST(Calibration, LowersTheLogLossOnHeldOutFolds) {
  const Synthetic s = clouds(2400, 7);
  const CvResult cv = cross_validate(s.table, quick(), 5, 42);
  const CalibrationChoice choice = choose_calibration(cv.proba, s.table.labels, 4, 5, 42);
  ASSERT_EQ(choice.scores.size(), 3u);
  EXPECT_EQ(choice.scores[0].method, "none");
  const double none = choice.scores[0].log_loss;
  const auto best = std::min_element(choice.scores.begin(), choice.scores.end(), [](auto& a, auto& b) { return a.log_loss < b.log_loss; });
  EXPECT_EQ(choice.chosen.method, best->method);
  EXPECT_NE(choice.chosen.method, "none") << "nothing to calibrate: the test proves nothing";
  EXPECT_LT(best->log_loss, none - 0.01);
  // The held-out rows the scores came from are the chosen method's, fitted without them.
  EXPECT_NEAR(log_loss(choice.held_out, s.table.labels, 4), best->log_loss, 1e-9);
  // And on fresh data, the map fitted on all the out-of-fold rows keeps the gain.
  const Synthetic fresh = clouds(2400, 8);
  std::vector<std::size_t> all(fresh.table.rows);
  std::iota(all.begin(), all.end(), 0);
  const Fitted f = fit_with_validation(s.table, quick());
  const std::vector<float> p = predict_proba(f.booster, fresh.table, all, 1);
  EXPECT_LT(log_loss(choice.chosen.apply(p, 4), fresh.table.labels, 4), log_loss(p, fresh.table.labels, 4));
}

// ---- prediction sets ----------------------------------------------------------------------

TEST(Conformal, CutsByHand) {
  // LAC: true-class scores 1 - p = 0.1 .. 0.9 (nine rows), alpha 0.2: rank ceil(10 * 0.8) = 8 -> 0.8.
  std::vector<float> p;
  std::vector<int> y;
  for (int i = 1; i <= 9; ++i) {
    const float v = 1.0f - 0.1f * float(i);
    p.insert(p.end(), {v, 1 - v});
    y.push_back(0);
  }
  const Conformal lac = fit_conformal(p, y, 2, 0.2, "lac", false);
  ASSERT_EQ(lac.cut.size(), 1u);
  EXPECT_NEAR(lac.cut[0], 0.8, 1e-6);
  // The set: every class with 1 - p <= 0.8, i.e. p >= 0.2; the top class always.
  const float a[] = {0.85f, 0.15f}, b[] = {0.7f, 0.3f}, c[] = {0.1f, 0.9f};
  EXPECT_EQ(lac.set(a, 2), (std::vector<int>{0}));
  EXPECT_EQ(lac.set(b, 2), (std::vector<int>{0, 1}));
  EXPECT_EQ(lac.set(c, 2), (std::vector<int>{1}));
  // alpha 0.05 needs rank ceil(10 * 0.95) = 10 > 9 rows: unbounded, every class in every set.
  const Conformal wide = fit_conformal(p, y, 2, 0.05, "lac", false);
  EXPECT_TRUE(std::isinf(wide.cut[0]));
  EXPECT_EQ(wide.set(a, 2).size(), 2u);
  EXPECT_TRUE(Conformal::from_json(wide.to_json(), 2).cut[0] > 1e300) << "an unbounded cut survives the JSON round trip";
  // APS: the running total down to the true class; for {0.5, 0.3, 0.2} and true class 2 it is 1.0.
  const float three[] = {0.5f, 0.3f, 0.2f};
  const Conformal aps = fit_conformal({0.5f, 0.3f, 0.2f}, {2}, 3, 0.5, "aps", false);  // rank ceil(2 * 0.5) = 1 -> 1.0
  EXPECT_NEAR(aps.cut[0], 1.0, 1e-6);
  EXPECT_EQ(aps.set(three, 3), (std::vector<int>{0, 1, 2}));
  EXPECT_THROW(fit_conformal(p, y, 2, 0, "lac", false), std::runtime_error);
  EXPECT_THROW(fit_conformal(p, y, 2, 0.1, "raps", false), std::runtime_error);
}

// The test: fitted on a calibration fold, the sets hold the true class for at least
// 1 - alpha of a test fold (binomial slack), overall and, with a cut per class, per class.
TEST(Conformal, CoverageHoldsOnATestFold) {
  const Drawn d = overconfident(12000, 5, 1.0, 3);  // calibrated rows: labels drawn from them
  std::vector<std::size_t> calib, test;
  for (std::size_t r = 0; r < d.labels.size(); ++r) (r % 2 ? test : calib).push_back(r);
  std::vector<int> yc, yt;
  for (std::size_t r : calib) yc.push_back(d.labels[r]);
  for (std::size_t r : test) yt.push_back(d.labels[r]);
  const std::vector<float> pc = rows_of(d.proba, 5, calib), pt = rows_of(d.proba, 5, test);
  for (const double alpha : {0.01, 0.05, 0.1})
    for (const char* method : {"lac", "aps"})
      for (const bool per_class : {false, true}) {
        SCOPED_TRACE(std::string(method) + (per_class ? " per class" : "") + " alpha " + std::to_string(alpha));
        const Conformal c = fit_conformal(pc, yc, 5, alpha, method, per_class);
        const SetStats s = set_stats(c, pt, yt, 5);
        const double slack = 3 * std::sqrt(alpha * (1 - alpha) / double(yt.size()));
        EXPECT_GE(s.coverage, 1 - alpha - slack);
        EXPECT_LE(s.coverage, 1 - alpha + 4 * slack + 0.005) << "the sets are far wider than the guarantee needs";
        EXPECT_LT(s.mean_size, 5.0);
        if (per_class)
          for (std::size_t k = 0; k < 5; ++k) EXPECT_GE(s.class_coverage[k], 1 - alpha - 3 * std::sqrt(alpha * (1 - alpha) / double(s.class_rows[k])));
      }
}

// ---- the review threshold and the decision ------------------------------------------------

// The test: the threshold chosen on out-of-fold predictions gives, on fresh images
// classified by the final model, the accuracy it promised, within the spread of the folds.
TEST(Review, TheChosenThresholdReproducesItsAccuracyOnFreshFolds) {
  const Synthetic s = clouds(3000, 11);
  const CvResult cv = cross_validate(s.table, quick(), 5, 42);
  TriageOptions o;
  o.accept_accuracy = 0.99;  // at 0.995 a few thousand rows hold too few errors to measure it
  const Triage t = fit_triage(cv.proba, s.table.labels, no_flags(s.table.rows), 4, o);
  ASSERT_TRUE(t.review.reachable);
  EXPECT_GE(t.review.expected_accuracy, 0.99);
  EXPECT_GT(t.review.expected_coverage, 0.3) << "hardly anything accepted: the test proves nothing";
  EXPECT_LT(t.review.expected_coverage, 0.98) << "everything accepted: the test proves nothing";

  const Fitted f = fit_with_validation(s.table, quick());
  const Synthetic fresh = clouds(5000, 12);
  std::vector<std::size_t> all(fresh.table.rows);
  std::iota(all.begin(), all.end(), 0);
  const std::vector<float> p = t.calibration.apply(predict_proba(f.booster, fresh.table, all, 1), 4);
  const std::vector<int> fold = stratified_folds(fresh.table.labels, 5, 3);
  std::vector<double> accuracy, coverage;
  for (int k = 0; k < 5; ++k) {
    std::size_t n = 0, accepted = 0, correct = 0;
    for (std::size_t r = 0; r < fresh.table.rows; ++r) {
      if (fold[r] != k) continue;
      ++n;
      const Decision d = decide(&t, &p[r * 4], 4, 0, false);
      accepted += d.accept;
      correct += d.accept && argmax_rows(std::vector<float>(&p[r * 4], &p[r * 4 + 4]), 4)[0] == fresh.table.labels[r];
    }
    accuracy.push_back(double(correct) / double(accepted));
    coverage.push_back(double(accepted) / double(n));
  }
  const auto mean_sd = [](const std::vector<double>& v) {
    const double m = std::accumulate(v.begin(), v.end(), 0.0) / double(v.size());
    double ss = 0;
    for (double x : v) ss += (x - m) * (x - m);
    return std::pair{m, std::sqrt(ss / double(v.size() - 1))};
  };
  const auto [acc_mean, acc_sd] = mean_sd(accuracy);
  const auto [cov_mean, cov_sd] = mean_sd(coverage);
  EXPECT_NEAR(acc_mean, t.review.expected_accuracy, 2 * acc_sd + 1e-9) << "fold accuracies " << ::testing::PrintToString(accuracy);
  EXPECT_NEAR(cov_mean, t.review.expected_coverage, 2 * cov_sd + 0.01) << "fold coverages " << ::testing::PrintToString(coverage);
  EXPECT_GE(*std::max_element(accuracy.begin(), accuracy.end()), o.accept_accuracy - 1e-9);
}

TEST(Review, TheDecisionAndItsReasons) {
  Triage t;
  t.folds = 5;
  t.review.threshold = 0.9;
  t.review.review_flags = default_review_flags();
  t.conformal.method = "lac";
  t.conformal.class_conditional = false;
  t.conformal.cut = {0.95};  // a class is in the set when p >= 0.05
  const float sure[] = {0.95f, 0.03f, 0.02f}, unsure_one[] = {0.8f, 0.04f, 0.16f}, unsure_two[] = {0.6f, 0.3f, 0.1f},
              one_class[] = {0.85f, 0.1f, 0.05f};
  EXPECT_TRUE(decide(&t, sure, 3, 0, false).accept);
  const Decision low = decide(&t, unsure_two, 3, 0, false);
  EXPECT_FALSE(low.accept);
  EXPECT_EQ(low.reasons, (std::vector<std::string>{"low_confidence"}));
  EXPECT_EQ(low.set, (std::vector<int>{0, 1, 2}));
  EXPECT_FLOAT_EQ(low.confidence, 0.6f);
  EXPECT_EQ(decide(&t, unsure_one, 3, 0, false).set, (std::vector<int>{0, 2}));
  EXPECT_FALSE(decide(&t, unsure_one, 3, 0, false).accept);
  // Below the threshold but a set of one class: an accept.
  t.conformal.cut = {0.89};  // p >= 0.11
  const Decision single = decide(&t, one_class, 3, 0, false);
  EXPECT_EQ(single.set, (std::vector<int>{0}));
  EXPECT_TRUE(single.accept);
  // Flags and anomalies send even a sure image to review, each reason named.
  const Decision flagged = decide(&t, sure, 3, kTouchesBorder | kMultipleNucleated, true);
  EXPECT_FALSE(flagged.accept);
  EXPECT_EQ(reasons_text(flagged), "quality:touches_border|quality:multiple_nucleated|anomaly");
  EXPECT_NE(reason_sentence("quality:touches_border", flagged, &t).find("touches the image border"), std::string::npos);
  const Decision none = decide(nullptr, sure, 3, 0, false);
  EXPECT_FALSE(none.accept);
  EXPECT_EQ(reasons_text(none), "no_review_policy");
}

TEST(Review, TriageSurvivesItsJsonAndRefusesBadFields) {
  const Drawn d = overconfident(3000, 3, 1.5, 5);
  const Triage t = fit_triage(d.proba, d.labels, no_flags(d.labels.size()), 3, TriageOptions{});
  const std::vector<std::string> classes = {"a", "b", "c"};
  nlohmann::json j = t.to_json(classes);
  j["folds"] = 5;
  const Triage back = Triage::from_json(j, classes);
  EXPECT_EQ(back.calibration.method, t.calibration.method);
  EXPECT_EQ(back.review.threshold, t.review.threshold);
  EXPECT_EQ(back.conformal.cut, t.conformal.cut);
  EXPECT_EQ(back.review.class_review_share, t.review.class_review_share);
  const float row[] = {0.7f, 0.2f, 0.1f};
  EXPECT_EQ(decide(&back, row, 3, 0, false).accept, decide(&t, row, 3, 0, false).accept);
  const auto refused = [&](const std::function<void(nlohmann::json&)>& edit, const std::string& why) {
    nlohmann::json bad = j;
    edit(bad);
    try {
      Triage::from_json(bad, classes);
      ADD_FAILURE() << "accepted: " << why;
    } catch (const std::exception& e) {
      EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << e.what();
    }
  };
  refused([](auto& b) { b["review"]["threshold"] = 1.5; }, "'threshold' lies outside [0, 1]");
  refused([](auto& b) { b["review"]["review_flags"] = {"smudge"}; }, "unknown quality flag 'smudge'");
  refused([](auto& b) { b["conformal"]["alpha"] = 0; }, "alpha must lie in (0, 1)");
  refused([](auto& b) { b["conformal"]["cut"] = {0.5}; }, "one value per class");
  refused([](auto& b) { b["review"]["curve"][0] = {0.5, 2, 0.9}; }, "outside [0, 1]");
  refused([](auto& b) { b["folds"] = 1; }, "'folds' must be at least 2");
  refused([](auto& b) { b["review"].erase("class_review_share"); }, "class_review_share");
}
