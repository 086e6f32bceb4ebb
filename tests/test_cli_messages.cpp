// What a user sees after a mistake: a typo in a command or option gets the nearest one, an
// input without images where the layout expects them is an error that says what was found
// (never an empty store with exit 0), and --help exits 0 everywhere.
#include <gtest/gtest.h>

#include <fstream>

#include "cli/suggest.hpp"
#include "support.hpp"

namespace fs = std::filesystem;
using namespace hemolens;

namespace {

// data/train/<class>/*.jpg and data/test/<class>/*.jpg: the layout that gave an empty store.
fs::path nested_dataset(const test::TempDir& dir) {
  const fs::path data = dir.path / "data";
  for (const char* split : {"train", "test"})
    for (const char* cls : {"basophil", "platelet"}) {
      fs::create_directories(data / split / cls);
      fs::copy_file(test::sample_dir() / "basophil" / "BA_101381.jpg", data / split / cls / "a.jpg");
    }
  std::ofstream(data / "notes.txt") << "split by hand";
  return data;
}

}  // namespace

TEST(Suggest, NearestWordByEditsWithSwapsCountingOnce) {
  using cli::edit_distance;
  using cli::nearest_word;
  EXPECT_EQ(edit_distance("trian", "train"), 1u);  // a swap
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  const std::vector<std::string> commands = {"extract", "merge", "export", "train", "evaluate", "predict", "score", "explain"};
  EXPECT_EQ(nearest_word("trian", commands), "train");
  EXPECT_EQ(nearest_word("extact", commands), "extract");
  EXPECT_EQ(nearest_word("exprot", commands), "export");
  EXPECT_EQ(nearest_word("predcit", commands), "predict");
  EXPECT_EQ(nearest_word("frobnicate", commands), "");  // nothing close: no guess
}

TEST(CliMessages, AnUnknownCommandSuggestsTheNearest) {
  const auto r = test::run_hemolens("trian data.h5 -o model");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("'trian' is not a hemolens command. Did you mean 'train'?"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("commands: extract merge export"), std::string::npos) << r.output;
  const auto far = test::run_hemolens("frobnicate");
  EXPECT_EQ(far.status, 2);
  EXPECT_EQ(far.output.find("Did you mean"), std::string::npos) << far.output;
  const auto none = test::run_hemolens("");
  EXPECT_EQ(none.status, 2);
  EXPECT_NE(none.output.find("no command given"), std::string::npos) << none.output;
}

TEST(CliMessages, AnUnknownOptionSuggestsTheNearest) {
  const auto r = test::run_hemolens("predict model in --outptu x.csv");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("predict: unknown option --outptu. Did you mean --output?"), std::string::npos) << r.output;
}

TEST(CliMessages, HelpExitsZero) {
  for (const char* args : {"--help", "extract --help", "export --help", "run --help", "segment --help"}) {
    const auto r = test::run_hemolens(args);
    EXPECT_EQ(r.status, 0) << args << "\n" << r.output;
  }
  for (const char* script : {"slurm/submit", "slurm/local-cluster"}) {
    const std::string cmd = (test::source_dir() / script).string() + " --help >/dev/null 2>&1";
    EXPECT_EQ(WEXITSTATUS(std::system(cmd.c_str())), 0) << script << " --help";
  }
  const std::string usage_error = (test::source_dir() / "slurm" / "submit").string() + " >/dev/null 2>&1";
  EXPECT_EQ(WEXITSTATUS(std::system(usage_error.c_str())), 2) << "no spec is a usage error";
}

TEST(CliMessages, ExtractOfNestedFoldersSaysWhereTheImagesAre) {
  test::TempDir dir("nested");
  const fs::path data = nested_dataset(dir);
  const fs::path out = dir.path / "out.h5";
  const auto r = test::run_hemolens("extract " + data.string() + " -o " + out.string() + " --backend cpu");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("no image files where hemolens looks for them"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("2 sub-folder(s) without images (test, train)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("one sub-folder of images per class"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("e.g. test/basophil/a.jpg: give " + (data / "test").string()), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(out)) << "an empty store was written";
  // The folder it names works.
  const auto good = test::run_hemolens("extract " + (data / "train").string() + " -o " + out.string() + " --backend cpu -q");
  EXPECT_EQ(good.status, 0) << good.output;
}

TEST(CliMessages, PredictAndScoreOfEmptyInputsFail) {
  test::TempDir dir("empty-inputs");
  const fs::path data = nested_dataset(dir);
  fs::create_directories(dir.path / "empty");
  std::ofstream(dir.path / "header-only.csv") << "path,label\n";
  std::ofstream(dir.path / "missing.csv") << "path,label\nnowhere.jpg,basophil\n";
  const std::string model = test::sample_bundle().string();
  // Both commands read their input through the same path; predict meets every kind of empty input.
  for (const char* command : {"predict", "score"}) {
    SCOPED_TRACE(command);
    const fs::path out = dir.path / (std::string(command) + ".csv");
    auto r = test::run_hemolens(std::string(command) + " " + model + " " + data.string() + " -o " + out.string() + " --backend cpu");
    EXPECT_EQ(r.status, 1) << r.output;
    EXPECT_NE(r.output.find("Images lie deeper"), std::string::npos) << r.output;
    // One unusable image: no prediction can be made, and the reason is given.
    r = test::run_hemolens(std::string(command) + " " + model + " " + (test::source_dir() / "tests" / "data" / "bad" / ".DS_169665.jpg").string() +
                           " -o " + out.string());
    EXPECT_EQ(r.status, 1) << r.output;
    EXPECT_NE(r.output.find("no image of"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("not an image"), std::string::npos) << r.output;
    EXPECT_FALSE(fs::exists(out)) << "an empty table was written";
  }
  const fs::path out = dir.path / "p.csv";
  auto r = test::run_hemolens("predict " + model + " " + (dir.path / "empty").string() + " -o " + out.string());
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("nothing (an empty folder)"), std::string::npos) << r.output;
  r = test::run_hemolens("predict " + model + " " + (dir.path / "header-only.csv").string() + " -o " + out.string());
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("lists no images"), std::string::npos) << r.output;
  r = test::run_hemolens("predict " + model + " " + (dir.path / "missing.csv").string() + " -o " + out.string());
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("none of its 1 files exist (first: nowhere.jpg"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(out));
}

TEST(CliMessages, AJobSpecWithoutImagesFailsBeforeAnythingRuns) {
  test::TempDir dir("empty-spec");
  const fs::path data = nested_dataset(dir);
  const fs::path spec = dir.path / "spec.toml";
  std::ofstream(spec) << "name = \"t\"\ndataset = \"data\"\nrun_dir = \"run\"\n[extract]\nbackend = \"cpu\"\n";
  for (const char* extra : {"", " --list-stages"}) {
    const auto r = test::run_hemolens("run " + spec.string() + extra);
    EXPECT_EQ(r.status, 1) << r.output;
    EXPECT_NE(r.output.find("Images lie deeper, e.g. test/basophil/a.jpg"), std::string::npos) << r.output;
    EXPECT_FALSE(fs::exists(dir.path / "run")) << "a run directory was made for nothing";
  }
  // The same for a test dataset that holds nothing.
  fs::create_directories(dir.path / "no-test");
  std::ofstream(spec) << "name = \"t\"\ndataset = \"data/train\"\nrun_dir = \"run\"\n[extract]\nbackend = \"cpu\"\n[test]\ndataset = \"no-test\"\n";
  const auto r = test::run_hemolens("run " + spec.string() + " --list-stages");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find((dir.path / "no-test").string() + ": no image files"), std::string::npos) << r.output;
}
