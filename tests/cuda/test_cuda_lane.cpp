// The device-resident batch (cuda/lane.hpp) in the host execution: the whole chain (the
// segmentation and every measurement) gives the CPU reference's accumulators exactly and its
// feature rows bit for bit, two lanes can hold two batches at once, and a batch costs one
// upload, one download and one wait, with scratch reserved once.
#include <gtest/gtest.h>

#include <memory>
#include <tuple>

#include "features/feature_row.hpp"
#include "gpu/cases.hpp"
#include "gpu/fixture_io.hpp"
#include "gpu/reference_chains.hpp"
#include "hemolens/decode.hpp"
#include "hemolens/quality.hpp"
#include "lane.hpp"
#include "support.hpp"

using namespace hemolens;
using namespace hemolens::test;
using features::ImageAccumulators;

namespace {

// Sample images, crops of odd size, one row, and a corner without a cell.
ImageBatch lane_batch(std::size_t images, std::size_t first) {
  ImageBatch batch;
  const auto files = sample_jpegs();
  for (std::size_t k = first; k < files.size() && batch.size() < images; k += 7) {
    const DecodeResult d = decode_file(files[k], {});
    batch.add(d.image->rgb.data(), d.image->height, d.image->width, k);
    if (batch.size() == 2)
      for (const auto& [y, h, w] : std::vector<std::tuple<int, int, int>>{{150, 33, 47}, {150, 1, 40}, {0, 50, 50}})
        gpu_fixture::add_crop(batch, batch.view(1), y, y, h, w, k);
  }
  return batch;
}

cuda::PackedBatch view(const ImageBatch& b) { return {b.pixels.data(), b.offsets.data(), b.heights.data(), b.widths.data(), b.size()}; }

template <class A>
std::vector<std::uint32_t> words(const A& a) {
  std::vector<std::uint32_t> v;
  gpu_fixture::append_words(v, a);
  return v;
}

// Every accumulator field, equal.
void expect_accumulators(const ImageAccumulators& g, const ImageAccumulators& c, std::size_t i) {
  SCOPED_TRACE("image " + std::to_string(i));
  gpu_fixture::AccumulatorValues a, b;
  gpu_fixture::append_accumulator_values(a, g);
  gpu_fixture::append_accumulator_values(b, c);
  EXPECT_EQ(a.head, b.head) << "sizes, background, thresholds, other nucleated, flags";
  EXPECT_EQ(a.hist, b.hist) << "colour histograms";
  EXPECT_EQ(a.glcm, b.glcm) << "GLCM";
  EXPECT_EQ(a.lbp, b.lbp) << "LBP";
  EXPECT_EQ(a.lbp2, b.lbp2) << "LBP ring 2";
  EXPECT_EQ(a.shape, b.shape) << "moments, edges, boxes, hulls, components, lobes, thickness, eroded lobes";
  EXPECT_EQ(a.grey, b.grey) << "granularity and Laplacian sums";
  EXPECT_EQ(a.hull_perimeter, b.hull_perimeter) << "hull perimeters";
}

}  // namespace

TEST(CudaHostLane, TheWholeChainEqualsTheCpuReference) {
  const ImageBatch batch = lane_batch(6, 1);
  cuda::LaneParams params;
  cuda::Lane lane;
  cuda::LaneResult out;
  std::string error;
  ASSERT_TRUE(lane.submit(view(batch), params, &error)) << error;
  ASSERT_TRUE(lane.wait(out, &error)) << error;
  ASSERT_EQ(out.acc.size(), batch.size());
  std::vector<std::vector<float>> expected_rows;
  std::uint32_t any_flag = 0;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const gpu_fixture::LaneReference r = gpu_fixture::lane_reference(batch.view(i), params.segment);
    expect_accumulators(out.acc[i], *r.acc, i);
    EXPECT_EQ(std::vector<std::uint32_t>(out.stain_hist.begin() + std::ptrdiff_t(256 * i), out.stain_hist.begin() + std::ptrdiff_t(256 * i + 256)),
              words(r.stain_hist));
    EXPECT_EQ(std::vector<std::uint32_t>(out.green_hist.begin() + std::ptrdiff_t(256 * i), out.green_hist.begin() + std::ptrdiff_t(256 * i + 256)),
              words(r.green_hist));
    EXPECT_EQ(out.flags[i], r.seg.flags) << "image " << i;
    any_flag |= r.seg.flags;
    expected_rows.emplace_back(out.cols);
    ASSERT_EQ(std::size_t(features::compute_row(*r.acc, expected_rows.back().data())), out.cols);
  }
  EXPECT_NE(any_flag & kNoCell, 0u) << "the batch holds an image without a cell";
  // The rows mode downloads rows and flags only: the shared formulas of those accumulators,
  // bit for bit in the host execution (the same code and compiler).
  params.rows = true;
  ASSERT_TRUE(lane.submit(view(batch), params, &error)) << error;
  cuda::LaneResult rows;
  ASSERT_TRUE(lane.wait(rows, &error)) << error;
  EXPECT_TRUE(rows.acc.empty());
  EXPECT_TRUE(rows.stain_hist.empty());
  EXPECT_EQ(rows.flags, out.flags);
  ASSERT_EQ(rows.rows.size(), batch.size() * rows.cols);
  for (std::size_t i = 0; i < batch.size(); ++i)
    EXPECT_EQ(std::vector<float>(rows.rows.begin() + std::ptrdiff_t(i * rows.cols), rows.rows.begin() + std::ptrdiff_t((i + 1) * rows.cols)),
              expected_rows[i])
        << "image " << i;
}

TEST(CudaHostLane, OneUploadOneDownloadAndOneWaitPerBatchWithScratchReservedOnce) {
  const ImageBatch batch = lane_batch(4, 2), smaller = lane_batch(1, 5);
  cuda::Lane lane;
  cuda::LaneResult out;
  std::string error;
  const std::size_t needed = lane.scratch_bytes(view(batch), {}, &error);
  EXPECT_GT(needed, lane.scratch_bytes(view(smaller), {}, &error)) << error;
  for (int round = 0; round < 3; ++round) {
    ASSERT_TRUE(lane.submit(view(round == 2 ? smaller : batch), {}, &error)) << error;
    ASSERT_TRUE(lane.wait(out, &error)) << error;
    const cuda::LaneCounters k = lane.counters();
    EXPECT_EQ(k.uploads, round + 1);
    EXPECT_EQ(k.downloads, round + 1);
    EXPECT_EQ(k.syncs, round + 1);
    EXPECT_EQ(k.reservations, 3) << "the device pool and the two staging buffers, once";
  }
  EXPECT_GT(out.device_ms, 0.0);
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
  for (std::size_t i = 0; i < a.size(); ++i) expect_accumulators(ra.acc[i], *gpu_fixture::lane_reference(a.view(i), {}).acc, i);
  for (std::size_t i = 0; i < b.size(); ++i) expect_accumulators(rb.acc[i], *gpu_fixture::lane_reference(b.view(i), {}).acc, i);
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
