#include "report/report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <sstream>

#include "hemolens/atomic_file.hpp"
#include "hemolens/schema.hpp"
#include "model/explain.hpp"

namespace fs = std::filesystem;

namespace hemolens::report {
namespace {

std::string escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      default: o += c;
    }
  }
  return o;
}

std::string fmt(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

std::string base64(const std::vector<unsigned char>& in) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = unsigned(in[i]) << 16 | unsigned(in[i + 1]) << 8 | in[i + 2];
    out += t[v >> 18], out += t[(v >> 12) & 63], out += t[(v >> 6) & 63], out += t[v & 63];
  }
  if (i < in.size()) {
    const unsigned v = unsigned(in[i]) << 16 | (i + 1 < in.size() ? unsigned(in[i + 1]) << 8 : 0u);
    out += t[v >> 18], out += t[(v >> 12) & 63];
    out += i + 1 < in.size() ? t[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// Light to dark blue by value in [0,1]: readable numbers on both ends (text colour flips).
std::string heat(double v) {
  const int r = int(247 - v * (247 - 8)), g = int(251 - v * (251 - 48)), b = int(255 - v * (255 - 107));
  return "rgb(" + std::to_string(r) + "," + std::to_string(g) + "," + std::to_string(b) + ")";
}

std::string confusion_svg(const model::Metrics& m) {
  const int k = int(m.classes.size()), cell = 56, left = 120, top = 110;
  std::ostringstream s;
  s << "<svg role=\"img\" aria-label=\"Confusion matrix\" width=\"" << left + k * cell + 10 << "\" height=\"" << top + k * cell + 30
    << "\" xmlns=\"http://www.w3.org/2000/svg\" font-size=\"12\">";
  for (int j = 0; j < k; ++j)
    s << "<text transform=\"translate(" << left + j * cell + cell / 2 << "," << top - 6 << ") rotate(-45)\">" << escape(m.classes[std::size_t(j)])
      << "</text>";
  s << "<text x=\"" << left << "\" y=\"14\" font-weight=\"bold\">predicted &#8594;</text>";
  for (int i = 0; i < k; ++i) {
    const auto& row = m.confusion[std::size_t(i)];
    double total = 0;
    for (auto v : row) total += double(v);
    s << "<text x=\"" << left - 6 << "\" y=\"" << top + i * cell + cell / 2 + 4 << "\" text-anchor=\"end\">" << escape(m.classes[std::size_t(i)])
      << "</text>";
    for (int j = 0; j < k; ++j) {
      const double frac = total > 0 ? double(row[std::size_t(j)]) / total : 0;
      s << "<rect x=\"" << left + j * cell << "\" y=\"" << top + i * cell << "\" width=\"" << cell - 1 << "\" height=\"" << cell - 1
        << "\" fill=\"" << heat(frac) << "\"><title>true " << escape(m.classes[std::size_t(i)]) << ", predicted "
        << escape(m.classes[std::size_t(j)]) << ": " << row[std::size_t(j)] << "</title></rect>";
      s << "<text x=\"" << left + j * cell + cell / 2 << "\" y=\"" << top + i * cell + cell / 2 + 4 << "\" text-anchor=\"middle\" fill=\""
        << (frac > 0.5 ? "#fff" : "#111") << "\">" << row[std::size_t(j)] << "</text>";
    }
  }
  s << "<text x=\"4\" y=\"" << top + k * cell + 20 << "\">rows: true class; colour: share of the row</text></svg>";
  return s.str();
}

// Horizontal bars; values in [0, max].
std::string bars_svg(const std::string& label, const std::vector<std::string>& names, const std::vector<double>& values, double max,
                     const char* value_format, const std::string& colour) {
  const int row = 22, left = 230, width = 360;
  std::ostringstream s;
  s << "<svg role=\"img\" aria-label=\"" << escape(label) << "\" width=\"" << left + width + 80 << "\" height=\"" << names.size() * row + 10
    << "\" xmlns=\"http://www.w3.org/2000/svg\" font-size=\"12\">";
  for (std::size_t i = 0; i < names.size(); ++i) {
    const double w = max > 0 ? values[i] / max * width : 0;
    const int y = int(i) * row + 4;
    s << "<text x=\"" << left - 6 << "\" y=\"" << y + 13 << "\" text-anchor=\"end\">" << escape(names[i]) << "</text>";
    s << "<rect x=\"" << left << "\" y=\"" << y << "\" width=\"" << fmt("%.1f", w) << "\" height=\"" << row - 6 << "\" fill=\"" << colour
      << "\"/>";
    s << "<text x=\"" << left + w + 4 << "\" y=\"" << y + 13 << "\">" << fmt(value_format, values[i]) << "</text>";
  }
  s << "</svg>";
  return s.str();
}

std::string per_class_table(const model::Metrics& m) {
  std::ostringstream s;
  s << "<table><caption>Per class</caption><tr><th scope=\"col\">class</th><th scope=\"col\">precision</th><th scope=\"col\">recall</th>"
       "<th scope=\"col\">F1</th><th scope=\"col\">support</th></tr>";
  for (std::size_t c = 0; c < m.classes.size(); ++c) {
    const auto& p = m.per_class[c];
    s << "<tr><th scope=\"row\">" << escape(m.classes[c]) << "</th><td>" << fmt("%.3f", p.precision) << "</td><td>" << fmt("%.3f", p.recall)
      << "</td><td>" << fmt("%.3f", p.f1) << "</td><td>" << p.support << "</td></tr>";
  }
  return s.str() + "</table>";
}

std::string thumbnail(const fs::path& file) {
  const cv::Mat img = cv::imread(file.string(), cv::IMREAD_COLOR);
  if (img.empty()) return "";
  cv::Mat small;
  const double scale = 96.0 / std::max(img.cols, img.rows);
  cv::resize(img, small, cv::Size(), scale, scale, cv::INTER_AREA);
  std::vector<unsigned char> jpg;
  cv::imencode(".jpg", small, jpg, {cv::IMWRITE_JPEG_QUALITY, 80});
  return "data:image/jpeg;base64," + base64(jpg);
}

std::string confusion_examples(const StoreData& store, const model::Metrics& m, const std::vector<std::size_t>& rows,
                               const std::vector<int>& truth, const std::vector<int>& predicted) {
  std::map<std::pair<int, int>, std::vector<std::size_t>> pairs;  // (true, predicted) -> store rows
  for (std::size_t i = 0; i < rows.size(); ++i)
    if (truth[i] != predicted[i]) pairs[{truth[i], predicted[i]}].push_back(rows[i]);
  std::vector<std::pair<std::pair<int, int>, std::vector<std::size_t>>> sorted(pairs.begin(), pairs.end());
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.second.size() > b.second.size(); });
  if (sorted.empty()) return "<p>No confusions: every image was classified correctly.</p>";
  std::ostringstream s;
  const fs::path root = store.meta.dataset;
  for (std::size_t p = 0; p < std::min<std::size_t>(4, sorted.size()); ++p) {
    const auto& [key, members] = sorted[p];
    s << "<h3>" << escape(m.classes[std::size_t(key.first)]) << " predicted as " << escape(m.classes[std::size_t(key.second)]) << " ("
      << members.size() << ")</h3><div class=\"thumbs\">";
    int shown = 0;
    for (std::size_t r : members) {
      if (shown == 8) break;
      const std::string uri = thumbnail(root / store.images[r].path);
      if (uri.empty()) continue;
      s << "<figure><img src=\"" << uri << "\" alt=\"" << escape(store.images[r].path) << "\" width=\"96\"><figcaption>"
        << escape(fs::path(store.images[r].path).filename().string()) << "</figcaption></figure>";
      ++shown;
    }
    if (shown == 0) s << "<p>(images not found under " << escape(root.string()) << ")</p>";
    s << "</div>";
  }
  return s.str();
}

