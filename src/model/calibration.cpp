#include "model/calibration.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

#include "model/metrics.hpp"  // for top_class
#include "model/train.hpp"    // for stratified_folds

namespace hemolens::model {
namespace {

constexpr double kClip = 1e-15;

// Pool-adjacent-violators on points sorted by x: the non-decreasing fit of y (least squares),
// as the points of a piecewise-linear map (each pooled block's first and last x at its value;
// points inside a flat stretch dropped).
IsotonicMap pav(std::vector<std::pair<float, float>> xy) {
  std::sort(xy.begin(), xy.end());
  // Equal x: one point at their mean y, weighted by their number.
  struct Block {
    float x0, x1;
    double sum, weight;
  };
  std::vector<Block> blocks;
  for (std::size_t i = 0; i < xy.size();) {
    std::size_t j = i;
    double sum = 0;
    while (j < xy.size() && xy[j].first == xy[i].first) sum += xy[j++].second;
    Block b{xy[i].first, xy[i].first, sum, double(j - i)};
    // Merge backwards while the previous block's mean is above this one's.
    while (!blocks.empty() && blocks.back().sum / blocks.back().weight >= b.sum / b.weight) {
      const Block& p = blocks.back();
      b = {p.x0, b.x1, p.sum + b.sum, p.weight + b.weight};
      blocks.pop_back();
    }
    blocks.push_back(b);
    i = j;
  }
  IsotonicMap m;
  for (const Block& b : blocks) {
    const float v = float(b.sum / b.weight);
    for (float x : {b.x0, b.x1}) {
      if (!m.x.empty() && x <= m.x.back()) continue;
      // Drop the middle of three points at the same height: the map is flat there anyway.
      if (m.y.size() >= 2 && m.y.back() == v && m.y[m.y.size() - 2] == v) {
        m.x.back() = x;
        continue;
      }
      m.x.push_back(x);
      m.y.push_back(v);
    }
  }
  return m;
}

double fit_temperature(const std::vector<float>& proba, const std::vector<int>& labels, std::size_t classes) {
  std::vector<double> logp(proba.size());
  for (std::size_t i = 0; i < proba.size(); ++i) logp[i] = std::log(std::max(double(proba[i]), kClip));
  // Mean negative log-likelihood at inverse temperature b: convex in b, so golden-section
  // search over log b finds its minimum.
  const auto nll = [&](double b) {
    double total = 0;
    for (std::size_t r = 0; r < labels.size(); ++r) {
      const double* z = &logp[r * classes];
      const double top = *std::max_element(z, z + classes) * b;
      double s = 0;
      for (std::size_t c = 0; c < classes; ++c) s += std::exp(b * z[c] - top);
      total += top + std::log(s) - b * z[std::size_t(labels[r])];
    }
    return total / double(std::max<std::size_t>(labels.size(), 1));
  };
  double lo = std::log(0.02), hi = std::log(50.0);
  const double g = (std::sqrt(5.0) - 1) / 2;
  double a = hi - g * (hi - lo), b = lo + g * (hi - lo);
  double fa = nll(std::exp(a)), fb = nll(std::exp(b));
  for (int it = 0; it < 80; ++it) {
    if (fa < fb) {
      hi = b, b = a, fb = fa;
      a = hi - g * (hi - lo), fa = nll(std::exp(a));
    } else {
      lo = a, a = b, fa = fb;
      b = lo + g * (hi - lo), fb = nll(std::exp(b));
    }
  }
  return 1.0 / std::exp((lo + hi) / 2);
}

void check_shape(const std::vector<float>& proba, const std::vector<int>& labels, std::size_t classes) {
  if (classes < 2 || proba.size() != labels.size() * classes) throw std::invalid_argument("calibration: probabilities and labels do not match");
  for (int l : labels)
    if (l < 0 || std::size_t(l) >= classes) throw std::invalid_argument("calibration: a label outside the classes");
}

}  // namespace

float IsotonicMap::operator()(float v) const {
  if (x.empty()) return v;
  if (v <= x.front()) return y.front();
  if (v >= x.back()) return y.back();
  const std::size_t hi = std::size_t(std::upper_bound(x.begin(), x.end(), v) - x.begin());
  const std::size_t lo = hi - 1;
  return y[lo] + (y[hi] - y[lo]) * (v - x[lo]) / (x[hi] - x[lo]);
}

void Calibration::apply_in_place(float* p, std::size_t rows, std::size_t classes) const {
  if (method == "none") return;
  std::vector<double> z(classes);  // one row's scaled log-probabilities or mapped probabilities
  for (std::size_t r = 0; r < rows; ++r) {
    float* row = p + r * classes;
    double sum = 0;
    if (method == "temperature") {
      double top = -1e300;
      for (std::size_t c = 0; c < classes; ++c) top = std::max(top, z[c] = std::log(std::max(double(row[c]), kClip)) / temperature);
      for (std::size_t c = 0; c < classes; ++c) sum += z[c] = std::exp(z[c] - top);
      for (std::size_t c = 0; c < classes; ++c) row[c] = float(z[c] / sum);
      continue;
    }
    for (std::size_t c = 0; c < classes; ++c) sum += z[c] = isotonic[c](row[c]);
    // Every class mapped to 0 (can only happen far outside the training range): keep the
    // model's own probabilities rather than invent a uniform answer.
    if (sum <= 0) continue;
    for (std::size_t c = 0; c < classes; ++c) row[c] = float(z[c] / sum);
  }
}

std::vector<float> Calibration::apply(const std::vector<float>& proba, std::size_t classes) const {
  std::vector<float> out = proba;
  apply_in_place(out.data(), classes ? proba.size() / classes : 0, classes);
  return out;
}

nlohmann::json Calibration::to_json() const {
  nlohmann::json j = {{"method", method}};
  if (method == "temperature") j["temperature"] = temperature;
  if (method == "isotonic") {
    nlohmann::json maps = nlohmann::json::array();
    for (const auto& m : isotonic) maps.push_back({{"x", m.x}, {"y", m.y}});
    j["isotonic"] = maps;
  }
  return j;
}

Calibration Calibration::from_json(const nlohmann::json& j, std::size_t classes) {
  const auto bad = [](const std::string& what) { return std::runtime_error("calibration: " + what); };
  Calibration c;
  c.method = j.at("method").get<std::string>();
  if (c.method == "temperature") {
    c.temperature = j.at("temperature").get<double>();
    if (!(c.temperature >= 0.01 && c.temperature <= 100)) throw bad("temperature " + std::to_string(c.temperature) + " is outside [0.01, 100]");
  } else if (c.method == "isotonic") {
    const auto& maps = j.at("isotonic");
    if (!maps.is_array() || maps.size() != classes)
      throw bad("'isotonic' must hold one map per class (" + std::to_string(classes) + ")");
    for (const auto& mj : maps) {
      IsotonicMap m{mj.at("x").get<std::vector<float>>(), mj.at("y").get<std::vector<float>>()};
      if (m.x.empty() || m.x.size() != m.y.size()) throw bad("an isotonic map needs as many y as x values, at least one");
      for (std::size_t i = 0; i < m.x.size(); ++i) {
        if (!(m.x[i] >= 0 && m.x[i] <= 1 && m.y[i] >= 0 && m.y[i] <= 1)) throw bad("an isotonic map leaves [0, 1]");
        if (i > 0 && !(m.x[i] > m.x[i - 1] && m.y[i] >= m.y[i - 1])) throw bad("an isotonic map is not increasing");
      }
      c.isotonic.push_back(std::move(m));
    }
  } else if (c.method != "none") {
    throw bad("unknown method '" + c.method + "' (none, temperature or isotonic)");
  }
  return c;
}

Calibration fit_calibration(const std::string& method, const std::vector<float>& proba, const std::vector<int>& labels, std::size_t classes) {
  check_shape(proba, labels, classes);
  Calibration c;
  c.method = method;
  if (method == "temperature") {
    c.temperature = fit_temperature(proba, labels, classes);
  } else if (method == "isotonic") {
    for (std::size_t k = 0; k < classes; ++k) {
      std::vector<std::pair<float, float>> xy(labels.size());
      for (std::size_t r = 0; r < labels.size(); ++r) xy[r] = {proba[r * classes + k], labels[r] == int(k) ? 1.0f : 0.0f};
      c.isotonic.push_back(pav(std::move(xy)));
    }
  } else if (method != "none") {
    throw std::invalid_argument("calibration: unknown method '" + method + "'");
  }
  return c;
}

double log_loss(const std::vector<float>& proba, const std::vector<int>& labels, std::size_t classes) {
  check_shape(proba, labels, classes);
  double total = 0;
  for (std::size_t r = 0; r < labels.size(); ++r) {
    const double p = std::clamp(double(proba[r * classes + std::size_t(labels[r])]), kClip, 1.0 - kClip);
    total -= std::log(p);
  }
  return labels.empty() ? 0 : total / double(labels.size());
}

Reliability reliability(const std::vector<float>& proba, const std::vector<int>& labels, std::size_t classes, int bins) {
  check_shape(proba, labels, classes);
  Reliability r;
  r.count.assign(std::size_t(bins), 0);
  r.confidence.assign(std::size_t(bins), 0);
  r.accuracy.assign(std::size_t(bins), 0);
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const float* row = &proba[i * classes];
    const std::size_t top = top_class(row, classes);
    const std::size_t b = std::min(std::size_t(double(row[top]) * bins), std::size_t(bins - 1));
    ++r.count[b];
    r.confidence[b] += row[top];
    r.accuracy[b] += labels[i] == int(top);
  }
  for (std::size_t b = 0; b < r.count.size(); ++b) {
    if (r.count[b] == 0) continue;
    r.confidence[b] /= double(r.count[b]);
    r.accuracy[b] /= double(r.count[b]);
    r.ece += double(r.count[b]) * std::abs(r.accuracy[b] - r.confidence[b]);
  }
  if (!labels.empty()) r.ece /= double(labels.size());
  return r;
}

