#include <cstdio>
#include <memory>

#include "cli/commands.hpp"
#include "hemolens/store.hpp"

namespace hemolens::cli {

namespace {
void add_merge_command(CLI::App& app) {
  struct Args {
    std::string output;
    std::vector<std::string> shards;
    bool allow_partial = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("merge", "combine shard stores (same schema) into one store, in shard order");
  cmd->add_option("-o,--output", args->output, "the merged store to write")->required();
  cmd->add_option("shards", args->shards, "shard stores written by extract --shard I/N")->required()->check(CLI::ExistingFile);
  cmd->add_flag("--allow-partial", args->allow_partial, "merge even if some shards of the set are missing");
  cmd->callback([args] {
    std::vector<std::filesystem::path> paths(args->shards.begin(), args->shards.end());
    merge_stores(paths, args->output, args->allow_partial);
    std::printf("merged %zu shards into %s\n", paths.size(), args->output.c_str());
  });
}

const Registration kRegistration{20, add_merge_command};
}  // namespace

}  // namespace hemolens::cli
