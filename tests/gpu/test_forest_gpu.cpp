// CPU and GPU isolation-forest scores agree (ctest label gpu). Built only when CUDA is
// enabled; skips with the reason when this machine has no usable GPU.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "hemolens/backend.hpp"
#include "model/isolation_forest.hpp"

using namespace hemolens;
using namespace hemolens::model;

TEST(ForestGpu, ScoresMatchTheCpu) {
  const CudaStatus status = cuda_status();
  if (!status.compiled || status.devices == 0) GTEST_SKIP() << "no GPU to test on: " << status.message;
  std::mt19937 rng(29);
  std::normal_distribution<float> g(0.0f, 1.0f);
  const std::size_t rows = 5000, cols = 237;  // the width of a real feature row
  std::vector<float> x(rows * cols);
  for (auto& v : x) v = g(rng);
  for (std::size_t i = 0; i < rows; i += 97) x[i * cols + 5] = std::nanf("");  // NaN goes right on both
  for (const ForestParams p : {ForestParams{200, 256, 42}, ForestParams{37, 16, 1}, ForestParams{1, 2, 3}}) {
    const IsolationForest f = fit_forest(x.data(), rows, cols, p);
    const std::vector<float> cpu = score_cpu(f, x.data(), rows, cols);
    const std::vector<float> gpu = score_cuda(f, x.data(), rows, cols);
    ASSERT_EQ(gpu.size(), rows);
    for (std::size_t i = 0; i < rows; ++i) ASSERT_NEAR(cpu[i], gpu[i], 1e-6f) << "row " << i << ", " << p.trees << " trees";
    std::string used;
    score_forest(f, x.data(), 3, cols, "auto", &used);
    EXPECT_EQ(used, "cuda");
  }
  EXPECT_TRUE(score_cuda(fit_forest(x.data(), rows, cols, ForestParams{}), x.data(), 0, cols).empty());
}
