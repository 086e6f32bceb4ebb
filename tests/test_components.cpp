// Oracle tests for connected components and hole filling (src/cpu/components.*).
//   label_components(4|8) vs cv::connectedComponentsWithStats: same count; OpenCV's labels,
//       renumbered in raster order of first appearance, equal ours pixel for pixel; area,
//       bounding box and centroid (sum / area) equal per component.
//   fill_holes vs a flood fill (cv::floodFill, 4-connected) of the inverted mask from the
//       border of a 1-pixel padded copy: whatever background the flood cannot reach is a hole.
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

#include "cpu/components.hpp"
#include "support.hpp"

namespace hemolens::test {
namespace {


// Compares label_components with OpenCV on one mask; `what` names the case in failures.
// Returns the number of components (for the callers' own checks).
int check_labels(const Plane8& mask, int connectivity, const std::string& what) {
  SCOPED_TRACE(what + ", " + std::to_string(connectivity) + "-connected, " + std::to_string(mask.height) + "x" +
               std::to_string(mask.width));
  Plane32 labels;
  const std::vector<cpu::ComponentStats> stats = cpu::label_components(mask, connectivity, labels);
  EXPECT_EQ(labels.height, mask.height);
  EXPECT_EQ(labels.width, mask.width);

  cv::Mat cv_labels, cv_stats, cv_centroids;
  const int n_cv = cv::connectedComponentsWithStats(to_mat(mask), cv_labels, cv_stats, cv_centroids, connectivity, CV_32S);
  const int n = int(stats.size()) - 1;
  EXPECT_EQ(n, n_cv - 1) << "component count";
  if (n != n_cv - 1) return n;

  // OpenCV label -> label in raster order of first appearance.
  std::vector<int> remap(std::size_t(n_cv), -1);
  remap[0] = 0;
  int next = 0;
  long mismatched = 0;
  for (int y = 0; y < mask.height; ++y)
    for (int x = 0; x < mask.width; ++x) {
      const int c = cv_labels.at<int>(y, x);
      if (remap[std::size_t(c)] < 0) remap[std::size_t(c)] = ++next;
      const int want = remap[std::size_t(c)];
      if (labels.at(y, x) != want && mismatched++ == 0)
        ADD_FAILURE() << "first label mismatch at (y=" << y << ", x=" << x << "): hemolens " << labels.at(y, x)
                      << ", OpenCV (renumbered) " << want;
      if ((mask.at(y, x) != 0) != (want != 0) && mismatched++ == 0) ADD_FAILURE() << "OpenCV labels disagree with the mask";
    }
  EXPECT_EQ(mismatched, 0) << "pixels with a different label";
  EXPECT_EQ(next, n) << "OpenCV labels seen in the image";

  for (int c = 1; c < n_cv; ++c) {
    const int l = remap[std::size_t(c)];
    if (l <= 0) continue;
    const cpu::ComponentStats& s = stats[std::size_t(l)];
    const int left = cv_stats.at<int>(c, cv::CC_STAT_LEFT), top = cv_stats.at<int>(c, cv::CC_STAT_TOP);
    const int width = cv_stats.at<int>(c, cv::CC_STAT_WIDTH), height = cv_stats.at<int>(c, cv::CC_STAT_HEIGHT);
    EXPECT_EQ(s.area, cv_stats.at<int>(c, cv::CC_STAT_AREA)) << "area of label " << l;
    EXPECT_EQ(s.min_x, left) << "min_x of label " << l;
    EXPECT_EQ(s.min_y, top) << "min_y of label " << l;
    EXPECT_EQ(s.max_x, left + width - 1) << "max_x of label " << l;
    EXPECT_EQ(s.max_y, top + height - 1) << "max_y of label " << l;
    if (s.area <= 0) {
      ADD_FAILURE() << "empty component " << l;
      continue;
    }
    EXPECT_EQ(double(s.sum_x) / double(s.area), cv_centroids.at<double>(c, 0)) << "centroid x of label " << l;
    EXPECT_EQ(double(s.sum_y) / double(s.area), cv_centroids.at<double>(c, 1)) << "centroid y of label " << l;
  }
  return n;
}

// The oracle for fill_holes.
Plane8 fill_holes_oracle(const Plane8& mask) {
  const int h = mask.height, w = mask.width;
  cv::Mat padded(h + 2, w + 2, CV_8UC1, cv::Scalar(255));  // 255 = background (inverted mask)
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) padded.at<std::uint8_t>(y + 1, x + 1) = mask.at(y, x) ? 0 : 255;
  cv::floodFill(padded, cv::Point(0, 0), cv::Scalar(128), nullptr, cv::Scalar(0), cv::Scalar(0), 4);
  Plane8 out(h, w);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) out.at(y, x) = mask.at(y, x) || padded.at<std::uint8_t>(y + 1, x + 1) == 255;
  return out;
}

