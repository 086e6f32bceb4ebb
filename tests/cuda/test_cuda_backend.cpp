// The CUDA backend end to end in the host execution (cuda/backend.hpp, a test build): extract
// through it writes the store the CPU backend writes, for the sample and for a dataset of
// damaged and unusual files between good ones: the same images in the same order, the same
// quality flags and skipped files, and the same feature rows bit for bit (the host execution
// runs the CPU's own formulas; on a GPU the rows agree within the relative 1e-5 of
// docs/design.md). A model trained on the CPU store predicts the same classes on it, and a
// batch too large for the device's memory is split, not failed.
#include <gtest/gtest.h>

#include <algorithm>

#include "backend.hpp"  // cuda::make_backend: the host execution
#include "cpu/cpu_backend.hpp"
#include "features/accumulators.hpp"
#include "hemolens/decode.hpp"
#include "hemolens/quality.hpp"
#include "hemolens/schema.hpp"
#include "hemolens/store.hpp"
#include "lane.hpp"
#include "model/bundle.hpp"
#include "model/predict.hpp"
#include "pipeline/extract.hpp"
#include "support.hpp"

namespace fs = std::filesystem;
using namespace hemolens;
using namespace hemolens::test;

namespace {

cuda::BackendOptions options(std::size_t lane_memory = 0) {
  cuda::BackendOptions o;
  o.parameters_json = cpu::segment_parameters_json(o.segment);
  o.lane_memory = lane_memory;
  return o;
}

// Extracts with the given backend as `hemolens extract` does (2 threads, batches of `batch`).
StoreData extract(const fs::path& input, const fs::path& output, std::unique_ptr<Backend> backend, int batch = 32) {
  ExtractOptions opt;
  opt.input = input;
  opt.output = output;
  opt.threads = 2;
  opt.batch_size = batch;
  if (backend) run_extract(opt, std::move(backend));
  else run_extract(opt);  // the CPU backend
  return read_store(output);
}

void expect_same_store(const StoreData& cuda, const StoreData& cpu) {
  EXPECT_EQ(cuda.meta.backend, "cuda");
  EXPECT_EQ(cpu.meta.backend, "cpu");
  EXPECT_EQ(cuda.meta.parameters_json, cpu.meta.parameters_json);
  EXPECT_EQ(cuda.meta.schema_hash, cpu.meta.schema_hash);
  EXPECT_EQ(cuda.feature_names, cpu.feature_names);
  EXPECT_EQ(cuda.classes, cpu.classes);
  ASSERT_EQ(cuda.rows, cpu.rows);
  ASSERT_EQ(cuda.cols, cpu.cols);
  for (std::size_t i = 0; i < cpu.rows; ++i) {
    const StoreRow &g = cuda.images[i], &c = cpu.images[i];
    SCOPED_TRACE(c.path);
    EXPECT_EQ(std::tie(g.id, g.path, g.label, g.height, g.width), std::tie(c.id, c.path, c.label, c.height, c.width));
    EXPECT_EQ(g.flags, c.flags) << describe_flags(g.flags) << " | cpu: " << describe_flags(c.flags);
  }
  ASSERT_EQ(cuda.skipped.size(), cpu.skipped.size());
  for (std::size_t k = 0; k < cpu.skipped.size(); ++k)
    EXPECT_EQ(std::tie(cuda.skipped[k].path, cuda.skipped[k].reason), std::tie(cpu.skipped[k].path, cpu.skipped[k].reason));
  std::size_t differ = 0;
  for (std::size_t k = 0; k < cpu.features.size(); ++k)
    if (cuda.features[k] != cpu.features[k] && differ++ < 5)
      ADD_FAILURE() << "image " << k / cpu.cols << " (" << cpu.images[k / cpu.cols].path << ") feature " << cpu.feature_names[k % cpu.cols]
                    << ": cuda " << cuda.features[k] << " cpu " << cpu.features[k];
  EXPECT_EQ(differ, 0u) << "of " << cpu.features.size() << " feature values";
}

// The sample extracted once through the host execution of the CUDA backend.
const StoreData& cuda_sample_store() {
  static TempDir dir("cuda-sample-store");
  static const StoreData store = extract(sample_dir(), dir.path / "sample.h5", cuda::make_backend(options()));
  return store;
}

// `count` sample images spread over the classes, linked into a dataset of their classes.
void link_sample(const fs::path& root, std::size_t count) {
  const auto files = sample_jpegs();
  for (std::size_t k = 0; k < count; ++k) {
    const fs::path& f = files[k * files.size() / count];
    fs::create_directories(root / f.parent_path().filename());
    fs::create_symlink(f, root / f.parent_path().filename() / f.filename());
  }
}

}  // namespace

