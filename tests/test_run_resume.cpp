// `hemolens run` killed (SIGKILL, through the HEMOLENS_CRASH_AT hook) at every stage boundary
// and inside every stage: `status` never calls the killed stage done, and the rerun resumes
// to the outputs of an uninterrupted run, leaving no temporary file behind.
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "hemolens/store.hpp"
#include "support.hpp"

namespace fs = std::filesystem;
using namespace hemolens;
using Json = nlohmann::json;

namespace {

// Three classes of the sample (24 images) in two shards: every stage, in seconds.
struct SmallRun {
  test::TempDir dir{"run-kill"};
  fs::path spec, run;
  SmallRun() {
    fs::create_directories(dir.path / "data");
    for (const char* cls : {"basophil", "eosinophil", "lymphocyte"})
      fs::copy(test::sample_dir() / cls, dir.path / "data" / cls, fs::copy_options::recursive);
    spec = dir.path / "spec.toml";
    run = dir.path / "run";
    std::ofstream(spec) << "name = \"kill\"\ndataset = \"data\"\nrun_dir = \"run\"\n"
                        << "[extract]\nshards = 2\nbackend = \"cpu\"\nthreads = 2\nbatch = 4\n"
                        << "[model]\nrounds = 10\ndevice = \"cpu\"\n";
  }
};

// What a finished run holds, less what differs between two runs by design (creation times).
struct Outputs {
  std::vector<std::string> files;  // every path under the run directory but logs/ and state/
  StoreData features;
  std::string model, metrics, report;
  Json bundle;
  std::map<std::string, std::string> forests;  // anomaly-*.bin by name
};

Json without_times(Json j) {
  if (j.is_object()) {
    for (const char* key : {"created", "content_xxh3"}) j.erase(key);
    for (auto& [k, v] : j.items()) v = without_times(v);
  }
  return j;
}

Outputs outputs_of(const fs::path& run) {
  Outputs o;
  for (const auto& e : fs::recursive_directory_iterator(run)) {
    const std::string rel = fs::relative(e.path(), run).generic_string();
    if (rel.rfind("logs", 0) != 0 && rel.rfind("state", 0) != 0) o.files.push_back(rel);
    if (e.path().filename().string().rfind("anomaly-", 0) == 0) o.forests[rel] = test::read_file(e.path());
  }
  std::sort(o.files.begin(), o.files.end());
  o.features = read_store(run / "features.h5");
  o.model = test::read_file(run / "model" / "model.json");
  o.bundle = without_times(Json::parse(test::read_file(run / "model" / "bundle.json")));
  o.metrics = test::read_file(run / "model" / "metrics.json");
  o.report = std::regex_replace(test::read_file(run / "model" / "report.html"), std::regex(", created [0-9TZ:-]+\\."), "");
  return o;
}

void expect_same(const Outputs& got, const Outputs& want, const std::string& point) {
  SCOPED_TRACE("killed at " + point);
  EXPECT_EQ(got.files, want.files);  // no temporary left, nothing missing
  EXPECT_EQ(got.features.features, want.features.features);
  EXPECT_EQ(got.features.rows, want.features.rows);
  for (std::size_t i = 0; i < got.features.rows && i < want.features.rows; ++i) EXPECT_EQ(got.features.images[i].id, want.features.images[i].id);
  EXPECT_EQ(got.model, want.model) << "model.json differs";
  EXPECT_EQ(got.bundle, want.bundle) << "bundle.json differs";
  EXPECT_EQ(got.forests, want.forests) << "the anomaly forests differ";
  EXPECT_EQ(got.metrics, want.metrics) << "metrics.json differs";
  EXPECT_EQ(got.report, want.report) << "report.html differs";
}

// `hemolens status --json`: the state of each stage (the worst of its tasks).
std::map<std::string, std::string> stage_states(const fs::path& run, int* exit_status) {
  const test::CommandResult r = test::run_hemolens("status " + run.string() + " --json");
  *exit_status = r.status;
  std::map<std::string, std::string> out;
  const Json j = Json::parse(r.output.substr(r.output.find('{')));
  for (const auto& t : j["tasks"]) {
    std::string& s = out[t["stage"].get<std::string>()];
    if (s.empty() || s == "done") s = t["state"].get<std::string>();
  }
  return out;
}

}  // namespace

TEST(RunResume, KilledAtEveryBoundaryAndInsideEveryStageResumesToTheSameOutputs) {
  SmallRun r;
  const test::CommandResult whole = test::run_hemolens("run " + r.spec.string());
  ASSERT_EQ(whole.status, 0) << whole.output;
  const Outputs want = outputs_of(r.run);
  ASSERT_FALSE(want.forests.empty());

  // Crash point -> the stage it kills (which must not be reported done).
  const std::vector<std::pair<std::string, std::string>> points = {
      {"extract:batch-written", "extract"},                       // a shard half written
      {"store:shard-0000-of-0002.h5:before-rename", "extract"},   // a shard written, not renamed
      {"stage-ran:extract", ""},                                  // shard 0 complete, its task not yet recorded
      {"stage-done:extract", "merge"},                            // boundary: shard 0 done
      {"store:features.h5:before-rename", "merge"},               // inside merge
      {"stage-done:merge", "train"},                              // boundary
      {"bundle:model-saved", "train"},                            // train after model.json
      {"bundle:complete", "train"},                               // the whole bundle, not renamed
      {"stage-done:train", "evaluate"},                           // boundary
      {"evaluate:metrics-written", "evaluate"},                   // metrics.json written, no report
      {"write:report.html:half", "evaluate"},                     // evaluate mid-report
      {"stage-ran:evaluate", ""},                                 // all written, not recorded
  };
  for (const auto& [point, killed_stage] : points) {
    SCOPED_TRACE(point);
    fs::remove_all(r.run);
    const test::CommandResult killed = test::run_hemolens("run " + r.spec.string(), "HEMOLENS_CRASH_AT=" + point);
    ASSERT_EQ(killed.signal, SIGKILL) << "the crash point was not reached\n" << killed.output;

    int status_exit = -1;
    const auto states = stage_states(r.run, &status_exit);
    if (!killed_stage.empty()) {
      EXPECT_NE(status_exit, 0) << "status says the run is done";
      EXPECT_NE(states.at(killed_stage), "done") << killed_stage << " reported done with incomplete outputs";
    }
    const test::CommandResult resumed = test::run_hemolens("run " + r.spec.string());
    ASSERT_EQ(resumed.status, 0) << resumed.output;
    const test::CommandResult final_status = test::run_hemolens("status " + r.run.string());
    EXPECT_EQ(final_status.status, 0) << final_status.output;
    expect_same(outputs_of(r.run), want, point);
  }
}
