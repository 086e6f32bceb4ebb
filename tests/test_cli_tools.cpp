// The smaller tools a lab user reaches for: explain on a row of a store, merging two
// independent stores, segmentation masks of a folder, training that is honest about the GPU,
// and a freshly trained bundle that scores without fit-anomaly.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "hemolens/backend.hpp"
#include "hemolens/store.hpp"
#include "model/xgboost.hpp"
#include "support.hpp"

namespace fs = std::filesystem;
using namespace hemolens;

namespace {

fs::path sample_store_path() {
  fs::path p;
  test::sample_store(&p);
  return p;
}

// Two classes of the sample as their own dataset folder.
fs::path two_class_folder(const fs::path& dir, const char* a, const char* b) {
  fs::create_directories(dir);
  for (const char* cls : {a, b}) fs::copy(test::sample_dir() / cls, dir / cls);
  return dir;
}

}  // namespace

TEST(CliTools, ExplainTakesARowOfAStoreOrRefusesClearly) {
  const std::string model = test::sample_bundle().string(), store = sample_store_path().string();
  const StoreData& s = test::sample_store();
  auto r = test::run_hemolens("explain " + model + " " + store);
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("is a feature store of 68 images and explain takes one: choose one with --row I (0..67) or --id ID"),
            std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find("predicted:"), std::string::npos) << "printed a prediction before refusing:\n" << r.output;

  r = test::run_hemolens("explain " + model + " " + store + " --row 12 --top 3");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("image: " + s.images[12].path + " (row of " + store + ", id " + s.images[12].id + ")"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("anomaly score:"), std::string::npos) << r.output;
  // The same image by id, by path, and as the file itself: the same explanation.
  const auto by_id = test::run_hemolens("explain " + model + " " + store + " --id " + s.images[12].id + " --top 3");
  const auto by_path = test::run_hemolens("explain " + model + " " + store + " --id " + s.images[12].path + " --top 3");
  const auto by_file = test::run_hemolens("explain " + model + " " + (test::sample_dir() / s.images[12].path).string() + " --top 3 --backend cpu");
  ASSERT_EQ(by_file.status, 0) << by_file.output;
  auto after_first_line = [](const std::string& out) { return out.substr(out.find('\n')); };
  EXPECT_EQ(after_first_line(by_id.output), after_first_line(r.output));
  EXPECT_EQ(after_first_line(by_path.output), after_first_line(r.output));
  EXPECT_EQ(after_first_line(by_file.output), after_first_line(r.output));

  r = test::run_hemolens("explain " + model + " " + store + " --row 68");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("has 68 rows"), std::string::npos) << r.output;
  r = test::run_hemolens("explain " + model + " " + store + " --id nosuchimage");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("no image with id or path 'nosuchimage'"), std::string::npos) << r.output;
  r = test::run_hemolens("explain " + model + " " + (test::sample_dir() / s.images[0].path).string() + " --row 1");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("--row and --id choose a row of a store"), std::string::npos) << r.output;
}