std::string top_features(const model::ModelBundle& bundle) {
  auto scores = bundle.booster.feature_scores("total_gain");
  std::sort(scores.begin(), scores.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  scores.resize(std::min<std::size_t>(scores.size(), 20));
  std::vector<std::string> names;
  std::vector<double> values;
  double total = 0;
  for (const auto& [n, v] : bundle.booster.feature_scores("total_gain")) total += v;
  for (const auto& [n, v] : scores) {
    names.push_back(n);
    values.push_back(total > 0 ? 100.0 * v / total : 0);
  }
  std::string descriptions = "<dl>";
  for (const auto& f : feature_schema().features)
    if (std::find(names.begin(), names.end(), f.name) != names.end())
      descriptions += "<dt>" + escape(f.name) + "</dt><dd>" + escape(f.group + ", " + f.region + ": " + f.description) + "</dd>";
  const std::string scope = model::explanation_scope(bundle);
  return bars_svg("Most important features", names, values, values.empty() ? 1 : values[0], "%.1f %%", "#2b6cb0") +
         (scope.empty() ? "" : "<p role=\"note\">Split gain of the boosted trees: " + escape(scope) + ".</p>") +
         "<details><summary>What these features are</summary>" + descriptions + "</dl></details>";
}

std::string kpi(const char* name, const std::string& value) { return "<div>" + std::string(name) + "<b>" + value + "</b></div>"; }

// The cross-validated figures recorded at training time, as a box beside the headline ones.
std::string cross_validation_box(const model::ModelBundle& bundle) {
  const auto& meta = bundle.meta;
  if (!meta.contains("metrics") || !meta["metrics"].contains("cross_validation")) return "";
  const auto& cv = meta["metrics"]["cross_validation"];
  return "<div class=\"cv\" data-testid=\"cross-validation\"><h3>Cross-validation, " + std::to_string(cv.value("folds", 0)) +
         " stratified folds of the training images</h3><div class=\"kpi\">" +
         kpi("accuracy", fmt("%.2f %%", 100 * cv.value("accuracy", 0.0))) + kpi("macro-F1", fmt("%.4f", cv.value("macro_f1", 0.0))) +
         kpi("weighted-F1", fmt("%.4f", cv.value("weighted_f1", 0.0))) + "</div></div>";
}

// What training warned about (a GPU it could not use), so the report does not hide it.
std::string warnings(const model::ModelBundle& bundle) {
  const auto& meta = bundle.meta;
  if (!meta.contains("warnings") || !meta["warnings"].is_array() || meta["warnings"].empty()) return "";
  std::string out = "<div role=\"note\" class=\"warn\"><strong>Training warned:</strong><ul>";
  for (const auto& w : meta["warnings"])
    if (w.is_string()) out += "<li>" + escape(w.get<std::string>()) + "</li>";
  return out + "</ul></div>";
}

// The headline: the evaluated images' figures, titled by what the images are to the model.
// On a test set they are the model's honest figures; on its own training data they flatter
// it, and the report says so. Cross-validation, when recorded, stands beside them.
std::string headline(const model::ModelBundle& bundle, const model::Metrics& m, const EvaluatedSet& set) {
  std::string title, note;
  if (set.role == "test") {
    title = "Test set: " + std::to_string(m.samples) + " images the model never saw";
  } else if (set.role == "training") {
    title = "Training images (" + std::to_string(m.samples) + ")";
    note = "<p role=\"note\"><strong>These images are the model's training data</strong>: the figures below are optimistic. "
           "Judge the model by cross-validation or by images it has not seen (a job's <code>[test]</code> table).</p>";
  } else {
    title = std::to_string(m.samples) + " labelled images";
  }
  if (!set.description.empty()) note = "<p>" + escape(set.description) + ".</p>" + note;
  return "<section data-testid=\"headline\"><h2>" + escape(title) + "</h2>" + note + "<div class=\"headline\"><div class=\"kpi\">" +
         kpi("accuracy", fmt("%.2f %%", 100 * m.accuracy)) + kpi("macro-F1", fmt("%.4f", m.macro_f1)) +
         kpi("weighted-F1", fmt("%.4f", m.weighted_f1)) + "</div>" + cross_validation_box(bundle) + "</div>" + warnings(bundle) +
         "</section>";
}

// ---- Triage: calibration, accept or review, prediction sets (docs/triage.md) -------------

std::string pct(double v) { return fmt("%.1f %%", 100 * v); }

// Accuracy against coverage of the accept rule on these images, the policy's point on them
// (the decisions as made) and the target accuracy.
std::string coverage_svg(const std::vector<model::CoveragePoint>& curve, double chosen_coverage, double chosen_accuracy, double target) {
  const int left = 60, top = 14, w = 440, h = 260;
  double x0 = 1, y0 = 1;
  for (const auto& c : curve) x0 = std::min(x0, c.coverage), y0 = std::min(y0, c.accuracy);
  x0 = std::floor(std::min(x0, chosen_coverage) * 20) / 20;
  y0 = std::floor(std::min({y0, chosen_accuracy, target}) * 100) / 100;
  if (x0 >= 1) x0 = 0.9;
  if (y0 >= 1) y0 = 0.99;
  const auto X = [&](double v) { return left + (v - x0) / (1 - x0) * w; };
  const auto Y = [&](double v) { return top + (1 - v) / (1 - y0) * h; };
  std::ostringstream s;
  s << "<svg role=\"img\" aria-label=\"Accuracy of the accepted images against the share accepted\" width=\"" << left + w + 30
    << "\" height=\"" << top + h + 50 << "\" xmlns=\"http://www.w3.org/2000/svg\" font-size=\"12\">";
  s << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << w << "\" height=\"" << h << "\" fill=\"none\" stroke=\"#999\"/>";
  for (int i = 0; i <= 4; ++i) {
    const double xv = x0 + (1 - x0) * i / 4, yv = y0 + (1 - y0) * i / 4;
    s << "<text x=\"" << fmt("%.1f", X(xv)) << "\" y=\"" << top + h + 16 << "\" text-anchor=\"middle\">" << fmt("%.0f %%", 100 * xv) << "</text>";
    s << "<text x=\"" << left - 4 << "\" y=\"" << fmt("%.1f", Y(yv) + 4) << "\" text-anchor=\"end\">" << fmt("%.1f %%", 100 * yv) << "</text>";
  }
  s << "<text x=\"" << left + w / 2 << "\" y=\"" << top + h + 34 << "\" text-anchor=\"middle\">share of images accepted (coverage)</text>";
  s << "<line x1=\"" << left << "\" x2=\"" << left + w << "\" y1=\"" << fmt("%.1f", Y(target)) << "\" y2=\"" << fmt("%.1f", Y(target))
    << "\" stroke=\"#c05621\" stroke-dasharray=\"5 3\"><title>target accuracy " << pct(target) << "</title></line>";
  s << "<polyline fill=\"none\" stroke=\"#2b6cb0\" stroke-width=\"2\" points=\"";
  for (const auto& c : curve)
    if (c.coverage >= x0 && c.accuracy >= y0) s << fmt("%.1f", X(c.coverage)) << ',' << fmt("%.1f", Y(c.accuracy)) << ' ';
  s << "\"/>";
  s << "<circle cx=\"" << fmt("%.1f", X(chosen_coverage)) << "\" cy=\"" << fmt("%.1f", Y(std::max(chosen_accuracy, y0)))
    << "\" r=\"6\" fill=\"#c05621\"><title>the policy on these images: " << pct(chosen_coverage) << " accepted at " << pct(chosen_accuracy)
    << "</title></circle>";
  s << "<text x=\"" << left + 8 << "\" y=\"" << top + h - 8 << "\">line: every threshold; dot: the model's threshold; dashes: target</text></svg>";
  return s.str();
}

// Accuracy against mean confidence per confidence bin, before and after calibration.
std::string reliability_svg(const model::Reliability& raw, const model::Reliability& calibrated) {
  const int left = 50, top = 10, side = 280;
  const auto X = [&](double v) { return left + v * side; };
  const auto Y = [&](double v) { return top + (1 - v) * side; };
  std::ostringstream s;
  s << "<svg role=\"img\" aria-label=\"Reliability diagram\" width=\"" << left + side + 170 << "\" height=\"" << top + side + 40
    << "\" xmlns=\"http://www.w3.org/2000/svg\" font-size=\"12\">";
  s << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << side << "\" height=\"" << side << "\" fill=\"none\" stroke=\"#999\"/>";
  s << "<line x1=\"" << X(0) << "\" y1=\"" << Y(0) << "\" x2=\"" << X(1) << "\" y2=\"" << Y(1) << "\" stroke=\"#bbb\" stroke-dasharray=\"4 3\"/>";
  for (int i = 0; i <= 4; ++i) {
    s << "<text x=\"" << X(i / 4.0) << "\" y=\"" << top + side + 14 << "\" text-anchor=\"middle\">" << fmt("%.2f", i / 4.0) << "</text>";
    s << "<text x=\"" << left - 4 << "\" y=\"" << Y(i / 4.0) + 4 << "\" text-anchor=\"end\">" << fmt("%.2f", i / 4.0) << "</text>";
  }
  s << "<text x=\"" << left + side / 2 << "\" y=\"" << top + side + 32 << "\" text-anchor=\"middle\">confidence of the predicted class</text>";
  const auto series = [&](const model::Reliability& r, const char* colour, const char* name) {
    s << "<polyline fill=\"none\" stroke=\"" << colour << "\" stroke-width=\"2\" points=\"";
    for (std::size_t b = 0; b < r.count.size(); ++b)
      if (r.count[b]) s << fmt("%.1f", X(r.confidence[b])) << ',' << fmt("%.1f", Y(r.accuracy[b])) << ' ';
    s << "\"/>";
    for (std::size_t b = 0; b < r.count.size(); ++b)
      if (r.count[b])
        s << "<circle cx=\"" << fmt("%.1f", X(r.confidence[b])) << "\" cy=\"" << fmt("%.1f", Y(r.accuracy[b])) << "\" r=\"3\" fill=\"" << colour
          << "\"><title>" << name << ": " << r.count[b] << " images, confidence " << fmt("%.3f", r.confidence[b]) << ", accuracy "
          << fmt("%.3f", r.accuracy[b]) << "</title></circle>";
  };
  series(raw, "#a0aec0", "as trained");
  series(calibrated, "#2b6cb0", "calibrated");
  s << "<text x=\"" << left + side + 12 << "\" y=\"" << top + 20 << "\" fill=\"#a0aec0\">&#9679; as trained, ECE " << fmt("%.4f", raw.ece) << "</text>";
  s << "<text x=\"" << left + side + 12 << "\" y=\"" << top + 40 << "\" fill=\"#2b6cb0\">&#9679; calibrated, ECE " << fmt("%.4f", calibrated.ece)
    << "</text>";
  s << "<text x=\"" << left + side + 12 << "\" y=\"" << top + 60 << "\" fill=\"#777\">dashes: perfect calibration</text></svg>";
  return s.str();
}

std::string triage_sections(const model::ModelBundle& bundle, const StoreData& store, const std::vector<std::size_t>& rows,
                            const TriageView& v) {
  const std::size_t k = bundle.classes.size(), n = rows.size();
  std::vector<int> labels;
  for (std::size_t r : rows) labels.push_back(store.images[r].label);
  std::ostringstream html;
  html << "<h2>Triage: accept or review</h2>";
  const model::Triage* t = bundle.triage ? &*bundle.triage : nullptr;
  if (!t) {
    html << "<p><strong>This model has no review policy</strong> (it was trained without one): every image goes to review. Train it again "
            "with this hemolens.</p>";
    return html.str();
  }
  const model::ReviewPolicy& policy = t->review;
  html << "<p>An image is <strong>accepted</strong> when its calibrated confidence is at least <strong>"
       << (std::isinf(policy.threshold) ? std::string("(never: sets of one only)") : pct(policy.threshold))
       << "</strong> or its prediction set holds one class, unless a quality flag or the anomaly detector sends it to <strong>review</strong>. "
          "The threshold was chosen at training time on out-of-fold predictions of "
       << t->folds << "-fold cross-validation (" << t->rows << " images) for a target accuracy of " << pct(policy.accept_accuracy)
       << " of the accepted images: there " << pct(policy.expected_coverage) << " were accepted at " << pct(policy.expected_accuracy)
       << (policy.reachable ? "" : " (<strong>the target was not reached</strong>; the most accurate threshold is used)") << ".</p>";
  std::size_t accepted = 0, accepted_correct = 0, reviewed_correct = 0;
  std::map<std::string, std::size_t> reasons;
  std::vector<double> review_share(k, 0), members(k, 0);
  std::vector<char> forced(n, 0);
  for (std::size_t i = 0; i < n; ++i) {
    const model::Decision& d = v.decisions[i];
    const std::size_t top = std::size_t(std::max_element(&v.proba[i * k], &v.proba[i * k] + k) - &v.proba[i * k]);
    const bool correct = labels[i] == int(top);
    (d.accept ? accepted_correct : reviewed_correct) += correct;
    accepted += d.accept;
    for (const auto& r : d.reasons) {
      ++reasons[r];
      forced[i] |= r != "low_confidence";
    }
    members[std::size_t(labels[i])] += 1;
    review_share[std::size_t(labels[i])] += !d.accept;
  }
  const double acc_accepted = accepted ? double(accepted_correct) / double(accepted) : 1.0;
  html << "<div class=\"kpi\"><div>accepted<b>" << pct(double(accepted) / double(n)) << "</b>" << accepted << " images</div><div>accuracy of the accepted<b>"
       << pct(acc_accepted) << "</b></div><div>to review<b>" << pct(double(n - accepted) / double(n)) << "</b>" << n - accepted
       << " images, " << pct(n > accepted ? double(reviewed_correct) / double(n - accepted) : 0.0) << " of them classified correctly</div></div>";
  html << "<table><caption>Why images go to review (an image can have several reasons)</caption><tr><th scope=\"col\">reason</th>"
          "<th scope=\"col\">images</th></tr>";
  for (const auto& [code, count] : reasons) html << "<tr><th scope=\"row\">" << escape(code) << "</th><td>" << count << "</td></tr>";
  html << "</table>";
  const std::vector<model::CoveragePoint> curve = model::coverage_curve(v.proba, labels, forced, k, t->conformal);
  html << "<h3>Accuracy against coverage</h3>"
       << coverage_svg(curve, double(accepted) / double(n), acc_accepted, policy.accept_accuracy);
  for (std::size_t c = 0; c < k; ++c) review_share[c] = members[c] > 0 ? 100 * review_share[c] / members[c] : 0;
  html << "<h3>Share sent to review, per true class</h3>" << bars_svg("Share sent to review per class", bundle.classes, review_share, 100, "%.1f %%", "#c05621");

  html << "<h2>Calibration</h2>";
  const model::Reliability raw = model::reliability(v.raw_proba, labels, k), cal = model::reliability(v.proba, labels, k);
  html << "<p>Method <strong>" << escape(t->calibration.method) << "</strong>"
       << (t->calibration.method == "temperature" ? " (T = " + fmt("%.3f", t->calibration.temperature) + ")" : std::string())
       << ". On these images: expected calibration error (15 bins) " << fmt("%.4f", raw.ece) << " as trained, " << fmt("%.4f", cal.ece)
       << " calibrated; log-loss " << fmt("%.4f", model::log_loss(v.raw_proba, labels, k)) << " and " << fmt("%.4f", model::log_loss(v.proba, labels, k))
       << ".</p>" << reliability_svg(raw, cal);
  html << "<table><caption>Chosen at training time: each method fitted on " << t->calibration_folds - 1 << " of " << t->calibration_folds
       << " folds of the out-of-fold predictions and scored on the other</caption><tr><th scope=\"col\">method</th>"
          "<th scope=\"col\">held-out log-loss</th><th scope=\"col\">held-out ECE</th></tr>";
  for (const auto& c : t->calibration_scores)
    html << "<tr><th scope=\"row\">" << escape(c.method) << (c.method == t->calibration.method ? " (chosen)" : "") << "</th><td>"
         << fmt("%.4f", c.log_loss) << "</td><td>" << fmt("%.4f", c.ece) << "</td></tr>";
  html << "</table>";

  html << "<h2>Prediction sets</h2>";
  const model::SetStats sets = model::set_stats(t->conformal, v.proba, labels, k);
  html << "<p>Split-conformal (" << escape(t->conformal.method) << (t->conformal.class_conditional ? ", one cut per class" : "")
       << ", alpha " << fmt("%.3g", t->conformal.alpha) << "): each set should hold the true class for at least "
       << pct(1 - t->conformal.alpha) << " of the images. On these images: <strong>" << pct(sets.coverage) << "</strong>, mean set size "
       << fmt("%.3f", sets.mean_size) << ", " << pct(sets.singleton_share) << " of the sets hold one class.</p>";
  html << "<table><caption>Per true class</caption><tr><th scope=\"col\">class</th><th scope=\"col\">images</th>"
          "<th scope=\"col\">coverage</th><th scope=\"col\">mean set size</th></tr>";
  for (std::size_t c = 0; c < k; ++c)
    html << "<tr><th scope=\"row\">" << escape(bundle.classes[c]) << "</th><td>" << sets.class_rows[c] << "</td><td>"
         << (sets.class_rows[c] ? pct(sets.class_coverage[c]) : "") << "</td><td>" << (sets.class_rows[c] ? fmt("%.3f", sets.class_mean_size[c]) : "")
         << "</td></tr>";
  html << "</table>";
  return html.str();
}

}  // namespace

