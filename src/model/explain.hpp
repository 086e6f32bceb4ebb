// Explanations of the classifier's predictions: SHAP contributions (XGBoost's TreeSHAP through
// the C API), the features that moved a prediction most, and sums per feature group.
//
// For each row and class, the contributions of all features plus the bias add up to the
// model's margin for that class (the log-odds-like score before softmax): that additivity is
// what makes them readable as "this feature pushed towards / away from the class".
//
// With an SVM member (model/svm.hpp) the class and probabilities are the averaged model's, and
// the contributions are the trees' for that class: an RBF machine has no exact per-feature
// attribution (its kernel multiplies the features' terms), so its share of the probabilities
// (bundle.json "svm" "weight") is named beside the explanation instead of being spread over
// features by an approximation.
#pragma once
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "model/bundle.hpp"
#include "model/xgboost.hpp"

namespace hemolens::model {

// rows x classes x (cols + 1) contributions; the last entry of each (row, class) is the bias.
struct ShapValues {
  std::size_t rows = 0, classes = 0, cols = 0;
  std::vector<float> values;
  float at(std::size_t r, std::size_t c, std::size_t f) const { return values[(r * classes + c) * (cols + 1) + f]; }
  float bias(std::size_t r, std::size_t c) const { return at(r, c, cols); }
};
ShapValues shap_values(const Booster& b, const float* x, std::size_t rows, std::size_t cols, int threads = 0);

// rows x classes margins (prediction type 1).
std::vector<float> margins(const Booster& b, const float* x, std::size_t rows, std::size_t cols, int threads = 0);

struct FeatureContribution {
  std::size_t feature = 0;
  float value = 0;  // > 0: towards the predicted class
};

struct Explanation {
  int predicted = -1;
  std::vector<float> proba;                 // per class
  std::vector<float> contributions;         // per feature, for the predicted class
  float bias = 0;                           // the predicted class's bias (expected margin)
  float margin = 0;                         // the predicted class's margin
  std::vector<FeatureContribution> top;     // the largest |contribution| first
  std::vector<std::pair<std::string, double>> groups;  // sum per group: shape, colour, texture, moments, quality
};

// The group of a feature from the schema (shape, colour, texture, moments, quality);
// "other" when the name is not in this hemolens's schema.
std::string feature_group(const std::string& feature_name);

// One explanation per row of a rows x cols table (the bundle's feature columns).
std::vector<Explanation> explain_rows(const ModelBundle& bundle, const float* x, std::size_t rows, std::size_t cols, int top_k,
                                      int threads = 0);

// What the contributions explain, in words: "" for a bundle of trees alone; with an SVM member,
// that they are the trees' and what share of the probabilities the SVM holds. Every output
// that shows contributions shows this beside them.
std::string explanation_scope(const ModelBundle& bundle);

// "nucleus_area +0.84; cell_hue_mean -0.31; ..." (top k): the column `predict --explain` adds.
std::string top_features_summary(const Explanation& e, const std::vector<std::string>& feature_names, int k = 3);

}  // namespace hemolens::model
