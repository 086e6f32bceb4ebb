// The CUDA backend: hemolens::Backend over the device-resident lanes (cuda/lane.hpp).
//
// extract() may be called from several pipeline threads at once: each call takes a free lane
// (two by default, each with its own stream, so one batch computes while the next uploads),
// copies its batch into the lane's page-locked staging, runs the whole chain on the device and
// returns the feature rows (the shared formulas, computed on the device) and quality flags.
// A batch whose scratch would not fit the device's memory (or whose reservation fails) is
// split in halves, recursively, not failed; memory stays bounded by the lanes' pools.
//
// Compiled twice like the rest of cuda/ (cuda/exec.hpp): hemolens::cuda::device::make_backend
// is the product's (`extract --backend cuda`, src/pipeline/backend_select.cpp);
// hemolens::cuda::host::make_backend, the host execution, exists in the test build only
// (tests/cuda), where it extracts whole datasets for the parity tests.
#pragma once
#include <cstddef>
#include <memory>
#include <string>

#include "cpu/segment.hpp"  // SegmentParams
#include "exec.hpp"
#include "hemolens/backend.hpp"

HEMOLENS_CUDA_BEGIN

struct BackendOptions {
  cpu::SegmentParams segment;
  std::string parameters_json = "{}";  // recorded in the store: the CPU backend's description of `segment`
  int lanes = 2;
  // Device scratch one lane may take for a batch, in bytes; larger batches are split. 0: the
  // device's free memory at start, shared by the lanes (less a margin); unlimited in the host
  // execution.
  std::size_t lane_memory = 0;
};

std::unique_ptr<hemolens::Backend> make_backend(const BackendOptions& options);

// What a backend of make_backend() has done so far: the batches it ran on the device (after
// splitting), their images, and how many batches it split because they would not fit.
struct BackendCounts {
  std::size_t device_batches = 0, images = 0, splits = 0;
};
BackendCounts backend_counts(const hemolens::Backend& backend);  // all 0 for another backend

HEMOLENS_CUDA_END
