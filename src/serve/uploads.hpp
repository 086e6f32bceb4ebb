// The images of one POST /api/analyze, taken from the body as it arrives. A file is held in
// memory only up to the file limit: a file over it stops the request there (413), before the
// rest is read, and so does one file too many. A complete file goes to the analysis threads at
// once, while the next one is read; the whole server analyses at most `threads` files at once,
// and a request waits for a free analysis thread before it reads on. The uploads in memory
// therefore never exceed
//     (connections reading a file) x 2 x max_file_bytes  +  threads x max_file_bytes
// (x 2: a growing buffer is copied when it grows), besides the images being analysed.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <future>
#include <optional>
#include <condition_variable>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "serve/connection.hpp"
#include "serve/elastic_pool.hpp"

namespace hemolens::serve {

struct Upload {
  std::string name;  // the file name the client gave (or the form field's)
  std::vector<std::uint8_t> bytes;
};

using AnalyseUpload = std::function<nlohmann::json(const Upload&)>;

// A counting semaphore that serves its waiters in arrival order. std::counting_semaphore lets
// a newcomer take a slot ahead of threads already waiting: with 8 concurrent clients on 2
// analysis threads the slowest request took 620 ms, against 110-150 ms in arrival order.
class FairSlots {
 public:
  explicit FairSlots(std::size_t slots) : free_(slots) {}
  void acquire();
  void release();

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::size_t free_;
  std::uint64_t next_ticket_ = 0, serving_ = 0;
};

// The threads that analyse uploads, shared by every request.
class AnalysisThreads {
 public:
  explicit AnalysisThreads(std::size_t threads);
  // Waits for a free thread (a wait that does not count against the client's request deadline)
  // and analyses `upload` there; the upload's bytes are freed as soon as it is done.
  std::future<nlohmann::json> start(Upload upload, const AnalyseUpload& analyse, Connection& conn);
  std::size_t size() const { return size_; }

 private:
  const std::size_t size_;
  FairSlots free_;
  ElasticPool pool_;
};

struct UploadLimits {
  std::size_t max_file_bytes = 16u << 20;
  std::size_t max_files = 64;
};

// The most bytes a request may declare (Content-Length): max_files files at the limit, with
// their multipart framing. Larger ones are refused before any of the body is read.
std::uint64_t request_limit(const UploadLimits& limits);

class UploadBatch {
 public:
  UploadBatch(UploadLimits limits, AnalysisThreads& threads, AnalyseUpload analyse, Connection& conn);
  ~UploadBatch();  // waits for the analyses still running
  UploadBatch(const UploadBatch&) = delete;
  UploadBatch& operator=(const UploadBatch&) = delete;

  // A new file; the previous one goes to analysis. False when it is one too many.
  bool begin(std::string name);
  // More of the current file. False when it grows over the file limit.
  bool append(const char* data, std::size_t n);
  // Waits for every file's analysis: their results, in upload order. The last file is analysed
  // too when the body was read to its end (`complete`), and dropped otherwise.
  std::vector<nlohmann::json> finish(bool complete);

  // Why begin() or append() stopped the request: {status, reason}.
  const std::optional<std::pair<int, std::string>>& refusal() const { return refusal_; }

 private:
  void hand_over();
  void bound_body();

  const UploadLimits limits_;
  AnalysisThreads& threads_;
  const AnalyseUpload analyse_;
  Connection& conn_;
  std::optional<Upload> current_;
  std::vector<std::future<nlohmann::json>> results_;
  std::size_t files_ = 0, file_bytes_ = 0;
  std::optional<std::pair<int, std::string>> refusal_;
};

}  // namespace hemolens::serve
