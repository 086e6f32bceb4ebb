// Keep freed image-sized buffers in the process instead of returning them to the OS.
//
// Every plane of a 360x363 image is ~130 KB, just above glibc's default mmap threshold,
// so each allocation would be a fresh mmap and every page a fault: measured on the CI
// machine, page faults doubled the per-image time (17 ms -> 8 ms for extract_image).
#pragma once

namespace hemolens {
void keep_freed_memory();

// XGBoost's OpenMP threads spin while waiting by default; when anything else runs on the
// cores (TBB workers, another job on a shared node) that spinning made training 30 % to 4x
// slower here. libgomp reads OMP_WAIT_POLICY only when it loads, before main(), so when it
// is unset the process sets it to "passive" and re-executes itself once.
void prefer_passive_openmp(char** argv);
}
