// Calibrated class probabilities: a map fitted on out-of-fold predictions of the training
// data that turns the classifier's probabilities into ones that mean what they say (of the
// images given 0.9, about 90 % are right).
//
//   temperature  p_c -> softmax(log p_c / T): one number; keeps the ranking of the classes
//                (the predicted class never changes) and sharpens (T < 1) or softens (T > 1)
//   isotonic     per class, a non-decreasing step-and-ramp map of p_c fitted by pool-adjacent-
//                violators on "is this class" (one against the rest), then renormalised to
//                sum to 1; more flexible, can reorder the classes
//   none         the probabilities as they are
//
// Which one a model uses is chosen by measurement: each candidate is fitted on k-1 folds of
// the out-of-fold rows and scored on the k-th (log-loss first, expected calibration error
// reported beside it); the figures of every candidate are kept in the bundle.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace hemolens::model {

// A non-decreasing piecewise-linear map on [0, 1]: linear between the points, constant
// outside them (what scikit-learn's IsotonicRegression predicts with out_of_bounds="clip").
struct IsotonicMap {
  std::vector<float> x, y;  // x strictly increasing, y non-decreasing, both in [0, 1]
  float operator()(float v) const;
};

struct Calibration {
  std::string method = "none";  // none, temperature, isotonic
  double temperature = 1.0;
  std::vector<IsotonicMap> isotonic;  // one per class (isotonic)

  // Calibrated probabilities of a rows x classes matrix (rows sum to 1 again).
  std::vector<float> apply(const std::vector<float>& proba, std::size_t classes) const;
  void apply_in_place(float* proba, std::size_t rows, std::size_t classes) const;

  nlohmann::json to_json() const;
  // Throws std::runtime_error naming the field that is missing or out of range.
  static Calibration from_json(const nlohmann::json& j, std::size_t classes);
};

// Fits one method ("temperature" or "isotonic"; "none" returns the identity) on rows x classes
// probabilities and their true labels.
Calibration fit_calibration(const std::string& method, const std::vector<float>& proba, const std::vector<int>& labels, std::size_t classes);

// Mean negative log-likelihood of the true class (probabilities clipped at 1e-15, as
// scikit-learn's log_loss does).
double log_loss(const std::vector<float>& proba, const std::vector<int>& labels, std::size_t classes);

// The reliability of the top-class confidence in `bins` equal-width bins over [0, 1]: per
// bin the images, their mean confidence and their accuracy; ECE is the image-weighted mean
// |accuracy - confidence| over the bins.
struct Reliability {
  std::vector<std::size_t> count;
  std::vector<double> confidence, accuracy;
  double ece = 0;
};
Reliability reliability(const std::vector<float>& proba, const std::vector<int>& labels, std::size_t classes, int bins = 15);

struct CalibrationChoice {
  Calibration chosen;
  // Per candidate (none, temperature, isotonic): held-out log-loss and ECE, pooled over folds.
  struct Score {
    std::string method;
    double log_loss = 0, ece = 0;
  };
  std::vector<Score> scores;
  int folds = 0;
  // The rows calibrated by the chosen method fitted without them (cross-fitted): what the
  // conformal cut and the review threshold are then fitted on, so that neither sees rows
  // calibrated by a map that was fitted on them.
  std::vector<float> held_out;
};

// Scores every candidate by `folds`-fold cross-fitting on the given (out-of-fold) rows,
// chooses the lowest held-out log-loss, and fits the chosen one on all rows.
CalibrationChoice choose_calibration(const std::vector<float>& proba, const std::vector<int>& labels, std::size_t classes, int folds,
                                     std::uint64_t seed);

}  // namespace hemolens::model
