#include <cstdio>

#include "cli/commands.hpp"
#include "hemolens/schema.hpp"

namespace hemolens::cli {

namespace {
void add_schema_command(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand("schema", "print the feature schema as Markdown (docs/features.md)");
  cmd->callback([] { std::fputs(schema_markdown().c_str(), stdout); });
}

const Registration kRegistration{90, add_schema_command};
}  // namespace

}  // namespace hemolens::cli
