// Oracle tests for binary and grey morphology (src/cpu/morphology.*) against OpenCV:
//   erode / dilate / open / close(r) == cv::erode / cv::dilate / cv::morphologyEx with
//       cv::getStructuringElement(MORPH_ELLIPSE, (2r+1)x(2r+1)) and OpenCV's default border
//       (erosion sees ones outside the image, dilation zeros);
//   grey_dilate3 / grey_erode3 == cv::dilate / cv::erode with a 3x3 rectangle, BORDER_REPLICATE.
// Masks are 0/1 on both sides; every pixel must match.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "cpu/morphology.hpp"
#include "support.hpp"

namespace hemolens::test {
namespace {


// Pixels where the two differ (-1 on a size mismatch).
long count_diff(const Plane8& ours, const cv::Mat& theirs) {
  if (theirs.type() != CV_8UC1 || ours.height != theirs.rows || ours.width != theirs.cols) return -1;
  long n = 0;
  for (int y = 0; y < ours.height; ++y)
    for (int x = 0; x < ours.width; ++x) n += ours.at(y, x) != theirs.at<std::uint8_t>(y, x);
  return n;
}

cv::Mat ellipse(int r) { return cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(2 * r + 1, 2 * r + 1)); }

enum class Op { kErode, kDilate, kOpen, kClose };
const char* name(Op op) {
  switch (op) {
    case Op::kErode: return "erode";
    case Op::kDilate: return "dilate";
    case Op::kOpen: return "open";
    default: return "close";
  }
}

Plane8 ours(const Plane8& in, Op op, int r) {
  Plane8 out;
  switch (op) {
    case Op::kErode: cpu::erode(in, out, r); break;
    case Op::kDilate: cpu::dilate(in, out, r); break;
    case Op::kOpen: cpu::open(in, out, r); break;
    case Op::kClose: cpu::close(in, out, r); break;
  }
  return out;
}

cv::Mat theirs(const Plane8& in, Op op, int r) {
  const cv::Mat src = to_mat(in), k = ellipse(r);
  cv::Mat dst;
  switch (op) {
    case Op::kErode: cv::erode(src, dst, k); break;
    case Op::kDilate: cv::dilate(src, dst, k); break;
    case Op::kOpen: cv::morphologyEx(src, dst, cv::MORPH_OPEN, k); break;
    case Op::kClose: cv::morphologyEx(src, dst, cv::MORPH_CLOSE, k); break;
  }
  return dst;
}

constexpr Op kOps[] = {Op::kErode, Op::kDilate, Op::kOpen, Op::kClose};

// Dark objects on a bright background: the kind of mask segmentation opens and closes.
Plane8 sample_mask(const cv::Mat& bgr) {
  cv::Mat green, bin;
  cv::extractChannel(bgr, green, 1);
  cv::threshold(green, bin, 0, 1, cv::THRESH_BINARY_INV | cv::THRESH_OTSU);
  return from_mat(bin);
}

}  // namespace

TEST(EllipseHalfWidths, MatchRowsOfGetStructuringElement) {
  for (int r = 0; r <= 15; ++r) {
    const std::vector<int> half = cpu::ellipse_half_widths(r);
    const cv::Mat k = ellipse(r);
    ASSERT_EQ(int(half.size()), 2 * r + 1);
    for (int row = 0; row < k.rows; ++row) {
      // Each OpenCV row is one run of ones centred on column r.
      int first = -1, last = -2, ones = 0;
      for (int c = 0; c < k.cols; ++c)
        if (k.at<std::uint8_t>(row, c)) {
          if (first < 0) first = c;
          last = c;
          ++ones;
        }
      ASSERT_EQ(ones, last - first + 1) << "r=" << r << " row " << row;
      EXPECT_EQ(first, r - half[std::size_t(row)]) << "r=" << r << " row " << row;
      EXPECT_EQ(last, r + half[std::size_t(row)]) << "r=" << r << " row " << row;
    }
  }
  // Spot values: radius 1 is a cross; OpenCV's 5x5 ellipse has rows of 1, 5, 5, 5, 1 pixels
  // (the end rows have dx = round(2 sqrt(0)) = 0); radius 3 rows of 1, 5, 7, 7, 7, 5, 1.
  EXPECT_EQ(cpu::ellipse_half_widths(1), (std::vector<int>{0, 1, 0}));
  EXPECT_EQ(cpu::ellipse_half_widths(2), (std::vector<int>{0, 2, 2, 2, 0}));
  EXPECT_EQ(cpu::ellipse_half_widths(3), (std::vector<int>{0, 2, 3, 3, 3, 2, 0}));
}

