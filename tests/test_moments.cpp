// Oracle tests for mask moments and shape measures:
//   cpu::mask_moments        == cv::moments(mask, binaryImage = true) raw moments, exactly;
//   features::central_moments / hu_moments vs cv::Moments' mu, nu and cv::HuMoments to a
//       relative 1e-9 (absolute 1e-12 on the dimensionless nu and Hu values near zero);
//   features::moment_ellipse on rasterised ellipses with known axes;
//   cpu::measure_shape (area, edges, bounding box, convex hull, components, lobes) on discs,
//       against cv::convexHull / cv::contourArea, cv::boundingRect, cv::connectedComponents;
//       its chamfer distances and eroded lobes against brute force; moments of rows wider
//       than any image against pixel-by-pixel sums;
//   features::hull_area2_from_rows on rectangles and single pixels.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "cpu/measure.hpp"
#include "features/moments.hpp"
#include "features/shape.hpp"
#include "support.hpp"

namespace hemolens::test {
namespace {

constexpr double kPi = 3.14159265358979323846;


// |a - b| within a relative 1e-9, or an absolute `abs_tol` (for values near zero).
::testing::AssertionResult close(const char* a_expr, const char* b_expr, const char* /*tol_expr*/, double a, double b,
                                 double abs_tol) {
  const double diff = std::fabs(a - b);
  if (diff <= abs_tol || diff <= 1e-9 * std::max(std::fabs(a), std::fabs(b))) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << a_expr << " = " << a << " vs " << b_expr << " = " << b << " (diff " << diff << ")";
}
::testing::AssertionResult close_nu(const char* ae, const char* be, double a, double b) {
  return close(ae, be, "1e-12", a, b, 1e-12);
}

// Compares everything for one mask; `what` names the case.
void check_moments(const Plane8& mask, const std::string& what) {
  SCOPED_TRACE(what);
  const features::MaskMoments m = cpu::mask_moments(mask);
  const cv::Moments cm = cv::moments(to_mat(mask), true);
  // Raw moments: OpenCV's are integer-valued doubles below 2^53, so equality is exact.
  EXPECT_EQ(double(m.m00), cm.m00);
  EXPECT_EQ(double(m.m10), cm.m10);
  EXPECT_EQ(double(m.m01), cm.m01);
  EXPECT_EQ(double(m.m20), cm.m20);
  EXPECT_EQ(double(m.m11), cm.m11);
  EXPECT_EQ(double(m.m02), cm.m02);
  EXPECT_EQ(double(m.m30), cm.m30);
  EXPECT_EQ(double(m.m21), cm.m21);
  EXPECT_EQ(double(m.m12), cm.m12);
  EXPECT_EQ(double(m.m03), cm.m03);

  const features::CentralMoments c = features::central_moments(m);
  // mu_pq carries units of m00^(1 + (p+q)/2); "near zero" scales with it.
  const double n = std::max(1.0, double(m.m00));
  const double tol2 = 1e-12 * n * n, tol3 = 1e-12 * n * n * std::sqrt(n);
  EXPECT_PRED_FORMAT3(close, c.mu20, cm.mu20, tol2);
  EXPECT_PRED_FORMAT3(close, c.mu11, cm.mu11, tol2);
  EXPECT_PRED_FORMAT3(close, c.mu02, cm.mu02, tol2);
  EXPECT_PRED_FORMAT3(close, c.mu30, cm.mu30, tol3);
  EXPECT_PRED_FORMAT3(close, c.mu21, cm.mu21, tol3);
  EXPECT_PRED_FORMAT3(close, c.mu12, cm.mu12, tol3);
  EXPECT_PRED_FORMAT3(close, c.mu03, cm.mu03, tol3);
  EXPECT_PRED_FORMAT2(close_nu, c.nu20, cm.nu20);
  EXPECT_PRED_FORMAT2(close_nu, c.nu11, cm.nu11);
  EXPECT_PRED_FORMAT2(close_nu, c.nu02, cm.nu02);
  EXPECT_PRED_FORMAT2(close_nu, c.nu30, cm.nu30);
  EXPECT_PRED_FORMAT2(close_nu, c.nu21, cm.nu21);
  EXPECT_PRED_FORMAT2(close_nu, c.nu12, cm.nu12);
  EXPECT_PRED_FORMAT2(close_nu, c.nu03, cm.nu03);
  if (m.m00 > 0) {  // the centroid, to rounding (m10 * (1 / m00) vs m10 / m00)
    EXPECT_PRED_FORMAT3(close, c.cx, cm.m10 / cm.m00, 0.0);
    EXPECT_PRED_FORMAT3(close, c.cy, cm.m01 / cm.m00, 0.0);
  }

  double hu[7], chu[7];
  features::hu_moments(c, hu);
  cv::HuMoments(cm, chu);
  for (int i = 0; i < 7; ++i) EXPECT_PRED_FORMAT2(close_nu, hu[i], chu[i]) << "Hu[" << i << "]";
}

Plane8 ellipse_mask(int h, int w, double cx, double cy, double a, double b) {
  Plane8 p(h, w);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const double dx = (x - cx) / a, dy = (y - cy) / b;
      p.at(y, x) = dx * dx + dy * dy <= 1.0;
    }
  return p;
}

Plane8 disc(int h, int w, int cx, int cy, int r, Plane8 p = {}) {
  if (p.height == 0) p = Plane8(h, w);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      if ((x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r) p.at(y, x) = 1;
  return p;
}

// Twice the convex-hull area of the pixel squares of a mask, by cv::convexHull over every
// corner of every set pixel (independent of the row-extent algorithm under test).
std::int64_t hull_area2_oracle(const Plane8& mask) {
  std::vector<cv::Point> corners;
  for (int y = 0; y < mask.height; ++y)
    for (int x = 0; x < mask.width; ++x)
      if (mask.at(y, x))
        for (int dy = 0; dy < 2; ++dy)
          for (int dx = 0; dx < 2; ++dx) corners.emplace_back(x + dx, y + dy);
  if (corners.empty()) return 0;
  std::vector<cv::Point> hull;
  cv::convexHull(corners, hull);
  return std::llround(2 * cv::contourArea(hull));
}

// Pixel edges between the mask and anything else (outside counts as background).
std::int64_t edges_oracle(const Plane8& mask) {
  cv::Mat p;
  cv::copyMakeBorder(to_mat(mask), p, 1, 1, 1, 1, cv::BORDER_CONSTANT, 0);
  std::int64_t e = 0;
  for (int y = 0; y + 1 < p.rows; ++y)
    for (int x = 0; x + 1 < p.cols; ++x) {
      const bool a = p.at<std::uint8_t>(y, x) != 0;
      e += a != (p.at<std::uint8_t>(y, x + 1) != 0);
      e += a != (p.at<std::uint8_t>(y + 1, x) != 0);
    }
  return e;
}

// measure_shape against the oracles above; returns the accumulator for further checks.
features::ShapeAccumulator check_shape(const Plane8& mask, const std::string& what) {
  SCOPED_TRACE(what);
  features::ShapeAccumulator s;
  cpu::measure_shape(mask, s);
  const features::MaskMoments m = cpu::mask_moments(mask);
  EXPECT_EQ(s.moments.m00, m.m00);
  EXPECT_EQ(s.moments.m30, m.m30);
  EXPECT_EQ(s.moments.m03, m.m03);
  if (m.m00 == 0) {
    EXPECT_EQ(s.components, 0);
    EXPECT_EQ(s.edges, 0);
    return s;
  }
  EXPECT_EQ(s.edges, edges_oracle(mask));
  EXPECT_EQ(s.hull_area2, hull_area2_oracle(mask));
  const cv::Rect box = cv::boundingRect(to_mat(mask));
  EXPECT_EQ(s.min_x, box.x);
  EXPECT_EQ(s.min_y, box.y);
  EXPECT_EQ(s.max_x, box.x + box.width - 1);
  EXPECT_EQ(s.max_y, box.y + box.height - 1);
  cv::Mat labels, stats, centroids;
  const int n = cv::connectedComponentsWithStats(to_mat(mask), labels, stats, centroids, 8, CV_32S);
  EXPECT_EQ(s.components, n - 1);
  int lobes = 0;
  for (int l = 1; l < n; ++l) lobes += std::int64_t(stats.at<int>(l, cv::CC_STAT_AREA)) * 20 >= m.m00;
  EXPECT_EQ(s.lobes, lobes);
  return s;
}

}  // namespace

TEST(MaskMoments, MatchOpenCvOnRandomMasks) {
  std::mt19937 rng(8080);
  const std::pair<int, int> sizes[] = {{1, 1}, {1, 40}, {40, 1}, {2, 2}, {7, 3}, {33, 65}, {100, 100}};
  for (const auto& [h, w] : sizes)
    for (double density : {0.02, 0.3, 0.5, 0.9})
      check_moments(random_mask(h, w, density, rng), std::to_string(h) + "x" + std::to_string(w) + " density " + std::to_string(density));
}

TEST(MaskMoments, MatchOpenCvOnShapes) {
  // Full-frame sizes with the object far from the origin: the largest raw moments, and
  // central moments formed by cancellation.
  check_moments(Plane8(10, 10, 0), "empty");
  Plane8 one(360, 363, 0);
  one.at(359, 362) = 1;
  check_moments(one, "single far pixel");
  check_moments(Plane8(360, 363, 1), "full frame");
  check_moments(ellipse_mask(360, 363, 250.3, 280.7, 60, 25), "ellipse far from origin");
  check_moments(disc(360, 363, 180, 180, 100), "centred disc (odd moments vanish)");
  cv::Mat rot = cv::Mat::zeros(360, 363, CV_8UC1);
  cv::ellipse(rot, {200, 150}, {90, 30}, 33.0, 0, 360, 1, cv::FILLED);
  cv::ellipse(rot, {90, 260}, {40, 70}, -12.0, 0, 360, 1, cv::FILLED);
  cv::rectangle(rot, {300, 10}, {340, 330}, 1, cv::FILLED);
  check_moments(from_mat(rot), "rotated ellipses and a bar");
  // A mask holding value 255 instead of 1: binary moments treat any nonzero as one.
  Plane8 big = ellipse_mask(50, 60, 30, 25, 20, 10);
  for (auto& v : big.data) v = v ? 255 : 0;
  const features::MaskMoments m255 = cpu::mask_moments(big);
  EXPECT_EQ(double(m255.m00), cv::moments(to_mat(big), true).m00);
}

TEST(MomentEllipse, AxisAlignedEllipse) {
  // Semi-axes 40 (x) and 20 (y): major ~ 80, minor ~ 40, eccentricity sqrt(1 - 1/4).
  const Plane8 e = ellipse_mask(100, 120, 60, 50, 40, 20);
  const features::Ellipse el = features::moment_ellipse(features::central_moments(cpu::mask_moments(e)));
  EXPECT_NEAR(el.major, 80.0, 0.02 * 80.0);
  EXPECT_NEAR(el.minor, 40.0, 0.02 * 40.0);
  EXPECT_NEAR(el.eccentricity, std::sqrt(0.75), 0.01);
  // Same ellipse standing upright: the axes do not care about orientation.
  const Plane8 t = ellipse_mask(120, 100, 50, 60, 20, 40);
  const features::Ellipse et = features::moment_ellipse(features::central_moments(cpu::mask_moments(t)));
  EXPECT_NEAR(et.major, el.major, 1e-9);
  EXPECT_NEAR(et.minor, el.minor, 1e-9);
}

TEST(MomentEllipse, RotatedEllipseAndDegenerateCases) {
  cv::Mat m = cv::Mat::zeros(200, 200, CV_8UC1);
  cv::ellipse(m, {100, 100}, {60, 20}, 37.0, 0, 360, 1, cv::FILLED);
  const features::Ellipse el = features::moment_ellipse(features::central_moments(cpu::mask_moments(from_mat(m))));
  EXPECT_NEAR(el.major, 120.0, 0.02 * 120.0);
  EXPECT_NEAR(el.minor, 40.0, 0.03 * 40.0);
  EXPECT_NEAR(el.eccentricity, std::sqrt(1.0 - 1.0 / 9.0), 0.01);
  // Disc: equal axes, eccentricity ~ 0.
  const features::Ellipse d = features::moment_ellipse(features::central_moments(cpu::mask_moments(disc(80, 80, 40, 40, 30))));
  EXPECT_NEAR(d.major, d.minor, 1e-9);
  EXPECT_NEAR(d.major, 60.0, 0.02 * 60.0);
  EXPECT_LT(d.eccentricity, 1e-6);
  // Empty mask: zeros. One-pixel-wide bar: minor axis 4 sqrt(1/12), eccentricity ~ 1.
  const features::Ellipse z = features::moment_ellipse(features::central_moments(features::MaskMoments{}));
  EXPECT_EQ(z.major, 0.0);
  EXPECT_EQ(z.minor, 0.0);
  EXPECT_EQ(z.eccentricity, 0.0);
  Plane8 bar(5, 101, 0);
  for (int x = 0; x < 101; ++x) bar.at(2, x) = 1;
  const features::Ellipse b = features::moment_ellipse(features::central_moments(cpu::mask_moments(bar)));
  EXPECT_NEAR(b.minor, 0.0, 1e-6);
  EXPECT_NEAR(b.major, 4 * std::sqrt((101.0 * 101.0 - 1) / 12.0), 1e-9);  // variance of 0..100
  EXPECT_NEAR(b.eccentricity, 1.0, 1e-9);
}

TEST(MeasureShape, Disc) {
  const int r = 30;
  const Plane8 d = disc(90, 100, 45, 40, r);
  std::int64_t pixels = 0;
  for (auto v : d.data) pixels += v;
  const features::ShapeAccumulator s = check_shape(d, "disc r=30");
  EXPECT_EQ(s.moments.m00, pixels);
  EXPECT_EQ(s.components, 1);
  EXPECT_EQ(s.lobes, 1);
  // The hull is that of the pixel squares, so it reaches half a pixel beyond the centres
  // of the outermost pixels: for r = 30 the solidity is 2 * 2821 / 5826 = 0.968.
  const double solidity = 2.0 * double(s.moments.m00) / double(s.hull_area2);
  EXPECT_GT(solidity, 0.96);
  EXPECT_LE(solidity, 1.0);
  const double perimeter = features::perimeter_from_edges(s.edges);
  EXPECT_NEAR(perimeter, 2 * kPi * r, 0.05 * 2 * kPi * r);
  EXPECT_EQ(s.min_x, 45 - r);
  EXPECT_EQ(s.max_x, 45 + r);
  EXPECT_EQ(s.min_y, 40 - r);
  EXPECT_EQ(s.max_y, 40 + r);
  // Translation invariance: the same disc near the far corner of a full-size frame.
  const features::ShapeAccumulator far = check_shape(disc(360, 363, 320, 315, r), "disc r=30 far from the origin");
  EXPECT_EQ(far.moments.m00, s.moments.m00);
  EXPECT_EQ(far.edges, s.edges);
  EXPECT_EQ(far.hull_area2, s.hull_area2);
  EXPECT_EQ(far.min_x, 320 - r);
  EXPECT_EQ(far.max_y, 315 + r);
  // The half-pixel margin matters less as the disc grows.
  const features::ShapeAccumulator big = check_shape(disc(260, 260, 130, 130, 120), "disc r=120");
  EXPECT_GT(2.0 * double(big.moments.m00) / double(big.hull_area2), 0.99);
}

TEST(MeasureShape, TwoDiscsAndFragments) {
  Plane8 two = disc(100, 160, 40, 50, 25);
  two = disc(100, 160, 115, 50, 30, two);
  const features::ShapeAccumulator s = check_shape(two, "two discs");
  EXPECT_EQ(s.components, 2);
  EXPECT_EQ(s.lobes, 2);
  // A big disc with a 3-pixel crumb: two components, but the crumb is no lobe (< 5 %).
  Plane8 crumb = disc(100, 100, 50, 50, 30);
  crumb.at(2, 2) = crumb.at(2, 3) = crumb.at(3, 2) = 1;
  const features::ShapeAccumulator c = check_shape(crumb, "disc and crumb");
  EXPECT_EQ(c.components, 2);
  EXPECT_EQ(c.lobes, 1);
  check_shape(Plane8(20, 20, 0), "empty");
  check_shape(Plane8(20, 20, 1), "full");
}

TEST(MeasureShape, ErodedLobesBreakThinBridges) {
  // Two discs joined by a bar 3 pixels wide: one lobe, two once eroded by 2 or 4 pixels
  // (the bar's middle row is 2 steps, 6 chamfer units, from the outside: not above 3 x 2).
  Plane8 dumbbell = disc(80, 160, 40, 40, 25);
  dumbbell = disc(80, 160, 120, 40, 25, dumbbell);
  for (int y = 39; y <= 41; ++y)
    for (int x = 40; x <= 120; ++x) dumbbell.at(y, x) = 1;
  const features::ShapeAccumulator s = check_shape(dumbbell, "dumbbell");
  EXPECT_EQ(s.lobes, 1);
  EXPECT_EQ(s.eroded_lobes[0], 2);
  EXPECT_EQ(s.eroded_lobes[1], 2);
  // A bar 7 pixels wide survives the 2-pixel erosion, not the 4-pixel one.
  for (int y = 37; y <= 43; ++y)
    for (int x = 40; x <= 120; ++x) dumbbell.at(y, x) = 1;
  const features::ShapeAccumulator t = check_shape(dumbbell, "dumbbell with a thick bar");
  EXPECT_EQ(t.eroded_lobes[0], 1);
  EXPECT_EQ(t.eroded_lobes[1], 2);
  // A disc stays one; a mask thinner than the erosion leaves nothing.
  EXPECT_EQ(check_shape(disc(90, 90, 45, 45, 30), "disc").eroded_lobes[1], 1);
  Plane8 line(20, 40, 0);
  for (int x = 5; x < 35; ++x) line.at(10, x) = line.at(11, x) = 1;
  const features::ShapeAccumulator l = check_shape(line, "2-pixel line");
  EXPECT_EQ(l.lobes, 1);
  EXPECT_EQ(l.eroded_lobes[0], 0);
}

TEST(MeasureShape, RandomMasksAgainstOracles) {
  std::mt19937 rng(4711);
  for (int i = 0; i < 12; ++i) {
    cv::Mat m = cv::Mat::zeros(70 + i, 90 - i, CV_8UC1);
    std::uniform_int_distribution<int> px(0, 90), rad(1, 18);
    for (int k = 0; k < 1 + i % 4; ++k) cv::circle(m, {px(rng), px(rng)}, rad(rng), 1, cv::FILLED);
    if (i % 3 == 0) cv::line(m, {px(rng), px(rng)}, {px(rng), px(rng)}, 1, 1 + i % 3);
    check_shape(from_mat(m), "blobs #" + std::to_string(i));
  }
  for (double density : {0.01, 0.1, 0.5})
    check_shape(random_mask(40, 50, density, rng), "random density " + std::to_string(density));
}

namespace {

// Chamfer (3-4) distance of each set pixel to the nearest unset one, the plane continued by
// unset pixels: 3 max(|dx|, |dy|) + min(|dx|, |dy|), by brute force; and the lobes left where
// it exceeds 3 x depth, by OpenCV's labelling.
struct DistanceOracle {
  std::int64_t sum = 0;
  std::int32_t max = 0;
  std::int32_t eroded_lobes[features::kErosions] = {};
};
DistanceOracle distance_oracle(const Plane8& mask) {
  const int h = mask.height, w = mask.width;
  Plane32 d(h, w, 0);
  DistanceOracle o;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      if (!mask.at(y, x)) continue;
      int best = 3 * std::min({y + 1, x + 1, h - y, w - x});  // straight out of the plane
      for (int yy = 0; yy < h; ++yy)
        for (int xx = 0; xx < w; ++xx)
          if (!mask.at(yy, xx)) {
            const int dx = std::abs(xx - x), dy = std::abs(yy - y);
            best = std::min(best, 3 * std::max(dx, dy) + std::min(dx, dy));
          }
      d.at(y, x) = best;
      o.sum += best;
      o.max = std::max(o.max, best);
    }
  for (int i = 0; i < features::kErosions; ++i) {
    cv::Mat eroded(h, w, CV_8UC1), labels, stats, centroids;
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) eroded.at<std::uint8_t>(y, x) = d.at(y, x) > 3 * features::erosion_depth(i);
    const int area = cv::countNonZero(eroded);
    const int n = cv::connectedComponentsWithStats(eroded, labels, stats, centroids, 8, CV_32S);
    for (int l = 1; l < n && area > 0; ++l) o.eroded_lobes[i] += std::int64_t(stats.at<int>(l, cv::CC_STAT_AREA)) * 20 >= area;
  }
  return o;
}

}  // namespace

