// Haralick features of one grey-level co-occurrence matrix (GLCM), from its raw counts.
// The matrix is symmetric and already summed over the four directions, which makes the
// features rotation invariant to the extent a pixel grid allows.
#pragma once
#include <cmath>
#include <cstdint>

#include "features/hd.hpp"

namespace hemolens::features {

struct Haralick {
  double contrast = 0, dissimilarity = 0, homogeneity = 0, energy = 0, entropy = 0, correlation = 0,
         max_probability = 0;
};

// counts: levels x levels, row-major. An empty matrix gives all zeros; a matrix of one grey
// level (zero variance) has correlation 1, as in scikit-image.
HL_HD inline Haralick haralick(const std::uint32_t* counts, int levels) {
  Haralick f;
  double n = 0;
  for (int k = 0; k < levels * levels; ++k) n += counts[k];
  if (n <= 0) return f;
  double mean_i = 0, mean_j = 0;
  for (int i = 0; i < levels; ++i)
    for (int j = 0; j < levels; ++j) {
      const double p = counts[i * levels + j] / n;
      mean_i += i * p;
      mean_j += j * p;
    }
  double var_i = 0, var_j = 0, cov = 0, asm_ = 0;
  for (int i = 0; i < levels; ++i)
    for (int j = 0; j < levels; ++j) {
      const std::uint32_t c = counts[i * levels + j];
      if (!c) continue;
      const double p = c / n;
      const double d = double(i - j);
      f.contrast += d * d * p;
      f.dissimilarity += fabs(d) * p;
      f.homogeneity += p / (1.0 + d * d);
      asm_ += p * p;
      f.entropy -= p * log2(p);
      var_i += (i - mean_i) * (i - mean_i) * p;
      var_j += (j - mean_j) * (j - mean_j) * p;
      cov += (i - mean_i) * (j - mean_j) * p;
      if (p > f.max_probability) f.max_probability = p;
    }
  f.energy = sqrt(asm_);
  const double denom = sqrt(var_i * var_j);
  f.correlation = denom > 1e-15 ? cov / denom : 1.0;
  return f;
}

}  // namespace hemolens::features
