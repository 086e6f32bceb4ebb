// The segmentation of cuda/ (cuda/segment.hpp) in the host execution against cpu::segment, in
// process: every sample image, crops of odd and degenerate sizes (down to 1 x 1, one row, one
// column, a corner without a cell) and the unusual images that decode (greyscale, CMYK and YCCK
// JPEGs of tests/data/bad), in batches of mixed sizes with gaps between images. The masks, the
// thresholds, the other nucleated objects and the quality flags must be equal.
#include <gtest/gtest.h>

#include <tuple>

#include "cpu/segment.hpp"
#include "gpu/cases.hpp"
#include "hemolens/decode.hpp"
#include "hemolens/quality.hpp"
#include "segment.hpp"
#include "support.hpp"

using namespace hemolens;
using namespace hemolens::test;

namespace {

// The batch with `gap` pixels (3 bytes each) between images.
ImageBatch with_gaps(const ImageBatch& in, std::size_t gap) {
  ImageBatch out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (i) out.pixels.resize(out.pixels.size() + 3 * gap, 0xAB);
    const RgbView v = in.view(i);
    out.offsets.push_back(out.pixels.size());
    out.heights.push_back(v.height);
    out.widths.push_back(v.width);
    out.entry_index.push_back(i);
    out.pixels.insert(out.pixels.end(), v.data, v.data + 3 * v.pixels());
  }
  return out;
}

// Image i's part of a packed plane.
std::vector<std::uint8_t> part(const std::vector<std::uint8_t>& plane, const ImageBatch& b, std::size_t i) {
  const auto begin = plane.begin() + std::ptrdiff_t(b.offsets[i] / 3);
  return std::vector<std::uint8_t>(begin, begin + std::ptrdiff_t(b.view(i).pixels()));
}

// Every flag a batch's images got, for the test to show it covered them.
std::uint32_t expect_equal_to_cpu(const ImageBatch& batch, const std::string& what) {
  cuda::Segmented out;
  std::string error;
  const cpu::SegmentParams params;
  EXPECT_TRUE(cuda::segment({batch.pixels.data(), batch.offsets.data(), batch.heights.data(), batch.widths.data(), batch.size()}, params, out,
                            &error))
      << error;
  std::uint32_t flags = 0;
  for (std::size_t i = 0; i < batch.size() && out.flags.size() == batch.size(); ++i) {
    SCOPED_TRACE(what + ", image " + std::to_string(i) + " (" + std::to_string(batch.heights[i]) + " x " + std::to_string(batch.widths[i]) + ")");
    const cpu::Segmentation seg = cpu::segment(batch.view(i), params);
    EXPECT_EQ(out.stain_threshold[i], seg.stain_threshold);
    EXPECT_EQ(out.green_threshold[i], seg.green_threshold);
    EXPECT_EQ(out.other_nucleated[i], seg.other_nucleated);
    EXPECT_EQ(out.flags[i], seg.flags) << describe_flags(out.flags[i]) << " | cpu: " << describe_flags(seg.flags);
    EXPECT_EQ(part(out.cell, batch, i), seg.cell.data) << "cell mask";
    EXPECT_EQ(part(out.nucleus, batch, i), seg.nucleus.data) << "nucleus mask";
    EXPECT_EQ(part(out.background, batch, i), seg.background.data) << "background mask";
    flags |= seg.flags;
  }
  return flags;
}

}  // namespace

TEST(CudaHostSegment, EverySampleImageIsSegmentedAsOnTheCpu) {
  const auto files = sample_jpegs();
  std::uint32_t flags = 0;
  for (std::size_t first = 0; first < files.size(); first += 23) {  // three batches
    ImageBatch batch;
    for (std::size_t k = first; k < std::min(files.size(), first + 23); ++k) {
      const DecodeResult d = decode_file(files[k], {});
      batch.add(d.image->rgb.data(), d.image->height, d.image->width, k);
    }
    flags |= expect_equal_to_cpu(first ? batch : with_gaps(batch, 17), "sample images from " + std::to_string(first));
  }
  EXPECT_NE(flags, 0u) << "some sample images are flagged by segmentation";
}

TEST(CudaHostSegment, CropsTinyImagesAndUnusualJpegsAreSegmentedAsOnTheCpu) {
  const auto files = sample_jpegs();
  ImageBatch batch;
  for (const std::size_t k : {std::size_t(4), std::size_t(40)}) {
    const DecodeResult d = decode_file(files[k], {});
    batch.add(d.image->rgb.data(), d.image->height, d.image->width, k);
    const std::size_t whole = batch.size() - 1;  // every crop is of the whole image, not of the last crop
    for (const auto& [y, x, h, w] : std::vector<std::tuple<int, int, int, int>>{
             {0, 0, 60, 60}, {100, 80, 200, 170}, {150, 150, 33, 47}, {150, 150, 1, 40}, {150, 150, 40, 1}, {170, 170, 1, 1}, {170, 170, 5, 4}, {120, 0, 130, 363},
             {150, 150, 110, 110}, {60, 60, 160, 160}})
      gpu_fixture::add_crop(batch, batch.view(whole), y, x, h, w, k);
  }
  for (const char* name : {"jpeg_grey.jpg", "jpeg_cmyk.jpg", "jpeg_ycck.jpg"}) {
    const DecodeResult d = decode_file(source_dir() / "tests" / "data" / "bad" / name, {});
    ASSERT_TRUE(d.image) << name << ": " << d.reason;
    batch.add(d.image->rgb.data(), d.image->height, d.image->width, batch.size());
  }
  const std::uint32_t flags = expect_equal_to_cpu(with_gaps(batch, 5), "crops and unusual JPEGs");
  EXPECT_NE(flags & kNoCell, 0u) << "the batch holds images without a cell";
  EXPECT_NE(flags & kTouchesBorder, 0u) << "the batch holds cells cut by the border";
}

TEST(CudaHostSegment, AnEmptyBatchIsSegmented) {
  cuda::Segmented out;
  std::string error;
  ASSERT_TRUE(cuda::segment({nullptr, nullptr, nullptr, nullptr, 0}, {}, out, &error)) << error;
  EXPECT_TRUE(out.flags.empty());
}
