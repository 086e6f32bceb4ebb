// The columns a feature store gives a table: each image's id, path, true label, size and
// quality flags by name, and any of its features under their schema names. Rows past the
// store's last image (the skipped files that predict and score list after the images) get
// empty cells.
#pragma once
#include <string>
#include <vector>

#include "cli/csv_table.hpp"
#include "hemolens/store.hpp"

namespace hemolens::cli {

// The feature columns to write: those of the named groups and those whose name matches one of
// `names` (exact, or a shell pattern such as nucleus_*), in store order; all when both are
// empty. A group or name that matches nothing is an error listing what the store has.
std::vector<std::size_t> choose_features(const StoreData& store, const std::vector<std::string>& groups,
                                         const std::vector<std::string>& names);

// True when at least one image has a label (a folder per class, a labelled manifest).
bool has_labels(const StoreData& store);

void add_id_column(CsvTable& t, const StoreData& store);                  // id: the image's content hash
void add_path_column(CsvTable& t, const StoreData& store);                // path, as the store records it
void add_label_column(CsvTable& t, const StoreData& store);               // label: class name, empty when unlabelled
void add_size_columns(CsvTable& t, const StoreData& store);               // height, width in pixels
void add_flag_columns(CsvTable& t, const StoreData& store);               // flag_<name>: 1 or 0, one per quality flag
void add_feature_columns(CsvTable& t, const StoreData& store, const std::vector<std::size_t>& columns);

}  // namespace hemolens::cli
