// Writes the CPU reference results that gpu_checks compares the GPU against (tests/gpu/
// fixture_io.hpp): per kernel family the inputs (sample images and their masks, the edge-case
// and random masks of cases.hpp, accumulators, forests) and the CPU's answers, the lane's
// chain on a batch of sample images, and the images the benchmark replicates. Runs on the CPU
// machine; the folder travels to the GPU machine (scripts/gpu-check --pack).
//   make_gpu_fixtures [--small] SAMPLE_DIR OUT_DIR
// --small: a few images per family (the set the sanitizers run, and the one CI checks on every
// commit through the host execution).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <random>
#include <tuple>

#include "cpu/color.hpp"
#include "cpu/components.hpp"
#include "cpu/cpu_backend.hpp"
#include "cpu/filters.hpp"
#include "cpu/measure.hpp"
#include "cpu/morphology.hpp"
#include "cpu/segment.hpp"
#include "features/feature_row.hpp"
#include "fixture_io.hpp"
#include "cases.hpp"
#include "reference_chains.hpp"
#include "hemolens/decode.hpp"
#include "hemolens/image.hpp"
#include "hemolens/schema.hpp"
#include "model/isolation_forest.hpp"

namespace fs = std::filesystem;
using namespace hemolens;
namespace fx = hemolens::gpu_fixture;

namespace {

bool small = false;  // --small
std::size_t scaled(std::size_t full, std::size_t reduced) { return small ? reduced : full; }

// The sample's JPEG files, sorted so that the fixtures are the same on every machine.
std::vector<fs::path> jpegs(const fs::path& sample) {
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(sample))
    if (e.is_regular_file() && e.path().extension() == ".jpg") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

void write_features(const fs::path& sample, const fs::path& out) {
  const std::vector<fs::path> files = jpegs(sample);
  const std::size_t cols = feature_schema().features.size();
  std::vector<features::ImageAccumulators> acc;
  for (const fs::path& f : files) {
    if (acc.size() >= scaled(files.size(), 3)) break;
    const DecodeResult d = decode_file(f, {});
    if (!d.image) continue;
    acc.emplace_back();
    std::vector<float> row(cols);
    cpu::extract_image({d.image->rgb.data(), d.image->height, d.image->width}, {}, acc.back(), row.data());
  }
  acc.emplace_back();  // all zero: an image where nothing was found
  acc.emplace_back(acc.front());
  acc.back().shape[features::kNucleus] = {};  // a cell without nucleus
  std::vector<float> rows(acc.size() * cols);
  for (std::size_t i = 0; i < acc.size(); ++i) features::compute_row(acc[i], &rows[i * cols]);
  std::ofstream o(out / "features.fix", std::ios::binary);
  fx::write_array(o, std::vector<std::uint64_t>{acc.size(), cols, sizeof(features::ImageAccumulators)});
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(acc.data());
  fx::write_array(o, std::vector<std::uint8_t>(bytes, bytes + acc.size() * sizeof(features::ImageAccumulators)));
  fx::write_array(o, rows);
  std::printf("features.fix: %zu images x %zu features\n", acc.size(), cols);
}

// Segmentation preprocessing (cuda/preprocess.hpp) on a packed batch of mixed sizes: sample
// images, crops of them with odd sizes, and tiny images (1x1, 2x3, 5x4) for the borders.
void write_preprocess(const fs::path& sample, const fs::path& out) {
  const std::vector<fs::path> files = jpegs(sample);
  ImageBatch batch;
  for (std::size_t k = 0; k < files.size() && batch.size() < scaled(10, 6); k += 11) {
    const DecodeResult d = decode_file(files[k], {});
    batch.add(d.image->rgb.data(), d.image->height, d.image->width, k);
    if (batch.size() == 2)  // crops of the second image: odd sizes, and tiny ones
      for (const auto& [h, w] : std::vector<std::pair<int, int>>{{33, 47}, {1, 1}, {2, 3}, {5, 4}})
        gpu_fixture::add_crop(batch, batch.view(1), 100, 90, h, w, k);
  }
  const double bright_fraction = 0.25;
  const int target = 224;
  std::vector<std::uint8_t> r, g, b, stain, green;
  std::vector<std::int32_t> background;
  std::vector<std::uint32_t> stain_hist, green_hist;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const gpu_fixture::PreprocessReference p = gpu_fixture::preprocess_reference(batch.view(i), bright_fraction, target);
    r.insert(r.end(), p.rgb.r.data.begin(), p.rgb.r.data.end());
    g.insert(g.end(), p.rgb.g.data.begin(), p.rgb.g.data.end());
    b.insert(b.end(), p.rgb.b.data.begin(), p.rgb.b.data.end());
    stain.insert(stain.end(), p.stain.data.begin(), p.stain.data.end());
    green.insert(green.end(), p.green.data.begin(), p.green.data.end());
    background.insert(background.end(), p.rgb.background.begin(), p.rgb.background.end());
    stain_hist.insert(stain_hist.end(), p.stain_hist, p.stain_hist + 256);
    green_hist.insert(green_hist.end(), p.green_hist, p.green_hist + 256);
  }
  std::ofstream o(out / "preprocess.fix", std::ios::binary);
  fx::write_array(o, std::vector<std::uint64_t>(batch.offsets.begin(), batch.offsets.end()));
  fx::write_array(o, batch.heights);
  fx::write_array(o, batch.widths);
  fx::write_array(o, batch.pixels);
  fx::write_array(o, std::vector<double>{bright_fraction, double(target)});
  for (const auto* plane : {&r, &g, &b, &stain, &green}) fx::write_array(o, *plane);
  fx::write_array(o, background);
  fx::write_array(o, stain_hist);
  fx::write_array(o, green_hist);
  std::printf("preprocess.fix: %zu images of mixed sizes, %zu pixels\n", batch.size(), r.size());
}

