// The hemolens executable as a user runs it: exit codes and what it prints.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "hemolens/backend.hpp"
#include "support.hpp"

using namespace hemolens;
namespace fs = std::filesystem;

namespace {

struct Result {
  int status;
  std::string output;
};

Result run(const std::string& args) {
  const std::string cmd = test::hemolens_binary().string() + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf{};
  while (std::size_t n = std::fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

}  // namespace

TEST(Cli, ExtractThenInfoShowsCountsPerClass) {
  test::TempDir dir("cli");
  const std::string store = (dir.path / "s.h5").string();
  const Result ex = run("extract " + test::sample_dir().string() + " -o " + store + " --backend cpu --threads 2");
  ASSERT_EQ(ex.status, 0) << ex.output;
  EXPECT_NE(ex.output.find("68 images done"), std::string::npos) << ex.output;
  const Result info = run("info " + store);
  ASSERT_EQ(info.status, 0) << info.output;
  for (const char* cls : {"basophil", "eosinophil", "erythroblast", "ig", "lymphocyte", "monocyte", "neutrophil", "platelet"})
    EXPECT_NE(info.output.find(cls), std::string::npos) << info.output;
  EXPECT_NE(info.output.find("68 images"), std::string::npos);
}

TEST(Cli, StrictFailsWhenAFileIsSkipped) {
  test::TempDir dir("cli-strict");
  std::filesystem::create_directories(dir.path / "data" / "x");
  std::filesystem::copy_file(test::sample_dir() / "platelet" / "PLATELET_10233.jpg", dir.path / "data" / "x" / "a.jpg");
  std::filesystem::copy_file(test::source_dir() / "tests" / "data" / "bad" / ".DS_169665.jpg", dir.path / "data" / "x" / ".DS_169665.jpg");
  const std::string args = "extract " + (dir.path / "data").string() + " -o " + (dir.path / "o.h5").string() + " --backend cpu";
  const Result lenient = run(args);
  EXPECT_EQ(lenient.status, 0) << lenient.output;
  EXPECT_NE(lenient.output.find(".DS_169665.jpg: not an image"), std::string::npos) << lenient.output;
  EXPECT_EQ(run(args + " --strict").status, 2);
}

TEST(Cli, UnusableRequestsFailClearly) {
  EXPECT_NE(run("extract /nonexistent -o /tmp/x.h5").status, 0);
  EXPECT_NE(run("info /nonexistent.h5").status, 0);
  EXPECT_NE(run("extract " + test::sample_dir().string() + " -o /tmp/x.h5 --shard 4/2").status, 0);
  const Result help = run("extract --help");
  EXPECT_EQ(help.status, 0);
  EXPECT_NE(help.output.find("--shard"), std::string::npos);
}

// --backend: cuda without a usable GPU is an error that says why and writes nothing; auto takes
// the GPU when there is one, else the CPU, and says which and why; the store records it.
TEST(Cli, BackendChoiceIsExplained) {
  test::TempDir dir("cli-backend");
  std::filesystem::create_directories(dir.path / "data" / "platelet");
  std::filesystem::copy_file(test::sample_dir() / "platelet" / "PLATELET_10233.jpg", dir.path / "data" / "platelet" / "p.jpg");
  const std::string data = (dir.path / "data").string();
  const CudaStatus cuda = cuda_status();
  const bool gpu = cuda.compiled && cuda.devices > 0;
  const std::string why = cuda.message;
  ASSERT_FALSE(why.empty());

  const fs::path cuda_store = dir.path / "cuda.h5";
  const Result forced = run("extract " + data + " -o " + cuda_store.string() + " --backend cuda -q");
  if (gpu) {
    EXPECT_EQ(forced.status, 0) << forced.output;
  } else {
    EXPECT_EQ(forced.status, 1) << forced.output;
    EXPECT_NE(forced.output.find("--backend cuda: " + why), std::string::npos) << forced.output;
    EXPECT_NE(forced.output.find("use --backend cpu or auto"), std::string::npos) << forced.output;
    EXPECT_FALSE(fs::exists(cuda_store));
  }

  const fs::path auto_store = dir.path / "auto.h5";
  const Result chosen = run("extract " + data + " -o " + auto_store.string() + " --backend auto -q");
  ASSERT_EQ(chosen.status, 0) << chosen.output;
  const std::string expected = std::string("backend auto: using the ") + (gpu ? "CUDA" : "CPU") + " backend (" + why + ")";
  EXPECT_NE(chosen.output.find(expected), std::string::npos) << chosen.output;
  EXPECT_NE(chosen.output.find(std::string("backend ") + (gpu ? "cuda" : "cpu") + ")"), std::string::npos) << chosen.output;
  const Result info = run("info " + auto_store.string());
  EXPECT_NE(info.output.find(std::string("backend ") + (gpu ? "cuda" : "cpu")), std::string::npos) << info.output;

  // An explicit cpu says nothing about the GPU.
  const Result cpu = run("extract " + data + " -o " + (dir.path / "cpu.h5").string() + " --backend cpu -q");
  ASSERT_EQ(cpu.status, 0) << cpu.output;
  EXPECT_EQ(cpu.output.find("backend auto"), std::string::npos) << cpu.output;
}

TEST(Cli, TrainEvaluatePredictOnTheSample) {
  test::TempDir dir("cli-model");
  const std::string store = (dir.path / "s.h5").string(), model = (dir.path / "model").string();
  ASSERT_EQ(run("extract " + test::sample_dir().string() + " -o " + store + " --backend cpu -q").status, 0);
  std::ofstream(dir.path / "quick.json") << R"({"rounds": 10, "early_stopping_rounds": 0, "validation_fraction": 0.25})";
  const Result train = run("train " + store + " -o " + model + " --device cpu --config " + (dir.path / "quick.json").string());
  ASSERT_EQ(train.status, 0) << train.output;
  const Result eval = run("evaluate " + model + " " + store + " --json " + (dir.path / "m.json").string() + " --report " +
                          (dir.path / "r.html").string());
  ASSERT_EQ(eval.status, 0) << eval.output;
  EXPECT_TRUE(std::filesystem::exists(dir.path / "m.json"));
  EXPECT_TRUE(std::filesystem::exists(dir.path / "r.html"));
  // The triage (docs/triage.md): train fitted it, evaluate measures it and the report shows it.
  EXPECT_NE(train.output.find("review policy: accept at calibrated confidence"), std::string::npos) << train.output;
  const nlohmann::json metrics = nlohmann::json::parse(std::ifstream(dir.path / "m.json"));
  ASSERT_TRUE(metrics["triage"].is_object()) << metrics.dump();
  const double coverage = metrics["triage"]["coverage"].get<double>();
  EXPECT_GE(coverage, 0.0);
  EXPECT_LE(coverage, 1.0);
  EXPECT_NEAR(double(metrics["triage"]["accepted"].get<std::size_t>()) / 68.0, coverage, 1e-9);
  const std::string report{std::istreambuf_iterator<char>(std::ifstream(dir.path / "r.html").rdbuf()), {}};
  for (const char* section : {"Triage: accept or review", "Reliability diagram", "Accuracy of the accepted images", "Prediction sets"})
    EXPECT_NE(report.find(section), std::string::npos) << section;

  // A folder with a real image and the junk file: one prediction, one skipped row.
  std::filesystem::create_directories(dir.path / "in");
  std::filesystem::copy_file(test::sample_dir() / "platelet" / "PLATELET_10233.jpg", dir.path / "in" / "p.jpg");
  std::filesystem::copy_file(test::source_dir() / "tests" / "data" / "bad" / ".DS_169665.jpg", dir.path / "in" / ".DS_169665.jpg");
  const std::string csv = (dir.path / "pred.csv").string();
  const Result pred = run("predict " + model + " " + (dir.path / "in").string() + " -o " + csv + " --backend cpu");
  ASSERT_EQ(pred.status, 0) << pred.output;
  std::ifstream in(csv);
  std::string header, good, bad;
  std::getline(in, header);
  std::getline(in, good);
  std::getline(in, bad);
  EXPECT_EQ(header.rfind("path,predicted,p_basophil", 0), 0u) << header;
  EXPECT_EQ(good.rfind("p.jpg,", 0), 0u) << good;
  EXPECT_NE(bad.find("not an image"), std::string::npos) << bad;
  // Every row says accept or review, and why (a skipped file: review, not analysed).
  const std::string triage_columns = ",skipped_reason,confidence,decision,review_reasons,prediction_set";
  EXPECT_EQ(header.substr(header.size() - triage_columns.size()), triage_columns) << header;
  const std::vector<std::string> g = test::csv_fields(good), h = test::csv_fields(header);
  ASSERT_EQ(g.size(), h.size()) << good;
  const std::string& decision = g[g.size() - 3];
  const std::string& reasons = g[g.size() - 2];
  EXPECT_TRUE(decision == "accept" ? reasons.empty() : decision == "review" && !reasons.empty()) << good;
  EXPECT_EQ(g.back().substr(0, g[1].size()), g[1]) << "the prediction set starts with the predicted class: " << good;
  EXPECT_NE(bad.find(",review,not_analysed,"), std::string::npos) << bad;

  // A damaged model is refused with a clear message.
  std::ofstream(dir.path / "model" / "model.json") << "{";
  const Result broken = run("predict " + model + " " + (dir.path / "in").string() + " -o " + csv);
  EXPECT_EQ(broken.status, 1);
  EXPECT_NE(broken.output.find("damaged"), std::string::npos) << broken.output;
}

TEST(Cli, RepeatedCrossValidationRecordsEveryRepeatAndTheirSpread) {
  test::TempDir dir("cli-repeats");
  const std::string store = (dir.path / "s.h5").string();
  ASSERT_EQ(run("extract " + test::sample_dir().string() + " -o " + store + " --backend cpu -q").status, 0);
  std::ofstream(dir.path / "quick.json") << R"({"rounds": 5, "early_stopping_rounds": 0, "forest_trees": 10})";
  const Result r = run("train " + store + " -o " + (dir.path / "m").string() + " --device cpu --cv 2 --repeats 3 --config " +
                       (dir.path / "quick.json").string());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("repeated cross-validation, 3 x 2 folds"), std::string::npos) << r.output;
  std::ifstream in(dir.path / "m" / "bundle.json");
  const nlohmann::json cv = nlohmann::json::parse(in)["metrics"]["cross_validation"];
  const nlohmann::json& rep = cv["repeated"];
  ASSERT_EQ(rep["accuracy"].size(), 3u) << rep.dump();
  // The first repeat is the cross-validation the bundle records (and the triage is fitted on).
  EXPECT_DOUBLE_EQ(rep["accuracy"][0].get<double>(), cv["accuracy"].get<double>());
  double mean = 0, ss = 0;
  for (const auto& a : rep["accuracy"]) mean += a.get<double>() / 3;
  for (const auto& a : rep["accuracy"]) ss += (a.get<double>() - mean) * (a.get<double>() - mean);
  EXPECT_NEAR(rep["accuracy_mean"].get<double>(), mean, 1e-12);
  EXPECT_NEAR(rep["accuracy_sd"].get<double>(), std::sqrt(ss / 2), 1e-12);
  // Other folds and seeds: on 68 images, three splits that all score alike would mean the
  // repeats reused one split.
  std::set<double> distinct;
  for (const auto& a : rep["accuracy"]) distinct.insert(a.get<double>());
  for (const auto& f : rep["macro_f1"]) distinct.insert(f.get<double>());
  EXPECT_GT(distinct.size(), 2u) << rep.dump();
}

TEST(Cli, CompareTrainsEveryModelKindOnTheSameFolds) {
  test::TempDir dir("cli-compare");
  const std::string store = (dir.path / "s.h5").string();
  ASSERT_EQ(run("extract " + test::sample_dir().string() + " -o " + store + " --backend cpu -q").status, 0);
  std::ofstream(dir.path / "quick.json") << R"({"rounds": 5, "early_stopping_rounds": 0, "forest_trees": 10})";
  const Result r = run("train " + store + " -o " + (dir.path / "m").string() + " --device cpu --compare --config " +
                       (dir.path / "quick.json").string());
  ASSERT_EQ(r.status, 0) << r.output;
  for (const char* model : {"gblinear (linear baseline)", "rf (random forest)", "gbtree", "dart", "gbtree+svm (the default)"})
    EXPECT_NE(r.output.find(model), std::string::npos) << model << " missing from:\n" << r.output;
  std::ifstream in(dir.path / "m" / "bundle.json");
  const std::string bundle{std::istreambuf_iterator<char>(in), {}};
  EXPECT_NE(bundle.find("\"comparison\""), std::string::npos);  // the table is kept with the model
}
