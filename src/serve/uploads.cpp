#include "serve/uploads.hpp"

#include <algorithm>
#include <exception>
#include <memory>

namespace hemolens::serve {
namespace {

// What framing may add to the files' bytes: per file (httplib caps a part's header line at
// 8 KiB), per request (the preamble, the closing boundary, what the parser holds back), and
// per byte (the chunk-size lines of a chunked body).
constexpr std::size_t kPartFraming = 16u << 10;
constexpr std::size_t kBodyFraming = 64u << 10;
constexpr std::size_t kBytesPerChunkLine = 64;
// Analysis threads are kept this long without work (their decoders and scratch with them).
constexpr std::chrono::milliseconds kThreadIdle{60'000};

}  // namespace

void FairSlots::acquire() {
  std::unique_lock lock(mutex_);
  const std::uint64_t ticket = next_ticket_++;
  changed_.wait(lock, [&] { return ticket == serving_ && free_ > 0; });
  --free_;
  ++serving_;
  changed_.notify_all();  // the next ticket may take another free slot
}

void FairSlots::release() {
  {
    std::lock_guard lock(mutex_);
    ++free_;
  }
  changed_.notify_all();
}

AnalysisThreads::AnalysisThreads(std::size_t threads)
    : size_(std::max<std::size_t>(threads, 1)), free_(size_), pool_(size_, kThreadIdle) {}

std::future<nlohmann::json> AnalysisThreads::start(Upload upload, const AnalyseUpload& analyse, Connection& conn) {
  conn.off_the_clock([this] { free_.acquire(); });
  auto task = std::make_shared<std::packaged_task<nlohmann::json()>>([&analyse, u = std::move(upload)] { return analyse(u); });
  std::future<nlohmann::json> result = task->get_future();
  try {
    pool_.enqueue([this, task]() mutable {
      (*task)();
      task.reset();  // the upload's bytes go before its thread counts as free
      free_.release();
    });
  } catch (...) {
    free_.release();
    throw;
  }
  return result;
}

std::uint64_t request_limit(const UploadLimits& limits) {
  return std::uint64_t(limits.max_files) * (limits.max_file_bytes + kPartFraming) + kBodyFraming;
}

UploadBatch::UploadBatch(UploadLimits limits, AnalysisThreads& threads, AnalyseUpload analyse, Connection& conn)
    : limits_(limits), threads_(threads), analyse_(std::move(analyse)), conn_(conn) {
  bound_body();
}

UploadBatch::~UploadBatch() {
  for (auto& r : results_)
    if (r.valid()) r.wait();
}

bool UploadBatch::begin(std::string name) {
  hand_over();
  if (files_ == limits_.max_files) {
    refusal_ = {413, "too many files in one request: more than " + std::to_string(limits_.max_files) + " (the limit, see --max-files)"};
    return false;
  }
  ++files_;
  current_ = Upload{std::move(name), {}};
  bound_body();
  return true;
}

bool UploadBatch::append(const char* data, std::size_t n) {
  if (!current_) return false;
  std::vector<std::uint8_t>& bytes = current_->bytes;
  if (bytes.size() + n > limits_.max_file_bytes) {
    refusal_ = {413, current_->name + ": file exceeds the limit of " + std::to_string(limits_.max_file_bytes) +
                         " bytes (see --max-file-mb); refused while uploading, after " + std::to_string(bytes.size()) + " bytes"};
    return false;
  }
  // Grown by doubling, but never past the limit: the buffer stays within max_file_bytes.
  if (bytes.size() + n > bytes.capacity())
    bytes.reserve(std::min(limits_.max_file_bytes, std::max({bytes.size() + n, 2 * bytes.capacity(), std::size_t(64u << 10)})));
  bytes.insert(bytes.end(), data, data + n);
  file_bytes_ += n;
  bound_body();
  return true;
}

void UploadBatch::hand_over() {
  if (!current_) return;
  results_.push_back(threads_.start(std::move(*current_), analyse_, conn_));
  current_.reset();
}

// The body may hold the files' bytes and their framing, no more: junk that the multipart
// parser never hands to a file (it keeps it buffered) stops the request instead of growing.
void UploadBatch::bound_body() {
  conn_.limit_body(file_bytes_ + file_bytes_ / kBytesPerChunkLine + (files_ + 1) * kPartFraming + kBodyFraming);
}

std::vector<nlohmann::json> UploadBatch::finish(bool complete) {
  if (complete) hand_over();
  current_.reset();
  std::vector<nlohmann::json> out;
  std::exception_ptr failed;
  for (auto& r : results_) {
    try {
      out.push_back(r.get());
    } catch (...) {
      if (!failed) failed = std::current_exception();
    }
  }
  results_.clear();
  if (failed) std::rethrow_exception(failed);
  return out;
}

}  // namespace hemolens::serve
