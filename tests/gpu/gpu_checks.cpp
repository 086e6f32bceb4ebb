// CPU/GPU parity checks that need only the CUDA toolkit: the fixtures (make_gpu_fixtures,
// on the CPU machine) hold the CPU's answers; this program asks the GPU the same questions.
//   1. feature rows: the shared formulas (src/features/feature_row.hpp) on the device, from
//      the accumulators of real sample images and degenerate ones, against the CPU's rows;
//   2. segmentation preprocessing (white balance, stain, Gaussian, median, histograms) over a
//      batch of mixed sizes in one launch per stage: every value equal to the CPU's;
//   3. connected components (4 and 8) with per-label stats, and hole filling, over masks of
//      mixed sizes: labels, stats and filled masks equal to the CPU's;
//   4. binary morphology (erode, dilate, open, close with the ellipse) on the same masks;
//   5. chamfer (3-4) distances on the same masks: equal;
//   6. GLCM and LBP counts of segmented sample images (cell, nucleus, cytoplasm): equal;
//   7. colour histograms per region (the shared pixel channels: RGB, HSV, opponent): equal;
//   8. shape moments, boundary edges and bounding boxes of masks of mixed sizes in one
//      launch (segmented cells and nuclei, edge cases): equal;
//   9. isolation-forest scores: every row against every tree in one launch, against the CPU.
// Exit 0: all agree; 1: a difference or a device error; 77: no GPU here (ctest: skipped).
//   hemolens_gpu_checks FIXTURE_DIR
//   hemolens_gpu_checks --parse-only FIXTURE_DIR   reads and checks the fixtures' shapes, no GPU
//                                                  needed (CI runs it: writer and reader agree)
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>

#include "components.hpp"
#include "distance.hpp"
#include "feature_rows.hpp"
#include "fixture_io.hpp"
#include "forest_score.hpp"
#include "histograms.hpp"
#include "morphology.hpp"
#include "preprocess.hpp"
#include "probe.hpp"
#include "shape.hpp"
#include "textures.hpp"

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

// Integers must match exactly; prints the first differences.
template <typename T>
std::size_t count_differences(const char* what, const std::vector<T>& gpu, const std::vector<T>& cpu) {
  if (gpu.size() != cpu.size()) {
    std::printf("  %s: %zu values from the GPU, %zu from the CPU\n", what, gpu.size(), cpu.size());
    return std::max<std::size_t>(1, cpu.size());
  }
  std::size_t bad = 0;
  for (std::size_t i = 0; i < cpu.size(); ++i)
    if (gpu[i] != cpu[i] && bad++ < 3) std::printf("  %s[%zu]: gpu %lld cpu %lld\n", what, i, (long long)gpu[i], (long long)cpu[i]);
  return bad;
}

bool check_preprocess(const fs::path& dir) {
  std::ifstream in(dir / "preprocess.fix", std::ios::binary);
  const auto offsets = fx::read_array<std::uint64_t>(in, "offsets");
  const auto heights = fx::read_array<std::int32_t>(in, "heights");
  const auto widths = fx::read_array<std::int32_t>(in, "widths");
  const auto rgb = fx::read_array<std::uint8_t>(in, "rgb");
  const auto params = fx::read_array<double>(in, "params");
  std::vector<std::vector<std::uint8_t>> planes;
  for (const char* name : {"r", "g", "b", "stain", "green"}) planes.push_back(fx::read_array<std::uint8_t>(in, name));
  const auto background = fx::read_array<std::int32_t>(in, "background");
  const auto stain_hist = fx::read_array<std::uint32_t>(in, "stain histograms");
  const auto green_hist = fx::read_array<std::uint32_t>(in, "green histograms");
  const std::size_t n = offsets.size();
  if (heights.size() != n || widths.size() != n || params.size() != 2 || background.size() != 3 * n || stain_hist.size() != 256 * n ||
      green_hist.size() != 256 * n) {
    std::printf("FAIL preprocess: arrays of the wrong size (remake the fixtures)\n");
    return false;
  }
  if (parse_only) {
    std::printf("parsed preprocess.fix: %zu images, %zu pixels\n", n, planes[0].size());
    return true;
  }
  const std::vector<std::size_t> off(offsets.begin(), offsets.end());
  hemolens::cuda::Preprocessed out;
  std::string error;
  if (!hemolens::cuda::preprocess({rgb.data(), off.data(), heights.data(), widths.data(), n}, params[0], int(params[1]), out, &error)) {
    std::printf("FAIL preprocess: device error: %s\n", error.c_str());
    return false;
  }
  std::size_t bad = count_differences("r", out.r, planes[0]) + count_differences("g", out.g, planes[1]) + count_differences("b", out.b, planes[2]) +
                    count_differences("smoothed stain", out.stain, planes[3]) + count_differences("smoothed green", out.green, planes[4]) +
                    count_differences("background", out.background, background) +
                    count_differences("stain histograms", out.stain_hist, stain_hist) + count_differences("green histograms", out.green_hist, green_hist);
  std::printf("%s preprocess: %zu images of mixed sizes (1x1 to 360x363), %zu pixels: %zu values differ (must be 0)\n", bad ? "FAIL" : "ok", n,
              planes[0].size(), bad);
  return bad == 0;
}

