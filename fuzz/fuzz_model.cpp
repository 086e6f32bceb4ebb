// libFuzzer target: any bytes as a model file of a bundle, its hashes made again as a crafted
// bundle would have them. Bytes that start as an SVM file ("HLSVM001") go through Svm::load
// with the classes and features its header claims, then a prediction of one row; any other
// bytes are an XGBoost model.json, through Booster::load and then a prediction and a SHAP
// explanation of one row, as predict and explain do. Each must load and predict, or give a
// std::runtime_error naming the file; never crash, hang or read outside what was allocated.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "input_file.hpp"
#include "model/svm.hpp"
#include "model/xgboost.hpp"

namespace {

void svm_file(const std::uint8_t* data, std::size_t size) {
  const std::filesystem::path input = write_input_file(data, size, "svm.bin");
  std::uint32_t head[2] = {0, 0};  // classes, features
  if (size >= 16) std::memcpy(head, data + 8, sizeof head);
  if (head[1] > 4096) return;  // a row that wide says nothing more
  try {
    const hemolens::model::Svm s = hemolens::model::Svm::load(input, head[0], head[1]);
    std::vector<float> row(head[1], 0.5f);
    if (!row.empty()) row[0] = std::nanf("");
    s.predict_proba(row.data(), 1, 1);
  } catch (const std::runtime_error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size >= 8 && std::memcmp(data, "HLSVM001", 8) == 0) {
    svm_file(data, size);
    return 0;
  }
  const std::filesystem::path input = write_input_file(data, size, "model.json");
  using namespace hemolens::model;
  try {
    const Booster b = Booster::load(input);
    const Booster::Shape shape = b.shape();
    if (shape.features == 0 || shape.features > 4096) return 0;  // a row that wide says nothing more
    std::vector<float> row(shape.features, 0.5f);
    row[0] = std::nanf("");  // a missing value takes the default branches
    const DMatrix m(row.data(), 1, row.size(), 1);
    b.predict(m, 0, 0, nullptr);
    b.predict(m, 2, 0, nullptr);
  } catch (const std::runtime_error&) {
    // refused with a message: what the target expects of bad input
  }
  return 0;
}
