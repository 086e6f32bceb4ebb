// The model bundle: a directory that keeps a trained model as an artifact.
//
//   MODEL_DIR/model.json   the XGBoost model in XGBoost's own JSON format (xgboost.Booster
//                          (model_file="model.json") in Python loads it)
//   MODEL_DIR/bundle.json  what the model is: schema version and hash, feature and class
//                          names, the training store's hash, parameters, metrics, versions,
//                          and the XXH3 hash of model.json (a damaged file is refused)
// No pickles. Written to MODEL_DIR.tmp-<pid> and renamed, so a bundle is whole or absent.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hemolens/store.hpp"
#include "model/xgboost.hpp"

namespace hemolens::model {

inline constexpr int kBundleVersion = 1;

struct ModelBundle {
  std::filesystem::path dir;
  nlohmann::json meta;  // bundle.json
  Booster booster;
  std::vector<std::string> classes, feature_names;
  std::string schema_hash;
};

// `meta` must hold classes, feature_names, schema_hash, schema_version; the writer adds
// bundle_version, model_file, model_xxh3, created and the library versions.
void save_bundle(const std::filesystem::path& dir, const Booster& booster, nlohmann::json meta);

// Throws std::runtime_error naming the directory and what is wrong (missing, damaged,
// truncated, another format).
ModelBundle load_bundle(const std::filesystem::path& dir);

// Refuses (clear error) a store whose schema or feature names differ from the model's.
void check_compatible(const ModelBundle& bundle, const StoreData& store, const std::string& store_name);

// XXH3 hash of a file's bytes (16 hex digits): what bundle.json records for its files.
std::string file_xxh3(const std::filesystem::path& file);

// Replaces DIR/bundle.json by `meta` atomically (written beside it, then renamed): for adding
// parts to an existing bundle (the anomaly model) without rewriting the rest.
void write_bundle_meta(const std::filesystem::path& dir, const nlohmann::json& meta);

// Hash of a store's content (features and labels): which data a model was trained on.
std::string store_fingerprint(const StoreData& store);

}  // namespace hemolens::model
