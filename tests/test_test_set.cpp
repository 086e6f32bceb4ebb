// The job chain's test set ([test] in a spec): a stratified fraction held out by a stable hash
// of each path, or a second dataset; the chain extracts or splits it, trains on the rest,
// evaluates on it, and the report headlines that result with cross-validation beside it.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "hemolens/store.hpp"
#include "pipeline/job_spec.hpp"
#include "pipeline/run_job.hpp"
#include "pipeline/test_split.hpp"
#include "support.hpp"

namespace hemolens {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using test::error_of;

std::set<std::string> paths_of(const StoreData& s, const std::vector<std::size_t>& rows) {
  std::set<std::string> out;
  for (std::size_t r : rows) out.insert(s.images[r].path);
  return out;
}

std::set<std::string> ids_of(const StoreData& s) {
  std::set<std::string> out;
  for (const auto& r : s.images) out.insert(r.id);
  return out;
}

// Three classes of the sample as a dataset, and a spec over it in `dir`.
struct SmallJob {
  test::TempDir dir;
  fs::path spec;
  explicit SmallJob(const std::string& tag, const std::string& test_table, int shards = 2) : dir(tag) {
    fs::create_directories(dir.path / "data");
    for (const char* cls : {"basophil", "eosinophil", "platelet"})
      fs::copy(test::sample_dir() / cls, dir.path / "data" / cls, fs::copy_options::recursive);
    spec = dir.path / "spec.toml";
    std::ofstream(spec) << "name = \"t\"\ndataset = \"data\"\nrun_dir = \"run\"\n"
                        << "[extract]\nshards = " << shards << "\nbackend = \"cpu\"\nthreads = 2\nbatch = 8\n"
                        << "[model]\nrounds = 10\ndevice = \"cpu\"\ncv = 3\n"
                        << test_table;
  }
  RunContext context() const {
    RunContext ctx = make_run_context(load_job_spec(spec));
    prepare_run_dir(ctx);
    return ctx;
  }
};

}  // namespace

TEST(TestSet, HeldOutIsStratifiedDisjointAndChosenByThePathsAlone) {
  const StoreData& s = test::sample_store();
  const HeldOut h = hold_out(s, 0.25);
  EXPECT_EQ(h.train.size() + h.test.size(), s.rows);
  std::map<int, std::size_t> members, held;
  for (const auto& r : s.images) ++members[r.label];
  for (std::size_t r : h.test) ++held[s.images[r].label];
  for (const auto& [label, n] : members) {
    const std::size_t want = std::clamp<std::size_t>(std::size_t(std::lround(0.25 * double(n))), 1, n - 1);
    EXPECT_EQ(held[label], want) << s.classes[std::size_t(label)] << " of " << n;
  }
  std::vector<std::size_t> all = h.train;
  all.insert(all.end(), h.test.begin(), h.test.end());
  std::sort(all.begin(), all.end());
  EXPECT_EQ(std::adjacent_find(all.begin(), all.end()), all.end()) << "a row is in both sets";

  // The same images whatever the order of the rows (another shard count, another machine).
  std::vector<std::size_t> reversed(s.rows);
  for (std::size_t i = 0; i < s.rows; ++i) reversed[i] = s.rows - 1 - i;
  const StoreData r = select_rows(s, reversed);
  EXPECT_EQ(paths_of(r, hold_out(r, 0.25).test), paths_of(s, h.test));

  // Removing a training image moves at most one image of its class between the sets.
  std::vector<std::size_t> fewer;
  for (std::size_t i = 0; i < s.rows; ++i)
    if (i != h.train.front()) fewer.push_back(i);
  const StoreData f = select_rows(s, fewer);
  const std::set<std::string> before = paths_of(s, h.test), after = paths_of(f, hold_out(f, 0.25).test);
  std::vector<std::string> changed;
  std::set_symmetric_difference(before.begin(), before.end(), after.begin(), after.end(), std::back_inserter(changed));
  EXPECT_LE(changed.size(), 1u);

  StoreData unlabelled = select_rows(s, {0, 1, 2});
  for (auto& row : unlabelled.images) row.label = -1;
  EXPECT_NE(error_of([&] { hold_out(unlabelled, 0.25); }).find("needs labelled images"), std::string::npos);
}

