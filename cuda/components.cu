// Batched connected components and hole filling (cuda/components.hpp, cuda/stages.cuh). Each
// stage is one launch over the whole batch; union-find parents are indices within the pixel's
// image (cuda/union_find.cuh), so merges never cross images and stay 32-bit, and a scan of the
// roots over the batch (64-bit) numbers the labels of every image at once.
#include <algorithm>
#include <string>

#include "components.hpp"
#include "one_shot.cuh"
#include "union_find.cuh"

HEMOLENS_CUDA_BEGIN
namespace {

HL_HD inline bool in_set(std::uint8_t v, bool invert) { return (v != 0) != invert; }

struct InitParents {
  const std::uint8_t* mask;
  bool invert;
  std::int32_t* parent;
  HL_HD void operator()(const Pixel& px) const { parent[px.p] = in_set(mask[px.p], invert) ? px.local() : -1; }
};

struct Merge {
  const std::uint8_t* mask;
  bool invert;
  int connectivity;
  std::int32_t* parent;
  HL_HD void operator()(const Pixel& px) const {
    if (!in_set(mask[px.p], invert)) return;
    const std::uint64_t s = px.start();
    merge_pixel<DeviceAtomics>(parent + s, mask + s, invert, px.width, px.y, px.x, connectivity);
  }
};

// Every set pixel points at its root afterwards. Other threads' finds may read a pixel while it
// is rewritten: they see its old parent or its root, both ancestors on the same chain (atomic
// loads and stores, so the reads are never torn).
struct Flatten {
  const std::uint8_t* mask;
  bool invert;
  std::int32_t* parent;
  std::uint32_t* is_root;  // may be null
  HL_HD void operator()(const Pixel& px) const {
    if (!in_set(mask[px.p], invert)) return;
    std::int32_t* local = parent + px.start();
    const std::int32_t root = find_root<DeviceAtomics>(local, px.local());
    exec::atomic_store(local[px.local()], root);
    if (is_root) is_root[px.p] = root == px.local();
  }
};

// first_label[i] = roots before image i in the batch (the scan at its first pixel); the last
// entry is the batch's label count.
struct FirstLabels {
  const ImageInfo* image;
  std::size_t images, extent;
  const std::uint64_t* rank;
  std::uint64_t* first_label;
  HL_HD void operator()(std::size_t i) const { first_label[i] = rank[i < images ? image[i].offset : extent]; }
};

struct Labels {
  const std::uint8_t* mask;
  const std::int32_t* parent;
  const std::uint64_t* rank;
  std::int32_t* labels;
  HL_HD void operator()(const Pixel& px) const {
    const std::uint64_t s = px.start();
    labels[px.p] = mask[px.p] ? std::int32_t(rank[s + std::uint64_t(parent[px.p])] - rank[s] + 1) : 0;
  }
};

// Each root initialises its label's record (roots are unique, so no two threads write one).
struct InitStats {
  const std::uint8_t* mask;
  const std::int32_t* parent;
  const std::uint64_t* rank;
  LabelStats* stats;
  std::size_t capacity;
  std::uint32_t* overflow;
  HL_HD void operator()(const Pixel& px) const {
    if (!mask[px.p] || parent[px.p] != px.local()) return;
    const std::uint64_t k = rank[px.p];
    if (k < capacity) stats[k] = {0, 0, 0, 0x7fffffff, 0x7fffffff, -1, -1};
    else exec::atomic_store(*overflow, 1u);
  }
};

// One item per row adds each run of one label with one set of atomics, as the CPU adds runs.
// Sums, minima and maxima of integers commute, so the order of the atomics does not matter.
struct AddStats {
  const std::int32_t* labels;
  const std::uint64_t* first_label;
  LabelStats* stats;
  std::size_t capacity;
  HL_HD void operator()(const Row& row) const {
    const std::int32_t* in = labels + row.start;
    for (int x0 = 0; x0 < row.width;) {
      const std::int32_t label = in[x0];
      int x1 = x0;
      while (x1 + 1 < row.width && in[x1 + 1] == label) ++x1;
      const std::uint64_t k = label > 0 ? first_label[row.image] + std::uint64_t(label - 1) : capacity;
      if (k < capacity) {
        LabelStats& s = stats[k];
        const std::int64_t len = x1 - x0 + 1;
        exec::atomic_add(s.area, len);
        exec::atomic_add(s.sum_x, (std::int64_t(x0) + x1) * len / 2);
        exec::atomic_add(s.sum_y, std::int64_t(row.y) * len);
        exec::atomic_min(s.min_x, x0);
        exec::atomic_max(s.max_x, x1);
        exec::atomic_min(s.min_y, row.y);
        exec::atomic_max(s.max_y, row.y);
      }
      x0 = x1 + 1;
    }
  }
};

// Background components (4-connected) that reach the image border stay background. Several
// border pixels may mark one root: the same value, stored atomically.
struct MarkBorder {
  const std::uint8_t* mask;
  const std::int32_t* parent;
  std::uint32_t* reaches;
  HL_HD void operator()(const Pixel& px) const {
    if (mask[px.p]) return;
    if (px.y == 0 || px.x == 0 || px.y == px.height - 1 || px.x == px.width - 1)
      exec::atomic_store(reaches[px.start() + std::uint64_t(parent[px.p])], 1u);
  }
};

struct Fill {
  const std::uint8_t* mask;
  const std::int32_t* parent;
  const std::uint32_t* reaches;
  std::uint8_t* out;
  HL_HD void operator()(const Pixel& px) const {
    out[px.p] = mask[px.p] != 0 || !reaches[px.start() + std::uint64_t(parent[px.p])];
  }
};

// Parents of the set pixels (or, with invert, of the unset ones), flattened to their roots.
std::int32_t* union_find(exec::Context& c, const Layout& l, const std::uint8_t* mask, bool invert, int connectivity, std::uint32_t* is_root) {
  auto* parent = c.take<std::int32_t>(l.extent);
  exec::for_each_pixel(c, l, InitParents{mask, invert, parent});
  exec::for_each_pixel(c, l, Merge{mask, invert, connectivity, parent});
  exec::for_each_pixel(c, l, Flatten{mask, invert, parent, is_root});
  return parent;
}

}  // namespace

