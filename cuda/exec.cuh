// The execution layer of cuda/: the one place that knows whether the kernels run on a GPU
// (the file compiled by nvcc) or on the host (compiled by g++ against the toolkit's CCCL with
// THRUST_DEVICE_SYSTEM_TBB: the build CI executes). Everything else in cuda/ is written once:
// kernels are functors with HL_HD call operators, launched by the functions below, and every
// atomic goes through cuda::atomic_ref (libcu++), which both compilers accept.
//
//   Context           a stream, a scratch pool reserved once and reused, the stage being run
//                     and the first error, copies; counters that let tests see the transfers
//   for_each          f(i) for i in [0, n)
//   for_each_pixel    f(Pixel) for every pixel of a batch, a warp-wide group of items per image
//                     row (coalesced, and no division to find a pixel's image, row or column)
//   for_each_row      f(Row) for every image row (per-row sums, then one atomic per row)
//   count             per-image histograms: privatised in shared memory per tile of rows on
//                     the GPU (Path::kFast), global atomics in the portable path
//   exclusive_scan    CUB on the GPU, Thrust on the host
//
// On the GPU, for_each is a grid-stride kernel of this file rather than thrust::for_each: the
// same launch, but nvcc compiles a file of plain kernels in ~4 s against ~27 s once Thrust's CUDA
// algorithms are included (measured on the 2-core CI machine), and every .cu includes this.
// Included by .cu files only; host code includes the *.hpp headers.
#pragma once
#include <cuda/atomic>  // for cuda::atomic_ref (libcu++), on both sides

#include <cstddef>
#include <cstdint>
#include <string>

#include "exec.hpp"
#include "features/hd.hpp"
#include "layout.cuh"

#ifdef __CUDACC__
#include <cuda_runtime.h>
#else
#include <thrust/execution_policy.h>
#include <thrust/for_each.h>
#include <thrust/iterator/counting_iterator.h>

#include <chrono>
#endif

HEMOLENS_CUDA_BEGIN
namespace exec {

using ::hemolens::max_of;  // features/hd.hpp
using ::hemolens::min_of;

// ---- atomics: relaxed, device scope. Every algorithm that uses them says in a comment why
// relaxed ordering is enough (the ordering between stages comes from kernel boundaries).
template <class T>
using AtomicRef = ::cuda::atomic_ref<T, ::cuda::thread_scope_device>;

template <class T>
HL_HD T atomic_load(const T& x) {
  return AtomicRef<T>(const_cast<T&>(x)).load(::cuda::std::memory_order_relaxed);
}
template <class T>
HL_HD void atomic_store(T& x, T v) {
  AtomicRef<T>(x).store(v, ::cuda::std::memory_order_relaxed);
}
template <class T>
HL_HD T atomic_add(T& x, T v) {
  return AtomicRef<T>(x).fetch_add(v, ::cuda::std::memory_order_relaxed);
}
template <class T>
HL_HD T atomic_min(T& x, T v) {
  return AtomicRef<T>(x).fetch_min(v, ::cuda::std::memory_order_relaxed);
}
template <class T>
HL_HD T atomic_max(T& x, T v) {
  return AtomicRef<T>(x).fetch_max(v, ::cuda::std::memory_order_relaxed);
}

// Transfers and synchronisations seen by a Context, so that tests can check the throughput
// design on the host: one upload and one download per batch, no reservation between batches.
struct Counters {
  int reservations = 0, uploads = 0, downloads = 0, syncs = 0, launches = 0;
};

// A stream (non-blocking, so that two contexts overlap on the GPU), a scratch pool and the
// error state of one batch at a time. Work is skipped once an error is recorded, and while
// measuring: a first pass over a batch with take() only counting bytes sizes the pool, and the
// real pass then takes from it without allocating (DALI's Setup/Run, in one function).
class Context {
 public:
  explicit Context(Path path = Path::kFast);
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  Path path() const { return path_; }
  void set_path(Path p) { path_ = p; }

  // ---- scratch
  void measure();                       // the next takes only count bytes
  bool reserve(std::size_t bytes);      // ends measuring; keeps the pool when large enough
  void reset() { used_ = 0; }           // everything taken is free again (the next batch)
  std::size_t used() const { return used_; }
  std::size_t peak() const { return peak_; }  // the most in use at once since measure(): what to reserve
  // What was taken after mark() is free again. Later work on this context's stream runs after
  // the work already queued, so it may reuse that memory at once.
  std::size_t mark() const { return used_; }
  void release(std::size_t mark) { used_ = mark; }
  std::size_t capacity() const { return capacity_; }
  bool measuring() const { return measuring_; }
  template <class T>
  T* take(std::size_t n) {
    return static_cast<T*>(take_bytes(n * sizeof(T)));
  }

