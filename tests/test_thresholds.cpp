// Oracle tests for threshold selection (src/features/thresholds.hpp).
//   otsu_threshold(hist) == the value cv::threshold(THRESH_OTSU) returns, exactly;
//   multi_otsu3(hist)    == a brute force written here that evaluates the between-class
//       variance sum_k w_k (mu_k - mu)^2 for every t1 < t2 straight from the pixels (or, for
//       big images, from per-value counts), first maximum in (t1, t2) order.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "features/thresholds.hpp"
#include "support.hpp"

namespace hemolens::test {
namespace {


using Hist = std::array<std::uint32_t, 256>;

Hist hist_of(const cv::Mat& m) {
  Hist h{};
  for (int y = 0; y < m.rows; ++y)
    for (int x = 0; x < m.cols; ++x) ++h[m.at<std::uint8_t>(y, x)];
  return h;
}

int opencv_otsu(const cv::Mat& m) {
  cv::Mat dst;
  const double t = cv::threshold(m, dst, 0, 255, cv::THRESH_BINARY | cv::THRESH_OTSU);
  EXPECT_EQ(t, double(int(t))) << "OpenCV's 8-bit Otsu threshold is an integer";
  return int(t);
}

// Pixels drawn from a mixture of normal clusters (mean, sd, weight), clamped to 0..255.
cv::Mat clustered(int h, int w, const std::vector<std::array<double, 3>>& clusters, std::mt19937& rng) {
  std::vector<double> weights;
  for (const auto& c : clusters) weights.push_back(c[2]);
  std::discrete_distribution<int> pick(weights.begin(), weights.end());
  cv::Mat m(h, w, CV_8UC1);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const auto& c = clusters[std::size_t(pick(rng))];
      std::normal_distribution<double> nd(c[0], c[1]);
      m.at<std::uint8_t>(y, x) = std::uint8_t(std::clamp(std::lround(nd(rng)), 0L, 255L));
    }
  return m;
}

struct Pair {
  int low = 0, high = 0;
};

// Brute force over the pixels themselves: class counts and means recomputed for each pair.
Pair brute_multi_otsu_pixels(const cv::Mat& m) {
  std::vector<int> px(m.begin<std::uint8_t>(), m.end<std::uint8_t>());
  const double n = double(px.size());
  double mu = 0;
  for (int v : px) mu += v;
  mu /= n;
  Pair best;
  double best_var = -1;
  for (int t1 = 0; t1 < 255; ++t1)
    for (int t2 = t1 + 1; t2 < 256; ++t2) {
      double cnt[3] = {0, 0, 0}, sum[3] = {0, 0, 0};
      for (int v : px) {
        const int k = v <= t1 ? 0 : v <= t2 ? 1 : 2;
        cnt[k] += 1;
        sum[k] += v;
      }
      double var = 0;
      for (int k = 0; k < 3; ++k)
        if (cnt[k] > 0) var += (cnt[k] / n) * (sum[k] / cnt[k] - mu) * (sum[k] / cnt[k] - mu);
      if (var > best_var) {
        best_var = var;
        best = {t1, t2};
      }
    }
  return best;
}

// The same, summing over grey values (weighted by their counts) for large images.
Pair brute_multi_otsu_values(const Hist& h) {
  double n = 0, mu = 0;
  for (int v = 0; v < 256; ++v) n += h[std::size_t(v)], mu += double(v) * h[std::size_t(v)];
  mu /= n;
  Pair best;
  double best_var = -1;
  for (int t1 = 0; t1 < 255; ++t1)
    for (int t2 = t1 + 1; t2 < 256; ++t2) {
      double cnt[3] = {0, 0, 0}, sum[3] = {0, 0, 0};
      for (int v = 0; v < 256; ++v) {
        const int k = v <= t1 ? 0 : v <= t2 ? 1 : 2;
        cnt[k] += h[std::size_t(v)];
        sum[k] += double(v) * h[std::size_t(v)];
      }
      double var = 0;
      for (int k = 0; k < 3; ++k)
        if (cnt[k] > 0) var += (cnt[k] / n) * (sum[k] / cnt[k] - mu) * (sum[k] / cnt[k] - mu);
      if (var > best_var) {
        best_var = var;
        best = {t1, t2};
      }
    }
  return best;
}

}  // namespace

TEST(OtsuThreshold, MatchesOpenCvOnRandomImages) {
  std::mt19937 rng(2024);
  for (int i = 0; i < 8; ++i) {
    const Plane8 p = random_plane(37 + 11 * i, 41 + 7 * i, rng);
    const cv::Mat m = to_mat(p);
    EXPECT_EQ(features::otsu_threshold(hist_of(m).data()), opencv_otsu(m)) << "uniform noise #" << i;
  }
  const std::vector<std::vector<std::array<double, 3>>> mixtures = {
      {{60, 12, 1}, {190, 20, 2}},
      {{30, 5, 5}, {120, 30, 1}},
      {{100, 40, 1}, {140, 40, 1}},
      {{20, 8, 1}, {110, 10, 1}, {220, 6, 1}},
      {{250, 3, 10}, {5, 3, 1}},
  };
  for (std::size_t k = 0; k < mixtures.size(); ++k) {
    const cv::Mat m = clustered(64, 80, mixtures[k], rng);
    EXPECT_EQ(features::otsu_threshold(hist_of(m).data()), opencv_otsu(m)) << "mixture #" << k;
  }
}

