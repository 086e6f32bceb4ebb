#include "pipeline/allocator.hpp"

#include <malloc.h>  // for mallopt

namespace hemolens {

void keep_freed_memory() {
  mallopt(M_MMAP_THRESHOLD, 256 << 20);  // images up to 25 Mpx stay on the heap
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
}

}  // namespace hemolens
