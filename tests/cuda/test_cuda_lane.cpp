// The device-resident batch (cuda/lane.hpp) in the host execution: the chain of stages gives
// what the same chain of CPU reference functions gives, two lanes can hold two batches at once,
// and a batch costs one upload, one download and one wait, with scratch reserved once.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>

#include "features/feature_row.hpp"
#include "gpu/cases.hpp"
#include "gpu/fixture_io.hpp"
#include "gpu/reference_chains.hpp"
#include "hemolens/decode.hpp"
#include "lane.hpp"
#include "support.hpp"

using namespace hemolens;
using namespace hemolens::test;
using features::ImageAccumulators;

namespace {

ImageBatch lane_batch(std::size_t images, std::size_t first) {
  ImageBatch batch;
  const auto files = sample_jpegs();
  for (std::size_t k = first; k < files.size() && batch.size() < images; k += 7) {
    const DecodeResult d = decode_file(files[k], {});
    batch.add(d.image->rgb.data(), d.image->height, d.image->width, k);
    if (batch.size() == 2)  // a crop of odd size and a one-row strip
      for (const auto& [h, w] : std::vector<std::pair<int, int>>{{33, 47}, {1, 40}}) gpu_fixture::add_crop(batch, batch.view(1), 150, 150, h, w, k);
  }
  return batch;
}

cuda::PackedBatch view(const ImageBatch& b) { return {b.pixels.data(), b.offsets.data(), b.heights.data(), b.widths.data(), b.size()}; }

gpu_fixture::LaneReference reference(const RgbView& img, const cuda::LaneParams& p) {
  return gpu_fixture::lane_reference(img, p.bright_fraction, p.balance_target, p.green_level, p.stain_level, p.cell_radius, p.nucleus_radius);
}

template <class A>
std::vector<std::uint32_t> words(const A& a) {
  std::vector<std::uint32_t> v;
  gpu_fixture::append_words(v, a);
  return v;
}

void expect_accumulators(const ImageAccumulators& g, const ImageAccumulators& c, std::size_t i) {
  SCOPED_TRACE("image " + std::to_string(i));
  EXPECT_EQ(std::vector<int>({g.height, g.width, g.background_rgb[0], g.background_rgb[1], g.background_rgb[2], g.stain_threshold, g.green_threshold}),
            std::vector<int>({c.height, c.width, c.background_rgb[0], c.background_rgb[1], c.background_rgb[2], c.stain_threshold, c.green_threshold}));
  EXPECT_EQ(words(g.hist), words(c.hist));
  EXPECT_EQ(words(g.glcm), words(c.glcm));
  EXPECT_EQ(words(g.lbp), words(c.lbp));
  EXPECT_EQ(words(g.lbp2), words(c.lbp2));
  for (int k = 0; k < features::kShapeRegions; ++k) {
    const features::ShapeAccumulator &a = g.shape[k], &b = c.shape[k];
    EXPECT_EQ(std::vector<std::int64_t>({a.moments.m00, a.moments.m10, a.moments.m01, a.moments.m20, a.moments.m11, a.moments.m02, a.moments.m30,
                                         a.moments.m21, a.moments.m12, a.moments.m03, a.edges, a.min_x, a.max_x, a.min_y, a.max_y}),
              std::vector<std::int64_t>({b.moments.m00, b.moments.m10, b.moments.m01, b.moments.m20, b.moments.m11, b.moments.m02, b.moments.m30,
                                         b.moments.m21, b.moments.m12, b.moments.m03, b.edges, b.min_x, b.max_x, b.min_y, b.max_y}))
        << "shape " << k;
  }
}

}  // namespace

