// What `predict`, `score` and `explain` accept as input: a store as it is, or images (one
// folder, a path,label CSV, or image files) extracted now into a scratch store.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "hemolens/store.hpp"

namespace hemolens::cli {

struct InputOptions {
  std::vector<std::string> inputs;
  std::string backend = "auto";
  int threads = 0;
};

// A scratch directory removed when this goes out of scope.
struct ScratchDir {
  std::filesystem::path path;
  explicit ScratchDir(const std::string& tag);
  ~ScratchDir();
};

// `name` says what was read, for messages.
StoreData load_input(const InputOptions& in, const std::filesystem::path& scratch, std::string* name);

// An input of which no image could be used is an error naming why (the first reasons), not a
// table without predictions: a SLURM array task would otherwise succeed with nothing.
void require_images(const StoreData& store, const std::string& name, const std::string& command);

}  // namespace hemolens::cli
