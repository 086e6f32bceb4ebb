// The hemolens subcommands. Each registers itself on the app; the CLI only wires stages
// together, the work lives in the pipeline, store and model libraries.
#pragma once
#include <CLI/CLI.hpp>

namespace hemolens::cli {

void add_extract_command(CLI::App& app);
void add_merge_command(CLI::App& app);
void add_info_command(CLI::App& app);
void add_schema_command(CLI::App& app);

// Thrown by a command to end with a given exit status after printing its message.
struct ExitStatus {
  int code;
};

}  // namespace hemolens::cli
