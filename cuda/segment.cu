// The segmentation of src/cpu/segment.cpp over a batch (cuda/stages.cuh), step for step:
//   1. thresholds from the smoothed planes' histograms (one item per image: the shared Otsu);
//   2. nucleus candidates: stain above its threshold, opened;
//   3. stained objects (green up to the pale threshold, or a candidate), holes filled, opened;
//      the background (green above its threshold, not a candidate);
//   4. both labelled (8-connected) with their statistics;
//   5. the seed (one item per image: cpu::pick_seed);
//   6. the object holding most seed pixels (atomic counts per object label, then one item per
//      image takes the first largest, as std::max_element does), and the cell's box;
//   7. the cell: that object and the seed inside the box, holes filled;
//   8. the nucleus: lobes present in the cell (pixels mark their label), joined across gaps
//      (one item per image: cpu::join_lobes, its chamfer crops in the image's own scratch);
//   9. the reach cut: the nucleus's area and box (atomics per row), the reach window (one item
//      per image: cpu::reach_rule), the chamfer distance to the nucleus in it (one item per
//      image), the cell within reach labelled, the piece holding most of the seed, holes filled;
//  10. the nucleus cut to the cell, the areas, the nucleus components the cell touches, the
//      border, and the quality flags (one item per image: cpu::quality_flags).
// Every decision the CPU takes with a loop over an image's pixels in some order is here either
// the same loop in one work item, or a sum, minimum, maximum or "mark this label" over pixels,
// which any order of atomics gives the same. Pixels outside an image's box are written too (0),
// so no plane needs zeroing first; the same pass restricted to the box is the CPU's box loop.
#include <string>
#include <vector>

#include "segment.hpp"
#include "stages.cuh"

