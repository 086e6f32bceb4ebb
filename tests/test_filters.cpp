// Oracle tests for the smoothing filters (src/cpu/filters.*): OpenCV is the reference and
// every output pixel must match exactly.
//   gaussian_blur(k)  == cv::GaussianBlur(Size(k, k), sigma 0, BORDER_REFLECT_101)
//   median_blur(k)    == cv::medianBlur(k)           (borders replicated)
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

#include "cpu/filters.hpp"
#include "support.hpp"

namespace hemolens::test {
namespace {


// Number of pixels where a hemolens plane and an OpenCV matrix differ, plus the first one.
struct Diff {
  long count = 0;
  int y = -1, x = -1, ours = 0, theirs = 0;
};

Diff compare(const Plane8& ours, const cv::Mat& theirs) {
  Diff d;
  EXPECT_EQ(theirs.type(), CV_8UC1);
  EXPECT_EQ(ours.height, theirs.rows);
  EXPECT_EQ(ours.width, theirs.cols);
  if (ours.height != theirs.rows || ours.width != theirs.cols) {
    d.count = -1;
    return d;
  }
  for (int y = 0; y < ours.height; ++y)
    for (int x = 0; x < ours.width; ++x) {
      const int a = ours.at(y, x), b = theirs.at<std::uint8_t>(y, x);
      if (a == b) continue;
      if (d.count++ == 0) d = {1, y, x, a, b};
    }
  return d;
}

std::string describe(const Diff& d) {
  if (d.count <= 0) return "identical";
  return std::to_string(d.count) + " pixels differ; first at (y=" + std::to_string(d.y) + ", x=" + std::to_string(d.x) +
         "): hemolens " + std::to_string(d.ours) + ", OpenCV " + std::to_string(d.theirs);
}

const std::vector<std::pair<int, int>>& plane_sizes() {
  // (height, width): degenerate strips, tiny squares, sizes below the kernel, odd/even
  // mixes, and a full CellaVision-sized frame.
  static const std::vector<std::pair<int, int>> sizes = {
      {1, 1},  {1, 2},   {2, 1},  {1, 3},  {3, 1},   {1, 17},   {17, 1},  {1, 64},  {64, 1},  {2, 2},
      {2, 3},  {3, 2},   {3, 3},  {4, 4},  {5, 5},   {7, 3},    {3, 7},   {2, 9},   {9, 2},   {6, 11},
      {16, 16}, {31, 33}, {64, 5}, {5, 64}, {100, 37}, {129, 128}, {363, 360}};
  return sizes;
}

cv::Mat opencv_gaussian(const Plane8& p, int k) {
  cv::Mat dst;
  cv::GaussianBlur(to_mat(p), dst, cv::Size(k, k), 0, 0, cv::BORDER_REFLECT_101);
  return dst;
}

cv::Mat opencv_median(const Plane8& p, int k) {
  cv::Mat dst;
  cv::medianBlur(to_mat(p), dst, k);
  return dst;
}

// Planes with long runs and extreme values: the cases where rounding and saturation show.
Plane8 structured_plane(int h, int w, int kind) {
  Plane8 p(h, w);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      int v = 0;
      switch (kind) {
        case 0: v = ((x + y) & 1) ? 255 : 0; break;   // checkerboard of extremes
        case 1: v = (x * 37 + y * 11) & 255; break;    // ramps with wrap-around jumps
        case 2: v = (x / 3 + y / 2) & 1 ? 254 : 1; break;
        default: v = 255; break;                       // saturated constant
      }
      p.at(y, x) = std::uint8_t(v);
    }
  return p;
}

}  // namespace

TEST(Reflect101, MatchesCvBorderInterpolate) {
  for (int n : {1, 2, 3, 5, 8})
    for (int i = -3 * n; i < 4 * n; ++i)  // several reflections away on both sides
      EXPECT_EQ(cpu::reflect101(i, n), cv::borderInterpolate(i, n, cv::BORDER_REFLECT_101)) << "i=" << i << " n=" << n;
}

TEST(GaussianBlur, MatchesOpenCvOnRandomPlanes) {
  std::mt19937 rng(20240601);
  for (const auto& [h, w] : plane_sizes())
    for (int k : {3, 5}) {
      const Plane8 in = random_plane(h, w, rng);
      Plane8 out;
      cpu::gaussian_blur(in, out, k);
      const Diff d = compare(out, opencv_gaussian(in, k));
      EXPECT_EQ(d.count, 0) << "ksize " << k << " on " << h << "x" << w << ": " << describe(d);
    }
}

