#include "report/evaluation.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "hemolens/atomic_file.hpp"
#include "hemolens/crash_point.hpp"
#include "model/anomaly.hpp"
#include "model/bundle.hpp"
#include "model/metrics.hpp"
#include "model/predict.hpp"
#include "report/report.hpp"

namespace hemolens::report {
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

// The model's class index of each of the store's classes (-1: a class the model lacks).
std::vector<int> model_class_of(const ModelBundle& bundle, const StoreData& store) {
  std::vector<int> out;
  for (const auto& c : store.classes) {
    const auto it = std::find(bundle.classes.begin(), bundle.classes.end(), c);
    out.push_back(it == bundle.classes.end() ? -1 : int(it - bundle.classes.begin()));
  }
  return out;
}

// The role of the images: what the caller says, else "training" when the store is the one the
// bundle records, else unknown.
std::string role_of(const EvaluatedSet& set, const ModelBundle& bundle, const StoreData& store) {
  if (!set.role.empty()) return set.role;
  const auto& meta = bundle.meta;
  if (meta.contains("training_store") && meta["training_store"].value("fingerprint", "") == store_fingerprint(store)) return "training";
  return "";
}

// The labelled rows' calibrated and raw probabilities and their decisions (with the anomaly
// verdicts when the bundle has forests).
TriageView triage_view(const ModelBundle& bundle, const StoreData& store, const Predictions& pred, const std::vector<std::size_t>& rows) {
  const std::optional<AnomalyModel> forest = load_anomaly(bundle);
  std::optional<AnomalyScores> anomaly;
  if (forest) anomaly = score_store(*forest, store, pred.predicted, "auto");
  const std::vector<Decision> all = decide_rows(bundle, store, pred, anomaly ? &*anomaly : nullptr);
  TriageView v;
  const std::size_t k = pred.classes;
  for (std::size_t r : rows) {
    v.proba.insert(v.proba.end(), pred.proba.begin() + std::ptrdiff_t(r * k), pred.proba.begin() + std::ptrdiff_t((r + 1) * k));
    v.raw_proba.insert(v.raw_proba.end(), pred.raw_proba.begin() + std::ptrdiff_t(r * k), pred.raw_proba.begin() + std::ptrdiff_t((r + 1) * k));
    v.decisions.push_back(all[r]);
  }
  return v;
}

// The triage's figures on these images: what share is accepted and how accurately, the
// calibration error, the prediction sets' coverage.
nlohmann::json triage_json(const ModelBundle& bundle, const TriageView& v, const std::vector<int>& truth) {
  if (!bundle.triage) return nullptr;
  const std::size_t k = bundle.classes.size(), n = truth.size();
  std::size_t accepted = 0, correct = 0;
  for (std::size_t i = 0; i < n; ++i) {
    accepted += v.decisions[i].accept;
    const float* p = &v.proba[i * k];
    correct += v.decisions[i].accept && truth[i] == int(model::top_class(p, k));
  }
  const SetStats sets = set_stats(bundle.triage->conformal, v.proba, truth, k);
  return {{"threshold", std::isinf(bundle.triage->review.threshold) ? nlohmann::json(nullptr) : nlohmann::json(bundle.triage->review.threshold)},
          {"accepted", accepted},
          {"coverage", double(accepted) / double(n)},
          {"accepted_accuracy", accepted ? double(correct) / double(accepted) : 1.0},
          {"ece_raw", reliability(v.raw_proba, truth, k).ece},
          {"ece", reliability(v.proba, truth, k).ece},
          {"log_loss_raw", log_loss(v.raw_proba, truth, k)},
          {"log_loss", log_loss(v.proba, truth, k)},
          {"set_coverage", sets.coverage},
          {"set_mean_size", sets.mean_size},
          {"alpha", bundle.triage->conformal.alpha}};
}

void print_triage(const nlohmann::json& t) {
  if (t.is_null()) {
    std::printf("triage: the model has no review policy (every image goes to review)\n");
    return;
  }
  std::printf("triage: %zu accepted (%.1f %%) at %.2f %% accuracy; ECE %.4f calibrated (%.4f as trained); prediction sets cover %.2f %% "
              "(nominal %.2f %%), mean size %.3f\n",
              t["accepted"].get<std::size_t>(), 100 * t["coverage"].get<double>(), 100 * t["accepted_accuracy"].get<double>(),
              t["ece"].get<double>(), t["ece_raw"].get<double>(), 100 * t["set_coverage"].get<double>(),
              100 * (1 - t["alpha"].get<double>()), t["set_mean_size"].get<double>());
}

}  // namespace

Metrics run_evaluation(const std::filesystem::path& model_dir, const std::filesystem::path& store_path,
                       const std::filesystem::path& json_out, const std::filesystem::path& report_out, const EvaluatedSet& given) {
  const ModelBundle bundle = load_bundle(model_dir);
  const StoreData store = read_store(store_path);
  const Predictions pred = predict_store(bundle, store, store_path.string());
  const std::vector<int> class_of = model_class_of(bundle, store);
  std::vector<int> truth, predicted;
  std::vector<std::size_t> rows;
  for (std::size_t i = 0; i < store.rows; ++i) {
    const int label = store.images[i].label;
    if (label < 0) continue;
    if (class_of[std::size_t(label)] < 0)
      throw std::runtime_error("store " + store_path.string() + " has images of class '" + store.classes[std::size_t(label)] +
                               "', which model " + model_dir.string() + " was not trained on (its classes: " +
                               nlohmann::json(bundle.classes).dump() + ")");
    truth.push_back(class_of[std::size_t(label)]);
    predicted.push_back(pred.predicted[i]);
    rows.push_back(i);
  }
  if (truth.empty()) throw std::runtime_error("store " + store_path.string() + " has no labelled images to evaluate on");
  const Metrics m = compute_metrics(truth, predicted, bundle.classes);
  const EvaluatedSet set{role_of(given, bundle, store), given.description};
  if (set.role == "test") std::printf("test set (%s):\n", set.description.c_str());
  print(m);
  const TriageView triage = triage_view(bundle, store, pred, rows);
  const nlohmann::json triage_figures = triage_json(bundle, triage, truth);
  print_triage(triage_figures);
  if (!json_out.empty()) {
    nlohmann::json j = to_json(m);
    j["evaluated_on"] = {{"store", store_path.string()}, {"role", set.role.empty() ? "unknown" : set.role}, {"description", set.description}};
    if (bundle.meta.contains("metrics") && bundle.meta["metrics"].contains("cross_validation"))
      j["cross_validation"] = bundle.meta["metrics"]["cross_validation"];
    j["triage"] = triage_figures;
    write_file_atomic(json_out, j.dump(2) + "\n");
    std::printf("wrote %s\n", json_out.string().c_str());
    crash_point("evaluate:metrics-written");
  }
  if (!report_out.empty()) {
    write_report(report_out, bundle, store, m, rows, truth, predicted, set, &triage);
    std::printf("wrote %s\n", report_out.string().c_str());
  }
  return m;
}

}  // namespace hemolens::report