// Packed masks as make_gpu_fixtures writes them (write_masks).
struct Masks {
  std::vector<std::uint64_t> offsets;
  std::vector<std::int32_t> heights, widths;
  std::vector<std::uint8_t> mask;
  std::vector<std::size_t> off;
  hemolens::cuda::PackedMasks view() const { return {mask.data(), off.data(), heights.data(), widths.data(), off.size()}; }
};

Masks read_masks(std::ifstream& in) {
  Masks m;
  m.offsets = fx::read_array<std::uint64_t>(in, "offsets");
  m.heights = fx::read_array<std::int32_t>(in, "heights");
  m.widths = fx::read_array<std::int32_t>(in, "widths");
  m.mask = fx::read_array<std::uint8_t>(in, "masks");
  m.off.assign(m.offsets.begin(), m.offsets.end());
  if (m.heights.size() != m.off.size() || m.widths.size() != m.off.size()) throw std::runtime_error("fixture: masks of the wrong size");
  return m;
}

bool check_morphology(const fs::path& dir) {
  std::ifstream in(dir / "morphology.fix", std::ios::binary);
  const Masks m = read_masks(in);
  const auto spec = fx::read_array<std::int32_t>(in, "operations");
  std::vector<std::vector<std::uint8_t>> expected;
  for (std::size_t k = 0; k + 1 < spec.size(); k += 2) expected.push_back(fx::read_array<std::uint8_t>(in, "morphology result"));
  for (const auto& e : expected)
    if (e.size() != m.mask.size()) throw std::runtime_error("fixture: morphology result of the wrong size");
  if (parse_only) {
    std::printf("parsed morphology.fix: %zu masks, %zu operations\n", m.off.size(), expected.size());
    return true;
  }
  std::size_t bad = 0;
  for (std::size_t k = 0; k < expected.size(); ++k) {
    std::vector<std::uint8_t> got;
    std::string error;
    if (!hemolens::cuda::morphology(m.view(), hemolens::cuda::Morph(spec[2 * k]), spec[2 * k + 1], got, &error)) {
      std::printf("FAIL morphology: device error: %s\n", error.c_str());
      return false;
    }
    const std::string what = "op " + std::to_string(spec[2 * k]) + " radius " + std::to_string(spec[2 * k + 1]);
    bad += count_differences(what.c_str(), got, expected[k]);
  }
  std::printf("%s morphology: %zu masks of mixed sizes, %zu operations: %zu values differ (must be 0)\n", bad ? "FAIL" : "ok", m.off.size(),
              expected.size(), bad);
  return bad == 0;
}

bool check_distance(const fs::path& dir) {
  std::ifstream in(dir / "distance.fix", std::ios::binary);
  const Masks m = read_masks(in);
  const auto expected = fx::read_array<std::int32_t>(in, "distances");
  if (expected.size() != m.mask.size()) throw std::runtime_error("fixture: distances of the wrong size");
  if (parse_only) {
    std::printf("parsed distance.fix: %zu masks\n", m.off.size());
    return true;
  }
  std::vector<std::int32_t> got;
  std::string error;
  if (!hemolens::cuda::chamfer_distance(m.view(), got, &error)) {
    std::printf("FAIL distance: device error: %s\n", error.c_str());
    return false;
  }
  const std::size_t bad = count_differences("chamfer distance", got, expected);
  std::printf("%s distance: %zu masks of mixed sizes: %zu values differ (must be 0)\n", bad ? "FAIL" : "ok", m.off.size(), bad);
  return bad == 0;
}