long count_diff(const Plane8& a, const Plane8& b) {
  if (a.height != b.height || a.width != b.width) return -1;
  long n = 0;
  for (std::size_t i = 0; i < a.size(); ++i) n += a.data[i] != b.data[i];
  return n;
}

Plane8 fill(const Plane8& m) {
  Plane8 out;
  cpu::fill_holes(m, out);
  return out;
}

Plane8 draw(int h, int w, const std::vector<std::pair<cv::Point, int>>& rings, int thickness = 2) {
  cv::Mat m = cv::Mat::zeros(h, w, CV_8UC1);
  for (const auto& [c, r] : rings) cv::circle(m, c, r, 1, thickness, cv::LINE_8);
  return from_mat(m);
}

Plane8 checkerboard(int h, int w) {
  Plane8 p(h, w);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) p.at(y, x) = (x + y) % 2 == 0;
  return p;
}

}  // namespace

TEST(LabelComponents, EmptyAndFullMasks) {
  for (int conn : {4, 8}) {
    EXPECT_EQ(check_labels(Plane8(17, 23, 0), conn, "empty"), 0);
    EXPECT_EQ(check_labels(Plane8(17, 23, 1), conn, "full"), 1);
    EXPECT_EQ(check_labels(Plane8(1, 1, 1), conn, "single pixel"), 1);
    EXPECT_EQ(check_labels(Plane8(1, 1, 0), conn, "single background pixel"), 0);
  }
  Plane32 labels;
  const auto stats = cpu::label_components(Plane8(17, 23, 1), 8, labels);
  ASSERT_EQ(stats.size(), 2u);
  EXPECT_EQ(stats[1].area, 17 * 23);
  EXPECT_EQ(stats[1].min_x, 0);
  EXPECT_EQ(stats[1].max_x, 22);
  EXPECT_EQ(stats[1].max_y, 16);
}

TEST(LabelComponents, Checkerboard) {
  // 4-connected: every set pixel is its own component; 8-connected: one component.
  for (const auto& [h, w] : {std::pair{8, 8}, std::pair{9, 13}, std::pair{1, 7}, std::pair{7, 1}, std::pair{2, 2}}) {
    const Plane8 m = checkerboard(h, w);
    int ones = 0;
    for (auto v : m.data) ones += v;
    EXPECT_EQ(check_labels(m, 4, "checkerboard"), ones);
    EXPECT_EQ(check_labels(m, 8, "checkerboard"), h == 1 || w == 1 ? ones : 1);
  }
}

TEST(LabelComponents, RandomMasks) {
  std::mt19937 rng(1234);
  const std::pair<int, int> sizes[] = {{1, 50}, {50, 1}, {2, 2}, {7, 3}, {3, 7}, {31, 29}, {64, 64}, {120, 97}};
  for (const auto& [h, w] : sizes)
    for (double density : {0.1, 0.3, 0.45, 0.55, 0.6, 0.7, 0.9})
      for (int conn : {4, 8}) check_labels(random_mask(h, w, density, rng), conn, "random density " + std::to_string(density));
}

