#include <spdlog/spdlog.h>

#include <cstdio>
#include <memory>

#include "cli/commands.hpp"
#include "cli/progress.hpp"
#include "pipeline/extract.hpp"

namespace hemolens::cli {
namespace {

struct ExtractArgs {
  std::string input, output, backend = "auto", shard = "0/1";
  int threads = 0, batch = 32;
  std::uint64_t max_pixels = DecodeLimits{}.max_pixels;
  bool strict = false, quiet = false;
};

void print_summary(const ExtractSummary& s) {
  std::printf("extract: %zu images done, %zu skipped, %zu flagged by segmentation, %.1f s, %.0f images/s (%d threads, backend %s)\n",
              s.images, s.skipped.size(), s.flagged, s.seconds, s.seconds > 0 ? s.images / s.seconds : 0.0, s.threads,
              s.backend.c_str());
  std::printf("  time per stage (thread-seconds):");
  for (const auto& [name, sec] : s.stage_seconds) std::printf(" %s %.2f", name.c_str(), sec);
  std::printf("\n");
  for (const auto& k : s.skipped) std::printf("  skipped %s: %s\n", k.path.c_str(), k.reason.c_str());
}

void run(const ExtractArgs& a) {
  ExtractOptions opt;
  opt.input = a.input;
  opt.output = a.output;
  opt.backend = parse_backend_kind(a.backend);
  opt.threads = a.threads;
  opt.shard = parse_shard(a.shard);
  opt.batch_size = a.batch;
  opt.limits.max_pixels = a.max_pixels;
  Progress bar("extract");
  const ExtractSummary s = run_extract(opt, [&](std::size_t done, std::size_t total) {
    if (!a.quiet) bar.update(done, total);
  });
  bar.finish();
  if (!s.backend_note.empty()) spdlog::info("{}", s.backend_note);
  print_summary(s);
  std::printf("wrote %s\n", a.output.c_str());
  if (a.strict && !s.skipped.empty()) {
    spdlog::error("--strict: {} input file(s) could not be used", s.skipped.size());
    throw ExitStatus{2};
  }
}

}  // namespace

namespace {
void add_extract_command(CLI::App& app) {
  auto args = std::make_shared<ExtractArgs>();
  CLI::App* cmd = app.add_subcommand("extract", "segment every image and write its features to an HDF5 store");
  cmd->add_option("dataset", args->input, "folder with one sub-folder per class, a folder of images, or a path,label CSV")
      ->required();
  cmd->add_option("-o,--output", args->output, "the store to write (.h5); written atomically")->required();
  cmd->add_option("--backend", args->backend, "cpu, cuda or auto (GPU when available, else CPU)")
      ->check(CLI::IsMember({"cpu", "cuda", "auto"}));
  cmd->add_option("--threads", args->threads, "worker threads (default: all cores)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--shard", args->shard, "process only slice I of N of the sorted images, e.g. 0/4");
  cmd->add_option("--batch", args->batch, "images per batch")->check(CLI::PositiveNumber);
  cmd->add_option("--max-pixels", args->max_pixels, "refuse images with more pixels than this");
  cmd->add_flag("--strict", args->strict, "exit with status 2 when any input file could not be used");
  cmd->add_flag("-q,--quiet", args->quiet, "no progress output");
  cmd->callback([args] { run(*args); });
}

const Registration kRegistration{10, add_extract_command};
}  // namespace

}  // namespace hemolens::cli