void write_report(const fs::path& out, const model::ModelBundle& bundle, const StoreData& store, const model::Metrics& m,
                  const std::vector<std::size_t>& rows, const std::vector<int>& truth, const std::vector<int>& predicted,
                  const EvaluatedSet& set, const TriageView* triage) {
  std::vector<double> f1, support;
  double max_support = 0;
  for (const auto& p : m.per_class) {
    f1.push_back(p.f1);
    support.push_back(double(p.support));
    max_support = std::max(max_support, double(p.support));
  }
  std::ostringstream html;
  html << "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>hemolens evaluation</title><style>"
          "body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#111}"
          "h1{font-size:1.6em}h2{margin-top:1.6em;border-bottom:1px solid #ccc}table{border-collapse:collapse}"
          "td,th{padding:4px 10px;border-bottom:1px solid #ddd;text-align:right}th[scope=row]{text-align:left}"
          ".kpi{display:flex;gap:2em;font-size:1.2em}.kpi b{font-size:1.6em;display:block}"
          ".headline{display:flex;gap:3em;flex-wrap:wrap;align-items:flex-end}"
          ".cv{border-left:4px solid #ccc;padding-left:1.5em;color:#333}.cv h3{font-size:1em;margin:0 0 .4em}.cv .kpi{font-size:1em}"
          ".warn{border-left:4px solid #b7791f;padding:.2em 1em;margin-top:1em;background:#fffaf0}"
          ".thumbs{display:flex;flex-wrap:wrap;gap:8px}figure{margin:0;font-size:11px;text-align:center}"
          "</style></head><body>";
  html << "<h1>hemolens evaluation report</h1><p>Model <code>" << escape(bundle.dir.string()) << "</code> on images from <code>"
       << escape(store.meta.dataset) << "</code>, " << m.samples << " labelled images, schema " << escape(bundle.schema_hash)
       << ", created " << escape(utc_now_iso8601()) << ".</p>";
  html << headline(bundle, m, set);
  if (triage) html << triage_sections(bundle, store, rows, *triage);
  html << "<h2>Confusion matrix</h2>" << confusion_svg(m);
  html << "<h2>F1 per class</h2>" << bars_svg("F1 per class", m.classes, f1, 1.0, "%.3f", "#2f855a") << per_class_table(m);
  html << "<h2>Class distribution</h2>" << bars_svg("Images per class", m.classes, support, max_support, "%.0f", "#805ad5");
  html << "<h2>Most important features (share of total gain)</h2>" << top_features(bundle);
  html << "<h2>Commonest confusions</h2>" << confusion_examples(store, m, rows, truth, predicted);
  html << "</body></html>\n";
  // Whole or absent: a killed evaluation leaves no truncated report that looks finished.
  write_file_atomic(out, html.str());
}

}  // namespace hemolens::report
