// One training run as `hemolens train` and the job runner's train stage do it: optional
// model comparison and hyperparameter search, cross-validation (printed; its out-of-fold
// predictions fit the triage), then the final fit with early stopping, written as a model
// bundle.
#pragma once
#include <filesystem>

#include <nlohmann/json.hpp>

#include "model/train.hpp"
#include "model/triage.hpp"

namespace hemolens::model {

struct TrainingRun {
  std::filesystem::path store, output;
  TrainParams params;
  // Folds of the cross-validation that gives the out-of-fold predictions the triage (calibration,
  // review threshold, prediction sets) is fitted on; its figures go into bundle.json too.
  // Below 2: kTriageFolds.
  int cv_folds = 0;
  // Times the cross-validation runs, each on other folds and seeds; from 2 on, every repeat's
  // figures and their mean and spread are printed and recorded (the triage uses the first).
  int cv_repeats = 1;
  bool compare = false;   // gblinear, rf, gbtree, dart on the same folds
  int search_trials = 0;  // random search, then train the best
  TriageOptions triage;
};

inline constexpr int kTriageFolds = 5;

// Returns bundle.json's content.
nlohmann::json run_training(const TrainingRun& run);

}  // namespace hemolens::model
