// The execution layer of cuda/ (cuda/exec.cuh, cuda/layout.cuh) and the defects the review of
// the first GPU code found, each with a test that fails on it: a batch with nothing in it (a
// launch of 0 blocks), failed reservations reported by a later stage, 32-bit pixel indices,
// gaps between packed images counted as image 0, and one ellipse table shared by host threads.
#include <gtest/gtest.h>

#include <thread>

#include "batch_support.hpp"
#include "cpu/components.hpp"
#include "cpu/morphology.hpp"
#include "distance.hpp"
#include "exec.cuh"
#include "feature_rows.hpp"
#include "forest_score.hpp"
#include "histograms.hpp"
#include "morphology.hpp"
#include "preprocess.hpp"
#include "shape.hpp"
#include "stages.cuh"
#include "textures.hpp"

using namespace hemolens;
// <cuda/atomic> (through cuda/exec.cuh) declares ::cuda, so hemolens::cuda needs its own name here.
namespace hcuda = hemolens::cuda;
using namespace hemolens::test;
namespace exec = hemolens::cuda::exec;

namespace {

struct Nothing {
  void operator()(std::size_t) const {}
};

// Every host-callable stage on one batch; false with the first error.
bool run_every_stage(const Packed& p, std::string* error) {
  const hcuda::PackedMasks m = p.view();
  hcuda::Labelled labels;
  std::vector<std::uint8_t> bytes;
  std::vector<std::int32_t> dist;
  std::vector<features::ShapeAccumulator> shapes;
  std::vector<std::uint32_t> hist;
  hcuda::TextureCounts textures;
  const std::uint8_t* d = p.data.data();
  if (!hcuda::label_components(m, 4, labels, error) || !hcuda::label_components(m, 8, labels, error) || !hcuda::fill_holes(m, bytes, error) ||
      !hcuda::morphology(m, hcuda::Morph::kOpen, 2, bytes, error) || !hcuda::chamfer_distance(m, dist, error) ||
      !hcuda::shape_moments(m, shapes, error) || !hcuda::colour_histograms(m, {d, d, d, d, d, d}, hist, error) ||
      !hcuda::texture_counts(m, d, d, d, textures, error))
    return false;
  for (const auto& s : labels.stats) EXPECT_GT(s.area, 0);
  return true;
}

}  // namespace

TEST(CudaHostExec, AnEmptyBatchRunsEveryStage) {
  std::string error;
  // No image at all: every launch over images, rows or pixels has nothing to do. A launch of 0
  // blocks is refused by CUDA, and by the host execution's launch check (next test).
  EXPECT_TRUE(run_every_stage(pack({}), &error)) << error;
  // Images with no set pixel, and images of no pixels.
  EXPECT_TRUE(run_every_stage(pack({Plane8(20, 30, 0), Plane8(1, 1, 0), Plane8(0, 5), Plane8(7, 0)}), &error)) << error;
  hcuda::Labelled labels;
  ASSERT_TRUE(hcuda::label_components(pack({Plane8(20, 30, 0), Plane8(3, 3, 0)}).view(), 8, labels, &error)) << error;
  EXPECT_TRUE(labels.stats.empty());
  EXPECT_EQ(labels.first_label, (std::vector<std::size_t>{0, 0, 0}));
  hcuda::Preprocessed pre;
  EXPECT_TRUE(hcuda::preprocess({nullptr, nullptr, nullptr, nullptr, 0}, 0.25, 224, pre, &error)) << error;
  EXPECT_EQ(hcuda::compute_rows(nullptr, 0, nullptr, 5, &error), 5) << error;
}

TEST(CudaHostExec, TheLaunchRulesOfCudaAreCheckedOnTheHost) {
  exec::Context c;
  ASSERT_TRUE(c.reserve(0));
  exec::for_each(c, 0, Nothing{});  // nothing to launch: no launch
  EXPECT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c.counters().launches, 0);
  c.stage("stats");
  EXPECT_FALSE(c.check_grid(0, "stats init"));
  EXPECT_EQ(c.error(), "stats: invalid launch configuration: a grid of 0 blocks (stats init)");
  exec::for_each(c, 10, Nothing{});  // nothing runs after an error
  EXPECT_EQ(c.counters().launches, 0);
}

