#include "pipeline/extract.hpp"

#include <tbb/global_control.h>      // for --threads
#include <tbb/info.h>                // for the default thread count
#include <tbb/parallel_pipeline.h>   // for the bounded decode -> backend -> write pipeline

#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>

#include "hemolens/crash_point.hpp"
#include "hemolens/schema.hpp"
#include "hemolens/store.hpp"
#include "hemolens/version.hpp"

namespace hemolens {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// One batch in flight: its slice of the entries, the decoded images with their store
// rows (filled at decode), the feature rows, and what could not be decoded.
struct Work {
  std::size_t begin = 0, end = 0;
  ImageBatch images;
  std::vector<StoreRow> rows;
  std::vector<SkippedImage> skipped;
  FeatureRows features;
};

StoreMeta make_meta(const ExtractOptions& opt, const Backend& backend) {
  const FeatureSchema& schema = feature_schema();
  StoreMeta meta;
  meta.schema_version = schema.version;
  meta.schema_hash = schema.hash;
  meta.engine_version = kEngineVersion;
  meta.backend = backend.name();
  meta.device = backend.device();
  meta.shard_index = opt.shard.index;
  meta.shard_count = opt.shard.count;
  meta.dataset = opt.input.string();
  const nlohmann::json params = {{"segmentation", nlohmann::json::parse(backend.parameters_json())},
                                 {"decode", {{"min_side", opt.limits.min_side}, {"max_pixels", opt.limits.max_pixels}}},
                                 {"batch_size", opt.batch_size}};
  meta.parameters_json = params.dump();
  return meta;
}

void decode_batch(const Dataset& ds, const DecodeLimits& limits, Work& w) {
  for (std::size_t i = w.begin; i < w.end; ++i) {
    const DatasetEntry& e = ds.entries[i];
    DecodeResult r = decode_file(e.path, limits);
    if (!r.image) {
      w.skipped.push_back({e.rel_path, r.reason});
      continue;
    }
    // Room for the whole batch at the first image's size (a dataset's images are mostly
    // one size): the buffer is not grown and copied again image after image.
    if (w.images.size() == 0) w.images.pixels.reserve(r.image->rgb.size() * (w.end - i));
    w.images.add(r.image->rgb.data(), r.image->height, r.image->width, i);
    w.rows.push_back({std::move(r.image->id), e.rel_path, e.label, r.image->height, r.image->width, 0});
  }
}

}  // namespace

ExtractSummary run_extract(const ExtractOptions& opt, const ProgressFn& progress) {
  std::string note;
  std::unique_ptr<Backend> backend = make_backend(opt.backend, &note);
  ExtractSummary sum = run_extract(opt, std::move(backend), progress);
  sum.backend_note = note;
  return sum;
}

ExtractSummary run_extract(const ExtractOptions& opt, std::unique_ptr<Backend> backend, const ProgressFn& progress) {
  const auto t_start = Clock::now();
  Dataset ds = scan_dataset(opt.input);
  keep_shard(ds, opt.shard);

  ExtractSummary sum;
  sum.threads = opt.threads > 0 ? opt.threads : tbb::info::default_concurrency();
  tbb::global_control limit(tbb::global_control::max_allowed_parallelism, std::size_t(sum.threads));
  sum.backend = backend->name();
  sum.device = backend->device();

  const FeatureSchema& schema = feature_schema();
  StoreWriter writer(opt.output, schema.names(), schema.groups(), ds.classes, make_meta(opt, *backend));
  writer.add_skipped(ds.skipped);
  sum.skipped = ds.skipped;

  const std::size_t total = ds.entries.size();
  const std::size_t batch = std::size_t(std::max(1, opt.batch_size));
  std::size_t next = 0, done = 0;
  std::atomic<std::int64_t> decode_ns{0};
  double write_s = 0;

  auto source = [&](tbb::flow_control& fc) -> std::shared_ptr<Work> {
    if (next >= total) {
      fc.stop();
      return nullptr;
    }
    auto w = std::make_shared<Work>();
    w->begin = next;
    w->end = std::min(total, next + batch);
    next = w->end;
    return w;
  };
  auto decode = [&](std::shared_ptr<Work> w) {
    const auto t0 = Clock::now();
    decode_batch(ds, opt.limits, *w);
    decode_ns += std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count();
    return w;
  };
  auto extract = [&](std::shared_ptr<Work> w) {
    backend->extract(w->images, w->features);
    w->images = ImageBatch{};  // free the pixels while the batch waits for the writer
    return w;
  };
  auto write = [&](std::shared_ptr<Work> w) {
    const auto t0 = Clock::now();
    for (std::size_t j = 0; j < w->rows.size(); ++j) {
      w->rows[j].flags = w->features.flags[j];
      sum.flagged += w->rows[j].flags != 0;
    }
    writer.append(w->rows, w->features.values.data());
    writer.add_skipped(w->skipped);
    sum.images += w->rows.size();
    sum.skipped.insert(sum.skipped.end(), w->skipped.begin(), w->skipped.end());
    done = w->end;
    write_s += seconds_since(t0);
    crash_point("extract:batch-written");
    if (progress) progress(done, total);
  };

  tbb::parallel_pipeline(
      std::size_t(2 * sum.threads),
      tbb::make_filter<void, std::shared_ptr<Work>>(tbb::filter_mode::serial_in_order, source) &
          tbb::make_filter<std::shared_ptr<Work>, std::shared_ptr<Work>>(tbb::filter_mode::parallel, decode) &
          tbb::make_filter<std::shared_ptr<Work>, std::shared_ptr<Work>>(
              backend->concurrent() ? tbb::filter_mode::parallel : tbb::filter_mode::serial_in_order, extract) &
          tbb::make_filter<std::shared_ptr<Work>, void>(tbb::filter_mode::serial_in_order, write));
  writer.commit();

  sum.stage_seconds.emplace_back("decode", decode_ns * 1e-9);
  for (const auto& s : backend->stage_seconds()) sum.stage_seconds.push_back(s);
  sum.stage_seconds.emplace_back("write", write_s);
  sum.seconds = seconds_since(t_start);
  return sum;
}

}  // namespace hemolens
