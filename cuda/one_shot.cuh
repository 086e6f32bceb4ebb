// The shared shape of the host-callable wrappers that turn one packed mask batch into one
// per-pixel plane (hole filling, morphology, chamfer distance): plan the layout, then on a fresh
// context (exec::run_once) upload the masks, run the stage, download the plane (0 in the gaps
// between images). Included by .cu files only.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "components.hpp"  // PackedMasks
#include "stages.cuh"

HEMOLENS_CUDA_BEGIN

// stage(context, layout, device mask, device output plane)
template <class Out, class Stage>
bool mask_to_plane(const PackedMasks& m, Path path, std::vector<Out>& out, std::string* error, const Stage& stage) {
  LayoutPlan plan;
  if (!plan_layout(m.offsets, m.heights, m.widths, m.images, plan, error)) return false;
  out.assign(plan.extent, Out{});
  return exec::run_once(
      path,
      [&](exec::Context& c) {
        const Layout l = upload_layout(c, plan);
        c.stage("upload");
        auto* mask = c.take<std::uint8_t>(plan.extent);
        auto* result = c.take<Out>(plan.extent);
        c.upload(mask, m.mask, plan.extent);
        c.zero(result, plan.extent * sizeof(Out));
        stage(c, l, mask, result);
        c.stage("download");
        c.download(out.data(), result, plan.extent * sizeof(Out));
      },
      error);
}

HEMOLENS_CUDA_END
