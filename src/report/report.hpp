// The evaluation report: one self-contained HTML file (inline SVG charts and base64
// thumbnails, no scripts or fonts from the network), readable offline.
#pragma once
#include <filesystem>
#include <vector>

#include "hemolens/store.hpp"
#include "model/bundle.hpp"
#include "model/metrics.hpp"
#include "model/triage.hpp"

namespace hemolens::report {

// What the triage sections show (calibration, accept or review, prediction sets), for the
// evaluated images in the order of `rows`.
struct TriageView {
  std::vector<float> proba, raw_proba;  // rows x classes: calibrated, and as the classifier gave them
  std::vector<model::Decision> decisions;
};

// rows[i] is the store row of the i-th evaluated image and predicted[i] its prediction.
void write_report(const std::filesystem::path& out, const model::ModelBundle& bundle, const StoreData& store, const model::Metrics& m,
                  const std::vector<std::size_t>& rows, const std::vector<int>& predicted, const TriageView* triage = nullptr);

}  // namespace hemolens::report