HEMOLENS_CUDA_BEGIN
namespace {

using cpu::Window;

struct Thresholds {
  const std::uint32_t *stain_hist, *green_hist;
  cpu::SegmentParams sp;
  CellState* state;
  HL_HD void operator()(std::size_t i) const {
    CellState& s = state[i];
    s.stain_threshold = cpu::stain_threshold(stain_hist + 256 * i, sp);
    s.green_threshold = features::otsu_threshold(green_hist + 256 * i);
    s.pale_threshold = cpu::pale_threshold(s.green_threshold, sp);
    s.box = s.nucleus_box = s.reach_box = Window{};  // empty until a seed is found
  }
};

struct AboveStainThreshold {
  const std::uint8_t* stain;
  const CellState* state;
  std::uint8_t* out;
  HL_HD void operator()(const Pixel& px) const { out[px.p] = stain[px.p] > state[px.image].stain_threshold; }
};

// Objects reach paler than the threshold (pale cytoplasm); the background keeps the Otsu split.
struct StainedAndBackground {
  const std::uint8_t *green, *candidates;
  const CellState* state;
  std::uint8_t *stained, *background;
  HL_HD void operator()(const Pixel& px) const {
    const CellState& s = state[px.image];
    const int g = green[px.p];
    const bool candidate = candidates[px.p] != 0;
    stained[px.p] = g <= s.pale_threshold || candidate;
    background[px.p] = !(g <= s.green_threshold || candidate);
  }
};

struct PickSeed {
  const ImageInfo* image;
  DeviceLabels nuclei;
  int min_area;
  CellState* state;
  HL_HD void operator()(std::size_t i) const {
    const ImageLabels n = image_labels(nuclei, i);
    state[i].seed = cpu::pick_seed(n.label1, n.count, image[i].height, image[i].width, min_area);
  }
};

// Seed pixels count for the object under them. Additions commute.
struct SeedOverlap {
  const std::int32_t *nucleus_labels, *object_labels;
  const std::uint64_t* object_first;
  const CellState* state;
  std::uint32_t* overlap;  // per object label of the batch
  HL_HD void operator()(const Pixel& px) const {
    const std::int32_t seed = state[px.image].seed, o = object_labels[px.p];
    if (seed > 0 && nucleus_labels[px.p] == seed && o > 0) exec::atomic_add(overlap[object_first[px.image] + std::uint64_t(o - 1)], 1u);
  }
};

// The first label with the most pixels (none when every count is 0): std::max_element over
// counts whose entry 0 is 0, as the CPU takes it.
HL_HD inline int first_largest(const std::uint32_t* counts, int labels) {
  int best = 0;
  std::uint32_t most = 0;
  for (int k = 1; k <= labels; ++k)
    if (counts[k - 1] > most) most = counts[k - 1], best = k;
  return best;
}

struct ChooseCell {
  DeviceLabels nuclei, objects;
  const std::uint32_t* overlap;
  cpu::SegmentParams sp;
  CellState* state;
  HL_HD void operator()(std::size_t i) const {
    CellState& s = state[i];
    if (s.seed == 0) return;
    const ImageLabels n = image_labels(nuclei, i), o = image_labels(objects, i);
    s.cell_label = first_largest(overlap + objects.first_label[i], o.count);
    const LabelStats& seed = n.label1[s.seed - 1];
    s.box = Window::of(seed);
    if (s.cell_label > 0) s.box.add(o.label1[s.cell_label - 1]);
    const cpu::LobeRule rule = cpu::lobe_rule(seed.area, sp);
    s.lobe_min_area = rule.min_area;
    s.lobe_gap = rule.gap;
    s.nucleus_box = {s.box.x1, s.box.y1, s.box.x0, s.box.y0};  // shrunk onto the nucleus by atomics
  }
};

struct CellOfSeed {
  const std::int32_t *nucleus_labels, *object_labels;
  const CellState* state;
  std::uint8_t* out;
  HL_HD void operator()(const Pixel& px) const {
    const CellState& s = state[px.image];
    out[px.p] = s.box.contains(px.y, px.x) && ((s.cell_label > 0 && object_labels[px.p] == s.cell_label) || nucleus_labels[px.p] == s.seed);
  }
};

// A lobe pixel: a candidate inside the (filled) cell whose component is large enough.
struct Lobes {
  const std::uint8_t *candidates, *cell;
  DeviceLabels nuclei;
  HL_HD bool is_lobe(std::uint64_t p, std::size_t image, const CellState& s) const {
    if (!candidates[p] || !cell[p]) return false;
    return double(nuclei.stats[nuclei.first_label[image] + std::uint64_t(nuclei.labels[p] - 1)].area) >= s.lobe_min_area;
  }
};

// Marks the labels that have a lobe pixel in the box (the same value from every such pixel).
struct PresentLobes {
  Lobes lobes;
  const CellState* state;
  std::uint8_t* present;
  HL_HD void operator()(const Pixel& px) const {
    const CellState& s = state[px.image];
    if (!s.box.contains(px.y, px.x) || !lobes.is_lobe(px.p, px.image, s)) return;
    const std::uint64_t base = lobes.nuclei.first_label[px.image] + px.image;
    exec::atomic_store(present[base + std::uint64_t(lobes.nuclei.labels[px.p])], std::uint8_t(1));
  }
};

// The rounds of joining, one image per item: the CPU's code (cpu::join_lobes) over the image's
// planes, its crops in the image's own part of the scratch planes.
struct JoinLobes {
  const ImageInfo* image;
  Lobes lobes;
  const std::uint8_t* present;
  std::uint8_t* in;
  std::uint8_t* crop;
  std::int32_t* dist;
  CellState* state;
  HL_HD void operator()(std::size_t i) const {
    const CellState& s = state[i];
    if (s.seed == 0) return;
    const ImageInfo m = image[i];
    const ImageLabels n = image_labels(lobes.nuclei, i);
    std::uint8_t* joined = in + n.base;
    joined[s.seed] = 1;
    const std::int32_t* labels = lobes.nuclei.labels + m.offset;
    auto label_at = [&](int y, int x) { return std::size_t(labels[std::size_t(y) * std::size_t(m.width) + std::size_t(x)]); };
    auto is_lobe = [&](int y, int x) { return lobes.is_lobe(m.offset + std::uint64_t(y) * std::uint64_t(m.width) + std::uint64_t(x), i, s); };
    cpu::join_lobes(n.label1, n.count, s.seed, s.lobe_gap, present + n.base, joined, label_at, is_lobe, crop + m.offset, dist + m.offset);
  }
};

struct KeepLobes {
  Lobes lobes;
  const std::uint8_t* in;
  const CellState* state;
  std::uint8_t* out;
  HL_HD void operator()(const Pixel& px) const {
    const CellState& s = state[px.image];
    const std::uint64_t base = lobes.nuclei.first_label[px.image] + px.image;
    out[px.p] = s.box.contains(px.y, px.x) && lobes.is_lobe(px.p, px.image, s) && in[base + std::uint64_t(lobes.nuclei.labels[px.p])];
  }
};

// The nucleus's area and box within the cell's box: per row, then one set of atomics
// (sums, minima and maxima commute).
struct NucleusExtent {
  const std::uint8_t* nucleus;
  CellState* state;
  HL_HD void operator()(const Row& row) const {
    CellState& s = state[row.image];
    if (row.y < s.box.y0 || row.y > s.box.y1) return;
    const std::uint8_t* m = nucleus + row.start;
    std::int64_t n = 0;
    int x0 = -1, x1 = -1;
    for (int x = s.box.x0; x <= s.box.x1; ++x)
      if (m[x]) {
        ++n;
        if (x0 < 0) x0 = x;
        x1 = x;
      }
    if (!n) return;
    exec::atomic_add(s.nucleus_area, n);
    exec::atomic_min(s.nucleus_box.x0, x0);
    exec::atomic_max(s.nucleus_box.x1, x1);
    exec::atomic_min(s.nucleus_box.y0, row.y);
    exec::atomic_max(s.nucleus_box.y1, row.y);
  }
};

// The reach window, then the chamfer distance to the nucleus inside it (one image per item).
struct ReachDistance {
  const ImageInfo* image;
  const std::uint8_t* nucleus;
  cpu::SegmentParams sp;
  CellState* state;
  std::int32_t* dist;
  HL_HD void operator()(std::size_t i) const {
    CellState& s = state[i];
    if (s.seed == 0) return;
    const cpu::ReachRule rule = cpu::reach_rule(s.nucleus_area, s.nucleus_box, s.box, sp);
    s.reach_box = rule.box;
    s.reach = rule.reach;
    const ImageInfo m = image[i];
    const std::size_t w = std::size_t(m.width), at = m.offset + std::size_t(rule.box.y0) * w + std::size_t(rule.box.x0);
    cpu::chamfer_passes(nucleus + at, w, dist + at, w, rule.box.height(), rule.box.width());
  }
};

struct WithinReach {
  const std::uint8_t* cell;
  const std::int32_t* dist;
  const CellState* state;
  std::uint8_t* out;
  HL_HD void operator()(const Pixel& px) const {
    const CellState& s = state[px.image];
    out[px.p] = s.reach_box.contains(px.y, px.x) && cell[px.p] && dist[px.p] <= s.reach;
  }
};

struct SeedInPiece {
  const std::int32_t* nucleus_labels;
  DeviceLabels pieces;
  const CellState* state;
  std::uint32_t* overlap;
  HL_HD void operator()(const Pixel& px) const {
    const CellState& s = state[px.image];
    const std::int32_t k = pieces.labels[px.p];
    if (s.seed > 0 && k > 0 && s.reach_box.contains(px.y, px.x) && nucleus_labels[px.p] == s.seed)
      exec::atomic_add(overlap[pieces.first_label[px.image] + std::uint64_t(k - 1)], 1u);
  }
};

struct KeepPiece {
  DeviceLabels pieces;
  const std::uint32_t* overlap;
  CellState* state;
  HL_HD void operator()(std::size_t i) const {
    if (state[i].seed > 0) state[i].keep = first_largest(overlap + pieces.first_label[i], image_labels(pieces, i).count);
  }
};

struct Piece {
  const std::int32_t* labels;
  const CellState* state;
  std::uint8_t* out;
  HL_HD void operator()(const Pixel& px) const {
    const std::int32_t keep = state[px.image].keep;
    out[px.p] = keep > 0 && labels[px.p] == keep;
  }
};

// The nucleus cut to the final cell, and per row: the cell's and the nucleus's areas, whether
// the cell touches the border, and the nucleus components it touches (a label is marked with
// the same value by every pixel, once per run of it in a row).
struct CellPixels {
  const std::uint8_t *cell, *lobes;
  DeviceLabels nuclei;
  CellState* state;
  std::uint8_t* touches;
  std::uint8_t* nucleus;
  HL_HD void operator()(const Row& row) const {
    const std::uint8_t *c = cell + row.start, *lobe = lobes + row.start;
    const std::int32_t* label = nuclei.labels + row.start;
    std::uint8_t* n = nucleus + row.start;
    const std::uint64_t base = nuclei.first_label[row.image] + row.image;
    std::int64_t cells = 0, nuclei_px = 0;
    bool border = false;
    std::int32_t marked = 0;
    for (int x = 0; x < row.width; ++x) {
      n[x] = lobe[x] && c[x];
      if (!c[x]) continue;
      ++cells;
      nuclei_px += n[x];
      if (label[x] > 0 && label[x] != marked) {
        exec::atomic_store(touches[base + std::uint64_t(label[x])], std::uint8_t(1));
        marked = label[x];
      }
      border |= x == 0 || row.y == 0 || x == row.width - 1 || row.y == row.height - 1;
    }
    if (!cells) return;
    CellState& s = state[row.image];
    exec::atomic_add(s.cell_area, cells);
    exec::atomic_add(s.final_nucleus_area, nuclei_px);
    if (border) exec::atomic_store(s.border, 1u);
  }
};

struct Flags {
  const ImageInfo* image;
  DeviceLabels nuclei;
  const std::uint8_t* touches;
  cpu::SegmentParams sp;
  CellState* state;
  HL_HD void operator()(std::size_t i) const {
    CellState& s = state[i];
    if (s.seed == 0) {
      s.flags = kNoCell;
      return;
    }
    const ImageInfo m = image[i];
    const ImageLabels n = image_labels(nuclei, i);
    int other = 0;
    for (int k = 1; k <= n.count; ++k) other += cpu::other_nucleus(n.label1[k - 1], touches[n.base + std::uint64_t(k)] != 0, m.height, m.width, sp);
    s.other_nucleated = other;
    s.flags = cpu::quality_flags(s.cell_area, s.final_nucleus_area, s.border != 0, other, m.height, m.width, sp);
  }
};

}  // namespace

