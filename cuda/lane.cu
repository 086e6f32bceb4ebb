// The device-resident batch (cuda/lane.hpp): one chain of stages over device memory.
#include <cstring>
#include <memory>
#include <string>

#include "features/feature_row.hpp"
#include "lane.hpp"
#include "stages.cuh"

HEMOLENS_CUDA_BEGIN
namespace {

using features::ImageAccumulators;

struct ProvisionalMasks {
  const std::uint8_t *stain, *green;
  int stain_level, green_level;
  std::uint8_t *cell, *nucleus, *background;
  HL_HD void operator()(const Pixel& px) const {
    cell[px.p] = green[px.p] <= green_level;
    nucleus[px.p] = stain[px.p] > stain_level;
    background[px.p] = green[px.p] > green_level;
  }
};

struct KeepInside {  // a &= b
  std::uint8_t* a;
  const std::uint8_t* b;
  HL_HD void operator()(const Pixel& px) const { a[px.p] = a[px.p] && b[px.p]; }
};

struct InitAccumulators {
  const ImageInfo* image;
  const std::int32_t* background;
  int stain_level, green_level;
  ImageAccumulators* acc;
  HL_HD void operator()(std::size_t i) const {
    ImageAccumulators& a = acc[i];
    a.height = image[i].height;
    a.width = image[i].width;
    for (int c = 0; c < 3; ++c) a.background_rgb[c] = background[3 * i + c];
    a.stain_threshold = stain_level;
    a.green_threshold = green_level;
    for (auto& s : a.shape) s.max_x = s.max_y = -1;  // the empty box, as ShapeAccumulator{}
  }
};

struct Flags {
  const ImageAccumulators* acc;
  std::uint32_t* flags;
  HL_HD void operator()(std::size_t i) const { flags[i] = acc[i].flags; }
};

// Where the parts of one batch's input and output lie in their blobs: the image table then the
// RGB going up; the histograms, flags, rows and accumulators coming down, in that order, so
// that the rows mode downloads a prefix (everything but the accumulators).
struct Blobs {
  std::size_t images_bytes, rgb_bytes, in_bytes;
  std::size_t hist_at, flags_at, rows_at, acc_at, out_bytes;
  Blobs(std::size_t n, std::size_t extent, std::size_t cols) {
    auto up = [](std::size_t b) { return (b + 255) / 256 * 256; };
    images_bytes = up(n * sizeof(ImageInfo));
    rgb_bytes = extent * 3;
    in_bytes = images_bytes + rgb_bytes;
    hist_at = 0;
    flags_at = up(hist_at + 2 * n * 256 * sizeof(std::uint32_t));
    rows_at = up(flags_at + n * sizeof(std::uint32_t));
    acc_at = up(rows_at + n * cols * sizeof(float));
    out_bytes = acc_at + n * sizeof(ImageAccumulators);
  }
};

// Columns of a feature row: what the shared formulas emit (the schema lives in hemolens_core,
// which this library does not link).
std::size_t feature_columns() {
  struct Count {
    int n = 0;
    HL_HD void operator()(const features::FeatureTag&, double) { ++n; }
  };
  static const std::size_t cols = [] {
    const auto acc = std::make_unique<ImageAccumulators>();
    Count count;
    features::emit_features(*acc, count);
    return std::size_t(count.n);
  }();
  return cols;
}

}  // namespace

void provisional_masks(exec::Context& c, const Layout& l, const PreprocessOut& pre, const LaneParams& p, const MaskPlanes& out) {
  c.stage("masks");
  const std::size_t mark = c.mark();
  std::uint8_t *raw = c.take<std::uint8_t>(l.extent), *filled = c.take<std::uint8_t>(l.extent), *stained = c.take<std::uint8_t>(l.extent);
  exec::for_each_pixel(c, l, ProvisionalMasks{pre.stain, pre.green, p.stain_level, p.green_level, raw, stained, out.background});
  fill_holes(c, l, raw, filled);
  morphology(c, l, filled, Morph::kOpen, p.cell_radius, out.cell);
  morphology(c, l, stained, Morph::kOpen, p.nucleus_radius, out.nucleus);
  c.stage("masks");
  exec::for_each_pixel(c, l, KeepInside{out.nucleus, out.cell});
  c.release(mark);
}

void measure_lane(exec::Context& c, const Layout& l, const PreprocessOut& pre, const MaskPlanes& m, const LaneParams& p, ImageAccumulators* acc) {
  c.stage("accumulators");
  c.zero(acc, l.images * sizeof(ImageAccumulators));
  exec::for_each(c, l.images, InitAccumulators{l.image, pre.background, p.stain_level, p.green_level, acc});
  const std::size_t stride = sizeof(ImageAccumulators);
  colour_histograms(c, l, DeviceRegionPlanes{pre.r, pre.g, pre.b, m.cell, m.nucleus, m.background}, strided(acc ? &acc->hist[0][0][0] : nullptr, stride));
  shape_moments(c, l, m.cell, strided(acc ? &acc->shape[features::kCell] : nullptr, stride));
  shape_moments(c, l, m.nucleus, strided(acc ? &acc->shape[features::kNucleus] : nullptr, stride));
  texture_counts(c, l, pre.g, m.cell, m.nucleus,
                 DeviceTextures{strided(acc ? &acc->glcm[0][0][0] : nullptr, stride), strided(acc ? &acc->lbp[0][0] : nullptr, stride),
                                strided(acc ? &acc->lbp2[0][0] : nullptr, stride)});
}

