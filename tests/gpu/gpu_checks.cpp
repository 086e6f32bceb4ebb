// CPU/GPU parity checks that need only the CUDA toolkit: the fixtures (make_gpu_fixtures, on the
// CPU machine) hold the CPU's answers; this program asks cuda/ the same questions. Every check
// runs, whatever failed before it; families with a fast and a portable path (cuda/exec.hpp) run
// both, each against the CPU, so the GPU's shared-memory and block-reduction paths are compared
// with the portable path that CI executes.
//   1. feature rows (the shared formulas) from the accumulators of sample images and
//      degenerate ones: within a relative 1e-5 (device and host libm may differ in the last bit);
//   2. segmentation preprocessing over a batch of mixed sizes: every value equal;
//   3. connected components (4 and 8) with per-label statistics, and hole filling;
//   4. binary morphology (erode, dilate, open, close with the ellipse);
//   5. chamfer distances; 6. GLCM and LBP counts; 7. colour histograms per region;
//   8. shape moments, boundary edges and boxes (masks: sample masks, U shapes, spirals, combs,
//      border frames, one-pixel-wide images, empty and full masks, hundreds of random masks);
//   9. the segmentation (masks, thresholds, flags) and the device-resident lane (one upload, the
//      whole chain, one download): every accumulator equal, feature rows within 1e-5;
//  10. isolation-forest scores, within 1e-6.
// Exit 0: all agree; 1: a difference or a device error; 77: no GPU here (ctest: skipped).
//   hemolens_gpu_checks [--json FILE] FIXTURE_DIR
//   hemolens_gpu_checks --parse-only FIXTURE_DIR     reads the fixtures only (no device needed)
//   hemolens_gpu_checks --device                     0 when a device is there, 77 when not
//   hemolens_gpu_checks --bench [--images N] [--batches B] [--json FILE] FIXTURE_DIR
// Built against the host execution of cuda/ (hemolens_gpu_checks_host, tests/cuda) it runs
// the same checks on the CPU: CI runs it on every commit.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>

#include "bench.hpp"
#include "components.hpp"
#include "distance.hpp"
#include "feature_rows.hpp"
#include "fixture_io.hpp"
#include "forest_score.hpp"
#include "histograms.hpp"
#include "lane.hpp"
#include "morphology.hpp"
#include "preprocess.hpp"
#include "probe.hpp"
#include "segment.hpp"
#include "shape.hpp"
#include "textures.hpp"

namespace fs = std::filesystem;
using namespace hemolens;
namespace fx = hemolens::gpu_fixture;

namespace {

constexpr double kRowTolerance = 1e-5;    // relative, feature rows
constexpr double kScoreTolerance = 1e-6;  // absolute, forest scores (path lengths summed in double)
const cuda::Path kPaths[] = {cuda::Path::kFast, cuda::Path::kPortable};
const char* path_name(cuda::Path p) { return p == cuda::Path::kFast ? "fast path" : "portable path"; }

bool parse_only = false;

struct Result {
  std::string name;
  bool ok;
  std::string detail;
};
std::vector<Result> results;

void report(const std::string& name, bool ok, const std::string& detail) {
  std::printf("%s %s: %s\n", ok ? "ok" : "FAIL", name.c_str(), detail.c_str());
  std::fflush(stdout);
  results.push_back({name, ok, detail});
}

// Runs one check; a missing or damaged fixture fails that check only.
void run(const std::string& name, const std::function<void()>& check) {
  try {
    check();
  } catch (const std::exception& e) {
    report(name, false, e.what());
  }
}

std::string json_string(const std::string& s) {
  std::string o = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      o += buf;
      continue;
    }
    o += c;
  }
  return o + "\"";
}

// Integers must match exactly; prints the first differences.
template <typename T>
std::size_t count_differences(const char* what, const std::vector<T>& got, const std::vector<T>& cpu) {
  if (got.size() != cpu.size()) {
    std::printf("  %s: %zu values from the device, %zu from the CPU\n", what, got.size(), cpu.size());
    return std::max<std::size_t>(1, cpu.size());
  }
  std::size_t bad = 0;
  for (std::size_t i = 0; i < cpu.size(); ++i)
    if (got[i] != cpu[i] && bad++ < 3) std::printf("  %s[%zu]: device %lld cpu %lld\n", what, i, (long long)got[i], (long long)cpu[i]);
  return bad;
}

