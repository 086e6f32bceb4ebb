#include <cstdio>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "hemolens/quality.hpp"
#include "hemolens/store.hpp"

namespace hemolens::cli {
namespace {

nlohmann::json summarise(const std::string& path, const StoreData& s) {
  std::vector<std::size_t> per_class(s.classes.size(), 0);
  std::size_t unlabelled = 0;
  std::map<std::string, std::size_t> flags;
  for (const auto& r : s.images) {
    if (r.label >= 0 && std::size_t(r.label) < per_class.size()) ++per_class[std::size_t(r.label)];
    else ++unlabelled;
    for (const auto& f : quality_flag_infos())
      if (r.flags & f.bit) ++flags[f.name];
  }
  nlohmann::json j;
  j["store"] = path;
  j["images"] = s.rows;
  j["features"] = s.cols;
  j["classes"] = nlohmann::json::object();
  for (std::size_t c = 0; c < s.classes.size(); ++c) j["classes"][s.classes[c]] = per_class[c];
  j["unlabelled"] = unlabelled;
  j["quality_flags"] = flags;
  j["skipped"] = nlohmann::json::array();
  for (const auto& k : s.skipped) j["skipped"].push_back({{"path", k.path}, {"reason", k.reason}});
  j["provenance"] = {{"schema_version", s.meta.schema_version}, {"schema_hash", s.meta.schema_hash},
                     {"engine_version", s.meta.engine_version}, {"backend", s.meta.backend},
                     {"device", s.meta.device},                 {"shard", std::to_string(s.meta.shard_index) + "/" + std::to_string(s.meta.shard_count)},
                     {"created", s.meta.created},               {"dataset", s.meta.dataset},
                     {"parameters", nlohmann::json::parse(s.meta.parameters_json, nullptr, false)}};
  return j;
}

void print_text(const nlohmann::json& j) {
  std::printf("store %s\n", j["store"].get<std::string>().c_str());
  std::printf("  %zu images, %zu features, %zu skipped\n", j["images"].get<std::size_t>(), j["features"].get<std::size_t>(),
              j["skipped"].size());
  const auto& p = j["provenance"];
  std::printf("  schema v%d (%s), engine %s, backend %s (%s), shard %s, created %s\n", p["schema_version"].get<int>(),
              p["schema_hash"].get<std::string>().c_str(), p["engine_version"].get<std::string>().c_str(),
              p["backend"].get<std::string>().c_str(), p["device"].get<std::string>().c_str(), p["shard"].get<std::string>().c_str(),
              p["created"].get<std::string>().c_str());
  std::printf("  dataset %s\n", p["dataset"].get<std::string>().c_str());
  std::printf("  images per class:\n");
  for (const auto& [name, n] : j["classes"].items()) std::printf("    %-14s %6zu\n", name.c_str(), n.get<std::size_t>());
  if (j["unlabelled"].get<std::size_t>() > 0) std::printf("    %-14s %6zu\n", "(unlabelled)", j["unlabelled"].get<std::size_t>());
  std::printf("  quality flags:");
  if (j["quality_flags"].empty()) std::printf(" none");
  for (const auto& [name, n] : j["quality_flags"].items()) std::printf(" %s %zu", name.c_str(), n.get<std::size_t>());
  std::printf("\n");
  if (!j["skipped"].empty()) std::printf("  skipped:\n");
  for (const auto& k : j["skipped"])
    std::printf("    %s: %s\n", k["path"].get<std::string>().c_str(), k["reason"].get<std::string>().c_str());
}

}  // namespace

namespace {
void add_info_command(CLI::App& app) {
  struct Args {
    std::string store;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("info", "counts per class, features, skipped files and provenance of a store");
  cmd->add_option("store", args->store, "an HDF5 feature store")->required()->check(CLI::ExistingFile);
  cmd->add_flag("--json", args->json, "print JSON instead of text");
  cmd->callback([args] {
    const nlohmann::json j = summarise(args->store, read_store(args->store));
    if (args->json) std::printf("%s\n", j.dump(2).c_str());
    else print_text(j);
  });
}

const Registration kRegistration{30, add_info_command};
}  // namespace

}  // namespace hemolens::cli
