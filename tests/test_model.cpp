// The classifier: metrics on hand-made cases, stratified folds, and a real model trained
// on the bundled sample: save/load round trip, reproducibility, refusal of a store of
// another schema and of a damaged model file, and Python's xgboost reading the model.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <set>

#include "hemolens/store.hpp"
#include "model/bundle.hpp"
#include "model/labelled.hpp"
#include "model/metrics.hpp"
#include "model/predict.hpp"
#include "model/train.hpp"
#include "pipeline/extract.hpp"
#include "support.hpp"

namespace fs = std::filesystem;
using namespace hemolens;
using namespace hemolens::model;

TEST(Metrics, HandMadeConfusion) {
  // 3 classes. truth/prediction pairs give the confusion [[2,1,0],[0,3,0],[1,0,1]].
  const std::vector<int> truth = {0, 0, 0, 1, 1, 1, 2, 2};
  const std::vector<int> pred = {0, 0, 1, 1, 1, 1, 0, 2};
  const Metrics m = compute_metrics(truth, pred, {"a", "b", "c"});
  EXPECT_EQ(m.confusion, (std::vector<std::vector<std::size_t>>{{2, 1, 0}, {0, 3, 0}, {1, 0, 1}}));
  EXPECT_DOUBLE_EQ(m.accuracy, 6.0 / 8.0);
  // a: precision 2/3, recall 2/3, F1 2/3. b: precision 3/4, recall 1, F1 6/7. c: precision 1, recall 1/2, F1 2/3.
  EXPECT_NEAR(m.per_class[0].f1, 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(m.per_class[1].precision, 0.75, 1e-12);
  EXPECT_NEAR(m.per_class[1].f1, 6.0 / 7.0, 1e-12);
  EXPECT_NEAR(m.per_class[2].recall, 0.5, 1e-12);
  EXPECT_NEAR(m.macro_f1, (2.0 / 3.0 + 6.0 / 7.0 + 2.0 / 3.0) / 3.0, 1e-12);
  EXPECT_NEAR(m.weighted_f1, (3 * 2.0 / 3.0 + 3 * 6.0 / 7.0 + 2 * 2.0 / 3.0) / 8.0, 1e-12);
  EXPECT_EQ(m.per_class[2].support, 2u);
  const auto j = to_json(m);
  for (const char* key : {"accuracy", "macro_f1", "classes", "per_class", "confusion"}) EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_THROW(compute_metrics({0, 1}, {0}, {"a", "b"}), std::invalid_argument);
}

TEST(Folds, StratifiedAndSeeded) {
  std::vector<int> labels;
  for (int c = 0; c < 3; ++c)
    for (int i = 0; i < 10 * (c + 1); ++i) labels.push_back(c);
  const auto f = stratified_folds(labels, 5, 7);
  EXPECT_EQ(f, stratified_folds(labels, 5, 7));
  EXPECT_NE(f, stratified_folds(labels, 5, 8));
  for (int c = 0; c < 3; ++c)
    for (int k = 0; k < 5; ++k) {
      int n = 0;
      for (std::size_t i = 0; i < labels.size(); ++i) n += labels[i] == c && f[i] == k;
      EXPECT_EQ(n, 2 * (c + 1)) << "class " << c << " fold " << k;
    }
}

TEST(TrainParams, UnknownKeysAndBadValuesAreRefused) {
  EXPECT_THROW(TrainParams::from_json({{"etaa", 0.1}}, "cfg.json"), std::runtime_error);
  try {
    TrainParams::from_json({{"max_depth", "six"}}, "cfg.json");
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("cfg.json"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("max_depth"), std::string::npos);
  }
  EXPECT_THROW(TrainParams::from_json({{"booster", "svm"}}, "c"), std::runtime_error);
  EXPECT_EQ(TrainParams::from_json({{"rounds", 7}}, "c").rounds, 7);
}

namespace {

using test::sample_store;

TrainParams quick() { return test::quick_train_params(); }

nlohmann::json meta_for(const StoreData& s) {
  return {{"classes", s.classes}, {"feature_names", s.feature_names}, {"schema_hash", s.meta.schema_hash}, {"schema_version", s.meta.schema_version}};
}

}  // namespace

TEST(Bundle, SaveLoadGivesIdenticalPredictions) {
  const StoreData& s = sample_store();
  const LabelledData d = labelled_rows(s, "sample");
  const Fitted f = fit_with_validation(d.table, quick());
  test::TempDir dir("bundle");
  save_bundle(dir.path / "m", f.booster, meta_for(s));
  const ModelBundle b = load_bundle(dir.path / "m");
  EXPECT_EQ(b.classes, s.classes);
  const auto direct = predict_proba(f.booster, s.features.data(), s.rows, s.cols, 2);
  const Predictions loaded = predict_store(b, s, "sample");
  EXPECT_EQ(direct, loaded.proba);
  for (std::size_t i = 0; i < s.rows; ++i) {
    double sum = 0;
    for (std::size_t c = 0; c < loaded.classes; ++c) sum += loaded.proba[i * loaded.classes + c];
    EXPECT_NEAR(sum, 1.0, 1e-5);
  }
  EXPECT_FALSE(fs::exists(dir.path / ("m.tmp-" + std::to_string(::getpid()))));
}

// Early stopping chooses the rounds on a split; the refit then trains on every row for that
// many rounds scaled by the row counts. Without the refit the early-stopped model is kept.
TEST(Train, RefitOnAllRowsAfterEarlyStopping) {
  const StoreData& s = sample_store();
  const LabelledData d = labelled_rows(s, "sample");
  TrainParams p = quick();
  p.rounds = 60;
  p.early_stopping_rounds = 5;
  p.refit_all = false;
  const Fitted stopped = fit_with_validation(d.table, p);
  EXPECT_EQ(stopped.booster.rounds(), stopped.chosen_round);
  EXPECT_LT(stopped.chosen_round, 60) << "early stopping did not stop: the test proves nothing";
  p.refit_all = true;
  const Fitted refit = fit_with_validation(d.table, p);
  EXPECT_EQ(refit.chosen_round, stopped.chosen_round) << "the refit must not change what early stopping chose";
  std::size_t valid = 0;  // rows of the validation split: the sample's classes, one in four
  const std::vector<int> fold = stratified_folds(d.table.labels, 4, p.seed);
  for (int f : fold) valid += f == 0;
  const double scale = double(d.table.rows) / double(d.table.rows - valid);
  EXPECT_EQ(refit.booster.rounds(), int(std::lround(stopped.chosen_round * scale)));
  EXPECT_NE(predict_proba(refit.booster, s.features.data(), s.rows, s.cols, 2), predict_proba(stopped.booster, s.features.data(), s.rows, s.cols, 2));
}

TEST(Bundle, SameSeedSameModel) {
  const StoreData& s = sample_store();
  const LabelledData d = labelled_rows(s, "sample");
  test::TempDir dir("seed");
  save_bundle(dir.path / "a", fit_with_validation(d.table, quick()).booster, meta_for(s));
  save_bundle(dir.path / "b", fit_with_validation(d.table, quick()).booster, meta_for(s));
  EXPECT_EQ(test::read_file(dir.path / "a" / "model.json"), test::read_file(dir.path / "b" / "model.json"));
  TrainParams other = quick();
  other.seed = 43;
  save_bundle(dir.path / "c", fit_with_validation(d.table, other).booster, meta_for(s));
  EXPECT_NE(test::read_file(dir.path / "a" / "model.json"), test::read_file(dir.path / "c" / "model.json"));
}

TEST(Bundle, OtherSchemaAndDamagedModelAreRefused) {
  const StoreData& s = sample_store();
  const LabelledData d = labelled_rows(s, "sample");
  test::TempDir dir("refuse");
  save_bundle(dir.path / "m", fit_with_validation(d.table, quick()).booster, meta_for(s));

  StoreData other = s;
  other.meta.schema_hash = "0123456789abcdef";
  const ModelBundle b = load_bundle(dir.path / "m");
  try {
    predict_store(b, other, "other.h5");
    FAIL() << "a store of another schema was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("schema"), std::string::npos) << e.what();
  }

  const std::string model = test::read_file(dir.path / "m" / "model.json");
  std::ofstream(dir.path / "m" / "model.json", std::ios::binary) << model.substr(0, model.size() / 2);
  try {
    load_bundle(dir.path / "m");
    FAIL() << "a truncated model was loaded";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("damaged"), std::string::npos) << e.what();
  }
  std::ofstream(dir.path / "m" / "bundle.json") << "{not json";
  EXPECT_THROW(load_bundle(dir.path / "m"), std::runtime_error);
  EXPECT_THROW(load_bundle(dir.path / "missing"), std::runtime_error);
}

