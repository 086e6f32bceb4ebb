// The evaluation report: one self-contained HTML file (inline SVG charts and base64
// thumbnails, no scripts or fonts from the network), readable offline.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "hemolens/store.hpp"
#include "model/bundle.hpp"
#include "model/metrics.hpp"
#include "model/triage.hpp"

namespace hemolens::report {

// What the evaluated images are to the model, for the report's headline and metrics.json.
struct EvaluatedSet {
  std::string role;         // "test" (never used in training), "training", or "" (not known)
  std::string description;  // in words: where the images come from
};

// What the triage sections show (calibration, accept or review, prediction sets), for the
// evaluated images in the order of `rows`.
struct TriageView {
  std::vector<float> proba, raw_proba;  // rows x classes: calibrated, and as the classifier gave them
  std::vector<model::Decision> decisions;
};

// rows[i] is the store row of the i-th evaluated image, truth[i] its true class and
// predicted[i] its prediction, both as the model's class indices. A test set is headlined
// as such, with the cross-validated figures recorded at training time beside it.
void write_report(const std::filesystem::path& out, const model::ModelBundle& bundle, const StoreData& store, const model::Metrics& m,
                  const std::vector<std::size_t>& rows, const std::vector<int>& truth, const std::vector<int>& predicted,
                  const EvaluatedSet& set, const TriageView* triage = nullptr);

}  // namespace hemolens::report
