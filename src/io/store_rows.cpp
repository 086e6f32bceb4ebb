// Stores made of the rows of others: a subset (the job's held-out test split) and the
// concatenation of independent stores (`hemolens merge --concat`).
#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>

#include "hemolens/store.hpp"

namespace fs = std::filesystem;

namespace hemolens {
namespace {

void require_same_columns(const fs::path& a_path, const StoreData& a, const fs::path& b_path, const StoreData& b) {
  const std::string pair = a_path.string() + " and " + b_path.string();
  if (a.meta.schema_hash != b.meta.schema_hash || a.meta.schema_version != b.meta.schema_version)
    throw std::runtime_error("merge: " + pair + " have different feature schemas (" + a.meta.schema_hash + " v" +
                             std::to_string(a.meta.schema_version) + " vs " + b.meta.schema_hash + " v" +
                             std::to_string(b.meta.schema_version) + "): extract both with the same hemolens");
  if (a.feature_names != b.feature_names || a.feature_groups != b.feature_groups)
    throw std::runtime_error("merge: " + pair + " have different feature columns although their schema hash matches");
}

// "data/test" + "basophil/x.jpg": the row's file named from where the store was made.
std::string prefixed(const std::string& dataset, const std::string& path) {
  if (dataset.empty() || fs::path(path).is_absolute()) return path;
  fs::path root(dataset);
  if (fs::path(dataset).extension() == ".csv") root = root.parent_path();  // a manifest's paths are relative to it
  return (root / path).lexically_normal().generic_string();
}

}  // namespace

StoreData select_rows(const StoreData& data, const std::vector<std::size_t>& rows) {
  StoreData out;
  out.meta = data.meta;
  out.meta.shard_index = 0;
  out.meta.shard_count = 1;
  out.meta.created.clear();
  out.feature_names = data.feature_names;
  out.feature_groups = data.feature_groups;
  out.classes = data.classes;
  out.cols = data.cols;
  out.rows = rows.size();
  out.features.reserve(rows.size() * data.cols);
  for (std::size_t r : rows) {
    if (r >= data.rows) throw std::out_of_range("select_rows: row " + std::to_string(r) + " of " + std::to_string(data.rows));
    out.images.push_back(data.images[r]);
    out.features.insert(out.features.end(), data.features.begin() + std::ptrdiff_t(r * data.cols),
                        data.features.begin() + std::ptrdiff_t((r + 1) * data.cols));
  }
  return out;
}

void write_store(const fs::path& path, const StoreData& data) {
  StoreWriter writer(path, data.feature_names, data.feature_groups, data.classes, data.meta);
  writer.append(data.images, data.features.data());
  writer.add_skipped(data.skipped);
  writer.commit();
}

ConcatSummary concat_stores(const std::vector<fs::path>& paths, const fs::path& out) {
  if (paths.empty()) throw std::runtime_error("merge: no stores given");
  std::vector<StoreData> stores;
  for (const auto& p : paths) stores.push_back(read_store(p));
  std::set<std::string> class_set, datasets;
  for (std::size_t i = 0; i < stores.size(); ++i) {
    require_same_columns(paths.front(), stores.front(), paths[i], stores[i]);
    class_set.insert(stores[i].classes.begin(), stores[i].classes.end());
    datasets.insert(stores[i].meta.dataset);
  }
  const bool one_dataset = datasets.size() == 1;

  StoreData all;
  all.meta = stores.front().meta;
  all.meta.shard_index = 0;
  all.meta.shard_count = 1;
  all.meta.created.clear();
  all.meta.dataset = one_dataset ? *datasets.begin() : "";
  all.feature_names = stores.front().feature_names;
  all.feature_groups = stores.front().feature_groups;
  all.classes.assign(class_set.begin(), class_set.end());
  all.cols = stores.front().cols;
  nlohmann::json sources = nlohmann::json::array();
  std::map<std::string, int> seen;  // id -> stores holding it
  ConcatSummary summary;
  for (std::size_t i = 0; i < stores.size(); ++i) {
    const StoreData& s = stores[i];
    std::vector<int> label_of(s.classes.size());
    for (std::size_t c = 0; c < s.classes.size(); ++c)
      label_of[c] = int(std::lower_bound(all.classes.begin(), all.classes.end(), s.classes[c]) - all.classes.begin());
    std::set<std::string> ids_here;
    for (StoreRow row : s.images) {
      if (row.label >= 0) row.label = label_of[std::size_t(row.label)];
      if (!one_dataset) row.path = prefixed(s.meta.dataset, row.path);
      if (ids_here.insert(row.id).second && seen[row.id]++ == 1) ++summary.duplicate_ids;
      all.images.push_back(std::move(row));
    }
    for (SkippedImage k : s.skipped) {
      if (!one_dataset) k.path = prefixed(s.meta.dataset, k.path);
      all.skipped.push_back(std::move(k));
    }
    all.features.insert(all.features.end(), s.features.begin(), s.features.end());
    sources.push_back({{"store", paths[i].filename().string()}, {"dataset", s.meta.dataset}, {"images", s.rows}});
  }
  all.rows = all.images.size();
  nlohmann::json params = nlohmann::json::parse(all.meta.parameters_json, nullptr, false);
  if (!params.is_object()) params = nlohmann::json::object();
  params.erase("merged_from");
  params["concatenated_from"] = sources;
  all.meta.parameters_json = params.dump();
  write_store(out, all);
  summary.rows = all.rows;
  return summary;
}

}  // namespace hemolens
