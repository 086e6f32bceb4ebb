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

// Every accumulator field the lane fills, equal (what lane.fix holds for the GPU check).
void expect_accumulators(const ImageAccumulators& g, const ImageAccumulators& c, std::size_t i) {
  SCOPED_TRACE("image " + std::to_string(i));
  gpu_fixture::LaneValues a, b;
  gpu_fixture::append_lane_values(a, g);
  gpu_fixture::append_lane_values(b, c);
  EXPECT_EQ(a.head, b.head) << "sizes and levels";
  EXPECT_EQ(a.hist, b.hist) << "colour histograms";
  EXPECT_EQ(a.glcm, b.glcm) << "GLCM";
  EXPECT_EQ(a.lbp, b.lbp) << "LBP";
  EXPECT_EQ(a.lbp2, b.lbp2) << "LBP ring 2";
  EXPECT_EQ(a.shape, b.shape) << "shape moments, edges, boxes";
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
