// Google Benchmark: each CPU kernel and each stage on a real 360x363 sample image.
// Bytes processed are declared so that the report gives bandwidth, not only time.
#include <benchmark/benchmark.h>
#include <turbojpeg.h>  // for the cost of a decoder handle

#include <fstream>
#include <iterator>
#include <opencv2/core.hpp>     // for the OpenCV side of the side-by-side kernels
#include <opencv2/imgproc.hpp>

#include "cpu/color.hpp"
#include "cpu/components.hpp"
#include "cpu/cpu_backend.hpp"
#include "cpu/filters.hpp"
#include "cpu/measure.hpp"
#include "cpu/morphology.hpp"
#include "cpu/segment.hpp"
#include "features/feature_row.hpp"
#include "hemolens/decode.hpp"
#include "hemolens/schema.hpp"
#include "pipeline/process_tuning.hpp"

namespace {

using namespace hemolens;

const std::string kImage = std::string(HEMOLENS_SOURCE_DIR) + "/data/sample/neutrophil/BNE_101234.jpg";

std::vector<std::uint8_t> file_bytes() {
  std::ifstream in(kImage, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

const DecodedImage& image() {
  static const DecodedImage img = *decode_bytes(file_bytes(), {}).image;
  return img;
}
RgbView view() { return {image().rgb.data(), image().height, image().width}; }
const cpu::Segmentation& segmentation() {
  static const cpu::Segmentation s = cpu::segment(view(), {});
  return s;
}
void set_bytes(benchmark::State& st, std::size_t bytes_per_iter) { st.SetBytesProcessed(std::int64_t(st.iterations() * bytes_per_iter)); }

void BM_Decode(benchmark::State& st) {
  const auto bytes = file_bytes();
  for (auto _ : st) benchmark::DoNotOptimize(decode_bytes(bytes, {}));
  set_bytes(st, view().pixels() * 3);
}
// What a fresh TurboJPEG handle per image costs (src/io/decode.cpp makes one per image, so
// that no decoder state outlives a bad file): compare with BM_Decode.
void BM_TurboJpegHandle(benchmark::State& st) {
  for (auto _ : st) {
    tjhandle h = tjInitDecompress();
    benchmark::DoNotOptimize(h);
    tjDestroy(h);
  }
}
void BM_WhiteBalance(benchmark::State& st) {
  for (auto _ : st) benchmark::DoNotOptimize(cpu::white_balance(view(), 0.25, 224));
  set_bytes(st, view().pixels() * 3);
}
void BM_Gaussian5(benchmark::State& st) {
  Plane8 out;
  for (auto _ : st) cpu::gaussian_blur(segmentation().rgb.g, out, 5);
  set_bytes(st, view().pixels());
}
void BM_Median3(benchmark::State& st) {
  Plane8 out;
  for (auto _ : st) cpu::median_blur(segmentation().rgb.g, out, 3);
  set_bytes(st, view().pixels());
}
void BM_Open(benchmark::State& st) {
  Plane8 out;
  for (auto _ : st) cpu::open(segmentation().cell, out, int(st.range(0)));
  set_bytes(st, view().pixels());
}
void BM_Label8(benchmark::State& st) {
  Plane32 labels;
  for (auto _ : st) benchmark::DoNotOptimize(cpu::label_components(segmentation().background, 8, labels));
  set_bytes(st, view().pixels());
}
void BM_FillHoles(benchmark::State& st) {
  Plane8 out;
  for (auto _ : st) cpu::fill_holes(segmentation().cell, out);
  set_bytes(st, view().pixels());
}
// The same kernels from OpenCV 4.6 (Debian), on the same plane, single-threaded (main sets
// cv::setNumThreads(0)): a hand-written kernel stays only where it beats these.
cv::Mat mat(const Plane8& p) { return cv::Mat(p.height, p.width, CV_8UC1, const_cast<std::uint8_t*>(p.data.data())); }
void BM_OpenCvGaussian5(benchmark::State& st) {
  cv::Mat out;
  for (auto _ : st) cv::GaussianBlur(mat(segmentation().rgb.g), out, cv::Size(5, 5), 0, 0, cv::BORDER_REFLECT_101);
  set_bytes(st, view().pixels());
}
void BM_OpenCvMedian3(benchmark::State& st) {
  cv::Mat out;
  for (auto _ : st) cv::medianBlur(mat(segmentation().rgb.g), out, 3);
  set_bytes(st, view().pixels());
}
void BM_OpenCvOpen(benchmark::State& st) {
  const int r = int(st.range(0));
  const cv::Mat k = cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(2 * r + 1, 2 * r + 1));
  cv::Mat out;
  for (auto _ : st) cv::morphologyEx(mat(segmentation().cell), out, cv::MORPH_OPEN, k);
  set_bytes(st, view().pixels());
}
void BM_OpenCvLabel8(benchmark::State& st) {
  cv::Mat labels, stats, centroids;
  for (auto _ : st) benchmark::DoNotOptimize(cv::connectedComponentsWithStats(mat(segmentation().background), labels, stats, centroids, 8));
  set_bytes(st, view().pixels());
}
void BM_Segment(benchmark::State& st) {
  for (auto _ : st) benchmark::DoNotOptimize(cpu::segment(view(), {}));
  set_bytes(st, view().pixels() * 3);
}
void BM_Measure(benchmark::State& st) {
  auto acc = std::make_unique<features::ImageAccumulators>();
  for (auto _ : st) cpu::measure(segmentation(), *acc);
  set_bytes(st, view().pixels() * 3);
}
void BM_Formulas(benchmark::State& st) {
  auto acc = std::make_unique<features::ImageAccumulators>();
  cpu::measure(segmentation(), *acc);
  std::vector<float> row(feature_schema().features.size());
  for (auto _ : st) benchmark::DoNotOptimize(features::compute_row(*acc, row.data()));
}
void BM_ExtractImage(benchmark::State& st) {
  auto acc = std::make_unique<features::ImageAccumulators>();
  std::vector<float> row(feature_schema().features.size());
  for (auto _ : st) benchmark::DoNotOptimize(cpu::extract_image(view(), {}, *acc, row.data()));
  set_bytes(st, view().pixels() * 3);
  st.SetItemsProcessed(std::int64_t(st.iterations()));
}

BENCHMARK(BM_Decode)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_TurboJpegHandle)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_WhiteBalance)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Gaussian5)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Median3)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Open)->Arg(2)->Arg(6)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Label8)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_FillHoles)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_OpenCvGaussian5)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_OpenCvMedian3)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_OpenCvOpen)->Arg(2)->Arg(6)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_OpenCvLabel8)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Segment)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Measure)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Formulas)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ExtractImage)->Unit(benchmark::kMicrosecond);

}  // namespace

int main(int argc, char** argv) {
  hemolens::keep_freed_memory();  // as the hemolens executable does
  cv::setNumThreads(0);           // OpenCV's kernels on this thread only, as ours
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