TEST(OtsuThreshold, DegenerateImages) {
  // Constant image: no split has both classes, OpenCV and hemolens return 0.
  for (int v : {0, 77, 255}) {
    const cv::Mat m(20, 30, CV_8UC1, cv::Scalar(v));
    EXPECT_EQ(features::otsu_threshold(hist_of(m).data()), opencv_otsu(m)) << "constant " << v;
    EXPECT_EQ(features::otsu_threshold(hist_of(m).data()), 0);
  }
  // Two values a < b: every t in [a, b) separates them equally well; the first wins.
  for (const auto& [a, b, na] : {std::array{10, 200, 300}, std::array{0, 255, 1}, std::array{100, 101, 450}, std::array{3, 90, 599}}) {
    cv::Mat m(20, 30, CV_8UC1, cv::Scalar(b));
    for (int i = 0; i < na; ++i) m.at<std::uint8_t>(i / 30, i % 30) = std::uint8_t(a);
    EXPECT_EQ(features::otsu_threshold(hist_of(m).data()), opencv_otsu(m)) << a << "/" << b;
    EXPECT_EQ(features::otsu_threshold(hist_of(m).data()), a) << a << "/" << b;
  }
  // Empty histogram.
  const Hist empty{};
  EXPECT_EQ(features::otsu_threshold(empty.data()), 0);
}

TEST(OtsuThreshold, MatchesOpenCvOnSampleImages) {
  const auto files = sample_jpegs();
  if (files.empty()) GTEST_SKIP() << "no *.jpg under " << sample_dir();
  for (const auto& f : files) {
    const cv::Mat bgr = cv::imread(f.string(), cv::IMREAD_COLOR);
    ASSERT_FALSE(bgr.empty()) << f;
    cv::Mat ch[3], stain;
    cv::split(bgr, ch);
    cv::subtract(ch[0], ch[1], stain);  // saturating max(B - G, 0), the stain channel
    for (const auto& [name, m] : {std::pair{"green", ch[1]}, std::pair{"red", ch[2]}, std::pair{"stain", stain}})
      EXPECT_EQ(features::otsu_threshold(hist_of(m).data()), opencv_otsu(m)) << f.filename() << " " << name;
  }
}

TEST(MultiOtsu3, MatchesBruteForceOnClusteredImages) {
  std::mt19937 rng(31337);
  const std::vector<std::vector<std::array<double, 3>>> mixtures = {
      {{40, 8, 1}, {120, 10, 1}, {210, 9, 1}},
      {{15, 4, 6}, {70, 15, 2}, {180, 20, 1}},
      {{90, 25, 3}, {150, 10, 1}, {235, 5, 1}},
      {{0, 2, 1}, {128, 2, 1}, {255, 2, 1}},
      {{60, 30, 1}, {190, 30, 1}},
  };
  for (std::size_t k = 0; k < mixtures.size(); ++k) {
    const cv::Mat m = clustered(24, 30, mixtures[k], rng);
    const Pair want = brute_multi_otsu_pixels(m);
    const features::TwoThresholds got = features::multi_otsu3(hist_of(m).data());
    EXPECT_EQ(got.low, want.low) << "mixture #" << k;
    EXPECT_EQ(got.high, want.high) << "mixture #" << k;
    EXPECT_LT(got.low, got.high);
  }
}

TEST(MultiOtsu3, DegenerateImages) {
  // Three grey values: the classes must be exactly those values; the first pair wins.
  cv::Mat m(10, 30, CV_8UC1);
  for (int x = 0; x < 30; ++x)
    for (int y = 0; y < 10; ++y) m.at<std::uint8_t>(y, x) = x < 10 ? 20 : x < 20 ? 100 : 200;
  features::TwoThresholds t = features::multi_otsu3(hist_of(m).data());
  EXPECT_EQ(t.low, 20);
  EXPECT_EQ(t.high, 100);
  const Pair b = brute_multi_otsu_pixels(m);
  EXPECT_EQ(b.low, 20);
  EXPECT_EQ(b.high, 100);
  // Constant image: every split scores the same, the very first pair (0, 1) wins.
  const cv::Mat c(10, 10, CV_8UC1, cv::Scalar(90));
  t = features::multi_otsu3(hist_of(c).data());
  const Pair bc = brute_multi_otsu_pixels(c);
  EXPECT_EQ(t.low, bc.low);
  EXPECT_EQ(t.high, bc.high);
  EXPECT_EQ(t.low, 0);
  EXPECT_EQ(t.high, 1);
}

TEST(MultiOtsu3, MatchesBruteForceOnSampleImages) {
  const auto files = sample_jpegs();
  if (files.empty()) GTEST_SKIP() << "no *.jpg under " << sample_dir();
  for (std::size_t i = 0; i < files.size(); i += 4) {
    const cv::Mat bgr = cv::imread(files[i].string(), cv::IMREAD_COLOR);
    ASSERT_FALSE(bgr.empty()) << files[i];
    cv::Mat ch[3], stain;
    cv::split(bgr, ch);
    cv::subtract(ch[0], ch[1], stain);
    for (const auto& [name, m] : {std::pair{"green", ch[1]}, std::pair{"stain", stain}}) {
      const Hist h = hist_of(m);
      const Pair want = brute_multi_otsu_values(h);
      const features::TwoThresholds got = features::multi_otsu3(h.data());
      EXPECT_EQ(got.low, want.low) << files[i].filename() << " " << name;
      EXPECT_EQ(got.high, want.high) << files[i].filename() << " " << name;
    }
  }
}

}  // namespace hemolens::test
