#include <cstdio>
#include <fstream>
#include <memory>

#include "cli/commands.hpp"
#include "model/bundle.hpp"
#include "model/metrics.hpp"
#include "model/predict.hpp"
#include "report/report.hpp"

namespace hemolens::cli {
namespace {

using namespace hemolens::model;

void print(const Metrics& m) {
  std::printf("accuracy %.4f, macro-F1 %.4f, weighted-F1 %.4f on %zu labelled images\n", m.accuracy, m.macro_f1, m.weighted_f1, m.samples);
  std::printf("  %-14s %9s %7s %7s %8s\n", "class", "precision", "recall", "F1", "support");
  for (std::size_t c = 0; c < m.classes.size(); ++c)
    std::printf("  %-14s %9.3f %7.3f %7.3f %8zu\n", m.classes[c].c_str(), m.per_class[c].precision, m.per_class[c].recall, m.per_class[c].f1,
                m.per_class[c].support);
  std::printf("confusion (rows: true, columns: predicted, in class order above)\n");
  for (const auto& row : m.confusion) {
    std::printf("  ");
    for (std::size_t v : row) std::printf("%6zu", v);
    std::printf("\n");
  }
}

void add_evaluate_command(CLI::App& app) {
  struct Args {
    std::string model, store, json, report;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("evaluate", "accuracy, F1 per class and confusion matrix of a model on a labelled store");
  cmd->add_option("model", a->model, "model bundle directory")->required();
  cmd->add_option("store", a->store, "labelled HDF5 feature store")->required()->check(CLI::ExistingFile);
  cmd->add_option("--json", a->json, "write the metrics as JSON here");
  cmd->add_option("--report", a->report, "write a self-contained HTML report here");
  cmd->callback([a] {
    const ModelBundle bundle = load_bundle(a->model);
    const StoreData store = read_store(a->store);
    const Predictions pred = predict_store(bundle, store, a->store);
    std::vector<int> truth, predicted;
    std::vector<std::size_t> rows;
    for (std::size_t i = 0; i < store.rows; ++i) {
      if (store.images[i].label < 0) continue;
      truth.push_back(store.images[i].label);
      predicted.push_back(pred.predicted[i]);
      rows.push_back(i);
    }
    if (truth.empty()) throw std::runtime_error("store " + a->store + " has no labelled images to evaluate on");
    const Metrics m = compute_metrics(truth, predicted, bundle.classes);
    print(m);
    if (!a->json.empty()) {
      std::ofstream(a->json) << to_json(m).dump(2) << "\n";
      std::printf("wrote %s\n", a->json.c_str());
    }
    if (!a->report.empty()) {
      report::write_report(a->report, bundle, store, m, rows, predicted);
      std::printf("wrote %s\n", a->report.c_str());
    }
  });
}

const Registration kRegistration{50, add_evaluate_command};

}  // namespace
}  // namespace hemolens::cli