TEST(CliTools, MergeConcatCombinesIndependentStores) {
  test::TempDir dir("concat");
  const fs::path a = two_class_folder(dir.path / "site-a", "basophil", "ig");
  const fs::path b = two_class_folder(dir.path / "site-b", "ig", "platelet");
  for (const auto& [data, store] : {std::pair{a, "a.h5"}, std::pair{b, "b.h5"}})
    ASSERT_EQ(test::run_hemolens("extract " + data.string() + " -o " + (dir.path / store).string() + " --backend cpu -q").status, 0);
  const std::string a_h5 = (dir.path / "a.h5").string(), b_h5 = (dir.path / "b.h5").string(), out = (dir.path / "ab.h5").string();

  auto r = test::run_hemolens("merge -o " + out + " " + a_h5 + " " + b_h5);
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("they are not shards of one extract; to combine independent stores use `hemolens merge --concat`"),
            std::string::npos)
      << r.output;
  r = test::run_hemolens("merge --concat -o " + out + " " + a_h5 + " " + b_h5);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("note: 10 images (same content) are in more than one"), std::string::npos) << r.output;  // ig is in both

  const StoreData sa = read_store(a_h5), sb = read_store(b_h5), ab = read_store(out);
  ASSERT_EQ(ab.rows, sa.rows + sb.rows);
  EXPECT_EQ(ab.classes, (std::vector<std::string>{"basophil", "ig", "platelet"}));
  EXPECT_EQ(ab.meta.shard_index, 0);
  EXPECT_EQ(ab.meta.shard_count, 1);
  // Rows in the order given, each keeping its features and its class by name; paths name
  // their dataset, since the two stores come from different folders.
  for (std::size_t i = 0; i < ab.rows; ++i) {
    const bool from_a = i < sa.rows;
    const StoreData& src = from_a ? sa : sb;
    const std::size_t j = from_a ? i : i - sa.rows;
    EXPECT_EQ(ab.images[i].id, src.images[j].id);
    EXPECT_EQ(ab.classes[std::size_t(ab.images[i].label)], src.classes[std::size_t(src.images[j].label)]) << i;
    EXPECT_EQ(ab.images[i].path, ((from_a ? a : b) / src.images[j].path).lexically_normal().generic_string());
    EXPECT_TRUE(std::equal(ab.features.begin() + std::ptrdiff_t(i * ab.cols), ab.features.begin() + std::ptrdiff_t((i + 1) * ab.cols),
                           src.features.begin() + std::ptrdiff_t(j * src.cols)));
  }
  // A store of another feature schema is refused, naming both files.
  StoreData other = select_rows(sa, {0});
  other.meta.schema_hash = "0123456789abcdef";
  write_store(dir.path / "other.h5", other);
  r = test::run_hemolens("merge --concat -o " + (dir.path / "x.h5").string() + " " + a_h5 + " " + (dir.path / "other.h5").string());
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find(a_h5 + " and " + (dir.path / "other.h5").string() + " have different feature schemas"), std::string::npos)
      << r.output;
  EXPECT_FALSE(fs::exists(dir.path / "x.h5"));
}

TEST(CliTools, SegmentWritesLabelMasksOfAFolderThatMatchTheFeatures) {
  test::TempDir dir("segment-masks");
  const fs::path data = two_class_folder(dir.path / "data", "basophil", "platelet");
  const fs::path out = dir.path / "out";
  const auto r = test::run_hemolens("segment " + data.string() + " -o " + out.string() + " --masks");
  ASSERT_EQ(r.status, 0) << r.output;
  ASSERT_EQ(test::run_hemolens("extract " + data.string() + " -o " + (dir.path / "s.h5").string() + " --backend cpu -q").status, 0);
  const StoreData s = read_store(dir.path / "s.h5");
  const auto column = [&](const std::string& name) {
    return std::size_t(std::find(s.feature_names.begin(), s.feature_names.end(), name) - s.feature_names.begin());
  };
  const std::size_t cell_area = column("cell_area"), nucleus_area = column("nucleus_area");
  ASSERT_LT(nucleus_area, s.cols);
  ASSERT_EQ(s.rows, 17u);
  for (std::size_t i = 0; i < s.rows; ++i) {
    const fs::path stem = (out / s.images[i].path).replace_extension();
    ASSERT_TRUE(fs::exists(stem.string() + ".png")) << stem << " has no outline image (the folder's layout is kept)";
    const cv::Mat mask = cv::imread(stem.string() + ".mask.png", cv::IMREAD_UNCHANGED);
    ASSERT_FALSE(mask.empty()) << stem;
    ASSERT_EQ(mask.type(), CV_8UC1);
    EXPECT_EQ(mask.rows, s.images[i].height);
    EXPECT_EQ(mask.cols, s.images[i].width);
    double lo = 0, hi = 0;
    cv::minMaxLoc(mask, &lo, &hi);
    EXPECT_LE(hi, 2.0) << "labels are 0, 1, 2";
    // The oracle: the store's areas, measured by extract from the same segmentation.
    EXPECT_EQ(double(cv::countNonZero(mask >= 1)), s.features[i * s.cols + cell_area]) << s.images[i].path;
    EXPECT_EQ(double(cv::countNonZero(mask == 2)), s.features[i * s.cols + nucleus_area]) << s.images[i].path;
  }
  const auto masks_only = test::run_hemolens("segment " + data.string() + " -o " + (dir.path / "m").string() + " --masks --no-outlines");
  ASSERT_EQ(masks_only.status, 0) << masks_only.output;
  EXPECT_TRUE(fs::exists(dir.path / "m" / "basophil" / "BA_101381.mask.png"));
  EXPECT_FALSE(fs::exists(dir.path / "m" / "basophil" / "BA_101381.png"));
  fs::create_directories(dir.path / "empty");
  // A folder without images is reported and ends in exit status 1, and costs the other inputs nothing.
  const auto empty = test::run_hemolens("segment " + (dir.path / "empty").string() + " " + (data / "basophil" / "BA_101381.jpg").string() +
                                        " -o " + (dir.path / "n").string());
  EXPECT_EQ(empty.status, 1) << empty.output;
  EXPECT_NE(empty.output.find("no image files where hemolens looks for them"), std::string::npos) << empty.output;
  EXPECT_TRUE(fs::exists(dir.path / "n" / "BA_101381.png")) << empty.output;
}

