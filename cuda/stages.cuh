// The device-level stages of cuda/, for chaining a batch on the device (cuda/lane.cu now, the
// whole CUDA backend later): every stage reads and writes device planes of a batch laid out
// by a Layout, enqueues its work on the context's stream, takes its scratch from the context's
// pool and never synchronises or copies to the host. Outputs are taken by the caller; a
// "counts" output is added to (the caller zeroes it), any other output is written whole. A
// stage gives its scratch back when it returns: its work is queued by then, and later work on
// the same stream runs after it, so the next stage may reuse that memory at once.
// Each host-callable *.hpp function is a one-shot wrapper around these (upload, stage,
// download), which is what the parity tests and the GPU check call.
// Included by .cu files only.
#pragma once
#include <cstddef>
#include <cstdint>

#include "components.hpp"     // LabelStats
#include "cpu/segment_rules.hpp"  // Window, SegmentParams
#include "exec.cuh"
#include "features/accumulators.hpp"
#include "forest_score.hpp"   // ForestArrays
#include "layout.cuh"
#include "morphology.hpp"     // Morph
#include "preprocess.hpp"     // PackedBatch

HEMOLENS_CUDA_BEGIN

// ---- layout (layout.cu): the image table on the device, then its row and tile tables.
Layout upload_layout(exec::Context& c, const LayoutPlan& plan);
Layout build_layout(exec::Context& c, const LayoutPlan& plan, const ImageInfo* device_images);

// ---- preprocess.cu: the plan of a packed RGB batch (cuda/preprocess.hpp; byte offsets must be
// multiples of 3), and white balance, stain, Gaussian 5x5 and median 3x3 of stain and green,
// their 256-bin histograms (src/cpu/color.cpp, src/cpu/filters.cpp).
struct PreprocessOut {
  std::uint8_t *r, *g, *b;          // balanced colour, one byte per pixel
  std::uint8_t *stain, *green;      // smoothed
  std::int32_t* background;         // images x 3: the raw background colour
  std::uint32_t *stain_hist, *green_hist;  // images x 256 (written)
};
bool plan_packed_batch(const PackedBatch& batch, LayoutPlan& plan, std::string* error);
void preprocess(exec::Context& c, const Layout& l, const std::uint8_t* rgb, double bright_fraction, int target, const PreprocessOut& out);
// For the one-shot wrappers: uploads the batch's RGB and preprocesses it into planes taken from the pool.
PreprocessOut upload_and_preprocess(exec::Context& c, const Layout& l, const PackedBatch& batch, std::size_t pixels, double bright_fraction,
                                    int balance_target);

// ---- components.cu
struct DeviceLabels {
  std::int32_t* labels;         // per pixel: 0 background, 1..n per image in raster order
  std::uint64_t* first_label;   // images + 1: image i's labels are stats[first_label[i] ...]
  LabelStats* stats;            // `capacity` entries
  std::size_t capacity;
  std::uint32_t* overflow;      // set to 1 when the batch has more labels than capacity
};
void label_components(exec::Context& c, const Layout& l, const std::uint8_t* mask, int connectivity, const DeviceLabels& out);
void fill_holes(exec::Context& c, const Layout& l, const std::uint8_t* mask, std::uint8_t* out);
// Labels of 8-connected masks from the pool: statistics for l.max_labels labels (always enough).
DeviceLabels take_labels(exec::Context& c, const Layout& l, std::uint32_t* overflow);

// One image's labels: statistics of label k (1..count) at label1[k - 1]; per-label flags of
// the batch (one byte per label and one per image for label 0) at index `base` + k.
struct ImageLabels {
  const LabelStats* label1;
  int count;
  std::uint64_t base;
};
HL_HD inline ImageLabels image_labels(const DeviceLabels& d, std::size_t i) {
  const std::uint64_t first = d.first_label[i], end = exec::min_of<std::uint64_t>(d.first_label[i + 1], d.capacity);
  return {d.stats + first, end > first ? int(end - first) : 0, first + i};
}

