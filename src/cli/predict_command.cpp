#include <cstdio>
#include <fstream>
#include <memory>

#include "cli/commands.hpp"
#include "cli/input.hpp"
#include "model/anomaly.hpp"
#include "model/explain.hpp"
#include "hemolens/quality.hpp"
#include "model/predict.hpp"

namespace fs = std::filesystem;

namespace hemolens::cli {
namespace {

using namespace hemolens::model;

struct PredictArgs {
  std::string model, output, backend = "auto";
  std::vector<std::string> inputs;
  int threads = 0;
  bool explain = false;
};

// The triage columns (docs/triage.md): calibrated confidence of the predicted class, accept or
// review, the reasons, the prediction set.
constexpr const char* kTriageHeader = ",confidence,decision,review_reasons,prediction_set";

std::string triage_fields(const Decision& d, const std::vector<std::string>& classes) {
  char v[32];
  std::snprintf(v, sizeof v, ",%.6f,", d.confidence);
  std::string set;
  for (int c : d.set) set += (set.empty() ? "" : "|") + classes[std::size_t(c)];
  return v + std::string(d.accept ? "accept" : "review") + ',' + reasons_text(d) + ',' + csv_field(set);
}

// One row per image: class, probabilities (calibrated), anomaly verdict (when the bundle has
// a forest), quality flags, optionally the top features, then the triage; skipped files at
// the end (to review: nothing was analysed).
void write_csv(const fs::path& out, const ModelBundle& bundle, const StoreData& store, const Predictions& p,
               const std::optional<AnomalyScores>& anomaly, const std::vector<Explanation>& explanations, const std::vector<Decision>& decisions) {
  std::ofstream csv(out);
  if (!csv) throw std::runtime_error("cannot write " + out.string());
  csv << "path,predicted";
  for (const auto& c : bundle.classes) csv << ",p_" << c;
  if (anomaly) csv << ",anomaly_score,anomaly_threshold,anomaly_flag,anomaly_reason";
  csv << ",quality_flags";
  if (!explanations.empty()) csv << ",top_features";
  csv << ",skipped_reason" << kTriageHeader << "\n";
  for (std::size_t i = 0; i < store.rows; ++i) {
    csv << csv_field(store.images[i].path) << ',' << bundle.classes[std::size_t(p.predicted[i])];
    char v[64];
    for (std::size_t c = 0; c < p.classes; ++c) {
      std::snprintf(v, sizeof v, ",%.6f", p.proba[i * p.classes + c]);
      csv << v;
    }
    if (anomaly) {
      std::snprintf(v, sizeof v, ",%.6f,%.6f,%d,", anomaly->score[i], anomaly->threshold[i], int(anomaly->flagged[i]));
      csv << v << anomaly->reason[i];
    }
    csv << ',' << describe_flags(store.images[i].flags);
    if (!explanations.empty()) csv << ',' << csv_field(top_features_summary(explanations[i], bundle.feature_names));
    csv << ',' << triage_fields(decisions[i], bundle.classes) << '\n';
  }
  // Commas between path and skipped_reason: one per column in between, plus one.
  const std::size_t empty_columns = 1 + p.classes + (anomaly ? 4 : 0) + 1 + (explanations.empty() ? 0 : 1) + 1;
  for (const auto& k : store.skipped)
    csv << csv_field(k.path) << std::string(empty_columns, ',') << csv_field(k.reason) << ",,review,not_analysed,\n";
  if (!csv.flush()) throw std::runtime_error("cannot write " + out.string());
}

void run(const PredictArgs& a) {
  const ModelBundle bundle = load_bundle(a.model);
  const std::optional<AnomalyModel> forest = load_anomaly(bundle);
  const ScratchDir scratch("predict");
  std::string name;
  const StoreData store = load_input({a.inputs, a.backend, a.threads}, scratch.path, &name);
  const Predictions p = predict_store(bundle, store, name, a.threads);
  std::optional<AnomalyScores> anomaly;
  if (forest) anomaly = score_store(*forest, store, p.predicted, "auto", a.threads);
  std::vector<Explanation> explanations;
  if (a.explain && store.rows > 0) explanations = explain_rows(bundle, store.features.data(), store.rows, store.cols, 3);
  const std::vector<Decision> decisions = decide_rows(bundle, store, p, anomaly ? &*anomaly : nullptr);
  write_csv(a.output, bundle, store, p, anomaly, explanations, decisions);
  std::size_t flagged = 0, accepted = 0;
  if (anomaly)
    for (std::size_t i = 0; i < store.rows; ++i) flagged += anomaly->flagged[i];
  for (const Decision& d : decisions) accepted += d.accept;
  std::printf("predicted %zu images (%s), %zu skipped; wrote %s\n", store.rows,
              anomaly ? (std::to_string(flagged) + " flagged as anomalous").c_str() : "no anomaly model in the bundle",
              store.skipped.size(), a.output.c_str());
  std::printf("triage: %zu accepted, %zu to review%s\n", accepted, store.rows - accepted + store.skipped.size(),
              bundle.triage ? "" : " (the bundle has no review policy: every image is reviewed)");
  for (const auto& k : store.skipped) std::printf("  skipped %s: %s\n", k.path.c_str(), k.reason.c_str());
}

void add_predict_command(CLI::App& app) {
  auto a = std::make_shared<PredictArgs>();
  CLI::App* cmd = app.add_subcommand("predict", "classify images (a store, a folder, a manifest or image files) with a model bundle");
  cmd->add_option("model", a->model, "model bundle directory")->required();
  cmd->add_option("inputs", a->inputs, "a store (.h5), a folder, a path,label CSV, or image files")->required();
  cmd->add_option("-o,--output", a->output,
                  "predictions CSV: path, class, calibrated probability per class, quality flags, accept or review with the reasons, "
                  "prediction set")
      ->required();
  cmd->add_option("--backend", a->backend, "feature extraction backend for images: cpu, cuda or auto")
      ->check(CLI::IsMember({"cpu", "cuda", "auto"}));
  cmd->add_option("--threads", a->threads, "threads (default: all cores)");
  cmd->add_flag("--explain", a->explain, "add the three features that pushed each prediction most (SHAP)");
  cmd->callback([a] { run(*a); });
}

const Registration kRegistration{60, add_predict_command};

}  // namespace
}  // namespace hemolens::cli