TEST(BinaryMorphology, MatchesOpenCvOnRandomMasks) {
  std::mt19937 rng(42);
  // Widths around 64 and 128: the rows are packed 64 pixels to a word.
  const std::pair<int, int> sizes[] = {{1, 1}, {1, 12}, {12, 1}, {2, 2},  {7, 3},  {3, 7},   {13, 17},
                                       {40, 40}, {61, 37}, {9, 63}, {9, 64}, {9, 65}, {5, 127}, {6, 128}, {4, 130}};
  for (const auto& [h, w] : sizes)
    for (double density : {0.05, 0.3, 0.5, 0.7, 0.95})
      for (int r = 1; r <= 7; ++r) {
        const Plane8 in = random_mask(h, w, density, rng);
        for (Op op : kOps)
          EXPECT_EQ(count_diff(ours(in, op, r), theirs(in, op, r)), 0)
              << name(op) << " r=" << r << " on " << h << "x" << w << " density " << density;
      }
}

TEST(BinaryMorphology, MatchesOpenCvOnBlobMasks) {
  // Random discs and bars: large connected shapes with smooth and straight edges, touching
  // the border, where the ellipse's row widths matter most.
  std::mt19937 rng(7);
  for (int trial = 0; trial < 6; ++trial) {
    cv::Mat m = cv::Mat::zeros(90, 110, CV_8UC1);
    std::uniform_int_distribution<int> px(-10, 120), rad(2, 25);
    for (int i = 0; i < 8; ++i) cv::circle(m, {px(rng), px(rng)}, rad(rng), 1, cv::FILLED);
    cv::rectangle(m, {px(rng), px(rng)}, {px(rng), px(rng)}, 1, cv::FILLED);
    cv::line(m, {px(rng), px(rng)}, {px(rng), px(rng)}, 0, 2);
    const Plane8 in = from_mat(m);
    for (int r = 1; r <= 7; ++r)
      for (Op op : kOps) EXPECT_EQ(count_diff(ours(in, op, r), theirs(in, op, r)), 0) << name(op) << " r=" << r << " trial " << trial;
  }
}

TEST(BinaryMorphology, EmptyAndFullMasks) {
  for (int r : {1, 3, 7}) {
    const Plane8 empty(20, 30, 0), full(20, 30, 1);
    for (Op op : kOps) {
      EXPECT_EQ(count_diff(ours(empty, op, r), theirs(empty, op, r)), 0) << name(op) << " empty r=" << r;
      EXPECT_EQ(count_diff(ours(full, op, r), theirs(full, op, r)), 0) << name(op) << " full r=" << r;
    }
    // Outside the image counts as set for erosion: a full mask survives erosion whole.
    EXPECT_EQ(ours(full, Op::kErode, r).data, full.data);
    EXPECT_EQ(ours(empty, Op::kDilate, r).data, empty.data);
  }
}

TEST(BinaryMorphology, SinglePixelDilatesToTheElement) {
  for (int r = 1; r <= 7; ++r) {
    Plane8 in(2 * r + 5, 2 * r + 5, 0);
    in.at(r + 2, r + 2) = 1;
    const Plane8 out = ours(in, Op::kDilate, r);
    const cv::Mat k = ellipse(r);
    for (int y = 0; y < in.height; ++y)
      for (int x = 0; x < in.width; ++x) {
        const int ky = y - 2, kx = x - 2;
        const int want = ky >= 0 && kx >= 0 && ky < k.rows && kx < k.cols ? k.at<std::uint8_t>(ky, kx) : 0;
        ASSERT_EQ(out.at(y, x), want) << "r=" << r << " at (" << y << ", " << x << ")";
      }
  }
}

TEST(BinaryMorphology, MatchesOpenCvOnSampleMasks) {
  const auto files = sample_jpegs();
  if (files.empty()) GTEST_SKIP() << "no *.jpg under " << sample_dir();
  for (std::size_t i = 0; i < files.size(); ++i) {
    const cv::Mat bgr = cv::imread(files[i].string(), cv::IMREAD_COLOR);
    ASSERT_FALSE(bgr.empty()) << files[i];
    const Plane8 in = sample_mask(bgr);
    // The radii segmentation uses (2, 6) on every image; the rest on a few.
    std::vector<int> radii = {2, 6};
    if (i % 16 == 0) radii = {1, 2, 3, 4, 5, 6, 7};
    for (int r : radii)
      for (Op op : kOps)
        EXPECT_EQ(count_diff(ours(in, op, r), theirs(in, op, r)), 0) << files[i].filename() << " " << name(op) << " r=" << r;
  }
}

