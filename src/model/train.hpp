// Training the 8-class classifier: XGBoost multi:softprob on a feature table, with a
// stratified validation split for early stopping, class weights for the imbalance, and
// stratified k-fold cross-validation for honest figures.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/classifier.hpp"
#include "model/metrics.hpp"
#include "model/xgboost.hpp"

namespace hemolens::model {

struct TrainParams {
  std::string booster = "gbtree";  // gbtree, dart, gblinear, or rf (XGBoost's random-forest mode)
  int rounds = 600;
  double eta = 0.1;
  int max_depth = 6;
  double min_child_weight = 1.0;
  double subsample = 0.8;
  double colsample_bytree = 0.5;
  double lambda = 1.0;
  double alpha = 0.0;
  double rate_drop = 0.1;       // dart
  int forest_trees = 200;       // rf: trees per class in its single round
  int early_stopping_rounds = 40;
  double validation_fraction = 0.15;
  // After early stopping has chosen the number of rounds on the validation split, train again
  // on all the rows (validation split included) for that many rounds, scaled by the larger
  // row count: the model then learns from every labelled image instead of 6 in 7.
  bool refit_all = true;
  bool balance_classes = true;  // weight = n / (classes x n_class): every class weighs the same in total
  // The SVM member (model/svm.hpp): trained beside the trees on the same rows, its
  // probabilities averaged with theirs. svm_weight in [0, 1]: its share, fixed (0.7, the best
  // share on the screen's folds: benchmarks/RESULTS.md, "The SVM member"); -1: chosen per
  // model on the early-stopping split (lowest log-loss, both members trained on the other rows).
  bool svm = true;
  double svm_c = 10.0;
  double svm_weight = 0.7;
  std::uint64_t seed = 42;
  std::string device = "auto";  // cpu, cuda, auto
  int threads = 0;              // 0: all cores

  nlohmann::json to_json() const;
  // Keys not listed above are refused, naming `source` (a file) and the key.
  static TrainParams from_json(const nlohmann::json& j, const std::string& source);
};

// A labelled feature table (rows x cols, row-major).
struct Table {
  const float* features = nullptr;
  std::size_t rows = 0, cols = 0;
  std::vector<int> labels;
  std::vector<std::string> classes, feature_names;
};

struct Fitted {
  Booster booster;
  std::optional<SvmMember> svm;  // with TrainParams::svm and a share above 0
  int best_round = 0;   // rounds in the model
  int chosen_round = 0; // rounds chosen by early stopping (before a refit on all rows)
  std::string device;   // "cpu" or "cuda"
  double seconds = 0;
};

// Resolves `auto` (GPU when the linked XGBoost has CUDA and a GPU is present). Throws when
// cuda is asked for and cannot be had, naming the fix (a CUDA-enabled XGBoost through
// -DXGBOOST_ROOT, a node with a GPU, or --device cpu). `note` says what was chosen and why.
bool use_cuda(const std::string& device, std::string* note);

// With `auto`: a warning when this process was given a GPU (CUDA_VISIBLE_DEVICES,
// SLURM_JOB_GPUS, SLURM_STEP_GPUS, or a device the CUDA runtime sees) that training cannot
// use because the linked XGBoost has no CUDA; "" otherwise. A GPU job that silently trains
// on its CPUs wastes the allocation: train prints this first and records it in bundle.json.
std::string idle_gpu_warning(const std::string& device);

// Fold of each row, 0..k-1, stratified by label (each class spread evenly), seeded.
std::vector<int> stratified_folds(const std::vector<int>& labels, int k, std::uint64_t seed);

// Trains on `rows` of the table; when `valid` is non-empty it is the early-stopping set.
Fitted fit(const Table& t, const std::vector<std::size_t>& rows, const std::vector<std::size_t>& valid, const TrainParams& p);

// Trains on `rows`: a stratified validation_fraction of them chooses the number of rounds
// (early stopping), then, with refit_all, all of `rows` train the model for that many rounds.
Fitted fit_selecting_rounds(const Table& t, const std::vector<std::size_t>& rows, const TrainParams& p, std::uint64_t seed);

// Trains on the whole table with a stratified validation split taken from it.
Fitted fit_with_validation(const Table& t, const TrainParams& p);

// Class probabilities (rows x classes) of the given rows: the trees' alone, or (Fitted) both
// members' averaged (blend_proba).
std::vector<float> predict_proba(const Booster& b, const Table& t, const std::vector<std::size_t>& rows, int threads);
std::vector<float> predict_proba(const Booster& b, const float* features, std::size_t rows, std::size_t cols, int threads);
std::vector<float> predict_proba(const Fitted& f, const Table& t, const std::vector<std::size_t>& rows, int threads);

struct CvResult {
  Metrics pooled;                // out-of-fold predictions of all folds together
  std::vector<double> fold_accuracy, fold_macro_f1;
  double seconds = 0;            // training time, all folds
  std::vector<int> predicted;    // out-of-fold prediction per row
  std::vector<float> proba;      // out-of-fold probabilities, rows x classes (what triage is fitted on)
};
CvResult cross_validate(const Table& t, const TrainParams& p, int folds, std::uint64_t seed);

}  // namespace hemolens::model
