#include "model/xgboost.hpp"

#include <xgboost/c_api.h>  // for the C API

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "model/model_check.hpp"

namespace hemolens::model {
namespace {

// XGBoost's message without its stack trace (which follows the first line).
void check(int rc, const char* what) {
  if (rc == 0) return;
  std::string msg = XGBGetLastError();
  if (const auto nl = msg.find('\n'); nl != std::string::npos) msg.resize(nl);
  throw std::runtime_error(std::string("XGBoost ") + what + ": " + msg);
}

}  // namespace

std::string XgbInfo::version() const { return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch); }

XgbInfo xgboost_info() {
  XgbInfo info;
  XGBoostVersion(&info.major, &info.minor, &info.patch);
  const char* build = nullptr;
  if (XGBuildInfo(&build) == 0 && build) {
    const auto j = nlohmann::json::parse(build, nullptr, false);
    info.cuda = j.is_object() && j.value("USE_CUDA", false);
  }
  return info;
}

DMatrix::DMatrix(const float* data, std::size_t rows, std::size_t cols, int threads) : rows_(rows) {
  // Array interface: a pointer and a shape, no copy on our side.
  const nlohmann::json iface = {{"data", {reinterpret_cast<std::uintptr_t>(data), true}},
                                {"shape", {rows, cols}},
                                {"typestr", "<f4"},
                                {"version", 3}};
  // Written by hand: JSON has no NaN, but XGBoost's parser takes the literal.
  const std::string config = "{\"missing\": NaN, \"nthread\": " + std::to_string(threads) + "}";
  check(XGDMatrixCreateFromDense(iface.dump().c_str(), config.c_str(), &handle_), "creating a matrix");
}

DMatrix::~DMatrix() {
  if (handle_) XGDMatrixFree(handle_);
}

void DMatrix::set_info(const char* field, const std::vector<float>& values) {
  check(XGDMatrixSetFloatInfo(handle_, field, values.data(), values.size()), field);
}

void DMatrix::set_feature_names(const std::vector<std::string>& names) {
  std::vector<const char*> c;
  for (const auto& n : names) c.push_back(n.c_str());
  check(XGDMatrixSetStrFeatureInfo(handle_, "feature_name", c.data(), c.size()), "feature names");
}

Booster::Booster() = default;

Booster::Booster(const std::vector<const DMatrix*>& cache) {
  std::vector<DMatrixHandle> handles;
  for (const DMatrix* m : cache) handles.push_back(m->handle());
  check(XGBoosterCreate(handles.data(), handles.size(), &handle_), "creating a booster");
}

Booster::~Booster() {
  if (handle_) XGBoosterFree(handle_);
}

Booster::Booster(Booster&& o) noexcept : handle_(o.handle_) { o.handle_ = nullptr; }

Booster& Booster::operator=(Booster&& o) noexcept {
  if (this != &o) {
    if (handle_) XGBoosterFree(handle_);
    handle_ = o.handle_;
    o.handle_ = nullptr;
  }
  return *this;
}

void Booster::set_param(const std::string& name, const std::string& value) {
  check(XGBoosterSetParam(handle_, name.c_str(), value.c_str()), ("parameter " + name + "=" + value).c_str());
}

void Booster::set_feature_names(const std::vector<std::string>& names) {
  std::vector<const char*> c;
  for (const auto& n : names) c.push_back(n.c_str());
  check(XGBoosterSetStrFeatureInfo(handle_, "feature_name", c.data(), c.size()), "feature names");
}

void Booster::update(int iteration, const DMatrix& train) {
  check(XGBoosterUpdateOneIter(handle_, iteration, train.handle()), "training");
}

std::string Booster::evaluate(int iteration, const DMatrix& m, const std::string& name) {
  DMatrixHandle h = m.handle();
  const char* names[] = {name.c_str()};
  const char* out = nullptr;
  check(XGBoosterEvalOneIter(handle_, iteration, &h, names, 1, &out), "evaluation");
  return out ? out : "";
}