// Masks of mixed sizes for the mask kernels: the stained-object and dark masks of sample
// images, random masks, the edge cases of cases.hpp (U shapes, spirals, combs, frames on
// the border, one pixel wide) and many small random masks in one batch.
std::vector<Plane8> fixture_masks(const fs::path& sample) {
  std::vector<Plane8> masks;
  const std::vector<fs::path> files = jpegs(sample);
  for (std::size_t k = 0; k < files.size() && masks.size() < scaled(8, 2); k += 17) {
    const DecodeResult d = decode_file(files[k], {});
    const cpu::BalancedRgb rgb = cpu::white_balance({d.image->rgb.data(), d.image->height, d.image->width}, 0.25, 224);
    const Plane8 stain = cpu::stain_channel(rgb);
    masks.push_back(cpu::threshold_above(stain, 60));
    Plane8 dark(rgb.g.height, rgb.g.width);
    for (std::size_t i = 0; i < dark.size(); ++i) dark.data[i] = rgb.g.data[i] <= 170;
    masks.push_back(dark);
  }
  std::mt19937 rng(11);
  std::uniform_real_distribution<double> u(0, 1);
  for (const auto& [h, w, density] : std::vector<std::tuple<int, int, double>>{
           {37, 53, 0.3}, {64, 64, 0.5}, {50, 41, 0.6}, {1, 1, 1.0}, {2, 2, 0.5}, {1, 17, 0.5}, {13, 1, 0.5}, {20, 20, 0.0}, {20, 20, 1.0}}) {
    Plane8 m(h, w);
    for (auto& v : m.data) v = u(rng) < density;
    masks.push_back(m);
  }
  for (const auto& e : gpu_fixture::edge_masks()) masks.push_back(e.mask);
  for (const auto& r : gpu_fixture::random_masks(scaled(200, 40), 17)) masks.push_back(r.mask);
  return masks;
}

// The masks, packed: uint64 pixel offsets, int32 heights, int32 widths, uint8 masks.
void write_masks(std::ofstream& o, const std::vector<Plane8>& masks) {
  std::vector<std::uint64_t> offsets;
  std::vector<std::int32_t> heights, widths;
  std::vector<std::uint8_t> packed;
  for (const Plane8& m : masks) {
    offsets.push_back(packed.size());
    heights.push_back(m.height);
    widths.push_back(m.width);
    packed.insert(packed.end(), m.data.begin(), m.data.end());
  }
  fx::write_array(o, offsets);
  fx::write_array(o, heights);
  fx::write_array(o, widths);
  fx::write_array(o, packed);
}

