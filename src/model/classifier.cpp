#include "model/classifier.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace hemolens::model {

std::vector<float> blend_proba(const Booster& trees, const std::optional<SvmMember>& svm, const float* features, std::size_t rows,
                               std::size_t cols, int threads) {
  DMatrix m(features, rows, cols, threads);
  std::vector<float> p = trees.predict(m, 0, 0, nullptr);
  if (!svm || svm->weight <= 0) return p;
  const std::vector<float> s = svm->svm.predict_proba(features, rows, threads);
  const float w = float(svm->weight);
  for (std::size_t i = 0; i < p.size(); ++i) p[i] = (1.0f - w) * p[i] + w * s[i];
  return p;
}

double choose_svm_weight(const std::vector<float>& trees, const std::vector<float>& svm, const std::vector<int>& labels,
                         std::size_t classes) {
  double best_weight = 0, best_loss = std::numeric_limits<double>::infinity();
  for (int step = 0; step <= 20; ++step) {
    const double w = step / 20.0;
    double loss = 0;
    for (std::size_t i = 0; i < labels.size(); ++i) {
      const std::size_t at = i * classes + std::size_t(labels[i]);
      loss -= std::log(std::max(1e-7, (1 - w) * trees[at] + w * svm[at]));
    }
    if (loss < best_loss - 1e-9) {
      best_loss = loss;
      best_weight = w;
    }
  }
  return best_weight;
}

}  // namespace hemolens::model
