// Batched shape moments (cuda/shape.hpp, cuda/stages.cuh): one item per image row sums its set
// pixels' moment terms, boundary edges and extent (as the CPU sums per row), then adds them to
// its image's accumulator with one set of atomics. Integer sums, minima and maxima commute, so
// any order of the atomics gives the CPU's values exactly.
#include <string>

#include "one_shot.cuh"
#include "shape.hpp"
#include "stages.cuh"

HEMOLENS_CUDA_BEGIN
namespace {

using features::ShapeAccumulator;

struct InitShape {
  PerImage<ShapeAccumulator> out;
  HL_HD void operator()(std::size_t i) const {
    ShapeAccumulator& s = *out[i];
    s.moments = {};
    s.edges = 0;
    s.min_x = s.min_y = 0x7fffffff;  // above any coordinate: atomic minima start here
    s.max_x = s.max_y = -1;
  }
};

struct RowMoments {
  const std::uint8_t* mask;
  PerImage<ShapeAccumulator> out;
  HL_HD void operator()(const Row& row) const {
    const std::uint8_t* m = mask + row.start;
    const std::uint8_t* up = row.y > 0 ? m - row.width : nullptr;
    const std::uint8_t* down = row.y + 1 < row.height ? m + row.width : nullptr;
    const int w = row.width;
    std::int64_t n = 0, sx = 0, sx2 = 0, sx3 = 0, edges = 0;
    int x0 = -1, x1 = -1;
    for (int x = 0; x < w; ++x) {
      if (!m[x]) continue;
      const std::int64_t xx = x;
      ++n;
      sx += xx;
      sx2 += xx * xx;
      sx3 += xx * xx * xx;
      // As cpu boundary_edges: a side is an edge where the neighbour is outside the mask or
      // outside the image.
      edges += (x == 0 || !m[x - 1]) + (x == w - 1 || !m[x + 1]) + (!up || !up[x]) + (!down || !down[x]);
      if (x0 < 0) x0 = x;
      x1 = x;
    }
    if (!n) return;
    const std::int64_t y = row.y;
    features::MaskMoments& mo = out[row.image]->moments;
    ShapeAccumulator& s = *out[row.image];
    exec::atomic_add(mo.m00, n);
    exec::atomic_add(mo.m10, sx);
    exec::atomic_add(mo.m01, n * y);
    exec::atomic_add(mo.m20, sx2);
    exec::atomic_add(mo.m11, sx * y);
    exec::atomic_add(mo.m02, n * y * y);
    exec::atomic_add(mo.m30, sx3);
    exec::atomic_add(mo.m21, sx2 * y);
    exec::atomic_add(mo.m12, sx * y * y);
    exec::atomic_add(mo.m03, n * y * y * y);
    exec::atomic_add(s.edges, edges);
    exec::atomic_min(s.min_x, x0);
    exec::atomic_max(s.max_x, x1);
    exec::atomic_min(s.min_y, row.y);
    exec::atomic_max(s.max_y, row.y);
  }
};

// An empty mask keeps the accumulator's defaults: box min 0, max -1, as on the CPU.
struct FinishShape {
  PerImage<ShapeAccumulator> out;
  HL_HD void operator()(std::size_t i) const {
    ShapeAccumulator& s = *out[i];
    if (s.moments.m00 == 0) s.min_x = s.min_y = 0;
  }
};

}  // namespace

void shape_moments(exec::Context& c, const Layout& l, const std::uint8_t* mask, PerImage<ShapeAccumulator> out) {
  c.stage("shape");
  exec::for_each(c, l.images, InitShape{out});
  exec::for_each_row(c, l, RowMoments{mask, out});
  exec::for_each(c, l.images, FinishShape{out});
}

bool shape_moments(const PackedMasks& m, std::vector<ShapeAccumulator>& out, std::string* error) {
  return run_on_masks(m, Path::kFast, Per::kImage, out, error,
                      [](exec::Context& c, const Layout& l, const std::uint8_t* mask, ShapeAccumulator* shapes) {
                        shape_moments(c, l, mask, packed(shapes, 1));
                      });
}

HEMOLENS_CUDA_END