TEST(CudaHostExec, AFailedReservationIsReportedAtTheReservation) {
  exec::Context c;
  c.stage("scratch");
  EXPECT_FALSE(c.reserve(std::size_t(1) << 60));
  EXPECT_NE(c.error().find("scratch: reserving 1099511627776 MiB of device scratch: out of memory"), std::string::npos) << c.error();
  // Later stages neither run nor replace the first error.
  c.stage("components");
  EXPECT_EQ(c.take<int>(10), nullptr);
  exec::for_each(c, 10, Nothing{});
  EXPECT_EQ(c.error().rfind("scratch:", 0), 0u) << c.error();
}

TEST(CudaHostExec, APoolTooSmallNamesTheStageThatAskedForMore) {
  const Packed p = pack({Plane8(30, 40, 1), Plane8(9, 9, 0)});
  hcuda::LayoutPlan plan;
  std::string error;
  ASSERT_TRUE(hcuda::plan_layout(p.offsets.data(), p.heights.data(), p.widths.data(), 2, plan, &error)) << error;
  exec::Context c;
  auto inputs = [&] {
    const hcuda::Layout l = hcuda::upload_layout(c, plan);
    auto* mask = c.take<std::uint8_t>(plan.extent);
    c.upload(mask, p.data.data(), plan.extent);
    return std::pair{l, mask};
  };
  c.measure();
  inputs();
  ASSERT_TRUE(c.reserve(c.peak() + 1000));  // enough for the inputs, not for labelling them
  const auto [l, mask] = inputs();
  ASSERT_TRUE(c.ok()) << c.error();
  auto* labels = static_cast<std::int32_t*>(nullptr);
  hcuda::label_components(c, l, mask, 8, hcuda::DeviceLabels{labels, nullptr, nullptr, 0, nullptr});
  EXPECT_EQ(c.error().rfind("components: scratch pool exhausted", 0), 0u) << c.error();
}

TEST(CudaHostExec, TheLayoutRefusesOverlapsNegativeSizesAndImagesOfTwoGigapixels) {
  hcuda::LayoutPlan plan;
  std::string error;
  const std::size_t overlap[] = {0, 10};
  const int h[] = {3, 3}, w[] = {4, 4};
  EXPECT_FALSE(hcuda::plan_layout(overlap, h, w, 2, plan, &error));
  EXPECT_EQ(error, "packed batch: images 0 and 1 overlap");
  const std::size_t gap[] = {0, 100};
  EXPECT_TRUE(hcuda::plan_layout(gap, h, w, 2, plan, &error)) << error;
  EXPECT_EQ(plan.extent, 112u);
  const int negative[] = {3, -1};
  EXPECT_FALSE(hcuda::plan_layout(gap, h, negative, 2, plan, &error));
  EXPECT_EQ(error, "packed batch: image 1 has a negative size");
  const int big[] = {3, 50000};
  EXPECT_FALSE(hcuda::plan_layout(gap, big, big, 2, plan, &error));
  EXPECT_EQ(error, "packed batch: image 1 has 2^31 pixels or more (50000 x 50000)");
}

