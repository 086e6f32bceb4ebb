// A job spec: one TOML file that names the dataset, the run directory, the shards, the
// backend, the model parameters, the test set and the SLURM resources of a run. `hemolens run
// SPEC` and `slurm/submit SPEC` read the same file, so a run gives the same results on one
// machine and on a cluster. Every key is documented in docs/jobs.md (a test checks that each
// key this parser knows is there).
//
//   name = "sample"                       # letters, digits, '.', '_', '-': used in SLURM job names
//   dataset = "../data/sample"            # optional (else --dataset or HEMOLENS_DATASET)
//   run_dir = "../out/runs/sample"        # where shards, the merged store, logs and state go
//   [extract]  shards = 4, backend = "cpu", threads = 0, batch = 32
//   [model]    seed = 42, rounds = 100, device = "auto", cv = 5, svm = true
//   [test]     fraction = 0.2  or  dataset = "../data/test"
//   [slurm]    partition, account, qos, constraint, time, cpus, mem, gres, array_limit
//   [slurm.train]  gres = "gpu:1"         # per-stage override of any [slurm] key
//
// Relative paths resolve against the spec file's directory, so a spec means the same thing
// from any working directory. Every error names the file, the key and the reason.
#pragma once
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace hemolens {

// Resources of one SLURM job; empty strings and zeros mean "leave it to the cluster".
struct SlurmResources {
  std::string partition, account, qos, constraint;
  std::string time;  // SLURM syntax: "MM", "HH:MM:SS", "D-HH:MM"...
  int cpus = 0;      // --cpus-per-task
  std::string mem;   // "4G", "500M"
  std::string gres;  // "gpu:1", "gpu:a100:2"
  int array_limit = 0;  // array stages: at most this many tasks at once (--array=...%N)
};

struct ExtractParams {
  int shards = 1;
  std::string backend = "auto";  // cpu | cuda | auto
  int threads = 0;               // 0: the job's CPUs (SLURM_CPUS_PER_TASK) or all cores
  int batch = 32;
};

// The model keys are defined by the train/evaluate/score stages; unknown keys are refused
// here like everywhere else, so a typo never silently falls back to a default.
struct ModelParams {
  int seed = 42;
  int rounds = 100;
  std::string device = "auto";  // cpu | cuda | auto
  int cv = 0;                   // >= 2: the train stage also cross-validates with this many folds
  bool svm = true;              // the classifier's SVM member (docs/training.md)
};

// [test]: the images the chain judges the model on, never used to train it: a second dataset
// (extracted like the first), or a stratified fraction of `dataset` held out by a stable hash
// of each image's path (src/pipeline/test_split.hpp). Exactly one of the two.
struct TestParams {
  std::filesystem::path dataset;  // absolute; empty when the test set is a held-out fraction or none
  double fraction = 0;            // (0, 0.5]; 0 when not held out
  bool enabled() const { return !dataset.empty() || fraction > 0; }
};

struct JobSpec {
  std::filesystem::path file;  // the spec, absolute
  std::string name;
  std::filesystem::path dataset;  // absolute
  std::filesystem::path run_dir;  // absolute
  ExtractParams extract;
  ModelParams model;
  TestParams test;
  SlurmResources slurm;                                // [slurm]: every stage
  std::map<std::string, SlurmResources> slurm_stage;  // [slurm.STAGE]: merged over [slurm]

  // [slurm] with the [slurm.STAGE] overrides applied.
  SlurmResources resources_for(const std::string& stage) const;
};

// What the command line (or the environment) adds to a spec. Precedence for the dataset:
// --dataset, then the spec's `dataset`, then HEMOLENS_DATASET; for the run directory:
// --run-dir, then the spec's `run_dir`. Relative paths given here resolve against the
// current directory, as any command-line path does.
struct SpecOverrides {
  std::optional<std::filesystem::path> dataset;
  std::optional<std::filesystem::path> run_dir;
  std::optional<std::filesystem::path> dataset_env;  // the value of HEMOLENS_DATASET, if set
};

// Stages a [slurm.STAGE] table may name: the stage table's rows (a test keeps the two equal).
const std::vector<std::string>& known_stage_names();

// Throws std::runtime_error("FILE: KEY: REASON") for a missing file, a TOML syntax error,
// an unknown key, a value of the wrong type or out of range, or no dataset at all.
JobSpec load_job_spec(const std::filesystem::path& file, const SpecOverrides& overrides = {});

// The same, from TOML text; `file` only names the source in messages and anchors
// relative paths (its parent directory).
JobSpec parse_job_spec(const std::string& toml_text, const std::filesystem::path& file,
                       const SpecOverrides& overrides = {});

}  // namespace hemolens