bool check_textures(const fs::path& dir) {
  std::ifstream in(dir / "textures.fix", std::ios::binary);
  const Masks m = read_masks(in);  // offsets, sizes and the grey plane (in the mask slot)
  const auto cell = fx::read_array<std::uint8_t>(in, "cell");
  const auto nucleus = fx::read_array<std::uint8_t>(in, "nucleus");
  const auto glcm = fx::read_array<std::uint32_t>(in, "GLCM");
  const auto lbp = fx::read_array<std::uint32_t>(in, "LBP");
  const auto lbp2 = fx::read_array<std::uint32_t>(in, "LBP ring 2");
  if (cell.size() != m.mask.size() || nucleus.size() != m.mask.size() || glcm.size() != m.off.size() * 3 * 4 * 1024 ||
      lbp.size() != m.off.size() * 30 || lbp2.size() != lbp.size())
    throw std::runtime_error("fixture: texture arrays of the wrong size");
  if (parse_only) {
    std::printf("parsed textures.fix: %zu images\n", m.off.size());
    return true;
  }
  hemolens::cuda::TextureCounts got;
  std::string error;
  if (!hemolens::cuda::texture_counts(m.view(), m.mask.data(), cell.data(), nucleus.data(), got, &error)) {
    std::printf("FAIL textures: device error: %s\n", error.c_str());
    return false;
  }
  const std::size_t bad = count_differences("GLCM", got.glcm, glcm) + count_differences("LBP", got.lbp, lbp) + count_differences("LBP ring 2", got.lbp2, lbp2);
  std::printf("%s textures: %zu segmented images, GLCM at 4 distances and LBP on 2 rings, 3 regions: %zu counts differ (must be 0)\n",
              bad ? "FAIL" : "ok", m.off.size(), bad);
  return bad == 0;
}

bool check_histograms(const fs::path& dir) {
  std::ifstream in(dir / "histograms.fix", std::ios::binary);
  const Masks m = read_masks(in);  // offsets, sizes and the r plane (in the mask slot)
  std::vector<std::uint8_t> planes[5];
  for (auto& p : planes) p = fx::read_array<std::uint8_t>(in, "plane");
  const auto hist = fx::read_array<std::uint32_t>(in, "histograms");
  for (const auto& p : planes)
    if (p.size() != m.mask.size()) throw std::runtime_error("fixture: histogram planes of the wrong size");
  if (hist.size() != m.off.size() * features::kRegions * features::kChannels * 256) throw std::runtime_error("fixture: histograms of the wrong size");
  if (parse_only) {
    std::printf("parsed histograms.fix: %zu images\n", m.off.size());
    return true;
  }
  std::vector<std::uint32_t> got;
  std::string error;
  const hemolens::cuda::RegionPlanes p{m.mask.data(), planes[0].data(), planes[1].data(), planes[2].data(), planes[3].data(), planes[4].data()};
  if (!hemolens::cuda::colour_histograms(m.view(), p, got, &error)) {
    std::printf("FAIL histograms: device error: %s\n", error.c_str());
    return false;
  }
  const std::size_t bad = count_differences("colour histograms", got, hist);
  std::printf("%s histograms: %zu segmented images, %d regions x %d channels: %zu counts differ (must be 0)\n", bad ? "FAIL" : "ok",
              m.off.size(), features::kRegions, features::kChannels, bad);
  return bad == 0;
}

bool check_shape(const fs::path& dir) {
  constexpr std::size_t kValues = 15;  // per mask, as make_gpu_fixtures' write_shape
  std::ifstream in(dir / "shape.fix", std::ios::binary);
  const Masks m = read_masks(in);
  const auto expected = fx::read_array<std::int64_t>(in, "shape values");
  if (expected.size() != m.off.size() * kValues) throw std::runtime_error("fixture: shape values of the wrong size");
  if (parse_only) {
    std::printf("parsed shape.fix: %zu masks\n", m.off.size());
    return true;
  }
  std::vector<features::ShapeAccumulator> shapes;
  std::string error;
  if (!hemolens::cuda::shape_moments(m.view(), shapes, &error)) {
    std::printf("FAIL shape: device error: %s\n", error.c_str());
    return false;
  }
  std::vector<std::int64_t> got;
  for (const auto& s : shapes) {
    const features::MaskMoments& mo = s.moments;
    got.insert(got.end(), {mo.m00, mo.m10, mo.m01, mo.m20, mo.m11, mo.m02, mo.m30, mo.m21, mo.m12, mo.m03, s.edges, s.min_x, s.max_x, s.min_y,
                           s.max_y});
  }
  const std::size_t bad = count_differences("shape values (15 per mask)", got, expected);
  std::printf("%s shape: %zu masks of mixed sizes, moments, boundary edges and boxes: %zu values differ (must be 0)\n", bad ? "FAIL" : "ok",
              m.off.size(), bad);
  return bad == 0;
}

