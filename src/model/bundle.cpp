#include "model/bundle.hpp"

#include <xxhash.h>     // for model and store fingerprints

#include <cstdio>
#include <fstream>
#include <iterator>
#include <set>
#include <stdexcept>

#include "hemolens/atomic_file.hpp"
#include "hemolens/crash_point.hpp"
#include "hemolens/version.hpp"

namespace fs = std::filesystem;

namespace hemolens::model {
namespace {

std::string hex64(std::uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

std::runtime_error bundle_error(const fs::path& dir, const std::string& what) {
  return std::runtime_error("model bundle " + dir.string() + ": " + what);
}

}  // namespace

std::string file_xxh3(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  const std::string bytes{std::istreambuf_iterator<char>(in), {}};
  return hex64(XXH3_64bits(bytes.data(), bytes.size()));
}

namespace {

std::string content_xxh3(nlohmann::json meta) {
  meta.erase("content_xxh3");
  const std::string text = meta.dump();  // keys sorted, numbers in shortest round-trip form
  return hex64(XXH3_64bits(text.data(), text.size()));
}

}  // namespace

void write_bundle_meta(const fs::path& dir, nlohmann::json meta) {
  if (!fs::is_directory(dir)) throw bundle_error(dir, "not a directory");
  meta["content_xxh3"] = content_xxh3(meta);
  write_file_atomic(dir / "bundle.json", meta.dump(2) + "\n");
}

void save_bundle(const fs::path& dir, const Booster& booster, nlohmann::json meta, const std::function<void(const fs::path&)>& add_parts) {
  save_bundle(dir, booster, std::nullopt, std::move(meta), add_parts);
}

void save_bundle(const fs::path& dir, const Booster& booster, const std::optional<SvmMember>& svm, nlohmann::json meta,
                 const std::function<void(const fs::path&)>& add_parts) {
  remove_stale_temporaries(dir);
  const fs::path tmp = temporary_path(dir);
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  booster.save(tmp / "model.json");
  if (svm) {
    svm->svm.save(tmp / kSvmFile);
    meta["svm"] = {{"file", kSvmFile},
                   {"xxh3", file_xxh3(tmp / kSvmFile)},
                   {"weight", svm->weight},
                   {"support_vectors", svm->svm.support_vectors()}};
  }
  crash_point("bundle:model-saved");
  const XgbInfo xgb = xgboost_info();
  meta["format"] = "hemolens-model-bundle";
  meta["bundle_version"] = kBundleVersion;
  meta["model_file"] = "model.json";
  meta["model_xxh3"] = file_xxh3(tmp / "model.json");
  meta["engine_version"] = kEngineVersion;
  meta["xgboost_version"] = xgb.version();
  meta["created"] = utc_now_iso8601();
  write_bundle_meta(tmp, meta);
  if (add_parts) add_parts(tmp);
  crash_point("bundle:complete");
  // The directory is the commit: whole, or absent (a kill between these two lines leaves no
  // bundle, which a rerun makes again).
  if (fs::exists(dir)) fs::remove_all(dir);
  fs::rename(tmp, dir);
}

namespace {

// bundle.json's field `key` as a T, or an error that names the file, the field and what it must be.
template <class T>
T field(const fs::path& dir, const nlohmann::json& meta, const char* key, const char* must_be) {
  if (!meta.contains(key)) throw bundle_error(dir, std::string("bundle.json lacks '") + key + "'");
  try {
    return meta.at(key).get<T>();
  } catch (const nlohmann::json::exception&) {
    throw bundle_error(dir, std::string("bundle.json: '") + key + "' must be " + must_be + ", not " + meta.at(key).dump().substr(0, 80));
  }
}

// The names bundle.json gives the model's classes and features must fit the model: predictions
// and explanations index them by the model's outputs.
void check_fits_model(const ModelBundle& b) {
  const fs::path& dir = b.dir;
  if (b.classes.size() < 2) throw bundle_error(dir, "bundle.json lists " + std::to_string(b.classes.size()) + " class(es); a classifier needs at least 2");
  if (std::set<std::string>(b.classes.begin(), b.classes.end()).size() != b.classes.size())
    throw bundle_error(dir, "bundle.json lists a class twice");
  const Booster::Shape shape = b.booster.shape();
  if (shape.classes != b.classes.size())
    throw bundle_error(dir, "bundle.json lists " + std::to_string(b.classes.size()) + " classes but model.json was trained for " +
                                std::to_string(shape.classes));
  if (shape.features != b.feature_names.size())
    throw bundle_error(dir, "bundle.json lists " + std::to_string(b.feature_names.size()) + " features but model.json was trained on " +
                                std::to_string(shape.features));
}

// The SVM member bundle.json names: its file whole (hash), its share a number in (0, 1], its
// shape the bundle's.
SvmMember load_svm_member(const ModelBundle& b) {
  const fs::path& dir = b.dir;
  const nlohmann::json& entry = b.meta["svm"];
  if (!entry.is_object()) throw bundle_error(dir, "bundle.json: 'svm' must be an object");
  if (entry.value("file", nlohmann::json()) != kSvmFile) throw bundle_error(dir, std::string("bundle.json: the SVM's file must be ") + kSvmFile);
  const double weight = field<double>(dir, entry, "weight", "a number");
  if (!(weight > 0 && weight <= 1)) throw bundle_error(dir, "bundle.json: the SVM's weight must be in (0, 1]");
  const fs::path file = dir / kSvmFile;
  if (!fs::exists(file)) throw bundle_error(dir, std::string(kSvmFile) + " is missing");
  if (file_xxh3(file) != field<std::string>(dir, entry, "xxh3", "a hash"))
    throw bundle_error(dir, std::string(kSvmFile) + " does not match the hash recorded in bundle.json (damaged or truncated)");
  try {
    return SvmMember{Svm::load(file, b.classes.size(), b.feature_names.size()), weight};
  } catch (const std::runtime_error& e) {
    throw bundle_error(dir, e.what());
  }
}

}  // namespace

ModelBundle load_bundle(const fs::path& dir) {
  if (!fs::is_directory(dir)) throw bundle_error(dir, "not a directory (train one with `hemolens train`)");
  std::ifstream in(dir / "bundle.json");
  if (!in) throw bundle_error(dir, "bundle.json is missing");
  ModelBundle b;
  b.dir = dir;
  b.meta = nlohmann::json::parse(in, nullptr, false);
  if (b.meta.is_discarded() || !b.meta.is_object()) throw bundle_error(dir, "bundle.json is not valid JSON (damaged?)");
  if (b.meta.value("format", nlohmann::json()) != "hemolens-model-bundle") throw bundle_error(dir, "bundle.json is not a hemolens model bundle");
  const nlohmann::json version = b.meta.value("bundle_version", nlohmann::json(0));
  if (version != kBundleVersion)
    throw bundle_error(dir, "bundle version " + version.dump() + ", this hemolens reads version " + std::to_string(kBundleVersion) +
                                ": train the model again with this hemolens");
  if (b.meta.value("content_xxh3", nlohmann::json()) != content_xxh3(b.meta))
    throw bundle_error(dir, "bundle.json does not match the hash of its content (content_xxh3): it was changed after it was written; "
                            "train the model again or restore the file");
  const fs::path model_file = dir / field<std::string>(dir, b.meta, "model_file", "a file name");
  if (!fs::exists(model_file)) throw bundle_error(dir, model_file.filename().string() + " is missing");
  if (file_xxh3(model_file) != field<std::string>(dir, b.meta, "model_xxh3", "a hash"))
    throw bundle_error(dir, model_file.filename().string() + " does not match the hash recorded in bundle.json (damaged or truncated)");
  b.classes = field<std::vector<std::string>>(dir, b.meta, "classes", "a list of class names");
  b.feature_names = field<std::vector<std::string>>(dir, b.meta, "feature_names", "a list of feature names");
  b.schema_hash = field<std::string>(dir, b.meta, "schema_hash", "a schema hash");
  b.booster = Booster::load(model_file);
  check_fits_model(b);
  if (b.meta.contains("svm")) b.svm = load_svm_member(b);
  if (b.meta.contains("triage")) {
    try {
      b.triage = Triage::from_json(b.meta["triage"], b.classes);
    } catch (const nlohmann::json::exception& e) {
      throw bundle_error(dir, std::string("the triage entry of bundle.json is incomplete or of the wrong type: ") + e.what());
    } catch (const std::runtime_error& e) {
      throw bundle_error(dir, std::string("the triage entry of bundle.json is invalid: ") + e.what());
    }
  }
  return b;
}

void check_compatible(const ModelBundle& bundle, const StoreData& store, const std::string& store_name) {
  if (store.meta.schema_hash != bundle.schema_hash)
    throw std::runtime_error("store " + store_name + " has feature schema " + store.meta.schema_hash + " (v" +
                             std::to_string(store.meta.schema_version) + ") but model " + bundle.dir.string() + " was trained on schema " +
                             bundle.schema_hash + ": extract the store again with this hemolens, or use a matching model");
  if (store.feature_names != bundle.feature_names)
    throw std::runtime_error("store " + store_name + ": feature names differ from the model's although the schema hash matches");
}

std::string store_fingerprint(const StoreData& store) {
  XXH3_state_t* st = XXH3_createState();
  XXH3_64bits_reset(st);
  XXH3_64bits_update(st, store.features.data(), store.features.size() * sizeof(float));
  for (const auto& r : store.images) XXH3_64bits_update(st, &r.label, sizeof r.label);
  const std::uint64_t h = XXH3_64bits_digest(st);
  XXH3_freeState(st);
  return hex64(h);
}

}  // namespace hemolens::model
