// The HDF5 feature store: one file per run or shard, readable with h5py alone.
//
// Layout (N images, F features):
//   /features        float32 [N,F], chunked, shuffle+deflate
//   /labels          int32 [N] (-1 unlabelled)       /classes        strings [C]
//   /feature_names   strings [F]                      /feature_groups strings [F]
//   /image/id        strings [N] (content hash)       /image/path     strings [N]
//   /image/height, /image/width   int32 [N]
//   /quality/flags   uint32 [N] bit mask              /quality/flag_names strings
//   /skipped/path, /skipped/reason   strings [S]
//   root attributes: schema_version, schema_hash, engine_version, backend, device,
//   parameters (JSON), shard_index, shard_count, created (UTC ISO 8601), dataset.
// A store is written under "<name>.tmp-<host>-<pid>" and renamed when complete, so a file with
// the final name is always whole (hemolens/atomic_file.hpp; what killed writers left is removed).
#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "hemolens/dataset.hpp"

namespace hemolens {

struct StoreMeta {
  int schema_version = 0;
  std::string schema_hash;
  std::string engine_version;
  std::string backend;  // "cpu" or "cuda"
  std::string device;   // e.g. "2 CPU threads" or the GPU name
  std::string parameters_json = "{}";
  int shard_index = 0;
  int shard_count = 1;
  std::string created;  // filled by the writer when empty
  std::string dataset;  // the input as given
};

struct StoreRow {
  std::string id;
  std::string path;
  int label = -1;
  int height = 0;
  int width = 0;
  std::uint32_t flags = 0;
};

class StoreWriter {
 public:
  StoreWriter(const std::filesystem::path& final_path, const std::vector<std::string>& feature_names,
              const std::vector<std::string>& feature_groups, const std::vector<std::string>& classes,
              const StoreMeta& meta);
  ~StoreWriter();  // without commit(): closes and deletes the temporary file
  StoreWriter(const StoreWriter&) = delete;
  StoreWriter& operator=(const StoreWriter&) = delete;

  // `features` holds rows.size() x feature_names.size() floats, row-major.
  void append(const std::vector<StoreRow>& rows, const float* features);
  void add_skipped(const std::vector<SkippedImage>& skipped);
  void commit();  // flushes, closes and renames to the final name

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct StoreData {
  StoreMeta meta;
  std::vector<std::string> feature_names, feature_groups, classes;
  std::size_t rows = 0, cols = 0;
  std::vector<float> features;  // rows x cols
  std::vector<StoreRow> images;
  std::vector<SkippedImage> skipped;
};

// Throws std::runtime_error naming the file and what is wrong. Nothing a file claims is
// trusted: a dataset declaring more rows than the file stores for it is refused before
// anything is allocated, every label must index /classes (or be -1), and the shard
// attributes must describe a shard. So every consumer may index by label and row.
StoreData read_store(const std::filesystem::path& path);

// Concatenates shards in shard_index order. Refuses different schemas, classes or feature
// names, duplicate shard indices, and (unless allow_partial) a missing shard.
void merge_stores(const std::vector<std::filesystem::path>& shards, const std::filesystem::path& out,
                  bool allow_partial = false);

// Stores made of the rows of others (src/io/store_rows.cpp).

// The rows `rows` of `data`, in that order, with its classes, feature columns and metadata
// (shard 0 of 1); the skipped files are not carried over.
StoreData select_rows(const StoreData& data, const std::vector<std::size_t>& rows);

// Writes `data` as a store (whole or absent, like every store).
void write_store(const std::filesystem::path& path, const StoreData& data);

// Concatenates independent stores of the same feature schema (a training and a test set
// extracted apart, two sites' images) in the order given: classes become the sorted union
// and labels are renumbered by class name; when the stores come from different datasets each
// path is prefixed with its store's dataset, so every row still names its file. Refuses other
// schemas or feature columns, naming both files.
struct ConcatSummary {
  std::size_t rows = 0;
  std::size_t duplicate_ids = 0;  // images (same content hash) found in more than one store
};
ConcatSummary concat_stores(const std::vector<std::filesystem::path>& stores, const std::filesystem::path& out);

std::string utc_now_iso8601();

}  // namespace hemolens
