// The measurement passes of src/cpu/measure.cpp against plain per-pixel references:
//   colour_histograms vs one loop over every pixel that counts each region it belongs to;
//   accumulate_textures vs accumulate_glcm / accumulate_lbp per region, on random masks that
//       reach the image's border (sample images: tests/test_glcm.cpp);
//   measure's granularity vs OpenCV's closings and openings of the cell's neighbourhood, and
//   its Laplacian sums vs a per-pixel loop, on rows wider than its 32-bit pieces.
// Random segmentations include what segment() never makes (nucleus pixels outside the cell,
// background inside it), so the passes must agree on any masks.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <random>
#include <string>

#include <opencv2/imgproc.hpp>

#include "cpu/measure.hpp"
#include "cpu/segment.hpp"
#include "features/pixel_channels.hpp"
#include "hemolens/decode.hpp"
#include "support.hpp"

namespace hemolens::test {
namespace {

using features::ImageAccumulators;

// Every pixel counts in each region it belongs to: cell, nucleus, cytoplasm (cell minus
// nucleus), and the background on even rows and columns; a nucleus pixel outside the cell
// counts only where it is sampled as background.
void reference_colour_histograms(const cpu::Segmentation& seg, ImageAccumulators& acc) {
  const int h = seg.cell.height, w = seg.cell.width;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const bool cell = seg.cell.at(y, x) != 0, nucleus = seg.nucleus.at(y, x) != 0;
      const bool background = seg.background.at(y, x) && x % 2 == 0 && y % 2 == 0;
      if (!cell && !background) continue;
      const bool in[features::kRegions] = {cell, nucleus, cell && !nucleus, background};
      std::uint8_t v[features::kChannels];
      features::pixel_channels(seg.rgb.r.at(y, x), seg.rgb.g.at(y, x), seg.rgb.b.at(y, x), v);
      for (int k = 0; k < features::kRegions; ++k)
        if (in[k])
          for (int c = 0; c < features::kChannels; ++c) ++acc.hist[k][c][v[c]];
    }
}

cpu::Segmentation segment_file(const std::filesystem::path& file) {
  const DecodeResult r = decode_file(file, {});
  EXPECT_TRUE(r.image) << file;
  return cpu::segment({r.image->rgb.data(), r.image->height, r.image->width}, {});
}

// Random colours; a cell of a few blobs (one reaching the border), a nucleus that is partly
// outside it, a random background.
cpu::Segmentation random_segmentation(int h, int w, std::mt19937& rng) {
  cpu::Segmentation seg;
  seg.rgb.r = random_plane(h, w, rng);
  seg.rgb.g = random_plane(h, w, rng);
  seg.rgb.b = random_plane(h, w, rng);
  seg.cell = Plane8(h, w);
  seg.nucleus = random_mask(h, w, 0.2, rng);
  seg.background = random_mask(h, w, 0.5, rng);
  std::uniform_int_distribution<int> py(0, h - 1), px(0, w - 1), pr(1, std::max(2, std::min(h, w) / 3));
  for (int blob = 0; blob < 3; ++blob) {
    const int cy = blob == 0 ? 0 : py(rng), cx = blob == 0 ? w - 1 : px(rng), r = pr(rng);
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        if ((y - cy) * (y - cy) + (x - cx) * (x - cx) <= r * r) seg.cell.at(y, x) = 1;
  }
  return seg;
}

void expect_same_histograms(const cpu::Segmentation& seg, const std::string& what) {
  auto ours = std::make_unique<ImageAccumulators>(), want = std::make_unique<ImageAccumulators>();
  cpu::colour_histograms(seg, *ours);
  cpu::colour_histograms(seg, *ours);  // added to, not cleared
  reference_colour_histograms(seg, *want);
  reference_colour_histograms(seg, *want);
  for (int k = 0; k < features::kRegions; ++k)
    EXPECT_EQ(0, std::memcmp(ours->hist[k], want->hist[k], sizeof want->hist[k])) << what << ", region " << k;
}

}  // namespace

TEST(ColourHistograms, EqualThePerPixelReferenceOnSampleImages) {
  const auto files = sample_jpegs();
  ASSERT_FALSE(files.empty());
  for (std::size_t i = 0; i < files.size(); i += 5) expect_same_histograms(segment_file(files[i]), files[i].string());
}

