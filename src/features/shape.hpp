// Shape measures from exact integer accumulators: convex hull area from per-row extents,
// perimeter from pixel-edge counts, local binary pattern codes.
#pragma once
#include <cmath>
#include <cstdint>

#include "features/hd.hpp"

namespace hemolens::features {

struct HullPoint {
  std::int64_t x, y;
};

HL_HD inline std::int64_t cross(const HullPoint& o, const HullPoint& a, const HullPoint& b) {
  return (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x);
}

// Twice the area of the convex hull of a mask's pixel squares, from its row extents.
// rows: number of rows in the bounding box; row_min[r] / row_max[r] are the leftmost and
// rightmost mask column in row min_y + r, or row_min[r] > row_max[r] for an empty row.
// `points` and `hull` are caller scratch of 2 * (rows + 1) and 4 * (rows + 1) + 1 entries.
// Each horizontal grid line y contributes its leftmost and rightmost corner, already in
// (y, x) order, so Andrew's monotone chain runs without sorting.
HL_HD inline std::int64_t hull_area2_from_rows(const int* row_min, const int* row_max, int rows, int min_y,
                                               HullPoint* points, HullPoint* hull, double* perimeter = nullptr) {
  int n = 0;
  for (int level = 0; level <= rows; ++level) {  // grid line between row level-1 and level
    int lo = 0x7fffffff, hi = -1;
    for (int r = level - 1; r <= level; ++r) {
      if (r < 0 || r >= rows || row_min[r] > row_max[r]) continue;
      lo = row_min[r] < lo ? row_min[r] : lo;
      hi = row_max[r] + 1 > hi ? row_max[r] + 1 : hi;
    }
    if (hi < 0) continue;
    points[n++] = {lo, std::int64_t(min_y) + level};
    if (hi != lo) points[n++] = {hi, std::int64_t(min_y) + level};
  }
  if (n < 3) return 0;
  int k = 0;
  for (int i = 0; i < n; ++i) {
    while (k >= 2 && cross(hull[k - 2], hull[k - 1], points[i]) <= 0) --k;
    hull[k++] = points[i];
  }
  for (int i = n - 2, t = k + 1; i >= 0; --i) {
    while (k >= t && cross(hull[k - 2], hull[k - 1], points[i]) <= 0) --k;
    hull[k++] = points[i];
  }
  std::int64_t area2 = 0;
  double length = 0;
  for (int i = 0; i + 1 < k; ++i) {
    area2 += hull[i].x * hull[i + 1].y - hull[i + 1].x * hull[i].y;
    const double dx = double(hull[i + 1].x - hull[i].x), dy = double(hull[i + 1].y - hull[i].y);
    length += sqrt(dx * dx + dy * dy);
  }
  if (perimeter) *perimeter = length;
  return area2 < 0 ? -area2 : area2;
}

// Perimeter from the count of pixel edges between mask and background. On a digital grid
// the edge count of a convex shape is its city-block length; pi/4 is the mean ratio of
// Euclidean to city-block length over all orientations (Cauchy-Crofton), so the estimate
// does not depend on how the cell happens to be rotated.
HL_HD inline double perimeter_from_edges(std::int64_t edges) { return double(edges) * 0.78539816339744830962; }

// Uniform rotation-invariant LBP (riu2, Ojala et al. 2002) of an 8-bit neighbour pattern:
// the number of set bits when the circular pattern has at most two 0/1 transitions, else 9.
HL_HD inline int lbp_riu2(unsigned pattern) {
  int transitions = 0, ones = 0;
  for (int i = 0; i < 8; ++i) {
    const unsigned a = (pattern >> i) & 1u, b = (pattern >> ((i + 1) & 7)) & 1u;
    transitions += a != b;
    ones += int(a);
  }
  return transitions <= 2 ? ones : 9;
}

}  // namespace hemolens::features
