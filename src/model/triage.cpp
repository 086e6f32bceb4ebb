#include "model/triage.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>
#include <stdexcept>

#include "hemolens/quality.hpp"
#include "model/metrics.hpp"  // for top_class

namespace hemolens::model {
namespace {

constexpr double kNever = std::numeric_limits<double>::infinity();  // a threshold no confidence reaches

nlohmann::json number_or_null(double v) { return std::isinf(v) ? nlohmann::json(nullptr) : nlohmann::json(v); }


}  // namespace

std::vector<CoveragePoint> coverage_curve(const std::vector<float>& proba, const std::vector<int>& labels, const std::vector<char>& forced,
                                          std::size_t classes, const Conformal& conformal) {
  struct Row {
    float confidence;
    bool correct, singleton;
  };
  std::vector<Row> rows;
  for (std::size_t r = 0; r < labels.size(); ++r) {
    if (forced[r]) continue;
    const float* p = &proba[r * classes];
    const std::size_t top = top_class(p, classes);
    rows.push_back({p[top], labels[r] == int(top), conformal.set(p, classes).size() == 1});
  }
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.confidence > b.confidence; });
  const double all = double(std::max<std::size_t>(labels.size(), 1));
  // Start from "never": the sets of one alone.
  std::size_t accepted = 0, correct = 0;
  for (const Row& r : rows) accepted += r.singleton, correct += r.singleton && r.correct;
  std::vector<CoveragePoint> curve = {{kNever, double(accepted) / all, accepted ? double(correct) / double(accepted) : 1.0}};
  for (std::size_t i = 0; i < rows.size();) {
    const float t = rows[i].confidence;
    for (; i < rows.size() && rows[i].confidence == t; ++i)
      if (!rows[i].singleton) ++accepted, correct += rows[i].correct;  // sets of one were in already
    curve.push_back({double(t), double(accepted) / all, double(correct) / double(std::max<std::size_t>(accepted, 1))});
  }
  return curve;
}

namespace {

// The review policy on out-of-fold rows: every point of the curve is a candidate; the lowest
// threshold whose accepted rows reach the target wins. Quality-flagged rows are reviewed
// whatever the threshold.
ReviewPolicy choose_threshold(const std::vector<float>& proba, const std::vector<int>& labels, const std::vector<std::uint32_t>& flags,
                              std::size_t classes, const Conformal& conformal, double target, std::uint32_t review_flags) {
  std::vector<char> forced(labels.size());
  for (std::size_t r = 0; r < labels.size(); ++r) forced[r] = (flags[r] & review_flags) != 0;
  const std::vector<CoveragePoint> curve = coverage_curve(proba, labels, forced, classes, conformal);
  ReviewPolicy p;
  p.accept_accuracy = target;
  p.review_flags = review_flags;
  const CoveragePoint* chosen = nullptr;
  for (const CoveragePoint& c : curve)
    if (c.accuracy >= target) chosen = &c;  // lower thresholds come later: the last one that reaches the target
  p.reachable = chosen != nullptr;
  if (!chosen)  // the target is out of reach: the most accurate candidate
    chosen = &*std::max_element(curve.begin(), curve.end(), [](const auto& a, const auto& b) { return a.accuracy < b.accuracy; });
  p.threshold = chosen->threshold;
  p.expected_coverage = chosen->coverage;
  p.expected_accuracy = chosen->accuracy;
  // Thin the curve to one point per 0.5 % of coverage (the chosen point kept) for the report.
  double next = -1;
  for (const CoveragePoint& c : curve)
    if (c.coverage >= next || &c == chosen || &c == &curve.back()) {
      p.curve.push_back(c);
      next = c.coverage + 0.005;
    }
  return p;
}

nlohmann::json stats_json(const SetStats& s, const std::vector<std::string>& classes) {
  nlohmann::json per_class = nlohmann::json::object();
  for (std::size_t c = 0; c < classes.size(); ++c)
    per_class[classes[c]] = {{"coverage", s.class_coverage[c]}, {"mean_size", s.class_mean_size[c]}, {"rows", s.class_rows[c]}};
  return {{"coverage", s.coverage}, {"mean_size", s.mean_size}, {"singleton_share", s.singleton_share}, {"per_class", per_class}};
}

double unit_number(const nlohmann::json& j, const char* key) {
  const double v = j.at(key).get<double>();
  if (!(v >= 0 && v <= 1)) throw std::runtime_error(std::string("review: '") + key + "' lies outside [0, 1]");
  return v;
}

}  // namespace

