// The hemolens subcommands. Each command file registers itself (a static Registration
// at the bottom of the file), so adding a command is adding a file. The CLI only wires
// stages together; the work lives in the pipeline, store and model libraries.
#pragma once
#include <CLI/CLI.hpp>

namespace hemolens::cli {

using AddCommand = void (*)(CLI::App&);

// `order` fixes where the command appears in --help (the data flow: extract first).
struct Registration {
  Registration(int order, AddCommand add);
};

void add_registered_commands(CLI::App& app);

// Thrown by a command to end with a given exit status after printing its message.
struct ExitStatus {
  int code;
};

}  // namespace hemolens::cli
