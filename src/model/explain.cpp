#include "model/explain.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <stdexcept>

#include "hemolens/schema.hpp"
#include "model/metrics.hpp"
#include "model/predict.hpp"  // for calibrate

namespace hemolens::model {
namespace {

std::vector<float> predict_type(const Booster& b, const float* x, std::size_t rows, std::size_t cols, int type, int threads,
                                std::vector<std::size_t>* shape) {
  const DMatrix m(x, rows, cols, threads);
  return b.predict(m, type, 0, shape);
}

}  // namespace

ShapValues shap_values(const Booster& b, const float* x, std::size_t rows, std::size_t cols, int threads) {
  ShapValues s;
  std::vector<std::size_t> shape;
  s.values = predict_type(b, x, rows, cols, 2, threads, &shape);
  // strict_shape: rows x groups x (features + 1); one group per class for multi:softprob.
  if (shape.size() != 3 || shape[0] != rows || shape[2] != cols + 1)
    throw std::runtime_error("SHAP contributions of an unexpected shape (a model for another number of features?)");
  s.rows = rows;
  s.classes = shape[1];
  s.cols = cols;
  return s;
}

std::vector<float> margins(const Booster& b, const float* x, std::size_t rows, std::size_t cols, int threads) {
  std::vector<std::size_t> shape;
  return predict_type(b, x, rows, cols, 1, threads, &shape);
}

std::string feature_group(const std::string& feature_name) {
  static const std::map<std::string, std::string> groups = [] {
    std::map<std::string, std::string> g;
    for (const auto& f : feature_schema().features) g[f.name] = f.group;
    return g;
  }();
  const auto it = groups.find(feature_name);
  return it == groups.end() ? "other" : it->second;
}

std::vector<Explanation> explain_rows(const ModelBundle& bundle, const float* x, std::size_t rows, std::size_t cols, int top_k, int threads) {
  if (cols != bundle.feature_names.size())
    throw std::runtime_error("explain: rows of " + std::to_string(cols) + " features, the model takes " + std::to_string(bundle.feature_names.size()));
  if (rows == 0) return {};
  const ShapValues shap = shap_values(bundle.booster, x, rows, cols, threads);
  std::vector<float> proba = blend_proba(bundle.booster, bundle.svm, x, rows, cols, threads);
  calibrate(bundle, proba.data(), rows);  // the probabilities every output shows
  const std::vector<float> margin = margins(bundle.booster, x, rows, cols, threads);
  const std::size_t k = shap.classes;
  const std::vector<int> predicted = argmax_rows(proba, k);
  const std::vector<std::string> group_order = {"shape", "colour", "texture", "moments", "quality", "other"};
  std::vector<Explanation> out(rows);
  for (std::size_t r = 0; r < rows; ++r) {
    Explanation& e = out[r];
    e.predicted = predicted[r];
    const std::size_t c = std::size_t(e.predicted);
    e.proba.assign(proba.begin() + std::ptrdiff_t(r * k), proba.begin() + std::ptrdiff_t((r + 1) * k));
    e.margin = margin[r * k + c];
    e.bias = shap.bias(r, c);
    e.contributions.resize(cols);
    std::map<std::string, double> sums;
    for (std::size_t f = 0; f < cols; ++f) {
      e.contributions[f] = shap.at(r, c, f);
      sums[feature_group(bundle.feature_names[f])] += e.contributions[f];
    }
    for (const auto& g : group_order)
      if (sums.count(g)) e.groups.push_back({g, sums[g]});
    for (std::size_t f = 0; f < cols; ++f) e.top.push_back({f, e.contributions[f]});
    const std::size_t keep = std::min(cols, std::size_t(std::max(top_k, 0)));
    std::partial_sort(e.top.begin(), e.top.begin() + std::ptrdiff_t(keep), e.top.end(),
                      [](const FeatureContribution& a, const FeatureContribution& b) { return std::fabs(a.value) > std::fabs(b.value); });
    e.top.resize(keep);
  }
  return out;
}

std::string explanation_scope(const ModelBundle& bundle) {
  if (!bundle.svm) return "";
  const int svm = int(std::lround(100 * bundle.svm->weight));
  return "the contributions are those of the boosted trees, which give " + std::to_string(100 - svm) +
         " % of the probabilities; the RBF SVM gives the other " + std::to_string(svm) +
         " % and has no exact per-feature attribution";
}

std::string top_features_summary(const Explanation& e, const std::vector<std::string>& feature_names, int k) {
  std::string s;
  for (std::size_t i = 0; i < e.top.size() && int(i) < k; ++i) {
    char v[32];
    std::snprintf(v, sizeof v, " %+.3f", e.top[i].value);
    s += (i ? "; " : "") + feature_names[e.top[i].feature] + v;
  }
  return s;
}

}  // namespace hemolens::model