TEST(TestSet, SpecKeysAreCheckedWithFileAndKey) {
  const std::string base = "name = \"t\"\ndataset = \"/data/x\"\nrun_dir = \"/runs/t\"\n";
  EXPECT_DOUBLE_EQ(parse_job_spec(base + "[test]\nfraction = 0.2\n", "/s/a.toml").test.fraction, 0.2);
  EXPECT_EQ(parse_job_spec(base + "[test]\ndataset = \"../test\"\n", "/s/a.toml").test.dataset, "/test");
  EXPECT_FALSE(parse_job_spec(base, "/s/a.toml").test.enabled());
  const auto err = [&](const std::string& table) { return error_of([&] { parse_job_spec(base + table, "/s/a.toml"); }); };
  EXPECT_NE(err("[test]\nfraction = 0.7\n").find("/s/a.toml:5: test.fraction: must be above 0 and at most 0.5"), std::string::npos)
      << err("[test]\nfraction = 0.7\n");
  EXPECT_NE(err("[test]\nfraction = \"a fifth\"\n").find("test.fraction: must be a number, got a string"), std::string::npos);
  EXPECT_NE(err("[test]\nfraction = 0.2\ndataset = \"/t\"\n").find("not both"), std::string::npos);
  EXPECT_NE(err("[test]\n").find("test: empty"), std::string::npos) << err("[test]\n");
  EXPECT_NE(err("[test]\nshare = 0.2\n").find("test.share: unknown key (known here: dataset, fraction)"), std::string::npos);
  EXPECT_NE(err("[test]\ndataset = \"/data/x\"\n").find("is the training dataset itself"), std::string::npos);
}

TEST(TestSet, TheChainHoldsOutTrainsOnTheRestAndHeadlinesTheTest) {
  SmallJob job("test-set-fraction", "[test]\nfraction = 0.25\n");
  const RunContext ctx = job.context();
  std::vector<std::string> stages;
  for (const Stage* s : stages_of(ctx.layout)) stages.push_back(s->name);
  EXPECT_EQ(stages, (std::vector<std::string>{"extract", "merge", "test-set", "train", "evaluate"}));
  run_all(ctx, [](const std::string&) {});
  for (const auto& t : run_status(ctx.layout)) EXPECT_EQ(t.state, TaskState::kDone) << t.stage;

  const StoreData all = read_store(ctx.layout.features()), train = read_store(ctx.layout.training_store()),
                  test = read_store(ctx.layout.test_store());
  EXPECT_EQ(ctx.layout.training_store().filename(), "train.h5");
  EXPECT_EQ(train.rows + test.rows, all.rows);
  std::set<std::string> both;
  const auto a = ids_of(train), b = ids_of(test);
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::inserter(both, both.end()));
  EXPECT_TRUE(both.empty()) << "an image is in both the training and the test set";
  EXPECT_EQ(test.rows, 6u);  // round(0.25 x 9) + round(0.25 x 8) x 2

  const Json bundle = Json::parse(test::read_file(ctx.layout.model_dir() / "bundle.json"));
  EXPECT_EQ(bundle["training_store"]["images"], train.rows) << "the model saw held-out images";
  const Json metrics = Json::parse(test::read_file(ctx.layout.model_dir() / "metrics.json"));
  EXPECT_EQ(metrics["samples"], test.rows);
  EXPECT_EQ(metrics["evaluated_on"]["role"], "test");
  EXPECT_EQ(metrics["cross_validation"]["folds"], 3);
  const std::string report = test::read_file(ctx.layout.model_dir() / "report.html");
  EXPECT_NE(report.find("Test set: 6 images the model never saw"), std::string::npos);
  EXPECT_NE(report.find("Cross-validation, 3 stratified folds of the training images"), std::string::npos);
  EXPECT_EQ(report.find("These images are the model's training data"), std::string::npos);

  // The same test set from another shard count: the choice depends on the paths alone.
  const fs::path other_spec = job.dir.path / "two.toml";
  std::string text = test::read_file(job.spec);
  text.replace(text.find("shards = 2"), 10, "shards = 3");
  text.replace(text.find("run_dir = \"run\""), 15, "run_dir = \"run3\"");
  std::ofstream(other_spec) << text;
  RunContext three = make_run_context(load_job_spec(other_spec));
  prepare_run_dir(three);
  for (const char* stage : {"extract", "merge", "test-set"})
    for (int t = 0; t < task_count(find_stage(stage), three.layout); ++t) run_task(three, find_stage(stage), t);
  EXPECT_EQ(ids_of(read_store(three.layout.test_store())), b);

  // A run directory keeps its test set: another one is refused, naming both.
  std::string changed = test::read_file(job.spec);
  changed.replace(changed.find("fraction = 0.25"), 15, "fraction = 0.3");
  std::ofstream(job.spec) << changed;
  const std::string refused = error_of([&] { job.context(); });
  EXPECT_NE(refused.find("was started with test = {\"fraction\":0.25}"), std::string::npos) << refused;
}

