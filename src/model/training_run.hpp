// One training run as `hemolens train` and the job runner's train stage do it: optional
// model comparison, hyperparameter search and cross-validation (all printed), then the
// final fit with early stopping, written as a model bundle.
#pragma once
#include <filesystem>

#include <nlohmann/json.hpp>

#include "model/train.hpp"

namespace hemolens::model {

struct TrainingRun {
  std::filesystem::path store, output;
  TrainParams params;
  int cv_folds = 0;       // >= 2: cross-validate and record the figures in bundle.json
  bool compare = false;   // gblinear, rf, gbtree, dart on the same folds
  int search_trials = 0;  // random search, then train the best
};

// Returns bundle.json's content.
nlohmann::json run_training(const TrainingRun& run);

}  // namespace hemolens::model