void segment(exec::Context& c, const Layout& l, const PreprocessOut& pre, const cpu::SegmentParams& sp, const MaskPlanes& out, CellState* state,
             std::uint32_t* overflow) {
  c.stage("segment");
  const std::size_t mark = c.mark(), n = l.images, flags_size = l.max_labels + n;  // a byte per label, and label 0 of each image
  auto plane = [&] { return c.take<std::uint8_t>(l.extent); };
  std::uint8_t *candidates = plane(), *a = plane(), *b = plane(), *cell = plane(), *lobes = plane();
  auto* dist = c.take<std::int32_t>(l.extent);
  auto* overlap = c.take<std::uint32_t>(l.max_labels);
  std::uint8_t *present = c.take<std::uint8_t>(flags_size), *in = c.take<std::uint8_t>(flags_size);
  const DeviceLabels nuclei = take_labels(c, l, overflow), objects = take_labels(c, l, overflow);
  c.zero(state, n * sizeof(CellState));
  c.zero(present, flags_size);
  c.zero(in, flags_size);

  // 1-4: thresholds, candidates, objects, background, their components.
  exec::for_each(c, n, Thresholds{pre.stain_hist, pre.green_hist, sp, state});
  exec::for_each_pixel(c, l, AboveStainThreshold{pre.stain, state, a});
  morphology(c, l, a, Morph::kOpen, sp.nucleus_open_radius, candidates);
  c.stage("segment");
  exec::for_each_pixel(c, l, StainedAndBackground{pre.green, candidates, state, a, out.background});
  fill_holes(c, l, a, b);
  morphology(c, l, b, Morph::kOpen, sp.cell_open_radius, a);
  label_components(c, l, candidates, 8, nuclei);
  label_components(c, l, a, 8, objects);

  // 5-7: the seed, the object holding it, the cell.
  c.stage("segment");
  exec::for_each(c, n, PickSeed{l.image, nuclei, sp.min_seed_area, state});
  c.zero(overlap, l.max_labels * sizeof(std::uint32_t));
  exec::for_each_pixel(c, l, SeedOverlap{nuclei.labels, objects.labels, objects.first_label, state, overlap});
  exec::for_each(c, n, ChooseCell{nuclei, objects, overlap, sp, state});
  exec::for_each_pixel(c, l, CellOfSeed{nuclei.labels, objects.labels, state, a});
  fill_holes(c, l, a, cell);

  // 8: the lobes of the seed's nucleus (b holds the rounds' crops).
  c.stage("segment");
  const Lobes lobe{candidates, cell, nuclei};
  exec::for_each_pixel(c, l, PresentLobes{lobe, state, present});
  exec::for_each(c, n, JoinLobes{l.image, lobe, present, in, b, dist, state}, exec::kSerialThreads);
  exec::for_each_pixel(c, l, KeepLobes{lobe, in, state, lobes});

  // 9: the cell cut to the reach of the nucleus (the objects' labels are done with: their
  // memory holds the pieces').
  exec::for_each_row(c, l, NucleusExtent{lobes, state});
  exec::for_each(c, n, ReachDistance{l.image, lobes, sp, state, dist}, exec::kSerialThreads);
  exec::for_each_pixel(c, l, WithinReach{cell, dist, state, a});
  const DeviceLabels& pieces = objects;
  label_components(c, l, a, 8, pieces);
  c.stage("segment");
  c.zero(overlap, l.max_labels * sizeof(std::uint32_t));
  exec::for_each_pixel(c, l, SeedInPiece{nuclei.labels, pieces, state, overlap});
  exec::for_each(c, n, KeepPiece{pieces, overlap, state});
  exec::for_each_pixel(c, l, Piece{pieces.labels, state, b});
  fill_holes(c, l, b, out.cell);

  // 10: the nucleus inside the cell, areas, touched components, flags (present's bytes are
  // done with: they mark the touched components now).
  c.stage("segment");
  std::uint8_t* touches = present;
  c.zero(touches, flags_size);
  exec::for_each_row(c, l, CellPixels{out.cell, lobes, nuclei, state, touches, out.nucleus});
  exec::for_each(c, n, Flags{l.image, nuclei, touches, sp, state});
  c.release(mark);
}