// Rows within the relative tolerance; the count of values outside it.
std::size_t row_differences(const std::vector<float>& got, const std::vector<float>& cpu, std::size_t cols, double* worst, std::size_t* exact) {
  std::size_t bad = 0;
  *worst = 0;
  *exact = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double d = std::fabs(double(got[i]) - cpu[i]) / std::max(1.0, std::fabs(double(cpu[i])));
    *exact += got[i] == cpu[i];
    *worst = std::max(*worst, d);
    if (!(d <= kRowTolerance) && bad++ < 5) std::printf("  image %zu feature %zu: device %.9g cpu %.9g\n", i / cols, i % cols, double(got[i]), double(cpu[i]));
  }
  return bad;
}

std::string differ(std::size_t bad) { return std::to_string(bad) + " values differ (must be 0)"; }

void check_features(const fs::path& dir) {
  std::ifstream in(dir / "features.fix", std::ios::binary);
  const auto head = fx::read_array<std::uint64_t>(in, "features header");
  const std::size_t n = head.at(0), cols = head.at(1);
  if (head.at(2) != sizeof(features::ImageAccumulators))
    throw std::runtime_error("accumulators of " + std::to_string(head.at(2)) + " bytes in the fixture, " +
                             std::to_string(sizeof(features::ImageAccumulators)) + " here (remake the fixtures)");
  const auto bytes = fx::read_array<std::uint8_t>(in, "accumulators");
  const auto cpu = fx::read_array<float>(in, "CPU rows");
  if (bytes.size() != n * sizeof(features::ImageAccumulators) || cpu.size() != n * cols) throw std::runtime_error("arrays of the wrong size (remake the fixtures)");
  if (parse_only) return report("parse features.fix", true, std::to_string(n) + " images x " + std::to_string(cols) + " features");
  std::vector<features::ImageAccumulators> acc(n);
  std::memcpy(static_cast<void*>(acc.data()), bytes.data(), bytes.size());
  std::vector<float> got(n * cols);
  std::string error;
  if (cuda::compute_rows(acc.data(), n, got.data(), cols, &error) != int(cols)) return report("features", false, error);
  double worst;
  std::size_t exact;
  const std::size_t bad = row_differences(got, cpu, cols, &worst, &exact);
  char detail[200];
  std::snprintf(detail, sizeof detail, "%zu images x %zu values, %zu bit-identical, largest relative difference %.3g (tolerance %.0e)", n, cols, exact,
                worst, kRowTolerance);
  report("features", bad == 0, detail);
}

void check_preprocess(const fs::path& dir) {
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
      green_hist.size() != 256 * n)
    throw std::runtime_error("arrays of the wrong size (remake the fixtures)");
  if (parse_only) return report("parse preprocess.fix", true, std::to_string(n) + " images, " + std::to_string(planes[0].size()) + " pixels");
  const std::vector<std::size_t> off(offsets.begin(), offsets.end());
  for (const cuda::Path path : kPaths) {
    const std::string name = std::string("preprocess, ") + path_name(path);
    cuda::Preprocessed out;
    std::string error;
    if (!cuda::preprocess({rgb.data(), off.data(), heights.data(), widths.data(), n}, params[0], int(params[1]), out, &error, path)) {
      report(name, false, error);
      continue;
    }
    const std::size_t bad = count_differences("r", out.r, planes[0]) + count_differences("g", out.g, planes[1]) + count_differences("b", out.b, planes[2]) +
                            count_differences("smoothed stain", out.stain, planes[3]) + count_differences("smoothed green", out.green, planes[4]) +
                            count_differences("background", out.background, background) +
                            count_differences("stain histograms", out.stain_hist, stain_hist) +
                            count_differences("green histograms", out.green_hist, green_hist);
    report(name, bad == 0, std::to_string(n) + " images of mixed sizes, " + std::to_string(planes[0].size()) + " pixels: " + differ(bad));
  }
}

