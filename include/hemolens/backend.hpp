// Backends turn a batch of images into feature rows. The CPU backend is the reference;
// the CUDA backend (cuda/) must give the same rows within a documented tolerance.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "hemolens/image.hpp"

namespace hemolens {

enum class BackendKind { kCpu, kCuda, kAuto };
BackendKind parse_backend_kind(const std::string& text);  // "cpu", "cuda", "auto"

struct FeatureRows {
  std::size_t cols = 0;
  std::vector<float> values;          // size() x cols, row-major
  std::vector<std::uint32_t> flags;   // QualityFlag bits per image
  std::size_t size() const { return flags.size(); }
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;    // "cpu" or "cuda": recorded in the store
  virtual std::string device() const = 0;  // what ran it, for provenance
  // True when extract() may run on several batches at once from different threads.
  virtual bool concurrent() const = 0;
  virtual void extract(const ImageBatch& batch, FeatureRows& out) = 0;
  // Seconds spent per stage so far (summed over threads), e.g. {"segment", 1.2}.
  virtual std::vector<std::pair<std::string, double>> stage_seconds() const = 0;
  virtual std::string parameters_json() const = 0;
};

// What the CUDA side can offer on this build and machine.
struct CudaStatus {
  bool compiled = false;  // the build has the CUDA backend
  int devices = 0;
  std::string message;    // why there is no usable GPU, or the device's name
};
CudaStatus cuda_status();

// Throws std::runtime_error with a clear message when `kind` cannot be had (for example
// kCuda on a build without CUDA). For kAuto, `note` says which backend was chosen and why.
std::unique_ptr<Backend> make_backend(BackendKind kind, std::string* note = nullptr);

std::unique_ptr<Backend> make_cpu_backend();

}  // namespace hemolens
