// Backend choice. The only place that knows whether the build has CUDA: everything else
// asks cuda_status() or make_backend().
#include <stdexcept>

#include "hemolens/backend.hpp"
#ifdef HEMOLENS_WITH_CUDA
#include "probe.hpp"  // for the CUDA runtime probe (cuda/)
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

std::unique_ptr<Backend> make_backend(BackendKind kind, std::string* note) {
  if (kind == BackendKind::kCpu) return make_cpu_backend();
  const CudaStatus cuda = cuda_status();
  // The CUDA feature-extraction backend is not built yet (issue: CUDA backend); until it
  // is, a GPU is reported but the CPU backend runs.
  const std::string why = !cuda.compiled ? cuda.message
                          : cuda.devices == 0 ? cuda.message
                                              : "the CUDA extraction backend is not available in this version (GPU: " + cuda.message + ")";
  if (kind == BackendKind::kCuda) throw std::runtime_error("--backend cuda: " + why);
  if (note) *note = "backend auto: using the CPU backend (" + why + ")";
  return make_cpu_backend();
}

}  // namespace hemolens