// Packed masks as make_gpu_fixtures writes them (write_masks).
struct Masks {
  std::vector<std::uint64_t> offsets;
  std::vector<std::int32_t> heights, widths;
  std::vector<std::uint8_t> mask;
  std::vector<std::size_t> off;
  cuda::PackedMasks view() const { return {mask.data(), off.data(), heights.data(), widths.data(), off.size()}; }
};

Masks read_masks(std::ifstream& in) {
  Masks m;
  m.offsets = fx::read_array<std::uint64_t>(in, "offsets");
  m.heights = fx::read_array<std::int32_t>(in, "heights");
  m.widths = fx::read_array<std::int32_t>(in, "widths");
  m.mask = fx::read_array<std::uint8_t>(in, "masks");
  m.off.assign(m.offsets.begin(), m.offsets.end());
  if (m.heights.size() != m.off.size() || m.widths.size() != m.off.size()) throw std::runtime_error("masks of the wrong size");
  return m;
}

void check_components(const fs::path& dir) {
  std::ifstream in(dir / "components.fix", std::ios::binary);
  const Masks mk = read_masks(in);
  std::vector<std::int32_t> labels[2];
  std::vector<std::uint64_t> counts[2];
  std::vector<std::int64_t> stats[2];
  for (int c = 0; c < 2; ++c) {
    labels[c] = fx::read_array<std::int32_t>(in, "labels");
    counts[c] = fx::read_array<std::uint64_t>(in, "label counts");
    stats[c] = fx::read_array<std::int64_t>(in, "stats");
  }
  const auto filled = fx::read_array<std::uint8_t>(in, "filled");
  const std::size_t n = mk.off.size();
  if (labels[0].size() != mk.mask.size() || labels[1].size() != mk.mask.size() || filled.size() != mk.mask.size() || counts[0].size() != n ||
      counts[1].size() != n)
    throw std::runtime_error("arrays of the wrong size (remake the fixtures)");
  if (parse_only) return report("parse components.fix", true, std::to_string(n) + " masks, " + std::to_string(mk.mask.size()) + " pixels");
  for (const cuda::Path path : kPaths) {
    for (int c = 0; c < 2; ++c) {
      const std::string name = std::string("components, ") + (c == 0 ? "4" : "8") + "-connected, " + path_name(path);
      cuda::Labelled out;
      std::string error;
      if (!cuda::label_components(mk.view(), c == 0 ? 4 : 8, out, &error, path)) {
        report(name, false, error);
        continue;
      }
      std::vector<std::uint64_t> got_counts;
      std::vector<std::int64_t> got_stats;
      for (std::size_t i = 0; i < n; ++i) got_counts.push_back(out.first_label[i + 1] - out.first_label[i]);
      for (const auto& s : out.stats) got_stats.insert(got_stats.end(), {s.area, s.sum_x, s.sum_y, s.min_x, s.min_y, s.max_x, s.max_y});
      const std::size_t bad = count_differences("labels", out.labels, labels[c]) + count_differences("labels per image", got_counts, counts[c]) +
                              count_differences("label stats", got_stats, stats[c]);
      report(name, bad == 0, std::to_string(n) + " masks of mixed sizes, labels and statistics: " + differ(bad));
    }
    const std::string name = std::string("fill holes, ") + path_name(path);
    std::vector<std::uint8_t> got;
    std::string error;
    if (!cuda::fill_holes(mk.view(), got, &error, path)) {
      report(name, false, error);
      continue;
    }
    const std::size_t bad = count_differences("filled", got, filled);
    report(name, bad == 0, std::to_string(n) + " masks: " + differ(bad));
  }
}

