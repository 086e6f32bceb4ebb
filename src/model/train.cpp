#include "model/train.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <numeric>
#include <random>
#include <set>
#include <stdexcept>

#include "hemolens/backend.hpp"

namespace hemolens::model {
namespace {

using Clock = std::chrono::steady_clock;

std::vector<float> gather(const Table& t, const std::vector<std::size_t>& rows) {
  std::vector<float> out(rows.size() * t.cols);
  for (std::size_t i = 0; i < rows.size(); ++i)
    std::copy_n(t.features + rows[i] * t.cols, t.cols, out.begin() + std::ptrdiff_t(i * t.cols));
  return out;
}

std::vector<float> class_weights(const std::vector<int>& labels, const std::vector<std::size_t>& rows, std::size_t classes) {
  std::vector<double> count(classes, 0);
  for (std::size_t r : rows) ++count[std::size_t(labels[r])];
  std::vector<float> w;
  for (std::size_t r : rows) w.push_back(float(double(rows.size()) / (double(classes) * count[std::size_t(labels[r])])));
  return w;
}

void set_params(Booster& b, const TrainParams& p, std::size_t classes, std::size_t cols, bool cuda) {
  b.set_param("objective", "multi:softprob");
  b.set_param("num_class", std::to_string(classes));
  b.set_param("eval_metric", "mlogloss");
  b.set_param("seed", std::to_string(p.seed));
  b.set_param("nthread", std::to_string(p.threads));
  b.set_param("verbosity", "1");
  if (p.booster == "gblinear") {
    b.set_param("booster", "gblinear");
    b.set_param("eta", std::to_string(p.eta));
    b.set_param("lambda", std::to_string(p.lambda));
    b.set_param("alpha", std::to_string(p.alpha));
    b.set_param("updater", "coord_descent");  // deterministic, unlike the parallel shotgun updater
    return;
  }
  for (const auto& [k, v] : device_params(cuda, xgboost_info())) b.set_param(k, v);
  b.set_param("max_depth", std::to_string(p.max_depth));
  b.set_param("min_child_weight", std::to_string(p.min_child_weight));
  b.set_param("lambda", std::to_string(p.lambda));
  b.set_param("alpha", std::to_string(p.alpha));
  if (p.booster == "rf") {
    // One round of many trees on row and column samples, no shrinkage: a random forest.
    b.set_param("booster", "gbtree");
    b.set_param("num_parallel_tree", std::to_string(p.forest_trees));
    b.set_param("eta", "1");
    b.set_param("subsample", "0.632");
    b.set_param("colsample_bynode", std::to_string(std::min(1.0, 1.0 / std::sqrt(double(std::max<std::size_t>(cols, 1))))));  // sqrt(F) features a split
    return;
  }
  b.set_param("booster", p.booster);
  b.set_param("eta", std::to_string(p.eta));
  b.set_param("subsample", std::to_string(p.subsample));
  b.set_param("colsample_bytree", std::to_string(p.colsample_bytree));
  if (p.booster == "dart") b.set_param("rate_drop", std::to_string(p.rate_drop));
}

}  // namespace

nlohmann::json TrainParams::to_json() const {
  return {{"booster", booster},
          {"rounds", rounds},
          {"eta", eta},
          {"max_depth", max_depth},
          {"min_child_weight", min_child_weight},
          {"subsample", subsample},
          {"colsample_bytree", colsample_bytree},
          {"lambda", lambda},
          {"alpha", alpha},
          {"rate_drop", rate_drop},
          {"forest_trees", forest_trees},
          {"early_stopping_rounds", early_stopping_rounds},
          {"validation_fraction", validation_fraction},
          {"refit_all", refit_all},
          {"balance_classes", balance_classes},
          {"svm", svm},
          {"svm_c", svm_c},
          {"svm_weight", svm_weight},
          {"seed", seed},
          {"device", device},
          {"threads", threads}};
}

TrainParams TrainParams::from_json(const nlohmann::json& j, const std::string& source) {
  if (!j.is_object()) throw std::runtime_error(source + ": expected a JSON object of training parameters");
  TrainParams p;
  nlohmann::json merged = p.to_json();
  for (const auto& [key, value] : j.items()) {
    if (key.rfind("_", 0) == 0) continue;  // "_comment" and friends
    if (!merged.contains(key)) throw std::runtime_error(source + ": unknown training parameter '" + key + "'");
    if (merged[key].type() != value.type() && !(merged[key].is_number() && value.is_number()))
      throw std::runtime_error(source + ": parameter '" + key + "' must be a " + merged[key].type_name() + ", not " + value.type_name());
    merged[key] = value;
  }
  p.booster = merged["booster"];
  p.rounds = merged["rounds"];
  p.eta = merged["eta"];
  p.max_depth = merged["max_depth"];
  p.min_child_weight = merged["min_child_weight"];
  p.subsample = merged["subsample"];
  p.colsample_bytree = merged["colsample_bytree"];
  p.lambda = merged["lambda"];
  p.alpha = merged["alpha"];
  p.rate_drop = merged["rate_drop"];
  p.forest_trees = merged["forest_trees"];
  p.early_stopping_rounds = merged["early_stopping_rounds"];
  p.validation_fraction = merged["validation_fraction"];
  p.refit_all = merged["refit_all"];
  p.balance_classes = merged["balance_classes"];
  p.svm = merged["svm"];
  p.svm_c = merged["svm_c"];
  p.svm_weight = merged["svm_weight"];
  p.seed = merged["seed"];
  p.device = merged["device"];
  p.threads = merged["threads"];
  const auto bad = [&](const std::string& why) { throw std::runtime_error(source + ": " + why); };
  if (p.booster != "gbtree" && p.booster != "dart" && p.booster != "gblinear" && p.booster != "rf")
    bad("booster must be gbtree, dart, gblinear or rf, not '" + p.booster + "'");
  if (p.device != "cpu" && p.device != "cuda" && p.device != "auto") bad("device must be cpu, cuda or auto");
  if (p.rounds < 1) bad("rounds must be at least 1");
  if (!(p.eta > 0)) bad("eta must be positive");
  if (p.max_depth < 1) bad("max_depth must be at least 1");
  if (!(p.subsample > 0 && p.subsample <= 1) || !(p.colsample_bytree > 0 && p.colsample_bytree <= 1))
    bad("subsample and colsample_bytree must be in (0, 1]");
  if (!(p.validation_fraction > 0 && p.validation_fraction < 0.5)) bad("validation_fraction must be in (0, 0.5)");
  if (!(p.svm_c > 0)) bad("svm_c must be positive");
  if (!(p.svm_weight == -1.0 || (p.svm_weight >= 0 && p.svm_weight <= 1))) bad("svm_weight must be -1 (chosen by training) or in [0, 1]");
  return p;
}

namespace {

// What to do about training without a GPU, for the messages that say so.
const char* kCudaXgboostFix =
    "to train on a GPU, build hemolens against a CUDA-enabled XGBoost: cmake -DXGBOOST_ROOT=/path/to/xgboost-prefix "
    "(the recipe is in docs/training.md, \"GPU training\"); or train with --device cpu";

// "": no GPU was given to this process. CUDA_VISIBLE_DEVICES is set by SLURM (gres=gpu) and by
// users; SLURM_JOB_GPUS / SLURM_STEP_GPUS by SLURM; "NoDevFiles" and "-1" mean none.
std::string given_gpus() {
  for (const char* var : {"CUDA_VISIBLE_DEVICES", "SLURM_STEP_GPUS", "SLURM_JOB_GPUS"}) {
    const char* v = std::getenv(var);
    if (!v || !*v || std::string(v) == "NoDevFiles" || std::string(v) == "-1") continue;
    return std::string(var) + "=" + v;
  }
  const CudaStatus gpu = cuda_status();
  return gpu.devices > 0 ? gpu.message : "";
}

}  // namespace

bool use_cuda(const std::string& device, std::string* note) {
  if (device == "cpu") {
    if (note) *note = "training on the CPU (--device cpu)";
    return false;
  }
  const XgbInfo info = xgboost_info();
  const CudaStatus gpu = cuda_status();
  std::string why, fix;
  if (!info.cuda) {
    why = "the linked XGBoost " + info.version() + " was built without CUDA";
    fix = kCudaXgboostFix;
  } else if (gpu.devices == 0) {
    why = gpu.message;
    fix = "run on a node with a GPU (a SLURM job: gres = \"gpu:1\"), or train with --device cpu";
  }
  if (why.empty()) {
    if (note) *note = "training on the GPU (" + gpu.message + ")";
    return true;
  }
  if (device == "cuda") throw std::runtime_error("--device cuda: " + why + ": " + fix);
  if (note) *note = "training on the CPU: " + why;
  return false;
}

std::string idle_gpu_warning(const std::string& device) {
  if (device != "auto" || xgboost_info().cuda) return "";
  const std::string gpus = given_gpus();
  if (gpus.empty()) return "";
  return "this job was given a GPU (" + gpus + ") but trains on the CPU: the linked XGBoost " + xgboost_info().version() +
         " was built without CUDA; " + kCudaXgboostFix + " (or ask for no GPU)";
}

std::vector<int> stratified_folds(const std::vector<int>& labels, int k, std::uint64_t seed) {
  if (k < 2) throw std::invalid_argument("need at least 2 folds");
  const int classes = labels.empty() ? 0 : *std::max_element(labels.begin(), labels.end()) + 1;
  std::vector<std::vector<std::size_t>> members(std::size_t(std::max(classes, 0)));
  for (std::size_t i = 0; i < labels.size(); ++i) members[std::size_t(labels[i])].push_back(i);
  std::vector<int> fold(labels.size(), 0);
  std::mt19937_64 rng(seed);
  int next = 0;  // continue the round robin across classes so folds stay balanced in size
  for (auto& m : members) {
    std::shuffle(m.begin(), m.end(), rng);
    for (std::size_t i : m) fold[i] = next++ % k;
  }
  return fold;
}

Fitted fit(const Table& t, const std::vector<std::size_t>& rows, const std::vector<std::size_t>& valid, const TrainParams& p) {
  const auto t0 = Clock::now();
  Fitted f;
  const bool cuda = use_cuda(p.device, nullptr);
  f.device = cuda ? "cuda" : "cpu";
  const std::vector<float> x = gather(t, rows);
  DMatrix train(x.data(), rows.size(), t.cols, p.threads);
  std::vector<float> y;
  for (std::size_t r : rows) y.push_back(float(t.labels[r]));
  train.set_info("label", y);
  if (p.balance_classes) train.set_info("weight", class_weights(t.labels, rows, t.classes.size()));
  if (!t.feature_names.empty()) train.set_feature_names(t.feature_names);

  std::vector<float> xv = gather(t, valid);
  std::unique_ptr<DMatrix> vm;
  if (!valid.empty()) {
    vm = std::make_unique<DMatrix>(xv.data(), valid.size(), t.cols, p.threads);
    std::vector<float> yv;
    for (std::size_t r : valid) yv.push_back(float(t.labels[r]));
    vm->set_info("label", yv);
    if (!t.feature_names.empty()) vm->set_feature_names(t.feature_names);
  }
  std::vector<const DMatrix*> cache = {&train};
  if (vm) cache.push_back(vm.get());
  f.booster = Booster(cache);
  set_params(f.booster, p, t.classes.size(), t.cols, cuda);

  const int rounds = p.booster == "rf" ? 1 : p.rounds;
  double best = std::numeric_limits<double>::infinity();
  int best_round = 0;
  for (int it = 0; it < rounds; ++it) {
    f.booster.update(it, train);
    if (!vm) continue;
    const double loss = Booster::last_metric(f.booster.evaluate(it, *vm, "valid"));
    if (loss < best - 1e-9) {
      best = loss;
      best_round = it;
    } else if (p.early_stopping_rounds > 0 && it - best_round >= p.early_stopping_rounds) {
      break;
    }
  }
  f.best_round = vm ? best_round + 1 : rounds;
  // Keep only the rounds up to the best validation loss, so the saved model is the one that
  // was selected (also for Python users who load it without knowing best_round).
  if (vm && p.booster != "gblinear" && f.best_round < f.booster.rounds()) f.booster = f.booster.slice(f.best_round);
  if (!t.feature_names.empty()) f.booster.set_feature_names(t.feature_names);  // names in model.json and importances
  f.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return f;
}

// The SVM member trained on `rows`; none when they hold fewer than two classes.
std::optional<Svm> train_svm(const Table& t, const std::vector<std::size_t>& rows, const TrainParams& p) {
  std::vector<int> labels;
  for (std::size_t r : rows) labels.push_back(t.labels[r]);
  if (std::set<int>(labels.begin(), labels.end()).size() < 2) return std::nullopt;
  const std::vector<float> x = gather(t, rows);
  return Svm::train(x.data(), labels, rows.size(), t.cols, t.classes.size(), {p.svm_c, p.balance_classes, p.seed});
}

Fitted fit_selecting_rounds(const Table& t, const std::vector<std::size_t>& rows, const TrainParams& p, std::uint64_t seed) {
  const int vk = std::max(2, int(std::lround(1.0 / p.validation_fraction)));
  std::vector<int> labels;
  for (std::size_t i : rows) labels.push_back(t.labels[i]);
  const std::vector<int> vfold = stratified_folds(labels, vk, seed);
  std::vector<std::size_t> fit_rows, valid_rows;
  for (std::size_t j = 0; j < rows.size(); ++j) (vfold[j] == 0 ? valid_rows : fit_rows).push_back(rows[j]);
  Fitted chosen = fit(t, fit_rows, valid_rows, p);
  chosen.chosen_round = chosen.best_round;
  // The SVM's share: fixed, or the one that predicts the early-stopping split best, both
  // members trained on the other rows (the split is never trained on, so the share is honest).
  double svm_weight = p.svm ? p.svm_weight : 0.0;
  const auto t0 = Clock::now();
  std::optional<Svm> svm;
  if (p.svm && svm_weight < 0) {
    svm = train_svm(t, fit_rows, p);
    svm_weight = 0;
    if (svm) {
      std::vector<int> truth;
      for (std::size_t r : valid_rows) truth.push_back(t.labels[r]);
      const std::vector<float> xv = gather(t, valid_rows);
      svm_weight = choose_svm_weight(predict_proba(chosen.booster, xv.data(), valid_rows.size(), t.cols, p.threads),
                                     svm->predict_proba(xv.data(), valid_rows.size(), p.threads), truth, t.classes.size());
    }
  }
  const bool refit = p.refit_all && p.booster != "rf";
  if (svm_weight > 0 && (refit || !svm)) svm = train_svm(t, refit ? rows : fit_rows, p);
  const double svm_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  Fitted f;
  if (refit) {
    TrainParams all = p;
    all.rounds = std::max(1, int(std::lround(chosen.best_round * double(rows.size()) / double(fit_rows.size()))));
    f = fit(t, rows, {}, all);
    f.chosen_round = chosen.best_round;
    f.seconds += chosen.seconds;
  } else {
    f = std::move(chosen);
  }
  if (svm_weight > 0 && svm) f.svm = SvmMember{std::move(*svm), svm_weight};
  f.seconds += svm_seconds;
  return f;
}

Fitted fit_with_validation(const Table& t, const TrainParams& p) {
  std::vector<std::size_t> rows(t.rows);
  std::iota(rows.begin(), rows.end(), 0);
  return fit_selecting_rounds(t, rows, p, p.seed);
}

std::vector<float> predict_proba(const Booster& b, const float* features, std::size_t rows, std::size_t cols, int threads) {
  DMatrix m(features, rows, cols, threads);
  return b.predict(m, 0, 0, nullptr);
}

std::vector<float> predict_proba(const Booster& b, const Table& t, const std::vector<std::size_t>& rows, int threads) {
  const std::vector<float> x = gather(t, rows);
  return predict_proba(b, x.data(), rows.size(), t.cols, threads);
}

std::vector<float> predict_proba(const Fitted& f, const Table& t, const std::vector<std::size_t>& rows, int threads) {
  const std::vector<float> x = gather(t, rows);
  return blend_proba(f.booster, f.svm, x.data(), rows.size(), t.cols, threads);
}

CvResult cross_validate(const Table& t, const TrainParams& p, int folds, std::uint64_t seed) {
  CvResult r;
  r.predicted.assign(t.rows, 0);
  const std::vector<int> fold = stratified_folds(t.labels, folds, seed);
  for (int k = 0; k < folds; ++k) {
    std::vector<std::size_t> train_rows, test_rows;
    for (std::size_t i = 0; i < t.rows; ++i) (fold[i] == k ? test_rows : train_rows).push_back(i);
    // Early stopping uses a split of the training folds only: the test fold stays unseen.
    Fitted f = fit_selecting_rounds(t, train_rows, p, p.seed + std::uint64_t(k) + 1);
    r.seconds += f.seconds;
    const std::size_t classes = t.classes.size();
    const std::vector<float> proba = predict_proba(f, t, test_rows, p.threads);
    const std::vector<int> pred = argmax_rows(proba, classes);
    r.proba.resize(t.rows * classes);
    std::vector<int> truth;
    for (std::size_t j = 0; j < test_rows.size(); ++j) {
      r.predicted[test_rows[j]] = pred[j];
      std::copy_n(proba.begin() + std::ptrdiff_t(j * classes), classes, r.proba.begin() + std::ptrdiff_t(test_rows[j] * classes));
      truth.push_back(t.labels[test_rows[j]]);
    }
    const Metrics m = compute_metrics(truth, pred, t.classes);
    r.fold_accuracy.push_back(m.accuracy);
    r.fold_macro_f1.push_back(m.macro_f1);
    spdlog::info("fold {}/{}: accuracy {:.4f}, macro-F1 {:.4f}, {} rounds, SVM share {:.2f}, {:.1f} s", k + 1, folds, m.accuracy,
                 m.macro_f1, f.best_round, f.svm ? f.svm->weight : 0.0, f.seconds);
  }
  r.pooled = compute_metrics(t.labels, r.predicted, t.classes);
  return r;
}

}  // namespace hemolens::model
