// Batched colour histograms per region (cuda/histograms.hpp, cuda/stages.cuh): every pixel of
// the cell or the sampled background adds its channels' bins; on the GPU a block counts a tile
// of rows in shared memory first (exec::count), so the hot bins of one image see one global
// atomic per tile instead of one per pixel.
#include <string>

#include "features/pixel_channels.hpp"
#include "histograms.hpp"
#include "stages.cuh"

HEMOLENS_CUDA_BEGIN
namespace {

struct CountColours {
  DeviceRegionPlanes p;
  template <class C>
  HL_HD void operator()(const Pixel& px, const C& counter) const {
    const std::uint64_t i = px.p;
    const bool cell = p.cell[i] != 0, nucleus = p.nucleus[i] != 0;
    const bool background = p.background[i] && ((px.x | px.y) & 1) == 0;  // sampled on even rows and columns
    if (!cell && !background) return;
    const bool in[features::kRegions] = {cell, nucleus, cell && !nucleus, background};
    std::uint8_t value[features::kChannels];
    features::pixel_channels(p.r[i], p.g[i], p.b[i], value);
    for (int k = 0; k < features::kRegions; ++k)
      if (in[k])
        for (int ch = 0; ch < features::kChannels; ++ch) counter.add((k * features::kChannels + ch) * 256 + value[ch]);
  }
};

}  // namespace

void colour_histograms(exec::Context& c, const Layout& l, const DeviceRegionPlanes& p, PerImage<std::uint32_t> out) {
  c.stage("colour histograms");
  exec::count(c, l, out, kColourBins, 1, CountColours{p});
}

bool colour_histograms(const PackedMasks& layout, const RegionPlanes& planes, std::vector<std::uint32_t>& out, std::string* error, Path path) {
  LayoutPlan plan;
  if (!plan_layout(layout.offsets, layout.heights, layout.widths, layout.images, plan, error)) return false;
  const std::size_t n = layout.images * std::size_t(kColourBins);
  out.assign(n, 0);
  return exec::run_once(
      path,
      [&](exec::Context& c) {
        const Layout l = upload_layout(c, plan);
        c.stage("upload");
        const std::uint8_t* host[6] = {planes.r, planes.g, planes.b, planes.cell, planes.nucleus, planes.background};
        std::uint8_t* dev[6];
        for (int k = 0; k < 6; ++k) {
          dev[k] = c.take<std::uint8_t>(plan.extent);
          c.upload(dev[k], host[k], plan.extent);
        }
        auto* hist = c.take<std::uint32_t>(n);
        c.zero(hist, n * sizeof(std::uint32_t));
        colour_histograms(c, l, DeviceRegionPlanes{dev[0], dev[1], dev[2], dev[3], dev[4], dev[5]}, packed(hist, kColourBins));
        c.stage("download");
        c.download(out.data(), hist, n * sizeof(std::uint32_t));
      },
      error);
}

HEMOLENS_CUDA_END