void check_morphology(const fs::path& dir) {
  std::ifstream in(dir / "morphology.fix", std::ios::binary);
  const Masks m = read_masks(in);
  const auto spec = fx::read_array<std::int32_t>(in, "operations");
  std::vector<std::vector<std::uint8_t>> expected;
  for (std::size_t k = 0; k + 1 < spec.size(); k += 2) expected.push_back(fx::read_array<std::uint8_t>(in, "morphology result"));
  for (const auto& e : expected)
    if (e.size() != m.mask.size()) throw std::runtime_error("morphology result of the wrong size");
  if (parse_only) return report("parse morphology.fix", true, std::to_string(m.off.size()) + " masks, " + std::to_string(expected.size()) + " operations");
  std::size_t bad = 0;
  for (std::size_t k = 0; k < expected.size(); ++k) {
    std::vector<std::uint8_t> got;
    std::string error;
    if (!cuda::morphology(m.view(), cuda::Morph(spec[2 * k]), spec[2 * k + 1], got, &error)) return report("morphology", false, error);
    const std::string what = "op " + std::to_string(spec[2 * k]) + " radius " + std::to_string(spec[2 * k + 1]);
    bad += count_differences(what.c_str(), got, expected[k]);
  }
  report("morphology", bad == 0, std::to_string(m.off.size()) + " masks, " + std::to_string(expected.size()) + " operations: " + differ(bad));
}

void check_distance(const fs::path& dir) {
  std::ifstream in(dir / "distance.fix", std::ios::binary);
  const Masks m = read_masks(in);
  const auto expected = fx::read_array<std::int32_t>(in, "distances");
  if (expected.size() != m.mask.size()) throw std::runtime_error("distances of the wrong size");
  if (parse_only) return report("parse distance.fix", true, std::to_string(m.off.size()) + " masks");
  std::vector<std::int32_t> got;
  std::string error;
  if (!cuda::chamfer_distance(m.view(), got, &error)) return report("distance", false, error);
  const std::size_t bad = count_differences("chamfer distance", got, expected);
  report("distance", bad == 0, std::to_string(m.off.size()) + " masks: " + differ(bad));
}

void check_textures(const fs::path& dir) {
  std::ifstream in(dir / "textures.fix", std::ios::binary);
  const Masks m = read_masks(in);  // offsets, sizes and the grey plane (in the mask slot)
  const auto cell = fx::read_array<std::uint8_t>(in, "cell");
  const auto nucleus = fx::read_array<std::uint8_t>(in, "nucleus");
  const auto glcm = fx::read_array<std::uint32_t>(in, "GLCM");
  const auto lbp = fx::read_array<std::uint32_t>(in, "LBP");
  const auto lbp2 = fx::read_array<std::uint32_t>(in, "LBP ring 2");
  if (cell.size() != m.mask.size() || nucleus.size() != m.mask.size() || glcm.size() != m.off.size() * 3 * 4 * 1024 || lbp.size() != m.off.size() * 30 ||
      lbp2.size() != lbp.size())
    throw std::runtime_error("texture arrays of the wrong size");
  if (parse_only) return report("parse textures.fix", true, std::to_string(m.off.size()) + " images");
  for (const cuda::Path path : kPaths) {
    const std::string name = std::string("textures, ") + path_name(path);
    cuda::TextureCounts got;
    std::string error;
    if (!cuda::texture_counts(m.view(), m.mask.data(), cell.data(), nucleus.data(), got, &error, path)) {
      report(name, false, error);
      continue;
    }
    const std::size_t bad =
        count_differences("GLCM", got.glcm, glcm) + count_differences("LBP", got.lbp, lbp) + count_differences("LBP ring 2", got.lbp2, lbp2);
    report(name, bad == 0, std::to_string(m.off.size()) + " segmented images, GLCM at 4 distances and LBP on 2 rings, 3 regions: " + differ(bad));
  }
}

void check_histograms(const fs::path& dir) {
  std::ifstream in(dir / "histograms.fix", std::ios::binary);
  const Masks m = read_masks(in);  // offsets, sizes and the r plane (in the mask slot)
  std::vector<std::uint8_t> planes[5];
  for (auto& p : planes) p = fx::read_array<std::uint8_t>(in, "plane");
  const auto hist = fx::read_array<std::uint32_t>(in, "histograms");
  for (const auto& p : planes)
    if (p.size() != m.mask.size()) throw std::runtime_error("histogram planes of the wrong size");
  if (hist.size() != m.off.size() * features::kRegions * features::kChannels * 256) throw std::runtime_error("histograms of the wrong size");
  if (parse_only) return report("parse histograms.fix", true, std::to_string(m.off.size()) + " images");
  const cuda::RegionPlanes p{m.mask.data(), planes[0].data(), planes[1].data(), planes[2].data(), planes[3].data(), planes[4].data()};
  for (const cuda::Path path : kPaths) {
    const std::string name = std::string("colour histograms, ") + path_name(path);
    std::vector<std::uint32_t> got;
    std::string error;
    if (!cuda::colour_histograms(m.view(), p, got, &error, path)) {
      report(name, false, error);
      continue;
    }
    const std::size_t bad = count_differences("colour histograms", got, hist);
    report(name, bad == 0, std::to_string(m.off.size()) + " segmented images, 4 regions x " + std::to_string(features::kChannels) + " channels: " + differ(bad));
  }
}

