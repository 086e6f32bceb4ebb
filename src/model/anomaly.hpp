// Anomaly detection for a model bundle: isolation forests per class, their thresholds, the
// override by segmentation quality flags, and their place in the bundle (docs/anomaly.md).
//
// Why a forest per class: one forest over all classes sees rare classes (lymphocytes,
// erythroblasts) as anomalies and flags them far more often than common ones. Each class
// gets a forest fitted on its own training rows and a threshold calibrated on that class, so
// that about `contamination` of the class's images are flagged whatever its frequency.
// Thresholds are calibrated on out-of-fold scores (k-fold cross-fitting) because a forest
// scores the rows it was grown on as more normal than new images of the same kind, and a
// threshold taken from those in-sample scores would flag more new images than intended.
#pragma once
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hemolens/quality.hpp"
#include "hemolens/store.hpp"
#include "model/bundle.hpp"
#include "model/isolation_forest.hpp"

namespace hemolens::model {

inline constexpr int kAnomalyFormatVersion = 2;  // 2: per-forest scales, joint calibration

struct AnomalyParams {
  ForestParams forest;
  double contamination = 0.03;  // share of each class's (out-of-fold) training images above its threshold
  double threshold = std::nan("");  // an explicit score threshold for every forest; overrides contamination
  bool per_class = true;            // false: one forest over all rows
  // Each class (or the all-rows group) also gets a forest over the features of each of these
  // groups only (quality: focus, background colour before white balance, thresholds; shape;
  // colour; ...): a forest over all the features picks one of a few telling columns too rarely
  // to isolate a dark, washed-out or misshapen image. A group's forests share the
  // contamination; an image is judged by its worst margin. The shape forest is what isolates
  // two cells joined into one outline (docs/anomaly.md, "Group forests").
  std::vector<std::string> group_forests = {"quality", "shape"};
  int min_class_rows = 16;          // a class with fewer labelled rows uses the all-rows forest
  int calibration_folds = 5;
  // "predicted": the forest of the predicted class judges an image. "nearest": the image is
  // judged by the forest of the class it is most typical of (smallest score - threshold),
  // which does not flag a normal image that the classifier got wrong.
  std::string rule = "predicted";
  int threads = 0;
};

struct AnomalyModel {
  ForestParams params;
  std::vector<std::string> classes;      // the classifier's classes, in its order
  std::vector<IsolationForest> forests;
  std::vector<std::string> forest_names; // a class name, or "all"
  std::vector<std::string> forest_columns;  // "all" features, or one feature group's ("quality", "shape", ...)
  std::vector<std::size_t> forest_rows;  // training rows each forest was fitted on
  std::vector<float> thresholds;         // per forest: flagged when score > threshold
  // Per forest: the spread of its out-of-fold scores (95th percentile - median). Margins are
  // (score - threshold) / scale, so that forests over different columns, whose scores spread
  // differently, compare: the forest of a group with the largest such margin judges.
  std::vector<float> scales;
  std::vector<double> calibration_rate;  // per forest: share of out-of-fold training scores above it
  std::vector<std::vector<int>> class_forests;  // the forests that judge each class
  std::vector<int> all_forests;                 // the all-rows forests; empty when none was needed
  std::string threshold_source;          // "contamination" or "score"
  double contamination = 0;
  std::string rule = "predicted";
  std::uint32_t override_flags = kNoCell | kMultipleNucleated;  // flagged whatever the forest says
};

// Fits on the rows of `store` (rows carrying an override flag are left out: segmentation
// already flags such images). Labelled rows give the per-class forests; `classes` are the
// classifier's classes (the store's classes must be the same list).
AnomalyModel fit_anomaly(const StoreData& store, const std::vector<std::string>& classes, const AnomalyParams& p);
// The same on a plain table; labels[i] indexes classes, -1 when unlabelled. groups: the
// feature group of each column (for the quality forests; none when empty).
AnomalyModel fit_anomaly(const float* x, std::size_t rows, std::size_t cols, const std::vector<int>& labels,
                         const std::vector<std::string>& classes, const AnomalyParams& p, const std::vector<std::string>& groups = {});

struct AnomalyScores {
  std::vector<float> score;      // s(x) of the forest that judged the row, in (0, 1]
  std::vector<float> threshold;  // that forest's threshold
  std::vector<int> forest;       // which forest judged it (of its group, the one with the largest margin)
  std::vector<std::uint8_t> flagged;
  std::vector<std::string> reason;  // "", "forest", or the quality flags that forced the flag ("no_cell")
  // (score - threshold) / scale of the judging forest: > 0 is flagged by the forest;
  // comparable across classes and forests (what a ROC curve over a mix of classes ranks by).
  std::vector<float> margin;
  std::string device;               // where the forests ran: cpu or cuda
};

// predicted: the classifier's class per row (used by the "predicted" rule); flags: the
// segmentation quality flags per row. device: cpu, cuda or auto.
AnomalyScores score_anomaly(const AnomalyModel& m, const float* x, std::size_t rows, std::size_t cols, const std::vector<int>& predicted,
                            const std::vector<std::uint32_t>& flags, const std::string& device = "auto", int threads = 0);

// The rows of a store (its quality flags), judged with the classifier's predictions: what
// `score` writes and what `predict` can add as columns.
AnomalyScores score_store(const AnomalyModel& m, const StoreData& store, const std::vector<int>& predicted, const std::string& device = "auto",
                          int threads = 0);

// Row i was flagged by the anomaly model's own judgement, not only forced by a quality flag.
inline bool flagged_by_model(const AnomalyScores& s, std::size_t i) { return s.flagged[i] && s.reason[i] == "forest"; }

// The bundle.json entry "anomaly" (without the file name and hash).
nlohmann::json anomaly_json(const AnomalyModel& m);

// Adds (or replaces) the anomaly model of an existing bundle in place: the forests go to a new
// file named after its hash, bundle.json is replaced atomically (the commit point), then the
// old forest file is removed. `extra` is merged into the "anomaly" entry (e.g. the store).
void add_anomaly_to_bundle(const std::filesystem::path& dir, const AnomalyModel& m, const nlohmann::json& extra = {});

// The bundle's anomaly model; nullopt when it has none. Throws naming the bundle when the
// forest file is missing, damaged, or does not fit the classifier.
std::optional<AnomalyModel> load_anomaly(const ModelBundle& bundle);

}  // namespace hemolens::model
