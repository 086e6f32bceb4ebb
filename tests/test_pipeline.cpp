// The extract pipeline end to end on the bundled real sample: store contents, shard +
// merge equals a single run, thread count does not change results.
#include <gtest/gtest.h>

#include <cmath>

#include "hemolens/schema.hpp"
#include "hemolens/store.hpp"
#include "pipeline/extract.hpp"
#include "support.hpp"

namespace fs = std::filesystem;
using namespace hemolens;

namespace {

StoreData extract_sample(const fs::path& out, int threads, ShardSpec shard = {}) {
  ExtractOptions opt;
  opt.input = test::sample_dir();
  opt.output = out;
  opt.backend = BackendKind::kCpu;
  opt.threads = threads;
  opt.shard = shard;
  opt.batch_size = 7;  // batches that do not divide the sample
  run_extract(opt);
  return read_store(out);
}

void expect_same_rows(const StoreData& a, const StoreData& b) {
  ASSERT_EQ(a.rows, b.rows);
  ASSERT_EQ(a.cols, b.cols);
  EXPECT_EQ(a.features, b.features);  // bit for bit
  for (std::size_t i = 0; i < a.rows; ++i) {
    EXPECT_EQ(a.images[i].id, b.images[i].id);
    EXPECT_EQ(a.images[i].path, b.images[i].path);
    EXPECT_EQ(a.images[i].label, b.images[i].label);
    EXPECT_EQ(a.images[i].flags, b.images[i].flags);
  }
  EXPECT_EQ(a.classes, b.classes);
  EXPECT_EQ(a.feature_names, b.feature_names);
}

}  // namespace

TEST(Pipeline, SampleStoreHasEveryImageAndFiniteFeatures) {
  test::TempDir dir("pipeline");
  const StoreData s = extract_sample(dir.path / "sample.h5", 2);
  EXPECT_EQ(s.rows, 68u);
  EXPECT_EQ(s.cols, feature_schema().features.size());
  EXPECT_EQ(s.feature_names, feature_schema().names());
  EXPECT_EQ(s.meta.schema_hash, feature_schema().hash);
  EXPECT_EQ(s.meta.backend, "cpu");
  EXPECT_EQ(s.classes.size(), 8u);
  for (float v : s.features) ASSERT_TRUE(std::isfinite(v));
  for (const auto& r : s.images) {
    ASSERT_GE(r.label, 0);
    EXPECT_EQ(fs::path(r.path).parent_path().string(), s.classes[std::size_t(r.label)]);
  }
  // No temporary file is left beside the store.
  for (const auto& e : fs::directory_iterator(dir.path)) EXPECT_EQ(e.path().filename(), "sample.h5");
}

TEST(Pipeline, ShardsMergedEqualOneRun) {
  test::TempDir dir("shards");
  const StoreData whole = extract_sample(dir.path / "whole.h5", 2);
  std::vector<fs::path> shards;
  for (int i = 2; i >= 0; --i) {  // written out of order on purpose
    shards.push_back(dir.path / ("shard" + std::to_string(i) + ".h5"));
    extract_sample(shards.back(), 1, ShardSpec{i, 3});
  }
  merge_stores(shards, dir.path / "merged.h5");
  const StoreData merged = read_store(dir.path / "merged.h5");
  expect_same_rows(whole, merged);
  EXPECT_EQ(merged.meta.shard_count, 1);
}

TEST(Pipeline, ThreadCountDoesNotChangeResults) {
  test::TempDir dir("threads");
  expect_same_rows(extract_sample(dir.path / "one.h5", 1), extract_sample(dir.path / "two.h5", 2));
}

TEST(Pipeline, CudaBackendWithoutGpuIsAClearError) {
  const CudaStatus cuda = cuda_status();
  if (cuda.compiled && cuda.devices > 0) GTEST_SKIP() << "a GPU is present: " << cuda.message;
  test::TempDir dir("cuda");
  ExtractOptions opt;
  opt.input = test::sample_dir();
  opt.output = dir.path / "x.h5";
  opt.backend = BackendKind::kCuda;
  try {
    run_extract(opt);
    FAIL() << "--backend cuda ran without a GPU";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("cuda"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(opt.output));
  opt.backend = BackendKind::kAuto;  // falls back, and says so
  const ExtractSummary s = run_extract(opt);
  EXPECT_EQ(s.backend, "cpu");
  EXPECT_NE(s.backend_note.find("CPU"), std::string::npos);
}
