#include <spdlog/spdlog.h>

#include <cstdio>
#include <fstream>
#include <memory>

#include "cli/commands.hpp"
#include "model/training_run.hpp"

namespace hemolens::cli {
namespace {

using namespace hemolens::model;

struct TrainArgs {
  std::string store, output, config, device;
  int cv_folds = 0, cv_repeats = 1, search_trials = 0, threads = -1;
  bool compare = false, print_config = false;
  TriageOptions triage;
};

TrainParams load_params(const TrainArgs& a) {
  TrainParams p;
  if (!a.config.empty()) {
    std::ifstream in(a.config);
    if (!in) throw std::runtime_error("cannot read config " + a.config);
    const auto j = nlohmann::json::parse(in, nullptr, false);
    if (j.is_discarded()) throw std::runtime_error(a.config + ": not valid JSON");
    p = TrainParams::from_json(j, a.config);
  }
  if (!a.device.empty()) p.device = a.device;
  if (a.threads >= 0) p.threads = a.threads;
  return p;
}

void run(const TrainArgs& a) {
  if (a.print_config) {
    std::printf("%s\n", load_params(a).to_json().dump(2).c_str());
    return;
  }
  if (a.store.empty() || a.output.empty()) throw std::runtime_error("train needs STORE and -o MODEL_DIR");
  run_training({a.store, a.output, load_params(a), a.cv_folds, a.cv_repeats, a.compare, a.search_trials, a.triage});
}

void add_train_command(CLI::App& app) {
  auto a = std::make_shared<TrainArgs>();
  CLI::App* cmd = app.add_subcommand("train", "train the XGBoost cell-type classifier on a store and write a model bundle");
  cmd->add_option("store", a->store, "HDF5 feature store with labels");
  cmd->add_option("-o,--output", a->output, "model bundle directory to write");
  cmd->add_option("--device", a->device, "cpu, cuda or auto (GPU when XGBoost has CUDA and a GPU is present)")
      ->check(CLI::IsMember({"cpu", "cuda", "auto"}));
  cmd->add_option("--config", a->config, "JSON file of training parameters (see --print-config)");
  cmd->add_option("--cv", a->cv_folds,
                  "stratified folds of the cross-validation whose out-of-fold predictions fit the calibration, review threshold and "
                  "prediction sets (default " + std::to_string(kTriageFolds) + "); its figures are recorded too")
      ->check(CLI::Range(2, 20));
  cmd->add_option("--repeats", a->cv_repeats,
                  "run the cross-validation this many times on other folds and seeds, and report each, their mean and spread "
                  "(default 1)")
      ->check(CLI::Range(1, 20));
  cmd->add_option("--accept-accuracy", a->triage.accept_accuracy,
                  "accuracy the auto-accepted images must reach out of fold; the confidence threshold is chosen for it (default 0.995)")
      ->check(CLI::Range(0.5, 1.0));
  cmd->add_option("--alpha", a->triage.alpha, "prediction sets hold the true class with probability >= 1 - alpha (default 0.01)")
      ->check(CLI::Range(0.0001, 0.5));
  cmd->add_flag("--compare", a->compare, "compare gblinear, random forest, gbtree and dart by k-fold cross-validation");
  cmd->add_option("--search", a->search_trials, "random hyperparameter search with this many trials (k-fold), then train the best");
  cmd->add_option("--threads", a->threads, "XGBoost threads (default: all cores)");
  cmd->add_flag("--print-config", a->print_config, "print the training parameters in force as JSON and exit");
  cmd->callback([a] { run(*a); });
}

const Registration kRegistration{40, add_train_command};

}  // namespace
}  // namespace hemolens::cli
