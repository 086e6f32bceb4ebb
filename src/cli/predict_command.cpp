#include <cstdio>
#include <memory>

#include "cli/commands.hpp"
#include "cli/csv_table.hpp"
#include "cli/input.hpp"
#include "cli/store_columns.hpp"
#include "hemolens/quality.hpp"
#include "model/anomaly.hpp"
#include "model/explain.hpp"
#include "model/predict.hpp"
#include "model/triage.hpp"

namespace fs = std::filesystem;

namespace hemolens::cli {
namespace {

using namespace hemolens::model;

struct PredictArgs {
  std::string model, output, backend = "auto", features, format;
  std::vector<std::string> inputs;
  int threads = 0;
  bool explain = false, with_features = false;
};

// What the table is made of: the input and everything computed for it.
struct PredictResult {
  const ModelBundle& bundle;
  const StoreData& store;
  const Predictions& p;
  const std::optional<AnomalyScores>& anomaly;
  const std::vector<Explanation>& explanations;
  const std::vector<Decision>& decisions;
};

// The prediction set of a decision, classes joined by '|'.
std::string set_text(const Decision& d, const std::vector<std::string>& classes) {
  std::string set;
  for (int c : d.set) set += (set.empty() ? "" : "|") + classes[std::size_t(c)];
  return set;
}

// The columns, in this order; a new column goes before the feature block, which (wide,
// optional) stays last:
//   path, label (when the input has labels), predicted, p_<class>..., anomaly_score,
//   anomaly_threshold, anomaly_flag, anomaly_reason (when the bundle has a forest),
//   quality_flags, top_features (--explain), skipped_reason, then the triage (docs/triage.md:
//   confidence, decision, review_reasons, prediction_set), every feature (--features).
// Rows: one per image, then one per skipped file (its path, skipped_reason, and review
// because nothing was analysed).
CsvTable predictions_table(const PredictResult& r, const std::vector<std::size_t>& feature_columns, bool with_features) {
  const StoreData& s = r.store;
  const std::size_t n = s.rows;
  auto image = [n](auto value) { return first_rows(n, value); };
  CsvTable t;
  t.add("path", [&s, n](std::size_t row) { return row < n ? s.images[row].path : s.skipped[row - n].path; });
  if (has_labels(s)) add_label_column(t, s);
  t.add("predicted", image([&r](std::size_t i) { return r.bundle.classes[std::size_t(r.p.predicted[i])]; }));
  for (std::size_t c = 0; c < r.p.classes; ++c)
    t.add("p_" + r.bundle.classes[c], image([&r, c](std::size_t i) { return format_fixed(r.p.proba[i * r.p.classes + c], 6); }));
  if (r.anomaly) {
    const AnomalyScores& a = *r.anomaly;
    t.add("anomaly_score", image([&a](std::size_t i) { return format_fixed(a.score[i], 6); }));
    t.add("anomaly_threshold", image([&a](std::size_t i) { return format_fixed(a.threshold[i], 6); }));
    t.add("anomaly_flag", image([&a](std::size_t i) { return std::to_string(int(a.flagged[i])); }));
    t.add("anomaly_reason", image([&a](std::size_t i) { return a.reason[i]; }));
  }
  t.add("quality_flags", image([&s](std::size_t i) { return describe_flags(s.images[i].flags); }));
  if (!r.explanations.empty())
    t.add("top_features", image([&r](std::size_t i) { return top_features_summary(r.explanations[i], r.bundle.feature_names); }));
  t.add("skipped_reason", [&s, n](std::size_t row) { return row < n ? std::string() : s.skipped[row - n].reason; });
  const auto& d = r.decisions;
  t.add("confidence", image([&d](std::size_t i) { return format_fixed(d[i].confidence, 6); }));
  t.add("decision", [&d, n](std::size_t row) { return row < n && d[row].accept ? "accept" : "review"; });
  t.add("review_reasons", [&d, n](std::size_t row) { return row < n ? reasons_text(d[row]) : std::string("not_analysed"); });
  t.add("prediction_set", image([&r](std::size_t i) { return set_text(r.decisions[i], r.bundle.classes); }));
  if (with_features) add_feature_columns(t, s, feature_columns);
  return t;
}

std::vector<std::string> split_names(const std::string& list) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= list.size()) {
    const std::size_t comma = list.find(',', start);
    const std::string item = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!item.empty()) out.push_back(item);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

void run(const PredictArgs& a) {
  const char sep = table_separator(a.output, a.format);
  const ModelBundle bundle = load_bundle(a.model);
  const std::optional<AnomalyModel> forest = load_anomaly(bundle);
  const ScratchDir scratch("predict");
  std::string name;
  const StoreData store = load_input({a.inputs, a.backend, a.threads}, scratch.path, &name);
  require_images(store, name, "predict");
  const std::vector<std::size_t> feature_columns = a.with_features ? choose_features(store, {}, split_names(a.features)) : std::vector<std::size_t>{};
  const Predictions p = predict_store(bundle, store, name, a.threads);
  std::optional<AnomalyScores> anomaly;
  if (forest) anomaly = score_store(*forest, store, p.predicted, "auto", a.threads);
  std::vector<Explanation> explanations;
  if (a.explain && store.rows > 0) explanations = explain_rows(bundle, store.features.data(), store.rows, store.cols, 3);
  const std::vector<Decision> decisions = decide_rows(bundle, store, p, anomaly ? &*anomaly : nullptr);
  predictions_table({bundle, store, p, anomaly, explanations, decisions}, feature_columns, a.with_features)
      .write(a.output, store.rows + store.skipped.size(), sep);
  std::size_t flagged = 0, accepted = 0;
  if (anomaly)
    for (std::size_t i = 0; i < store.rows; ++i) flagged += anomaly->flagged[i];
  for (const Decision& d : decisions) accepted += d.accept;
  std::FILE* say = a.output == "-" ? stderr : stdout;
  std::fprintf(say, "predicted %zu images (%s), %zu skipped; wrote %s\n", store.rows,
               anomaly ? (std::to_string(flagged) + " flagged as anomalous").c_str() : "no anomaly model in the bundle",
               store.skipped.size(), a.output == "-" ? "standard output" : a.output.c_str());
  std::fprintf(say, "triage: %zu accepted, %zu to review%s\n", accepted, store.rows - accepted + store.skipped.size(),
               bundle.triage ? "" : " (the bundle has no review policy: every image is reviewed)");
  for (const auto& k : store.skipped) std::fprintf(say, "  skipped %s: %s\n", k.path.c_str(), k.reason.c_str());
}

void add_predict_command(CLI::App& app) {
  auto a = std::make_shared<PredictArgs>();
  CLI::App* cmd = app.add_subcommand("predict", "classify images (a store, a folder, a manifest or image files) with a model bundle");
  cmd->add_option("model", a->model, "model bundle directory")->required();
  cmd->add_option("inputs", a->inputs, "a store (.h5), a folder, a path,label CSV, or image files")->required();
  cmd->add_option("-o,--output", a->output,
                  "predictions table (.csv, .tsv, or - for standard output): path, true label when known, class, "
                  "calibrated probability per class, anomaly verdict, quality flags, accept or review with the reasons, prediction set")
      ->required();
  cmd->add_option("--backend", a->backend, "feature extraction backend for images: cpu, cuda or auto")
      ->check(CLI::IsMember({"cpu", "cuda", "auto"}));
  cmd->add_option("--threads", a->threads, "threads (default: all cores)");
  cmd->add_flag("--explain", a->explain, "add the three features that pushed each prediction most (SHAP)");
  CLI::Option* features = cmd->add_option("--features", a->features,
                                          "add the feature columns: all, or those named (comma-separated names or patterns such as 'nucleus_*')")
                              ->expected(0, 1);
  cmd->add_option("--format", a->format, "csv or tsv, whatever the file name says")->check(CLI::IsMember({"csv", "tsv"}));
  cmd->callback([a, features] {
    a->with_features = features->count() > 0;
    run(*a);
  });
}

const Registration kRegistration{60, add_predict_command};

}  // namespace
}  // namespace hemolens::cli
