#include "model/predict.hpp"

#include "model/metrics.hpp"
#include "model/train.hpp"

namespace hemolens::model {

Predictions predict_store(const ModelBundle& bundle, const StoreData& store, const std::string& store_name, int threads) {
  check_compatible(bundle, store, store_name);
  Predictions p;
  p.classes = bundle.classes.size();
  if (store.rows == 0) return p;
  p.proba = predict_proba(bundle.booster, store.features.data(), store.rows, store.cols, threads);
  p.predicted = argmax_rows(p.proba, p.classes);
  return p;
}

}  // namespace hemolens::model
