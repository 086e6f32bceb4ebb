// Running a job spec: the stage table, the run directory, per-task state, and the plan of
// what is left to do. `hemolens run` (all stages on one machine, or one stage/task) and
// `slurm/submit` (one SLURM job per stage, array jobs for array stages) both drive this, so
// the stage logic has one home.
//
// Run directory:
//   RUNDIR/run.json                 what the run is (spec, dataset, shards, backend): a run
//                                   directory is never reused for another dataset or shard count
//   RUNDIR/spec.toml                a copy of the spec, for the record
//   RUNDIR/shards/shard-0001-of-0004.h5   one store per extract task
//   RUNDIR/features.h5              the merged store
//   RUNDIR/train.h5, test.h5        [test] fraction: features.h5 split into training and held-out rows
//   RUNDIR/test.h5                  [test] dataset: the second dataset's store
//   RUNDIR/model/                   the bundle, metrics.json and report.html (evaluate)
//   RUNDIR/logs/<stage>[-<task>].log      written by SLURM (slurm/submit)
//   RUNDIR/state/<stage>[-<task>].json    running / done / failed, host, pid, times, message
//
// Adding a stage (train, evaluate, score): append a Stage row to stage_table() in
// run_job.cpp with its run function and completion check; `hemolens run`, `hemolens status`
// and `slurm/submit` pick it up with no other change.
#pragma once
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "pipeline/job_spec.hpp"

namespace hemolens {

// Where a run's test set comes from ([test] in the spec).
enum class TestSource { kNone, kDataset, kFraction };

// Paths inside a run directory. Knows only the directory, the shard count and the kind of
// test set (all in run.json), so that `hemolens status RUNDIR` can use it without the spec.
struct RunLayout {
  std::filesystem::path dir;
  int shards = 1;
  TestSource test = TestSource::kNone;

  std::filesystem::path shard(int index) const;  // shards/shard-0001-of-0004.h5
  std::filesystem::path features() const;        // features.h5
  std::filesystem::path training_store() const;  // what train reads: train.h5 with a held-out fraction, else features.h5
  std::filesystem::path test_store() const;      // test.h5
  std::filesystem::path model_dir() const;       // model/
  std::filesystem::path task_name_path(const std::string& sub, const std::string& stage, int task, bool array,
                                       const std::string& ext) const;
};

struct RunContext {
  JobSpec spec;
  RunLayout layout;
};

struct Stage {
  std::string name;
  bool array = false;  // one task per shard (task index = shard index); else a single task 0
  // Runs one task. Throws std::runtime_error with a clear message on failure, including
  // when its inputs are incomplete (it must never work from partial input).
  std::function<void(const RunContext&, int task)> run;
  // True when the task's outputs exist and are not older than its inputs. Outputs are
  // written atomically, so existence of the final name means complete.
  std::function<bool(const RunLayout&, int task)> complete;
  // Whether the stage is part of a run of this layout (the test-set stage only with [test]);
  // empty: always.
  std::function<bool(const RunLayout&)> applies;
};

// The stages in the order they run. Every later stage reads only what earlier ones wrote.
const std::vector<Stage>& stage_table();
// The stages of a run of this layout, in order: the rows of the table that apply to it.
std::vector<const Stage*> stages_of(const RunLayout& layout);
const Stage& find_stage(const std::string& name);  // throws, listing the stage names
int task_count(const Stage& stage, const RunLayout& layout);

RunContext make_run_context(JobSpec spec);

// Creates the run directory (shards/, logs/, state/), records run.json and a copy of the
// spec. Refuses a run directory that was started with another dataset, shard count or
// backend, naming both. Safe to call from many tasks at once (atomic writes).
void prepare_run_dir(const RunContext& ctx);

// Reads run.json: the layout of an existing run directory (for status).
RunLayout read_run_layout(const std::filesystem::path& run_dir);

// Refuses, before anything is run or submitted, a dataset (or test dataset) without images
// where a stage still has to extract it: scan_dataset's message says what it found.
void require_inputs(const RunContext& ctx);

// What remains: for each stage, the tasks that are not complete. Once a stage has work
// left, every later stage is redone in full, because its inputs are about to change.
struct StagePlan {
  const Stage* stage = nullptr;
  int tasks = 1;
  std::vector<int> todo;
};
std::vector<StagePlan> plan_run(const RunLayout& layout);

// "0-3,7,9-10": the SLURM --array syntax.
std::string format_task_list(const std::vector<int>& tasks);

// Runs one task and records it in state/: running (host, pid, time) before, then done or
// failed (exit code, message). Rethrows the failure after recording it.
void run_task(const RunContext& ctx, const Stage& stage, int task);

// Runs every task the plan still has, stage by stage, on this machine. Stops at the first
// failure (its task is recorded as failed); returns how many tasks ran.
int run_all(const RunContext& ctx, const std::function<void(const std::string&)>& say);

// Status of every task, for `hemolens status`.
enum class TaskState { kDone, kRunning, kFailed, kPending };
const char* to_string(TaskState s);
struct TaskStatus {
  std::string stage;
  int task = 0;
  bool array = false;
  TaskState state = TaskState::kPending;
  std::string detail;  // host, pid, times, exit code, message: whatever state/ recorded
};
std::vector<TaskStatus> run_status(const RunLayout& layout);

}  // namespace hemolens
