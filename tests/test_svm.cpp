// The SVM member (model/svm.hpp) and the blend (model/classifier.hpp): a problem only a
// non-linear boundary separates, scikit-learn's copy of LIBSVM as the oracle for what training
// hands LIBSVM, save/load round trips, crafted svm.bin files refused before anything is
// allocated, and the share chosen by log-loss on hand-made probabilities.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <numeric>
#include <random>

#include "hemolens/store.hpp"
#include "model/bundle.hpp"
#include "model/classifier.hpp"
#include "model/labelled.hpp"
#include "model/predict.hpp"
#include "model/svm.hpp"
#include "model/train.hpp"
#include "support.hpp"

namespace fs = std::filesystem;
using namespace hemolens;
using namespace hemolens::model;

namespace {

// Two rings around the origin (class 0 inside, class 2 outside) with a third, noise feature;
// class 1 has no rows. No straight line separates them.
struct Rings {
  std::vector<float> x;
  std::vector<int> y;
  std::size_t rows = 0;
};
Rings rings(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> angle(0, 6.2831853f), noise(-0.2f, 0.2f), other(0, 100);
  Rings r;
  for (std::size_t i = 0; i < n; ++i) {
    const int c = i % 2 ? 2 : 0;
    const float radius = (c == 0 ? 1.0f : 3.0f) + noise(rng), a = angle(rng);
    r.x.insert(r.x.end(), {radius * std::cos(a), radius * std::sin(a), other(rng)});
    r.y.push_back(c);
  }
  r.rows = n;
  return r;
}

Svm ring_svm() {
  const Rings r = rings(200, 1);
  return Svm::train(r.x.data(), r.y, r.rows, 3, 3, {});
}

}  // namespace

TEST(Svm, SeparatesRingsAndGivesAbsentClassesNoProbability) {
  const Svm s = ring_svm();
  EXPECT_EQ(s.classes(), 3u);
  EXPECT_EQ(s.features(), 3u);
  EXPECT_GT(s.support_vectors(), 0u);
  const Rings fresh = rings(400, 2);
  const std::vector<float> p = s.predict_proba(fresh.x.data(), fresh.rows, 2);
  ASSERT_EQ(p.size(), fresh.rows * 3);
  std::size_t right = 0;
  for (std::size_t i = 0; i < fresh.rows; ++i) {
    EXPECT_NEAR(p[i * 3] + p[i * 3 + 1] + p[i * 3 + 2], 1.0, 1e-5);
    EXPECT_EQ(p[i * 3 + 1], 0.0f);  // no row of class 1 was trained on
    right += (p[i * 3 + 2] > p[i * 3]) == (fresh.y[i] == 2);
  }
  EXPECT_GT(double(right) / double(fresh.rows), 0.97);
  // NaN stands for the mean: it predicts, and as the feature's training mean would.
  std::vector<float> a = {0.9f, 0.1f, std::nanf("")}, b = a;
  b[2] = 50.0f;  // about the mean of uniform(0, 100); close, not exact, so only the class is compared
  const auto pa = s.predict_proba(a.data(), 1, 1), pb = s.predict_proba(b.data(), 1, 1);
  EXPECT_TRUE(std::isfinite(pa[0]));
  EXPECT_EQ(pa[0] > pa[2], pb[0] > pb[2]);
}

TEST(Svm, SaveLoadGivesIdenticalProbabilitiesAndTrainingRepeats) {
  test::TempDir dir("svm-roundtrip");
  const Svm s = ring_svm();
  s.save(dir.path / "a.bin");
  ring_svm().save(dir.path / "b.bin");
  EXPECT_EQ(test::read_file(dir.path / "a.bin"), test::read_file(dir.path / "b.bin"));  // seeded: the same model
  const Svm back = Svm::load(dir.path / "a.bin", 3, 3);
  const Rings fresh = rings(100, 3);
  EXPECT_EQ(back.predict_proba(fresh.x.data(), fresh.rows, 2), s.predict_proba(fresh.x.data(), fresh.rows, 1));
  EXPECT_NE(test::error_of([&] { Svm::load(dir.path / "a.bin", 8, 3); }).find("an SVM for 3 classes and 3 features, the bundle says 8 and 3"),
            std::string::npos);
}

