// The extract pipeline: dataset entries -> decode (parallel) -> backend -> HDF5 store.
//
// A TBB parallel_pipeline with a bounded number of batches in flight: decode and the CPU
// backend run on the thread pool, the store writer takes batches in dataset order. Memory
// is bounded by (batches in flight) x (batch size) images, whatever the dataset's size.
#pragma once
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "hemolens/backend.hpp"
#include "hemolens/dataset.hpp"
#include "hemolens/decode.hpp"

namespace hemolens {

struct ExtractOptions {
  std::filesystem::path input;
  std::filesystem::path output;
  BackendKind backend = BackendKind::kAuto;
  int threads = 0;  // 0: all cores
  ShardSpec shard;
  int batch_size = 32;
  DecodeLimits limits;
};

struct ExtractSummary {
  std::size_t images = 0;   // rows written
  std::size_t flagged = 0;  // rows with a quality flag
  std::vector<SkippedImage> skipped;
  double seconds = 0;
  int threads = 0;
  std::string backend, device, backend_note;
  std::vector<std::pair<std::string, double>> stage_seconds;  // decode, segment, ..., write
};

// progress(done, total) is called from the writer stage, in order.
using ProgressFn = std::function<void(std::size_t, std::size_t)>;

ExtractSummary run_extract(const ExtractOptions& opt, const ProgressFn& progress = {});

// The same with a backend made by the caller (opt.backend is not read): how the tests run the
// host execution of the CUDA backend, which is no user-facing choice.
ExtractSummary run_extract(const ExtractOptions& opt, std::unique_ptr<Backend> backend, const ProgressFn& progress = {});

}  // namespace hemolens
