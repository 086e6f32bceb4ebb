#include "serve/analyzer.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <opencv2/imgproc.hpp>

#include "cpu/cpu_backend.hpp"
#include "cpu/segment.hpp"
#include "features/accumulators.hpp"
#include "hemolens/quality.hpp"
#include "hemolens/schema.hpp"
#include "hemolens/version.hpp"
#include "model/explain.hpp"
#include "model/xgboost.hpp"

namespace fs = std::filesystem;

namespace hemolens::serve {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

// The outer boundaries of a 0/1 mask's components, simplified to within a pixel: enough to
// draw, a few hundred points per image instead of every boundary pixel.
std::vector<Polygon> outlines(const Plane8& mask) {
  cv::Mat m(mask.height, mask.width, CV_8UC1, const_cast<std::uint8_t*>(mask.data.data()));
  std::vector<std::vector<cv::Point>> contours;
  cv::findContours(m.clone(), contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_SIMPLE);
  std::vector<Polygon> out;
  for (const auto& c : contours) {
    std::vector<cv::Point> simple;
    cv::approxPolyDP(c, simple, 1.0, true);
    Polygon p;
    for (const cv::Point& q : simple) p.push_back({q.x, q.y});
    out.push_back(std::move(p));
  }
  return out;
}

nlohmann::json polygons_json(const std::vector<Polygon>& polys) {
  nlohmann::json out = nlohmann::json::array();
  for (const Polygon& p : polys) {
    nlohmann::json pts = nlohmann::json::array();
    for (const Point& q : p) pts.push_back({q.x, q.y});
    out.push_back(pts);
  }
  return out;
}

std::string format_value(float v, const std::string& unit) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.4g", double(v));
  if (unit == "0-255") return std::string(buf) + " of 255";
  return unit.empty() ? buf : std::string(buf) + " " + unit;
}

}  // namespace

Analyzer::Analyzer(const fs::path& model_dir, AnalyzerOptions options) : bundle_(model::load_bundle(model_dir)), options_(options) {
  const FeatureSchema& schema = feature_schema();
  if (bundle_.schema_hash != schema.hash || bundle_.feature_names != schema.names())
    throw std::runtime_error("model bundle " + model_dir.string() + " was trained on feature schema " + bundle_.schema_hash +
                             " but this hemolens computes schema " + schema.hash + " (v" + std::to_string(schema.version) +
                             "): train the model again on a store made by this hemolens");
  anomaly_ = model::load_anomaly(bundle_);
  // Fixed before the first request: a parameter change while other threads predict is not safe.
  bundle_.booster.set_param("nthread", std::to_string(options_.model_threads));
}

ImageAnalysis Analyzer::analyze(const std::vector<std::uint8_t>& bytes) const {
  ImageAnalysis a;
  auto t = Clock::now();
  const DecodeResult d = decode_bytes(bytes, options_.limits);
  if (!d.image) throw AnalyzeError(d.over_limit ? 413 : 422, d.reason);
  a.id = d.image->id;
  a.width = d.image->width;
  a.height = d.image->height;
  a.decode_ms = ms_since(t);

  t = Clock::now();
  const RgbView view{d.image->rgb.data(), a.height, a.width};
  const cpu::Segmentation seg = cpu::segment(view, {});
  thread_local features::ImageAccumulators acc;  // ~60 KB of scratch, reused per request thread
  std::vector<float> row(bundle_.feature_names.size());
  a.quality_flags = cpu::extract_segmented(seg, acc, row.data());
  a.cell_outline = outlines(seg.cell);
  a.nucleus_outline = outlines(seg.nucleus);
  a.features_ms = ms_since(t);

  t = Clock::now();
  const int threads = options_.model_threads;
  const model::Explanation e = model::explain_rows(bundle_, row.data(), 1, row.size(), options_.top_features, threads)[0];
  a.predicted = e.predicted;
  a.proba = e.proba;
  a.groups = e.groups;
  a.bias = e.bias;
  a.margin = e.margin;
  for (const auto& c : e.top) a.top.push_back({c.feature, row[c.feature], c.value});
  if (anomaly_) {
    const model::AnomalyScores s = model::score_anomaly(*anomaly_, row.data(), 1, row.size(), {e.predicted}, {a.quality_flags}, "cpu", threads);
    a.has_anomaly = true;
    a.anomaly_score = s.score[0];
    a.anomaly_threshold = s.threshold[0];
    a.flagged = s.flagged[0] != 0;
    a.flag_reason = s.reason[0];
    a.judged_by = anomaly_->forest_names[std::size_t(s.forest[0])];
  }
  a.decision = model::decide(bundle_.triage ? &*bundle_.triage : nullptr, a.proba.data(), a.proba.size(), a.quality_flags,
                             a.flagged && a.flag_reason == "forest");
  a.model_ms = ms_since(t);
  return a;
}

std::string Analyzer::verdict(const ImageAnalysis& a) const {
  const std::string& cls = bundle_.classes[std::size_t(a.predicted)];
  if (!a.has_anomaly) return "No anomaly check: this model has no anomaly detector (add one with `hemolens fit-anomaly`).";
  if (a.flagged && a.flag_reason != "forest") {
    std::string found;
    for (const auto& info : quality_flag_infos())
      if (a.quality_flags & anomaly_->override_flags & info.bit) found += (found.empty() ? "" : "; ") + std::string(info.description);
    return "Check this image: " + found + ", so the class may not describe one cell.";
  }
  if (a.flagged)
    return "Unusual: this image is unlike the training images of " + cls + " (blur, staining, exposure, or an unexpected cell). Review it before relying on the class.";
  return "Looks like the training images of " + cls + ".";
}