TEST(MeasureShape, DistancesAndErodedLobesAgainstBruteForce) {
  std::mt19937 rng(97);
  std::vector<std::pair<std::string, Plane8>> masks;
  for (int i = 0; i < 6; ++i) {
    cv::Mat m = cv::Mat::zeros(28 + i, 36 - i, CV_8UC1);
    std::uniform_int_distribution<int> px(-4, 40), rad(2, 11);
    for (int k = 0; k < 1 + i % 3; ++k) cv::circle(m, {px(rng), px(rng)}, rad(rng), 1, cv::FILLED);
    if (i % 2) cv::line(m, {px(rng), px(rng)}, {px(rng), px(rng)}, 1, 2);
    masks.emplace_back("blobs #" + std::to_string(i), from_mat(m));
  }
  for (double density : {0.3, 0.9}) masks.emplace_back("random " + std::to_string(density), random_mask(20, 25, density, rng));
  masks.emplace_back("full", Plane8(9, 13, 1));
  for (const auto& [what, mask] : masks) {
    features::ShapeAccumulator s;
    cpu::measure_shape(mask, s);
    const DistanceOracle o = distance_oracle(mask);
    EXPECT_EQ(s.distance_sum, o.sum) << what;
    EXPECT_EQ(s.distance_max, o.max) << what;
    for (int i = 0; i < features::kErosions; ++i) EXPECT_EQ(s.eroded_lobes[i], o.eroded_lobes[i]) << what << " depth " << i;
  }
}

