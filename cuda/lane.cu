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

struct Flags {
  const ImageAccumulators* acc;
  std::uint32_t* flags;
  HL_HD void operator()(std::size_t i) const { flags[i] = acc[i].flags; }
};

// Where the parts of one batch's input and output lie in their blobs: the image table then the
// RGB going up; the flags, a status word, the rows, the threshold histograms and the
// accumulators coming down, in that order, so that the rows mode downloads a prefix (flags,
// status and rows).
struct Blobs {
  std::size_t images_bytes, rgb_bytes, in_bytes;
  std::size_t flags_at, status_at, rows_at, hist_at, acc_at, out_bytes;
  Blobs(std::size_t n, std::size_t extent, std::size_t cols) {
    auto up = [](std::size_t b) { return (b + 255) / 256 * 256; };
    images_bytes = up(n * sizeof(ImageInfo));
    rgb_bytes = extent * 3;
    in_bytes = images_bytes + rgb_bytes;
    flags_at = 0;
    status_at = up(flags_at + n * sizeof(std::uint32_t));
    rows_at = up(status_at + sizeof(std::uint32_t));
    hist_at = up(rows_at + n * cols * sizeof(float));
    acc_at = up(hist_at + 2 * n * 256 * sizeof(std::uint32_t));
    out_bytes = acc_at + n * sizeof(ImageAccumulators);
  }
  std::size_t download_bytes(bool rows) const { return rows ? hist_at : out_bytes; }
};

}  // namespace

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

struct Lane::Impl {
  exec::Context c;
  exec::HostBuffer in, out;
  exec::Timer timer{c};
  LayoutPlan plan;
  LaneParams params;
  std::size_t cols = 0;
  bool pending = false, out_of_memory = false;
  explicit Impl(Path path) : c(path) {}

  // Every stage of one batch; run once measuring (sizes the pool), then for real.
  void chain() {
    const std::size_t n = plan.images.size(), extent = plan.extent;
    const Blobs b(n, extent, cols);
    c.stage("upload");
    if (!c.measuring()) timer.start();
    auto* input = c.take<unsigned char>(b.in_bytes);
    c.upload(input, in.data(), b.in_bytes);
    auto* output = c.take<unsigned char>(b.out_bytes);
    c.zero(output, b.out_bytes);  // every byte that goes down is written (rows stay 0 without `rows`)
    auto at = [&](std::size_t offset) { return output ? output + offset : nullptr; };
    const Layout l = build_layout(c, plan, reinterpret_cast<const ImageInfo*>(input));
    const std::uint8_t* rgb = input ? input + b.images_bytes : nullptr;

    PreprocessOut pre;
    for (std::uint8_t** p : {&pre.r, &pre.g, &pre.b, &pre.stain, &pre.green}) *p = c.take<std::uint8_t>(extent);
    pre.background = c.take<std::int32_t>(n * 3);
    auto* hist = reinterpret_cast<std::uint32_t*>(at(b.hist_at));
    pre.stain_hist = hist;
    pre.green_hist = hist ? hist + n * 256 : nullptr;
    preprocess(c, l, rgb, params.segment.bright_fraction, params.segment.balance_target, pre);
    const MaskPlanes masks{c.take<std::uint8_t>(extent), c.take<std::uint8_t>(extent), c.take<std::uint8_t>(extent)};
    auto* state = c.take<CellState>(n);
    auto* status = reinterpret_cast<std::uint32_t*>(at(b.status_at));
    segment(c, l, pre, params.segment, masks, state, status);
    auto* acc = reinterpret_cast<ImageAccumulators*>(at(b.acc_at));
    measure(c, l, pre, masks, state, status, acc);
    c.stage("flags");
    exec::for_each(c, n, Flags{acc, reinterpret_cast<std::uint32_t*>(at(b.flags_at))});
    if (params.rows) compute_rows(c, acc, n, reinterpret_cast<float*>(at(b.rows_at)), cols);

    c.stage("download");
    c.download(this->out.data(), output, b.download_bytes(params.rows));
    if (!c.measuring()) timer.stop();
  }
};

Lane::Lane(Path path) : impl_(std::make_unique<Impl>(path)) {}
Lane::~Lane() = default;

std::size_t Lane::scratch_bytes(const PackedBatch& batch, const LaneParams& params, std::string* error) {
  Impl& m = *impl_;
  if (m.pending) {
    if (error) *error = "lane: a batch is in flight (wait for it first)";
    return 0;
  }
  if (!plan_packed_batch(batch, m.plan, error)) return 0;
  m.params = params;
  m.cols = feature_columns();
  m.c.clear_error();
  m.c.measure();
  m.chain();
  const std::size_t bytes = m.c.peak();
  m.c.reserve(0);  // ends measuring and keeps the pool as it is
  return bytes;
}

bool Lane::submit(const PackedBatch& batch, const LaneParams& params, std::string* error) {
  Impl& m = *impl_;
  if (m.pending) {
    if (error) *error = "lane: a batch is already in flight (wait for it first)";
    return false;
  }
  m.c.clear_error();
  m.out_of_memory = false;
  m.c.stage("submit");
  if (!plan_packed_batch(batch, m.plan, error)) return false;
  m.params = params;
  m.cols = feature_columns();
  const Blobs b(batch.images, m.plan.extent, m.cols);
  // Into page-locked staging: the image table, then the RGB (gaps included, never read).
  if (!m.in.ensure(m.c, b.in_bytes) || !m.out.ensure(m.c, b.out_bytes)) {
    m.out_of_memory = true;
    if (error) *error = m.c.error();
    return false;
  }
  if (batch.images) std::memcpy(m.in.data(), m.plan.images.data(), batch.images * sizeof(ImageInfo));
  if (b.rgb_bytes) std::memcpy(m.in.data() + b.images_bytes, batch.rgb, b.rgb_bytes);
  m.c.measure();
  m.chain();
  m.c.stage("scratch");
  if (m.c.reserve(m.c.peak())) m.chain();
  else m.out_of_memory = true;
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
  const unsigned char* o = m.out.data();
  if (n && *reinterpret_cast<const std::uint32_t*>(o + b.status_at)) {
    // Cannot happen (Layout::max_labels is an upper bound), but a wrong count must not pass.
    if (error) *error = "lane: a batch had more connected components than the label statistics hold";
    return false;
  }
  out = LaneResult{};
  out.images = n;
  out.cols = m.cols;
  out.device_ms = m.timer.ms();
  const auto* flags = reinterpret_cast<const std::uint32_t*>(o + b.flags_at);
  out.flags.assign(flags, flags + n);
  if (m.params.rows) {
    const auto* rows = reinterpret_cast<const float*>(o + b.rows_at);
    out.rows.assign(rows, rows + n * m.cols);
  } else {
    const auto* hist = reinterpret_cast<const std::uint32_t*>(o + b.hist_at);
    out.stain_hist.assign(hist, hist + n * 256);
    out.green_hist.assign(hist + n * 256, hist + 2 * n * 256);
    out.acc.resize(n);
    if (n) std::memcpy(static_cast<void*>(out.acc.data()), o + b.acc_at, n * sizeof(ImageAccumulators));
  }
  return true;
}

bool Lane::out_of_memory() const { return impl_->out_of_memory; }

LaneCounters Lane::counters() const {
  const exec::Counters& k = impl_->c.counters();
  return {k.reservations, k.uploads, k.downloads, k.syncs};
}

HEMOLENS_CUDA_END
