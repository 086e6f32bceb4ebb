// CPU/GPU parity checks that need only the CUDA toolkit: the fixtures (make_gpu_fixtures,
// on the CPU machine) hold the CPU's answers; this program asks the GPU the same questions.
//   1. feature rows: the shared formulas (src/features/feature_row.hpp) on the device, from
//      the accumulators of real sample images and degenerate ones, against the CPU's rows;
//   2. isolation-forest scores: every row against every tree in one launch, against the CPU.
// Exit 0: all agree; 1: a difference or a device error; 77: no GPU here (ctest: skipped).
//   hemolens_gpu_checks FIXTURE_DIR
//   hemolens_gpu_checks --parse-only FIXTURE_DIR   reads and checks the fixtures' shapes, no GPU
//                                                  needed (CI runs it: writer and reader agree)
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>

#include "feature_rows.hpp"
#include "fixture_io.hpp"
#include "forest_score.hpp"
#include "probe.hpp"

namespace fs = std::filesystem;
using namespace hemolens;
namespace fx = hemolens::gpu_fixture;

namespace {

// Feature rows: formulas evaluated in double on both sides and stored as float; device and
// host libm may differ in the last bit of log, sqrt or atan2, so a relative 1e-5 is allowed.
constexpr double kRowTolerance = 1e-5;
constexpr double kScoreTolerance = 1e-6;  // scores: path lengths summed in double on both sides

bool parse_only = false;

bool check_features(const fs::path& dir) {
  std::ifstream in(dir / "features.fix", std::ios::binary);
  const auto head = fx::read_array<std::uint64_t>(in, "features header");
  const std::size_t n = head.at(0), cols = head.at(1);
  if (head.at(2) != sizeof(features::ImageAccumulators)) {
    std::printf("FAIL features: accumulators of %llu bytes in the fixture, %zu here (remake the fixtures)\n",
                static_cast<unsigned long long>(head.at(2)), sizeof(features::ImageAccumulators));
    return false;
  }
  const auto bytes = fx::read_array<std::uint8_t>(in, "accumulators");
  const auto cpu = fx::read_array<float>(in, "CPU rows");
  if (bytes.size() != n * sizeof(features::ImageAccumulators) || cpu.size() != n * cols) {
    std::printf("FAIL features: arrays of the wrong size (remake the fixtures)\n");
    return false;
  }
  if (parse_only) {
    std::printf("parsed features.fix: %zu images x %zu features\n", n, cols);
    return true;
  }
  std::vector<features::ImageAccumulators> acc(n);
  std::copy(bytes.begin(), bytes.end(), reinterpret_cast<std::uint8_t*>(acc.data()));
  std::vector<float> gpu(n * cols);
  std::string error;
  if (hemolens::cuda::compute_rows(acc.data(), n, gpu.data(), cols, &error) != int(cols)) {
    std::printf("FAIL features: device error: %s\n", error.c_str());
    return false;
  }
  std::size_t exact = 0, bad = 0;
  double worst = 0;
  for (std::size_t i = 0; i < gpu.size(); ++i) {
    const double d = std::fabs(double(gpu[i]) - cpu[i]) / std::max(1.0, std::fabs(double(cpu[i])));
    exact += gpu[i] == cpu[i];
    worst = std::max(worst, d);
    if (!(d <= kRowTolerance) && bad++ < 5)
      std::printf("  image %zu feature %zu: gpu %.9g cpu %.9g\n", i / cols, i % cols, double(gpu[i]), double(cpu[i]));
  }
  std::printf("%s features: %zu images x %zu values, %zu bit-identical, largest relative difference %.3g (tolerance %.0e)\n",
              bad ? "FAIL" : "ok", n, cols, exact, worst, kRowTolerance);
  return bad == 0;
}

bool check_forest(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  const int max_depth = fx::read_array<std::int32_t>(in, "max_depth").at(0);
  const auto shape = fx::read_array<std::uint64_t>(in, "shape");
  const double c = fx::read_array<double>(in, "c(psi)").at(0);
  const auto roots = fx::read_array<std::int32_t>(in, "roots");
  const auto feature = fx::read_array<std::int32_t>(in, "feature");
  const auto threshold = fx::read_array<float>(in, "threshold");
  const auto left = fx::read_array<std::int32_t>(in, "left");
  const auto right = fx::read_array<std::int32_t>(in, "right");
  const auto adjustment = fx::read_array<float>(in, "adjustment");
  const auto x = fx::read_array<float>(in, "rows");
  const auto cpu = fx::read_array<float>(in, "CPU scores");
  const std::size_t cols = shape.at(0), rows = shape.at(1), nodes = feature.size();
  if (x.size() != rows * cols || cpu.size() != rows || threshold.size() != nodes || left.size() != nodes || right.size() != nodes ||
      adjustment.size() != nodes) {
    std::printf("FAIL %s: arrays of the wrong size (remake the fixtures)\n", file.filename().c_str());
    return false;
  }
  if (parse_only) {
    std::printf("parsed %s: %zu trees, %zu nodes, %zu rows x %zu cols\n", file.filename().c_str(), roots.size(), nodes, rows, cols);
    return true;
  }
  hemolens::cuda::ForestArrays f;
  f.roots = roots.data();
  f.trees = roots.size();
  f.feature = feature.data();
  f.threshold = threshold.data();
  f.left = left.data();
  f.right = right.data();
  f.adjustment = adjustment.data();
  f.nodes = feature.size();
  f.max_depth = max_depth;
  f.c_sample = c;
  std::vector<float> gpu(rows);
  std::string error;
  if (!hemolens::cuda::score_forest(f, x.data(), rows, cols, gpu.data(), &error)) {
    std::printf("FAIL %s: device error: %s\n", file.filename().c_str(), error.c_str());
    return false;
  }
  double worst = 0;
  for (std::size_t i = 0; i < rows; ++i) worst = std::max(worst, std::fabs(double(gpu[i]) - cpu[i]));
  const bool ok = worst <= kScoreTolerance;
  std::printf("%s %s: %zu trees, %zu rows, largest difference %.3g (tolerance %.0e)\n", ok ? "ok" : "FAIL", file.filename().c_str(),
              roots.size(), rows, worst, kScoreTolerance);
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  parse_only = argc == 3 && std::string(argv[1]) == "--parse-only";
  if (argc != 2 && !parse_only) {
    std::fprintf(stderr, "usage: hemolens_gpu_checks [--parse-only] FIXTURE_DIR\n");
    return 2;
  }
  const fs::path dir = argv[argc - 1];
  if (!parse_only) {
    const hemolens::cuda::Probe p = hemolens::cuda::probe();
    if (p.devices == 0) {
      std::printf("SKIP: no GPU to check on: %s\n", p.message.c_str());
      return 77;
    }
    std::printf("device: %s\n", p.message.c_str());
  }
  bool ok = true;
  try {
    ok = check_features(dir) && ok;
    for (int k = 0; fs::exists(dir / ("forest_" + std::to_string(k) + ".fix")); ++k) ok = check_forest(dir / ("forest_" + std::to_string(k) + ".fix")) && ok;
  } catch (const std::exception& e) {
    std::printf("FAIL: %s\n", e.what());
    return 1;
  }
  std::printf(parse_only ? (ok ? "fixtures read\n" : "fixtures FAILED\n") : ok ? "all GPU checks passed\n" : "GPU checks FAILED\n");
  return ok ? 0 : 1;
}
