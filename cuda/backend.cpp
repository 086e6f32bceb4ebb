// The CUDA backend (cuda/backend.hpp): a pool of lanes behind hemolens::Backend. Plain C++:
// the device work is the lanes'.
#include "backend.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <vector>

#include "lane.hpp"
#include "probe.hpp"

HEMOLENS_CUDA_BEGIN
namespace {

using Clock = std::chrono::steady_clock;

std::int64_t ns_since(Clock::time_point t) { return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t).count(); }

class CudaBackend final : public hemolens::Backend {
 public:
  explicit CudaBackend(const BackendOptions& o) : options_(o), device_(probe().message) {
    const int lanes = std::max(1, o.lanes);
    for (int k = 0; k < lanes; ++k) {
      lanes_.push_back(std::make_unique<Lane>());
      free_.push_back(lanes_.back().get());
    }
    lane_memory_ = o.lane_memory;
    // 80 % of what the device has free now, shared by the lanes: the rest is the CUDA context's,
    // the pools' rounding and other processes' margin.
    if (lane_memory_ == 0) lane_memory_ = free_device_memory() / 10 * 8 / std::size_t(lanes);
    params_.segment = o.segment;
    params_.rows = true;
  }

  std::string name() const override { return "cuda"; }
  std::string device() const override { return device_; }
  bool concurrent() const override { return true; }
  std::string parameters_json() const override { return options_.parameters_json; }

  void extract(const ImageBatch& batch, FeatureRows& out) override {
    const std::size_t n = batch.size(), cols = feature_columns();
    out.cols = cols;
    out.values.assign(n * cols, 0.0f);
    out.flags.assign(n, 0);
    Lane& lane = acquire();
    try {
      run(lane, batch, 0, n, out);
    } catch (...) {
      release(lane);
      throw;
    }
    release(lane);
  }

  BackendCounts counts() const { return {device_batches_, images_, splits_}; }

  std::vector<std::pair<std::string, double>> stage_seconds() const override {
    return {{"submit", submit_ns_ * 1e-9}, {"device", wait_ns_ * 1e-9}, {"kernels", device_us_ * 1e-6}};
  }

 private:
  Lane& acquire() {
    std::unique_lock<std::mutex> lock(mutex_);
    freed_.wait(lock, [&] { return !free_.empty(); });
    Lane* lane = free_.back();
    free_.pop_back();
    return *lane;
  }
  void release(Lane& lane) {
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      free_.push_back(&lane);
    }
    freed_.notify_one();
  }

  // Images [begin, end) of the batch through one lane, in halves when they would not fit.
  void run(Lane& lane, const ImageBatch& batch, std::size_t begin, std::size_t end, FeatureRows& out) {
    if (begin == end) return;
    const std::size_t n = end - begin, base = batch.offsets[begin];
    std::vector<std::size_t> offsets(n);
    for (std::size_t k = 0; k < n; ++k) offsets[k] = batch.offsets[begin + k] - base;
    const PackedBatch view{batch.pixels.data() + base, offsets.data(), batch.heights.data() + begin, batch.widths.data() + begin, n};
    std::string error;
    bool split = n > 1 && lane_memory_ > 0 && lane.scratch_bytes(view, params_, &error) > lane_memory_;
    if (!split) {
      const Clock::time_point t0 = Clock::now();
      bool ok = lane.submit(view, params_, &error);
      const Clock::time_point t1 = Clock::now();
      LaneResult result;
      ok = ok && lane.wait(result, &error);
      submit_ns_ += std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count();
      wait_ns_ += ns_since(t1);
      if (ok) {
        device_us_ += std::int64_t(result.device_ms * 1000);
        ++device_batches_;
        images_ += n;
        std::copy(result.rows.begin(), result.rows.end(), out.values.begin() + std::ptrdiff_t(begin * out.cols));
        std::copy(result.flags.begin(), result.flags.end(), out.flags.begin() + std::ptrdiff_t(begin));
        return;
      }
      if (!lane.out_of_memory() || n == 1) throw std::runtime_error("cuda backend: " + error);
    }
    ++splits_;
    const std::size_t mid = begin + n / 2;
    run(lane, batch, begin, mid, out);
    run(lane, batch, mid, end, out);
  }

  BackendOptions options_;
  std::string device_;
  LaneParams params_;
  std::size_t lane_memory_ = 0;
  std::vector<std::unique_ptr<Lane>> lanes_;
  std::vector<Lane*> free_;
  std::mutex mutex_;
  std::condition_variable freed_;
  std::atomic<std::int64_t> submit_ns_{0}, wait_ns_{0}, device_us_{0};
  std::atomic<std::size_t> device_batches_{0}, images_{0}, splits_{0};
};

}  // namespace

std::unique_ptr<hemolens::Backend> make_backend(const BackendOptions& options) { return std::make_unique<CudaBackend>(options); }

BackendCounts backend_counts(const hemolens::Backend& backend) {
  const auto* b = dynamic_cast<const CudaBackend*>(&backend);
  return b ? b->counts() : BackendCounts{};
}

HEMOLENS_CUDA_END
