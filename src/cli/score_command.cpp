// `hemolens score MODEL_DIR INPUT -o scores.csv`: the anomaly score and flag of every image,
// with the segmentation quality flags that force a flag (no_cell, multiple_nucleated).

#include <cstdio>
#include <fstream>
#include <memory>

#include "cli/commands.hpp"
#include "cli/input.hpp"
#include "hemolens/quality.hpp"
#include "model/anomaly.hpp"
#include "model/predict.hpp"

namespace fs = std::filesystem;

namespace hemolens::cli {
namespace {

using namespace hemolens::model;

struct ScoreArgs {
  std::string model, output, backend = "auto", device = "auto";
  std::vector<std::string> inputs;
  int threads = 0;
};

void write_csv(const fs::path& out, const ModelBundle& bundle, const StoreData& store, const Predictions& p, const AnomalyScores& s) {
  std::ofstream csv(out);
  if (!csv) throw std::runtime_error("cannot write " + out.string());
  csv << "path,predicted,anomaly_score,anomaly_threshold,anomaly_margin,anomaly_flag,anomaly_reason,quality_flags,skipped_reason\n";
  for (std::size_t i = 0; i < store.rows; ++i) {
    char v[96];
    std::snprintf(v, sizeof v, ",%.6f,%.6f,%+.6f,%d,", s.score[i], s.threshold[i], s.margin[i], int(s.flagged[i]));
    csv << csv_field(store.images[i].path) << ',' << bundle.classes[std::size_t(p.predicted[i])] << v << s.reason[i] << ','
        << describe_flags(store.images[i].flags) << ",\n";
  }
  for (const auto& k : store.skipped) csv << csv_field(k.path) << ",,,,,,,," << csv_field(k.reason) << '\n';
  if (!csv.flush()) throw std::runtime_error("cannot write " + out.string());
}

void run(const ScoreArgs& a) {
  const ModelBundle bundle = load_bundle(a.model);
  const std::optional<AnomalyModel> anomaly = load_anomaly(bundle);
  if (!anomaly) throw std::runtime_error("model bundle " + a.model + " has no anomaly model: add one with `hemolens fit-anomaly " + a.model + " STORE`");
  const ScratchDir scratch("score");
  std::string name;
  const StoreData store = load_input({a.inputs, a.backend, a.threads}, scratch.path, &name);
  const Predictions p = predict_store(bundle, store, name, a.threads);
  const AnomalyScores s = score_store(*anomaly, store, p.predicted, a.device, a.threads);
  write_csv(a.output, bundle, store, p, s);
  std::size_t by_forest = 0, by_quality = 0;
  for (std::size_t i = 0; i < store.rows; ++i) (s.reason[i] == "forest" ? by_forest : by_quality) += s.flagged[i];
  std::printf("scored %zu images (forests on %s): %zu flagged (%zu by the forests, %zu by segmentation quality), %zu skipped; wrote %s\n",
              store.rows, s.device.c_str(), by_forest + by_quality, by_forest, by_quality, store.skipped.size(), a.output.c_str());
  for (const auto& k : store.skipped) std::printf("  skipped %s: %s\n", k.path.c_str(), k.reason.c_str());
}

void add_score_command(CLI::App& app) {
  auto a = std::make_shared<ScoreArgs>();
  CLI::App* cmd = app.add_subcommand("score", "anomaly score and flag per image (a store, a folder, a manifest or image files)");
  cmd->add_option("model", a->model, "model bundle directory with an anomaly model (`hemolens fit-anomaly`)")->required();
  cmd->add_option("inputs", a->inputs, "a store (.h5), a folder, a path,label CSV, or image files")->required();
  cmd->add_option("-o,--output", a->output, "scores CSV: path, predicted class, anomaly score, threshold, flag, reason, quality flags")
      ->required();
  cmd->add_option("--device", a->device, "where the forests run: cpu, cuda or auto")->check(CLI::IsMember({"cpu", "cuda", "auto"}));
  cmd->add_option("--backend", a->backend, "feature extraction backend for images: cpu, cuda or auto")
      ->check(CLI::IsMember({"cpu", "cuda", "auto"}));
  cmd->add_option("--threads", a->threads, "threads (default: all cores)");
  cmd->callback([a] { run(*a); });
}

const Registration kRegistration{62, add_score_command};

}  // namespace
}  // namespace hemolens::cli
