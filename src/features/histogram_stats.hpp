// Statistics of a 256-bin histogram: mean, standard deviation, percentiles, and the
// circular mean of hue. Empty histograms give 0 (defined values, never NaN).
#pragma once
#include <cmath>
#include <cstdint>

#include "features/hd.hpp"

namespace hemolens::features {

HL_HD inline double hist_total(const std::uint32_t* h, int bins) {
  double n = 0;
  for (int i = 0; i < bins; ++i) n += h[i];
  return n;
}

HL_HD inline double hist_mean(const std::uint32_t* h, int bins) {
  double n = 0, s = 0;
  for (int i = 0; i < bins; ++i) { n += h[i]; s += double(h[i]) * i; }
  return n > 0 ? s / n : 0.0;
}

HL_HD inline double hist_std(const std::uint32_t* h, int bins) {
  const double m = hist_mean(h, bins);
  double n = 0, s = 0;
  for (int i = 0; i < bins; ++i) { n += h[i]; s += double(h[i]) * (i - m) * (i - m); }
  return n > 0 ? sqrt(s / n) : 0.0;
}

// The smallest value v with at least q of the mass at or below v (q in [0,1]).
HL_HD inline double hist_percentile(const std::uint32_t* h, int bins, double q) {
  const double n = hist_total(h, bins);
  if (n <= 0) return 0.0;
  const double target = q * n;
  double c = 0;
  for (int i = 0; i < bins; ++i) {
    c += h[i];
    if (c >= target && c > 0) return i;
  }
  return bins - 1;
}

struct CircularStats {
  double cos_mean = 0, sin_mean = 0, concentration = 0;
};

// Hue is an angle: the circular mean direction (as cos, sin) and the mean resultant length.
HL_HD inline CircularStats hue_circular(const std::uint32_t* h, int bins, double degrees_per_bin) {
  CircularStats r;
  double n = 0, c = 0, s = 0;
  const double k = degrees_per_bin * 3.14159265358979323846 / 180.0;
  for (int i = 0; i < bins; ++i) {
    if (!h[i]) continue;
    n += h[i];
    c += h[i] * cos(k * i);
    s += h[i] * sin(k * i);
  }
  if (n <= 0) return r;
  const double len = sqrt(c * c + s * s);
  r.concentration = len / n;
  if (len > 1e-12) { r.cos_mean = c / len; r.sin_mean = s / len; }
  return r;
}

}  // namespace hemolens::features
