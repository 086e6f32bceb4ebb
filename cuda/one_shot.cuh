// The shared shape of the host-callable wrappers that turn one packed mask batch into one
// per-pixel plane (hole filling, morphology, chamfer distance) or one value per image (shape
// moments): plan the layout, then on a fresh context (exec::run_once) upload the masks, run the
// stage, download the result. Included by .cu files only.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "components.hpp"  // PackedMasks
#include "stages.cuh"

HEMOLENS_CUDA_BEGIN

// What a one-shot wrapper returns: a value per pixel (a plane) or one per image.
enum class Per { kPixel, kImage };

// stage(context, layout, device mask, device output); the output starts as Out{} everywhere (0
// in a plane's gaps, an accumulator's defaults), uploaded so that any Out's defaults hold.
template <class Out, class Stage>
bool run_on_masks(const PackedMasks& m, Path path, Per per, std::vector<Out>& out, std::string* error, const Stage& stage) {
  LayoutPlan plan;
  if (!plan_layout(m.offsets, m.heights, m.widths, m.images, plan, error)) return false;
  out.assign(per == Per::kPixel ? plan.extent : m.images, Out{});
  return exec::run_once(
      path,
      [&](exec::Context& c) {
        const Layout l = upload_layout(c, plan);
        c.stage("upload");
        auto* mask = c.take<std::uint8_t>(plan.extent);
        auto* result = c.take<Out>(out.size());
        c.upload(mask, m.mask, plan.extent);
        c.upload(result, out.data(), out.size() * sizeof(Out));
        stage(c, l, mask, result);
        c.stage("download");
        c.download(out.data(), result, out.size() * sizeof(Out));
      },
      error);
}

template <class Out, class Stage>
bool mask_to_plane(const PackedMasks& m, Path path, std::vector<Out>& out, std::string* error, const Stage& stage) {
  return run_on_masks(m, path, Per::kPixel, out, error, stage);
}

HEMOLENS_CUDA_END
