// Oracle tests for the colour kernels (src/cpu/color.*):
//   rgb_to_hsv over the whole RGB cube vs cv::cvtColor(COLOR_RGB2HSV): V identical, H and S
//       within one step (H circular, mod 180); the test prints how many values differ;
//   histogram vs cv::calcHist, threshold_above vs cv::threshold(THRESH_BINARY),
//   stain_channel vs cv::subtract (saturating B - G);
//   the opponent channels (features/pixel_channels.hpp): hand-computed primaries, and over
//       random colours they order pixels as Lab's a* and b* do (cv::cvtColor, COLOR_RGB2Lab);
//   white_balance vs its plain definition (brightest pixels found by sorting, mean, gains,
//       each value scaled one by one) on random and sample images.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <opencv2/imgproc.hpp>

#include "cpu/color.hpp"
#include "hemolens/decode.hpp"
#include "features/pixel_channels.hpp"
#include "support.hpp"

namespace hemolens::test {

TEST(RgbToHsv, WithinOneOfOpenCvOverTheWholeCube) {
  long h_diff = 0, s_diff = 0, v_diff = 0, total = 0, out_of_tolerance = 0;
  int worst_h = 0, worst_s = 0;
  cv::Mat rgb(256, 256, CV_8UC3), hsv;
  for (int r = 0; r < 256; ++r) {
    for (int g = 0; g < 256; ++g)
      for (int b = 0; b < 256; ++b) rgb.at<cv::Vec3b>(g, b) = cv::Vec3b(std::uint8_t(r), std::uint8_t(g), std::uint8_t(b));
    cv::cvtColor(rgb, hsv, cv::COLOR_RGB2HSV);
    for (int g = 0; g < 256; ++g)
      for (int b = 0; b < 256; ++b) {
        std::uint8_t h, s, v;
        cpu::rgb_to_hsv(std::uint8_t(r), std::uint8_t(g), std::uint8_t(b), h, s, v);
        const cv::Vec3b want = hsv.at<cv::Vec3b>(g, b);
        ++total;
        ASSERT_LT(h, 180) << "H out of range for RGB " << r << "," << g << "," << b;
        int dh = std::abs(int(h) - int(want[0]));
        dh = std::min(dh, 180 - dh);
        const int ds = std::abs(int(s) - int(want[1]));
        h_diff += dh != 0;
        s_diff += ds != 0;
        v_diff += v != want[2];
        worst_h = std::max(worst_h, dh);
        worst_s = std::max(worst_s, ds);
        if ((dh > 1 || ds > 1 || v != want[2]) && ++out_of_tolerance <= 20)  // report the first 20
          ADD_FAILURE() << "RGB " << r << "," << g << "," << b << ": hemolens HSV " << int(h) << "," << int(s) << ","
                        << int(v) << " vs OpenCV " << int(want[0]) << "," << int(want[1]) << "," << int(want[2]);
      }
  }
  std::printf("[   info   ] rgb_to_hsv vs cv::cvtColor over %ld RGB values: H differs in %ld (max %d), S in %ld (max %d), V in %ld\n",
              total, h_diff, worst_h, s_diff, worst_s, v_diff);
  RecordProperty("h_differs", std::to_string(h_diff));
  RecordProperty("s_differs", std::to_string(s_diff));
  EXPECT_EQ(out_of_tolerance, 0);
  EXPECT_EQ(v_diff, 0);
  EXPECT_LE(worst_h, 1);
  EXPECT_LE(worst_s, 1);
}

TEST(RgbToHsv, PrimariesAndGreys) {
  struct Case {
    std::uint8_t r, g, b, h, s, v;
  };
  // H in 2-degree steps: red 0, yellow 30, green 60, cyan 90, blue 120, magenta 150.
  const Case cases[] = {{255, 0, 0, 0, 255, 255},     {255, 255, 0, 30, 255, 255}, {0, 255, 0, 60, 255, 255},
                        {0, 255, 255, 90, 255, 255},  {0, 0, 255, 120, 255, 255},  {255, 0, 255, 150, 255, 255},
                        {0, 0, 0, 0, 0, 0},           {128, 128, 128, 0, 0, 128},  {255, 255, 255, 0, 0, 255},
                        {128, 0, 0, 0, 255, 128}};
  for (const Case& c : cases) {
    std::uint8_t h, s, v;
    cpu::rgb_to_hsv(c.r, c.g, c.b, h, s, v);
    EXPECT_EQ(int(h), int(c.h)) << int(c.r) << "," << int(c.g) << "," << int(c.b);
    EXPECT_EQ(int(s), int(c.s)) << int(c.r) << "," << int(c.g) << "," << int(c.b);
    EXPECT_EQ(int(v), int(c.v)) << int(c.r) << "," << int(c.g) << "," << int(c.b);
  }
}

TEST(OpponentChannels, PrimariesAndGreys) {
  struct Case {
    std::uint8_t r, g, b, rg, yb;
  };
  // rg = (r - g + 256) / 2, yb = (r + g - 2b + 512) / 4, worked out by hand.
  const Case cases[] = {{0, 0, 0, 128, 128},     {128, 128, 128, 128, 128}, {255, 255, 255, 128, 128},
                        {255, 0, 0, 255, 191},   {0, 255, 0, 0, 191},       {0, 0, 255, 128, 0},
                        {255, 255, 0, 128, 255}, {200, 150, 230, 153, 100}};
  for (const Case& c : cases) {
    std::uint8_t v[features::kChannels];
    features::pixel_channels(c.r, c.g, c.b, v);
    EXPECT_EQ(int(v[features::kRG]), int(c.rg)) << int(c.r) << "," << int(c.g) << "," << int(c.b);
    EXPECT_EQ(int(v[features::kYB]), int(c.yb)) << int(c.r) << "," << int(c.g) << "," << int(c.b);
    EXPECT_EQ(int(v[features::kR]), int(c.r));
    EXPECT_EQ(int(v[features::kB]), int(c.b));
  }
}

// Pearson correlation of two equally long series.
double correlation(const std::vector<double>& a, const std::vector<double>& b) {
  const double n = double(a.size());
  double ma = 0, mb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) ma += a[i] / n, mb += b[i] / n;
  double sab = 0, saa = 0, sbb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) * (a[i] - ma);
    sbb += (b[i] - mb) * (b[i] - mb);
  }
  return sab / std::sqrt(saa * sbb);
}

