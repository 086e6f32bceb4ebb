// The engine's device choice for isolation-forest scoring (ctest label gpu): with a GPU,
// "auto" scores on it and gives the CPU's scores. The parity over real forests and feature
// rows is tests/gpu/gpu_checks.cpp. Skips with the reason when this machine has no GPU.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "hemolens/backend.hpp"
#include "model/isolation_forest.hpp"

using namespace hemolens;
using namespace hemolens::model;

TEST(ForestGpu, AutoScoresOnTheGpuWhenThereIsOne) {
  const CudaStatus status = cuda_status();
  if (!status.compiled || status.devices == 0) GTEST_SKIP() << "no GPU to test on: " << status.message;
  std::mt19937 rng(29);
  std::normal_distribution<float> g(0.0f, 1.0f);
  const std::size_t rows = 1000, cols = 24;
  std::vector<float> x(rows * cols);
  for (auto& v : x) v = g(rng);
  const IsolationForest f = fit_forest(x.data(), rows, cols, ForestParams{});
  std::string used;
  const std::vector<float> gpu = score_forest(f, x.data(), rows, cols, "auto", &used);
  EXPECT_EQ(used, "cuda");
  const std::vector<float> cpu = score_cpu(f, x.data(), rows, cols);
  for (std::size_t i = 0; i < rows; ++i) ASSERT_NEAR(cpu[i], gpu[i], 1e-6f) << "row " << i;
  EXPECT_TRUE(score_cuda(f, x.data(), 0, cols).empty());
}