// Rows far wider than an image: the run sums in closed form stay exact (modulo 2^64, as a
// pixel-by-pixel sum in 64 bits), past the widths where k (k + 1) (2k + 1) overflows.
TEST(MaskMoments, WideRowsEqualPixelByPixelSums) {
  const int w = 3'000'000;
  Plane8 mask(2, w, 0);
  for (const auto& [y, x0, x1] : {std::tuple{0, 0, 4}, std::tuple{0, 1'000'003, 1'000'010}, std::tuple{1, w - 9, w - 1},
                                  std::tuple{1, 2'097'150, 2'097'160}})
    for (int x = x0; x <= x1; ++x) mask.at(y, x) = 1;
  std::uint64_t n = 0, sx = 0, sx2 = 0, sx3 = 0, sxy = 0;
  for (int y = 0; y < 2; ++y)
    for (int x = 0; x < w; ++x)
      if (mask.at(y, x)) {
        const std::uint64_t xx = std::uint64_t(x);
        ++n, sx += xx, sx2 += xx * xx, sx3 += xx * xx * xx, sxy += xx * std::uint64_t(y);
      }
  const features::MaskMoments m = cpu::mask_moments(mask);
  EXPECT_EQ(std::uint64_t(m.m00), n);
  EXPECT_EQ(std::uint64_t(m.m10), sx);
  EXPECT_EQ(std::uint64_t(m.m20), sx2);
  EXPECT_EQ(std::uint64_t(m.m30), sx3);
  EXPECT_EQ(std::uint64_t(m.m11), sxy);
}

