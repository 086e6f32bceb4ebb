// Every accumulator of src/cpu/measure.cpp over a segmented batch (cuda/stages.cuh):
//   - the header (size, background colour, thresholds, other nucleated objects, flags);
//   - colour histograms per region (histograms.cu) and textures (textures.cu);
//   - per shape (cell, nucleus): moments, edges and box (shape.cu); components and lobes (the
//     mask labelled, one item per image counts); the convex hull (row extents per row, then one
//     item per image runs the shared hull code); the thickness (one item per image runs the
//     shared chamfer to the outside over the mask's box); lobes after eroding by 2 and 4 px
//     (the distances thresholded, labelled, counted);
//   - granularity: grey closings and openings of the cell's neighbourhood with squares of side
//     3..9, as 1-D minima and maxima over clamped windows (cpu::grey_dilate3 iterated r times
//     with replicated borders is the maximum over the (2r+1)-square clamped to the crop), summed
//     over the cell and the cytoplasm per row;
//   - the Laplacian of the balanced green over the image and over the cell, per row.
// Sums, minima and maxima go through atomics (integers: any order gives the same values); the
// per-image items are the CPU's own loops.
#include "features/shape.hpp"
#include "stages.cuh"

HEMOLENS_CUDA_BEGIN
namespace {

using cpu::Window;
using features::ImageAccumulators;
using features::ShapeAccumulator;

struct Header {
  const ImageInfo* image;
  const std::int32_t* background;
  const CellState* state;
  ImageAccumulators* acc;
  HL_HD void operator()(std::size_t i) const {
    ImageAccumulators& a = acc[i];
    const CellState& s = state[i];
    a.height = image[i].height;
    a.width = image[i].width;
    for (int c = 0; c < 3; ++c) a.background_rgb[c] = background[3 * i + std::size_t(c)];
    a.stain_threshold = s.stain_threshold;
    a.green_threshold = s.green_threshold;
    a.other_nucleated = s.other_nucleated;
    a.flags = s.flags;
  }
};

HL_HD inline Window box_of(const ShapeAccumulator& s) { return {s.min_x, s.min_y, s.max_x, s.max_y}; }

// 8-connected components, and those holding at least 5 % of the mask (cpu count_pieces).
struct CountPieces {
  DeviceLabels labels;
  PerImage<ShapeAccumulator> out;
  HL_HD void operator()(std::size_t i) const {
    ShapeAccumulator& s = *out[i];
    const ImageLabels n = image_labels(labels, i);
    int lobes = 0;
    for (int k = 1; k <= n.count; ++k) lobes += n.label1[k - 1].area * 20 >= s.moments.m00;
    s.components = n.count;
    s.lobes = lobes;
  }
};

// Leftmost and rightmost set column of every row (INT_MAX and -1 for an empty row).
struct RowExtents {
  const ImageInfo* image;
  const std::uint8_t* mask;
  std::int32_t *row_min, *row_max;
  HL_HD void operator()(const Row& row) const {
    const std::uint8_t* m = mask + row.start;
    std::int32_t lo = 0x7fffffff, hi = -1;
    for (int x = 0; x < row.width; ++x)
      if (m[x]) {
        lo = exec::min_of(lo, x);
        hi = x;
      }
    const std::uint64_t r = image[row.image].first_row + std::uint64_t(row.y);
    row_min[r] = lo;
    row_max[r] = hi;
  }
};

// The hull of each image's mask from its rows (features::hull_area2_from_rows, the CPU's
// code), its scratch at 2 (first row + image) and 4 (first row + image) + image: each image
// has 2 (rows + 1) and 4 (rows + 1) + 1 points there.
struct Hull {
  const ImageInfo* image;
  const std::int32_t *row_min, *row_max;
  features::HullPoint *points, *hull;
  PerImage<ShapeAccumulator> out;
  HL_HD void operator()(std::size_t i) const {
    ShapeAccumulator& s = *out[i];
    if (s.moments.m00 == 0) return;
    const std::uint64_t first = image[i].first_row, r0 = first + std::uint64_t(s.min_y);
    s.hull_area2 = features::hull_area2_from_rows(row_min + r0, row_max + r0, s.max_y - s.min_y + 1, s.min_y, points + 2 * (first + i),
                                                  hull + 4 * (first + i) + i, &s.hull_perimeter);
  }
};

// The chamfer distance to the outside over the mask's box framed by outside (cpu::chamfer_inside).
struct Thickness {
  const ImageInfo* image;
  const std::uint8_t* mask;
  std::int32_t* dist;
  PerImage<ShapeAccumulator> out;
  HL_HD void operator()(std::size_t i) const {
    ShapeAccumulator& s = *out[i];
    if (s.moments.m00 == 0) return;
    const std::size_t w = std::size_t(image[i].width), at = image[i].offset + std::size_t(s.min_y) * w + std::size_t(s.min_x);
    cpu::chamfer_inside(mask + at, w, dist + at, w, s.max_y - s.min_y + 1, s.max_x - s.min_x + 1, &s.distance_sum, &s.distance_max);
  }
};

struct Eroded {
  const std::int32_t* dist;
  PerImage<ShapeAccumulator> shape;
  std::int32_t depth;  // chamfer units
  std::uint8_t* out;
  HL_HD void operator()(const Pixel& px) const { out[px.p] = box_of(*shape[px.image]).contains(px.y, px.x) && dist[px.p] > depth; }
};

struct CountErodedLobes {
  DeviceLabels labels;
  PerImage<ShapeAccumulator> out;
  int erosion;
  HL_HD void operator()(std::size_t i) const {
    const ImageLabels n = image_labels(labels, i);
    std::int64_t area = 0;
    for (int k = 1; k <= n.count; ++k) area += n.label1[k - 1].area;
    int lobes = 0;
    for (int k = 1; k <= n.count; ++k) lobes += n.label1[k - 1].area * 20 >= area;
    out[i]->eroded_lobes[erosion] = area ? lobes : 0;
  }
};

void measure_shape(exec::Context& c, const Layout& l, const std::uint8_t* mask, PerImage<ShapeAccumulator> out, std::uint32_t* overflow) {
  shape_moments(c, l, mask, out);
  c.stage("measure shape");
  const std::size_t mark = c.mark(), n = l.images;
  const DeviceLabels labels = take_labels(c, l, overflow);
  label_components(c, l, mask, 8, labels);
  c.stage("measure shape");
  exec::for_each(c, n, CountPieces{labels, out});
  auto *row_min = c.take<std::int32_t>(l.rows), *row_max = c.take<std::int32_t>(l.rows);
  auto* points = c.take<features::HullPoint>(2 * (l.rows + n));
  auto* hull = c.take<features::HullPoint>(4 * (l.rows + n) + n);
  exec::for_each_row(c, l, RowExtents{l.image, mask, row_min, row_max});
  exec::for_each(c, n, Hull{l.image, row_min, row_max, points, hull, out}, exec::kSerialThreads);
  auto* dist = c.take<std::int32_t>(l.extent);
  auto* eroded = c.take<std::uint8_t>(l.extent);
  exec::for_each(c, n, Thickness{l.image, mask, dist, out}, exec::kSerialThreads);
  for (int e = 0; e < features::kErosions; ++e) {
    exec::for_each_pixel(c, l, Eroded{dist, out, 3 * features::erosion_depth(e), eroded});
    label_components(c, l, eroded, 8, labels);
    c.stage("measure shape");
    exec::for_each(c, n, CountErodedLobes{labels, out, e});
  }
  c.release(mark);
}

// The crop of granularity: the cell's box grown by the largest square's half side, within
// the image (empty without cell), as cpu granularity.
HL_HD inline Window granularity_window(const ShapeAccumulator& cell, int h, int w) {
  if (cell.moments.m00 == 0) return {};
  const int margin = features::kGranularitySizes;
  return {exec::max_of(cell.min_x - margin, 0), exec::max_of(cell.min_y - margin, 0), exec::min_of(cell.max_x + margin, w - 1),
          exec::min_of(cell.max_y + margin, h - 1)};
}

// The maximum (or minimum) of `in` over the pixels within r along a row (or a column), inside
// the crop: a 3-wide pass with replicated borders, iterated r times.
struct Extreme1D {
  const std::uint8_t* in;
  std::uint8_t* out;
  PerImage<ShapeAccumulator> cell;
  int r;
  bool vertical, largest;
  HL_HD void operator()(const Pixel& px) const {
    const Window win = granularity_window(*cell[px.image], px.height, px.width);
    if (!win.contains(px.y, px.x)) return;
    const std::uint8_t* image = in + px.start();
    const std::size_t w = std::size_t(px.width);
    const int at = vertical ? px.y : px.x, lo = exec::max_of(at - r, vertical ? win.y0 : win.x0), hi = exec::min_of(at + r, vertical ? win.y1 : win.x1);
    std::uint8_t v = largest ? 0 : 255;
    for (int k = lo; k <= hi; ++k) {
      const std::uint8_t q = vertical ? image[std::size_t(k) * w + std::size_t(px.x)] : image[std::size_t(px.y) * w + std::size_t(k)];
      v = largest ? exec::max_of(v, q) : exec::min_of(v, q);
    }
    out[px.p] = v;
  }
};

// Sums of a plane over the cell and over the cytoplasm inside the crop, per row, into the
// accumulator fields given (a field with a null base is not wanted).
struct GranularitySums {
  const std::uint8_t *v, *cell, *nucleus;
  PerImage<ShapeAccumulator> shape;
  PerImage<std::int64_t> cell_sum, cyto_sum, cyto_sum2, cyto_count;
  HL_HD void operator()(const Row& row) const {
    const Window win = granularity_window(*shape[row.image], row.height, row.width);
    if (row.y < win.y0 || row.y > win.y1) return;
    std::int64_t in_cell = 0, in_cyto = 0, n = 0;
    for (int x = win.x0; x <= win.x1; ++x) {
      const std::uint64_t p = row.start + std::uint64_t(x);
      if (!cell[p]) continue;
      in_cell += v[p];
      if (nucleus[p]) continue;
      in_cyto += v[p];
      ++n;
    }
    if (cell_sum.base) exec::atomic_add(*cell_sum[row.image], in_cell);
    if (cyto_sum.base) exec::atomic_add(*cyto_sum[row.image], in_cyto);
    if (cyto_sum2.base) exec::atomic_add(*cyto_sum2[row.image], in_cyto);
    if (cyto_count.base) exec::atomic_add(*cyto_count[row.image], n);
  }
};

void granularity(exec::Context& c, const Layout& l, const std::uint8_t* grey, const MaskPlanes& m, ImageAccumulators* acc) {
  c.stage("granularity");
  const std::size_t mark = c.mark(), stride = sizeof(ImageAccumulators);
  const PerImage<ShapeAccumulator> cell = strided(acc ? &acc->shape[features::kCell] : nullptr, stride);
  auto field = [&](std::int64_t* p) { return strided(p, stride); };
  const PerImage<std::int64_t> none;
  exec::for_each_row(c, l,
                     GranularitySums{grey, m.cell, m.nucleus, cell, field(acc ? &acc->closing_sum[0] : nullptr),
                                     field(acc ? &acc->cyto_closing_sum[0] : nullptr), field(acc ? &acc->cyto_opening_sum[0] : nullptr),
                                     field(acc ? &acc->cyto_pixels : nullptr)});
  std::uint8_t *t1 = c.take<std::uint8_t>(l.extent), *t2 = c.take<std::uint8_t>(l.extent), *t3 = c.take<std::uint8_t>(l.extent);
  for (int r = 1; r <= features::kGranularitySizes; ++r) {
    // closing: the maximum over the square, then the minimum of that over the square
    exec::for_each_pixel(c, l, Extreme1D{grey, t1, cell, r, false, true});
    exec::for_each_pixel(c, l, Extreme1D{t1, t2, cell, r, true, true});
    exec::for_each_pixel(c, l, Extreme1D{t2, t1, cell, r, false, false});
    exec::for_each_pixel(c, l, Extreme1D{t1, t3, cell, r, true, false});
    exec::for_each_row(c, l,
                       GranularitySums{t3, m.cell, m.nucleus, cell, field(acc ? &acc->closing_sum[r] : nullptr),
                                       field(acc ? &acc->cyto_closing_sum[r] : nullptr), none, none});
    // opening: the minimum, then the maximum of that
    exec::for_each_pixel(c, l, Extreme1D{grey, t1, cell, r, false, false});
    exec::for_each_pixel(c, l, Extreme1D{t1, t2, cell, r, true, false});
    exec::for_each_pixel(c, l, Extreme1D{t2, t1, cell, r, false, true});
    exec::for_each_pixel(c, l, Extreme1D{t1, t3, cell, r, true, true});
    exec::for_each_row(c, l, GranularitySums{t3, m.cell, m.nucleus, cell, none, field(acc ? &acc->cyto_opening_sum[r] : nullptr), none, none});
  }
  c.release(mark);
}

// 4 g(y,x) - its four neighbours over the interior pixels, summed with its square over the
// image and over the cell, per row.
struct Laplacian {
  const std::uint8_t *grey, *cell;
  ImageAccumulators* acc;
  HL_HD void operator()(const Row& row) const {
    const int w = row.width;
    if (w < 3 || row.y < 1 || row.y + 1 >= row.height) return;
    const std::uint8_t *mid = grey + row.start, *up = mid - w, *down = mid + w, *in_cell = cell + row.start;
    std::int64_t sum = 0, sq = 0, cell_sum = 0, cell_sq = 0, cell_n = 0;
    for (int x = 1; x + 1 < w; ++x) {
      const std::int32_t v = 4 * mid[x] - up[x] - down[x] - mid[x - 1] - mid[x + 1];
      sum += v;
      sq += v * v;
      if (!in_cell[x]) continue;
      cell_sum += v;
      cell_sq += v * v;
      ++cell_n;
    }
    ImageAccumulators& a = acc[row.image];
    exec::atomic_add(a.laplacian_sum[0], sum);
    exec::atomic_add(a.laplacian_sq[0], sq);
    exec::atomic_add(a.laplacian_n[0], std::int64_t(w - 2));
    exec::atomic_add(a.laplacian_sum[1], cell_sum);
    exec::atomic_add(a.laplacian_sq[1], cell_sq);
    exec::atomic_add(a.laplacian_n[1], cell_n);
  }
};

}  // namespace

