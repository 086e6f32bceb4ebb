#include <cstdio>
#include <memory>

#include "cli/commands.hpp"
#include "hemolens/store.hpp"

namespace hemolens::cli {

namespace {
void add_merge_command(CLI::App& app) {
  struct Args {
    std::string output;
    std::vector<std::string> stores;
    bool allow_partial = false, concat = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "merge", "combine the shard stores of one extract (in shard order), or independent stores of one schema (--concat)");
  cmd->add_option("-o,--output", args->output, "the merged store to write")->required();
  cmd->add_option("stores", args->stores, "shard stores written by extract --shard I/N (or any stores, with --concat)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_flag("--allow-partial", args->allow_partial, "merge even if some shards of the set are missing");
  cmd->add_flag("--concat", args->concat,
                "independent stores of the same feature schema (a train and a test set, two sites): rows in the order given, "
                "classes united and renumbered by name, paths prefixed with each store's dataset when they differ");
  cmd->callback([args] {
    std::vector<std::filesystem::path> paths(args->stores.begin(), args->stores.end());
    if (args->concat) {
      if (args->allow_partial) throw std::runtime_error("--allow-partial is for shards; --concat takes any stores");
      const ConcatSummary s = concat_stores(paths, args->output);
      std::printf("concatenated %zu stores (%zu images) into %s\n", paths.size(), s.rows, args->output.c_str());
      if (s.duplicate_ids > 0)
        std::printf("note: %zu images (same content) are in more than one of these stores; `hemolens export` lists their ids\n",
                    s.duplicate_ids);
      return;
    }
    merge_stores(paths, args->output, args->allow_partial);
    std::printf("merged %zu shards into %s\n", paths.size(), args->output.c_str());
  });
}

const Registration kRegistration{20, add_merge_command};
}  // namespace

}  // namespace hemolens::cli
