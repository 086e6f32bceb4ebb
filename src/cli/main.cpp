#include <spdlog/spdlog.h>

#include <cstdio>
#include <exception>

#include "cli/commands.hpp"
#include "hemolens/version.hpp"
#include "pipeline/process_tuning.hpp"

int main(int argc, char** argv) {
  hemolens::prefer_passive_openmp(argv);
  hemolens::keep_freed_memory();
  CLI::App app{"hemolens: classical features of blood-cell microscope images, on CPU or GPU"};
  app.set_version_flag("--version", std::string("hemolens ") + hemolens::kEngineVersion);
  app.require_subcommand(1);
  bool verbose = false;
  app.add_flag("-v,--verbose", verbose, "log more detail");
  hemolens::cli::add_registered_commands(app);
  spdlog::set_pattern("%^%l%$: %v");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const hemolens::cli::ExitStatus& s) {
    return s.code;
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
  return 0;
}