// Connected components and hole filling (cuda/components.hpp).
void write_components(const std::vector<Plane8>& masks, const fs::path& out) {
  std::ofstream o(out / "components.fix", std::ios::binary);
  write_masks(o, masks);
  std::vector<std::int32_t> labels4, labels8;
  std::vector<std::uint8_t> filled;
  std::vector<std::int64_t> stats4, stats8;  // per label: area, sum_x, sum_y, min_x, min_y, max_x, max_y
  std::vector<std::uint64_t> count4, count8;
  std::size_t pixels = 0;
  for (const Plane8& m : masks) {
    pixels += m.size();
    for (int conn : {4, 8}) {
      Plane32 labels;
      const auto stats = cpu::label_components(m, conn, labels);
      auto& l = conn == 4 ? labels4 : labels8;
      auto& s = conn == 4 ? stats4 : stats8;
      l.insert(l.end(), labels.data.begin(), labels.data.end());
      (conn == 4 ? count4 : count8).push_back(stats.size() - 1);
      for (std::size_t k = 1; k < stats.size(); ++k)
        s.insert(s.end(), {stats[k].area, stats[k].sum_x, stats[k].sum_y, stats[k].min_x, stats[k].min_y, stats[k].max_x, stats[k].max_y});
    }
    Plane8 f;
    cpu::fill_holes(m, f);
    filled.insert(filled.end(), f.data.begin(), f.data.end());
  }
  fx::write_array(o, labels4);
  fx::write_array(o, count4);
  fx::write_array(o, stats4);
  fx::write_array(o, labels8);
  fx::write_array(o, count8);
  fx::write_array(o, stats8);
  fx::write_array(o, filled);
  std::printf("components.fix: %zu masks, %zu pixels, %zu / %zu components (4- / 8-connected)\n", masks.size(), pixels,
              stats4.size() / 7, stats8.size() / 7);
}

// Binary morphology (cuda/morphology.hpp): the operations and radii the segmentation uses.
void write_morphology(const std::vector<Plane8>& masks, const fs::path& out) {
  std::ofstream o(out / "morphology.fix", std::ios::binary);
  write_masks(o, masks);
  const std::vector<std::pair<int, int>> ops = {{0, 2}, {1, 2}, {2, 2}, {2, 6}, {3, 3}, {0, 0}};  // (erode, dilate, open, close), radius
  std::vector<std::int32_t> spec;
  for (const auto& [op, r] : ops) spec.insert(spec.end(), {op, r});
  fx::write_array(o, spec);
  for (const auto& [op, r] : ops) {
    std::vector<std::uint8_t> result;
    for (const Plane8& m : masks) {
      Plane8 res;
      if (op == 0) cpu::erode(m, res, r);
      else if (op == 1) cpu::dilate(m, res, r);
      else if (op == 2) cpu::open(m, res, r);
      else cpu::close(m, res, r);
      result.insert(result.end(), res.data.begin(), res.data.end());
    }
    fx::write_array(o, result);
  }
  std::printf("morphology.fix: %zu masks, %zu operations\n", masks.size(), ops.size());
}

// Chamfer distance (cuda/distance.hpp) to the set pixels of the same masks.
void write_distance(const std::vector<Plane8>& masks, const fs::path& out) {
  std::ofstream o(out / "distance.fix", std::ios::binary);
  write_masks(o, masks);
  std::vector<std::int32_t> d;
  for (const Plane8& m : masks) {
    const Plane32 dist = cpu::chamfer_distance(m);
    d.insert(d.end(), dist.data.begin(), dist.data.end());
  }
  fx::write_array(o, d);
  std::printf("distance.fix: %zu masks\n", masks.size());
}