void label_components(exec::Context& c, const Layout& l, const std::uint8_t* mask, int connectivity, const DeviceLabels& out) {
  c.stage("components");
  if (connectivity != 4 && connectivity != 8) {
    c.fail("connectivity must be 4 or 8");
    return;
  }
  const std::size_t mark = c.mark();
  // is_root and rank have one entry more than the planes: the scan's last entry is the count.
  auto* is_root = c.take<std::uint32_t>(l.extent + 1);
  auto* rank = c.take<std::uint64_t>(l.extent + 1);
  c.zero(is_root, (l.extent + 1) * sizeof(std::uint32_t));  // gaps between images hold no root
  const std::int32_t* parent = union_find(c, l, mask, false, connectivity, is_root);
  exec::exclusive_scan(c, is_root, rank, l.extent + 1);
  exec::for_each(c, l.images + 1, FirstLabels{l.image, l.images, l.extent, rank, out.first_label});
  exec::for_each_pixel(c, l, Labels{mask, parent, rank, out.labels});
  exec::for_each_pixel(c, l, InitStats{mask, parent, rank, out.stats, out.capacity, out.overflow});
  exec::for_each_row(c, l, AddStats{out.labels, out.first_label, out.stats, out.capacity});
  c.release(mark);
}

void fill_holes(exec::Context& c, const Layout& l, const std::uint8_t* mask, std::uint8_t* out) {
  c.stage("fill holes");
  const std::size_t mark = c.mark();
  auto* reaches = c.take<std::uint32_t>(l.extent);
  c.zero(reaches, l.extent * sizeof(std::uint32_t));
  const std::int32_t* parent = union_find(c, l, mask, true, 4, nullptr);  // the background, 4-connected
  exec::for_each_pixel(c, l, MarkBorder{mask, parent, reaches});
  exec::for_each_pixel(c, l, Fill{mask, parent, reaches, out});
  c.release(mark);
}

DeviceLabels take_labels(exec::Context& c, const Layout& l, std::uint32_t* overflow) {
  return {c.take<std::int32_t>(l.extent), c.take<std::uint64_t>(l.images + 1), c.take<LabelStats>(l.max_labels), l.max_labels, overflow};
}

// ---- host-callable wrappers (cuda/components.hpp)

bool label_components(const PackedMasks& m, int connectivity, Labelled& out, std::string* error, Path path, std::size_t capacity) {
  out = Labelled{};
  LayoutPlan plan;
  if (!plan_layout(m.offsets, m.heights, m.widths, m.images, plan, error)) return false;
  if (capacity == 0) capacity = std::max<std::size_t>(plan.extent, 1);  // a label has a pixel at least
  std::vector<std::uint64_t> first(m.images + 1, 0);
  std::vector<LabelStats> stats(capacity);
  std::uint32_t overflow = 0;
  out.labels.assign(plan.extent, 0);
  const bool ok = exec::run_once(
      path,
      [&](exec::Context& c) {
        const Layout l = upload_layout(c, plan);
        c.stage("upload");
        auto* mask = c.take<std::uint8_t>(plan.extent);
        c.upload(mask, m.mask, plan.extent);
        const DeviceLabels d{c.take<std::int32_t>(plan.extent), c.take<std::uint64_t>(m.images + 1), c.take<LabelStats>(capacity), capacity,
                             c.take<std::uint32_t>(1)};
        c.zero(d.labels, plan.extent * sizeof(std::int32_t));
        c.zero(d.stats, capacity * sizeof(LabelStats));  // all of it goes down, labels or not
        c.zero(d.overflow, sizeof(std::uint32_t));
        label_components(c, l, mask, connectivity, d);
        c.stage("download");
        c.download(out.labels.data(), d.labels, plan.extent * sizeof(std::int32_t));
        c.download(first.data(), d.first_label, first.size() * sizeof(std::uint64_t));
        c.download(stats.data(), d.stats, capacity * sizeof(LabelStats));
        c.download(&overflow, d.overflow, sizeof overflow);
      },
      error);
  if (!ok) return false;
  if (overflow) {
    if (error) *error = "components: the batch has more than " + std::to_string(capacity) + " labels (the capacity given)";
    return false;
  }
  out.first_label.assign(first.begin(), first.end());
  out.stats.assign(stats.begin(), stats.begin() + std::ptrdiff_t(first.back()));
  return true;
}

bool fill_holes(const PackedMasks& m, std::vector<std::uint8_t>& out, std::string* error, Path path) {
  return mask_to_plane(m, path, out, error,
                       [](exec::Context& c, const Layout& l, const std::uint8_t* mask, std::uint8_t* filled) { fill_holes(c, l, mask, filled); });
}

HEMOLENS_CUDA_END