void check_shape(const fs::path& dir) {
  constexpr std::size_t kValues = 15;  // per mask, as make_gpu_fixtures' write_shape
  std::ifstream in(dir / "shape.fix", std::ios::binary);
  const Masks m = read_masks(in);
  const auto expected = fx::read_array<std::int64_t>(in, "shape values");
  if (expected.size() != m.off.size() * kValues) throw std::runtime_error("shape values of the wrong size");
  if (parse_only) return report("parse shape.fix", true, std::to_string(m.off.size()) + " masks");
  std::vector<features::ShapeAccumulator> shapes;
  std::string error;
  if (!cuda::shape_moments(m.view(), shapes, &error)) return report("shape", false, error);
  std::vector<std::int64_t> got;
  for (const auto& s : shapes) fx::append_shape_values(got, s);
  const std::size_t bad = count_differences("shape values (15 per mask)", got, expected);
  report("shape", bad == 0, std::to_string(m.off.size()) + " masks of mixed sizes, moments, boundary edges and boxes: " + differ(bad));
}

void check_lane(const fs::path& dir) {
  std::ifstream in(dir / "lane.fix", std::ios::binary);
  const auto offsets = fx::read_array<std::uint64_t>(in, "offsets");
  const auto heights = fx::read_array<std::int32_t>(in, "heights");
  const auto widths = fx::read_array<std::int32_t>(in, "widths");
  const auto rgb = fx::read_array<std::uint8_t>(in, "rgb");
  std::vector<std::uint8_t> masks[3];
  for (auto& m : masks) m = fx::read_array<std::uint8_t>(in, "segmentation masks");
  const auto decisions = fx::read_array<std::int64_t>(in, "thresholds and flags");
  fx::AccumulatorValues cpu;
  cpu.head = fx::read_array<std::int64_t>(in, "accumulator head");
  cpu.hist = fx::read_array<std::uint32_t>(in, "colour histograms");
  cpu.glcm = fx::read_array<std::uint32_t>(in, "GLCM");
  cpu.lbp = fx::read_array<std::uint32_t>(in, "LBP");
  cpu.lbp2 = fx::read_array<std::uint32_t>(in, "LBP ring 2");
  cpu.shape = fx::read_array<std::int64_t>(in, "shape values");
  cpu.grey = fx::read_array<std::int64_t>(in, "granularity and Laplacian sums");
  cpu.hull_perimeter = fx::read_array<double>(in, "hull perimeters");
  const auto stain_hist = fx::read_array<std::uint32_t>(in, "stain histograms");
  const auto green_hist = fx::read_array<std::uint32_t>(in, "green histograms");
  const std::size_t cols = fx::read_array<std::uint64_t>(in, "columns").at(0);
  const auto rows = fx::read_array<float>(in, "rows");
  const std::size_t n = offsets.size();
  if (heights.size() != n || widths.size() != n || decisions.size() != 4 * n || cpu.head.size() != fx::kHeadValues * n ||
      cpu.shape.size() != fx::kShapeValues * n || cpu.grey.size() != fx::kGreyValues * n || rows.size() != n * cols ||
      masks[1].size() != masks[0].size() || masks[2].size() != masks[0].size())
    throw std::runtime_error("lane arrays of the wrong size (remake the fixtures)");
  if (parse_only) return report("parse lane.fix", true, std::to_string(n) + " images");
  const std::vector<std::size_t> off(offsets.begin(), offsets.end());
  const cuda::PackedBatch batch{rgb.data(), off.data(), heights.data(), widths.data(), n};
  const cpu::SegmentParams params;
  for (const cuda::Path path : kPaths) {
    // The segmentation alone: the masks, thresholds and flags.
    const std::string seg_name = std::string("segmentation, ") + path_name(path);
    cuda::Segmented seg;
    std::string error;
    if (cuda::segment(batch, params, seg, &error, path)) {
      std::vector<std::int64_t> got;
      for (std::size_t i = 0; i < n; ++i) got.insert(got.end(), {seg.stain_threshold[i], seg.green_threshold[i], seg.other_nucleated[i], std::int64_t(seg.flags[i])});
      const std::size_t bad = count_differences("cell", seg.cell, masks[0]) + count_differences("nucleus", seg.nucleus, masks[1]) +
                              count_differences("background", seg.background, masks[2]) + count_differences("thresholds and flags", got, decisions);
      report(seg_name, bad == 0, std::to_string(n) + " images of mixed sizes: cell, nucleus and background masks, thresholds, flags: " + differ(bad));
    } else {
      report(seg_name, false, error);
    }
    // The lane: every accumulator, then the rows.
    const std::string name = std::string("lane, ") + path_name(path);
    cuda::Lane lane(path);
    cuda::LaneParams p;
    cuda::LaneResult out, with_rows;
    if (!lane.submit(batch, p, &error) || !lane.wait(out, &error)) {
      report(name, false, error);
      continue;
    }
    fx::AccumulatorValues got;
    for (const auto& a : out.acc) fx::append_accumulator_values(got, a);
    std::size_t bad = count_differences("head", got.head, cpu.head) + count_differences("colour histograms", got.hist, cpu.hist) +
                      count_differences("GLCM", got.glcm, cpu.glcm) + count_differences("LBP", got.lbp, cpu.lbp) +
                      count_differences("LBP ring 2", got.lbp2, cpu.lbp2) + count_differences("shape", got.shape, cpu.shape) +
                      count_differences("granularity and Laplacian", got.grey, cpu.grey) +
                      count_differences("stain histograms", out.stain_hist, stain_hist) + count_differences("green histograms", out.green_hist, green_hist);
    for (std::size_t k = 0; k < cpu.hull_perimeter.size(); ++k)
      if (got.hull_perimeter.at(k) != cpu.hull_perimeter[k] && bad++ < 3)
        std::printf("  hull perimeter[%zu]: device %.17g cpu %.17g\n", k, got.hull_perimeter[k], cpu.hull_perimeter[k]);
    p.rows = true;
    if (!lane.submit(batch, p, &error) || !lane.wait(with_rows, &error)) {
      report(name, false, "rows mode: " + error);
      continue;
    }
    double worst;
    std::size_t exact;
    if (with_rows.cols != cols) throw std::runtime_error("the lane gives rows of " + std::to_string(with_rows.cols) + " columns, the fixture " + std::to_string(cols));
    bad += row_differences(with_rows.rows, rows, cols, &worst, &exact);
    char detail[260];
    std::snprintf(detail, sizeof detail, "%zu images, one upload and one download per batch: every accumulator equal, rows within %.0e (largest %.3g, %zu of %zu bit-identical): %zu differ",
                  n, kRowTolerance, worst, exact, rows.size(), bad);
    report(name, bad == 0, detail);
  }
}

