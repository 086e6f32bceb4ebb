#include "pipeline/process_tuning.hpp"

#include <malloc.h>  // for mallopt
#include <unistd.h>  // for execv

#include <cstdlib>

namespace hemolens {

void keep_freed_memory() {
  mallopt(M_MMAP_THRESHOLD, 256 << 20);  // images up to 25 Mpx stay on the heap
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
}

void prefer_passive_openmp(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr) return;
  setenv("OMP_WAIT_POLICY", "passive", 1);
  execv("/proc/self/exe", argv);  // returns only on failure: then carry on as we are
}

}  // namespace hemolens
