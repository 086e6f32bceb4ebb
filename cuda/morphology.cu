// Batched binary morphology (cuda/morphology.hpp, cuda/stages.cuh): one item per pixel tests
// the ellipse's rows directly (the CPU reference reaches the same answer through run lengths
// per row). The ellipse table is made per call in the call's own scratch, so two host threads
// running morphology of different radii at once never share it (a __constant__ table did).
#include <string>

#include "cpu/ellipse.hpp"
#include "morphology.hpp"
#include "one_shot.cuh"

HEMOLENS_CUDA_BEGIN
namespace {

struct EllipseTable {
  int radius;
  int* half;
  HL_HD void operator()(std::size_t k) const { half[k] = cpu::ellipse_half_width(radius, int(k) - radius); }
};

// Erosion: 1 when every in-image pixel under the ellipse is 1. Dilation is erosion of the
// complement, complemented (the complement's outside is ones, so dilation's is zeros).
struct Erode {
  const std::uint8_t* in;
  const int* half;
  int radius;
  bool dilate;
  std::uint8_t* out;
  HL_HD void operator()(const Pixel& px) const {
    const std::uint8_t* img = in + px.start();
    bool all = true;
    for (int dy = -radius; dy <= radius && all; ++dy) {
      const int y = px.y + dy;
      if (y < 0 || y >= px.height) continue;
      const int a = half[dy + radius];
      const std::uint8_t* row = img + std::size_t(y) * std::size_t(px.width);
      const int x1 = exec::min_of(px.x + a, px.width - 1);
      for (int x = exec::max_of(px.x - a, 0); x <= x1 && all; ++x) all = (row[x] != 0) != dilate;
    }
    out[px.p] = std::uint8_t(all != dilate);
  }
};

}  // namespace

void morphology(exec::Context& c, const Layout& l, const std::uint8_t* in, Morph op, int radius, std::uint8_t* out) {
  c.stage("morphology");
  if (radius < 0 || radius > kMaxMorphRadius) {
    c.fail("radius must be in 0.." + std::to_string(kMaxMorphRadius) + ", not " + std::to_string(radius));
    return;
  }
  const std::size_t mark = c.mark();
  int* half = c.take<int>(std::size_t(2 * radius + 1));
  exec::for_each(c, std::size_t(2 * radius + 1), EllipseTable{radius, half});
  // The passes: erode or dilate alone; open = erode then dilate, close = dilate then erode.
  const bool first_dilates = op == Morph::kDilate || op == Morph::kClose;
  if (op == Morph::kErode || op == Morph::kDilate) {
    exec::for_each_pixel(c, l, Erode{in, half, radius, first_dilates, out});
  } else {
    auto* tmp = c.take<std::uint8_t>(l.extent);
    exec::for_each_pixel(c, l, Erode{in, half, radius, first_dilates, tmp});
    exec::for_each_pixel(c, l, Erode{tmp, half, radius, !first_dilates, out});
  }
  c.release(mark);
}

bool morphology(const PackedMasks& m, Morph op, int radius, std::vector<std::uint8_t>& out, std::string* error, Path path) {
  return mask_to_plane(m, path, out, error, [&](exec::Context& c, const Layout& l, const std::uint8_t* in, std::uint8_t* result) {
    morphology(c, l, in, op, radius, result);
  });
}

HEMOLENS_CUDA_END