// GLCM and LBP counts (cuda/textures.hpp) from the CPU segmentation of sample images, plus
// an image whose cell mask is empty.
void write_textures(const fs::path& sample, const fs::path& out) {
  const std::vector<fs::path> files = jpegs(sample);
  std::vector<std::uint64_t> offsets;
  std::vector<std::int32_t> heights, widths;
  std::vector<std::uint8_t> grey, cell, nucleus;
  std::vector<std::uint32_t> glcm, lbp, lbp2;
  auto add = [&](const Plane8& g, const Plane8& c, const Plane8& n) {
    offsets.push_back(grey.size());
    heights.push_back(g.height);
    widths.push_back(g.width);
    grey.insert(grey.end(), g.data.begin(), g.data.end());
    cell.insert(cell.end(), c.data.begin(), c.data.end());
    nucleus.insert(nucleus.end(), n.data.begin(), n.data.end());
    cpu::Box box{c.width, c.height, -1, -1};  // the cell's bounding box
    for (int y = 0; y < c.height; ++y)
      for (int x = 0; x < c.width; ++x)
        if (c.at(y, x)) box = {std::min(box.x0, x), std::min(box.y0, y), std::max(box.x1, x), std::max(box.y1, y)};
    auto acc = std::make_unique<features::ImageAccumulators>();
    cpu::accumulate_textures(g, c, n, box, *acc);
    for (const auto& region : acc->glcm)
      for (const auto& m : region) glcm.insert(glcm.end(), std::begin(m), std::end(m));
    for (const auto& region : acc->lbp) lbp.insert(lbp.end(), std::begin(region), std::end(region));
    for (const auto& region : acc->lbp2) lbp2.insert(lbp2.end(), std::begin(region), std::end(region));
  };
  for (std::size_t k = 0; k < files.size() && offsets.size() < scaled(8, 2); k += 9) {
    const DecodeResult d = decode_file(files[k], {});
    const cpu::Segmentation seg = cpu::segment({d.image->rgb.data(), d.image->height, d.image->width}, {});
    add(seg.rgb.g, seg.cell, seg.nucleus);
  }
  add(Plane8(40, 30, 128), Plane8(40, 30, 0), Plane8(40, 30, 0));
  std::ofstream o(out / "textures.fix", std::ios::binary);
  fx::write_array(o, offsets);
  fx::write_array(o, heights);
  fx::write_array(o, widths);
  for (const auto* plane : {&grey, &cell, &nucleus}) fx::write_array(o, *plane);
  for (const auto* counts : {&glcm, &lbp, &lbp2}) fx::write_array(o, *counts);
  std::printf("textures.fix: %zu segmented images\n", offsets.size());
}

// Colour histograms per region (cuda/histograms.hpp) from the CPU segmentation of sample
// images.
void write_histograms(const fs::path& sample, const fs::path& out) {
  const std::vector<fs::path> files = jpegs(sample);
  std::vector<std::uint64_t> offsets;
  std::vector<std::int32_t> heights, widths;
  std::vector<std::uint8_t> planes[6];
  std::vector<std::uint32_t> hist;
  for (std::size_t k = 4; k < files.size() && offsets.size() < scaled(6, 2); k += 13) {
    const DecodeResult d = decode_file(files[k], {});
    const cpu::Segmentation seg = cpu::segment({d.image->rgb.data(), d.image->height, d.image->width}, {});
    offsets.push_back(planes[0].size());
    heights.push_back(seg.cell.height);
    widths.push_back(seg.cell.width);
    const Plane8* src[6] = {&seg.rgb.r, &seg.rgb.g, &seg.rgb.b, &seg.cell, &seg.nucleus, &seg.background};
    for (int c = 0; c < 6; ++c) planes[c].insert(planes[c].end(), src[c]->data.begin(), src[c]->data.end());
    auto acc = std::make_unique<features::ImageAccumulators>();
    cpu::colour_histograms(seg, *acc);
    for (const auto& region : acc->hist)
      for (const auto& channel : region) hist.insert(hist.end(), std::begin(channel), std::end(channel));
  }
  std::ofstream o(out / "histograms.fix", std::ios::binary);
  fx::write_array(o, offsets);
  fx::write_array(o, heights);
  fx::write_array(o, widths);
  for (const auto& p : planes) fx::write_array(o, p);
  fx::write_array(o, hist);
  std::printf("histograms.fix: %zu segmented images\n", offsets.size());
}

