// The GPU benchmark (tests/gpu/bench.hpp). One context holds the whole replicated batch; each
// family runs once to warm up (module loading, first-touch), then once timed between two CUDA
// events on the context's stream. Its scratch is released after each run, so the pool holds
// the batch's planes and the largest family's scratch, not the sum.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>
#include <type_traits>

#include "bench.hpp"
#include "lane.hpp"
#include "stages.cuh"

namespace hemolens::gpu_bench {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

Images replicate(const Images& s, std::size_t n) {
  Images b;
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t k = i % s.offsets.size();
    const std::size_t bytes = std::size_t(s.heights[k]) * std::size_t(s.widths[k]) * 3;
    b.offsets.push_back(b.rgb.size());
    b.heights.push_back(s.heights[k]);
    b.widths.push_back(s.widths[k]);
    b.rgb.insert(b.rgb.end(), s.rgb.begin() + std::ptrdiff_t(s.offsets[k]), s.rgb.begin() + std::ptrdiff_t(s.offsets[k] + bytes));
  }
  return b;
}

cuda::PackedBatch view(const Images& b) { return {b.rgb.data(), b.offsets.data(), b.heights.data(), b.widths.data(), b.offsets.size()}; }

// The device-resident lane end to end (rows mode, the throughput path): `lanes` lanes take
// the batches in turn, a lane's next batch submitted once its previous one is collected.
bool time_lanes(const Images& b, int lanes, int batches, std::vector<Line>& out, std::string* error) {
  cuda::Lane lane[2];
  cuda::LaneParams params;
  params.rows = true;
  cuda::LaneResult result;
  for (int k = 0; k < lanes; ++k)  // warm-up: reservations, module loading
    if (!lane[k].submit(view(b), params, error) || !lane[k].wait(result, error)) return false;
  const Clock::time_point t = Clock::now();
  for (int k = 0; k < batches; ++k) {
    if (k >= lanes && !lane[k % lanes].wait(result, error)) return false;
    if (!lane[k % lanes].submit(view(b), params, error)) return false;
  }
  for (int k = std::max(0, batches - lanes); k < batches; ++k)
    if (!lane[k % lanes].wait(result, error)) return false;
  const double wall = ms_since(t);
  out.push_back({lanes == 1 ? "lane end to end (rows), one lane" : "lane end to end (rows), two lanes overlapping", std::size_t(batches) * b.offsets.size(), 0,
                 wall, 0});
  return true;
}

}  // namespace