// A forest_K.fix: the forest's arrays, the rows and the CPU's scores.
struct ForestFixture {
  int max_depth = 0;
  std::size_t cols = 0, rows = 0;
  double c = 1;
  std::vector<std::int32_t> roots, feature, left, right;
  std::vector<float> threshold, adjustment, x, cpu;
  cuda::ForestArrays arrays() const {
    return {roots.data(), roots.size(), feature.data(), threshold.data(), left.data(), right.data(), adjustment.data(), feature.size(), max_depth, c};
  }
};

ForestFixture read_forest(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  ForestFixture f;
  f.max_depth = fx::read_array<std::int32_t>(in, "max_depth").at(0);
  const auto shape = fx::read_array<std::uint64_t>(in, "shape");
  f.cols = shape.at(0), f.rows = shape.at(1);
  f.c = fx::read_array<double>(in, "c(psi)").at(0);
  f.roots = fx::read_array<std::int32_t>(in, "roots");
  f.feature = fx::read_array<std::int32_t>(in, "feature");
  f.threshold = fx::read_array<float>(in, "threshold");
  f.left = fx::read_array<std::int32_t>(in, "left");
  f.right = fx::read_array<std::int32_t>(in, "right");
  f.adjustment = fx::read_array<float>(in, "adjustment");
  f.x = fx::read_array<float>(in, "rows");
  f.cpu = fx::read_array<float>(in, "CPU scores");
  const std::size_t nodes = f.feature.size();
  if (f.x.size() != f.rows * f.cols || f.cpu.size() != f.rows || f.threshold.size() != nodes || f.left.size() != nodes || f.right.size() != nodes ||
      f.adjustment.size() != nodes)
    throw std::runtime_error("forest arrays of the wrong size (remake the fixtures)");
  return f;
}