TEST(OpponentChannels, FollowLabOpponentAxes) {
  // The opponent channels stand in for Lab's a* (red-green) and b* (yellow-blue): over random
  // colours they must rise and fall with them, and far more than with lightness.
  std::mt19937 rng(29);
  std::uniform_int_distribution<int> u(0, 255);
  cv::Mat rgb(1, 4000, CV_8UC3), lab;
  for (int i = 0; i < rgb.cols; ++i) rgb.at<cv::Vec3b>(0, i) = cv::Vec3b(std::uint8_t(u(rng)), std::uint8_t(u(rng)), std::uint8_t(u(rng)));
  cv::cvtColor(rgb, lab, cv::COLOR_RGB2Lab);
  std::vector<double> rg, yb, a, b, l;
  for (int i = 0; i < rgb.cols; ++i) {
    const cv::Vec3b p = rgb.at<cv::Vec3b>(0, i), q = lab.at<cv::Vec3b>(0, i);
    std::uint8_t v[features::kChannels];
    features::pixel_channels(p[0], p[1], p[2], v);
    rg.push_back(v[features::kRG]);
    yb.push_back(v[features::kYB]);
    l.push_back(q[0]);
    a.push_back(q[1]);
    b.push_back(q[2]);
  }
  const double rg_a = correlation(rg, a), yb_b = correlation(yb, b), rg_l = correlation(rg, l);
  std::printf("[   info   ] correlation over 4000 random colours: rg~a* %.3f, yb~b* %.3f, rg~L* %.3f\n", rg_a, yb_b, rg_l);
  EXPECT_GT(rg_a, 0.8);
  EXPECT_GT(yb_b, 0.8);
  EXPECT_GT(rg_a - std::abs(rg_l), 0.3);  // red-green, much more than light-dark
}

TEST(ColorHistogram, MatchesCalcHistWithAndWithoutMask) {
  std::mt19937 rng(17);
  for (const auto& [h, w] : {std::pair{1, 1}, std::pair{7, 3}, std::pair{64, 80}}) {
    const Plane8 p = random_plane(h, w, rng);
    const Plane8 m = random_mask(h, w, 0.4, rng);
    for (bool masked : {false, true}) {
      std::uint32_t ours[256];
      cpu::histogram(p, masked ? &m : nullptr, ours);
      cv::Mat src = to_mat(p), mask = masked ? to_mat(m) : cv::Mat(), hist;
      const int channels[] = {0}, sizes[] = {256};
      const float range[] = {0, 256};
      const float* ranges[] = {range};
      cv::calcHist(&src, 1, channels, mask, hist, 1, sizes, ranges);
      for (int i = 0; i < 256; ++i) ASSERT_EQ(double(ours[i]), double(hist.at<float>(i))) << "bin " << i << " masked " << masked;
    }
  }
}

TEST(ThresholdAbove, MatchesCvThreshold) {
  std::mt19937 rng(18);
  const Plane8 p = random_plane(33, 47, rng);
  for (int t : {-300, -1, 0, 1, 100, 254, 255, 256, 300}) {
    const Plane8 ours = cpu::threshold_above(p, t);
    cv::Mat theirs;
    cv::threshold(to_mat(p), theirs, t, 1, cv::THRESH_BINARY);
    EXPECT_EQ(ours.data, from_mat(theirs).data) << "t=" << t;
  }
}