TEST(ColourHistograms, EqualThePerPixelReferenceOnRandomMasks) {
  std::mt19937 rng(31);
  for (const auto& [h, w] : {std::pair{1, 1}, std::pair{3, 1}, std::pair{9, 14}, std::pair{31, 40}}) {
    for (int trial = 0; trial < 4; ++trial)
      expect_same_histograms(random_segmentation(h, w, rng), std::to_string(h) + "x" + std::to_string(w) + " trial " + std::to_string(trial));
  }
  // No cell at all: only the background counts.
  cpu::Segmentation empty = random_segmentation(12, 17, rng);
  empty.cell = Plane8(12, 17);
  expect_same_histograms(empty, "no cell");
}

TEST(AccumulateTextures, EqualsPerRegionAccumulationOnRandomMasks) {
  std::mt19937 rng(37);
  for (const auto& [h, w] : {std::pair{1, 1}, std::pair{2, 7}, std::pair{5, 5}, std::pair{23, 30}, std::pair{40, 33}})
    for (int trial = 0; trial < 4; ++trial) {
      cpu::Segmentation seg = random_segmentation(h, w, rng);
      // The texture pass takes the nucleus inside the cell (as segment() leaves it).
      for (std::size_t i = 0; i < seg.nucleus.size(); ++i) seg.nucleus.data[i] &= seg.cell.data[i];
      const Plane8& grey = seg.rgb.g;
      Plane8 levels(h, w), cyto(h, w);
      for (std::size_t i = 0; i < levels.size(); ++i) {
        levels.data[i] = grey.data[i] >> features::kGlcmShift;
        cyto.data[i] = seg.cell.data[i] && !seg.nucleus.data[i];
      }
      auto fused = std::make_unique<ImageAccumulators>(), plain = std::make_unique<ImageAccumulators>();
      cpu::accumulate_textures(grey, seg.cell, seg.nucleus, cpu::mask_box(seg.cell), *fused);
      const Plane8* regions[3] = {&seg.cell, &seg.nucleus, &cyto};
      for (int k = 0; k < 3; ++k) {
        for (int d = 0; d < features::kGlcmDistances; ++d)
          cpu::accumulate_glcm(levels, *regions[k], features::glcm_distance(d), features::kGlcmLevels, plain->glcm[k][d]);
        cpu::accumulate_lbp(grey, *regions[k], cpu::mask_box(*regions[k]), 1, plain->lbp[k]);
        cpu::accumulate_lbp(grey, *regions[k], cpu::mask_box(*regions[k]), 2, plain->lbp2[k]);
      }
      const std::string what = std::to_string(h) + "x" + std::to_string(w) + " trial " + std::to_string(trial);
      EXPECT_EQ(0, std::memcmp(fused->glcm, plain->glcm, sizeof fused->glcm)) << what;
      EXPECT_EQ(0, std::memcmp(fused->lbp, plain->lbp, sizeof fused->lbp)) << what;
      EXPECT_EQ(0, std::memcmp(fused->lbp2, plain->lbp2, sizeof fused->lbp2)) << what;
    }
}

