// Isolation-forest scoring on the device: every row against every tree in one launch.
// Host-callable, no CUDA types in the API (src/model/isolation_forest.cpp calls it).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "exec.hpp"

HEMOLENS_CUDA_BEGIN

// The flat arrays of src/model/isolation_forest.hpp, as host pointers.
struct ForestArrays {
  const std::int32_t* roots = nullptr;  // trees
  std::size_t trees = 0;
  const std::int32_t* feature = nullptr;  // nodes; < 0: external node
  const float* threshold = nullptr;
  const std::int32_t* left = nullptr;
  const std::int32_t* right = nullptr;
  const float* adjustment = nullptr;  // c(size) at external nodes, 0 elsewhere
  std::size_t nodes = 0;
  int max_depth = 0;       // a guard against a cycle in damaged arrays
  double c_sample = 1.0;   // c(psi), the normaliser
};

// x: rows x cols row-major on the host; scores: rows floats on the host.
// Returns false with `error` set when a device call fails.
bool score_forest(const ForestArrays& forest, const float* x, std::size_t rows, std::size_t cols, float* scores, std::string* error,
                  Path path = Path::kFast);

HEMOLENS_CUDA_END
