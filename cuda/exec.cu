// The execution layer's non-template half (cuda/exec.cuh): the context's stream, scratch pool
// and copies, the timer, and the scan (the only CUB/Thrust algorithm of cuda/, in this one file).
#include <cstdlib>
#include <cstring>

#include "exec.cuh"

#ifdef __CUDACC__
#include <cub/device/device_scan.cuh>
#else
#include <thrust/scan.h>
#endif
#include <cuda/std/functional>  // for cuda::std::plus

HEMOLENS_CUDA_BEGIN
namespace exec {
namespace {

constexpr std::size_t kAlign = 256;

std::string mib(std::size_t bytes) { return std::to_string((bytes + (1 << 20) - 1) >> 20) + " MiB"; }

}  // namespace

void Context::fail(const std::string& why) {
  if (error_.empty()) error_ = std::string(stage_) + ": " + why;
}

bool Context::check_grid(std::size_t blocks, const char* what) {
  if (blocks == 0) fail(std::string("invalid launch configuration: a grid of 0 blocks (") + what + ")");
  else if (blocks > 0x7fffffffu) fail(std::string("invalid launch configuration: more than 2^31 - 1 blocks (") + what + ")");
  return ok();
}

void Context::measure() {
  measuring_ = true;
  used_ = peak_ = 0;
}

void* Context::take_bytes(std::size_t bytes) {
  const std::size_t at = (used_ + kAlign - 1) / kAlign * kAlign;
  if (measuring_) {
    used_ = at + bytes;
    peak_ = max_of(peak_, used_);
    return nullptr;
  }
  if (failed()) return nullptr;
  if (at + bytes > capacity_) {
    fail("scratch pool exhausted: " + std::to_string(at + bytes) + " bytes needed, " + std::to_string(capacity_) + " reserved");
    return nullptr;
  }
  used_ = at + bytes;
  peak_ = max_of(peak_, used_);
  return pool_ + at;
}

#ifdef __CUDACC__

Context::Context(Path path) : path_(path) {
  check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "creating a stream");
}

Context::~Context() {
  if (stream_) cudaStreamSynchronize(stream_);
  if (pool_) cudaFree(pool_);
  if (stream_) cudaStreamDestroy(stream_);
}

bool Context::check(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return true;
  cudaGetLastError();  // clear a non-sticky error, so that the next batch can run
  fail(std::string(what) + ": " + cudaGetErrorString(e));
  return false;
}

bool Context::reserve(std::size_t bytes) {
  measuring_ = false;
  used_ = 0;
  if (failed()) return false;
  if (bytes <= capacity_) return true;
  if (pool_) {
    cudaStreamSynchronize(stream_);
    cudaFree(pool_);
    pool_ = nullptr;
    capacity_ = 0;
  }
  ++counters_.reservations;
  void* p = nullptr;
  const cudaError_t e = cudaMalloc(&p, bytes);
  if (e != cudaSuccess) {
    cudaGetLastError();
    fail("reserving " + mib(bytes) + " of device scratch: " + cudaGetErrorString(e));
    return false;
  }
  pool_ = static_cast<unsigned char*>(p);
  capacity_ = bytes;
  return true;
}

void Context::upload(void* device, const void* host, std::size_t bytes) {
  if (!ok() || bytes == 0) return;
  ++counters_.uploads;
  check(cudaMemcpyAsync(device, host, bytes, cudaMemcpyHostToDevice, stream_), "upload");
}

void Context::download(void* host, const void* device, std::size_t bytes) {
  if (!ok() || bytes == 0) return;
  ++counters_.downloads;
  check(cudaMemcpyAsync(host, device, bytes, cudaMemcpyDeviceToHost, stream_), "download");
}

void Context::copy(void* dst, const void* src, std::size_t bytes) {
  if (!ok() || bytes == 0) return;
  check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream_), "copy");
}

void Context::zero(void* device, std::size_t bytes) {
  if (!ok() || bytes == 0) return;
  check(cudaMemsetAsync(device, 0, bytes, stream_), "memset");
}

bool Context::finish() {
  ++counters_.syncs;
  const cudaError_t e = cudaStreamSynchronize(stream_);
  if (e != cudaSuccess) {
    const std::string last = stage_;
    stage_ = "device";
    fail(std::string("the batch failed on the device (an asynchronous error, noticed after stage '") + last + "'): " + cudaGetErrorString(e));
    cudaGetLastError();
  }
  return !failed();
}

HostBuffer::~HostBuffer() {
  if (data_) cudaFreeHost(data_);
}

