// Moments of a binary mask: central and scale-normalised moments, Hu's seven invariants,
// and the ellipse with the same second moments. The formulas follow cv::moments and
// cv::HuMoments (the test oracle); inputs are the exact integer raw moments.
#pragma once
#include <cmath>

#include "features/accumulators.hpp"
#include "features/hd.hpp"

namespace hemolens::features {

struct CentralMoments {
  double m00 = 0, cx = 0, cy = 0;
  double mu20 = 0, mu11 = 0, mu02 = 0, mu30 = 0, mu21 = 0, mu12 = 0, mu03 = 0;
  double nu20 = 0, nu11 = 0, nu02 = 0, nu30 = 0, nu21 = 0, nu12 = 0, nu03 = 0;
};

HL_HD inline CentralMoments central_moments(const MaskMoments& m) {
  CentralMoments c;
  c.m00 = double(m.m00);
  if (m.m00 == 0) return c;
  const double inv = 1.0 / c.m00;
  const double cx = m.m10 * inv, cy = m.m01 * inv;
  c.cx = cx;
  c.cy = cy;
  c.mu20 = m.m20 - m.m10 * cx;
  c.mu11 = m.m11 - m.m10 * cy;
  c.mu02 = m.m02 - m.m01 * cy;
  c.mu30 = m.m30 - cx * (3 * c.mu20 + cx * m.m10);
  c.mu21 = m.m21 - cx * (2 * c.mu11 + cx * m.m01) - cy * c.mu20;
  c.mu12 = m.m12 - cy * (2 * c.mu11 + cy * m.m10) - cx * c.mu02;
  c.mu03 = m.m03 - cy * (3 * c.mu02 + cy * m.m01);
  const double s2 = inv * inv, s3 = s2 * sqrt(fabs(inv));
  c.nu20 = c.mu20 * s2;
  c.nu11 = c.mu11 * s2;
  c.nu02 = c.mu02 * s2;
  c.nu30 = c.mu30 * s3;
  c.nu21 = c.mu21 * s3;
  c.nu12 = c.mu12 * s3;
  c.nu03 = c.mu03 * s3;
  return c;
}

HL_HD inline void hu_moments(const CentralMoments& c, double hu[7]) {
  const double t0 = c.nu30 + c.nu12, t1 = c.nu21 + c.nu03;
  const double q0 = t0 * t0, q1 = t1 * t1;
  const double n4 = 4 * c.nu11;
  const double s = c.nu20 + c.nu02, d = c.nu20 - c.nu02;
  hu[0] = s;
  hu[1] = d * d + n4 * c.nu11;
  hu[3] = q0 + q1;
  hu[5] = d * (q0 - q1) + n4 * t0 * t1;
  const double a0 = c.nu30 - 3 * c.nu12, a1 = 3 * c.nu21 - c.nu03;
  hu[2] = a0 * a0 + a1 * a1;
  hu[4] = a0 * t0 * (q0 - 3 * q1) + a1 * t1 * (3 * q0 - q1);
  hu[6] = a1 * t0 * (q0 - 3 * q1) - a0 * t1 * (3 * q0 - q1);
}

// Hu invariants span many orders of magnitude: features use -sign(h) log10 |h|, 0 for h = 0.
HL_HD inline double log_hu(double h) {
  if (h == 0 || !(fabs(h) > 1e-300)) return 0.0;
  return h > 0 ? -log10(h) : log10(-h);
}

struct Ellipse {
  double major = 0, minor = 0, eccentricity = 0;
};

// The ellipse with the mask's second moments (as scikit-image's regionprops: axis = 4 sqrt(lambda)).
HL_HD inline Ellipse moment_ellipse(const CentralMoments& c) {
  Ellipse e;
  if (c.m00 <= 0) return e;
  const double a = c.mu20 / c.m00, b = c.mu11 / c.m00, d = c.mu02 / c.m00;
  const double root = sqrt(fmax(0.0, (a - d) * (a - d) + 4 * b * b));
  const double l1 = fmax(0.0, (a + d + root) / 2), l2 = fmax(0.0, (a + d - root) / 2);
  e.major = 4 * sqrt(l1);
  e.minor = 4 * sqrt(l2);
  e.eccentricity = l1 > 0 ? sqrt(fmax(0.0, 1 - l2 / l1)) : 0.0;
  return e;
}

}  // namespace hemolens::features
