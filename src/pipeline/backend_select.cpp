// Backend choice. The only place that knows whether the build has CUDA: everything else
// asks cuda_status() or make_backend().
#include <stdexcept>

#include "hemolens/backend.hpp"
#ifdef HEMOLENS_WITH_CUDA
#include "backend.hpp"          // for cuda::make_backend (cuda/)
#include "cpu/cpu_backend.hpp"  // for the parameters the store records
#include "probe.hpp"            // for the CUDA runtime probe (cuda/)
#endif

namespace hemolens {

BackendKind parse_backend_kind(const std::string& text) {
  if (text == "cpu") return BackendKind::kCpu;
  if (text == "cuda") return BackendKind::kCuda;
  if (text == "auto") return BackendKind::kAuto;
  throw std::runtime_error("unknown backend '" + text + "': use cpu, cuda or auto");
}

CudaStatus cuda_status() {
  CudaStatus s;
#ifdef HEMOLENS_WITH_CUDA
  s.compiled = true;
  const cuda::Probe p = cuda::probe();
  s.devices = p.devices;
  s.message = p.message;
#else
  s.message = "this hemolens was built without CUDA (no nvcc at configure time)";
#endif
  return s;
}

namespace {

std::unique_ptr<Backend> make_cuda_backend() {
#ifdef HEMOLENS_WITH_CUDA
  cuda::BackendOptions options;
  options.parameters_json = cpu::segment_parameters_json(options.segment);
  return cuda::make_backend(options);
#else
  throw std::logic_error("make_cuda_backend: a build without CUDA");
#endif
}

}  // namespace

std::unique_ptr<Backend> make_backend(BackendKind kind, std::string* note) {
  if (kind == BackendKind::kCpu) return make_cpu_backend();
  const CudaStatus cuda = cuda_status();
  if (cuda.compiled && cuda.devices > 0) {
    if (note && kind == BackendKind::kAuto) *note = "backend auto: using the CUDA backend (" + cuda.message + ")";
    return make_cuda_backend();
  }
  if (kind == BackendKind::kCuda) throw std::runtime_error("--backend cuda: " + cuda.message + "; use --backend cpu or auto");
  if (note) *note = "backend auto: using the CPU backend (" + cuda.message + ")";
  return make_cpu_backend();
}

}  // namespace hemolens
