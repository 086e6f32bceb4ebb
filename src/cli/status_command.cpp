// `hemolens status RUNDIR`: what is done, running, failed and pending in a run directory,
// from the outputs themselves and the state/ records the tasks leave. Exit 0 when all is
// done, 3 when a task failed, 4 when the run is incomplete; scripts and tests rely on it.
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "pipeline/run_job.hpp"

namespace hemolens::cli {
namespace {

struct Counts {
  int done = 0, running = 0, failed = 0, pending = 0;
};

Counts count(const std::vector<TaskStatus>& tasks) {
  Counts c;
  for (const auto& t : tasks) {
    if (t.state == TaskState::kDone) ++c.done;
    if (t.state == TaskState::kRunning) ++c.running;
    if (t.state == TaskState::kFailed) ++c.failed;
    if (t.state == TaskState::kPending) ++c.pending;
  }
  return c;
}

void print_text(const RunLayout& l, const std::vector<TaskStatus>& tasks, const Counts& c) {
  std::printf("run %s (%d shards)\n", l.dir.c_str(), l.shards);
  for (const auto& t : tasks) {
    const std::string name = t.array ? t.stage + " " + std::to_string(t.task) : t.stage;
    std::printf("  %-14s %-8s %s\n", name.c_str(), to_string(t.state), t.detail.c_str());
  }
  std::printf("%d done, %d running, %d failed, %d pending (logs in %s)\n", c.done, c.running, c.failed, c.pending,
              (l.dir / "logs").c_str());
}

void print_json(const RunLayout& l, const std::vector<TaskStatus>& tasks, const Counts& c) {
  nlohmann::json j = {{"run_dir", l.dir.string()}, {"shards", l.shards},   {"done", c.done},
                      {"running", c.running},      {"failed", c.failed},   {"pending", c.pending},
                      {"tasks", nlohmann::json::array()}};
  for (const auto& t : tasks)
    j["tasks"].push_back({{"stage", t.stage}, {"task", t.task}, {"array", t.array}, {"state", to_string(t.state)}, {"detail", t.detail}});
  std::printf("%s\n", j.dump(2).c_str());
}

void add_status_command(CLI::App& app) {
  struct Args {
    std::string run_dir;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("status", "what is done, running, failed or pending in a run directory (exit 0 done, 3 failed, 4 incomplete)");
  cmd->add_option("run_dir", args->run_dir, "a run directory made by `hemolens run` or slurm/submit")->required();
  cmd->add_flag("--json", args->json, "machine-readable output");
  cmd->callback([args] {
    const RunLayout layout = read_run_layout(args->run_dir);
    const auto tasks = run_status(layout);
    const Counts c = count(tasks);
    args->json ? print_json(layout, tasks, c) : print_text(layout, tasks, c);
    if (c.failed > 0) throw ExitStatus{3};
    if (c.done < static_cast<int>(tasks.size())) throw ExitStatus{4};
  });
}

const Registration kRegistration{75, add_status_command};
}  // namespace

}  // namespace hemolens::cli
