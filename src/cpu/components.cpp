// Run-based labelling: a row's runs of set pixels are the units of the union-find, so a
// blob costs a few operations per run instead of per pixel. Runs are numbered in raster
// order and a set's root is its smallest run, so roots in increasing order give the
// canonical labels (raster order of each component's first pixel).
#include "cpu/components.hpp"

#include <algorithm>
#include <stdexcept>

#include "cpu/runs.hpp"

namespace hemolens::cpu {
namespace {

struct Run {
  int y, x0, x1;  // inclusive
};

// Runs of pixels whose "set" state equals `value`, in raster order; row_begin[y] is the
// first run of row y (size h + 1).
void find_runs(const Plane8& mask, bool value, std::vector<Run>& runs, std::vector<int>& row_begin) {
  const int h = mask.height, w = mask.width;
  runs.clear();
  row_begin.assign(std::size_t(h) + 1, 0);
  for (int y = 0; y < h; ++y) {
    row_begin[std::size_t(y)] = int(runs.size());
    const std::uint8_t* row = &mask.data[std::size_t(y) * w];
    for (int x = 0; x < w;) {
      x = skip_while(row, x, w, !value);
      if (x >= w) break;
      const int x0 = x;
      x = skip_while(row, x, w, value);
      runs.push_back({y, x0, x - 1});
    }
  }
  row_begin[std::size_t(h)] = int(runs.size());
}

int find_root(std::vector<int>& parent, int a) {
  while (parent[std::size_t(a)] != a) {
    parent[std::size_t(a)] = parent[std::size_t(parent[std::size_t(a)])];
    a = parent[std::size_t(a)];
  }
  return a;
}

void unite(std::vector<int>& parent, int a, int b) {
  a = find_root(parent, a);
  b = find_root(parent, b);
  if (a < b) parent[std::size_t(b)] = a;
  else if (b < a) parent[std::size_t(a)] = b;
}

// Unites each run with the runs of the row above that touch it: overlapping columns for
// 4-connectivity, overlapping or diagonally adjacent for 8-connectivity.
std::vector<int> connect_runs(const std::vector<Run>& runs, const std::vector<int>& row_begin, int connectivity) {
  std::vector<int> parent(runs.size());
  for (std::size_t i = 0; i < parent.size(); ++i) parent[i] = int(i);
  const int reach = connectivity == 8 ? 1 : 0;
  for (std::size_t y = 1; y + 1 < row_begin.size(); ++y) {
    int i = row_begin[y - 1];
    const int prev_end = row_begin[y];
    for (int j = row_begin[y]; j < row_begin[y + 1]; ++j) {
      const Run& c = runs[std::size_t(j)];
      while (i < prev_end && runs[std::size_t(i)].x1 < c.x0 - reach) ++i;
      for (int k = i; k < prev_end && runs[std::size_t(k)].x0 <= c.x1 + reach; ++k) unite(parent, j, k);
    }
  }
  return parent;
}

// The components' statistics, and their labels written to `labels` when given.
std::vector<ComponentStats> components(const Plane8& mask, int connectivity, Plane32* labels) {
  if (connectivity != 4 && connectivity != 8) throw std::invalid_argument("connectivity must be 4 or 8");
  std::vector<Run> runs;
  std::vector<int> row_begin;
  find_runs(mask, true, runs, row_begin);
  std::vector<int> parent = connect_runs(runs, row_begin, connectivity);

  std::vector<int> label_of(runs.size(), 0);
  std::vector<ComponentStats> stats(1);
  if (labels) *labels = Plane32(mask.height, mask.width, 0);
  for (std::size_t r = 0; r < runs.size(); ++r) {
    const int root = find_root(parent, int(r));
    if (root == int(r)) {
      label_of[r] = int(stats.size());
      stats.emplace_back();
    } else {
      label_of[r] = label_of[std::size_t(root)];
    }
    const Run& run = runs[r];
    const int l = label_of[r];
    ComponentStats& s = stats[std::size_t(l)];
    const std::int64_t len = run.x1 - run.x0 + 1;
    if (s.area == 0) {
      s.min_x = run.x0;
      s.max_x = run.x1;
      s.min_y = run.y;
    }
    s.area += len;
    s.sum_x += (std::int64_t(run.x0) + run.x1) * len / 2;
    s.sum_y += std::int64_t(run.y) * len;
    s.min_x = std::min(s.min_x, run.x0);
    s.max_x = std::max(s.max_x, run.x1);
    s.max_y = run.y;
    if (labels) std::fill_n(&labels->data[std::size_t(run.y) * mask.width + run.x0], len, l);
  }
  return stats;
}

}  // namespace

std::vector<ComponentStats> label_components(const Plane8& mask, int connectivity, Plane32& labels) {
  return components(mask, connectivity, &labels);
}

std::vector<ComponentStats> component_stats(const Plane8& mask, int connectivity) { return components(mask, connectivity, nullptr); }

void fill_holes(const Plane8& mask, Plane8& out) {
  const int h = mask.height, w = mask.width;
  std::vector<Run> runs;
  std::vector<int> row_begin;
  find_runs(mask, false, runs, row_begin);  // background runs, 4-connected
  std::vector<int> parent = connect_runs(runs, row_begin, 4);
  std::vector<std::uint8_t> reaches_border(runs.size(), 0);
  for (std::size_t r = 0; r < runs.size(); ++r) {
    const Run& run = runs[r];
    if (run.y == 0 || run.y == h - 1 || run.x0 == 0 || run.x1 == w - 1) reaches_border[std::size_t(find_root(parent, int(r)))] = 1;
  }
  out = mask;
  for (auto& v : out.data) v = v != 0;
  for (std::size_t r = 0; r < runs.size(); ++r)
    if (!reaches_border[std::size_t(find_root(parent, int(r)))])
      std::fill_n(&out.data[std::size_t(runs[r].y) * w + runs[r].x0], runs[r].x1 - runs[r].x0 + 1, std::uint8_t(1));
}

}  // namespace hemolens::cpu