bool segment(const PackedBatch& batch, const cpu::SegmentParams& params, Segmented& out, std::string* error, Path path) {
  out = Segmented{};
  const std::size_t n = batch.images;
  LayoutPlan plan;
  if (!plan_packed_batch(batch, plan, error)) return false;
  const std::size_t pixels = plan.extent;
  for (auto* v : {&out.cell, &out.nucleus, &out.background}) v->assign(pixels, 0);
  std::vector<CellState> state(n);
  std::uint32_t overflow = 0;
  const bool ok = exec::run_once(
      path,
      [&](exec::Context& c) {
        const Layout l = upload_layout(c, plan);
        const PreprocessOut pre = upload_and_preprocess(c, l, batch, pixels, params.bright_fraction, params.balance_target);
        const MaskPlanes m{c.take<std::uint8_t>(pixels), c.take<std::uint8_t>(pixels), c.take<std::uint8_t>(pixels)};
        for (std::uint8_t* p : {m.cell, m.nucleus, m.background}) c.zero(p, pixels);  // the gaps go down too
        auto* d_state = c.take<CellState>(n);
        auto* d_overflow = c.take<std::uint32_t>(1);
        c.zero(d_overflow, sizeof(std::uint32_t));
        segment(c, l, pre, params, m, d_state, d_overflow);
        c.stage("download");
        c.download(out.cell.data(), m.cell, pixels);
        c.download(out.nucleus.data(), m.nucleus, pixels);
        c.download(out.background.data(), m.background, pixels);
        c.download(state.data(), d_state, n * sizeof(CellState));
        c.download(&overflow, d_overflow, sizeof overflow);
      },
      error);
  if (!ok) return false;
  if (overflow) {
    if (error) *error = "segment: more connected components than the label statistics hold";
    return false;
  }
  for (const CellState& s : state) {
    out.stain_threshold.push_back(s.stain_threshold);
    out.green_threshold.push_back(s.green_threshold);
    out.other_nucleated.push_back(s.other_nucleated);
    out.flags.push_back(s.flags);
  }
  return true;
}

HEMOLENS_CUDA_END
