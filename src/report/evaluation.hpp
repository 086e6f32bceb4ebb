// One evaluation as `hemolens evaluate` and the job runner's evaluate stage do it: predict a
// labelled store with a model bundle, print the metrics, optionally write metrics JSON and
// the HTML report.
#pragma once
#include <filesystem>
#include <string>

#include "model/metrics.hpp"
#include "report/report.hpp"

namespace hemolens::report {

// The store's labels are matched to the model's classes by name, so a test set that lacks a
// class (or lists them in another order) is judged right; a class the model does not know is
// an error naming it.
model::Metrics run_evaluation(const std::filesystem::path& model_dir, const std::filesystem::path& store,
                              const std::filesystem::path& json_out = {}, const std::filesystem::path& report_out = {},
                              const EvaluatedSet& set = {});

}  // namespace hemolens::report
