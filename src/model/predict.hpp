// Predictions of a model bundle on a store (checked for schema compatibility first).
#pragma once
#include <string>
#include <vector>

#include "hemolens/store.hpp"
#include "model/bundle.hpp"

namespace hemolens::model {

struct Predictions {
  std::size_t classes = 0;
  std::vector<float> proba;    // rows x classes
  std::vector<int> predicted;  // argmax per row
};

Predictions predict_store(const ModelBundle& bundle, const StoreData& store, const std::string& store_name, int threads = 0);

}  // namespace hemolens::model
