#include "cpu/cpu_backend.hpp"

#include <tbb/enumerable_thread_specific.h>  // for per-thread accumulators

#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "cpu/measure.hpp"
#include "features/feature_row.hpp"
#include "hemolens/backend.hpp"
#include "hemolens/schema.hpp"

namespace hemolens::cpu {
namespace {

using Clock = std::chrono::steady_clock;

std::int64_t ns_since(Clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count();
}

}  // namespace

std::uint32_t extract_image(const RgbView& img, const SegmentParams& params, features::ImageAccumulators& acc, float* row,
                            StageNanos* nanos) {
  const auto t0 = Clock::now();
  const Segmentation seg = segment(img, params);
  if (nanos) nanos->segment += ns_since(t0);
  return extract_segmented(seg, acc, row, nanos);
}

std::uint32_t extract_segmented(const Segmentation& seg, features::ImageAccumulators& acc, float* row, StageNanos* nanos) {
  const auto t0 = Clock::now();
  measure(seg, acc);
  const auto t1 = Clock::now();
  features::compute_row(acc, row);
  if (nanos) {
    nanos->measure += std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count();
    nanos->formulas += ns_since(t1);
  }
  return acc.flags;
}

std::string segment_parameters_json(const SegmentParams& p) {
  const nlohmann::json j = {{"bright_fraction", p.bright_fraction},   {"balance_target", p.balance_target},
                            {"gaussian_ksize", p.gaussian_ksize},     {"median_ksize", p.median_ksize},
                            {"min_stain_threshold", p.min_stain_threshold}, {"nucleus_open_radius", p.nucleus_open_radius},
                            {"cell_open_radius", p.cell_open_radius}, {"min_seed_area", p.min_seed_area},
                            {"other_nucleus_min_area", p.other_nucleus_min_area}, {"min_cell_area", p.min_cell_area},
                            {"min_nucleus_area", p.min_nucleus_area}, {"max_cell_fraction", p.max_cell_fraction},
                            {"lobe_fraction", p.lobe_fraction},       {"cell_reach", p.cell_reach}};
  return j.dump();
}

namespace {

class CpuBackend final : public Backend {
 public:
  std::string name() const override { return "cpu"; }
  std::string device() const override { return std::to_string(std::thread::hardware_concurrency()) + " CPU cores"; }
  bool concurrent() const override { return true; }

  void extract(const ImageBatch& batch, FeatureRows& out) override {
    const std::size_t cols = feature_schema().features.size();
    out.cols = cols;
    out.values.assign(batch.size() * cols, 0.0f);
    out.flags.assign(batch.size(), 0);
    // ImageAccumulators is ~60 KB: one per thread, reused.
    features::ImageAccumulators& acc = accumulators_.local();
    StageNanos nanos;
    for (std::size_t i = 0; i < batch.size(); ++i) out.flags[i] = extract_image(batch.view(i), params_, acc, &out.values[i * cols], &nanos);
    segment_ns_ += nanos.segment;
    measure_ns_ += nanos.measure;
    formula_ns_ += nanos.formulas;
  }

  std::vector<std::pair<std::string, double>> stage_seconds() const override {
    return {{"segment", segment_ns_ * 1e-9}, {"measure", measure_ns_ * 1e-9}, {"formulas", formula_ns_ * 1e-9}};
  }

  std::string parameters_json() const override { return segment_parameters_json(params_); }

 private:
  SegmentParams params_;
  tbb::enumerable_thread_specific<features::ImageAccumulators> accumulators_;
  std::atomic<std::int64_t> segment_ns_{0}, measure_ns_{0}, formula_ns_{0};
};

}  // namespace
}  // namespace hemolens::cpu

namespace hemolens {
std::unique_ptr<Backend> make_cpu_backend() { return std::make_unique<cpu::CpuBackend>(); }
}  // namespace hemolens