double Booster::last_metric(const std::string& eval_text) {
  const auto colon = eval_text.rfind(':');
  return colon == std::string::npos ? 0.0 : std::strtod(eval_text.c_str() + colon + 1, nullptr);
}

std::vector<float> Booster::predict(const DMatrix& m, int type, int iteration_end, std::vector<std::size_t>* shape) const {
  const nlohmann::json config = {{"type", type},
                                 {"training", false},
                                 {"iteration_begin", 0},
                                 {"iteration_end", iteration_end},
                                 {"strict_shape", true}};
  const bst_ulong* out_shape = nullptr;
  bst_ulong dim = 0;
  const float* out = nullptr;
  check(XGBoosterPredictFromDMatrix(handle_, m.handle(), config.dump().c_str(), &out_shape, &dim, &out), "prediction");
  std::size_t n = 1;
  if (shape) shape->clear();
  for (bst_ulong i = 0; i < dim; ++i) {
    n *= out_shape[i];
    if (shape) shape->push_back(out_shape[i]);
  }
  return std::vector<float>(out, out + n);
}

Booster Booster::slice(int end_round) const {
  Booster b;
  check(XGBoosterSlice(handle_, 0, end_round, 1, &b.handle_), "slicing the model");
  return b;
}

int Booster::rounds() const {
  int n = 0;
  check(XGBoosterBoostedRounds(handle_, &n), "counting rounds");
  return n;
}

Booster::Shape Booster::shape() const {
  bst_ulong len = 0;
  const char* text = nullptr;
  check(XGBoosterSaveJsonConfig(handle_, &len, &text), "reading the model's parameters");
  const auto config = nlohmann::json::parse(std::string(text, len), nullptr, false);
  try {
    const auto& p = config.at("learner").at("learner_model_param");
    return {std::stoul(p.at("num_class").get<std::string>()), std::stoul(p.at("num_feature").get<std::string>())};
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("XGBoost model parameters without num_class or num_feature: ") + e.what());
  }
}

std::vector<std::pair<std::string, float>> Booster::feature_scores(const std::string& importance_type) const {
  const nlohmann::json config = {{"importance_type", importance_type}};
  bst_ulong n = 0, dim = 0;
  const char** names = nullptr;
  const bst_ulong* shape = nullptr;
  const float* scores = nullptr;
  check(XGBoosterFeatureScore(handle_, config.dump().c_str(), &n, &names, &dim, &shape, &scores), "feature importance");
  std::vector<std::pair<std::string, float>> out;
  for (bst_ulong i = 0; i < n; ++i) out.emplace_back(names[i], scores[i]);
  return out;
}

void Booster::save(const std::filesystem::path& file) const {
  check(XGBoosterSaveModel(handle_, file.c_str()), ("saving " + file.string()).c_str());
}

Booster Booster::load(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  const std::string text{std::istreambuf_iterator<char>(in), {}};
  if (!in && !in.eof()) throw std::runtime_error(file.string() + ": cannot be read");
  const nlohmann::json model = nlohmann::json::parse(text, nullptr, false);
  if (model.is_discarded()) throw std::runtime_error(file.string() + ": not an XGBoost JSON model (damaged or crafted model file)");
  require_model_well_formed(model, file.string());  // XGBoost trusts the trees' links
  Booster b;
  check(XGBoosterCreate(nullptr, 0, &b.handle_), "creating a booster");
  check(XGBoosterLoadModelFromBuffer(b.handle_, text.data(), bst_ulong(text.size())), ("loading " + file.string()).c_str());
  return b;
}

std::vector<std::pair<std::string, std::string>> device_params(bool cuda, const XgbInfo& info) {
  if (info.major >= 2) return {{"device", cuda ? "cuda" : "cpu"}, {"tree_method", "hist"}};
  if (cuda) return {{"tree_method", "gpu_hist"}, {"predictor", "gpu_predictor"}};
  return {{"tree_method", "hist"}};
}

}  // namespace hemolens::model
