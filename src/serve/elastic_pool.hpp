// A thread pool that grows with its work: a job runs at once on an idle thread or on a new one
// (up to `max_threads`; beyond that it waits its turn), and a thread retires after `idle` with
// nothing to do. `serve` runs one per client connection (so a slow client holds one thread
// and no other request waits for it) and one for the analyses (a fixed share of the cores).
#pragma once
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <list>
#include <mutex>
#include <thread>

#include <httplib.h>  // for httplib::TaskQueue, the interface the HTTP server takes

namespace hemolens::serve {

class ElasticPool final : public httplib::TaskQueue {
 public:
  ElasticPool(std::size_t max_threads, std::chrono::milliseconds idle);
  ~ElasticPool() override;
  ElasticPool(const ElasticPool&) = delete;
  ElasticPool& operator=(const ElasticPool&) = delete;

  void enqueue(std::function<void()> job) override;
  // Runs the jobs already queued, then joins every thread; enqueue() must not be called after.
  void shutdown() override;

  std::size_t threads() const;  // alive now, busy or idle

 private:
  void work(std::list<std::thread>::iterator self);
  void join_retired();

  const std::size_t max_threads_;
  const std::chrono::milliseconds idle_;
  mutable std::mutex mutex_;
  std::condition_variable wake_, all_retired_;
  std::deque<std::function<void()>> jobs_;
  std::list<std::thread> threads_, retired_;  // retired: finished, waiting to be joined
  std::size_t idle_threads_ = 0;
  bool stopping_ = false;
};

}  // namespace hemolens::serve
