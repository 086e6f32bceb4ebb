#include "serve/elastic_pool.hpp"

#include <system_error>

namespace hemolens::serve {

ElasticPool::ElasticPool(std::size_t max_threads, std::chrono::milliseconds idle) : max_threads_(max_threads), idle_(idle) {}

ElasticPool::~ElasticPool() { shutdown(); }

void ElasticPool::enqueue(std::function<void()> job) {
  join_retired();
  std::lock_guard lock(mutex_);
  jobs_.push_back(std::move(job));
  if (idle_threads_ >= jobs_.size() || threads_.size() >= max_threads_) {
    wake_.notify_one();
    return;
  }
  // No idle thread for this job: a new one. Its iterator is its own handle, for retiring.
  threads_.emplace_back();
  const auto self = std::prev(threads_.end());
  try {
    *self = std::thread([this, self] { work(self); });
  } catch (const std::system_error&) {
    // Out of threads (a ulimit): the job waits for a busy thread, or fails when there is none.
    threads_.erase(self);
    if (threads_.empty()) throw;
  }
}

void ElasticPool::work(std::list<std::thread>::iterator self) {
  std::unique_lock lock(mutex_);
  for (;;) {
    ++idle_threads_;
    const bool woken = wake_.wait_for(lock, idle_, [this] { return !jobs_.empty() || stopping_; });
    --idle_threads_;
    if (!woken || jobs_.empty()) break;  // idle for too long, or stopping with nothing left to run
    std::function<void()> job = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    job();
    job = nullptr;  // what the job holds is released before this thread waits again
    lock.lock();
  }
  // A thread cannot join itself: it moves its handle to the retired list for the next caller.
  retired_.splice(retired_.end(), threads_, self);
  if (threads_.empty()) all_retired_.notify_all();
}

void ElasticPool::join_retired() {
  std::list<std::thread> done;
  {
    std::lock_guard lock(mutex_);
    done.swap(retired_);
  }
  for (std::thread& t : done) t.join();
}

void ElasticPool::shutdown() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  {
    std::unique_lock lock(mutex_);
    all_retired_.wait(lock, [this] { return threads_.empty(); });
  }
  join_retired();
}

std::size_t ElasticPool::threads() const {
  std::lock_guard lock(mutex_);
  return threads_.size();
}

}  // namespace hemolens::serve