std::uint32_t default_review_flags() { return kNoCell | kTouchesBorder | kMultipleNucleated | kImplausibleSize; }

Triage fit_triage(const std::vector<float>& oof_proba, const std::vector<int>& labels, const std::vector<std::uint32_t>& flags,
                  std::size_t classes, const TriageOptions& o) {
  if (flags.size() != labels.size()) throw std::invalid_argument("triage: flags and labels differ in number");
  if (!(o.accept_accuracy > 0 && o.accept_accuracy <= 1)) throw std::runtime_error("--accept-accuracy must lie in (0, 1]");
  Triage t;
  t.rows = labels.size();
  t.seed = o.seed;
  const CalibrationChoice choice = choose_calibration(oof_proba, labels, classes, o.calibration_folds, o.seed);
  t.calibration = choice.chosen;
  t.calibration_scores = choice.scores;
  t.calibration_folds = choice.folds;
  t.conformal = fit_conformal(choice.held_out, labels, classes, o.alpha, o.conformal_method, o.class_conditional);
  t.set_stats = set_stats(t.conformal, choice.held_out, labels, classes);
  t.review = choose_threshold(choice.held_out, labels, flags, classes, t.conformal, o.accept_accuracy, default_review_flags());
  t.review.class_review_share.assign(classes, 0);
  std::vector<double> members(classes, 0);
  for (std::size_t r = 0; r < labels.size(); ++r) {
    const Decision d = decide(&t, &choice.held_out[r * classes], classes, flags[r], false);
    members[std::size_t(labels[r])] += 1;
    t.review.class_review_share[std::size_t(labels[r])] += !d.accept;
  }
  for (std::size_t c = 0; c < classes; ++c)
    if (members[c] > 0) t.review.class_review_share[c] /= members[c];
  return t;
}

nlohmann::json Triage::to_json(const std::vector<std::string>& classes) const {
  nlohmann::json candidates = nlohmann::json::array();
  for (const auto& s : calibration_scores) candidates.push_back({{"method", s.method}, {"log_loss", s.log_loss}, {"ece", s.ece}});
  nlohmann::json calib = calibration.to_json();
  calib["chosen_by"] = "lowest log-loss of the out-of-fold probabilities, each candidate fitted on " + std::to_string(calibration_folds - 1) +
                       " of " + std::to_string(calibration_folds) + " folds and scored on the other";
  calib["folds"] = calibration_folds;
  calib["candidates"] = candidates;
  nlohmann::json conf = conformal.to_json();
  conf["out_of_fold"] = stats_json(set_stats, classes);
  nlohmann::json curve_j = nlohmann::json::array();
  for (const auto& c : review.curve) curve_j.push_back({number_or_null(c.threshold), c.coverage, c.accuracy});
  nlohmann::json share = nlohmann::json::object();
  for (std::size_t c = 0; c < classes.size() && c < review.class_review_share.size(); ++c) share[classes[c]] = review.class_review_share[c];
  return {{"source", "out-of-fold predictions of stratified k-fold cross-validation of the training images"},
          {"folds", folds},
          {"seed", seed},
          {"rows", rows},
          {"calibration", calib},
          {"conformal", conf},
          {"review",
           {{"accept_accuracy", review.accept_accuracy},
            {"threshold", number_or_null(review.threshold)},
            {"reachable", review.reachable},
            {"expected_coverage", review.expected_coverage},
            {"expected_accuracy", review.expected_accuracy},
            {"review_flags", flag_names(review.review_flags)},
            {"curve", curve_j},
            {"class_review_share", share}}}};
}

