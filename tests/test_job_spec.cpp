// Job specs (jobs/*.toml) and running them: the parser's checks and messages, and
// `hemolens run` on the bundled sample (same store as a plain extract + merge, resume
// without redoing finished shards, merge refusing a missing shard, status).
#include <gtest/gtest.h>
#include <sys/stat.h>  // for st_ino: a rewritten file gets a new inode (atomic rename)
#include <unistd.h>    // for gethostname

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "hemolens/store.hpp"
#include "pipeline/extract.hpp"
#include "pipeline/job_spec.hpp"
#include "pipeline/run_job.hpp"
#include "support.hpp"

namespace hemolens {
namespace {

namespace fs = std::filesystem;
using test::error_of;
using test::TempDir;

std::string parse_error(const std::string& toml, const SpecOverrides& o = {}) {
  return error_of([&] { parse_job_spec(toml, "/specs/bad.toml", o); });
}

const std::string kMinimal = "name = \"t\"\ndataset = \"/data/x\"\nrun_dir = \"/runs/t\"\n";

// A spec over the bundled sample with its run directory in `dir`.
fs::path write_sample_spec(const fs::path& dir, int shards) {
  const fs::path spec = dir / "spec.toml";
  std::ofstream(spec) << "name = \"t\"\ndataset = \"" << test::sample_dir().string() << "\"\nrun_dir = \"run\"\n"
                      << "[extract]\nshards = " << shards << "\nbackend = \"cpu\"\nthreads = 2\nbatch = 16\n"
                      << "[model]\nrounds = 20\ndevice = \"cpu\"\n";  // a quick model: these tests are about the stages
  return spec;
}

RunContext sample_context(const fs::path& dir, int shards) {
  RunContext ctx = make_run_context(load_job_spec(write_sample_spec(dir, shards)));
  prepare_run_dir(ctx);
  return ctx;
}

// Bit for bit: the same rows, in the same order, with the same features.
void expect_same_store(const fs::path& a_path, const fs::path& b_path) {
  const StoreData a = read_store(a_path), b = read_store(b_path);
  ASSERT_EQ(a.rows, b.rows);
  ASSERT_EQ(a.cols, b.cols);
  EXPECT_GT(a.rows, 0u);
  EXPECT_EQ(a.feature_names, b.feature_names);
  EXPECT_EQ(a.classes, b.classes);
  EXPECT_EQ(0, std::memcmp(a.features.data(), b.features.data(), a.features.size() * sizeof(float)));
  for (std::size_t i = 0; i < a.rows; ++i) {
    EXPECT_EQ(a.images[i].id, b.images[i].id);
    EXPECT_EQ(a.images[i].path, b.images[i].path);
    EXPECT_EQ(a.images[i].label, b.images[i].label);
    EXPECT_EQ(a.images[i].flags, b.images[i].flags);
  }
  EXPECT_EQ(a.skipped.size(), b.skipped.size());
}

const TaskStatus& status_of(const std::vector<TaskStatus>& all, const std::string& stage, int task) {
  for (const auto& t : all)
    if (t.stage == stage && t.task == task) return t;
  throw std::runtime_error("no status for " + stage);
}

// ---- parsing ------------------------------------------------------------------------------

TEST(JobSpec, BundledSampleSpecIsValid) {
  const JobSpec s = load_job_spec(test::source_dir() / "jobs" / "sample.toml");
  EXPECT_EQ(s.name, "sample");
  EXPECT_EQ(s.dataset, test::sample_dir().lexically_normal());  // relative to jobs/, not the cwd
  EXPECT_EQ(s.run_dir, (test::source_dir() / "out" / "runs" / "sample").lexically_normal());
  EXPECT_EQ(s.extract.shards, 4);
  EXPECT_EQ(s.extract.backend, "cpu");
  EXPECT_EQ(s.model.device, "cpu");
  EXPECT_EQ(s.resources_for("extract").time, "00:10:00");
  EXPECT_EQ(s.resources_for("merge").time, "00:05:00");  // [slurm.merge] over [slurm]
  EXPECT_EQ(s.resources_for("merge").mem, "1G");          // inherited from [slurm]
  EXPECT_EQ(s.resources_for("train").gres, "");
}

TEST(JobSpec, PbcSpecTakesItsDatasetFromTheCommandLineOrEnvironment) {
  const fs::path pbc = test::source_dir() / "jobs" / "pbc.toml";
  const std::string missing = error_of([&] { load_job_spec(pbc); });
  EXPECT_NE(missing.find("pbc.toml"), std::string::npos) << missing;
  EXPECT_NE(missing.find("HEMOLENS_DATASET"), std::string::npos) << missing;
  SpecOverrides env;
  env.dataset_env = "/data/pbc-env";
  EXPECT_EQ(load_job_spec(pbc, env).dataset, "/data/pbc-env");
  SpecOverrides both = env;
  both.dataset = "/data/pbc-flag";
  both.run_dir = "/scratch/run";
  const JobSpec s = load_job_spec(pbc, both);
  EXPECT_EQ(s.dataset, "/data/pbc-flag");  // the command line wins
  EXPECT_EQ(s.run_dir, "/scratch/run");
  EXPECT_EQ(s.resources_for("train").gres, "gpu:1");
  EXPECT_EQ(s.resources_for("extract").gres, "gpu:1");  // the GPU path: backend auto takes it
  EXPECT_EQ(s.resources_for("extract").partition, "gpu");
  EXPECT_EQ(s.extract.backend, "auto");
  EXPECT_EQ(s.resources_for("merge").gres, "");
  EXPECT_EQ(s.resources_for("extract").array_limit, 4);
}

TEST(JobSpec, SpecDatasetWinsOverTheEnvironment) {
  SpecOverrides env;
  env.dataset_env = "/data/from-env";
  EXPECT_EQ(parse_job_spec(kMinimal, "/specs/a.toml", env).dataset, "/data/x");
}

TEST(JobSpec, RelativePathsResolveAgainstTheSpecDirectory) {
  const JobSpec s = parse_job_spec("name = \"t\"\ndataset = \"../data/x\"\nrun_dir = \"runs/t\"\n", "/srv/jobs/a.toml");
  EXPECT_EQ(s.dataset, "/srv/data/x");
  EXPECT_EQ(s.run_dir, "/srv/jobs/runs/t");
}

TEST(JobSpec, UnknownKeysNameTheFileLineAndKey) {
  const std::string top = parse_error(kMinimal + "shards = 4\n");
  EXPECT_NE(top.find("/specs/bad.toml:4: shards: unknown key"), std::string::npos) << top;
  const std::string nested = parse_error(kMinimal + "[extract]\nshard = 4\n");
  EXPECT_NE(nested.find("/specs/bad.toml:5: extract.shard: unknown key (known here: backend, batch, shards, threads)"),
            std::string::npos)
      << nested;
  const std::string model = parse_error(kMinimal + "[model]\nlearning_rate = 0.1\n");
  EXPECT_NE(model.find("model.learning_rate: unknown key"), std::string::npos) << model;
  const std::string stage = parse_error(kMinimal + "[slurm.tran]\ngres = \"gpu:1\"\n");
  EXPECT_NE(stage.find("slurm.tran: unknown key"), std::string::npos) << stage;
  const std::string in_stage = parse_error(kMinimal + "[slurm.train]\ngpus = 1\n");
  EXPECT_NE(in_stage.find("slurm.train.gpus: unknown key"), std::string::npos) << in_stage;
}

TEST(JobSpec, BadValueTypesAreRefused) {
  const std::string str = parse_error(kMinimal + "[extract]\nshards = \"4\"\n");
  EXPECT_NE(str.find("extract.shards: must be an integer, got a string"), std::string::npos) << str;
  const std::string flt = parse_error(kMinimal + "[slurm]\ncpus = 1.5\n");
  EXPECT_NE(flt.find("slurm.cpus: must be an integer, got a float"), std::string::npos) << flt;
  const std::string num = parse_error(kMinimal + "[extract]\nbackend = 1\n");
  EXPECT_NE(num.find("extract.backend: must be a string, got an integer"), std::string::npos) << num;
  const std::string flag = parse_error(kMinimal + "[model]\nsvm = \"no\"\n");
  EXPECT_NE(flag.find("model.svm: must be true or false, got a string"), std::string::npos) << flag;
  const std::string table = parse_error(kMinimal + "model = 3\n");
  EXPECT_NE(table.find("model: must be a table"), std::string::npos) << table;
  const std::string path = parse_error("name = \"t\"\ndataset = \"\"\nrun_dir = \"r\"\n");
  EXPECT_NE(path.find("dataset: must not be empty"), std::string::npos) << path;
}

TEST(JobSpec, OutOfRangeAndMalformedValuesAreRefused) {
  const std::string neg = parse_error(kMinimal + "[extract]\nshards = -1\n");
  EXPECT_NE(neg.find("extract.shards: must be between 1 and 100000, got -1"), std::string::npos) << neg;
  EXPECT_NE(parse_error(kMinimal + "[extract]\nshards = 0\n").find("extract.shards"), std::string::npos);
  const std::string backend = parse_error(kMinimal + "[extract]\nbackend = \"gpu\"\n");
  EXPECT_NE(backend.find("extract.backend: 'gpu' is not one of cpu, cuda, auto"), std::string::npos) << backend;
  const std::string device = parse_error(kMinimal + "[model]\ndevice = \"tpu\"\n");
  EXPECT_NE(device.find("model.device: 'tpu' is not one of cpu, cuda, auto"), std::string::npos) << device;
  // Values that reach the sbatch command line must be single words in SLURM's syntax.
  EXPECT_NE(parse_error(kMinimal + "[slurm]\ngres = \"gpu 1\"\n").find("slurm.gres: 'gpu 1' is not"), std::string::npos);
  EXPECT_NE(parse_error(kMinimal + "[slurm]\ntime = \"2 hours\"\n").find("slurm.time"), std::string::npos);
  EXPECT_NE(parse_error(kMinimal + "[slurm]\nmem = \"4GB\"\n").find("slurm.mem"), std::string::npos);
  EXPECT_NE(parse_error(kMinimal + "[slurm]\npartition = \"gpu;rm\"\n").find("slurm.partition"), std::string::npos);
  EXPECT_NE(parse_error("name = \"has space\"\ndataset = \"/d\"\nrun_dir = \"/r\"\n").find("name: 'has space'"),
            std::string::npos);
}

TEST(JobSpec, MissingRequiredKeysAndSyntaxErrorsAreExplained) {
  const std::string dataset = parse_error("name = \"t\"\nrun_dir = \"/r\"\n");
  EXPECT_NE(dataset.find("/specs/bad.toml: dataset: no dataset"), std::string::npos) << dataset;
  EXPECT_NE(parse_error("dataset = \"/d\"\nrun_dir = \"/r\"\n").find("name: missing"), std::string::npos);
  EXPECT_NE(parse_error("name = \"t\"\ndataset = \"/d\"\n").find("run_dir: no run directory"), std::string::npos);
  const std::string syntax = parse_error(kMinimal + "[extract\n");
  EXPECT_NE(syntax.find("/specs/bad.toml:4: TOML syntax error"), std::string::npos) << syntax;
  const std::string nofile = error_of([] { load_job_spec("/nonexistent/spec.toml"); });
  EXPECT_NE(nofile.find("/nonexistent/spec.toml: cannot read the job spec (no such file)"), std::string::npos) << nofile;
}

TEST(JobSpec, EveryStageCanHaveSlurmResources) {
  std::vector<std::string> table;
  for (const Stage& s : stage_table()) table.push_back(s.name);
  EXPECT_EQ(table, known_stage_names()) << "a [slurm.STAGE] table must name exactly the stages of the chain";
}

// ---- running ------------------------------------------------------------------------------

TEST(RunJob, StageTableStartsWithTheExtractArrayThenMerge) {
  ASSERT_GE(stage_table().size(), 2u);
  EXPECT_EQ(stage_table()[0].name, "extract");
  EXPECT_TRUE(stage_table()[0].array);
  EXPECT_EQ(stage_table()[1].name, "merge");
  EXPECT_FALSE(stage_table()[1].array);
  EXPECT_EQ(format_task_list({0, 1, 2, 3}), "0-3");
  EXPECT_EQ(format_task_list({1, 3, 4, 7}), "1,3-4,7");
}

TEST(RunJob, LocalRunGivesTheSameStoreAsExtractAndMerge) {
  TempDir dir("run-same");
  const RunContext ctx = sample_context(dir.path, 3);
  const int single_stages = int(stages_of(ctx.layout).size()) - 1;  // merge, train, evaluate, ...
  EXPECT_EQ(run_all(ctx, [](const std::string&) {}), 3 + single_stages);

  std::vector<fs::path> shards;
  for (int i = 0; i < 3; ++i) {
    ExtractOptions opt;
    opt.input = test::sample_dir();
    opt.output = dir.path / ("plain-" + std::to_string(i) + ".h5");
    opt.backend = BackendKind::kCpu;
    opt.threads = 2;
    opt.shard = {i, 3};
    opt.batch_size = 16;
    run_extract(opt);
    shards.push_back(opt.output);
  }
  merge_stores(shards, dir.path / "plain.h5");
  expect_same_store(ctx.layout.features(), dir.path / "plain.h5");
  EXPECT_EQ(read_store(ctx.layout.features()).rows, 68u);
  for (const auto& t : run_status(ctx.layout)) EXPECT_EQ(t.state, TaskState::kDone) << t.stage << " " << t.task;
}

TEST(RunJob, ResumeSkipsACompleteShard) {
  TempDir dir("run-resume");
  const RunContext ctx = sample_context(dir.path, 4);
  run_task(ctx, find_stage("extract"), 1);
  const fs::path done = ctx.layout.shard(1);
  const auto mtime = fs::last_write_time(done);
  struct stat before{};
  ASSERT_EQ(::stat(done.c_str(), &before), 0);

  const int single_stages = int(stages_of(ctx.layout).size()) - 1;  // merge, train, evaluate, ...
  EXPECT_EQ(run_all(ctx, [](const std::string&) {}), 3 + single_stages);  // shards 0, 2, 3 and the rest
  struct stat after{};
  ASSERT_EQ(::stat(done.c_str(), &after), 0);
  EXPECT_EQ(before.st_ino, after.st_ino);
  EXPECT_EQ(fs::last_write_time(done), mtime);
  EXPECT_EQ(run_all(ctx, [](const std::string&) {}), 0);  // nothing left
  EXPECT_EQ(read_store(ctx.layout.features()).rows, 68u);
}

TEST(RunJob, MergeRefusesWhenAShardIsMissing) {
  TempDir dir("run-missing");
  const RunContext ctx = sample_context(dir.path, 4);
  for (int i : {0, 1, 3}) run_task(ctx, find_stage("extract"), i);
  const std::string err = error_of([&] { run_task(ctx, find_stage("merge"), 0); });
  EXPECT_NE(err.find("1 of 4 shards are missing"), std::string::npos) << err;
  EXPECT_NE(err.find("shard-0002-of-0004.h5"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(ctx.layout.features()));

  const auto status = run_status(ctx.layout);
  EXPECT_EQ(status_of(status, "extract", 2).state, TaskState::kPending);
  EXPECT_EQ(status_of(status, "extract", 3).state, TaskState::kDone);
  const TaskStatus& merge = status_of(status, "merge", 0);
  EXPECT_EQ(merge.state, TaskState::kFailed);
  EXPECT_NE(merge.detail.find("shard-0002-of-0004.h5"), std::string::npos) << merge.detail;

  const auto plan = plan_run(ctx.layout);
  EXPECT_EQ(plan[0].todo, std::vector<int>{2});
  EXPECT_EQ(plan[1].todo, std::vector<int>{0});
}

TEST(RunJob, ARedoneShardMakesTheMergedStoreStale) {
  TempDir dir("run-stale");
  const RunContext ctx = sample_context(dir.path, 2);
  run_all(ctx, [](const std::string&) {});
  const auto merged = fs::last_write_time(ctx.layout.features());
  fs::last_write_time(ctx.layout.shard(0), merged + std::chrono::seconds(5));  // as if shard 0 was redone
  const auto plan = plan_run(ctx.layout);
  EXPECT_TRUE(plan[0].todo.empty());
  EXPECT_EQ(plan[1].todo, std::vector<int>{0});
}

TEST(RunJob, ARunDirectoryIsNotReusedForAnotherShardCount) {
  TempDir dir("run-reuse");
  sample_context(dir.path, 4);
  const std::string err = error_of([&] { sample_context(dir.path, 2); });
  EXPECT_NE(err.find("shards = 4"), std::string::npos) << err;
  EXPECT_NE(err.find("asks for 2"), std::string::npos) << err;
}

TEST(RunJob, ATaskWhoseProcessDiedIsReportedFailed) {
  TempDir dir("run-died");
  const RunContext ctx = sample_context(dir.path, 2);
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  // A "running" record from a process that no longer exists, as a SLURM time limit leaves it.
  const nlohmann::json rec = {{"state", "running"}, {"host", host}, {"pid", 999999999}, {"started", "2026-01-01T00:00:00Z"}};
  std::ofstream(ctx.layout.dir / "state" / "extract-1.json") << rec.dump();
  const TaskStatus t = status_of(run_status(ctx.layout), "extract", 1);
  EXPECT_EQ(t.state, TaskState::kFailed);
  EXPECT_NE(t.detail.find("process is gone"), std::string::npos) << t.detail;
}

TEST(RunJob, CommandLineReportsBadSpecsAndStatus) {
  TempDir dir("run-cli");
  const fs::path bad = dir.path / "bad.toml";
  std::ofstream(bad) << kMinimal << "[extract]\nshards = -2\n";
  const std::string cmd = test::hemolens_binary().string() + " run " + bad.string() + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf{};
  while (std::size_t n = std::fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  const int status = pclose(p);
  EXPECT_EQ(WEXITSTATUS(status), 1);
  EXPECT_NE(out.find(bad.string() + ":5: extract.shards: must be between 1"), std::string::npos) << out;

  const RunContext ctx = sample_context(dir.path, 2);
  const std::string st = test::hemolens_binary().string() + " status " + ctx.layout.dir.string() + " >/dev/null 2>&1";
  EXPECT_EQ(WEXITSTATUS(std::system(st.c_str())), 4);  // nothing done yet
}

}  // namespace
}  // namespace hemolens
