// The held-out test set of a job (`[test] fraction = F`): of each class, the share F of its
// images whose paths hash lowest (XXH3 of the path relative to the dataset). The choice
// depends on the paths alone, so every machine, rerun and shard count holds out the same
// images, and adding images to a class moves few others between the sets. Stratified: each
// class gives round(F x n) images (at least 1 of a class of 2 or more, and never all of it).
//
// Example: a class of 10 images and F = 0.25 gives its 2 or 3 (round(2.5) = 3) lowest hashes.
#pragma once
#include <cstddef>
#include <filesystem>
#include <vector>

#include "hemolens/store.hpp"

namespace hemolens {

struct HeldOut {
  std::vector<std::size_t> train, test;  // store rows, in store order; unlabelled rows train
};

// Throws when the store has no labels (a test set must have them to judge the model).
HeldOut hold_out(const StoreData& store, double fraction);

// Reads `all`, writes its training rows to `train_out` and its held-out rows to `test_out`
// (each whole or absent). Returns the split.
HeldOut split_store(const std::filesystem::path& all, double fraction, const std::filesystem::path& train_out,
                    const std::filesystem::path& test_out);

}  // namespace hemolens
