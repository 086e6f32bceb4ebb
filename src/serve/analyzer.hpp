// One image in memory -> what the lab page and the JSON API show: the class and every
// class's (calibrated) probability, accept or review with the reasons and the prediction set,
// the anomaly verdict, the segmentation quality flags, the features that decided the class
// (SHAP) in words, and the outlines of the segmented cell and nucleus.
//
// The model is loaded once; analyze() is const and runs on many request threads at once
// (XGBoost's prediction is thread-safe; the per-image scratch is per thread).
#pragma once
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "hemolens/decode.hpp"
#include "model/anomaly.hpp"
#include "model/bundle.hpp"
#include "model/triage.hpp"

namespace hemolens::serve {

struct AnalyzerOptions {
  DecodeLimits limits;
  int top_features = 5;
  int model_threads = 1;  // XGBoost threads per image; requests already run in parallel
};

// Why an image could not be analysed, with the HTTP status that says so (413: over a limit,
// 422: not a usable image).
struct AnalyzeError : std::runtime_error {
  int status;
  AnalyzeError(int s, const std::string& what) : std::runtime_error(what), status(s) {}
};

struct Point {
  int x = 0, y = 0;
};
using Polygon = std::vector<Point>;

// A feature that moved the decision, with what a reader needs to understand it.
struct FeatureReason {
  std::size_t column = 0;
  float value = 0;         // the feature's value for this image
  float contribution = 0;  // SHAP: > 0 pushed towards the predicted class
};

struct ImageAnalysis {
  std::string id;  // content hash of the bytes
  int width = 0, height = 0;
  int predicted = -1;
  std::vector<float> proba;  // per class, in the model's order, calibrated
  std::uint32_t quality_flags = 0;
  // Anomaly: absent when the bundle has no anomaly model.
  bool has_anomaly = false;
  float anomaly_score = 0, anomaly_threshold = 0;
  bool flagged = false;
  std::string flag_reason;  // "forest", or the segmentation flags that forced the flag
  std::string judged_by;    // the forest that judged it
  model::Decision decision;  // accept or review, with the reasons and the prediction set (model/triage.hpp)
  std::vector<FeatureReason> top;
  std::vector<std::pair<std::string, double>> groups;  // SHAP sum per feature group
  float bias = 0, margin = 0;
  std::vector<Polygon> cell_outline, nucleus_outline;  // image pixel coordinates
  double decode_ms = 0, features_ms = 0, model_ms = 0;
};

class Analyzer {
 public:
  // Throws naming the bundle when it cannot be loaded or was made for another feature schema.
  Analyzer(const std::filesystem::path& model_dir, AnalyzerOptions options = {});

  // Throws AnalyzeError for bytes that are not a usable image.
  ImageAnalysis analyze(const std::vector<std::uint8_t>& bytes) const;

  // Per image, in the API's shape (README, "JSON API"); outlines only when asked.
  nlohmann::json to_json(const ImageAnalysis& a, bool outlines) const;
  // The "decision" object of an image: accept or review, reasons (code and sentence),
  // confidence, threshold, prediction set.
  nlohmann::json decision_json(const model::Decision& d) const;
  // GET /api/model: classes, schema, training metrics, triage, anomaly model, versions, limits.
  nlohmann::json model_json() const;

  // The verdict in plain words, for the page and the API.
  std::string verdict(const ImageAnalysis& a) const;
  const model::ModelBundle& bundle() const { return bundle_; }

 private:
  model::ModelBundle bundle_;
  std::optional<model::AnomalyModel> anomaly_;
  AnalyzerOptions options_;
};

}  // namespace hemolens::serve