struct Lane::Impl {
  exec::Context c;
  exec::HostBuffer in, out;
  LayoutPlan plan;
  LaneParams params;
  std::size_t cols = 0;
  bool pending = false;
  explicit Impl(Path path) : c(path) {}

  // Every stage of one batch; run once measuring (sizes the pool), then for real.
  void chain() {
    const std::size_t n = plan.images.size(), extent = plan.extent;
    const Blobs b(n, extent, cols);
    c.stage("upload");
    auto* input = c.take<unsigned char>(b.in_bytes);
    c.upload(input, in.data(), b.in_bytes);
    auto* output = c.take<unsigned char>(b.out_bytes);
    c.zero(output, b.out_bytes);  // every byte that goes down is written (rows stay 0 without `rows`)
    const Layout l = build_layout(c, plan, reinterpret_cast<const ImageInfo*>(input));
    const std::uint8_t* rgb = input ? input + b.images_bytes : nullptr;

    PreprocessOut pre;
    for (std::uint8_t** p : {&pre.r, &pre.g, &pre.b, &pre.stain, &pre.green}) *p = c.take<std::uint8_t>(extent);
    pre.background = c.take<std::int32_t>(n * 3);
    auto* hist = reinterpret_cast<std::uint32_t*>(output ? output + b.hist_at : nullptr);
    pre.stain_hist = hist;
    pre.green_hist = hist ? hist + n * 256 : nullptr;
    preprocess(c, l, rgb, params.bright_fraction, params.balance_target, pre);
    const MaskPlanes masks{c.take<std::uint8_t>(extent), c.take<std::uint8_t>(extent), c.take<std::uint8_t>(extent)};
    provisional_masks(c, l, pre, params, masks);
    auto* acc = reinterpret_cast<ImageAccumulators*>(output ? output + b.acc_at : nullptr);
    measure_lane(c, l, pre, masks, params, acc);
    exec::for_each(c, n, Flags{acc, reinterpret_cast<std::uint32_t*>(output ? output + b.flags_at : nullptr)});
    if (params.rows) compute_rows(c, acc, n, reinterpret_cast<float*>(output ? output + b.rows_at : nullptr), cols);

    c.stage("download");
    c.download(this->out.data(), output, params.rows ? b.acc_at : b.out_bytes);
  }
};

Lane::Lane(Path path) : impl_(std::make_unique<Impl>(path)) {}
Lane::~Lane() = default;

bool Lane::submit(const PackedBatch& batch, const LaneParams& params, std::string* error) {
  Impl& m = *impl_;
  if (m.pending) {
    if (error) *error = "lane: a batch is already in flight (wait for it first)";
    return false;
  }
  m.c.clear_error();
  m.c.stage("submit");
  std::vector<std::size_t> pixel_offset(batch.images);
  for (std::size_t i = 0; i < batch.images; ++i) {
    if (batch.offsets[i] % 3) {
      if (error) *error = "packed batch: image " + std::to_string(i) + " starts at a byte offset that is not a multiple of 3";
      return false;
    }
    pixel_offset[i] = batch.offsets[i] / 3;
  }
  if (!plan_layout(pixel_offset.data(), batch.heights, batch.widths, batch.images, m.plan, error)) return false;
  m.params = params;
  m.cols = feature_columns();
  const Blobs b(batch.images, m.plan.extent, m.cols);
  // Into page-locked staging: the image table, then the RGB (gaps included, never read).
  if (!m.in.ensure(m.c, b.in_bytes) || !m.out.ensure(m.c, b.out_bytes)) {
    if (error) *error = m.c.error();
    return false;
  }
  if (batch.images) std::memcpy(m.in.data(), m.plan.images.data(), batch.images * sizeof(ImageInfo));
  if (b.rgb_bytes) std::memcpy(m.in.data() + b.images_bytes, batch.rgb, b.rgb_bytes);
  m.c.measure();
  m.chain();
  m.c.stage("scratch");
  if (m.c.reserve(m.c.peak())) m.chain();
  m.pending = !m.c.failed();
  if (m.c.failed() && error) *error = m.c.error();
  return !m.c.failed();
}

bool Lane::wait(LaneResult& out, std::string* error) {
  Impl& m = *impl_;
  if (!m.pending) {
    if (error) *error = "lane: no batch in flight";
    return false;
  }
  m.pending = false;
  if (!m.c.finish()) {
    if (error) *error = m.c.error();
    return false;
  }
  const std::size_t n = m.plan.images.size();
  const Blobs b(n, m.plan.extent, m.cols);
  out = LaneResult{};
  out.images = n;
  out.cols = m.cols;
  const unsigned char* o = m.out.data();
  const auto* hist = reinterpret_cast<const std::uint32_t*>(o + b.hist_at);
  out.stain_hist.assign(hist, hist + n * 256);
  out.green_hist.assign(hist + n * 256, hist + 2 * n * 256);
  const auto* flags = reinterpret_cast<const std::uint32_t*>(o + b.flags_at);
  out.flags.assign(flags, flags + n);
  if (m.params.rows) {
    const auto* rows = reinterpret_cast<const float*>(o + b.rows_at);
    out.rows.assign(rows, rows + n * m.cols);
  } else {
    out.acc.resize(n);
    if (n) std::memcpy(static_cast<void*>(out.acc.data()), o + b.acc_at, n * sizeof(ImageAccumulators));
  }
  return true;
}

LaneCounters Lane::counters() const {
  const exec::Counters& k = impl_->c.counters();
  return {k.reservations, k.uploads, k.downloads, k.syncs};
}

HEMOLENS_CUDA_END
