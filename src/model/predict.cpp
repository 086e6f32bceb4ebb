#include "model/predict.hpp"

#include "model/metrics.hpp"
#include "model/train.hpp"

namespace hemolens::model {

void calibrate(const ModelBundle& bundle, float* proba, std::size_t rows) {
  if (bundle.triage) bundle.triage->calibration.apply_in_place(proba, rows, bundle.classes.size());
}

std::vector<Decision> decide_rows(const ModelBundle& bundle, const StoreData& store, const Predictions& p, const AnomalyScores* anomaly) {
  std::vector<Decision> out;
  const Triage* triage = bundle.triage ? &*bundle.triage : nullptr;
  for (std::size_t i = 0; i < store.rows; ++i)
    out.push_back(decide(triage, &p.proba[i * p.classes], p.classes, store.images[i].flags, anomaly && flagged_by_model(*anomaly, i)));
  return out;
}

Predictions predict_store(const ModelBundle& bundle, const StoreData& store, const std::string& store_name, int threads) {
  check_compatible(bundle, store, store_name);
  Predictions p;
  p.classes = bundle.classes.size();
  if (store.rows == 0) return p;
  p.raw_proba = blend_proba(bundle.booster, bundle.svm, store.features.data(), store.rows, store.cols, threads);
  p.proba = p.raw_proba;
  calibrate(bundle, p.proba.data(), store.rows);
  p.predicted = argmax_rows(p.proba, p.classes);
  return p;
}

}  // namespace hemolens::model
