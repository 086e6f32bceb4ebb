// Batched chamfer distance (cuda/distance.hpp, cuda/stages.cuh): the CPU's two raster passes
// (src/cpu/chamfer.hpp, the same code), one item per image. Each pass depends on the pixel just
// before it, so an image is one thread's sequential work; a batch of a thousand images still
// keeps a thousand threads busy, with no host round trip and no iteration to a fixed point (the
// relaxation this replaces read a flag back to the host after every one of its hundreds of
// passes).
#include <string>

#include "cpu/chamfer.hpp"
#include "distance.hpp"
#include "one_shot.cuh"

HEMOLENS_CUDA_BEGIN
namespace {

struct TwoPasses {
  const ImageInfo* image;
  const std::uint8_t* mask;
  std::int32_t* out;
  HL_HD void operator()(std::size_t i) const {
    const ImageInfo m = image[i];
    cpu::chamfer_passes(mask + m.offset, out + m.offset, m.height, m.width);
  }
};

}  // namespace

void chamfer_distance(exec::Context& c, const Layout& l, const std::uint8_t* mask, std::int32_t* out) {
  c.stage("distance");
  exec::for_each(c, l.images, TwoPasses{l.image, mask, out}, exec::kSerialThreads);
}

bool chamfer_distance(const PackedMasks& m, std::vector<std::int32_t>& out, std::string* error) {
  return mask_to_plane(m, Path::kFast, out, error,
                       [](exec::Context& c, const Layout& l, const std::uint8_t* mask, std::int32_t* d) { chamfer_distance(c, l, mask, d); });
}

HEMOLENS_CUDA_END
