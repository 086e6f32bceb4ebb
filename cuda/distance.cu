// Batched chamfer distance (cuda/distance.hpp, cuda/stages.cuh): the CPU's two raster passes,
// one item per image. Each pass depends on the pixel just before it, so an image is one thread's
// sequential work; a batch of a thousand images still keeps a thousand threads busy, with no
// host round trip and no iteration to a fixed point (the relaxation this replaces read a flag
// back to the host after every one of its hundreds of passes). Exactly the CPU's arithmetic.
#include <string>

#include "distance.hpp"
#include "stages.cuh"

HEMOLENS_CUDA_BEGIN
namespace {

constexpr std::int32_t kFar = 1 << 28;

struct TwoPasses {
  const ImageInfo* image;
  const std::uint8_t* mask;
  std::int32_t* out;
  HL_HD void operator()(std::size_t i) const {
    const ImageInfo m = image[i];
    const int h = m.height, w = m.width;
    const std::uint8_t* in = mask + m.offset;
    std::int32_t* d = out + m.offset;
    auto relax = [&](int y, int x, int yy, int xx, std::int32_t step) {
      if (yy >= 0 && yy < h && xx >= 0 && xx < w) {
        std::int32_t& v = d[std::size_t(y) * w + x];
        v = exec::min_of(v, d[std::size_t(yy) * w + xx] + step);
      }
    };
    for (std::size_t k = 0; k < std::size_t(h) * std::size_t(w); ++k) d[k] = in[k] ? 0 : kFar;
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        relax(y, x, y, x - 1, 3);
        relax(y, x, y - 1, x - 1, 4);
        relax(y, x, y - 1, x, 3);
        relax(y, x, y - 1, x + 1, 4);
      }
    for (int y = h - 1; y >= 0; --y)
      for (int x = w - 1; x >= 0; --x) {
        relax(y, x, y, x + 1, 3);
        relax(y, x, y + 1, x + 1, 4);
        relax(y, x, y + 1, x, 3);
        relax(y, x, y + 1, x - 1, 4);
      }
  }
};

}  // namespace

void chamfer_distance(exec::Context& c, const Layout& l, const std::uint8_t* mask, std::int32_t* out) {
  c.stage("distance");
  exec::for_each(c, l.images, TwoPasses{l.image, mask, out});
}

bool chamfer_distance(const PackedMasks& m, std::vector<std::int32_t>& out, std::string* error) {
  LayoutPlan plan;
  if (!plan_layout(m.offsets, m.heights, m.widths, m.images, plan, error)) return false;
  out.assign(plan.extent, 0);
  return exec::run_once(
      Path::kFast,
      [&](exec::Context& c) {
        const Layout l = upload_layout(c, plan);
        c.stage("upload");
        auto* mask = c.take<std::uint8_t>(plan.extent);
        auto* d = c.take<std::int32_t>(plan.extent);
        c.upload(mask, m.mask, plan.extent);
        c.zero(d, plan.extent * sizeof(std::int32_t));
        chamfer_distance(c, l, mask, d);
        c.stage("download");
        c.download(out.data(), d, plan.extent * sizeof(std::int32_t));
      },
      error);
}

HEMOLENS_CUDA_END