nlohmann::json Analyzer::to_json(const ImageAnalysis& a, bool with_outlines) const {
  const std::vector<FeatureInfo>& info = feature_schema().features;
  const std::string& cls = bundle_.classes[std::size_t(a.predicted)];
  nlohmann::json probs = nlohmann::json::object();
  for (std::size_t c = 0; c < bundle_.classes.size(); ++c) probs[bundle_.classes[c]] = a.proba[c];
  nlohmann::json top = nlohmann::json::array();
  for (const FeatureReason& r : a.top) {
    const FeatureInfo& f = info[r.column];
    top.push_back({{"name", f.name},
                   {"label", f.label},
                   {"group", f.group},
                   {"region", f.region},
                   {"description", f.description},
                   {"value", r.value},
                   {"unit", f.unit},
                   {"contribution", r.contribution},
                   {"text", f.label + " = " + format_value(r.value, f.unit) + ": " + (r.contribution > 0 ? "for " : "against ") + cls}});
  }
  nlohmann::json groups = nlohmann::json::object();
  for (const auto& [g, sum] : a.groups) groups[g] = sum;
  nlohmann::json quality = nlohmann::json::array();
  for (const auto& info_flag : quality_flag_infos())
    if (a.quality_flags & info_flag.bit) quality.push_back({{"flag", info_flag.name}, {"description", info_flag.description}});
  nlohmann::json anomaly = nullptr;
  if (a.has_anomaly)
    anomaly = {{"score", a.anomaly_score},
               {"threshold", a.anomaly_threshold},
               {"flagged", a.flagged},
               {"reason", a.flag_reason},
               {"judged_by", a.judged_by}};
  nlohmann::json j = {{"id", a.id},
                      {"decision", decision_json(a.decision)},
                      {"width", a.width},
                      {"height", a.height},
                      {"class", cls},
                      {"probability", a.proba[std::size_t(a.predicted)]},
                      {"probabilities", probs},
                      {"anomaly", anomaly},
                      {"flagged", a.flagged},
                      {"verdict", verdict(a)},
                      {"quality_flags", quality},
                      {"top_features", top},
                      {"feature_groups", groups},
                      {"baseline", a.bias},
                      {"margin", a.margin},
                      {"timing_ms", {{"decode", a.decode_ms}, {"features", a.features_ms}, {"model", a.model_ms}}}};
  if (with_outlines) j["outlines"] = {{"cell", polygons_json(a.cell_outline)}, {"nucleus", polygons_json(a.nucleus_outline)}};
  return j;
}

nlohmann::json Analyzer::decision_json(const model::Decision& d) const {
  const model::Triage* t = bundle_.triage ? &*bundle_.triage : nullptr;
  nlohmann::json reasons = nlohmann::json::array();
  for (const auto& code : d.reasons) reasons.push_back({{"code", code}, {"text", model::reason_sentence(code, d, t)}});
  nlohmann::json set = nlohmann::json::array();
  for (int c : d.set) set.push_back(bundle_.classes[std::size_t(c)]);
  return {{"decision", d.accept ? "accept" : "review"},
          {"reasons", reasons},
          {"confidence", d.confidence},
          {"threshold", t && !std::isinf(t->review.threshold) ? nlohmann::json(t->review.threshold) : nlohmann::json(nullptr)},
          {"prediction_set", set}};
}

nlohmann::json Analyzer::model_json() const {
  const nlohmann::json& m = bundle_.meta;
  const FeatureSchema& schema = feature_schema();
  auto get = [&](const char* key) { return m.contains(key) ? m[key] : nlohmann::json(nullptr); };
  nlohmann::json anomaly = nullptr;
  if (anomaly_)
    anomaly = {{"forests", anomaly_->forests.size()},
               {"contamination", anomaly_->contamination},
               {"rule", anomaly_->rule},
               {"threshold_source", anomaly_->threshold_source},
               {"override_flags", flag_names(anomaly_->override_flags)}};
  nlohmann::json triage = nullptr;
  if (const auto& t = bundle_.triage)
    triage = {{"calibration", t->calibration.method},
              {"accept_accuracy", t->review.accept_accuracy},
              {"threshold", std::isinf(t->review.threshold) ? nlohmann::json(nullptr) : nlohmann::json(t->review.threshold)},
              {"expected_coverage", t->review.expected_coverage},
              {"expected_accuracy", t->review.expected_accuracy},
              {"alpha", t->conformal.alpha},
              {"folds", t->folds}};
  return {{"model", bundle_.dir.filename().string()},
          {"triage", triage},
          {"classes", bundle_.classes},
          {"schema", {{"version", schema.version}, {"hash", schema.hash}, {"features", schema.features.size()}}},
          {"training", {{"metrics", get("metrics")}, {"best_round", get("best_round")}, {"class_weights", get("class_weights")},
                        {"created", get("created")}, {"device", get("device")}}},
          {"anomaly", anomaly},
          {"versions", {{"hemolens", kEngineVersion}, {"model_engine", get("engine_version")}, {"xgboost", model::xgboost_info().version()}}},
          {"limits", {{"max_pixels", options_.limits.max_pixels}, {"min_side", options_.limits.min_side}}},
          {"top_features", options_.top_features},
          {"svm_member", bundle_.svm ? nlohmann::json{{"weight", bundle_.svm->weight}, {"support_vectors", bundle_.svm->svm.support_vectors()}}
                                     : nlohmann::json(nullptr)},
          {"explanation_scope", model::explanation_scope(bundle_)}};
}

}  // namespace hemolens::serve
