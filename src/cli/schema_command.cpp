#include <cstdio>

#include "cli/commands.hpp"
#include "hemolens/schema.hpp"

namespace hemolens::cli {

void add_schema_command(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand("schema", "print the feature schema as Markdown (docs/features.md)");
  cmd->callback([] { std::fputs(schema_markdown().c_str(), stdout); });
}

}  // namespace hemolens::cli
