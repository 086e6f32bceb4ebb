// `hemolens run SPEC`: every stage of a job spec on this machine, or exactly one stage (one
// task of an array stage) as a SLURM job runs it. `--list-stages` prints the plan that
// slurm/submit turns into sbatch calls, so the scripts never duplicate the stage logic.
#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli/commands.hpp"
#include "pipeline/run_job.hpp"

namespace hemolens::cli {
namespace {

namespace fs = std::filesystem;

struct RunArgs {
  std::string spec, run_dir, dataset, stage;
  std::optional<int> task;
  bool force = false, list_stages = false;
};

SpecOverrides overrides_from(const RunArgs& a) {
  SpecOverrides o;
  if (!a.dataset.empty()) o.dataset = a.dataset;
  if (!a.run_dir.empty()) o.run_dir = a.run_dir;
  if (const char* env = std::getenv("HEMOLENS_DATASET")) o.dataset_env = std::string(env);
  return o;
}

// The stage's SLURM resources as sbatch options, one word each (the spec parser only
// accepts values without spaces, so slurm/submit can split the line on blanks).
std::string sbatch_options(const SlurmResources& r) {
  std::string out;
  auto add = [&](const char* opt, const std::string& v) {
    if (!v.empty()) out += std::string(" ") + opt + "=" + v;
  };
  add("--partition", r.partition);
  add("--account", r.account);
  add("--qos", r.qos);
  add("--constraint", r.constraint);
  add("--time", r.time);
  if (r.cpus > 0) add("--cpus-per-task", std::to_string(r.cpus));
  add("--mem", r.mem);
  add("--gres", r.gres);
  return out;
}

// Line format (read by slurm/submit; paths are absolute and resolved once, here, so every
// SLURM job of the run sees the same dataset whatever its environment):
//   name NAME
//   spec FILE
//   dataset PATH
//   run_dir DIR
//   stage NAME array|single TASKS TODO ARRAY_LIMIT [SBATCH_OPTION...]
// TODO is a SLURM --array list such as 0-3,7, or "-" when the stage is complete.
void list_stages(const RunContext& ctx) {
  std::printf("name %s\nspec %s\ndataset %s\nrun_dir %s\n", ctx.spec.name.c_str(), ctx.spec.file.c_str(),
              ctx.spec.dataset.c_str(), ctx.layout.dir.c_str());
  for (const StagePlan& p : plan_run(ctx.layout)) {
    const SlurmResources r = ctx.spec.resources_for(p.stage->name);
    const std::string todo = p.todo.empty() ? "-" : format_task_list(p.todo);
    std::printf("stage %s %s %d %s %d%s\n", p.stage->name.c_str(), p.stage->array ? "array" : "single", p.tasks,
                todo.c_str(), r.array_limit, sbatch_options(r).c_str());
  }
}

// One stage: the given task, or every task of the stage. A complete task is skipped
// unless --force, so a duplicate submission costs nothing.
void run_one_stage(const RunContext& ctx, const RunArgs& a) {
  const Stage& stage = find_stage(a.stage);
  if (stage.applies && !stage.applies(ctx.layout))
    throw std::runtime_error("stage " + stage.name + " is not part of this run (the spec has no [test] table)");
  if (a.task && !stage.array) throw std::runtime_error("stage " + stage.name + " is a single task: --task does not apply");
  std::vector<int> tasks;
  if (a.task) tasks.push_back(*a.task);
  else
    for (int i = 0; i < task_count(stage, ctx.layout); ++i) tasks.push_back(i);
  for (int t : tasks) {
    const std::string label = stage.name + (stage.array ? " task " + std::to_string(t) : "");
    if (!a.force && t >= 0 && t < task_count(stage, ctx.layout) && stage.complete(ctx.layout, t)) {
      std::printf("%s: already complete, skipped (--force to redo)\n", label.c_str());
      continue;
    }
    spdlog::info("{} ({})", label, ctx.layout.dir.string());
    run_task(ctx, stage, t);
  }
}

// The run's result in one line: the evaluation's figures, and what they were measured on.
void print_result(const RunContext& ctx) {
  const fs::path metrics = ctx.layout.model_dir() / "metrics.json";
  std::ifstream in(metrics);
  const nlohmann::json m = nlohmann::json::parse(in, nullptr, false);
  if (m.is_discarded() || !m.contains("accuracy")) return;
  const std::string role = m.value("/evaluated_on/role"_json_pointer, std::string("unknown"));
  std::printf("  %s: accuracy %.4f, macro-F1 %.4f on %zu images", role == "test" ? "test set" : "training images (optimistic)",
              m.value("accuracy", 0.0), m.value("macro_f1", 0.0), m.value("samples", std::size_t(0)));
  if (m.contains("cross_validation"))
    std::printf("; cross-validation (%d folds) accuracy %.4f, macro-F1 %.4f", m["cross_validation"].value("folds", 0),
                m["cross_validation"].value("accuracy", 0.0), m["cross_validation"].value("macro_f1", 0.0));
  std::printf("\n  report %s\n", (ctx.layout.model_dir() / "report.html").c_str());
}

void run(const RunArgs& a) {
  if (a.task && a.stage.empty()) throw std::runtime_error("--task needs --stage");
  const RunContext ctx = make_run_context(load_job_spec(a.spec, overrides_from(a)));
  if (a.stage.empty()) require_inputs(ctx);  // before a run directory or a job exists
  prepare_run_dir(ctx);
  if (a.list_stages) return list_stages(ctx);
  if (!a.stage.empty()) return run_one_stage(ctx, a);
  const int ran = run_all(ctx, [](const std::string& s) { spdlog::info("{}", s); });
  std::printf("run %s: all stages complete (%d task(s) ran now); merged store %s\n", ctx.spec.name.c_str(), ran,
              ctx.layout.features().c_str());
  print_result(ctx);
}

void add_run_command(CLI::App& app) {
  auto args = std::make_shared<RunArgs>();
  CLI::App* cmd = app.add_subcommand("run", "run a job spec (jobs/*.toml): extract all shards, merge, and the later stages");
  cmd->add_option("spec", args->spec, "the job spec (TOML)")->required()->check(CLI::ExistingFile);
  cmd->add_option("--run-dir", args->run_dir, "where shards, the merged store, logs and state go (default: the spec's run_dir)");
  cmd->add_option("--dataset", args->dataset, "the images (default: the spec's dataset, else $HEMOLENS_DATASET)");
  cmd->add_option("--stage", args->stage, "run only this stage (see --list-stages)");
  cmd->add_option("--task", args->task, "with --stage of an array stage: run only this task (shard index)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--force", args->force, "with --stage: redo tasks that are already complete");
  cmd->add_flag("--list-stages", args->list_stages,
                "print the stages in order with the tasks still to do and their sbatch options (for slurm/submit)");
  cmd->callback([args] { run(*args); });
}

const Registration kRegistration{70, add_run_command};
}  // namespace

}  // namespace hemolens::cli