void measure(exec::Context& c, const Layout& l, const PreprocessOut& pre, const MaskPlanes& m, const CellState* state, std::uint32_t* overflow,
             ImageAccumulators* acc) {
  c.stage("measure");
  const std::size_t stride = sizeof(ImageAccumulators);
  c.zero(acc, l.images * stride);
  exec::for_each(c, l.images, Header{l.image, pre.background, state, acc});
  colour_histograms(c, l, DeviceRegionPlanes{pre.r, pre.g, pre.b, m.cell, m.nucleus, m.background}, strided(acc ? &acc->hist[0][0][0] : nullptr, stride));
  measure_shape(c, l, m.cell, strided(acc ? &acc->shape[features::kCell] : nullptr, stride), overflow);
  measure_shape(c, l, m.nucleus, strided(acc ? &acc->shape[features::kNucleus] : nullptr, stride), overflow);
  texture_counts(c, l, pre.g, m.cell, m.nucleus,
                 DeviceTextures{strided(acc ? &acc->glcm[0][0][0] : nullptr, stride), strided(acc ? &acc->lbp[0][0] : nullptr, stride),
                                strided(acc ? &acc->lbp2[0][0] : nullptr, stride)});
  granularity(c, l, pre.g, m, acc);
  c.stage("laplacian");
  exec::for_each_row(c, l, Laplacian{pre.g, m.cell, acc});
}

HEMOLENS_CUDA_END