// Moments, boundary edges and bounding boxes (cuda/shape.hpp) of one batch of mixed sizes:
// the cell and nucleus masks of the CPU segmentation of sample images of four classes, the
// stained-object and dark masks of one image (scattered, touching the border) and the random
// and tiny masks of fixture_masks, and edge cases. Kept to about 1.3 MB, as the whole
// fixture folder travels to the GPU machine. Runs of tiny masks put several images in one
// warp, which the kernel adds lane by lane. Per mask: int64 m00 m10 m01 m20 m11 m02 m30 m21
// m12 m03, edges, min_x, max_x, min_y, max_y from cpu::measure_shape.
void write_shape(const fs::path& sample, const std::vector<Plane8>& fixture_set, const fs::path& out) {
  const std::vector<fs::path> files = jpegs(sample);
  std::vector<Plane8> masks;
  for (std::size_t k = 2; k < files.size() && masks.size() < scaled(8, 2); k += 17) {
    const DecodeResult d = decode_file(files[k], {});
    const cpu::Segmentation seg = cpu::segment({d.image->rgb.data(), d.image->height, d.image->width}, {});
    masks.push_back(seg.cell);
    masks.push_back(seg.nucleus);
  }
  masks.push_back(Plane8(30, 20, 0));  // empty
  masks.push_back(Plane8(1, 1, 0));    // 1x1, empty
  masks.push_back(Plane8(1, 1, 1));    // 1x1, set: 4 edges, all on the border
  masks.push_back(Plane8(23, 17, 1));  // full: edges only along the border
  masks.push_back(Plane8(1, 300, 1));  // one full row
  Plane8 border(19, 26, 0);            // the four corners, the last column and a bar on the first row
  for (int y = 0; y < border.height; ++y) border.at(y, border.width - 1) = 1;
  for (int x = 3; x < 15; ++x) border.at(0, x) = 1;
  border.at(0, 0) = border.at(border.height - 1, 0) = 1;
  masks.push_back(border);
  Plane8 ring(15, 15, 0);  // a square ring: the hole's edges count too
  for (int y = 2; y < 13; ++y)
    for (int x = 2; x < 13; ++x) ring.at(y, x) = y < 5 || y > 9 || x < 5 || x > 9;
  masks.push_back(ring);
  Plane8 checker(9, 7, 0);  // every pixel's 4 sides are edges
  for (int y = 0; y < checker.height; ++y)
    for (int x = 0; x < checker.width; ++x) checker.at(y, x) = (x + y) % 2;
  masks.push_back(checker);
  for (std::size_t i = 0; i < fixture_set.size(); ++i)
    if (i < 2 || fixture_set[i].size() < 10000) masks.push_back(fixture_set[i]);

  std::vector<std::int64_t> expected;
  std::size_t pixels = 0;
  for (const Plane8& m : masks) {
    features::ShapeAccumulator s;
    cpu::measure_shape(m, s);
    fx::append_shape_values(expected, s);
    pixels += m.size();
  }
  std::ofstream o(out / "shape.fix", std::ios::binary);
  write_masks(o, masks);
  fx::write_array(o, expected);
  std::printf("shape.fix: %zu masks of mixed sizes, %zu pixels\n", masks.size(), pixels);
}

// The device-resident lane (cuda/lane.hpp) on sample images and crops of them (odd sizes, one
// row, a corner without a cell), with the default segmentation parameters: the CPU's
// segmentation, every accumulator and the feature rows (reference_chains.hpp).
void write_lane(const fs::path& sample, const fs::path& out) {
  const std::vector<fs::path> files = jpegs(sample);
  ImageBatch batch;
  for (std::size_t k = 5; k < files.size() && batch.size() < scaled(12, 5); k += 5) {
    const DecodeResult d = decode_file(files[k], {});
    batch.add(d.image->rgb.data(), d.image->height, d.image->width, k);
    if (batch.size() == 1)
      for (const auto& [y, x, h, w] : std::vector<std::tuple<int, int, int, int>>{{150, 150, 33, 47}, {150, 150, 1, 40}, {0, 0, 60, 60}, {100, 80, 200, 170}})
        gpu_fixture::add_crop(batch, batch.view(0), y, x, h, w, k);
  }
  const cpu::SegmentParams params;
  const std::size_t cols = feature_schema().features.size();
  std::vector<std::uint8_t> masks[3];
  std::vector<std::int64_t> decisions;
  fx::AccumulatorValues values;
  std::vector<std::uint32_t> stain_hist, green_hist;
  std::vector<float> rows(batch.size() * cols);
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const gpu_fixture::LaneReference r = gpu_fixture::lane_reference(batch.view(i), params);
    const Plane8* planes[3] = {&r.seg.cell, &r.seg.nucleus, &r.seg.background};
    for (int k = 0; k < 3; ++k) masks[k].insert(masks[k].end(), planes[k]->data.begin(), planes[k]->data.end());
    decisions.insert(decisions.end(), {r.seg.stain_threshold, r.seg.green_threshold, r.seg.other_nucleated, std::int64_t(r.seg.flags)});
    fx::append_accumulator_values(values, *r.acc);
    stain_hist.insert(stain_hist.end(), r.stain_hist, r.stain_hist + 256);
    green_hist.insert(green_hist.end(), r.green_hist, r.green_hist + 256);
    features::compute_row(*r.acc, &rows[i * cols]);
  }
  std::ofstream o(out / "lane.fix", std::ios::binary);
  fx::write_array(o, std::vector<std::uint64_t>(batch.offsets.begin(), batch.offsets.end()));
  fx::write_array(o, batch.heights);
  fx::write_array(o, batch.widths);
  fx::write_array(o, batch.pixels);
  for (const auto& m : masks) fx::write_array(o, m);
  fx::write_array(o, decisions);
  fx::write_array(o, values.head);
  for (const auto* v : {&values.hist, &values.glcm, &values.lbp, &values.lbp2}) fx::write_array(o, *v);
  fx::write_array(o, values.shape);
  fx::write_array(o, values.grey);
  fx::write_array(o, values.hull_perimeter);
  fx::write_array(o, stain_hist);
  fx::write_array(o, green_hist);
  fx::write_array(o, std::vector<std::uint64_t>{cols});
  fx::write_array(o, rows);
  std::printf("lane.fix: %zu images of mixed sizes\n", batch.size());
}

