// The device-resident batch (cuda/lane.cu): one lane holds a stream, a scratch pool reserved
// once and page-locked staging, and takes one batch at a time through every stage of cuda/ with
// one upload (the packed RGB and its image table) and one download (accumulators or feature
// rows, quality flags and the threshold histograms). Every intermediate plane stays on the
// device; nothing is allocated, freed or synchronised between stages. Two lanes on one GPU
// overlap: while one computes, the other uploads or downloads.
//
//   Lane a, b;
//   a.submit(batch0, params); b.submit(batch1, params);  // both return at once on a GPU
//   a.wait(result0); a.submit(batch2, params); b.wait(result1); ...
//
// The stages chained now are those cuda/ has: preprocessing, provisional masks (fixed levels,
// until the device segmentation replaces them), hole filling and opening, colour histograms,
// shape moments and textures, then the feature rows. Fields no stage fills yet (convex hull,
// thickness, components and lobes, granularity, Laplacian, flags) stay zero.
// Host-callable, no CUDA types.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "exec.hpp"
#include "features/accumulators.hpp"
#include "preprocess.hpp"  // PackedBatch

HEMOLENS_CUDA_BEGIN

struct LaneParams {
  double bright_fraction = 0.25;  // white balance, as cpu::SegmentParams
  int balance_target = 224;
  // Provisional masks: cell = smoothed green at or below green_level, holes filled, opened by
  // cell_radius; nucleus = smoothed stain above stain_level, opened by nucleus_radius, inside
  // the cell; background = smoothed green above green_level.
  int green_level = 170, stain_level = 60;
  int cell_radius = 6, nucleus_radius = 2;
  bool rows = false;  // download feature rows and flags (the throughput mode) instead of accumulators
};

struct LaneResult {
  std::size_t images = 0, cols = 0;
  std::vector<features::ImageAccumulators> acc;  // without `rows`
  std::vector<float> rows;                       // with `rows`: images x cols
  std::vector<std::uint32_t> flags;              // quality flags per image
  std::vector<std::uint32_t> stain_hist, green_hist;  // images x 256
};

struct LaneCounters {
  int reservations = 0, uploads = 0, downloads = 0, syncs = 0;
};

class Lane {
 public:
  explicit Lane(Path path = Path::kFast);
  ~Lane();
  Lane(const Lane&) = delete;
  Lane& operator=(const Lane&) = delete;

  // Copies the batch into the lane's staging and queues its work; returns without waiting on a
  // GPU. False with `error` set when the batch is refused or a stage fails to queue.
  bool submit(const PackedBatch& batch, const LaneParams& params, std::string* error);
  // Waits for the submitted batch. False with `error` naming the stage that failed.
  bool wait(LaneResult& out, std::string* error);
  LaneCounters counters() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

HEMOLENS_CUDA_END
