#include "report/evaluation.hpp"

#include <cstdio>

#include "hemolens/atomic_file.hpp"
#include "hemolens/crash_point.hpp"
#include "model/bundle.hpp"
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

}  // namespace

Metrics run_evaluation(const std::filesystem::path& model_dir, const std::filesystem::path& store_path,
                       const std::filesystem::path& json_out, const std::filesystem::path& report_out) {
  const ModelBundle bundle = load_bundle(model_dir);
  const StoreData store = read_store(store_path);
  const Predictions pred = predict_store(bundle, store, store_path.string());
  std::vector<int> truth, predicted;
  std::vector<std::size_t> rows;
  for (std::size_t i = 0; i < store.rows; ++i) {
    if (store.images[i].label < 0) continue;
    truth.push_back(store.images[i].label);
    predicted.push_back(pred.predicted[i]);
    rows.push_back(i);
  }
  if (truth.empty()) throw std::runtime_error("store " + store_path.string() + " has no labelled images to evaluate on");
  const Metrics m = compute_metrics(truth, predicted, bundle.classes);
  print(m);
  if (!json_out.empty()) {
    write_file_atomic(json_out, to_json(m).dump(2) + "\n");
    std::printf("wrote %s\n", json_out.string().c_str());
    crash_point("evaluate:metrics-written");
  }
  if (!report_out.empty()) {
    write_report(report_out, bundle, store, m, rows, predicted);
    std::printf("wrote %s\n", report_out.string().c_str());
  }
  return m;
}

}  // namespace hemolens::report
