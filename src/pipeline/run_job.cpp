#include "pipeline/run_job.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>  // for getpid

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "hemolens/atomic_file.hpp"
#include "hemolens/crash_point.hpp"
#include "hemolens/store.hpp"
#include "hemolens/version.hpp"
#include "model/training_run.hpp"
#include "pipeline/extract.hpp"
#include "report/evaluation.hpp"

namespace hemolens {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error(p.string() + ": cannot read");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Which SLURM job ran a task ("12_3" for an array task), for the record.
std::string slurm_job_id() {
  const char* array_job = std::getenv("SLURM_ARRAY_JOB_ID");
  const char* array_task = std::getenv("SLURM_ARRAY_TASK_ID");
  if (array_job && array_task) return std::string(array_job) + "_" + array_task;
  const char* job = std::getenv("SLURM_JOB_ID");
  return job ? job : "";
}

bool is_complete_file(const fs::path& p) { return fs::is_regular_file(p); }

// ---- the extract stage: one task per shard -------------------------------------------

// Inside a SLURM job, "all cores" would be the whole node's, not the job's allocation.
int extract_threads(const ExtractParams& e) {
  if (e.threads > 0) return e.threads;
  if (const char* cpus = std::getenv("SLURM_CPUS_PER_TASK")) return std::max(1, std::atoi(cpus));
  return 0;
}

void run_extract_task(const RunContext& ctx, int task) {
  ExtractOptions opt;
  opt.input = ctx.spec.dataset;
  opt.output = ctx.layout.shard(task);
  opt.backend = parse_backend_kind(ctx.spec.extract.backend);
  opt.threads = extract_threads(ctx.spec.extract);
  opt.shard = {task, ctx.layout.shards};
  opt.batch_size = ctx.spec.extract.batch;
  const ExtractSummary s = run_extract(opt);
  if (!s.backend_note.empty()) spdlog::info("{}", s.backend_note);
  spdlog::info("extract {}/{}: {} images, {} skipped, {:.1f} s ({} threads, backend {}) -> {}", task, ctx.layout.shards,
               s.images, s.skipped.size(), s.seconds, s.threads, s.backend, opt.output.string());
}

bool extract_complete(const RunLayout& layout, int task) { return is_complete_file(layout.shard(task)); }

// ---- the merge stage: all shards -> features.h5 --------------------------------------

std::vector<int> missing_shards(const RunLayout& layout) {
  std::vector<int> missing;
  for (int i = 0; i < layout.shards; ++i)
    if (!is_complete_file(layout.shard(i))) missing.push_back(i);
  return missing;
}

void run_merge_task(const RunContext& ctx, int /*task*/) {
  const RunLayout& l = ctx.layout;
  if (const auto missing = missing_shards(l); !missing.empty()) {
    std::string names;
    for (int i : missing) names.append(" ").append(l.shard(i).string());
    throw std::runtime_error("merge: " + std::to_string(missing.size()) + " of " + std::to_string(l.shards) +
                             " shards are missing or incomplete:" + names + "; run extract task(s) " +
                             format_task_list(missing) + " first (hemolens run SPEC --stage extract --task I)");
  }
  std::vector<fs::path> shards;
  for (int i = 0; i < l.shards; ++i) shards.push_back(l.shard(i));
  merge_stores(shards, l.features());
  spdlog::info("merge: {} shards -> {}", l.shards, l.features().string());
}

// Complete only if not older than any shard: a shard that was redone makes it stale.
bool merge_complete(const RunLayout& layout, int /*task*/) {
  if (!is_complete_file(layout.features())) return false;
  const auto merged = fs::last_write_time(layout.features());
  for (int i = 0; i < layout.shards; ++i) {
    if (!is_complete_file(layout.shard(i)) || fs::last_write_time(layout.shard(i)) > merged) return false;
  }
  return true;
}

// ---- train and evaluate: features.h5 -> model/ -----------------------------------------

fs::path model_dir(const RunLayout& l) { return l.dir / "model"; }

// Newer than its input, or it is stale.
bool output_newer_than(const fs::path& output, const fs::path& input) {
  return fs::exists(output) && fs::exists(input) && fs::last_write_time(output) >= fs::last_write_time(input);
}

void require_merged(const RunLayout& l, const char* stage) {
  if (!merge_complete(l, 0))
    throw std::runtime_error(std::string(stage) + ": " + l.features().string() +
                             " is missing or older than a shard; run the merge stage first");
}

void run_train_task(const RunContext& ctx, int /*task*/) {
  require_merged(ctx.layout, "train");
  model::TrainParams p;
  p.seed = std::uint64_t(ctx.spec.model.seed);
  p.rounds = ctx.spec.model.rounds;
  p.device = ctx.spec.model.device;
  model::run_training({ctx.layout.features(), model_dir(ctx.layout), p, ctx.spec.model.cv, false, 0});
}

bool train_complete(const RunLayout& layout, int /*task*/) {
  return merge_complete(layout, 0) && output_newer_than(model_dir(layout) / "bundle.json", layout.features());
}

void run_evaluate_task(const RunContext& ctx, int /*task*/) {
  if (!train_complete(ctx.layout, 0)) throw std::runtime_error("evaluate: no up-to-date model in " + model_dir(ctx.layout).string() + "; run the train stage first");
  report::run_evaluation(model_dir(ctx.layout), ctx.layout.features(), model_dir(ctx.layout) / "metrics.json",
                         model_dir(ctx.layout) / "report.html");
}

// Both outputs, each written whole (atomically), and both newer than the model.
bool evaluate_complete(const RunLayout& layout, int /*task*/) {
  const fs::path bundle = model_dir(layout) / "bundle.json";
  return train_complete(layout, 0) && output_newer_than(model_dir(layout) / "metrics.json", bundle) &&
         output_newer_than(model_dir(layout) / "report.html", bundle);
}

// ---- run.json and state/ ---------------------------------------------------------------

json run_record(const RunContext& ctx) {
  return {{"name", ctx.spec.name},
          {"spec", ctx.spec.file.string()},
          {"dataset", ctx.spec.dataset.string()},
          {"shards", ctx.layout.shards},
          {"backend", ctx.spec.extract.backend},
          {"batch", ctx.spec.extract.batch},
          {"engine_version", kEngineVersion}};
}

// The settings that decide what the stores contain; the others (SLURM resources, threads)
// may change between submissions of the same run.
void require_same_run(const fs::path& run_json, const json& now) {
  const json before = json::parse(read_text(run_json));
  for (const char* key : {"dataset", "shards", "backend", "batch"}) {
    if (before.value(key, json()) != now[key])
      throw std::runtime_error(run_json.parent_path().string() + " was started with " + key + " = " +
                               before.value(key, json()).dump() + " (see run.json), but this spec asks for " +
                               now[key].dump() + ": use another --run-dir, or delete that directory to start over");
  }
}

fs::path state_path(const RunLayout& l, const Stage& s, int task) { return l.task_name_path("state", s.name, task, s.array, ".json"); }

// Written under a temporary name and renamed, so a reader (status, another task) never sees
// half a file, and tasks writing the same file at once do not corrupt it.
void write_state(const fs::path& p, const json& rec) { write_file_atomic(p, rec.dump(2) + "\n"); }

bool process_alive(int pid) {
  // /proc/PID/comm guards against a reused PID: it must still be a hemolens process.
  std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
  std::string name;
  return comm && std::getline(comm, name) && name.rfind("hemolens", 0) == 0;
}

std::string describe(const json& rec) {
  std::string d;
  auto add = [&](const char* label, const std::string& v) {
    if (!v.empty()) d += (d.empty() ? "" : ", ") + std::string(label) + v;
  };
  add("host ", rec.value("host", ""));
  if (rec.contains("pid")) add("pid ", std::to_string(rec["pid"].get<int>()));
  add("slurm job ", rec.value("slurm_job", ""));
  add("started ", rec.value("started", ""));
  add("finished ", rec.value("finished", ""));
  if (rec.contains("exit_code")) add("exit ", std::to_string(rec["exit_code"].get<int>()));
  add("", rec.value("message", ""));
  return d;
}

TaskStatus task_status(const RunLayout& l, const Stage& s, int task) {
  TaskStatus t{s.name, task, s.array, TaskState::kPending, ""};
  const bool complete = s.complete(l, task);
  const fs::path p = state_path(l, s, task);
  json rec = json::object();
  if (fs::exists(p)) {
    try {
      rec = json::parse(read_text(p));
    } catch (const std::exception& e) {
      rec = {{"state", "unreadable"}, {"message", e.what()}};
    }
  }
  const std::string state = rec.value("state", "");
  t.detail = describe(rec);
  if (state == "failed") {
    t.state = TaskState::kFailed;  // the latest attempt failed, whatever an older one left
  } else if (state == "running" && !complete) {
    const bool here = rec.value("host", "") == host_name();
    if (here && !process_alive(rec.value("pid", 0))) {
      t.state = TaskState::kFailed;
      t.detail += ", the process is gone (killed, out of memory or out of time?)";
    } else {
      t.state = TaskState::kRunning;
    }
  } else if (complete) {
    t.state = TaskState::kDone;
  } else if (state == "done") {
    t.detail += ", marked done but its output is missing or older than its input";
  }
  return t;
}

}  // namespace