  // ---- stages and errors
  void stage(const char* name) { stage_ = name; }
  const char* current_stage() const { return stage_; }
  bool ok() const { return error_.empty() && !measuring_; }
  bool failed() const { return !error_.empty(); }
  void fail(const std::string& why);  // keeps the first error, with the stage it happened in
  const std::string& error() const { return error_; }
  void clear_error() { error_.clear(); }

  // ---- copies, ordered on the stream (asynchronous on the GPU; from pinned memory they overlap
  // other streams' kernels)
  void upload(void* device, const void* host, std::size_t bytes);
  void download(void* host, const void* device, std::size_t bytes);
  void copy(void* dst, const void* src, std::size_t bytes);
  void zero(void* device, std::size_t bytes);
  bool finish();  // waits for the stream; false with error() set when anything failed

  // CUDA's launch rules, checked on both sides so that a bad launch (a grid of 0 blocks, from
  // an empty batch) fails in CI as it would on a GPU.
  bool check_grid(std::size_t blocks, const char* what);
  const Counters& counters() const { return counters_; }
  Counters& counters() { return counters_; }

#ifdef __CUDACC__
  cudaStream_t stream() const { return stream_; }
  bool check(cudaError_t e, const char* what);  // records a failed runtime call at the current stage
#endif

 private:
  void* take_bytes(std::size_t bytes);
  Path path_;
  const char* stage_ = "setup";
  std::string error_;
  bool measuring_ = false;
  unsigned char* pool_ = nullptr;
  std::size_t capacity_ = 0, used_ = 0, peak_ = 0;
  Counters counters_;
#ifdef __CUDACC__
  cudaStream_t stream_ = nullptr;
#endif
};

// Host memory for one batch's upload or download: page-locked on the GPU (so that copies run
// asynchronously and overlap other streams' kernels), plain on the host. Grows, never shrinks.
class HostBuffer {
 public:
  HostBuffer() = default;
  ~HostBuffer();
  HostBuffer(const HostBuffer&) = delete;
  HostBuffer& operator=(const HostBuffer&) = delete;
  bool ensure(Context& c, std::size_t bytes);  // waits for c's stream before it reallocates
  unsigned char* data() const { return data_; }
  std::size_t size() const { return size_; }

 private:
  unsigned char* data_ = nullptr;
  std::size_t size_ = 0;
};

// Elapsed time of the work between start() and stop() on a context: CUDA events on the GPU
// (kernel time, no host overhead), the wall clock on the host (the work is synchronous there).
class Timer {
 public:
  explicit Timer(Context& c);
  ~Timer();
  void start();
  void stop();
  double ms();  // waits for stop()