TEST(LabelComponents, MergingShapes) {
  // Shapes whose arms meet late in the raster scan (U, W, spiral, staircase): the union
  // order decides the labels, and the first pixel's label must win.
  cv::Mat m = cv::Mat::zeros(60, 80, CV_8UC1);
  // W: three prongs joined only by the bottom bar.
  for (int x : {2, 6, 10, 14}) cv::line(m, {x, 2}, {x, 20}, 1);
  cv::line(m, {2, 20}, {14, 20}, 1);
  // Staircase that is 8- but not 4-connected.
  for (int i = 0; i < 15; ++i) m.at<std::uint8_t>(2 + i, 20 + i) = 1;
  // Anti-diagonal staircase (north-east neighbours).
  for (int i = 0; i < 15; ++i) m.at<std::uint8_t>(2 + i, 60 - i) = 1;
  // Square spiral.
  int x0 = 10, y0 = 28, x1 = 50, y1 = 58;
  while (x1 - x0 > 4 && y1 - y0 > 4) {
    cv::line(m, {x0, y0}, {x1, y0}, 1);
    cv::line(m, {x1, y0}, {x1, y1}, 1);
    cv::line(m, {x1, y1}, {x0 + 2, y1}, 1);
    cv::line(m, {x0 + 2, y1}, {x0 + 2, y0 + 2}, 1);
    x0 += 2, y0 += 2, x1 -= 2, y1 -= 2;  // the next turn starts where this one ended
  }
  const Plane8 mask = from_mat(m);
  check_labels(mask, 4, "merging shapes");
  check_labels(mask, 8, "merging shapes");
  // The staircase alone: 15 pieces 4-connected, one 8-connected.
  Plane8 stairs(20, 20, 0);
  for (int i = 0; i < 15; ++i) stairs.at(2 + i, 2 + i) = 1;
  EXPECT_EQ(check_labels(stairs, 4, "staircase"), 15);
  EXPECT_EQ(check_labels(stairs, 8, "staircase"), 1);
}

TEST(LabelComponents, SampleMasks) {
  const auto files = sample_jpegs();
  if (files.empty()) GTEST_SKIP() << "no *.jpg under " << sample_dir();
  for (const auto& f : files) {
    const cv::Mat bgr = cv::imread(f.string(), cv::IMREAD_COLOR);
    ASSERT_FALSE(bgr.empty()) << f;
    cv::Mat green, bin;
    cv::extractChannel(bgr, green, 1);
    cv::threshold(green, bin, 0, 1, cv::THRESH_BINARY_INV | cv::THRESH_OTSU);
    const Plane8 mask = from_mat(bin);
    check_labels(mask, 8, f.filename().string() + " (dark)");
    Plane8 light(mask.height, mask.width);
    for (std::size_t i = 0; i < mask.size(); ++i) light.data[i] = !mask.data[i];
    check_labels(light, 4, f.filename().string() + " (light)");
  }
}

TEST(LabelComponents, RejectsOtherConnectivity) {
  Plane32 labels;
  EXPECT_THROW(cpu::label_components(Plane8(3, 3, 1), 6, labels), std::invalid_argument);
}

TEST(FillHoles, Ring) {
  const Plane8 ring = draw(40, 50, {{{25, 20}, 12}});
  const Plane8 out = fill(ring);
  EXPECT_EQ(count_diff(out, fill_holes_oracle(ring)), 0);
  EXPECT_EQ(out.at(20, 25), 1);  // the centre is filled
  EXPECT_EQ(out.at(0, 0), 0);    // the outside is not
  // Filled ring == filled disc of the same outer radius.
  cv::Mat disc = cv::Mat::zeros(40, 50, CV_8UC1);
  cv::circle(disc, {25, 20}, 12, 1, 2, cv::LINE_8);
  cv::floodFill(disc, {25, 20}, 1);
  EXPECT_EQ(count_diff(out, from_mat(disc)), 0);
}

