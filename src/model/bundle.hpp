// The model bundle: a directory that keeps a trained model as an artifact.
//
//   MODEL_DIR/model.json   the XGBoost model in XGBoost's own JSON format (xgboost.Booster
//                          (model_file="model.json") in Python loads it)
//   MODEL_DIR/bundle.json  what the model is: schema version and hash, feature and class
//                          names, the training store's hash, parameters, metrics, versions,
//                          and the XXH3 hash of model.json (a damaged file is refused) and
//                          of its own content (content_xxh3: an edited bundle.json is refused)
//                          "triage" holds the calibration, the review policy and the
//                          conformal cuts (model/triage.hpp), checked on loading
//   MODEL_DIR/svm.bin      the SVM member (model/svm.hpp), when trained with one; bundle.json's
//                          "svm" holds its hash and its share of the averaged probabilities
//   MODEL_DIR/anomaly-<hash>.bin  the isolation forests (model/anomaly.hpp), when fitted
// No pickles. Written to MODEL_DIR.tmp-<host>-<pid> and renamed, so a bundle is whole or absent.
#pragma once
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hemolens/store.hpp"
#include "model/classifier.hpp"
#include "model/triage.hpp"
#include "model/xgboost.hpp"

namespace hemolens::model {

// 2: bundle.json carries content_xxh3, the hash of everything else in it (classes included).
inline constexpr int kBundleVersion = 2;
inline constexpr const char* kSvmFile = "svm.bin";

struct ModelBundle {
  std::filesystem::path dir;
  nlohmann::json meta;  // bundle.json
  Booster booster;
  std::optional<SvmMember> svm;  // absent in a bundle of trees alone
  std::vector<std::string> classes, feature_names;
  std::string schema_hash;
  // Calibration, review policy and prediction sets ("triage" in bundle.json, written by
  // `train`); absent in a bundle made without them, whose images all go to review.
  std::optional<Triage> triage;
};

// `meta` must hold classes, feature_names, schema_hash, schema_version; the writer adds
// bundle_version, model_file, model_xxh3, created, the library versions and content_xxh3.
// Everything is written into a temporary directory beside `dir`, `add_parts` (when given)
// adds more files to it (the anomaly forests), and the directory is renamed to `dir` last:
// a bundle is whole, with all its parts, or absent.
void save_bundle(const std::filesystem::path& dir, const Booster& booster, nlohmann::json meta,
                 const std::function<void(const std::filesystem::path& staging)>& add_parts = {});
// The same with the SVM member (svm.bin, and "svm" in bundle.json), when there is one.
void save_bundle(const std::filesystem::path& dir, const Booster& booster, const std::optional<SvmMember>& svm, nlohmann::json meta,
                 const std::function<void(const std::filesystem::path& staging)>& add_parts = {});

// Throws std::runtime_error naming the directory and what is wrong (missing, damaged,
// truncated, changed by hand, another format, classes or features that do not fit the model).
ModelBundle load_bundle(const std::filesystem::path& dir);

// Refuses (clear error) a store whose schema or feature names differ from the model's.
void check_compatible(const ModelBundle& bundle, const StoreData& store, const std::string& store_name);

// XXH3 hash of a file's bytes (16 hex digits): what bundle.json records for its files.
std::string file_xxh3(const std::filesystem::path& file);

// Replaces DIR/bundle.json by `meta` with its content hash, atomically (written beside it,
// then renamed): for adding parts to an existing bundle (the anomaly model) without
// rewriting the rest.
void write_bundle_meta(const std::filesystem::path& dir, nlohmann::json meta);

// Hash of a store's content (features and labels): which data a model was trained on.
std::string store_fingerprint(const StoreData& store);

}  // namespace hemolens::model
