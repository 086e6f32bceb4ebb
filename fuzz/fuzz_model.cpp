// libFuzzer target: any bytes as an XGBoost model file (a bundle's model.json, its hashes made
// again as a crafted bundle would have them), through Booster::load and then a prediction and
// a SHAP explanation of one row, as predict and explain do. It must load and predict, or give a
// std::runtime_error naming the file; never crash, hang or read outside what XGBoost allocated.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "input_file.hpp"
#include "model/xgboost.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
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