// ---- morphology.cu (the ellipse of radius <= kMaxMorphRadius; `out` may not alias `in`)
constexpr int kMaxMorphRadius = 31;
void morphology(exec::Context& c, const Layout& l, const std::uint8_t* in, Morph op, int radius, std::uint8_t* out);

// ---- distance.cu: chamfer (3-4) distance to the nearest set pixel (cpu::chamfer_distance).
void chamfer_distance(exec::Context& c, const Layout& l, const std::uint8_t* mask, std::int32_t* out);

// ---- shape.cu: moments, boundary edges and bounding box of each image's mask (the other
// fields of out are left as they are).
void shape_moments(exec::Context& c, const Layout& l, const std::uint8_t* mask, PerImage<features::ShapeAccumulator> out);

// ---- histograms.cu: colour histograms per region (counts: 4 regions x kChannels x 256).
struct DeviceRegionPlanes {
  const std::uint8_t *r, *g, *b, *cell, *nucleus, *background;
};
constexpr int kColourBins = features::kRegions * features::kChannels * 256;
void colour_histograms(exec::Context& c, const Layout& l, const DeviceRegionPlanes& p, PerImage<std::uint32_t> out);

// ---- textures.cu: symmetric GLCM (3 regions x 4 distances x 32 x 32) and LBP (3 x 10, rings
// 1 and 2) of the cell, nucleus and cytoplasm (written).
struct DeviceTextures {
  PerImage<std::uint32_t> glcm, lbp, lbp2;
};
void texture_counts(exec::Context& c, const Layout& l, const std::uint8_t* grey, const std::uint8_t* cell, const std::uint8_t* nucleus,
                    const DeviceTextures& out);

// ---- feature_rows.cu: the shared formulas, one image per item.
void compute_rows(exec::Context& c, const features::ImageAccumulators* acc, std::size_t n, float* rows, std::size_t cols);

// ---- forest_score.cu: every row against every tree; the arrays of `f` are device pointers.
void score_forest(exec::Context& c, const ForestArrays& f, const float* x, std::size_t rows, std::size_t cols, float* scores);

// ---- segment.cu: the segmentation of src/cpu/segment.cpp over a batch, step by step; the
// per-image decisions are cpu/segment_rules.hpp's, one work item per image.
// What each image's segmentation decided (device memory, one per image).
struct CellState {
  std::int32_t stain_threshold, green_threshold, pale_threshold;
  std::int32_t seed;        // the seed's nucleus label, 0: no cell
  std::int32_t cell_label;  // the stained object holding most of the seed, 0: none
  cpu::Window box;          // where the cell can lie: the seed's box and that object's
  double lobe_min_area;     // cpu::LobeRule
  std::int32_t lobe_gap;
  std::int64_t nucleus_area;  // the joined lobes, and their box: the reach's input
  cpu::Window nucleus_box;
  cpu::Window reach_box;    // cpu::ReachRule
  std::int32_t reach;
  std::int32_t keep;        // the piece within reach holding most of the seed
  std::int64_t cell_area, final_nucleus_area;
  std::uint32_t border;     // the cell touches the image border
  std::int32_t other_nucleated;
  std::uint32_t flags;      // QualityFlag bits
};
struct MaskPlanes {
  std::uint8_t *cell, *nucleus, *background;  // 0/1, written whole
};
// state: one per image (written); overflow: set when a batch had more labels than
// l.max_labels (never, by that bound; the caller zeroes it and checks).
void segment(exec::Context& c, const Layout& l, const PreprocessOut& pre, const cpu::SegmentParams& p, const MaskPlanes& out, CellState* state,
             std::uint32_t* overflow);

// ---- measure.cu: every accumulator of src/cpu/measure.cpp (written whole) from the
// segmentation's planes and states.
void measure(exec::Context& c, const Layout& l, const PreprocessOut& pre, const MaskPlanes& m, const CellState* state, std::uint32_t* overflow,
             features::ImageAccumulators* acc);

HEMOLENS_CUDA_END
