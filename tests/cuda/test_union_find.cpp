// The union-find of cuda/components.cu under many random interleavings of its atomic steps.
// The host execution runs the merge kernel on two threads, which hardly ever interleaves two
// unions, so this test runs each pixel's merge step (merge_pixel, the kernel's own code) as a
// fiber, and an atomics policy makes every atomic load and fetch_min a point where a scheduler
// picks, at random, which fiber runs next. Labels must equal the CPU's for every mask and
// every interleaving; with the lost-union defect (retrying from the same root after a failed
// fetch_min) 249 of these 1,000 random 12 x 12 masks come out wrong, while the host execution
// of the kernel on two threads passes the parity tests with it.
#include <gtest/gtest.h>
#include <ucontext.h>

#include <functional>
#include <random>
#include <vector>

#include "cpu/components.hpp"
#include "support.hpp"
#include "union_find.cuh"

using namespace hemolens;
// <cuda/atomic> (through cuda/exec.cuh) declares ::cuda, so hemolens::cuda needs its own name here.
namespace hcuda = hemolens::cuda;

namespace {

// Fibers (ucontext) run by a random scheduler: yield() returns to the scheduler, which resumes
// a fiber drawn at random among those not finished.
class Scheduler {
 public:
  static Scheduler* current;
  std::int32_t* parent = nullptr;
  long contended = 0;  // fetch_min calls that found their target already relinked

  // One fiber per call of body(i), i < fibers, each resumed at random until all finished.
  template <class Body>
  void run(std::size_t fibers, unsigned seed, const Body& body) {
    if (fibers_.size() < fibers) {
      fibers_.resize(fibers);
      for (auto& f : fibers_) f.stack.resize(64 * 1024);
    }
    rng_.seed(seed);
    body_ = [&body](std::size_t i) { body(i); };
    std::vector<std::size_t> alive;
    for (std::size_t i = 0; i < fibers; ++i) {
      Fiber& f = fibers_[i];
      getcontext(&f.ctx);
      f.ctx.uc_stack.ss_sp = f.stack.data();
      f.ctx.uc_stack.ss_size = f.stack.size();
      f.ctx.uc_link = &main_;
      f.done = false;
      makecontext(&f.ctx, reinterpret_cast<void (*)()>(&Scheduler::entry), 1, int(i));
      alive.push_back(i);
    }
    current = this;
    while (!alive.empty()) {
      const std::size_t k = std::uniform_int_distribution<std::size_t>(0, alive.size() - 1)(rng_);
      running_ = alive[k];
      swapcontext(&main_, &fibers_[running_].ctx);
      if (fibers_[running_].done) {
        alive[k] = alive.back();
        alive.pop_back();
      }
    }
    current = nullptr;
  }

  void yield() { swapcontext(&fibers_[running_].ctx, &main_); }

 private:
  struct Fiber {
    ucontext_t ctx;
    std::vector<char> stack;
    bool done = false;
  };
  static void entry(int i) {
    current->body_(std::size_t(i));
    current->fibers_[std::size_t(i)].done = true;  // returning resumes the scheduler (uc_link)
  }
  std::vector<Fiber> fibers_;
  std::mt19937 rng_;
  ucontext_t main_;
  std::size_t running_ = 0;
  std::function<void(std::size_t)> body_;
};
Scheduler* Scheduler::current = nullptr;

// Every atomic step is a scheduling point; the step itself then runs without interruption.
struct ScheduledAtomics {
  static std::int32_t load(std::int32_t& x) {
    Scheduler::current->yield();
    return x;
  }
  static std::int32_t fetch_min(std::int32_t& x, std::int32_t v) {
    Scheduler::current->yield();
    const std::int32_t old = x;
    if (v < old) x = v;
    if (old != std::int32_t(&x - Scheduler::current->parent)) ++Scheduler::current->contended;
    return old;
  }
};

// Labels from the parents as the kernels make them: each set pixel's root, numbered in raster
// order of the roots.
std::vector<std::int32_t> labels_of(std::vector<std::int32_t> parent) {
  std::vector<std::int32_t> label(parent.size(), 0), of_root(parent.size(), 0);
  std::int32_t next = 0;
  for (std::size_t p = 0; p < parent.size(); ++p) {
    if (parent[p] < 0) continue;
    std::int32_t r = std::int32_t(p);
    while (parent[std::size_t(r)] != r) r = parent[std::size_t(r)];
    if (r == std::int32_t(p)) of_root[p] = ++next;
    label[p] = of_root[std::size_t(r)];
  }
  return label;
}

}  // namespace

TEST(CudaUnionFind, RandomInterleavingsOfTheMergeGiveTheCpuLabels) {
  std::mt19937 rng(2024);
  const int h = 12, w = 12, kMasks = 1000;
  int wrong = 0;
  long contended = 0;
  Scheduler s;
  for (int round = 0; round < kMasks; ++round) {
    const int connectivity = round % 2 ? 8 : 4;
    const Plane8 mask = test::random_mask(h, w, 0.5 + 0.2 * (round % 3 - 1), rng);
    std::vector<std::int32_t> parent(mask.size());
    std::vector<std::size_t> set;
    for (std::size_t p = 0; p < mask.size(); ++p) {
      parent[p] = mask.data[p] ? std::int32_t(p) : -1;
      if (mask.data[p]) set.push_back(p);
    }
    s.parent = parent.data();
    s.contended = 0;
    s.run(set.size(), unsigned(round), [&](std::size_t k) {
      const int p = int(set[k]);
      hcuda::merge_pixel<ScheduledAtomics>(parent.data(), mask.data.data(), false, w, p / w, p % w, connectivity);
    });
    contended += s.contended;
    Plane32 expected;
    cpu::label_components(mask, connectivity, expected);
    if (labels_of(parent) != expected.data) ++wrong;
  }
  EXPECT_EQ(wrong, 0) << "of " << kMasks << " masks";
  // The scheduler must really interleave unions: many links were changed under a thread's feet.
  EXPECT_GT(contended, kMasks);
}