TEST(FillHoles, NestedRings) {
  // Outer ring, background gap, inner ring, inner background: all of it is enclosed.
  const Plane8 rings = draw(60, 60, {{{30, 30}, 25}, {{30, 30}, 12}});
  const Plane8 out = fill(rings);
  EXPECT_EQ(count_diff(out, fill_holes_oracle(rings)), 0);
  EXPECT_EQ(out.at(30, 30), 1);
  EXPECT_EQ(out.at(30, 30 + 18), 1);  // the gap between the rings
  EXPECT_EQ(out.at(1, 1), 0);
}

TEST(FillHoles, HoleTouchingTheBorderIsNotAHole) {
  // A ring cut by the left edge: its inside reaches the border, so nothing is filled.
  const Plane8 ring = draw(40, 40, {{{3, 20}, 12}});
  const Plane8 out = fill(ring);
  EXPECT_EQ(count_diff(out, fill_holes_oracle(ring)), 0);
  EXPECT_EQ(count_diff(out, ring), 0);
  // A U open towards the bottom edge.
  Plane8 u(10, 10, 0);
  for (int y = 2; y < 10; ++y) u.at(y, 2) = u.at(y, 7) = 1;
  for (int x = 2; x <= 7; ++x) u.at(2, x) = 1;
  EXPECT_EQ(count_diff(fill(u), u), 0);
  EXPECT_EQ(count_diff(fill(u), fill_holes_oracle(u)), 0);
}

TEST(FillHoles, DiagonalWallEnclosesFourConnectedBackground) {
  // A diamond drawn with 8-connected steps: background inside is 4-enclosed, so it is a hole.
  Plane8 d(15, 15, 0);
  for (int i = 0; i <= 5; ++i) {
    d.at(7 - i, 2 + i) = d.at(7 + i, 2 + i) = 1;
    d.at(7 - i, 12 - i) = d.at(7 + i, 12 - i) = 1;
  }
  const Plane8 out = fill(d);
  EXPECT_EQ(count_diff(out, fill_holes_oracle(d)), 0);
  EXPECT_EQ(out.at(7, 7), 1);
  EXPECT_EQ(out.at(0, 0), 0);
}

TEST(FillHoles, EdgeCases) {
  for (const auto& m : {Plane8(1, 1, 0), Plane8(1, 1, 1), Plane8(5, 7, 0), Plane8(5, 7, 1), Plane8(1, 9, 0)})
    EXPECT_EQ(count_diff(fill(m), fill_holes_oracle(m)), 0) << m.height << "x" << m.width;
  // A one-pixel hole in a 3x3 image that is otherwise all foreground.
  Plane8 b(3, 3, 1);
  b.at(1, 1) = 0;
  EXPECT_EQ(fill(b).data, Plane8(3, 3, 1).data);
}

TEST(FillHoles, RandomMasks) {
  std::mt19937 rng(555);
  const std::pair<int, int> sizes[] = {{1, 30}, {30, 1}, {2, 2}, {7, 3}, {25, 25}, {64, 48}, {100, 120}};
  for (const auto& [h, w] : sizes)
    for (double density : {0.2, 0.4, 0.55, 0.65, 0.75, 0.85}) {
      const Plane8 m = random_mask(h, w, density, rng);
      EXPECT_EQ(count_diff(fill(m), fill_holes_oracle(m)), 0) << h << "x" << w << " density " << density;
    }
}

TEST(FillHoles, SampleMasks) {
  const auto files = sample_jpegs();
  if (files.empty()) GTEST_SKIP() << "no *.jpg under " << sample_dir();
  for (const auto& f : files) {
    const cv::Mat bgr = cv::imread(f.string(), cv::IMREAD_COLOR);
    ASSERT_FALSE(bgr.empty()) << f;
    cv::Mat green, bin;
    cv::extractChannel(bgr, green, 1);
    cv::threshold(green, bin, 0, 1, cv::THRESH_BINARY_INV | cv::THRESH_OTSU);
    const Plane8 m = from_mat(bin);
    EXPECT_EQ(count_diff(fill(m), fill_holes_oracle(m)), 0) << f.filename();
  }
}

}  // namespace hemolens::test
