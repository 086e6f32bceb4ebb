// A test hook for kill -9 at a chosen moment: when the environment variable HEMOLENS_CRASH_AT
// names a point the process reaches, it kills itself there with SIGKILL (no destructors, no
// cleanup, as `kill -9` would). The tests use it to check that a run killed anywhere leaves
// nothing that looks complete and resumes to the outputs of an uninterrupted run. Off, it
// costs one getenv per point; the points sit between whole steps, never in a loop over pixels.
#pragma once
#include <csignal>
#include <cstdlib>
#include <string>

namespace hemolens {

inline void crash_point(const std::string& name) {
  const char* at = std::getenv("HEMOLENS_CRASH_AT");
  if (at && name == at) std::raise(SIGKILL);
}

}  // namespace hemolens