bool HostBuffer::ensure(Context& c, std::size_t bytes) {
  if (bytes <= size_) return true;
  if (data_) {
    c.check(cudaStreamSynchronize(c.stream()), "host buffer");
    cudaFreeHost(data_);
    data_ = nullptr;
    size_ = 0;
  }
  ++c.counters().reservations;
  void* p = nullptr;
  if (!c.check(cudaHostAlloc(&p, bytes, cudaHostAllocDefault), ("reserving " + mib(bytes) + " of page-locked host memory").c_str())) return false;
  data_ = static_cast<unsigned char*>(p);
  size_ = bytes;
  return true;
}

Timer::Timer(Context& c) : c_(c) {
  c_.check(cudaEventCreate(&a_), "timer");
  c_.check(cudaEventCreate(&b_), "timer");
}
Timer::~Timer() {
  if (a_) cudaEventDestroy(a_);
  if (b_) cudaEventDestroy(b_);
}
void Timer::start() { c_.check(cudaEventRecord(a_, c_.stream()), "timer"); }
void Timer::stop() { c_.check(cudaEventRecord(b_, c_.stream()), "timer"); }
double Timer::ms() {
  float ms = 0;
  if (c_.check(cudaEventSynchronize(b_), "timer")) c_.check(cudaEventElapsedTime(&ms, a_, b_), "timer");
  return ms;
}

void exclusive_scan(Context& c, const std::uint32_t* in, std::uint64_t* out, std::size_t n) {
  if (n == 0) return;
  const ::cuda::std::plus<std::uint64_t> plus;
  std::size_t bytes = 0;
  if (!c.check(cub::DeviceScan::ExclusiveScan(nullptr, bytes, in, out, plus, std::uint64_t(0), n, c.stream()), "scan")) return;
  void* temp = c.take<unsigned char>(bytes);
  if (!c.ok()) return;
  ++c.counters().launches;
  c.check(cub::DeviceScan::ExclusiveScan(temp, bytes, in, out, plus, std::uint64_t(0), n, c.stream()), "scan");
}

#else  // the host execution

Context::Context(Path path) : path_(path) {}

Context::~Context() { std::free(pool_); }

bool Context::reserve(std::size_t bytes) {
  measuring_ = false;
  used_ = 0;
  if (failed()) return false;
  if (bytes <= capacity_) return true;
  std::free(pool_);
  pool_ = nullptr;
  capacity_ = 0;
  ++counters_.reservations;
  const std::size_t rounded = (bytes + kAlign - 1) / kAlign * kAlign;
  pool_ = rounded >= bytes ? static_cast<unsigned char*>(std::aligned_alloc(kAlign, rounded)) : nullptr;
  if (!pool_) {
    fail("reserving " + mib(bytes) + " of device scratch: out of memory");
    return false;
  }
  capacity_ = bytes;
  return true;
}

void Context::upload(void* device, const void* host, std::size_t bytes) {
  if (!ok() || bytes == 0) return;
  ++counters_.uploads;
  std::memcpy(device, host, bytes);
}

void Context::download(void* host, const void* device, std::size_t bytes) {
  if (!ok() || bytes == 0) return;
  ++counters_.downloads;
  std::memcpy(host, device, bytes);
}

void Context::copy(void* dst, const void* src, std::size_t bytes) {
  if (ok() && bytes) std::memcpy(dst, src, bytes);
}

void Context::zero(void* device, std::size_t bytes) {
  if (ok() && bytes) std::memset(device, 0, bytes);
}

bool Context::finish() {
  ++counters_.syncs;
  return !failed();
}

HostBuffer::~HostBuffer() { std::free(data_); }

bool HostBuffer::ensure(Context& c, std::size_t bytes) {
  if (bytes <= size_) return true;
  std::free(data_);
  data_ = nullptr;
  size_ = 0;
  ++c.counters().reservations;
  data_ = static_cast<unsigned char*>(std::malloc(bytes));
  if (!data_) {
    c.fail("reserving " + mib(bytes) + " of host memory: out of memory");
    return false;
  }
  size_ = bytes;
  return true;
}

Timer::Timer(Context& c) : c_(c) {}
Timer::~Timer() = default;
void Timer::start() { a_ = std::chrono::steady_clock::now(); }
void Timer::stop() { b_ = std::chrono::steady_clock::now(); }
double Timer::ms() { return std::chrono::duration<double, std::milli>(b_ - a_).count(); }

void exclusive_scan(Context& c, const std::uint32_t* in, std::uint64_t* out, std::size_t n) {
  if (!c.ok() || n == 0) return;
  ++c.counters().launches;
  thrust::exclusive_scan(thrust::device, in, in + n, out, std::uint64_t(0), ::cuda::std::plus<std::uint64_t>());
}

#endif

}  // namespace exec
HEMOLENS_CUDA_END
