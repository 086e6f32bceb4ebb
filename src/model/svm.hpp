// The classifier's second member: a support vector machine with an RBF kernel (LIBSVM's C-SVC,
// one-vs-one, with Platt-scaled pairwise probabilities coupled into class probabilities) on
// standardized features. Boosted trees split one feature at a time; the RBF machine draws
// smooth boundaries across all of them at once, and on hemolens' features it errs on other
// images than the trees do (benchmarks/RESULTS.md, "The SVM member"), so their averaged
// probabilities beat either.
//
// File (MODEL_DIR/svm.bin), little-endian, sizes checked against the file before anything is
// allocated, so a crafted file is refused and never costs more than its bytes:
//   "HLSVM001"  u32 classes  u32 features  u32 model_classes  u32 support_vectors  f64 gamma
//   f32 mean[features]  f32 inverse_scale[features]
//   i32 label[model_classes]  i32 count[model_classes]         (support vectors of each class)
//   f64 rho[p]  f64 prob_a[p]  f64 prob_b[p]                     (p = pairs of model classes)
//   f64 coef[(model_classes - 1) x support_vectors]  f32 sv[support_vectors x features]
#pragma once
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <vector>

namespace hemolens::model {

struct SvmParams {
  double c = 10.0;               // the soft-margin cost (LIBSVM's C)
  bool balance_classes = true;   // C of each class scaled by n / (classes x n_class)
  std::uint64_t seed = 42;       // LIBSVM's internal folds for the probability fit
};

class Svm {
 public:
  Svm();
  ~Svm();
  Svm(Svm&&) noexcept;
  Svm& operator=(Svm&&) noexcept;

  // Trains on `rows` rows of `features` (rows x cols, row-major; NaN counts as the mean) with
  // labels in [0, classes). Classes with no row get probability 0.
  static Svm train(const float* features, const std::vector<int>& labels, std::size_t rows, std::size_t cols,
                   std::size_t classes, const SvmParams& p);

  // Class probabilities, rows x classes; rows in parallel (`threads` 0: all cores).
  std::vector<float> predict_proba(const float* features, std::size_t rows, int threads) const;

  void save(const std::filesystem::path& file) const;
  // Throws std::runtime_error naming the file and what is wrong with it; `classes` and
  // `features` are what the bundle says the model has.
  static Svm load(const std::filesystem::path& file, std::size_t classes, std::size_t features);

  std::size_t classes() const;
  std::size_t features() const;
  std::size_t support_vectors() const;

 private:
  struct Parts;
  std::unique_ptr<Parts> parts_;
};

}  // namespace hemolens::model
