// Triage: which images a person must look at. `train` fits it on out-of-fold predictions of
// the training images (every image predicted by a model that did not see it) and keeps it in
// the bundle ("triage" in bundle.json); every command that classifies marks each image
// `accept` or `review` with the reasons (docs/triage.md).
//
//   calibration  the probabilities the outputs show (model/calibration.hpp)
//   review       the confidence threshold t at which the accepted images reach the target
//                accuracy (--accept-accuracy, default 0.995), and the quality flags that
//                always send an image to review
//   conformal    a prediction set per image (model/conformal.hpp, --alpha, default 0.01)
//
// The decision for one image:
//   review, reason "quality:<flag>"  a segmentation quality flag in the review set
//   review, reason "anomaly"         the isolation forests find it unlike the training images
//   review, reason "low_confidence"  calibrated top probability < t AND the prediction set
//                                    holds more than one class
//   accept otherwise: a confident prediction, or a prediction set of exactly one class (a
//   set of one is an accept). t is chosen for this combined rule: it is the lowest threshold
//   at which the out-of-fold images that the rule accepts (quality-flagged ones left out)
//   reach the target accuracy.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/calibration.hpp"
#include "model/conformal.hpp"

namespace hemolens::model {

struct TriageOptions {
  double accept_accuracy = 0.995;
  double alpha = 0.01;
  std::string conformal_method = "lac";
  bool class_conditional = true;
  int calibration_folds = 5;  // cross-fitting that chooses the calibration method
  std::uint64_t seed = 42;
};

// One point of the accuracy-coverage curve: accepting every image at or above `threshold`
// (or with a set of one) accepts `coverage` of the images at `accuracy`.
struct CoveragePoint {
  double threshold = 0, coverage = 0, accuracy = 0;
};

struct ReviewPolicy {
  double accept_accuracy = 0.995;
  double threshold = 1.0;  // accept when calibrated top probability >= threshold; above 1: never by confidence
  bool reachable = true;   // false: even the prediction sets of one alone miss the target
  double expected_coverage = 0, expected_accuracy = 0;  // of the out-of-fold images
  std::uint32_t review_flags = 0;                       // quality flags that always mean review
  std::vector<CoveragePoint> curve;                     // thinned, for the report
  std::vector<double> class_review_share;               // out-of-fold, per true class
};

struct Triage {
  int folds = 0;  // the k-fold cross-validation that gave the out-of-fold predictions
  std::uint64_t seed = 0;
  std::size_t rows = 0;
  Calibration calibration;
  std::vector<CalibrationChoice::Score> calibration_scores;
  int calibration_folds = 0;
  double raw_ece = 0, calibrated_ece = 0;  // in-sample on the out-of-fold rows, for the report
  Reliability reliability;                 // of the calibrated out-of-fold probabilities
  ReviewPolicy review;
  Conformal conformal;
  SetStats set_stats;  // of the out-of-fold rows

  nlohmann::json to_json(const std::vector<std::string>& classes) const;
  // Throws std::runtime_error naming the field that is missing or out of range.
  static Triage from_json(const nlohmann::json& j, const std::vector<std::string>& classes);
};

// The accuracy-coverage curve of the accept rule on labelled rows: one point per distinct
// confidence (the threshold at that confidence) and one for "never" (the sets of one alone),
// highest threshold first. `forced[r]` != 0: row r is reviewed whatever its confidence (a
// quality flag, an anomaly); it counts in the coverage's denominator only.
std::vector<CoveragePoint> coverage_curve(const std::vector<float>& proba, const std::vector<int>& labels, const std::vector<char>& forced,
                                          std::size_t classes, const Conformal& conformal);

// Fits calibration, conformal sets and review policy on out-of-fold probabilities (rows x
// classes), their true labels and the rows' quality flags.
Triage fit_triage(const std::vector<float>& oof_proba, const std::vector<int>& labels, const std::vector<std::uint32_t>& flags,
                  std::size_t classes, const TriageOptions& options);

// The quality flags that send an image to review by default: all of them (no cell, a cell cut
// by the border, another nucleated cell, an implausible size).
std::uint32_t default_review_flags();

struct Decision {
  bool accept = false;
  std::vector<std::string> reasons;  // codes: low_confidence, anomaly, quality:<flag>, no_review_policy
  std::vector<int> set;              // the prediction set (empty without a review policy)
  float confidence = 0;              // calibrated probability of the predicted class
};

// `proba`: the image's calibrated probabilities; `forest_flagged`: the isolation forests
// flagged it (not a quality-flag override); nullptr triage: a bundle without a review policy,
// every image is reviewed ("no_review_policy").
Decision decide(const Triage* triage, const float* proba, std::size_t classes, std::uint32_t quality_flags, bool forest_flagged);

// "low_confidence|quality:touches_border" (empty for an accept): the CSV form.
std::string reasons_text(const Decision& d);
// A sentence per reason for people (the page, the report).
std::string reason_sentence(const std::string& code, const Decision& d, const Triage* triage);

}  // namespace hemolens::model
