#include "model/bundle.hpp"

#include <unistd.h>     // for getpid
#include <xxhash.h>     // for model and store fingerprints

#include <cstdio>
#include <fstream>
#include <iterator>
#include <stdexcept>

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

void write_bundle_meta(const fs::path& dir, const nlohmann::json& meta) {
  if (!fs::is_directory(dir)) throw bundle_error(dir, "not a directory");
  const fs::path tmp = dir / ("bundle.json.tmp-" + std::to_string(::getpid()));
  {
    std::ofstream out(tmp);
    out << meta.dump(2) << "\n";
    out.flush();
    if (!out) throw bundle_error(dir, "cannot write " + tmp.filename().string());
  }
  fs::rename(tmp, dir / "bundle.json");
}

void save_bundle(const fs::path& dir, const Booster& booster, nlohmann::json meta) {
  const fs::path tmp = dir.string() + ".tmp-" + std::to_string(::getpid());
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  booster.save(tmp / "model.json");
  const XgbInfo xgb = xgboost_info();
  meta["format"] = "hemolens-model-bundle";
  meta["bundle_version"] = kBundleVersion;
  meta["model_file"] = "model.json";
  meta["model_xxh3"] = file_xxh3(tmp / "model.json");
  meta["engine_version"] = kEngineVersion;
  meta["xgboost_version"] = xgb.version();
  meta["created"] = utc_now_iso8601();
  std::ofstream(tmp / "bundle.json") << meta.dump(2) << "\n";
  if (fs::exists(dir)) fs::remove_all(dir);
  fs::rename(tmp, dir);
}

ModelBundle load_bundle(const fs::path& dir) {
  if (!fs::is_directory(dir)) throw bundle_error(dir, "not a directory (train one with `hemolens train`)");
  std::ifstream in(dir / "bundle.json");
  if (!in) throw bundle_error(dir, "bundle.json is missing");
  ModelBundle b;
  b.dir = dir;
  b.meta = nlohmann::json::parse(in, nullptr, false);
  if (b.meta.is_discarded() || !b.meta.is_object()) throw bundle_error(dir, "bundle.json is not valid JSON (damaged?)");
  if (b.meta.value("format", "") != "hemolens-model-bundle") throw bundle_error(dir, "bundle.json is not a hemolens model bundle");
  if (b.meta.value("bundle_version", 0) != kBundleVersion)
    throw bundle_error(dir, "bundle version " + std::to_string(b.meta.value("bundle_version", 0)) + ", this hemolens reads version " +
                                std::to_string(kBundleVersion));
  for (const char* key : {"classes", "feature_names", "schema_hash", "model_file", "model_xxh3"})
    if (!b.meta.contains(key)) throw bundle_error(dir, std::string("bundle.json lacks '") + key + "'");
  const fs::path model_file = dir / b.meta["model_file"].get<std::string>();
  if (!fs::exists(model_file)) throw bundle_error(dir, model_file.filename().string() + " is missing");
  if (file_xxh3(model_file) != b.meta["model_xxh3"].get<std::string>())
    throw bundle_error(dir, model_file.filename().string() + " does not match the hash recorded in bundle.json (damaged or truncated)");
  b.booster = Booster::load(model_file);
  b.classes = b.meta["classes"].get<std::vector<std::string>>();
  b.feature_names = b.meta["feature_names"].get<std::vector<std::string>>();
  b.schema_hash = b.meta["schema_hash"].get<std::string>();
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
