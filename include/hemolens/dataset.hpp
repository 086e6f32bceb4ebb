// Ingest: what images a run covers, their labels, and their order.
//
// Three inputs are accepted: a folder with one sub-folder per class (labelled), a folder
// of images (unlabelled, label -1), or a CSV manifest with a `path,label` header (paths
// relative to the manifest; an empty label means unlabelled). Entries are sorted by their
// path relative to the dataset root, byte order, so every machine and every shard sees
// the same order.
#pragma once
#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

namespace hemolens {

struct DatasetEntry {
  std::filesystem::path path;  // absolute or as given
  std::string rel_path;        // relative to the dataset root: the stable name
  int label = -1;              // index into Dataset::classes, -1 when unlabelled
};

struct SkippedImage {
  std::string path;
  std::string reason;
};

struct Dataset {
  std::filesystem::path root;
  std::vector<std::string> classes;  // sorted class names; empty when unlabelled
  std::vector<DatasetEntry> entries;
  std::vector<SkippedImage> skipped;  // rejected while scanning (directories named *.jpg, ...)
};

// Throws std::runtime_error with a clear message when `input` cannot be read at all, and when
// it holds no image where the layout expects one (an empty run would pass unnoticed): the
// message says what was found, what layout is expected, and where images lie deeper when
// they do (data/train/CLASS/*.jpg given as data).
Dataset scan_dataset(const std::filesystem::path& input);

// Shard `index` of `count` (0-based): a contiguous slice of the sorted entries, so that
// concatenating shards 0..count-1 gives the whole dataset in order.
struct ShardSpec {
  int index = 0;
  int count = 1;
};
ShardSpec parse_shard(const std::string& text);  // "I/N"
void keep_shard(Dataset& ds, ShardSpec shard);

// File name extensions accepted as images (lower case, with the dot).
bool has_image_extension(const std::filesystem::path& p);

}  // namespace hemolens