TEST(Bundle, PythonXgboostLoadsTheModelAndAgrees) {
  if (std::system("/usr/bin/python3 -c 'import xgboost, h5py' > /dev/null 2>&1") != 0) GTEST_SKIP() << "python3-xgboost or h5py not installed";
  fs::path store_path;
  const StoreData& s = sample_store(&store_path);
  const LabelledData d = labelled_rows(s, "sample");
  test::TempDir dir("python");
  const Fitted f = fit_with_validation(d.table, quick());
  save_bundle(dir.path / "m", f.booster, meta_for(s));
  const auto ours = predict_proba(f.booster, s.features.data(), s.rows, s.cols, 2);
  std::ofstream(dir.path / "ours.bin", std::ios::binary).write(reinterpret_cast<const char*>(ours.data()), std::streamsize(ours.size() * 4));
  const std::string script = "import xgboost, h5py, numpy as np\n"
                             "b = xgboost.Booster(model_file='" + (dir.path / "m" / "model.json").string() + "')\n"
                             "X = h5py.File('" + store_path.string() + "')['features'][:]\n"
                             "p = b.predict(xgboost.DMatrix(X, missing=np.nan, feature_names=b.feature_names))\n"  // names travel in model.json
                             "ours = np.fromfile('" + (dir.path / "ours.bin").string() + "', dtype=np.float32).reshape(p.shape)\n"
                             "assert np.abs(p - ours).max() < 1e-6, np.abs(p - ours).max()\n";
  std::ofstream(dir.path / "check.py") << script;
  EXPECT_EQ(std::system(("/usr/bin/python3 " + (dir.path / "check.py").string()).c_str()), 0);
}

TEST(CrossValidation, PooledPredictionsCoverEveryRow) {
  const StoreData& s = sample_store();
  const LabelledData d = labelled_rows(s, "sample");
  const CvResult r = cross_validate(d.table, quick(), 3, 1);
  EXPECT_EQ(r.pooled.samples, d.table.rows);
  EXPECT_EQ(r.fold_accuracy.size(), 3u);
  // About 45 training images a fold for 8 classes and 15 rounds: no figure to quote, but
  // well above chance (1/8) unless labels and rows were misaligned.
  EXPECT_GT(r.pooled.accuracy, 0.3);
}