// Every field LIBSVM's prediction trusts, broken one at a time, in a file of the right size
// unless the case is about the size. Offsets follow the layout in svm.hpp.
TEST(Svm, CraftedFilesAreRefusedBeforeAnythingIsAllocated) {
  test::TempDir dir("svm-crafted");
  ring_svm().save(dir.path / "good.bin");
  const std::string good = test::read_file(dir.path / "good.bin");
  std::uint32_t head[4];
  std::memcpy(head, good.data() + 8, sizeof head);
  const std::size_t k = head[2], cols = head[1], l = head[3], pairs = k * (k - 1) / 2;
  const std::size_t labels_at = 8 + 16 + 8 + 8 * cols, counts_at = labels_at + 4 * k, coef_at = counts_at + 4 * k + 24 * pairs;
  const auto u32 = [](std::uint32_t v) { return std::string(reinterpret_cast<const char*>(&v), 4); };
  const auto f64 = [](double v) { return std::string(reinterpret_cast<const char*>(&v), 8); };
  const auto at = [&](std::size_t offset, const std::string& bytes) { return good.substr(0, offset) + bytes + good.substr(offset + bytes.size()); };
  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      {"magic", at(0, "HLSVM999"), "not a hemolens SVM model"},
      {"short", good.substr(0, 20), "too short for an SVM model"},
      {"truncated", good.substr(0, good.size() - 1), "(truncated or padded)"},
      {"padded", good + "x", "(truncated or padded)"},
      {"vectors-claimed", at(20, u32((1u << 26))), "(truncated or padded)"},  // 2^26 x 3 floats claimed by a small file
      {"vectors-over-bound", at(20, u32(0xFFFFFFFFu)), "an impossible SVM header"},
      {"one-class", at(16, u32(1)), "an impossible SVM header"},
      {"gamma", at(24, f64(-1.0)), "gamma must be a positive number"},
      {"label-outside", at(labels_at, u32(7)), "class labels repeat or lie outside the classes"},
      {"label-twice", at(labels_at, good.substr(labels_at + 4, 4)), "class labels repeat or lie outside the classes"},
      {"count", at(counts_at, u32(std::uint32_t(l) + 1)), "support vector counts add up to"},
      {"count-negative", at(counts_at, u32(0xFFFFFFFFu)), "a negative support vector count"},
      {"coefficient", at(coef_at, f64(std::nan(""))), "holds a number that is not finite"},
  };
  for (const auto& [name, bytes, why] : cases) {
    SCOPED_TRACE(name);
    const fs::path file = dir.path / (name + ".bin");
    std::ofstream(file, std::ios::binary) << bytes;
    const std::string error = test::error_of([&] { Svm::load(file, 3, 3); });
    EXPECT_NE(error.find(why), std::string::npos) << error;
    EXPECT_NE(error.find(file.string()), std::string::npos) << error;
  }
  // A header of 0 features, asked for as such (as the fuzz target asks for what a header claims).
  const fs::path none = dir.path / "no-features.bin";
  std::ofstream(none, std::ios::binary) << at(12, u32(0));
  const std::string error = test::error_of([&] { Svm::load(none, 3, 0); });
  EXPECT_NE(error.find("an impossible SVM header"), std::string::npos) << error;
}

TEST(Blend, TheShareWithTheLowestLogLossOnHeldBackRowsIsChosen) {
  // Two rows of two classes. Trees: 0.8 for the true class of row 0, 0.2 for row 1's; the SVM
  // the other way round. Log-loss of share w: -ln(0.8 - 0.6 w) - ln(0.2 + 0.6 w), least where
  // the two are equal: w = 0.5.
  const std::vector<float> trees = {0.8f, 0.2f, 0.8f, 0.2f}, svm = {0.2f, 0.8f, 0.2f, 0.8f};
  EXPECT_DOUBLE_EQ(choose_svm_weight(trees, svm, {0, 1}, 2), 0.5);
  // A member that is right and sure everywhere takes everything; the other nothing.
  const std::vector<float> right = {1.0f, 0.0f, 0.0f, 1.0f}, wrong = {0.0f, 1.0f, 1.0f, 0.0f};
  EXPECT_DOUBLE_EQ(choose_svm_weight(wrong, right, {0, 1}, 2), 1.0);
  EXPECT_DOUBLE_EQ(choose_svm_weight(right, wrong, {0, 1}, 2), 0.0);
}

