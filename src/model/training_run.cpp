#include "model/training_run.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>

#include "hemolens/store.hpp"
#include "model/anomaly.hpp"
#include "model/bundle.hpp"
#include "model/labelled.hpp"

namespace hemolens::model {
namespace fs = std::filesystem;
namespace {

void print_row(const std::string& name, const CvResult& r) {
  std::printf("  %-34s %8.4f %9.4f %9.1f\n", name.c_str(), r.pooled.accuracy, r.pooled.macro_f1, r.seconds);
}

// The notebooks' comparison, on the same stratified folds for every model.
nlohmann::json compare_models(const Table& t, const TrainParams& base, int folds) {
  std::printf("model comparison, stratified %d-fold cross-validation (same folds for all):\n", folds);
  std::printf("  %-34s %8s %9s %9s\n", "model", "accuracy", "macro-F1", "train s");
  nlohmann::json out = nlohmann::json::array();
  // The model families alone, then the default pair (trees and the RBF SVM).
  for (const char* booster : {"gblinear", "rf", "gbtree", "dart", "gbtree+svm"}) {
    TrainParams p = base;
    p.svm = std::string(booster) == "gbtree+svm";
    p.booster = p.svm ? "gbtree" : booster;
    if (p.booster == "gblinear") p.eta = 0.5;  // linear models need a larger step to converge in the round budget
    // DART drops trees at random every round and so keeps no prediction cache: its training
    // time grows with the square of the rounds (300 rounds took over 10 minutes a fold on 2
    // cores). 100 rounds at a larger step keep the comparison to minutes.
    if (p.booster == "dart") {
      p.rounds = std::min(p.rounds, 100);
      p.eta = std::max(p.eta, 0.3);
    }
    const CvResult r = cross_validate(t, p, folds, base.seed);
    const std::string name = std::string(booster) + (p.booster == "gblinear" ? " (linear baseline)" : p.booster == "rf" ? " (random forest)"
                                                     : p.svm ? " (the default)" : "");
    print_row(name, r);
    out.push_back({{"booster", booster}, {"accuracy", r.pooled.accuracy}, {"macro_f1", r.pooled.macro_f1}, {"train_seconds", r.seconds}});
  }
  return out;
}

// Random search over a small grid, scored by k-fold macro-F1.
TrainParams search(const Table& t, const TrainParams& base, int trials, int folds, nlohmann::json& log) {
  const std::vector<double> etas = {0.05, 0.1, 0.2}, subsamples = {0.7, 0.8, 1.0}, colsamples = {0.3, 0.5, 0.8};
  const std::vector<int> depths = {4, 6, 8};
  const std::vector<double> child_weights = {1, 3};
  std::mt19937_64 rng(base.seed);
  auto pick = [&](const auto& v) { return v[std::uniform_int_distribution<std::size_t>(0, v.size() - 1)(rng)]; };
  TrainParams best = base;
  double best_f1 = -1;
  std::printf("random search, %d trials, stratified %d-fold cross-validation:\n", trials, folds);
  std::printf("  %-34s %8s %9s %9s\n", "eta/depth/subsample/colsample/mcw", "accuracy", "macro-F1", "train s");
  for (int i = 0; i < trials; ++i) {
    TrainParams p = base;
    p.eta = pick(etas);
    p.max_depth = pick(depths);
    p.subsample = pick(subsamples);
    p.colsample_bytree = pick(colsamples);
    p.min_child_weight = pick(child_weights);
    const CvResult r = cross_validate(t, p, folds, base.seed);
    char name[64];
    std::snprintf(name, sizeof name, "%.2f/%d/%.1f/%.1f/%.0f", p.eta, p.max_depth, p.subsample, p.colsample_bytree, p.min_child_weight);
    print_row(name, r);
    log.push_back({{"params", p.to_json()}, {"accuracy", r.pooled.accuracy}, {"macro_f1", r.pooled.macro_f1}});
    if (r.pooled.macro_f1 > best_f1) {
      best_f1 = r.pooled.macro_f1;
      best = p;
    }
  }
  return best;
}

void print_metrics(const char* title, const Metrics& m) {
  std::printf("%s: accuracy %.4f, macro-F1 %.4f, weighted-F1 %.4f (%zu images)\n", title, m.accuracy, m.macro_f1, m.weighted_f1, m.samples);
  for (std::size_t c = 0; c < m.classes.size(); ++c)
    std::printf("  %-14s precision %.3f recall %.3f F1 %.3f support %zu\n", m.classes[c].c_str(), m.per_class[c].precision,
                m.per_class[c].recall, m.per_class[c].f1, m.per_class[c].support);
}

// Repeats 2..n of the cross-validation, each on other folds and with other seeds. One k-fold
// split's figure moves by about as much as the gains worth testing (0.2-0.4 points on the PBC
// dev split), so a change is judged by the mean against the spread of the repeats.
nlohmann::json repeat_cross_validation(const Table& t, const TrainParams& p, int folds, int repeats, const CvResult& first) {
  std::vector<double> accuracy{first.pooled.accuracy}, macro_f1{first.pooled.macro_f1};
  for (int r = 1; r < repeats; ++r) {
    TrainParams other = p;
    other.seed = p.seed + std::uint64_t(r);
    const CvResult cv = cross_validate(t, other, folds, other.seed);
    accuracy.push_back(cv.pooled.accuracy);
    macro_f1.push_back(cv.pooled.macro_f1);
    std::printf("cross-validation repeat %d of %d (seed %llu): accuracy %.4f, macro-F1 %.4f\n", r + 1, repeats,
                static_cast<unsigned long long>(other.seed), cv.pooled.accuracy, cv.pooled.macro_f1);
  }
  // Mean and sample standard deviation.
  auto mean_sd = [](const std::vector<double>& v) {
    double mean = 0, ss = 0;
    for (double x : v) mean += x / double(v.size());
    for (double x : v) ss += (x - mean) * (x - mean);
    return std::pair{mean, std::sqrt(ss / double(v.size() - 1))};
  };
  const auto [acc_mean, acc_sd] = mean_sd(accuracy);
  const auto [f1_mean, f1_sd] = mean_sd(macro_f1);
  std::printf("repeated cross-validation, %d x %d folds: accuracy %.4f (sd %.4f, %.4f to %.4f), macro-F1 %.4f (sd %.4f)\n", repeats, folds,
              acc_mean, acc_sd, *std::min_element(accuracy.begin(), accuracy.end()), *std::max_element(accuracy.begin(), accuracy.end()),
              f1_mean, f1_sd);
  return {{"repeats", repeats}, {"seeds_from", p.seed},   {"accuracy", accuracy}, {"macro_f1", macro_f1},
          {"accuracy_mean", acc_mean}, {"accuracy_sd", acc_sd}, {"macro_f1_mean", f1_mean}, {"macro_f1_sd", f1_sd}};
}

// The triage on the cross-validation's out-of-fold predictions, summarised on stdout.
nlohmann::json fit_and_print_triage(const LabelledData& data, const StoreData& store, const CvResult& cv, int folds, std::uint64_t seed,
                                    TriageOptions options) {
  std::vector<std::uint32_t> flags;
  for (std::size_t r : data.store_row) flags.push_back(store.images[r].flags);
  options.seed = seed;
  Triage t = fit_triage(cv.proba, data.table.labels, flags, store.classes.size(), options);
  t.folds = folds;
  std::printf("calibration (chosen by held-out log-loss, %d-fold cross-fitting on the out-of-fold predictions): %s", t.calibration_folds,
              t.calibration.method.c_str());
  if (t.calibration.method == "temperature") std::printf(", T = %.3f", t.calibration.temperature);
  std::printf("\n");
  for (const auto& s : t.calibration_scores) std::printf("  %-12s log-loss %.4f  ECE %.4f\n", s.method.c_str(), s.log_loss, s.ece);
  std::printf("prediction sets (%s%s, alpha %.3g): out-of-fold coverage %.4f, mean size %.3f, %.1f %% of one class\n", t.conformal.method.c_str(),
              t.conformal.class_conditional ? ", per class" : "", t.conformal.alpha, t.set_stats.coverage, t.set_stats.mean_size,
              100 * t.set_stats.singleton_share);
  const ReviewPolicy& r = t.review;
  std::printf("review policy: accept at calibrated confidence >= %s or a prediction set of one class; out of fold %.1f %% accepted at "
              "%.2f %% accuracy (target %.2f %%%s)\n",
              std::isinf(r.threshold) ? "(never)" : fmt::format("{:.4f}", r.threshold).c_str(), 100 * r.expected_coverage,
              100 * r.expected_accuracy, 100 * r.accept_accuracy, r.reachable ? "" : ": NOT reached, the most accurate policy is kept");
  return t.to_json(store.classes);
}

}  // namespace

nlohmann::json run_training(const TrainingRun& a) {
  TrainParams p = a.params;
  const std::string idle_gpu = idle_gpu_warning(p.device);
  if (!idle_gpu.empty()) spdlog::warn("{}", idle_gpu);  // the first line of the job's log
  std::string note;
  use_cuda(p.device, &note);
  spdlog::info("{}", note);
  const StoreData store = read_store(a.store);
  const LabelledData data = labelled_rows(store, a.store);
  nlohmann::json meta;
  if (a.compare) meta["comparison"] = compare_models(data.table, p, std::max(a.cv_folds, 5));
  if (a.search_trials > 0) {
    nlohmann::json log = nlohmann::json::array();
    p = search(data.table, p, a.search_trials, std::max(a.cv_folds, 3), log);
    meta["search"] = log;
    std::printf("best by macro-F1: %s\n", p.to_json().dump().c_str());
  }
  const int folds = a.cv_folds >= 2 ? a.cv_folds : kTriageFolds;
  const CvResult cv = cross_validate(data.table, p, folds, p.seed);
  print_metrics(("cross-validation, " + std::to_string(folds) + " stratified folds").c_str(), cv.pooled);
  meta["metrics"]["cross_validation"] = to_json(cv.pooled);
  meta["metrics"]["cross_validation"]["folds"] = folds;
  meta["metrics"]["cross_validation"]["fold_accuracy"] = cv.fold_accuracy;
  if (a.cv_repeats > 1) meta["metrics"]["cross_validation"]["repeated"] = repeat_cross_validation(data.table, p, folds, a.cv_repeats, cv);
  meta["triage"] = fit_and_print_triage(data, store, cv, folds, p.seed, a.triage);
  const Fitted f = fit_with_validation(data.table, p);
  std::printf("trained %s on %zu images (%s): %d rounds chosen by early stopping%s, %.1f s\n", p.booster.c_str(), data.table.rows,
              f.device.c_str(), f.chosen_round,
              f.best_round != f.chosen_round ? (", then all images for " + std::to_string(f.best_round) + " rounds").c_str() : "", f.seconds);
  if (f.svm)
    std::printf("with an RBF SVM (C %g, %zu support vectors) holding %.0f %% of the averaged probabilities\n", p.svm_c,
                f.svm->svm.support_vectors(), 100 * f.svm->weight);
  meta["classes"] = store.classes;
  meta["feature_names"] = store.feature_names;
  meta["schema_hash"] = store.meta.schema_hash;
  meta["schema_version"] = store.meta.schema_version;
  meta["training_store"] = {{"path", a.store.string()}, {"fingerprint", store_fingerprint(store)}, {"images", data.table.rows}};
  meta["params"] = p.to_json();
  meta["best_round"] = f.best_round;
  meta["device"] = f.device;
  meta["device_note"] = note;
  meta["warnings"] = idle_gpu.empty() ? nlohmann::json::array() : nlohmann::json::array({idle_gpu});
  meta["class_weights"] = p.balance_classes ? "n / (classes x n_class): each class weighs the same in total" : "none";
  // The anomaly forests go into the bundle before it is committed: a bundle is never seen
  // without them (a kill in between left one that `hemolens run` took for complete).
  const AnomalyModel anomaly = fit_anomaly(store, store.classes, AnomalyParams{});
  const nlohmann::json anomaly_extra = {{"training_store", {{"path", a.store.string()}, {"fingerprint", meta["training_store"]["fingerprint"]}}}};
  save_bundle(a.output, f.booster, f.svm, meta, [&](const fs::path& staging) { add_anomaly_to_bundle(staging, anomaly, anomaly_extra); });
  std::printf("wrote %s (model.json, bundle.json, anomaly forests)\n", a.output.string().c_str());
  return meta;
}

}  // namespace hemolens::model
