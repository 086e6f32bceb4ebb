#include "model/conformal.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>

namespace hemolens::model {
namespace {

constexpr double kUnbounded = std::numeric_limits<double>::infinity();

// The classes by falling probability (ties: the lower index first, so every call agrees).
std::vector<int> ranked(const float* p, std::size_t classes) {
  std::vector<int> order(classes);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [p](int a, int b) { return p[a] > p[b]; });
  return order;
}

// The score of every class of one row, in class order (the same arithmetic at fitting and
// at prediction, so a row's own cut is reproduced exactly).
std::vector<double> scores(const std::string& method, const float* p, std::size_t classes) {
  std::vector<double> s(classes);
  if (method == "lac") {
    for (std::size_t c = 0; c < classes; ++c) s[c] = 1.0 - double(p[c]);
    return s;
  }
  double running = 0;
  for (int c : ranked(p, classes)) s[std::size_t(c)] = running += double(p[c]);
  return s;
}

// The ceil((n+1)(1-alpha))-th smallest of `v`; unbounded when that rank exceeds n.
double conformal_cut(std::vector<double> v, double alpha) {
  const double rank = std::ceil((double(v.size()) + 1.0) * (1.0 - alpha) - 1e-9);
  if (v.empty() || rank > double(v.size())) return kUnbounded;
  const std::size_t k = std::size_t(std::max(rank, 1.0)) - 1;
  std::nth_element(v.begin(), v.begin() + std::ptrdiff_t(k), v.end());
  return v[k];
}

void check_method(const std::string& method, double alpha) {
  if (method != "lac" && method != "aps") throw std::runtime_error("conformal: method must be lac or aps, not '" + method + "'");
  if (!(alpha > 0 && alpha < 1)) throw std::runtime_error("conformal: alpha must lie in (0, 1), got " + std::to_string(alpha));
}

}  // namespace

std::vector<int> Conformal::set(const float* p, std::size_t classes) const {
  const std::vector<double> s = scores(method, p, classes);
  std::vector<int> out;
  for (int c : ranked(p, classes))
    if (out.empty() || s[std::size_t(c)] <= cut[class_conditional ? std::size_t(c) : 0]) out.push_back(c);
  return out;
}

nlohmann::json Conformal::to_json() const {
  nlohmann::json cuts = nlohmann::json::array();
  for (double c : cut) cuts.push_back(std::isinf(c) ? nlohmann::json(nullptr) : nlohmann::json(c));
  return {{"method", method}, {"class_conditional", class_conditional}, {"alpha", alpha}, {"cut", cuts}};
}

Conformal Conformal::from_json(const nlohmann::json& j, std::size_t classes) {
  Conformal c;
  c.method = j.at("method").get<std::string>();
  c.class_conditional = j.at("class_conditional").get<bool>();
  c.alpha = j.at("alpha").get<double>();
  check_method(c.method, c.alpha);
  const auto& cuts = j.at("cut");
  if (!cuts.is_array() || cuts.size() != (c.class_conditional ? classes : 1))
    throw std::runtime_error("conformal: 'cut' must hold " + std::string(c.class_conditional ? "one value per class" : "one value"));
  for (const auto& v : cuts) {
    if (v.is_null()) {
      c.cut.push_back(kUnbounded);
      continue;
    }
    const double x = v.get<double>();
    if (!(x >= 0 && x <= 1 + 1e-6)) throw std::runtime_error("conformal: a cut lies outside [0, 1]");  // scores lie in [0, 1]
    c.cut.push_back(x);
  }
  return c;
}

Conformal fit_conformal(const std::vector<float>& proba, const std::vector<int>& labels, std::size_t classes, double alpha,
                        const std::string& method, bool class_conditional) {
  check_method(method, alpha);
  if (classes < 2 || proba.size() != labels.size() * classes) throw std::invalid_argument("conformal: probabilities and labels do not match");
  Conformal c;
  c.method = method;
  c.class_conditional = class_conditional;
  c.alpha = alpha;
  std::vector<std::vector<double>> true_scores(class_conditional ? classes : 1);
  for (std::size_t r = 0; r < labels.size(); ++r) {
    if (labels[r] < 0 || std::size_t(labels[r]) >= classes) throw std::invalid_argument("conformal: a label outside the classes");
    const double s = scores(method, &proba[r * classes], classes)[std::size_t(labels[r])];
    true_scores[class_conditional ? std::size_t(labels[r]) : 0].push_back(s);
  }
  for (auto& v : true_scores) c.cut.push_back(conformal_cut(std::move(v), alpha));
  return c;
}

SetStats set_stats(const Conformal& c, const std::vector<float>& proba, const std::vector<int>& labels, std::size_t classes) {
  SetStats s;
  s.class_coverage.assign(classes, 0);
  s.class_mean_size.assign(classes, 0);
  s.class_rows.assign(classes, 0);
  for (std::size_t r = 0; r < labels.size(); ++r) {
    const std::vector<int> set = c.set(&proba[r * classes], classes);
    const std::size_t y = std::size_t(labels[r]);
    const bool covered = std::find(set.begin(), set.end(), labels[r]) != set.end();
    s.coverage += covered;
    s.mean_size += double(set.size());
    s.singleton_share += set.size() == 1;
    s.class_coverage[y] += covered;
    s.class_mean_size[y] += double(set.size());
    ++s.class_rows[y];
  }
  const double n = double(std::max<std::size_t>(labels.size(), 1));
  s.coverage /= n, s.mean_size /= n, s.singleton_share /= n;
  for (std::size_t k = 0; k < classes; ++k)
    if (s.class_rows[k]) s.class_coverage[k] /= double(s.class_rows[k]), s.class_mean_size[k] /= double(s.class_rows[k]);
  return s;
}

}  // namespace hemolens::model