TEST(CudaHostBackend, TheSampleStoreEqualsTheCpuStore) {
  const StoreData& cuda = cuda_sample_store();
  expect_same_store(cuda, sample_store());
  EXPECT_EQ(cuda.rows, sample_jpegs().size());
  EXPECT_TRUE(std::any_of(cuda.images.begin(), cuda.images.end(), [](const StoreRow& r) { return r.flags != 0; }));
}

TEST(CudaHostBackend, DamagedAndUnusualFilesGiveTheCpuStore) {
  TempDir dir("cuda-bad-inputs");
  const fs::path data = dir.path / "data";
  link_sample(data, 5);
  fs::create_directories(data / "unusual");
  for (const auto& e : fs::directory_iterator(source_dir() / "tests" / "data" / "bad")) {
    if (e.path().filename() == "expected.csv" || e.path().filename() == "README.md") continue;
    if (e.is_directory()) fs::create_directory(data / "unusual" / e.path().filename());
    else fs::copy_file(e.path(), data / "unusual" / e.path().filename());
  }
  const StoreData cpu = extract(data, dir.path / "cpu.h5", nullptr, 4);
  const StoreData cuda = extract(data, dir.path / "cuda.h5", cuda::make_backend(options()), 4);
  expect_same_store(cuda, cpu);
  EXPECT_EQ(cuda.rows, 5u + 3u) << "the sample images, and the greyscale, CMYK and YCCK JPEGs";
  EXPECT_GE(cuda.skipped.size(), 25u);
}

TEST(CudaHostBackend, AModelTrainedOnTheCpuStorePredictsTheSameClasses) {
  const model::ModelBundle bundle = model::load_bundle(sample_bundle());
  const model::Predictions on_cpu = model::predict_store(bundle, sample_store(), "cpu", 2);
  const model::Predictions on_cuda = model::predict_store(bundle, cuda_sample_store(), "cuda", 2);
  EXPECT_EQ(on_cuda.predicted, on_cpu.predicted);
  EXPECT_EQ(on_cuda.proba, on_cpu.proba);
}

TEST(CudaHostBackend, ABatchTooLargeForTheDeviceIsSplitNotFailed) {
  ImageBatch batch;
  const auto files = sample_jpegs();
  for (std::size_t k = 0; k < files.size(); k += 11) {
    const DecodeResult d = decode_file(files[k], {});
    batch.add(d.image->rgb.data(), d.image->height, d.image->width, k);
  }
  ASSERT_EQ(batch.size(), 7u);
  // Room for one image's scratch and a half: the batch is split down to single images.
  cuda::Lane lane;
  std::string error;
  const std::size_t one = lane.scratch_bytes({batch.pixels.data(), batch.offsets.data(), batch.heights.data(), batch.widths.data(), 1}, {}, &error);
  ASSERT_GT(one, 0u) << error;
  FeatureRows split, whole;
  const auto small = cuda::make_backend(options(one * 3 / 2)), large = cuda::make_backend(options());
  small->extract(batch, split);
  large->extract(batch, whole);
  const cuda::BackendCounts s = cuda::backend_counts(*small), w = cuda::backend_counts(*large);
  EXPECT_EQ(s.device_batches, 7u);
  EXPECT_EQ(s.splits, 6u) << "7 -> 3 + 4 -> 1 + 2 + 2 + 2 -> seven single images";
  EXPECT_EQ(s.images, 7u);
  EXPECT_EQ(w.device_batches, 1u);
  EXPECT_EQ(w.splits, 0u);
  EXPECT_EQ(split.values, whole.values);
  EXPECT_EQ(split.flags, whole.flags);
  // And those are the CPU's rows and flags.
  ASSERT_EQ(whole.cols, feature_schema().features.size());
  features::ImageAccumulators acc;
  std::vector<float> row(whole.cols);
  for (std::size_t i = 0; i < batch.size(); ++i) {
    EXPECT_EQ(whole.flags[i], cpu::extract_image(batch.view(i), {}, acc, row.data())) << "image " << i;
    EXPECT_EQ(std::vector<float>(whole.values.begin() + std::ptrdiff_t(i * whole.cols), whole.values.begin() + std::ptrdiff_t((i + 1) * whole.cols)), row)
        << "image " << i;
  }
}
