// Feature rows (cuda/feature_rows.hpp, cuda/stages.cuh): the shared formulas, one image per item.
#include <string>

#include "feature_rows.hpp"
#include "features/feature_row.hpp"
#include "stages.cuh"

HEMOLENS_CUDA_BEGIN
namespace {

struct Rows {
  const features::ImageAccumulators* acc;
  float* rows;
  std::size_t cols;
  HL_HD void operator()(std::size_t i) const { features::compute_row(acc[i], rows + i * cols); }
};

}  // namespace

void compute_rows(exec::Context& c, const features::ImageAccumulators* acc, std::size_t n, float* rows, std::size_t cols) {
  c.stage("feature rows");
  exec::for_each(c, n, Rows{acc, rows, cols});
}

int compute_rows(const features::ImageAccumulators* acc, std::size_t n, float* rows, std::size_t cols, std::string* error) {
  const bool ok = exec::run_once(
      Path::kFast,
      [&](exec::Context& c) {
        c.stage("upload");
        auto* d_acc = c.take<features::ImageAccumulators>(n);
        auto* d_rows = c.take<float>(n * cols);
        c.upload(d_acc, acc, n * sizeof *acc);
        compute_rows(c, d_acc, n, d_rows, cols);
        c.stage("download");
        c.download(rows, d_rows, n * cols * sizeof(float));
      },
      error);
  return ok ? int(cols) : -1;
}

HEMOLENS_CUDA_END