// ---- the stage table -----------------------------------------------------------------------

const std::vector<Stage>& stage_table() {
  static const std::vector<Stage> table = {
      {"extract", true, run_extract_task, extract_complete},
      {"merge", false, run_merge_task, merge_complete},
      {"train", false, run_train_task, train_complete},
      {"evaluate", false, run_evaluate_task, evaluate_complete},
  };
  return table;
}

const Stage& find_stage(const std::string& name) {
  std::string names;
  for (const Stage& s : stage_table()) {
    if (s.name == name) return s;
    names += (names.empty() ? "" : ", ") + s.name;
  }
  throw std::runtime_error("no stage named '" + name + "' (stages: " + names + ")");
}

int task_count(const Stage& stage, const RunLayout& layout) { return stage.array ? layout.shards : 1; }

fs::path RunLayout::shard(int index) const {
  char name[64];
  std::snprintf(name, sizeof name, "shard-%04d-of-%04d.h5", index, shards);
  return dir / "shards" / name;
}

fs::path RunLayout::features() const { return dir / "features.h5"; }

fs::path RunLayout::task_name_path(const std::string& sub, const std::string& stage, int task, bool array,
                                   const std::string& ext) const {
  return dir / sub / (array ? stage + "-" + std::to_string(task) + ext : stage + ext);
}

