#include "model/labelled.hpp"

#include <set>
#include <stdexcept>

namespace hemolens::model {

LabelledData labelled_rows(const StoreData& store, const std::string& store_name) {
  LabelledData d;
  std::set<int> seen;
  for (std::size_t i = 0; i < store.rows; ++i) {
    const int label = store.images[i].label;
    if (label < 0) continue;
    d.store_row.push_back(i);
    d.table.labels.push_back(label);
    seen.insert(label);
    d.features.insert(d.features.end(), store.features.begin() + std::ptrdiff_t(i * store.cols),
                      store.features.begin() + std::ptrdiff_t((i + 1) * store.cols));
  }
  if (seen.size() < 2)
    throw std::runtime_error("store " + store_name + ": training needs labelled images of at least two classes, found " +
                             std::to_string(seen.size()));
  d.table.features = d.features.data();
  d.table.rows = d.store_row.size();
  d.table.cols = store.cols;
  d.table.classes = store.classes;
  d.table.feature_names = store.feature_names;
  return d;
}

}  // namespace hemolens::model