// Decoded sample images of every class, which the benchmark replicates to a large batch.
void write_bench(const fs::path& sample, const fs::path& out) {
  const std::vector<fs::path> files = jpegs(sample);
  ImageBatch batch;
  for (std::size_t k = 0; k < files.size() && batch.size() < scaled(16, 2); k += 4) {
    const DecodeResult d = decode_file(files[k], {});
    batch.add(d.image->rgb.data(), d.image->height, d.image->width, k);
  }
  std::ofstream o(out / "bench.fix", std::ios::binary);
  fx::write_array(o, std::vector<std::uint64_t>(batch.offsets.begin(), batch.offsets.end()));
  fx::write_array(o, batch.heights);
  fx::write_array(o, batch.widths);
  fx::write_array(o, batch.pixels);
  std::printf("bench.fix: %zu sample images\n", batch.size());
}

void write_forest(const fs::path& out, int k, const model::ForestParams& p, std::size_t rows, std::size_t cols) {
  std::mt19937 rng(29 + k);
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<float> x(rows * cols);
  for (auto& v : x) v = g(rng);
  for (std::size_t i = 0; i < rows; i += 97) x[i * cols + 5] = std::nanf("");  // NaN goes right on both
  const model::IsolationForest f = model::fit_forest(x.data(), rows, cols, p);
  const std::vector<float> scores = model::score_cpu(f, x.data(), rows, cols, 1);
  std::ofstream o(out / ("forest_" + std::to_string(k) + ".fix"), std::ios::binary);
  fx::write_array(o, std::vector<std::int32_t>{f.max_depth});
  fx::write_array(o, std::vector<std::uint64_t>{cols, rows});
  fx::write_array(o, std::vector<double>{model::average_path_length(f.sample_size)});
  fx::write_array(o, f.roots);
  fx::write_array(o, f.feature);
  fx::write_array(o, f.threshold);
  fx::write_array(o, f.left);
  fx::write_array(o, f.right);
  fx::write_array(o, f.leaf_adjustments());
  fx::write_array(o, x);
  fx::write_array(o, scores);
  std::printf("forest_%d.fix: %zu trees, psi %d, %zu rows x %zu cols\n", k, f.trees(), f.sample_size, rows, cols);
}

}  // namespace

int main(int argc, char** argv) {
  small = argc == 4 && std::string(argv[1]) == "--small";
  if (argc != 3 && !small) {
    std::fprintf(stderr, "usage: make_gpu_fixtures [--small] SAMPLE_DIR OUT_DIR\n");
    return 2;
  }
  const fs::path sample = argv[argc - 2], out = argv[argc - 1];
  fs::create_directories(out);
  write_features(sample, out);
  write_preprocess(sample, out);
  const std::vector<Plane8> masks = fixture_masks(sample);
  write_components(masks, out);
  write_morphology(masks, out);
  write_distance(masks, out);
  write_textures(sample, out);
  write_histograms(sample, out);
  write_shape(sample, masks, out);
  write_lane(sample, out);
  write_bench(sample, out);
  const std::size_t cols = feature_schema().features.size();
  write_forest(out, 0, {200, 256, 42}, scaled(3000, 300), cols);
  write_forest(out, 1, {37, 16, 1}, scaled(2000, 200), cols);
  write_forest(out, 2, {1, 2, 3}, scaled(500, 50), cols);
  return 0;
}