namespace {

// Granularity's sums by OpenCV: closings and openings with (2r+1) squares (borders
// replicated) of the green channel around the cell's box grown by kGranularitySizes.
void expect_granularity_as_opencv(const cpu::Segmentation& seg, const ImageAccumulators& acc, const std::string& what) {
  const features::ShapeAccumulator& cell = acc.shape[features::kCell];
  if (cell.moments.m00 == 0) return;
  const int m = features::kGranularitySizes, h = seg.cell.height, w = seg.cell.width;
  const int x0 = std::max(cell.min_x - m, 0), x1 = std::min(cell.max_x + m, w - 1);
  const int y0 = std::max(cell.min_y - m, 0), y1 = std::min(cell.max_y + m, h - 1);
  const cv::Mat green(h, w, CV_8UC1, const_cast<std::uint8_t*>(seg.rgb.g.data.data()));
  const cv::Mat crop = green(cv::Rect(x0, y0, x1 - x0 + 1, y1 - y0 + 1)).clone();
  for (int r = 0; r <= m; ++r) {
    cv::Mat closed = crop.clone(), opened = crop.clone();  // not headers of crop: written below
    if (r > 0) {
      const cv::Mat k = cv::getStructuringElement(cv::MORPH_RECT, {2 * r + 1, 2 * r + 1});
      cv::morphologyEx(crop, closed, cv::MORPH_CLOSE, k, {-1, -1}, 1, cv::BORDER_REPLICATE);
      cv::morphologyEx(crop, opened, cv::MORPH_OPEN, k, {-1, -1}, 1, cv::BORDER_REPLICATE);
    }
    std::int64_t cell_closing = 0, cyto_closing = 0, cyto_opening = 0, cyto_pixels = 0;
    for (int y = y0; y <= y1; ++y)
      for (int x = x0; x <= x1; ++x) {
        const bool in_cell = seg.cell.at(y, x), in_cyto = in_cell && !seg.nucleus.at(y, x);
        cell_closing += in_cell ? closed.at<std::uint8_t>(y - y0, x - x0) : 0;
        cyto_closing += in_cyto ? closed.at<std::uint8_t>(y - y0, x - x0) : 0;
        cyto_opening += in_cyto ? opened.at<std::uint8_t>(y - y0, x - x0) : 0;
        cyto_pixels += in_cyto;
      }
    EXPECT_EQ(acc.closing_sum[r], cell_closing) << what << ", size " << 2 * r + 1;
    EXPECT_EQ(acc.cyto_closing_sum[r], cyto_closing) << what << ", size " << 2 * r + 1;
    EXPECT_EQ(acc.cyto_opening_sum[r], cyto_opening) << what << ", size " << 2 * r + 1;
    EXPECT_EQ(acc.cyto_pixels, cyto_pixels) << what;
  }
}

// Laplacian 4 g(y, x) - its four neighbours over the interior, summed with its squares over
// the image and over the cell, one pixel at a time in 64 bits.
void expect_laplacian_per_pixel(const cpu::Segmentation& seg, const ImageAccumulators& acc, const std::string& what) {
  std::int64_t sum[2] = {}, sq[2] = {}, n[2] = {};
  const Plane8& g = seg.rgb.g;
  for (int y = 1; y + 1 < g.height; ++y)
    for (int x = 1; x + 1 < g.width; ++x) {
      const std::int64_t l = 4 * g.at(y, x) - g.at(y - 1, x) - g.at(y + 1, x) - g.at(y, x - 1) - g.at(y, x + 1);
      for (int k = 0; k < 2; ++k)
        if (k == 0 || seg.cell.at(y, x)) sum[k] += l, sq[k] += l * l, ++n[k];
    }
  for (int k = 0; k < 2; ++k) {
    EXPECT_EQ(acc.laplacian_sum[k], sum[k]) << what << (k ? ", cell" : ", image");
    EXPECT_EQ(acc.laplacian_sq[k], sq[k]) << what << (k ? ", cell" : ", image");
    EXPECT_EQ(acc.laplacian_n[k], n[k]) << what << (k ? ", cell" : ", image");
  }
}

}  // namespace

TEST(Measure, GranularityAndLaplacianOnRandomAndSampleImages) {
  std::mt19937 rng(41);
  std::vector<std::pair<std::string, cpu::Segmentation>> cases;
  for (const auto& [h, w] : {std::pair{3, 3}, std::pair{17, 23}, std::pair{40, 33}})
    for (int trial = 0; trial < 3; ++trial)
      cases.emplace_back(std::to_string(h) + "x" + std::to_string(w) + " trial " + std::to_string(trial), random_segmentation(h, w, rng));
  // Rows of 4,500 pixels, the largest Laplacian everywhere (a chessboard of 0 and 255): the
  // sums of squares exceed 32 bits per row.
  cpu::Segmentation wide = random_segmentation(4, 4500, rng);
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 4500; ++x) wide.rgb.g.at(y, x) = (x + y) % 2 ? 255 : 0;
  wide.cell = Plane8(4, 4500, 1);
  cases.emplace_back("wide chessboard", std::move(wide));
  const auto files = sample_jpegs();
  ASSERT_FALSE(files.empty());
  for (std::size_t i = 0; i < files.size(); i += 11) cases.emplace_back(files[i].string(), segment_file(files[i]));
  for (const auto& [what, seg] : cases) {
    auto acc = std::make_unique<ImageAccumulators>();
    cpu::measure(seg, *acc);
    expect_granularity_as_opencv(seg, *acc, what);
    expect_laplacian_per_pixel(seg, *acc, what);
  }
}

}  // namespace hemolens::test