TEST(CudaHostLane, TheChainOfStagesEqualsTheSameChainOnTheCpu) {
  const ImageBatch batch = lane_batch(6, 1);
  cuda::LaneParams params;
  cuda::Lane lane;
  cuda::LaneResult out;
  std::string error;
  ASSERT_TRUE(lane.submit(view(batch), params, &error)) << error;
  ASSERT_TRUE(lane.wait(out, &error)) << error;
  ASSERT_EQ(out.acc.size(), batch.size());
  std::vector<float> expected_row(out.cols), got_row(out.cols);
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const gpu_fixture::LaneReference r = reference(batch.view(i), params);
    expect_accumulators(out.acc[i], *r.acc, i);
    EXPECT_EQ(std::vector<std::uint32_t>(out.stain_hist.begin() + std::ptrdiff_t(256 * i), out.stain_hist.begin() + std::ptrdiff_t(256 * i + 256)),
              words(r.stain_hist));
    EXPECT_EQ(std::vector<std::uint32_t>(out.green_hist.begin() + std::ptrdiff_t(256 * i), out.green_hist.begin() + std::ptrdiff_t(256 * i + 256)),
              words(r.green_hist));
    EXPECT_EQ(out.flags[i], 0u);
  }
  // The rows mode downloads rows only; they are the shared formulas of those accumulators.
  params.rows = true;
  ASSERT_TRUE(lane.submit(view(batch), params, &error)) << error;
  cuda::LaneResult rows;
  ASSERT_TRUE(lane.wait(rows, &error)) << error;
  EXPECT_TRUE(rows.acc.empty());
  ASSERT_EQ(rows.rows.size(), batch.size() * rows.cols);
  for (std::size_t i = 0; i < batch.size(); ++i) {
    ASSERT_EQ(std::size_t(features::compute_row(*reference(batch.view(i), params).acc, expected_row.data())), rows.cols);
    for (std::size_t k = 0; k < rows.cols; ++k)
      EXPECT_LE(std::fabs(double(rows.rows[i * rows.cols + k]) - expected_row[k]), 1e-5 * std::max(1.0, std::fabs(double(expected_row[k]))))
          << "image " << i << " feature " << k;
  }
}

TEST(CudaHostLane, OneUploadOneDownloadAndOneWaitPerBatchWithScratchReservedOnce) {
  const ImageBatch batch = lane_batch(4, 2), smaller = lane_batch(2, 5);
  cuda::Lane lane;
  cuda::LaneResult out;
  std::string error;
  for (int round = 0; round < 3; ++round) {
    ASSERT_TRUE(lane.submit(view(round == 2 ? smaller : batch), {}, &error)) << error;
    ASSERT_TRUE(lane.wait(out, &error)) << error;
    const cuda::LaneCounters k = lane.counters();
    EXPECT_EQ(k.uploads, round + 1);
    EXPECT_EQ(k.downloads, round + 1);
    EXPECT_EQ(k.syncs, round + 1);
    EXPECT_EQ(k.reservations, 3) << "the device pool and the two staging buffers, once";
  }
}

TEST(CudaHostLane, TwoLanesHoldTwoBatchesAtOnce) {
  const ImageBatch a = lane_batch(3, 0), b = lane_batch(3, 3);
  cuda::Lane first, second;
  std::string error;
  ASSERT_TRUE(first.submit(view(a), {}, &error)) << error;
  ASSERT_TRUE(second.submit(view(b), {}, &error)) << error;
  EXPECT_FALSE(first.submit(view(b), {}, &error));
  EXPECT_EQ(error, "lane: a batch is already in flight (wait for it first)");
  cuda::LaneResult ra, rb;
  ASSERT_TRUE(first.wait(ra, &error)) << error;
  ASSERT_TRUE(second.wait(rb, &error)) << error;
  for (std::size_t i = 0; i < a.size(); ++i) expect_accumulators(ra.acc[i], *reference(a.view(i), {}).acc, i);
  for (std::size_t i = 0; i < b.size(); ++i) expect_accumulators(rb.acc[i], *reference(b.view(i), {}).acc, i);
  EXPECT_FALSE(first.wait(ra, &error));
  EXPECT_EQ(error, "lane: no batch in flight");
}

TEST(CudaHostLane, AnEmptyBatchGoesThroughTheLane) {
  cuda::Lane lane;
  cuda::LaneResult out;
  std::string error;
  ASSERT_TRUE(lane.submit({nullptr, nullptr, nullptr, nullptr, 0}, {}, &error)) << error;
  ASSERT_TRUE(lane.wait(out, &error)) << error;
  EXPECT_EQ(out.images, 0u);
  EXPECT_TRUE(out.acc.empty());
}