TEST(Blend, TrainingChoosesAShareAndTheBundleKeepsTheBlend) {
  const StoreData& s = test::sample_store();
  const LabelledData d = labelled_rows(s, "sample");
  TrainParams p = test::quick_train_params();
  p.svm_weight = -1;  // chosen on the early-stopping split
  const Fitted chosen = fit_with_validation(d.table, p);
  if (chosen.svm) EXPECT_TRUE(chosen.svm->weight > 0 && chosen.svm->weight <= 1) << chosen.svm->weight;
  p.svm_weight = 0.4;
  const Fitted f = fit_with_validation(d.table, p);
  ASSERT_TRUE(f.svm);
  EXPECT_DOUBLE_EQ(f.svm->weight, 0.4);
  // The blend is the weighted mean of the members' probabilities.
  const std::vector<float> trees = predict_proba(f.booster, s.features.data(), s.rows, s.cols, 2);
  const std::vector<float> svm = f.svm->svm.predict_proba(s.features.data(), s.rows, 2);
  const std::vector<float> blend = blend_proba(f.booster, f.svm, s.features.data(), s.rows, s.cols, 2);
  for (std::size_t i = 0; i < blend.size(); ++i) EXPECT_NEAR(blend[i], 0.6f * trees[i] + 0.4f * svm[i], 1e-6) << i;
  // Saved and loaded, the bundle predicts the same blend.
  test::TempDir dir("blend-bundle");
  save_bundle(dir.path / "m", f.booster, f.svm,
              {{"classes", s.classes}, {"feature_names", s.feature_names}, {"schema_hash", s.meta.schema_hash}, {"schema_version", s.meta.schema_version}});
  const ModelBundle b = load_bundle(dir.path / "m");
  ASSERT_TRUE(b.svm);
  EXPECT_DOUBLE_EQ(b.svm->weight, 0.4);
  EXPECT_EQ(predict_store(b, s, "sample").raw_proba, blend);
  // Without the SVM, the trees alone.
  p.svm = false;
  EXPECT_FALSE(fit_with_validation(d.table, p).svm);
}

// scikit-learn's SVC wraps its own copy of LIBSVM: fed the rows as hemolens standardizes them,
// with hemolens' gamma, C and class weights, it must find the same support vectors. This
// checks what training hands LIBSVM (standardization, clipping, gamma, per-class costs).
TEST(Svm, FindsTheSupportVectorsScikitLearnFinds) {
  if (std::system("/usr/bin/python3 -c 'import sklearn, h5py, numpy' > /dev/null 2>&1") != 0) GTEST_SKIP() << "python3-sklearn not installed";
  fs::path store;
  const StoreData& s = test::sample_store(&store);
  const LabelledData d = labelled_rows(s, "sample");
  test::TempDir dir("svm-sklearn");
  const Svm ours = Svm::train(d.table.features, d.table.labels, d.table.rows, d.table.cols, s.classes.size(), {});
  ours.save(dir.path / "svm.bin");
  const std::string script =
      "import sys, h5py, numpy as np\n"
      "from sklearn.svm import SVC\n"
      "b = open(sys.argv[1], 'rb').read(); k_all, d, k, l = np.frombuffer(b, np.uint32, 4, 8); g = np.frombuffer(b, np.float64, 1, 24)[0]\n"
      "o = 32; mean = np.frombuffer(b, np.float32, d, o); o += 4 * d; inv = np.frombuffer(b, np.float32, d, o); o += 4 * d\n"
      "o += 8 * k + 24 * (k * (k - 1) // 2) + 8 * (k - 1) * l; sv = np.frombuffer(b, np.float32, l * d, o).reshape(l, d)\n"
      "f = h5py.File(sys.argv[2]); X = f['features'][:]; y = f['labels'][:]; X = X[y >= 0]; y = y[y >= 0]\n"
      "Z = np.clip((X - mean) * inv, -6, 6).astype(np.float32); Z[np.isnan(X)] = 0\n"
      "n = np.bincount(y, minlength=k_all); w = {c: len(y) / (k_all * n[c]) for c in range(k_all) if n[c]}\n"
      "m = SVC(C=10, gamma=g, class_weight=w).fit(Z.astype(np.float64), y)\n"
      "ours = sorted(map(tuple, np.round(sv.astype(np.float64), 5))); theirs = sorted(map(tuple, np.round(m.support_vectors_, 5)))\n"
      "assert len(ours) == len(theirs), (len(ours), len(theirs))\n"
      "assert ours == theirs\n"
      "print('support vectors', len(ours))\n";
  std::ofstream(dir.path / "check.py") << script;
  EXPECT_EQ(std::system(("/usr/bin/python3 " + (dir.path / "check.py").string() + " " + (dir.path / "svm.bin").string() + " " + store.string()).c_str()), 0);
}