TEST(TestSet, ASecondDatasetIsExtractedAndJudgedByClassName) {
  // The test set lacks eosinophil: its store's class 1 is platelet, the model's is eosinophil.
  SmallJob job("test-set-dataset", "[test]\ndataset = \"held\"\n", 1);
  for (const char* cls : {"basophil", "platelet"}) {
    fs::create_directories(job.dir.path / "held" / cls);
    for (const auto& e : fs::directory_iterator(test::sample_dir() / cls))
      if (e.path().filename().string() < std::string(cls == std::string("basophil") ? "BA_3" : "PLATELET_3"))
        fs::copy_file(e.path(), job.dir.path / "held" / cls / e.path().filename());
  }
  const RunContext ctx = job.context();
  EXPECT_EQ(ctx.layout.training_store(), ctx.layout.features());
  run_all(ctx, [](const std::string&) {});
  const StoreData test = read_store(ctx.layout.test_store());
  ASSERT_EQ(test.classes, (std::vector<std::string>{"basophil", "platelet"}));
  const Json metrics = Json::parse(test::read_file(ctx.layout.model_dir() / "metrics.json"));
  EXPECT_EQ(metrics["samples"], test.rows);
  std::map<std::string, std::size_t> truth;
  for (const auto& r : test.images) ++truth[test.classes[std::size_t(r.label)]];
  EXPECT_EQ(metrics["per_class"]["basophil"]["support"], truth["basophil"]);
  EXPECT_EQ(metrics["per_class"]["platelet"]["support"], truth["platelet"]);
  EXPECT_EQ(metrics["per_class"]["eosinophil"]["support"], 0);
  EXPECT_NE(test::read_file(ctx.layout.model_dir() / "report.html").find("the test dataset " + (job.dir.path / "held").string()),
            std::string::npos);

  // A class the model never saw is refused by name.
  fs::create_directories(job.dir.path / "ig-only");
  fs::copy(test::sample_dir() / "ig", job.dir.path / "ig-only" / "ig", fs::copy_options::recursive);
  const fs::path ig = job.dir.path / "ig.h5";
  ASSERT_EQ(test::run_hemolens("extract " + (job.dir.path / "ig-only").string() + " -o " + ig.string() + " --backend cpu -q").status, 0);
  const auto r = test::run_hemolens("evaluate " + ctx.layout.model_dir().string() + " " + ig.string());
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("has images of class 'ig', which model"), std::string::npos) << r.output;
}

}  // namespace hemolens