void check_forest(const fs::path& file) {
  const std::string stem = file.filename().string();
  const ForestFixture ff = read_forest(file);
  const std::size_t rows = ff.rows, cols = ff.cols;
  if (parse_only) return report("parse " + stem, true, std::to_string(ff.roots.size()) + " trees, " + std::to_string(rows) + " rows");
  for (const cuda::Path path : kPaths) {
    const std::string name = stem + ", " + path_name(path);
    std::vector<float> got(rows);
    std::string error;
    if (!cuda::score_forest(ff.arrays(), ff.x.data(), rows, cols, got.data(), &error, path)) {
      report(name, false, error);
      continue;
    }
    double worst = 0;
    for (std::size_t i = 0; i < rows; ++i) worst = std::max(worst, std::fabs(double(got[i]) - ff.cpu[i]));
    char detail[160];
    std::snprintf(detail, sizeof detail, "%zu trees, %zu rows, largest difference %.3g (tolerance %.0e)", ff.roots.size(), rows, worst, kScoreTolerance);
    report(name, worst <= kScoreTolerance, detail);
  }
}

std::vector<fs::path> forest_files(const fs::path& dir) {
  std::vector<fs::path> out;
  for (int k = 0; fs::exists(dir / ("forest_" + std::to_string(k) + ".fix")); ++k) out.push_back(dir / ("forest_" + std::to_string(k) + ".fix"));
  return out;
}

