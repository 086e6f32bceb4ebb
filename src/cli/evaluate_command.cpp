#include <memory>

#include "cli/commands.hpp"
#include "report/evaluation.hpp"

namespace hemolens::cli {
namespace {

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
  cmd->callback([a] { report::run_evaluation(a->model, a->store, a->json, a->report); });
}

const Registration kRegistration{50, add_evaluate_command};

}  // namespace
}  // namespace hemolens::cli
