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
#include "pipeline/test_split.hpp"
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

// One extract as the spec's [extract] table asks: the training shards and a test dataset alike.
void extract_as_specified(const RunContext& ctx, const fs::path& input, const fs::path& output, ShardSpec shard) {
  ExtractOptions opt;
  opt.input = input;
  opt.output = output;
  opt.backend = parse_backend_kind(ctx.spec.extract.backend);
  opt.threads = extract_threads(ctx.spec.extract);
  opt.shard = shard;
  opt.batch_size = ctx.spec.extract.batch;
  const ExtractSummary s = run_extract(opt);
  if (!s.backend_note.empty()) spdlog::info("{}", s.backend_note);
  spdlog::info("extract {}/{} of {}: {} images, {} skipped, {:.1f} s ({} threads, backend {}) -> {}", shard.index, shard.count,
               input.string(), s.images, s.skipped.size(), s.seconds, s.threads, s.backend, output.string());
}

void run_extract_task(const RunContext& ctx, int task) {
  extract_as_specified(ctx, ctx.spec.dataset, ctx.layout.shard(task), {task, ctx.layout.shards});
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

// ---- the test set: a second dataset's store, or features.h5 split ---------------------------

// Newer than its input, or it is stale.
bool output_newer_than(const fs::path& output, const fs::path& input) {
  return fs::exists(output) && fs::exists(input) && fs::last_write_time(output) >= fs::last_write_time(input);
}

void require_merged(const RunLayout& l, const char* stage) {
  if (!merge_complete(l, 0))
    throw std::runtime_error(std::string(stage) + ": " + l.features().string() +
                             " is missing or older than a shard; run the merge stage first");
}

bool test_set_applies(const RunLayout& l) { return l.test != TestSource::kNone; }

void run_test_set_task(const RunContext& ctx, int /*task*/) {
  const RunLayout& l = ctx.layout;
  if (l.test == TestSource::kDataset) {
    extract_as_specified(ctx, ctx.spec.test.dataset, l.test_store(), {0, 1});
    return;
  }
  require_merged(l, "test-set");
  const HeldOut h = split_store(l.features(), ctx.spec.test.fraction, l.training_store(), l.test_store());
  spdlog::info("test-set: {} images held out ({} of each class, by a hash of each path) -> {}; {} to train on -> {}", h.test.size(),
               ctx.spec.test.fraction, l.test_store().string(), h.train.size(), l.training_store().string());
}

// A second dataset's store is complete when it exists; a split when both halves are newer
// than the merged store they came from.
bool test_set_complete(const RunLayout& l, int /*task*/) {
  if (l.test == TestSource::kDataset) return is_complete_file(l.test_store());
  return merge_complete(l, 0) && output_newer_than(l.training_store(), l.features()) && output_newer_than(l.test_store(), l.features());
}

// ---- train and evaluate: the training store -> model/ ------------------------------------------

// What train reads is complete: the merged store, and its split when the test set is held out of it.
bool training_store_ready(const RunLayout& l) {
  return merge_complete(l, 0) && (l.test != TestSource::kFraction || test_set_complete(l, 0));
}

void run_train_task(const RunContext& ctx, int /*task*/) {
  if (!training_store_ready(ctx.layout))
    throw std::runtime_error("train: " + ctx.layout.training_store().string() +
                             " is missing or older than its inputs; run the merge (and test-set) stages first");
  model::TrainParams p;
  p.seed = std::uint64_t(ctx.spec.model.seed);
  p.rounds = ctx.spec.model.rounds;
  p.device = ctx.spec.model.device;
  p.svm = ctx.spec.model.svm;
  model::TrainingRun run;  // one cross-validation, the default triage
  run.store = ctx.layout.training_store();
  run.output = ctx.layout.model_dir();
  run.params = p;
  run.cv_folds = ctx.spec.model.cv;
  model::run_training(run);
}

bool train_complete(const RunLayout& layout, int /*task*/) {
  return training_store_ready(layout) && output_newer_than(layout.model_dir() / "bundle.json", layout.training_store());
}

// What the report says the evaluated images are.
report::EvaluatedSet evaluated_set(const RunContext& ctx) {
  const TestParams& t = ctx.spec.test;
  if (ctx.layout.test == TestSource::kNone)
    return {"training", "the images the model was trained on (the spec has no [test] table: add one to judge it on images it has not seen)"};
  if (ctx.layout.test == TestSource::kDataset)
    return {"test", "the test dataset " + t.dataset.string() + ", extracted apart from the training dataset " + ctx.spec.dataset.string()};
  char share[32];
  std::snprintf(share, sizeof share, "%g %%", 100 * t.fraction);
  return {"test", std::string(share) + " of each class of " + ctx.spec.dataset.string() +
                      ", held out by a hash of each image's path and never used in training"};
}

void run_evaluate_task(const RunContext& ctx, int /*task*/) {
  const RunLayout& l = ctx.layout;
  if (!train_complete(l, 0)) throw std::runtime_error("evaluate: no up-to-date model in " + l.model_dir().string() + "; run the train stage first");
  const bool has_test = l.test != TestSource::kNone;
  if (has_test && !test_set_complete(l, 0))
    throw std::runtime_error("evaluate: the test set " + l.test_store().string() + " is missing or stale; run the test-set stage first");
  report::run_evaluation(l.model_dir(), has_test ? l.test_store() : l.features(), l.model_dir() / "metrics.json",
                         l.model_dir() / "report.html", evaluated_set(ctx));
}

// Both outputs, each written whole (atomically), and both newer than the model and the test set.
bool evaluate_complete(const RunLayout& layout, int /*task*/) {
  const fs::path bundle = layout.model_dir() / "bundle.json";
  const bool has_test = layout.test != TestSource::kNone;
  for (const fs::path& out : {layout.model_dir() / "metrics.json", layout.model_dir() / "report.html"}) {
    if (!output_newer_than(out, bundle)) return false;
    if (has_test && !output_newer_than(out, layout.test_store())) return false;
  }
  return train_complete(layout, 0) && (!has_test || test_set_complete(layout, 0));
}

// ---- run.json and state/ ---------------------------------------------------------------

json run_record(const RunContext& ctx) {
  json r = {{"name", ctx.spec.name},
            {"spec", ctx.spec.file.string()},
            {"dataset", ctx.spec.dataset.string()},
            {"shards", ctx.layout.shards},
            {"backend", ctx.spec.extract.backend},
            {"batch", ctx.spec.extract.batch},
            {"engine_version", kEngineVersion}};
  // Only with a test set, so that run directories made before [test] existed still match.
  if (!ctx.spec.test.dataset.empty()) r["test"] = {{"dataset", ctx.spec.test.dataset.string()}};
  else if (ctx.spec.test.fraction > 0) r["test"] = {{"fraction", ctx.spec.test.fraction}};
  return r;
}

// The settings that decide what the stores contain; the others (SLURM resources, threads)
// may change between submissions of the same run.
void require_same_run(const fs::path& run_json, const json& now) {
  const json before = json::parse(read_text(run_json));
  for (const char* key : {"dataset", "shards", "backend", "batch", "test"}) {
    if (before.value(key, json()) != now.value(key, json()))
      throw std::runtime_error(run_json.parent_path().string() + " was started with " + key + " = " +
                               before.value(key, json()).dump() + " (see run.json), but this spec asks for " +
                               now.value(key, json()).dump() + ": use another --run-dir, or delete that directory to start over");
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
      {"extract", true, run_extract_task, extract_complete, {}},
      {"merge", false, run_merge_task, merge_complete, {}},
      {"test-set", false, run_test_set_task, test_set_complete, test_set_applies},
      {"train", false, run_train_task, train_complete, {}},
      {"evaluate", false, run_evaluate_task, evaluate_complete, {}},
  };
  return table;
}

std::vector<const Stage*> stages_of(const RunLayout& layout) {
  std::vector<const Stage*> out;
  for (const Stage& s : stage_table())
    if (!s.applies || s.applies(layout)) out.push_back(&s);
  return out;
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
fs::path RunLayout::training_store() const { return test == TestSource::kFraction ? dir / "train.h5" : features(); }
fs::path RunLayout::test_store() const { return dir / "test.h5"; }
fs::path RunLayout::model_dir() const { return dir / "model"; }

fs::path RunLayout::task_name_path(const std::string& sub, const std::string& stage, int task, bool array,
                                   const std::string& ext) const {
  return dir / sub / (array ? stage + "-" + std::to_string(task) + ext : stage + ext);
}

RunContext make_run_context(JobSpec spec) {
  const TestSource test = !spec.test.dataset.empty() ? TestSource::kDataset
                          : spec.test.fraction > 0   ? TestSource::kFraction
                                                     : TestSource::kNone;
  RunLayout layout{spec.run_dir, spec.extract.shards, test};
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
  const json test = rec.value("test", json::object());
  const TestSource source = test.contains("dataset") ? TestSource::kDataset : test.contains("fraction") ? TestSource::kFraction : TestSource::kNone;
  return {run_dir, rec.at("shards").get<int>(), source};
}

void require_inputs(const RunContext& ctx) {
  for (const StagePlan& p : plan_run(ctx.layout)) {
    if (p.todo.empty()) continue;
    if (p.stage->name == "extract") scan_dataset(ctx.spec.dataset);
    if (p.stage->name == "test-set" && ctx.layout.test == TestSource::kDataset) scan_dataset(ctx.spec.test.dataset);
  }
}

std::vector<StagePlan> plan_run(const RunLayout& layout) {
  std::vector<StagePlan> plan;
  bool upstream_changes = false;
  for (const Stage* s : stages_of(layout)) {
    StagePlan p{s, task_count(*s, layout), {}};
    for (int i = 0; i < p.tasks; ++i)
      if (upstream_changes || !s->complete(layout, i)) p.todo.push_back(i);
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
  for (const Stage* s : stages_of(layout))
    for (int i = 0; i < task_count(*s, layout); ++i) out.push_back(task_status(layout, *s, i));
  return out;
}

}  // namespace hemolens
