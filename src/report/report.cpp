#include "report/report.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <sstream>

#include "hemolens/atomic_file.hpp"
#include "hemolens/schema.hpp"

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
  return bars_svg("Most important features", names, values, values.empty() ? 1 : values[0], "%.1f %%", "#2b6cb0") +
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

}  // namespace

void write_report(const fs::path& out, const model::ModelBundle& bundle, const StoreData& store, const model::Metrics& m,
                  const std::vector<std::size_t>& rows, const std::vector<int>& truth, const std::vector<int>& predicted,
                  const EvaluatedSet& set) {
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