TEST(GreyMorphology, MatchesOpenCvRect3Replicate) {
  std::mt19937 rng(99);
  const cv::Mat k = cv::getStructuringElement(cv::MORPH_RECT, cv::Size(3, 3));
  const std::pair<int, int> sizes[] = {{1, 1}, {1, 9}, {9, 1}, {2, 2}, {7, 3}, {3, 7}, {33, 31}, {128, 96}};
  for (const auto& [h, w] : sizes) {
    const Plane8 in = random_plane(h, w, rng);
    Plane8 dil, ero;
    cpu::grey_dilate3(in, dil);
    cpu::grey_erode3(in, ero);
    cv::Mat cdil, cero;
    cv::dilate(to_mat(in), cdil, k, cv::Point(-1, -1), 1, cv::BORDER_REPLICATE);
    cv::erode(to_mat(in), cero, k, cv::Point(-1, -1), 1, cv::BORDER_REPLICATE);
    EXPECT_EQ(count_diff(dil, cdil), 0) << "grey_dilate3 on " << h << "x" << w;
    EXPECT_EQ(count_diff(ero, cero), 0) << "grey_erode3 on " << h << "x" << w;
    // In place (granularity reuses its planes), and into a plane of another size.
    Plane8 in_place = in, resized(h + 2, w + 1, 7);
    cpu::grey_dilate3(in_place, in_place);
    cpu::grey_erode3(in, resized);
    EXPECT_EQ(count_diff(in_place, cdil), 0) << "grey_dilate3 in place on " << h << "x" << w;
    EXPECT_EQ(count_diff(resized, cero), 0) << "grey_erode3 into a plane of another size on " << h << "x" << w;
  }
}

TEST(GreyMorphology, ClosingMatchesOpenCvOnSampleImages) {
  // measure.cpp's granularity: r dilations then r erosions == a (2r+1) square closing.
  const auto files = sample_jpegs();
  if (files.empty()) GTEST_SKIP() << "no *.jpg under " << sample_dir();
  for (std::size_t i = 0; i < files.size(); i += 4) {
    const cv::Mat bgr = cv::imread(files[i].string(), cv::IMREAD_COLOR);
    ASSERT_FALSE(bgr.empty()) << files[i];
    cv::Mat green;
    cv::extractChannel(bgr, green, 1);
    Plane8 closed = from_mat(green), tmp;
    cpu::grey_dilate3(closed, tmp);
    cv::Mat cd;
    cv::dilate(green, cd, cv::getStructuringElement(cv::MORPH_RECT, {3, 3}), {-1, -1}, 1, cv::BORDER_REPLICATE);
    EXPECT_EQ(count_diff(tmp, cd), 0) << files[i].filename();
    for (int r = 2; r <= 4; ++r) {
      Plane8 dil = from_mat(green);
      for (int k = 0; k < r; ++k) {
        cpu::grey_dilate3(dil, tmp);
        dil = tmp;
      }
      for (int k = 0; k < r; ++k) {
        cpu::grey_erode3(dil, tmp);
        dil = tmp;
      }
      cv::Mat want;
      cv::morphologyEx(green, want, cv::MORPH_CLOSE, cv::getStructuringElement(cv::MORPH_RECT, {2 * r + 1, 2 * r + 1}),
                       {-1, -1}, 1, cv::BORDER_REPLICATE);
      EXPECT_EQ(count_diff(dil, want), 0) << files[i].filename() << " closing size " << 2 * r + 1;
    }
  }
}

}  // namespace hemolens::test

// Chamfer 3-4: the distance between two pixels is 3 max(|dx|,|dy|) + min(|dx|,|dy|); the
// two-pass transform must give exactly the minimum of that over the set pixels.
TEST(ChamferDistance, MatchesBruteForceOnRandomMasks) {
  std::mt19937 rng(11);
  for (int trial = 0; trial < 6; ++trial) {
    const int h = 5 + trial * 7, w = 9 + trial * 5;
    const hemolens::Plane8 mask = hemolens::test::random_mask(h, w, 0.02 + 0.02 * trial, rng);
    const hemolens::Plane32 d = hemolens::cpu::chamfer_distance(mask);
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        int best = 1 << 28;
        for (int yy = 0; yy < h; ++yy)
          for (int xx = 0; xx < w; ++xx)
            if (mask.at(yy, xx)) {
              const int ax = std::abs(xx - x), ay = std::abs(yy - y);
              best = std::min(best, 3 * std::max(ax, ay) + std::min(ax, ay));
            }
        ASSERT_EQ(d.at(y, x), best) << "trial " << trial << " at " << y << "," << x;
      }
  }
}
