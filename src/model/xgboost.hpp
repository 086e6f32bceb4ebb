// A thin RAII layer over XGBoost's C API: matrices, boosters, prediction, and the
// device parameter that changed name between XGBoost 1.7 and 2.x. Errors become
// std::runtime_error carrying XGBoost's own message.
#pragma once
#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

namespace hemolens::model {

struct XgbInfo {
  int major = 0, minor = 0, patch = 0;
  bool cuda = false;  // the linked library was built with CUDA
  std::string version() const;
};
XgbInfo xgboost_info();

class DMatrix {
 public:
  // Dense row-major float matrix; NaN is "missing".
  DMatrix(const float* data, std::size_t rows, std::size_t cols, int threads);
  ~DMatrix();
  DMatrix(const DMatrix&) = delete;
  DMatrix& operator=(const DMatrix&) = delete;
  void set_info(const char* field, const std::vector<float>& values);  // "label", "weight"
  void set_feature_names(const std::vector<std::string>& names);      // kept in the saved model
  void* handle() const { return handle_; }
  std::size_t rows() const { return rows_; }

 private:
  void* handle_ = nullptr;
  std::size_t rows_ = 0;
};

class Booster {
 public:
  Booster();  // empty, for load()
  explicit Booster(const std::vector<const DMatrix*>& cache);
  ~Booster();
  Booster(Booster&& o) noexcept;
  Booster& operator=(Booster&& o) noexcept;
  Booster(const Booster&) = delete;
  Booster& operator=(const Booster&) = delete;

  void set_param(const std::string& name, const std::string& value);
  void set_feature_names(const std::vector<std::string>& names);  // saved with the model
  void update(int iteration, const DMatrix& train);
  // "[0]\tvalid-mlogloss:0.123" style text; the last metric's value is parsed by last_metric().
  std::string evaluate(int iteration, const DMatrix& m, const std::string& name);
  static double last_metric(const std::string& eval_text);

  // type 0: probabilities (rows x classes); 1: margins; 2: SHAP contributions
  // (rows x classes x (features + 1)). iteration_end 0: all trees.
  std::vector<float> predict(const DMatrix& m, int type, int iteration_end, std::vector<std::size_t>* shape) const;
  Booster slice(int end_round) const;  // the first end_round rounds
  int rounds() const;
  // What the model was trained for, from its own parameters: for checking that the names a
  // bundle gives its classes and features fit the model.
  struct Shape {
    std::size_t classes = 0, features = 0;
  };
  Shape shape() const;
  std::vector<std::pair<std::string, float>> feature_scores(const std::string& importance_type) const;

  void save(const std::filesystem::path& file) const;  // .json or .ubj, XGBoost's own formats
  static Booster load(const std::filesystem::path& file);
  void* handle() const { return handle_; }

 private:
  void* handle_ = nullptr;
};

// Parameters that put training and prediction on the GPU or the CPU, in the spelling of
// the linked XGBoost (1.x: tree_method gpu_hist / predictor; 2.x and later: device).
std::vector<std::pair<std::string, std::string>> device_params(bool cuda, const XgbInfo& info);

}  // namespace hemolens::model