RunContext make_run_context(JobSpec spec) {
  RunLayout layout{spec.run_dir, spec.extract.shards};
  return {std::move(spec), std::move(layout)};
}

void prepare_run_dir(const RunContext& ctx) {
  const fs::path& d = ctx.layout.dir;
  for (const char* sub : {"shards", "logs", "state"}) fs::create_directories(d / sub);
  const json record = run_record(ctx);
  const fs::path run_json = d / "run.json";
  if (fs::exists(run_json))
    require_same_run(run_json, record);
  else
    write_file_atomic(run_json, record.dump(2) + "\n");
  const std::string spec_text = read_text(ctx.spec.file);
  const fs::path copy = d / "spec.toml";
  if (!fs::exists(copy) || read_text(copy) != spec_text) write_file_atomic(copy, spec_text);
}

RunLayout read_run_layout(const fs::path& run_dir) {
  const fs::path run_json = run_dir / "run.json";
  if (!fs::exists(run_json))
    throw std::runtime_error(run_dir.string() + ": not a hemolens run directory (no run.json; `hemolens run SPEC` makes one)");
  const json rec = json::parse(read_text(run_json));
  return {run_dir, rec.at("shards").get<int>()};
}

std::vector<StagePlan> plan_run(const RunLayout& layout) {
  std::vector<StagePlan> plan;
  bool upstream_changes = false;
  for (const Stage& s : stage_table()) {
    StagePlan p{&s, task_count(s, layout), {}};
    for (int i = 0; i < p.tasks; ++i)
      if (upstream_changes || !s.complete(layout, i)) p.todo.push_back(i);
    upstream_changes = upstream_changes || !p.todo.empty();
    plan.push_back(std::move(p));
  }
  return plan;
}

std::string format_task_list(const std::vector<int>& tasks) {
  std::string out;
  for (std::size_t i = 0; i < tasks.size();) {
    std::size_t j = i;
    while (j + 1 < tasks.size() && tasks[j + 1] == tasks[j] + 1) ++j;
    // Appends piece by piece: `"," + std::to_string(...)` trips GCC 12's -Wrestrict false positive.
    if (!out.empty()) out += ',';
    out += std::to_string(tasks[i]);
    if (j > i) out.append("-").append(std::to_string(tasks[j]));
    i = j + 1;
  }
  return out;
}

void run_task(const RunContext& ctx, const Stage& stage, int task) {
  if (task < 0 || task >= task_count(stage, ctx.layout))
    throw std::runtime_error("stage " + stage.name + " has tasks 0.." + std::to_string(task_count(stage, ctx.layout) - 1) +
                             ", not " + std::to_string(task));
  const fs::path p = state_path(ctx.layout, stage, task);
  json rec = {{"state", "running"}, {"stage", stage.name}, {"task", task}, {"host", host_name()},
              {"pid", static_cast<int>(::getpid())}, {"slurm_job", slurm_job_id()}, {"started", utc_now_iso8601()}};
  write_state(p, rec);
  try {
    stage.run(ctx, task);
    crash_point("stage-ran:" + stage.name);
    if (!stage.complete(ctx.layout, task))
      throw std::runtime_error("stage " + stage.name + " ended without complete output (a bug in the stage)");
  } catch (const std::exception& e) {
    rec["state"] = "failed";
    rec["exit_code"] = 1;  // what `hemolens` exits with for an error
    rec["message"] = e.what();
    rec["finished"] = utc_now_iso8601();
    write_state(p, rec);
    throw;
  }
  rec["state"] = "done";
  rec["finished"] = utc_now_iso8601();
  write_state(p, rec);
  crash_point("stage-done:" + stage.name);
}

int run_all(const RunContext& ctx, const std::function<void(const std::string&)>& say) {
  int ran = 0;
  for (const StagePlan& p : plan_run(ctx.layout)) {
    if (p.todo.empty()) {
      say(p.stage->name + ": complete, skipped");
      continue;
    }
    for (int task : p.todo) {
      say(p.stage->name + (p.stage->array ? " task " + std::to_string(task) + " of " + std::to_string(p.tasks) : ""));
      run_task(ctx, *p.stage, task);
      ++ran;
    }
  }
  return ran;
}

const char* to_string(TaskState s) {
  switch (s) {
    case TaskState::kDone: return "done";
    case TaskState::kRunning: return "running";
    case TaskState::kFailed: return "failed";
    default: return "pending";
  }
}

std::vector<TaskStatus> run_status(const RunLayout& layout) {
  std::vector<TaskStatus> out;
  for (const Stage& s : stage_table())
    for (int i = 0; i < task_count(s, layout); ++i) out.push_back(task_status(layout, s, i));
  return out;
}

}  // namespace hemolens
