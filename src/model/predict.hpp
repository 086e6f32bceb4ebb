// Predictions of a model bundle on a store (checked for schema compatibility first).
#pragma once
#include <string>
#include <vector>

#include "hemolens/store.hpp"
#include "model/anomaly.hpp"
#include "model/bundle.hpp"
#include "model/triage.hpp"

namespace hemolens::model {

struct Predictions {
  std::size_t classes = 0;
  std::vector<float> proba;      // rows x classes, calibrated by the bundle's calibration (when it has one)
  std::vector<float> raw_proba;  // rows x classes, as the classifier gave them
  std::vector<int> predicted;    // argmax of proba per row
};

Predictions predict_store(const ModelBundle& bundle, const StoreData& store, const std::string& store_name, int threads = 0);

// Accept or review for every row of `store` (model/triage.hpp): its calibrated probabilities,
// quality flags, and the anomaly verdict when there is one (a flag the forests raised, not
// one forced by a quality flag, is the "anomaly" reason).
std::vector<Decision> decide_rows(const ModelBundle& bundle, const StoreData& store, const Predictions& p, const AnomalyScores* anomaly);

// The bundle's calibration applied to rows x classes probabilities in place (nothing without one).
void calibrate(const ModelBundle& bundle, float* proba, std::size_t rows);

}  // namespace hemolens::model
