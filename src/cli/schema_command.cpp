// `hemolens schema [--format md|csv|json] [-o FILE]`: every feature column with its group,
// region, unit, plain-words label and definition. Markdown is docs/features.md; CSV and JSON
// are for code (a notebook joins them to an export by feature name).
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/csv_table.hpp"
#include "hemolens/atomic_file.hpp"
#include "hemolens/schema.hpp"

namespace hemolens::cli {
namespace {

struct SchemaArgs {
  std::string format = "md", output = "-";
};

CsvTable schema_table(const FeatureSchema& s) {
  CsvTable t;
  t.add("name", [&s](std::size_t r) { return s.features[r].name; });
  t.add("group", [&s](std::size_t r) { return s.features[r].group; });
  t.add("region", [&s](std::size_t r) { return s.features[r].region; });
  t.add("unit", [&s](std::size_t r) { return s.features[r].unit; });
  t.add("label", [&s](std::size_t r) { return s.features[r].label; });
  t.add("description", [&s](std::size_t r) { return s.features[r].description; });
  return t;
}

std::string schema_json(const FeatureSchema& s) {
  nlohmann::ordered_json features = nlohmann::ordered_json::array();
  for (const auto& f : s.features)
    features.push_back({{"name", f.name}, {"group", f.group}, {"region", f.region}, {"unit", f.unit}, {"label", f.label},
                        {"description", f.description}});
  return nlohmann::ordered_json{{"version", s.version}, {"hash", s.hash}, {"features", features}}.dump(2) + "\n";
}

void write_text(const std::string& output, const std::string& text) {
  if (output == "-") std::fputs(text.c_str(), stdout);
  else write_file_atomic(output, text);
}

void run(const SchemaArgs& a) {
  const FeatureSchema& s = feature_schema();
  if (a.format == "csv") schema_table(s).write(a.output, s.features.size(), ',');
  else if (a.format == "json") write_text(a.output, schema_json(s));
  else write_text(a.output, schema_markdown());
}

void add_schema_command(CLI::App& app) {
  auto a = std::make_shared<SchemaArgs>();
  CLI::App* cmd = app.add_subcommand("schema", "print the feature schema: Markdown (docs/features.md), CSV or JSON");
  cmd->add_option("--format", a->format, "md, csv or json")->check(CLI::IsMember({"md", "csv", "json"}))->capture_default_str();
  cmd->add_option("-o,--output", a->output, "write here instead of standard output");
  cmd->callback([a] { run(*a); });
}

const Registration kRegistration{90, add_schema_command};
}  // namespace

}  // namespace hemolens::cli
