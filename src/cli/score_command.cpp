// `hemolens score MODEL_DIR INPUT -o scores.csv`: the anomaly score and flag of every image,
// with the segmentation quality flags that force a flag (no_cell, multiple_nucleated).

#include <cstdio>
#include <memory>

#include "cli/commands.hpp"
#include "cli/csv_table.hpp"
#include "cli/input.hpp"
#include "hemolens/quality.hpp"
#include "model/anomaly.hpp"
#include "model/predict.hpp"

namespace fs = std::filesystem;

namespace hemolens::cli {
namespace {

using namespace hemolens::model;

struct ScoreArgs {
  std::string model, output, backend = "auto", device = "auto", format;
  std::vector<std::string> inputs;
  int threads = 0;
};

// One row per image, then one per skipped file (path and skipped_reason only).
CsvTable scores_table(const ModelBundle& bundle, const StoreData& store, const Predictions& p, const AnomalyScores& s) {
  const std::size_t n = store.rows;
  auto image = [n](auto value) { return first_rows(n, value); };
  CsvTable t;
  t.add("path", [&store, n](std::size_t row) { return row < n ? store.images[row].path : store.skipped[row - n].path; });
  t.add("predicted", image([&](std::size_t i) { return bundle.classes[std::size_t(p.predicted[i])]; }));
  t.add("anomaly_score", image([&s](std::size_t i) { return format_fixed(s.score[i], 6); }));
  t.add("anomaly_threshold", image([&s](std::size_t i) { return format_fixed(s.threshold[i], 6); }));
  t.add("anomaly_margin", image([&s](std::size_t i) {
          const std::string v = format_fixed(s.margin[i], 6);
          return s.margin[i] >= 0 ? "+" + v : v;
        }));
  t.add("anomaly_flag", image([&s](std::size_t i) { return std::to_string(int(s.flagged[i])); }));
  t.add("anomaly_reason", image([&s](std::size_t i) { return s.reason[i]; }));
  t.add("quality_flags", image([&store](std::size_t i) { return describe_flags(store.images[i].flags); }));
  t.add("skipped_reason", [&store, n](std::size_t row) { return row < n ? std::string() : store.skipped[row - n].reason; });
  return t;
}

void run(const ScoreArgs& a) {
  const char sep = table_separator(a.output, a.format);
  const ModelBundle bundle = load_bundle(a.model);
  const std::optional<AnomalyModel> anomaly = load_anomaly(bundle);
  if (!anomaly) throw std::runtime_error("model bundle " + a.model + " has no anomaly model: add one with `hemolens fit-anomaly " + a.model + " STORE`");
  const ScratchDir scratch("score");
  std::string name;
  const StoreData store = load_input({a.inputs, a.backend, a.threads}, scratch.path, &name);
  require_images(store, name, "score");
  const Predictions p = predict_store(bundle, store, name, a.threads);
  const AnomalyScores s = score_store(*anomaly, store, p.predicted, a.device, a.threads);
  scores_table(bundle, store, p, s).write(a.output, store.rows + store.skipped.size(), sep);
  std::size_t by_forest = 0, by_quality = 0;
  for (std::size_t i = 0; i < store.rows; ++i) (s.reason[i] == "forest" ? by_forest : by_quality) += s.flagged[i];
  std::FILE* say = a.output == "-" ? stderr : stdout;
  std::fprintf(say, "scored %zu images (forests on %s): %zu flagged (%zu by the forests, %zu by segmentation quality), %zu skipped; wrote %s\n",
               store.rows, s.device.c_str(), by_forest + by_quality, by_forest, by_quality, store.skipped.size(),
               a.output == "-" ? "standard output" : a.output.c_str());
  for (const auto& k : store.skipped) std::fprintf(say, "  skipped %s: %s\n", k.path.c_str(), k.reason.c_str());
}

void add_score_command(CLI::App& app) {
  auto a = std::make_shared<ScoreArgs>();
  CLI::App* cmd = app.add_subcommand("score", "anomaly score and flag per image (a store, a folder, a manifest or image files)");
  cmd->add_option("model", a->model, "model bundle directory with an anomaly model (`hemolens fit-anomaly`)")->required();
  cmd->add_option("inputs", a->inputs, "a store (.h5), a folder, a path,label CSV, or image files")->required();
  cmd->add_option("-o,--output", a->output,
                  "scores table (.csv, .tsv, or - for standard output): path, predicted class, anomaly score, threshold, flag, "
                  "reason, quality flags")
      ->required();
  cmd->add_option("--device", a->device, "where the forests run: cpu, cuda or auto")->check(CLI::IsMember({"cpu", "cuda", "auto"}));
  cmd->add_option("--backend", a->backend, "feature extraction backend for images: cpu, cuda or auto")
      ->check(CLI::IsMember({"cpu", "cuda", "auto"}));
  cmd->add_option("--threads", a->threads, "threads (default: all cores)");
  cmd->add_option("--format", a->format, "csv or tsv, whatever the file name says")->check(CLI::IsMember({"csv", "tsv"}));
  cmd->callback([a] { run(*a); });
}

const Registration kRegistration{62, add_score_command};

}  // namespace
}  // namespace hemolens::cli
