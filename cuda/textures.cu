// Batched GLCM and LBP counts (cuda/textures.hpp, cuda/stages.cuh). Every cell pixel counts the
// pairs that start at it (one way, as the CPU does) and its LBP codes, through exec::count (a
// tile's counts in shared memory on the GPU); a second pass writes the symmetrised matrices,
// c(i,j) + c(j,i), and the LBP bins.
#include <string>

#include "features/shape.hpp"
#include "stages.cuh"
#include "textures.hpp"

HEMOLENS_CUDA_BEGIN
namespace {

using features::kGlcmDistances;
using features::kGlcmLevels;
using features::kLbpBins;
constexpr int kCells = kGlcmLevels * kGlcmLevels;
constexpr int kOneWay = features::kTextureRegions * kGlcmDistances * kCells;  // bins of the one-way counts
constexpr int kLbp = features::kTextureRegions * kLbpBins;
constexpr int kBins = kOneWay + 2 * kLbp;  // one-way GLCM, LBP ring 1, LBP ring 2

struct CountTextures {
  const std::uint8_t *grey, *cell, *nucleus;
  template <class C>
  HL_HD void operator()(const Pixel& px, const C& counter) const {
    if (!cell[px.p]) return;
    const int h = px.height, w = px.width;
    const bool nuc = nucleus[px.p] != 0;
    const int a = grey[px.p] >> features::kGlcmShift;
    for (int di = 0; di < kGlcmDistances; ++di) {
      const int d = features::glcm_distance(di);
      const int ox[4] = {d, d, 0, -d}, oy[4] = {0, d, d, d};  // (d,0), (d,d), (0,d), (-d,d)
      for (int k = 0; k < 4; ++k) {
        const int x = px.x + ox[k], y = px.y + oy[k];
        if (x < 0 || x >= w || y >= h) continue;
        const std::uint64_t q = px.at(oy[k], ox[k]);
        if (!cell[q]) continue;
        const int ij = a * kGlcmLevels + (grey[q] >> features::kGlcmShift);
        const bool nuc_q = nucleus[q] != 0;
        counter.add((features::kCell * kGlcmDistances + di) * kCells + ij);
        if (nuc && nuc_q) counter.add((features::kNucleus * kGlcmDistances + di) * kCells + ij);
        else if (!nuc && !nuc_q) counter.add((features::kCytoplasm * kGlcmDistances + di) * kCells + ij);
      }
    }
    const int dx[8] = {1, 1, 0, -1, -1, -1, 0, 1}, dy[8] = {0, -1, -1, -1, 0, 1, 1, 1};
    const int c = grey[px.p];
    for (int r = 1; r <= 2; ++r) {
      if (px.y < r || px.x < r || px.y > h - 1 - r || px.x > w - 1 - r) continue;
      unsigned pattern = 0;
      for (int k = 0; k < 8; ++k) pattern |= unsigned(grey[px.at(r * dy[k], r * dx[k])] >= c) << k;
      const int b = features::lbp_riu2(pattern);
      const int base = kOneWay + (r - 1) * kLbp;
      counter.add(base + features::kCell * kLbpBins + b);
      counter.add(base + (nuc ? features::kNucleus : features::kCytoplasm) * kLbpBins + b);
    }
  }
};

struct Symmetrise {
  const std::uint32_t* counts;  // images x kBins
  DeviceTextures out;
  HL_HD void operator()(std::size_t k) const {
    const std::size_t i = k / kBins;
    const int bin = int(k - i * kBins);
    const std::uint32_t* c = counts + i * kBins;
    if (bin < kOneWay) {
      const int cell = bin % kCells, matrix = bin - cell;
      const int a = cell / kGlcmLevels, b = cell % kGlcmLevels;
      out.glcm[i][bin] = c[bin] + c[matrix + b * kGlcmLevels + a];
    } else if (bin < kOneWay + kLbp) {
      out.lbp[i][bin - kOneWay] = c[bin];
    } else {
      out.lbp2[i][bin - kOneWay - kLbp] = c[bin];
    }
  }
};

}  // namespace

void texture_counts(exec::Context& c, const Layout& l, const std::uint8_t* grey, const std::uint8_t* cell, const std::uint8_t* nucleus,
                    const DeviceTextures& out) {
  c.stage("textures");
  const std::size_t mark = c.mark();
  auto* counts = c.take<std::uint32_t>(l.images * kBins);
  c.zero(counts, l.images * kBins * sizeof(std::uint32_t));
  exec::count(c, l, packed(counts, kBins), kBins, 1, CountTextures{grey, cell, nucleus});
  exec::for_each(c, l.images * kBins, Symmetrise{counts, out});
  c.release(mark);
}

bool texture_counts(const PackedMasks& planes, const std::uint8_t* grey, const std::uint8_t* cell, const std::uint8_t* nucleus,
                    TextureCounts& out, std::string* error, Path path) {
  LayoutPlan plan;
  if (!plan_layout(planes.offsets, planes.heights, planes.widths, planes.images, plan, error)) return false;
  const std::size_t n = planes.images;
  out.glcm.assign(n * kOneWay, 0);
  out.lbp.assign(n * kLbp, 0);
  out.lbp2.assign(n * kLbp, 0);
  return exec::run_once(
      path,
      [&](exec::Context& c) {
        const Layout l = upload_layout(c, plan);
        c.stage("upload");
        const std::uint8_t* host[3] = {grey, cell, nucleus};
        std::uint8_t* dev[3];
        for (int k = 0; k < 3; ++k) {
          dev[k] = c.take<std::uint8_t>(plan.extent);
          c.upload(dev[k], host[k], plan.extent);
        }
        auto* glcm = c.take<std::uint32_t>(n * kOneWay);
        auto* lbp = c.take<std::uint32_t>(n * kLbp);
        auto* lbp2 = c.take<std::uint32_t>(n * kLbp);
        texture_counts(c, l, dev[0], dev[1], dev[2], DeviceTextures{packed(glcm, kOneWay), packed(lbp, kLbp), packed(lbp2, kLbp)});
        c.stage("download");
        c.download(out.glcm.data(), glcm, n * kOneWay * sizeof(std::uint32_t));
        c.download(out.lbp.data(), lbp, n * kLbp * sizeof(std::uint32_t));
        c.download(out.lbp2.data(), lbp2, n * kLbp * sizeof(std::uint32_t));
      },
      error);
}

HEMOLENS_CUDA_END