Triage Triage::from_json(const nlohmann::json& j, const std::vector<std::string>& class_names) {
  const std::size_t classes = class_names.size();
  Triage t;
  t.folds = j.at("folds").get<int>();
  t.seed = j.at("seed").get<std::uint64_t>();
  t.rows = j.at("rows").get<std::size_t>();
  t.calibration = Calibration::from_json(j.at("calibration"), classes);
  t.calibration_folds = j.at("calibration").at("folds").get<int>();
  for (const auto& s : j.at("calibration").at("candidates"))
    t.calibration_scores.push_back({s.at("method").get<std::string>(), s.at("log_loss").get<double>(), s.at("ece").get<double>()});
  t.conformal = Conformal::from_json(j.at("conformal"), classes);
  const auto& oof = j.at("conformal").at("out_of_fold");
  t.set_stats.coverage = oof.at("coverage").get<double>();
  t.set_stats.mean_size = oof.at("mean_size").get<double>();
  t.set_stats.singleton_share = oof.at("singleton_share").get<double>();
  const auto& r = j.at("review");
  ReviewPolicy& p = t.review;
  p.accept_accuracy = unit_number(r, "accept_accuracy");
  p.threshold = r.at("threshold").is_null() ? kNever : unit_number(r, "threshold");
  p.reachable = r.at("reachable").get<bool>();
  p.expected_coverage = unit_number(r, "expected_coverage");
  p.expected_accuracy = unit_number(r, "expected_accuracy");
  for (const auto& name : r.at("review_flags").get<std::vector<std::string>>()) {
    const std::uint32_t bit = flag_bit(name);
    if (!bit) throw std::runtime_error("review: unknown quality flag '" + name + "'");
    p.review_flags |= bit;
  }
  for (const auto& c : r.at("curve")) {
    if (!c.is_array() || c.size() != 3) throw std::runtime_error("review: a curve point must be [threshold, coverage, accuracy]");
    const CoveragePoint q{c[0].is_null() ? kNever : c[0].get<double>(), c[1].get<double>(), c[2].get<double>()};
    if (!((std::isinf(q.threshold) || (q.threshold >= 0 && q.threshold <= 1)) && q.coverage >= 0 && q.coverage <= 1 && q.accuracy >= 0 &&
          q.accuracy <= 1))
      throw std::runtime_error("review: a curve point lies outside [0, 1]");
    p.curve.push_back(q);
  }
  for (const auto& name : class_names) p.class_review_share.push_back(r.at("class_review_share").at(name).get<double>());
  if (t.folds < 2) throw std::runtime_error("'folds' must be at least 2");
  return t;
}

Decision decide(const Triage* t, const float* proba, std::size_t classes, std::uint32_t quality_flags, bool anomaly) {
  Decision d;
  d.confidence = proba[top_class(proba, classes)];
  if (!t) {
    d.reasons.push_back("no_review_policy");
    return d;
  }
  d.set = t->conformal.set(proba, classes);
  for (const auto& info : quality_flag_infos())
    if (quality_flags & t->review.review_flags & info.bit) d.reasons.push_back(std::string("quality:") + info.name);
  if (anomaly) d.reasons.push_back("anomaly");
  if (double(d.confidence) < t->review.threshold && d.set.size() > 1) d.reasons.push_back("low_confidence");
  d.accept = d.reasons.empty();
  return d;
}

std::string reasons_text(const Decision& d) {
  std::string out;
  for (const auto& r : d.reasons) out += (out.empty() ? "" : "|") + r;
  return out;
}

std::string reason_sentence(const std::string& code, const Decision& d, const Triage* t) {
  char buf[256];
  if (code == "low_confidence" && t) {
    std::snprintf(buf, sizeof buf,
                  "Low confidence: %.1f %% for the predicted class, below the accept threshold %.1f %%, and the prediction set holds %zu classes.",
                  100.0 * d.confidence, 100.0 * t->review.threshold, d.set.size());
    return buf;
  }
  if (code == "anomaly") return "Anomaly: unlike the training images of its class (blur, staining, exposure, or an unexpected object).";
  if (code == "no_review_policy") return "No review policy: the model was trained without one; train it again with this hemolens.";
  if (code.rfind("quality:", 0) == 0)
    for (const auto& info : quality_flag_infos())
      if (code.substr(8) == info.name) return std::string("Quality flag: ") + info.description + ".";
  return code;
}

}  // namespace hemolens::model