TEST(GaussianBlur, MatchesOpenCvOnStructuredPlanes) {
  for (int kind = 0; kind < 4; ++kind)
    for (const auto& [h, w] : {std::pair{1, 9}, std::pair{9, 1}, std::pair{2, 2}, std::pair{7, 3}, std::pair{40, 41}})
      for (int k : {3, 5}) {
        const Plane8 in = structured_plane(h, w, kind);
        Plane8 out;
        cpu::gaussian_blur(in, out, k);
        const Diff d = compare(out, opencv_gaussian(in, k));
        EXPECT_EQ(d.count, 0) << "pattern " << kind << ", ksize " << k << " on " << h << "x" << w << ": " << describe(d);
      }
}

TEST(GaussianBlur, RejectsOtherKernelSizes) {
  std::mt19937 rng(3);
  const Plane8 in = random_plane(8, 8, rng);
  Plane8 out;
  EXPECT_THROW(cpu::gaussian_blur(in, out, 7), std::invalid_argument);
  EXPECT_THROW(cpu::gaussian_blur(in, out, 1), std::invalid_argument);
}

TEST(GaussianBlur, MatchesOpenCvOnSampleImages) {
  const auto files = sample_jpegs();
  if (files.empty()) GTEST_SKIP() << "no *.jpg under " << sample_dir();
  int tested = 0;
  for (const auto& f : files) {
    const cv::Mat bgr = cv::imread(f.string(), cv::IMREAD_COLOR);
    ASSERT_FALSE(bgr.empty()) << f;
    cv::Mat channels[3];
    cv::split(bgr, channels);
    for (int c : {1, 0}) {  // green (what segmentation smooths), then blue
      const Plane8 in = from_mat(channels[c]);
      for (int k : {3, 5}) {
        Plane8 out;
        cpu::gaussian_blur(in, out, k);
        const Diff d = compare(out, opencv_gaussian(in, k));
        EXPECT_EQ(d.count, 0) << f.filename() << " channel " << c << " ksize " << k << ": " << describe(d);
      }
    }
    ++tested;
  }
  EXPECT_EQ(tested, int(files.size()));
}

TEST(MedianBlur, MatchesOpenCvOnRandomPlanes) {
  std::mt19937 rng(777);
  for (const auto& [h, w] : plane_sizes())
    for (int k : {3, 5}) {
      const Plane8 in = random_plane(h, w, rng);
      Plane8 out;
      cpu::median_blur(in, out, k);
      const Diff d = compare(out, opencv_median(in, k));
      EXPECT_EQ(d.count, 0) << "ksize " << k << " on " << h << "x" << w << ": " << describe(d);
    }
}

TEST(MedianBlur, MatchesOpenCvOnStructuredPlanes) {
  for (int kind = 0; kind < 4; ++kind)
    for (const auto& [h, w] : {std::pair{1, 9}, std::pair{9, 1}, std::pair{2, 2}, std::pair{7, 3}, std::pair{40, 41}})
      for (int k : {3, 5}) {
        const Plane8 in = structured_plane(h, w, kind);
        Plane8 out;
        cpu::median_blur(in, out, k);
        const Diff d = compare(out, opencv_median(in, k));
        EXPECT_EQ(d.count, 0) << "pattern " << kind << ", ksize " << k << " on " << h << "x" << w << ": " << describe(d);
      }
}

TEST(MedianBlur, MatchesOpenCvOnSampleImages) {
  const auto files = sample_jpegs();
  if (files.empty()) GTEST_SKIP() << "no *.jpg under " << sample_dir();
  for (const auto& f : files) {
    const cv::Mat bgr = cv::imread(f.string(), cv::IMREAD_COLOR);
    ASSERT_FALSE(bgr.empty()) << f;
    cv::Mat green;
    cv::extractChannel(bgr, green, 1);
    const Plane8 in = from_mat(green);
    for (int k : {3, 5}) {
      Plane8 out;
      cpu::median_blur(in, out, k);
      const Diff d = compare(out, opencv_median(in, k));
      EXPECT_EQ(d.count, 0) << f.filename() << " ksize " << k << ": " << describe(d);
    }
  }
}

TEST(MedianBlur, RejectsOtherKernelSizes) {
  std::mt19937 rng(4);
  const Plane8 in = random_plane(8, 8, rng);
  Plane8 out;
  EXPECT_THROW(cpu::median_blur(in, out, 7), std::invalid_argument);
  EXPECT_THROW(cpu::median_blur(in, out, 4), std::invalid_argument);
}

}  // namespace hemolens::test