TEST(StainChannel, IsSaturatingBlueMinusGreen) {
  std::mt19937 rng(19);
  cpu::BalancedRgb rgb;
  rgb.r = random_plane(20, 30, rng);
  rgb.g = random_plane(20, 30, rng);
  rgb.b = random_plane(20, 30, rng);
  cv::Mat want;
  cv::subtract(to_mat(rgb.b), to_mat(rgb.g), want);
  EXPECT_EQ(cpu::stain_channel(rgb).data, from_mat(want).data);
}

namespace {

// White balance as its definition reads: the background level is the highest brightness t
// (R+G+B) with at least `fraction` of the pixels at or above it (all pixels when there is
// none); the background colour is the rounded mean of those pixels; each channel's gain is
// target / background with 8 fractional bits; every value is scaled, rounded and saturated.
cpu::BalancedRgb reference_white_balance(const RgbView& img, double fraction, int target) {
  const std::size_t n = img.pixels();
  std::vector<int> bright(n);
  for (std::size_t i = 0; i < n; ++i) bright[i] = img.data[3 * i] + img.data[3 * i + 1] + img.data[3 * i + 2];
  std::vector<int> sorted = bright;
  std::sort(sorted.begin(), sorted.end());
  auto at_or_above = [&](int t) { return double(sorted.end() - std::lower_bound(sorted.begin(), sorted.end(), t)); };
  int t = 0;
  for (int level = 765; level >= 0; --level)
    if (at_or_above(level) >= fraction * double(n)) {
      t = level;
      break;
    }
  cpu::BalancedRgb out;
  std::int64_t sum[3] = {0, 0, 0}, count = 0;
  for (std::size_t i = 0; i < n; ++i)
    if (bright[i] >= t) {
      ++count;
      for (int c = 0; c < 3; ++c) sum[c] += img.data[3 * i + std::size_t(c)];
    }
  Plane8* planes[3] = {&out.r, &out.g, &out.b};
  for (int c = 0; c < 3; ++c) {
    const int bg = count ? int((sum[c] + count / 2) / count) : 255;
    out.background[std::size_t(c)] = bg;
    const int gain = (target * 256 + std::max(bg, 1) / 2) / std::max(bg, 1);
    *planes[c] = Plane8(img.height, img.width);
    for (std::size_t i = 0; i < n; ++i) planes[c]->data[i] = std::uint8_t(std::min(255, (img.data[3 * i + std::size_t(c)] * gain + 128) >> 8));
  }
  return out;
}

void expect_same_balance(const RgbView& img, double fraction, int target, const std::string& what) {
  const cpu::BalancedRgb ours = cpu::white_balance(img, fraction, target);
  const cpu::BalancedRgb want = reference_white_balance(img, fraction, target);
  EXPECT_EQ(ours.background, want.background) << what;
  EXPECT_EQ(ours.r.data, want.r.data) << what;
  EXPECT_EQ(ours.g.data, want.g.data) << what;
  EXPECT_EQ(ours.b.data, want.b.data) << what;
}

}  // namespace

TEST(WhiteBalance, EqualsItsDefinitionOnRandomImages) {
  std::mt19937 rng(23);
  // Odd pixel counts (pixels are taken two at a time), a dark image whose gains pass 2^16
  // with a target above 255 (the scaling's 32-bit path), fractions at and beyond the ends.
  for (const auto& [h, w] : {std::pair{1, 1}, std::pair{1, 3}, std::pair{7, 5}, std::pair{40, 63}})
    for (const int top : {2, 60, 255}) {
      std::vector<std::uint8_t> rgb(std::size_t(h) * std::size_t(w) * 3);
      std::uniform_int_distribution<int> v(0, top);
      for (auto& x : rgb) x = std::uint8_t(v(rng));
      const RgbView img{rgb.data(), h, w};
      for (const double fraction : {0.0, 0.1, 0.25, 0.5, 1.0, 1.5})
        for (const int target : {224, 255, 300})
          expect_same_balance(img, fraction, target,
                              std::to_string(h) + "x" + std::to_string(w) + " values 0.." + std::to_string(top) + " fraction " +
                                  std::to_string(fraction) + " target " + std::to_string(target));
    }
}

TEST(WhiteBalance, EqualsItsDefinitionOnSampleImages) {
  const auto files = sample_jpegs();
  ASSERT_FALSE(files.empty());
  for (std::size_t i = 0; i < files.size(); i += 7) {
    const DecodeResult r = decode_file(files[i], {});
    ASSERT_TRUE(r.image) << files[i];
    expect_same_balance({r.image->rgb.data(), r.image->height, r.image->width}, 0.25, 224, files[i].string());
  }
}

}  // namespace hemolens::test
