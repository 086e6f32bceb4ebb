// The labelled rows of a store as a training table (unlabelled rows, label -1, are left out).
#pragma once
#include <vector>

#include "hemolens/store.hpp"
#include "model/train.hpp"

namespace hemolens::model {

struct LabelledData {
  std::vector<float> features;       // owns what table.features points to
  std::vector<std::size_t> store_row;  // row of the store for each table row
  Table table;
};

// Throws when fewer than two classes have labelled rows.
LabelledData labelled_rows(const StoreData& store, const std::string& store_name);

}  // namespace hemolens::model
