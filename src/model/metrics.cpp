#include "model/metrics.hpp"

#include <algorithm>
#include <stdexcept>

namespace hemolens::model {

Metrics compute_metrics(const std::vector<int>& truth, const std::vector<int>& predicted, const std::vector<std::string>& classes) {
  if (truth.size() != predicted.size()) throw std::invalid_argument("metrics: truth and predictions differ in length");
  const std::size_t k = classes.size();
  Metrics m;
  m.classes = classes;
  m.samples = truth.size();
  m.confusion.assign(k, std::vector<std::size_t>(k, 0));
  std::size_t correct = 0;
  for (std::size_t i = 0; i < truth.size(); ++i) {
    if (truth[i] < 0 || std::size_t(truth[i]) >= k || predicted[i] < 0 || std::size_t(predicted[i]) >= k)
      throw std::invalid_argument("metrics: class index out of range");
    ++m.confusion[std::size_t(truth[i])][std::size_t(predicted[i])];
    correct += truth[i] == predicted[i];
  }
  m.accuracy = m.samples ? double(correct) / double(m.samples) : 0.0;
  m.per_class.resize(k);
  for (std::size_t c = 0; c < k; ++c) {
    std::size_t tp = m.confusion[c][c], actual = 0, called = 0;
    for (std::size_t j = 0; j < k; ++j) {
      actual += m.confusion[c][j];
      called += m.confusion[j][c];
    }
    ClassMetrics& pc = m.per_class[c];
    pc.support = actual;
    pc.precision = called ? double(tp) / double(called) : 0.0;
    pc.recall = actual ? double(tp) / double(actual) : 0.0;
    pc.f1 = pc.precision + pc.recall > 0 ? 2 * pc.precision * pc.recall / (pc.precision + pc.recall) : 0.0;
    m.macro_f1 += pc.f1 / double(k);
    m.weighted_f1 += m.samples ? pc.f1 * double(actual) / double(m.samples) : 0.0;
  }
  return m;
}

nlohmann::json to_json(const Metrics& m) {
  nlohmann::json per_class = nlohmann::json::object();
  for (std::size_t c = 0; c < m.classes.size(); ++c) {
    const ClassMetrics& pc = m.per_class[c];
    per_class[m.classes[c]] = {{"precision", pc.precision}, {"recall", pc.recall}, {"f1", pc.f1}, {"support", pc.support}};
  }
  return {{"accuracy", m.accuracy}, {"macro_f1", m.macro_f1}, {"weighted_f1", m.weighted_f1}, {"classes", m.classes},
          {"per_class", per_class},  {"confusion", m.confusion}, {"samples", m.samples}};
}

std::size_t top_class(const float* row, std::size_t classes) { return std::size_t(std::max_element(row, row + classes) - row); }

std::vector<int> argmax_rows(const std::vector<float>& p, std::size_t classes) {
  std::vector<int> out(classes ? p.size() / classes : 0);
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = int(top_class(&p[i * classes], classes));
  return out;
}

}  // namespace hemolens::model