bool check_components(const fs::path& dir) {
  std::ifstream in(dir / "components.fix", std::ios::binary);
  const Masks mk = read_masks(in);
  const auto& offsets = mk.offsets;
  const auto& heights = mk.heights;
  const auto& widths = mk.widths;
  const auto& masks = mk.mask;
  std::vector<std::int32_t> labels[2];
  std::vector<std::uint64_t> counts[2];
  std::vector<std::int64_t> stats[2];
  for (int c = 0; c < 2; ++c) {
    labels[c] = fx::read_array<std::int32_t>(in, "labels");
    counts[c] = fx::read_array<std::uint64_t>(in, "label counts");
    stats[c] = fx::read_array<std::int64_t>(in, "stats");
  }
  const auto filled = fx::read_array<std::uint8_t>(in, "filled");
  const std::size_t n = offsets.size();
  if (heights.size() != n || widths.size() != n || labels[0].size() != masks.size() || labels[1].size() != masks.size() ||
      filled.size() != masks.size() || counts[0].size() != n || counts[1].size() != n) {
    std::printf("FAIL components: arrays of the wrong size (remake the fixtures)\n");
    return false;
  }
  if (parse_only) {
    std::printf("parsed components.fix: %zu masks, %zu pixels\n", n, masks.size());
    return true;
  }
  const hemolens::cuda::PackedMasks m = mk.view();
  std::size_t bad = 0;
  std::string error;
  for (int c = 0; c < 2; ++c) {
    hemolens::cuda::Labelled out;
    if (!hemolens::cuda::label_components(m, c == 0 ? 4 : 8, out, &error)) {
      std::printf("FAIL components: device error: %s\n", error.c_str());
      return false;
    }
    bad += count_differences(c == 0 ? "labels (4)" : "labels (8)", out.labels, labels[c]);
    std::vector<std::uint64_t> got_counts;
    std::vector<std::int64_t> got_stats;
    for (std::size_t i = 0; i < n; ++i) got_counts.push_back(out.first_label[i + 1] - out.first_label[i]);
    for (const auto& s : out.stats) got_stats.insert(got_stats.end(), {s.area, s.sum_x, s.sum_y, s.min_x, s.min_y, s.max_x, s.max_y});
    bad += count_differences("labels per image", got_counts, counts[c]) + count_differences("label stats", got_stats, stats[c]);
  }
  std::vector<std::uint8_t> got_filled;
  if (!hemolens::cuda::fill_holes(m, got_filled, &error)) {
    std::printf("FAIL fill_holes: device error: %s\n", error.c_str());
    return false;
  }
  bad += count_differences("filled", got_filled, filled);
  std::printf("%s components: %zu masks of mixed sizes, labels and stats (4 and 8), holes filled: %zu values differ (must be 0)\n",
              bad ? "FAIL" : "ok", n, bad);
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
    ok = check_preprocess(dir) && ok;
    ok = check_components(dir) && ok;
    ok = check_morphology(dir) && ok;
    ok = check_distance(dir) && ok;
    ok = check_textures(dir) && ok;
    ok = check_histograms(dir) && ok;
    ok = check_shape(dir) && ok;
    for (int k = 0; fs::exists(dir / ("forest_" + std::to_string(k) + ".fix")); ++k) ok = check_forest(dir / ("forest_" + std::to_string(k) + ".fix")) && ok;
  } catch (const std::exception& e) {
    std::printf("FAIL: %s\n", e.what());
    return 1;
  }
  std::printf(parse_only ? (ok ? "fixtures read\n" : "fixtures FAILED\n") : ok ? "all GPU checks passed\n" : "GPU checks FAILED\n");
  return ok ? 0 : 1;
}