int bench(const fs::path& dir, std::size_t images, int batches, const std::string& device, FILE* json) {
  std::ifstream in(dir / "bench.fix", std::ios::binary);
  gpu_bench::Images sample;
  const auto offsets = fx::read_array<std::uint64_t>(in, "offsets");
  sample.offsets.assign(offsets.begin(), offsets.end());
  sample.heights = fx::read_array<std::int32_t>(in, "heights");
  sample.widths = fx::read_array<std::int32_t>(in, "widths");
  sample.rgb = fx::read_array<std::uint8_t>(in, "rgb");
  const ForestFixture ff = read_forest(dir / "forest_0.fix");  // its forest and rows
  const gpu_bench::Forest forest{ff.arrays(), ff.x.data(), ff.rows, ff.cols};
  std::vector<gpu_bench::Line> lines;
  std::string error;
  std::printf("bench: %zu images (%zu sample images replicated), lane: %d batches, on %s\n", images, sample.offsets.size(), batches, device.c_str());
  const bool ok = gpu_bench::run(sample, images, batches, forest, lines, &error);
  for (const auto& l : lines) {
    const double ms = l.kernel_ms > 0 ? l.kernel_ms : l.wall_ms;
    std::printf("  %-62s %9.3f ms device %9.3f ms wall %12.0f items/s", l.family.c_str(), l.kernel_ms, l.wall_ms, ms > 0 ? l.items / (ms / 1000) : 0.0);
    if (l.bytes > 0) std::printf(" %7.2f GB/s", l.bytes / (ms / 1000) / 1e9);
    std::printf("\n");
  }
  if (!ok) std::printf("FAIL bench: %s\n", error.c_str());
  if (json) {
    std::fprintf(json, "{\"mode\": \"bench\", \"device\": %s, \"images\": %zu, \"batches\": %d, \"ok\": %s, \"error\": %s, \"lines\": [", json_string(device).c_str(),
                 images, batches, ok ? "true" : "false", json_string(error).c_str());
    for (std::size_t k = 0; k < lines.size(); ++k)
      std::fprintf(json, "%s{\"family\": %s, \"items\": %zu, \"device_ms\": %.4f, \"wall_ms\": %.4f, \"bytes\": %.0f}", k ? ", " : "",
                   json_string(lines[k].family).c_str(), lines[k].items, lines[k].kernel_ms, lines[k].wall_ms, lines[k].bytes);
    std::fprintf(json, "]}\n");
  }
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  bool bench_mode = false;
  std::size_t images = 1024;
  int batches = 4;
  std::string json_path;
  std::vector<std::string> positional;
  for (int k = 1; k < argc; ++k) {
    const std::string a = argv[k];
    if (a == "--parse-only") parse_only = true;
    else if (a == "--bench") bench_mode = true;
    else if (a == "--images" && k + 1 < argc) images = std::stoul(argv[++k]);
    else if (a == "--batches" && k + 1 < argc) batches = std::stoi(argv[++k]);
    else if (a == "--json" && k + 1 < argc) json_path = argv[++k];
    else if (a == "--device") {  // is there a device to check on? (0 yes, 77 no)
      const cuda::Probe p = cuda::probe();
      std::printf("%s\n", p.message.c_str());
      return p.devices ? 0 : 77;
    }
    else positional.push_back(a);
  }
  if (positional.size() != 1 || images == 0 || batches < 1) {
    std::fprintf(stderr, "usage: hemolens_gpu_checks [--parse-only | --bench [--images N] [--batches B]] [--json FILE] FIXTURE_DIR\n");
    return 2;
  }
  const fs::path dir = positional[0];
  if (!fs::is_directory(dir)) {
    std::fprintf(stderr, "no fixture folder %s (make it with make_gpu_fixtures, or scripts/gpu-check --pack)\n", dir.c_str());
    return 2;
  }
  std::string device = "none";
  if (!parse_only) {
    const cuda::Probe p = cuda::probe();
    if (p.devices == 0) {
      std::printf("SKIP: no GPU to check on: %s\n", p.message.c_str());
      return 77;
    }
    device = p.message;
    std::printf("device: %s\n", device.c_str());
  }
  FILE* json = json_path.empty() ? nullptr : std::fopen(json_path.c_str(), "w");
  if (!json_path.empty() && !json) {
    std::fprintf(stderr, "cannot write %s\n", json_path.c_str());
    return 2;
  }
  if (bench_mode) {
    int rc = 1;
    try {
      rc = bench(dir, images, batches, device, json);
    } catch (const std::exception& e) {
      std::printf("FAIL bench: %s\n", e.what());
    }
    if (json) std::fclose(json);
    return rc;
  }
  run("features", [&] { check_features(dir); });
  run("preprocess", [&] { check_preprocess(dir); });
  run("components", [&] { check_components(dir); });
  run("morphology", [&] { check_morphology(dir); });
  run("distance", [&] { check_distance(dir); });
  run("textures", [&] { check_textures(dir); });
  run("colour histograms", [&] { check_histograms(dir); });
  run("shape", [&] { check_shape(dir); });
  run("lane", [&] { check_lane(dir); });
  for (const fs::path& f : forest_files(dir)) run(f.filename().string(), [&] { check_forest(f); });
  const std::size_t failed = std::size_t(std::count_if(results.begin(), results.end(), [](const Result& r) { return !r.ok; }));
  if (json) {
    std::fprintf(json, "{\"mode\": \"%s\", \"device\": %s, \"passed\": %zu, \"failed\": %zu, \"results\": [", parse_only ? "parse" : "checks",
                 json_string(device).c_str(), results.size() - failed, failed);
    for (std::size_t k = 0; k < results.size(); ++k)
      std::fprintf(json, "%s{\"name\": %s, \"ok\": %s, \"detail\": %s}", k ? ", " : "", json_string(results[k].name).c_str(), results[k].ok ? "true" : "false",
                   json_string(results[k].detail).c_str());
    std::fprintf(json, "]}\n");
    std::fclose(json);
  }
  std::printf("%zu checks, %zu failed: %s\n", results.size(), failed, failed ? "FAILED" : parse_only ? "fixtures read" : "all agree");
  return failed ? 1 : 0;
}
