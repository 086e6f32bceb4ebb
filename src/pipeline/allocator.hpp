// Keep freed image-sized buffers in the process instead of returning them to the OS.
//
// Every plane of a 360x363 image is ~130 KB, just above glibc's default mmap threshold,
// so each allocation would be a fresh mmap and every page a fault: measured on the CI
// machine, page faults doubled the per-image time (17 ms -> 8 ms for extract_image).
#pragma once

namespace hemolens {
void keep_freed_memory();
}
