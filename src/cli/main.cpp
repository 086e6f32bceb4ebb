#include <spdlog/spdlog.h>

#include <cstdio>
#include <exception>

#include "cli/commands.hpp"
#include "cli/suggest.hpp"
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
  if (const int status = hemolens::cli::check_command_name(app, argc, argv); status >= 0) return status;
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return hemolens::cli::report_parse_error(app, e, argc, argv);
  } catch (const hemolens::cli::ExitStatus& s) {
    return s.code;
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
  return 0;
}