// Debian's XGBoost has no CUDA: asking for the GPU is an error naming the fix, and `auto` on
// a node that was given a GPU says so first and records it in the bundle.
TEST(CliTools, GpuTrainingIsRealOrLoudlyAbsent) {
  if (model::xgboost_info().cuda) GTEST_SKIP() << "this build's XGBoost has CUDA: training on the GPU is real";
  test::TempDir dir("gpu-honest");
  const std::string store = sample_store_path().string();
  std::ofstream(dir.path / "quick.json") << R"({"rounds": 5, "early_stopping_rounds": 0})";
  const std::string quick = " --config " + (dir.path / "quick.json").string();
  auto r = test::run_hemolens("train " + store + " -o " + (dir.path / "cuda").string() + " --device cuda" + quick);
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("--device cuda: the linked XGBoost " + model::xgboost_info().version() + " was built without CUDA"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("-DXGBOOST_ROOT="), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("docs/training.md"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir.path / "cuda"));

  for (const char* env : {"CUDA_VISIBLE_DEVICES=0", "SLURM_JOB_GPUS=3 CUDA_VISIBLE_DEVICES="}) {
    SCOPED_TRACE(env);
    const fs::path model = dir.path / "auto";
    r = test::run_hemolens("train " + store + " -o " + model.string() + " --device auto" + quick, env);
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_EQ(r.output.rfind("warning: this job was given a GPU (", 0), 0u) << "the warning is not the first line:\n" << r.output;
    EXPECT_NE(r.output.find("but trains on the CPU"), std::string::npos) << r.output;
    const auto bundle = nlohmann::json::parse(test::read_file(model / "bundle.json"));
    ASSERT_EQ(bundle["warnings"].size(), 1u) << bundle["warnings"];
    EXPECT_NE(bundle["warnings"][0].get<std::string>().find("-DXGBOOST_ROOT"), std::string::npos);
    EXPECT_EQ(bundle["device"], "cpu");
  }
  // No GPU given (on a machine whose CUDA runtime sees none), or the CPU asked for: no warning.
  for (const char* args : {" --device auto", " --device cpu"}) {
    if (std::string(args) == " --device auto" && cuda_status().devices > 0) continue;
    const fs::path model = dir.path / "quiet";
    r = test::run_hemolens("train " + store + " -o " + model.string() + args + quick,
                           std::string(args) == " --device cpu" ? "CUDA_VISIBLE_DEVICES=0" : "CUDA_VISIBLE_DEVICES= SLURM_JOB_GPUS= SLURM_STEP_GPUS=");
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_EQ(r.output.find("warning:"), std::string::npos) << args << "\n" << r.output;
    EXPECT_TRUE(nlohmann::json::parse(test::read_file(model / "bundle.json"))["warnings"].empty());
  }
}

// docs/anomaly.md said to run fit-anomaly after train; train fits the forests itself.
TEST(CliTools, AFreshlyTrainedBundleScoresWithoutFitAnomaly) {
  test::TempDir dir("train-score");
  std::ofstream(dir.path / "quick.json") << R"({"rounds": 5, "early_stopping_rounds": 0})";
  const fs::path model = dir.path / "model";
  ASSERT_EQ(test::run_hemolens("train " + sample_store_path().string() + " -o " + model.string() + " --device cpu --config " +
                               (dir.path / "quick.json").string())
                .status,
            0);
  const auto r = test::run_hemolens("score " + model.string() + " " + sample_store_path().string() + " -o " + (dir.path / "s.csv").string());
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("scored 68 images"), std::string::npos) << r.output;
  const std::string doc = test::read_file(test::source_dir() / "docs" / "anomaly.md");
  EXPECT_EQ(doc.find("hemolens fit-anomaly model train.h5            # adds the isolation forests"), std::string::npos)
      << "docs/anomaly.md still tells users to fit the forests after train";
}