 private:
  Context& c_;
#ifdef __CUDACC__
  cudaEvent_t a_ = nullptr, b_ = nullptr;
#else
  std::chrono::steady_clock::time_point a_, b_;
#endif
};

// ---- launches
constexpr int kThreads = 256;
constexpr std::size_t kMaxBlocks = std::size_t(1) << 20;  // grid-stride beyond
constexpr int kLanes = 32;                                // items per image row in for_each_pixel
// Threads per block for items that are long serial loops (one image each): a few such items
// per block spread them over every SM instead of filling a few.
constexpr int kSerialThreads = 32;

inline std::size_t blocks_for(std::size_t n, int threads = kThreads) { return min_of((n + threads - 1) / std::size_t(threads), kMaxBlocks); }

#ifdef __CUDACC__
template <class F>
__global__ void each_kernel(std::size_t n, F f) {
  for (std::size_t i = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x; i < n; i += std::size_t(gridDim.x) * blockDim.x) f(i);
}
#endif

template <class F>
void for_each(Context& c, std::size_t n, const F& f, int threads = kThreads) {
  if (!c.ok() || n == 0) return;  // an empty batch launches nothing: CUDA refuses a grid of 0 blocks
  const std::size_t blocks = blocks_for(n, threads);
  if (!c.check_grid(blocks, "for_each")) return;
  ++c.counters().launches;
#ifdef __CUDACC__
  each_kernel<<<unsigned(blocks), unsigned(threads), 0, c.stream()>>>(n, f);
  c.check(cudaGetLastError(), "kernel launch");
#else
  thrust::for_each_n(thrust::device, thrust::counting_iterator<std::size_t>(0), n, f);
#endif
}

// Item k serves lane k % kLanes of row k / kLanes (a shift and a mask): lanes stride along
// the row, so on the GPU a warp reads one row's consecutive bytes.
template <class F>
struct PixelItems {
  Layout l;
  F f;
  HL_HD void operator()(std::size_t k) const {
    const Row row = l.row(k / kLanes);
    for (int x = int(k % kLanes); x < row.width; x += kLanes) f(row.pixel(x));
  }
};
template <class F>
void for_each_pixel(Context& c, const Layout& l, const F& f) {
  for_each(c, l.rows * kLanes, PixelItems<F>{l, f});
}

template <class F>
struct RowItems {
  Layout l;
  F f;
  HL_HD void operator()(std::size_t r) const { f(l.row(r)); }
};
template <class F>
void for_each_row(Context& c, const Layout& l, const F& f) {
  for_each(c, l.rows, RowItems<F>{l, f});
}

// ---- per-image histograms. A counting functor F has
//   template <class C> HL_HD void operator()(const Pixel& px, const C& counter) const
// and calls counter.add(bin, v) for bins in [0, bins); out[i] receives image i's counts (added
// to what is there). Additions commute, so any order of the atomics gives the same counts.
template <class T>
struct GlobalCounter {
  T* bins;
  HL_HD void add(int bin, unsigned v = 1) const { atomic_add(bins[bin], T(v)); }
};

template <class T, class F>
struct CountPixels {
  PerImage<T> out;
  F f;
  HL_HD void operator()(const Pixel& px) const { f(px, GlobalCounter<T>{out[px.image]}); }
};

#ifdef __CUDACC__
struct SharedCounter {
  unsigned* bins;
  __device__ void add(int bin, unsigned v = 1) const { atomicAdd(&bins[bin], v); }
};

__device__ inline void flush_bin(unsigned* dst, unsigned v) { atomicAdd(dst, v); }
__device__ inline void flush_bin(unsigned long long* dst, unsigned v) { atomicAdd(dst, (unsigned long long)v); }

// One block per tile (up to kTileRows rows of one image): the tile's counts collect in shared
// memory, then the block adds its non-zero bins to the image's (once per tile, not per pixel).
template <class T, class F>
__global__ void count_tiles_kernel(Layout l, PerImage<T> out, int bins, F f) {
  extern __shared__ unsigned local[];
  const int t = int(threadIdx.y * blockDim.x + threadIdx.x), threads = int(blockDim.x * blockDim.y);
  for (int k = t; k < bins; k += threads) local[k] = 0;
  __syncthreads();
  const std::uint64_t r0 = l.tile_row[blockIdx.x];
  const Row first = l.row(r0);
  const std::uint64_t image_end = l.image[first.image].first_row + std::uint64_t(first.height);
  const std::uint64_t end = min_of<std::uint64_t>(r0 + kTileRows, image_end);
  const SharedCounter counter{local};
  for (std::uint64_t r = r0 + threadIdx.y; r < end; r += blockDim.y) {
    const Row row = l.row(r);
    for (int x = int(threadIdx.x); x < row.width; x += int(blockDim.x)) f(row.pixel(x), counter);
  }
  __syncthreads();
  T* dst = out[first.image];
  for (int k = t; k < bins; k += threads)
    if (local[k]) flush_bin(reinterpret_cast<typename std::conditional<sizeof(T) == 8, unsigned long long, unsigned>::type*>(&dst[k]), local[k]);
}
#endif

// max_add: the largest v the functor adds at once, so that a tile's shared 32-bit counts
// cannot overflow (otherwise the portable path runs).
template <class T, class F>
void count(Context& c, const Layout& l, PerImage<T> out, int bins, unsigned max_add, const F& f) {
  static_assert(sizeof(T) == 4 || sizeof(T) == 8, "bins are 32- or 64-bit unsigned");
#ifdef __CUDACC__
  constexpr std::size_t kMaxShared = 96 * 1024;
  const std::size_t shared = std::size_t(bins) * sizeof(unsigned);
  const bool fits = std::uint64_t(l.max_width) * kTileRows * max_add < (std::uint64_t(1) << 32) && shared <= kMaxShared;
  if (c.path() == Path::kFast && fits) {
    if (!c.ok() || l.tiles == 0) return;  // no tile: nothing to launch
    if (!c.check_grid(l.tiles, "count")) return;
    ++c.counters().launches;
    auto kernel = count_tiles_kernel<T, F>;
    if (shared > 48 * 1024 && !c.check(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(shared)), "shared memory"))
      return;
    kernel<<<unsigned(l.tiles), dim3(32, 8), shared, c.stream()>>>(l, out, bins, f);
    c.check(cudaGetLastError(), "kernel launch");
    return;
  }
#else
  (void)bins;
  (void)max_add;
#endif
  for_each_pixel(c, l, CountPixels<T, F>{out, f});
}

// One batch through `run(context)` on a fresh context: a measuring pass sizes the pool, then
// the real pass runs. For the host-callable wrappers of the stages (what the parity checks
// call); the throughput path keeps its contexts (cuda/lane.cu).
template <class F>
bool run_once(Path path, const F& run, std::string* error) {
  Context c(path);
  c.measure();
  run(c);
  if (c.reserve(c.peak())) {
    run(c);
    c.finish();
  }
  if (c.failed() && error) *error = c.error();
  return !c.failed();
}

// out[i] = in[0] + ... + in[i-1], out[0] = 0, in 64 bits.
void exclusive_scan(Context& c, const std::uint32_t* in, std::uint64_t* out, std::size_t n);

}  // namespace exec
HEMOLENS_CUDA_END
