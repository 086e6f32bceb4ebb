// Classification metrics from true and predicted class indices: accuracy, per-class
// precision / recall / F1 / support, macro and weighted F1, and the confusion matrix.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace hemolens::model {

struct ClassMetrics {
  double precision = 0, recall = 0, f1 = 0;
  std::size_t support = 0;  // true members of the class
};

struct Metrics {
  std::vector<std::string> classes;
  double accuracy = 0, macro_f1 = 0, weighted_f1 = 0;
  std::vector<ClassMetrics> per_class;
  std::vector<std::vector<std::size_t>> confusion;  // [true][predicted]
  std::size_t samples = 0;
};

// Classes with no true and no predicted members have F1 0 and are still averaged into the
// macro F1 (as scikit-learn does with zero_division=0).
Metrics compute_metrics(const std::vector<int>& truth, const std::vector<int>& predicted, const std::vector<std::string>& classes);

// {accuracy, macro_f1, weighted_f1, classes, per_class: {name: {precision, recall, f1, support}}, confusion, samples}
nlohmann::json to_json(const Metrics& m);

// The index of the largest value of one row (the first of equal ones), and of each row of a
// rows x classes matrix.
std::size_t top_class(const float* row, std::size_t classes);
std::vector<int> argmax_rows(const std::vector<float>& probabilities, std::size_t classes);

}  // namespace hemolens::model