CalibrationChoice choose_calibration(const std::vector<float>& proba, const std::vector<int>& labels, std::size_t classes, int folds,
                                     std::uint64_t seed) {
  check_shape(proba, labels, classes);
  CalibrationChoice out;
  out.folds = folds;
  const std::vector<int> fold = stratified_folds(labels, folds, seed);
  std::vector<std::vector<float>> held_out;
  for (const char* method : {"none", "temperature", "isotonic"}) {
    std::vector<float> held(proba.size());  // each row calibrated by a map that did not see it
    for (int k = 0; k < folds; ++k) {
      std::vector<float> fit_p, test_p;
      std::vector<int> fit_y;
      std::vector<std::size_t> test_rows;
      for (std::size_t r = 0; r < labels.size(); ++r) {
        const auto row = proba.begin() + std::ptrdiff_t(r * classes);
        if (fold[r] == k) {
          test_p.insert(test_p.end(), row, row + std::ptrdiff_t(classes));
          test_rows.push_back(r);
        } else {
          fit_p.insert(fit_p.end(), row, row + std::ptrdiff_t(classes));
          fit_y.push_back(labels[r]);
        }
      }
      if (fit_y.empty() || test_rows.empty()) continue;
      const std::vector<float> calibrated = fit_calibration(method, fit_p, fit_y, classes).apply(test_p, classes);
      for (std::size_t j = 0; j < test_rows.size(); ++j)
        std::copy_n(calibrated.begin() + std::ptrdiff_t(j * classes), classes, held.begin() + std::ptrdiff_t(test_rows[j] * classes));
    }
    out.scores.push_back({method, log_loss(held, labels, classes), reliability(held, labels, classes).ece});
    held_out.push_back(std::move(held));
  }
  const auto best = std::min_element(out.scores.begin(), out.scores.end(), [](const auto& a, const auto& b) { return a.log_loss < b.log_loss; });
  out.chosen = fit_calibration(best->method, proba, labels, classes);
  out.held_out = std::move(held_out[std::size_t(best - out.scores.begin())]);
  return out;
}

}  // namespace hemolens::model
