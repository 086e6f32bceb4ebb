#include "cli/store_columns.hpp"

#include <fnmatch.h>  // for shell patterns in --features

#include <set>
#include <stdexcept>

#include "hemolens/quality.hpp"

namespace hemolens::cli {
namespace {

std::string joined(const std::set<std::string>& items) {
  std::string s;
  for (const auto& i : items) s += (s.empty() ? "" : ", ") + i;
  return s;
}

template <typename F>
CsvTable::Cell image_cell(const StoreData& store, F value) {
  return first_rows(store.rows, value);
}

}  // namespace

std::vector<std::size_t> choose_features(const StoreData& store, const std::vector<std::string>& groups,
                                         const std::vector<std::string>& names) {
  std::vector<std::size_t> out;
  if (groups.empty() && names.empty()) {
    for (std::size_t c = 0; c < store.cols; ++c) out.push_back(c);
    return out;
  }
  const std::set<std::string> known_groups(store.feature_groups.begin(), store.feature_groups.end());
  for (const auto& g : groups)
    if (!known_groups.count(g)) throw std::runtime_error("no feature group '" + g + "' (groups: " + joined(known_groups) + ")");
  for (const auto& n : names) {
    bool any = false;
    for (const auto& f : store.feature_names) any = any || ::fnmatch(n.c_str(), f.c_str(), 0) == 0;
    if (!any)
      throw std::runtime_error("no feature matches '" + n + "' (`hemolens schema` lists the " + std::to_string(store.cols) +
                               " names; patterns such as 'nucleus_*' work)");
  }
  for (std::size_t c = 0; c < store.cols; ++c) {
    bool keep = false;
    for (const auto& g : groups) keep = keep || store.feature_groups[c] == g;
    for (const auto& n : names) keep = keep || ::fnmatch(n.c_str(), store.feature_names[c].c_str(), 0) == 0;
    if (keep) out.push_back(c);
  }
  return out;
}

bool has_labels(const StoreData& store) {
  for (const auto& r : store.images)
    if (r.label >= 0) return true;
  return false;
}

void add_id_column(CsvTable& t, const StoreData& store) {
  t.add("id", image_cell(store, [&store](std::size_t r) { return store.images[r].id; }));
}

void add_path_column(CsvTable& t, const StoreData& store) {
  t.add("path", image_cell(store, [&store](std::size_t r) { return store.images[r].path; }));
}

void add_label_column(CsvTable& t, const StoreData& store) {
  t.add("label", image_cell(store, [&store](std::size_t r) {
          const int l = store.images[r].label;
          return l >= 0 ? store.classes[std::size_t(l)] : std::string();
        }));
}

void add_size_columns(CsvTable& t, const StoreData& store) {
  t.add("height", image_cell(store, [&store](std::size_t r) { return std::to_string(store.images[r].height); }));
  t.add("width", image_cell(store, [&store](std::size_t r) { return std::to_string(store.images[r].width); }));
}

void add_flag_columns(CsvTable& t, const StoreData& store) {
  for (const auto& f : quality_flag_infos()) {
    const std::uint32_t bit = f.bit;
    t.add(std::string("flag_") + f.name,
          image_cell(store, [&store, bit](std::size_t r) { return std::string(store.images[r].flags & bit ? "1" : "0"); }));
  }
}

void add_feature_columns(CsvTable& t, const StoreData& store, const std::vector<std::size_t>& columns) {
  for (std::size_t c : columns)
    t.add(store.feature_names[c],
          image_cell(store, [&store, c](std::size_t r) { return format_number(store.features[r * store.cols + c]); }));
}

}  // namespace hemolens::cli