TEST(CudaHostExec, PixelIndicesAcrossTheBatchAreSixtyFourBit) {
  // Images far beyond 2^32 pixels into a batch (no plane is allocated: only the tables).
  const std::size_t offsets[] = {7, 5'000'000'000, 9'000'000'123};
  const int h[] = {2, 40, 3}, w[] = {5, 300, 1};
  hcuda::LayoutPlan plan;
  std::string error;
  ASSERT_TRUE(hcuda::plan_layout(offsets, h, w, 3, plan, &error)) << error;
  EXPECT_EQ(plan.extent, 9'000'000'126u);
  exec::Context c;
  c.measure();
  hcuda::upload_layout(c, plan);
  ASSERT_TRUE(c.reserve(c.peak()));
  const hcuda::Layout l = hcuda::upload_layout(c, plan);  // the host execution's device memory is readable here
  ASSERT_TRUE(c.finish()) << c.error();
  ASSERT_EQ(l.rows, 45u);
  const hcuda::Row row = l.row(2 + 31);  // image 1, y = 31
  EXPECT_EQ(row.image, 1u);
  EXPECT_EQ(row.y, 31);
  EXPECT_EQ(row.start, 5'000'000'000u + 31u * 300u);
  const hcuda::Pixel px = row.pixel(299);
  EXPECT_EQ(px.p, 5'000'000'000u + 31u * 300u + 299u);
  EXPECT_EQ(px.at(-1, -299), 5'000'000'000u + 30u * 300u);
  EXPECT_EQ(px.start(), 5'000'000'000u);
  EXPECT_EQ(px.local(), 31 * 300 + 299);
  EXPECT_EQ(l.row(44).start, 9'000'000'125u);
  EXPECT_EQ(l.tiles, 1u + 2u + 1u);
  EXPECT_EQ(l.tile_row[2], 2u + 32u);  // image 1's second tile
}

TEST(CudaHostExec, GapsBetweenImagesBelongToNoImage) {
  // The same images packed tight and with 37 set pixels between them: every result per image
  // is the same, and the gaps hold 0 in every per-pixel output.
  std::vector<Plane8> masks = masks_of(sample_masks(1));
  for (auto& e : edge_masks()) masks.push_back(e.mask);
  const Packed tight = pack(masks), gapped = pack(masks, 37, 1);
  std::string error;
  hcuda::Labelled a, b;
  ASSERT_TRUE(hcuda::label_components(tight.view(), 8, a, &error)) << error;
  ASSERT_TRUE(hcuda::label_components(gapped.view(), 8, b, &error)) << error;
  EXPECT_EQ(a.first_label, b.first_label);
  for (std::size_t i = 0; i < masks.size(); ++i) EXPECT_EQ(slice(tight, a.labels, i), slice(gapped, b.labels, i)) << "image " << i;
  std::vector<features::ShapeAccumulator> sa, sb;
  ASSERT_TRUE(hcuda::shape_moments(tight.view(), sa, &error) && hcuda::shape_moments(gapped.view(), sb, &error)) << error;
  for (std::size_t i = 0; i < masks.size(); ++i) EXPECT_EQ(sa[i].moments.m00, sb[i].moments.m00) << "image " << i;
  const std::uint8_t *t = tight.data.data(), *g = gapped.data.data();
  std::vector<std::uint32_t> ha, hb;
  ASSERT_TRUE(hcuda::colour_histograms(tight.view(), {t, t, t, t, t, t}, ha, &error)) << error;
  ASSERT_TRUE(hcuda::colour_histograms(gapped.view(), {g, g, g, g, g, g}, hb, &error)) << error;
  EXPECT_EQ(ha, hb);
  std::vector<std::uint8_t> filled;
  ASSERT_TRUE(hcuda::fill_holes(gapped.view(), filled, &error)) << error;
  for (std::size_t i = 1; i < masks.size(); ++i)
    for (std::size_t k = gapped.offsets[i] - 37; k < gapped.offsets[i]; ++k) ASSERT_EQ(filled[k], 0) << "gap before image " << i;
  for (std::size_t i = 1; i < masks.size(); ++i) EXPECT_EQ(b.labels[gapped.offsets[i] - 1], 0) << "gap before image " << i;
}

TEST(CudaHostExec, HostThreadsRunningMorphologyOfDifferentRadiiKeepTheirOwnEllipse) {
  // Two pipeline threads at once, radius 2 and radius 6: each result must be its own radius's
  // (a table shared by the threads, as the __constant__ one was, mixes them).
  const std::vector<Plane8> masks = masks_of(sample_masks(2));
  const Packed p = pack(masks);
  std::vector<std::uint8_t> expected[2];
  for (int k = 0; k < 2; ++k)
    for (const Plane8& m : masks) {
      Plane8 e;
      cpu::close(m, e, k == 0 ? 2 : 6);
      expected[k].insert(expected[k].end(), e.data.begin(), e.data.end());
    }
  int wrong[2] = {0, 0};
  auto worker = [&](int k) {
    for (int round = 0; round < 12; ++round) {
      std::vector<std::uint8_t> out;
      std::string error;
      if (!hcuda::morphology(p.view(), hcuda::Morph::kClose, k == 0 ? 2 : 6, out, &error) || out != expected[k]) ++wrong[k];
    }
  };
  std::thread a(worker, 0), b(worker, 1);
  a.join();
  b.join();
  EXPECT_EQ(wrong[0], 0);
  EXPECT_EQ(wrong[1], 0);
}