bool run(const Images& sample, std::size_t images, int batches, const Forest& forest, std::vector<Line>& out, std::string* error) {
  const Images b = replicate(sample, images);
  const std::size_t n = b.offsets.size();
  std::vector<std::size_t> pixel_offsets(n);
  for (std::size_t i = 0; i < n; ++i) pixel_offsets[i] = b.offsets[i] / 3;
  cuda::LayoutPlan plan;
  if (!cuda::plan_layout(pixel_offsets.data(), b.heights.data(), b.widths.data(), n, plan, error)) return false;
  const std::size_t extent = plan.extent, rgb_bytes = extent * 3, acc_bytes = n * sizeof(features::ImageAccumulators);
  cuda::exec::Context c;
  cuda::exec::HostBuffer pinned_in, pinned_out;
  std::vector<unsigned char> pageable_out(acc_bytes);
  if (!pinned_in.ensure(c, rgb_bytes) || !pinned_out.ensure(c, acc_bytes)) {
    if (error) *error = c.error();
    return false;
  }
  std::memcpy(pinned_in.data(), b.rgb.data(), rgb_bytes);

  auto time = [&](const char* family, std::size_t items, double bytes, const auto& f) {
    const std::size_t mark = c.mark();
    f();  // the warm-up run (or, measuring, the run that counts the scratch)
    c.release(mark);
    if (c.measuring() || c.failed()) return;
    cuda::exec::Timer timer(c);
    const Clock::time_point t = Clock::now();
    timer.start();
    f();
    timer.stop();
    const double kernel = timer.ms();
    out.push_back({family, items, kernel, ms_since(t), bytes});
    c.release(mark);
  };
  auto body = [&] {
    c.stage("bench");
    auto* image_table = c.take<cuda::ImageInfo>(n);
    c.upload(image_table, plan.images.data(), n * sizeof(cuda::ImageInfo));
    auto* rgb = c.take<std::uint8_t>(rgb_bytes);
    time("upload RGB, pageable memory", n, double(rgb_bytes), [&] { c.upload(rgb, b.rgb.data(), rgb_bytes); });
    time("upload RGB, pinned memory", n, double(rgb_bytes), [&] { c.upload(rgb, pinned_in.data(), rgb_bytes); });
    const cuda::Layout l = cuda::build_layout(c, plan, image_table);

    cuda::PreprocessOut pre;
    for (std::uint8_t** p : {&pre.r, &pre.g, &pre.b, &pre.stain, &pre.green}) *p = c.take<std::uint8_t>(extent);
    pre.background = c.take<std::int32_t>(n * 3);
    pre.stain_hist = c.take<std::uint32_t>(n * 256);
    pre.green_hist = c.take<std::uint32_t>(n * 256);
    time("preprocess (white balance, stain, Gaussian, median, histograms)", n, 0, [&] { cuda::preprocess(c, l, rgb, 0.25, 224, pre); });
    const cuda::MaskPlanes m{c.take<std::uint8_t>(extent), c.take<std::uint8_t>(extent), c.take<std::uint8_t>(extent)};
    auto* state = c.take<cuda::CellState>(n);
    auto* overflow = c.take<std::uint32_t>(1);
    c.zero(overflow, sizeof(std::uint32_t));
    time("segmentation (thresholds, masks, seed, lobes, reach cut, flags)", n, 0,
         [&] { cuda::segment(c, l, pre, cpu::SegmentParams{}, m, state, overflow); });
    auto* tmp = c.take<std::uint8_t>(extent);
    time("fill holes", n, 0, [&] { cuda::fill_holes(c, l, m.cell, tmp); });
    time("morphology, open r2", n, 0, [&] { cuda::morphology(c, l, m.nucleus, cuda::Morph::kOpen, 2, tmp); });
    time("morphology, close r6", n, 0, [&] { cuda::morphology(c, l, m.cell, cuda::Morph::kClose, 6, tmp); });
    const cuda::DeviceLabels labels = cuda::take_labels(c, l, overflow);
    time("components, 8-connected, with statistics", n, 0, [&] { cuda::label_components(c, l, m.nucleus, 8, labels); });
    time("components, 4-connected, with statistics", n, 0, [&] { cuda::label_components(c, l, m.cell, 4, labels); });
    auto* dist = c.take<std::int32_t>(extent);
    time("chamfer distance (two passes per image)", n, 0, [&] { cuda::chamfer_distance(c, l, m.cell, dist); });
    auto* acc = c.take<features::ImageAccumulators>(n);
    c.zero(acc, acc_bytes);
    const std::size_t stride = sizeof(features::ImageAccumulators);
    time("shape moments (cell)", n, 0, [&] { cuda::shape_moments(c, l, m.cell, cuda::strided(acc ? &acc->shape[0] : nullptr, stride)); });
    time("measurement (every accumulator of the segmented batch)", n, 0,
         [&] { cuda::measure(c, l, pre, m, state, overflow, acc); });
    for (const cuda::Path path : {cuda::Path::kFast, cuda::Path::kPortable}) {
      c.set_path(path);
      const bool fast = path == cuda::Path::kFast;
      const cuda::DeviceRegionPlanes planes{pre.r, pre.g, pre.b, m.cell, m.nucleus, m.background};
      time(fast ? "colour histograms, fast path (shared memory)" : "colour histograms, portable path (global atomics)", n, 0, [&] {
        c.zero(acc, acc_bytes);
        cuda::colour_histograms(c, l, planes, cuda::strided(acc ? &acc->hist[0][0][0] : nullptr, stride));
      });
      const cuda::DeviceTextures textures{cuda::strided(acc ? &acc->glcm[0][0][0] : nullptr, stride), cuda::strided(acc ? &acc->lbp[0][0] : nullptr, stride),
                                          cuda::strided(acc ? &acc->lbp2[0][0] : nullptr, stride)};
      time(fast ? "textures, fast path (shared memory)" : "textures, portable path (global atomics)", n, 0,
           [&] { cuda::texture_counts(c, l, pre.g, m.cell, m.nucleus, textures); });
    }
    c.set_path(cuda::Path::kFast);
    const std::size_t cols = 512;  // more than the schema's columns
    auto* rows = c.take<float>(n * cols);
    time("feature rows (shared formulas)", n, 0, [&] { cuda::compute_rows(c, acc, n, rows, cols); });
    time("download accumulators, pageable memory", n, double(acc_bytes), [&] { c.download(pageable_out.data(), acc, acc_bytes); });
    time("download accumulators, pinned memory", n, double(acc_bytes), [&] { c.download(pinned_out.data(), acc, acc_bytes); });

    if (forest.rows) {
      cuda::ForestArrays f = forest.arrays;
      auto put = [&](const auto* host, std::size_t count, const auto** device) {
        using T = std::remove_const_t<std::remove_pointer_t<decltype(host)>>;
        T* p = c.take<T>(count);
        c.upload(p, host, count * sizeof(T));
        *device = p;
      };
      put(forest.arrays.roots, f.trees, &f.roots);
      put(forest.arrays.feature, f.nodes, &f.feature);
      put(forest.arrays.threshold, f.nodes, &f.threshold);
      put(forest.arrays.left, f.nodes, &f.left);
      put(forest.arrays.right, f.nodes, &f.right);
      put(forest.arrays.adjustment, f.nodes, &f.adjustment);
      const float* x = nullptr;
      put(forest.x, forest.rows * forest.cols, &x);
      auto* scores = c.take<float>(forest.rows);
      for (const cuda::Path path : {cuda::Path::kFast, cuda::Path::kPortable}) {
        c.set_path(path);
        time(path == cuda::Path::kFast ? "isolation-forest scores, fast path (block per row)" : "isolation-forest scores, portable path (item per row)",
             forest.rows, 0, [&] { cuda::score_forest(c, f, x, forest.rows, forest.cols, scores); });
      }
      c.set_path(cuda::Path::kFast);
    }
  };
  c.measure();
  body();
  c.stage("scratch");
  if (c.reserve(c.peak())) body();
  if (!c.finish()) {
    if (error) *error = c.error();
    return false;
  }
  return time_lanes(b, 1, batches, out, error) && time_lanes(b, 2, batches, out, error);
}

}  // namespace hemolens::gpu_bench
