// One evaluation as `hemolens evaluate` and the job runner's evaluate stage do it: predict a
// labelled store with a model bundle, print the metrics, optionally write metrics JSON and
// the HTML report.
#pragma once
#include <filesystem>

#include "model/metrics.hpp"

namespace hemolens::report {

model::Metrics run_evaluation(const std::filesystem::path& model_dir, const std::filesystem::path& store,
                              const std::filesystem::path& json_out = {}, const std::filesystem::path& report_out = {});

}  // namespace hemolens::report
