// The device-resident batch (cuda/lane.cu): one lane holds a stream, a scratch pool reserved
// once and page-locked staging, and takes one batch at a time through the whole CPU reference
// chain (src/cpu/segment.cpp and measure.cpp, on the device) with one upload (the packed RGB
// and its image table) and one download (feature rows and quality flags, or the accumulators).
// Every intermediate plane stays on the device; nothing is allocated, freed or synchronised
// between stages. Two lanes on one GPU overlap: while one computes, the other uploads or
// downloads.
//
//   Lane a, b;
//   a.submit(batch0, params); b.submit(batch1, params);  // both return at once on a GPU
//   a.wait(result0); a.submit(batch2, params); b.wait(result1); ...
//
// The chain: preprocessing (white balance, stain, smoothing, histograms), the segmentation
// (thresholds, masks, seed, cell, lobes, reach cut, quality flags), every accumulator of the
// measurement, then the shared feature formulas. Host-callable, no CUDA types.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cpu/segment.hpp"  // SegmentParams
#include "exec.hpp"
#include "features/accumulators.hpp"
#include "preprocess.hpp"  // PackedBatch

HEMOLENS_CUDA_BEGIN

struct LaneParams {
  cpu::SegmentParams segment;  // the CPU reference's parameters
  bool rows = false;  // download feature rows and flags (the throughput mode) instead of accumulators
};

struct LaneResult {
  std::size_t images = 0, cols = 0;
  std::vector<features::ImageAccumulators> acc;       // without `rows`
  std::vector<float> rows;                            // with `rows`: images x cols
  std::vector<std::uint32_t> flags;                   // quality flags per image
  std::vector<std::uint32_t> stain_hist, green_hist;  // without `rows`: images x 256, the thresholds' input
  double device_ms = 0;  // the batch on the device, upload to download (CUDA events; the host execution: its wall time)
};

struct LaneCounters {
  int reservations = 0, uploads = 0, downloads = 0, syncs = 0;
};

// Columns of a feature row: what the shared formulas emit (the schema lives in hemolens_core,
// which this library does not link).
std::size_t feature_columns();

class Lane {
 public:
  explicit Lane(Path path = Path::kFast);
  ~Lane();
  Lane(const Lane&) = delete;
  Lane& operator=(const Lane&) = delete;

  // The device scratch a batch needs (bytes), without reserving it: what a caller compares
  // with the device's memory to split a batch that would not fit. 0 with `error` set when the
  // batch is refused.
  std::size_t scratch_bytes(const PackedBatch& batch, const LaneParams& params, std::string* error);
  // Copies the batch into the lane's staging and queues its work; returns without waiting on a
  // GPU. False with `error` set when the batch is refused or a stage fails to queue
  // (out_of_memory() then says whether reserving memory failed).
  bool submit(const PackedBatch& batch, const LaneParams& params, std::string* error);
  // Waits for the submitted batch. False with `error` naming the stage that failed.
  bool wait(LaneResult& out, std::string* error);
  bool out_of_memory() const;
  LaneCounters counters() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

HEMOLENS_CUDA_END
