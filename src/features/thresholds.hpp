// Threshold selection from a 256-bin histogram, shared by both backends.
#pragma once
#include <cfloat>
#include <cstdint>

#include "features/hd.hpp"

namespace hemolens::features {

// Otsu's threshold, step for step as OpenCV's getThreshVal_Otsu_8u, so that the CPU
// backend can be checked against cv::threshold(THRESH_OTSU). Pixels > t are foreground.
HL_HD inline int otsu_threshold(const std::uint32_t* h) {
  double n = 0;
  for (int i = 0; i < 256; ++i) n += h[i];
  if (n <= 0) return 0;
  const double scale = 1.0 / n;
  double mu = 0;
  for (int i = 0; i < 256; ++i) mu += i * double(h[i]);
  mu *= scale;
  double mu1 = 0, q1 = 0, max_sigma = 0;
  int max_val = 0;
  for (int i = 0; i < 256; ++i) {
    const double p_i = h[i] * scale;
    mu1 *= q1;
    q1 += p_i;
    const double q2 = 1.0 - q1;
    const double lo = q1 < q2 ? q1 : q2, hi = q1 < q2 ? q2 : q1;
    if (lo < FLT_EPSILON || hi > 1.0 - FLT_EPSILON) continue;
    mu1 = (mu1 + i * p_i) / q1;
    const double mu2 = (mu - q1 * mu1) / q2;
    const double sigma = q1 * q2 * (mu1 - mu2) * (mu1 - mu2);
    if (sigma > max_sigma) {
      max_sigma = sigma;
      max_val = i;
    }
  }
  return max_val;
}

// Three-class Otsu: thresholds t1 < t2 maximising the between-class variance of the
// classes [0,t1], (t1,t2], (t2,255]. Exhaustive over all pairs (256^2/2 steps) with exact
// integer prefix sums; the first maximum in (t1, t2) order wins.
struct TwoThresholds {
  int low = 0, high = 0;
};

HL_HD inline TwoThresholds multi_otsu3(const std::uint32_t* h) {
  std::int64_t cnt[257], sum[257];
  cnt[0] = 0;
  sum[0] = 0;
  for (int i = 0; i < 256; ++i) {
    cnt[i + 1] = cnt[i] + h[i];
    sum[i + 1] = sum[i] + std::int64_t(h[i]) * i;
  }
  auto term = [&](int a, int b) -> double {  // values a..b-1
    const std::int64_t c = cnt[b] - cnt[a];
    if (c == 0) return 0.0;
    const double s = double(sum[b] - sum[a]);
    return s * s / double(c);
  };
  double upper[257];  // term of the top class (t2, 255], for each t2
  for (int t2 = 0; t2 < 256; ++t2) upper[t2] = term(t2 + 1, 256);
  TwoThresholds best;
  double best_v = -1.0;
  for (int t1 = 0; t1 < 255; ++t1) {
    const double v0 = term(0, t1 + 1);
    for (int t2 = t1 + 1; t2 < 256; ++t2) {
      const double v = v0 + term(t1 + 1, t2 + 1) + upper[t2];
      if (v > best_v) {
        best_v = v;
        best.low = t1;
        best.high = t2;
      }
    }
  }
  return best;
}

}  // namespace hemolens::features