TEST(MeasureShape, SampleMasks) {
  // Dark objects of real images (green <= Otsu): many components of every shape.
  const auto files = sample_jpegs();
  if (files.empty()) GTEST_SKIP() << "no *.jpg under " << sample_dir();
  for (std::size_t i = 0; i < files.size(); i += 8) {
    const cv::Mat bgr = cv::imread(files[i].string(), cv::IMREAD_COLOR);
    ASSERT_FALSE(bgr.empty()) << files[i];
    cv::Mat green, bin;
    cv::extractChannel(bgr, green, 1);
    cv::threshold(green, bin, 0, 1, cv::THRESH_BINARY_INV | cv::THRESH_OTSU);
    const Plane8 mask = from_mat(bin);
    check_shape(mask, files[i].filename().string());
    check_moments(mask, files[i].filename().string());
  }
}

TEST(HullArea2FromRows, RectanglesAndSinglePixels) {
  auto hull_rows = [](const std::vector<int>& lo, const std::vector<int>& hi, int min_y) {
    const int rows = int(lo.size());
    std::vector<features::HullPoint> points(2 * std::size_t(rows + 1)), hull(4 * std::size_t(rows + 1) + 1);
    return features::hull_area2_from_rows(lo.data(), hi.data(), rows, min_y, points.data(), hull.data());
  };
  // A filled w x h rectangle at (x0, y0): twice its area, 2 w h.
  for (int w : {1, 2, 3, 10, 57})
    for (int h : {1, 2, 5, 33}) {
      const int x0 = 7, y0 = 11;
      EXPECT_EQ(hull_rows(std::vector<int>(std::size_t(h), x0), std::vector<int>(std::size_t(h), x0 + w - 1), y0), 2 * w * h)
          << w << "x" << h;
    }
  // A single pixel: its unit square.
  EXPECT_EQ(hull_rows({5}, {5}, 9), 2);
  EXPECT_EQ(hull_rows({0}, {0}, 0), 2);
  // Two pixels on a diagonal, (0,0) and (1,1): hexagon of area 3 (2 squares + 2 half squares).
  EXPECT_EQ(hull_rows({0, 1}, {0, 1}, 0), 6);
  // A row left empty in the middle (row_min > row_max) is bridged by the hull.
  EXPECT_EQ(hull_rows({2, 1, 2}, {2, 0, 2}, 0), 2 * 3);
  // Right triangle of pixels: rows of 1, 2, 3, 4 pixels starting at x = 0. Hull corners
  // (0,0) (1,0) (4,3) (4,4) (0,4): the 4x4 box less the triangle (1,0) (4,0) (4,3) of
  // area 9/2, so area 11.5 and twice the area 23.
  Plane8 tri(4, 4, 0);
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x <= y; ++x) tri.at(y, x) = 1;
  EXPECT_EQ(hull_rows({0, 0, 0, 0}, {0, 1, 2, 3}, 0), 23);
  EXPECT_EQ(hull_area2_oracle(tri), 23);
}

}  // namespace hemolens::test
