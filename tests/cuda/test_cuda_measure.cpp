// Parity of the host execution of cuda/'s measuring kernels with the CPU reference (src/cpu,
// src/features), in process: segmentation preprocessing over sample images and crops of odd
// and degenerate sizes, colour histograms and textures of segmented sample images, feature
// rows and isolation-forest scores. Integers must be equal; rows and scores are compared
// within the tolerances the GPU check documents (tests/gpu/gpu_checks.cpp).
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <random>

#include "batch_support.hpp"
#include "cpu/cpu_backend.hpp"
#include "cpu/measure.hpp"
#include "feature_rows.hpp"
#include "features/feature_row.hpp"
#include "forest_score.hpp"
#include "gpu/cases.hpp"
#include "gpu/reference_chains.hpp"
#include "hemolens/decode.hpp"
#include "hemolens/schema.hpp"
#include "histograms.hpp"
#include "model/isolation_forest.hpp"
#include "preprocess.hpp"
#include "support.hpp"
#include "textures.hpp"

using namespace hemolens;
using namespace hemolens::test;

namespace {

const cuda::Path kPaths[] = {cuda::Path::kFast, cuda::Path::kPortable};

// Sample images and crops of odd sizes, down to 1 x 1, one pixel wide and one row high.
ImageBatch preprocess_batch() {
  ImageBatch batch;
  const auto files = sample_jpegs();
  for (std::size_t k = 0; k < files.size() && batch.size() < 5; k += 13) {
    const DecodeResult d = decode_file(files[k], {});
    batch.add(d.image->rgb.data(), d.image->height, d.image->width, k);
    if (batch.size() == 1)
      for (const auto& [h, w] : std::vector<std::pair<int, int>>{{33, 47}, {1, 1}, {2, 3}, {5, 4}, {1, 40}, {40, 1}})
        gpu_fixture::add_crop(batch, batch.view(0), 100, 90, h, w, k);
  }
  return batch;
}

template <class T>
std::vector<T> part(const std::vector<T>& v, std::size_t at, std::size_t n) {
  return std::vector<T>(v.begin() + std::ptrdiff_t(at), v.begin() + std::ptrdiff_t(at + n));
}

}  // namespace

TEST(CudaHostPreprocess, BalanceFiltersAndHistogramsEqualTheCpu) {
  const ImageBatch batch = preprocess_batch();
  for (const cuda::Path path : kPaths) {
    cuda::Preprocessed out;
    std::string error;
    ASSERT_TRUE(cuda::preprocess({batch.pixels.data(), batch.offsets.data(), batch.heights.data(), batch.widths.data(), batch.size()}, 0.25,
                                 224, out, &error, path))
        << error;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      SCOPED_TRACE("image " + std::to_string(i) + " of " + std::to_string(batch.heights[i]) + " x " + std::to_string(batch.widths[i]));
      const gpu_fixture::PreprocessReference e = gpu_fixture::preprocess_reference(batch.view(i), 0.25, 224);
      const cpu::BalancedRgb& rgb = e.rgb;
      const std::size_t at = batch.offsets[i] / 3, n = batch.view(i).pixels();
      EXPECT_EQ(part(out.r, at, n), rgb.r.data);
      EXPECT_EQ(part(out.g, at, n), rgb.g.data);
      EXPECT_EQ(part(out.b, at, n), rgb.b.data);
      EXPECT_EQ(part(out.stain, at, n), e.stain.data);
      EXPECT_EQ(part(out.green, at, n), e.green.data);
      EXPECT_EQ(part(out.background, 3 * i, 3), std::vector<std::int32_t>(rgb.background.begin(), rgb.background.end()));
      EXPECT_EQ(part(out.stain_hist, 256 * i, 256), std::vector<std::uint32_t>(e.stain_hist, e.stain_hist + 256));
      EXPECT_EQ(part(out.green_hist, 256 * i, 256), std::vector<std::uint32_t>(e.green_hist, e.green_hist + 256));
    }
  }
}

TEST(CudaHostPreprocess, AnOffsetThatSplitsAPixelIsRefused) {
  const std::vector<std::uint8_t> rgb(30, 200);
  const std::size_t offsets[] = {0, 4};
  const int h[] = {1, 1}, w[] = {1, 1};
  cuda::Preprocessed out;
  std::string error;
  EXPECT_FALSE(cuda::preprocess({rgb.data(), offsets, h, w, 2}, 0.25, 224, out, &error));
  EXPECT_NE(error.find("image 1 starts at a byte offset that is not a multiple of 3"), std::string::npos) << error;
}

TEST(CudaHostHistograms, ColourHistogramsPerRegionEqualTheCpu) {
  std::vector<cpu::Segmentation> segs = sample_segmentations(5);
  segs.push_back(segs.front());
  segs.back().cell = Plane8(segs.back().cell.height, segs.back().cell.width, 0);  // no cell: background only
  segs.back().nucleus = segs.back().cell;
  std::vector<Plane8> r, g, b, cell, nucleus, background;
  for (const auto& s : segs) {
    r.push_back(s.rgb.r), g.push_back(s.rgb.g), b.push_back(s.rgb.b);
    cell.push_back(s.cell), nucleus.push_back(s.nucleus), background.push_back(s.background);
  }
  const Packed p = pack(r);
  const auto pg = pack_like(p, g), pb = pack_like(p, b), pc = pack_like(p, cell), pn = pack_like(p, nucleus), pbg = pack_like(p, background);
  for (const cuda::Path path : kPaths) {
    std::vector<std::uint32_t> out;
    std::string error;
    ASSERT_TRUE(cuda::colour_histograms(p.view(), {p.data.data(), pg.data(), pb.data(), pc.data(), pn.data(), pbg.data()}, out, &error, path))
        << error;
    constexpr std::size_t kPerImage = features::kRegions * features::kChannels * 256;
    for (std::size_t i = 0; i < segs.size(); ++i) {
      auto acc = std::make_unique<features::ImageAccumulators>();
      cpu::colour_histograms(segs[i], *acc);
      const std::uint32_t* h = &acc->hist[0][0][0];
      EXPECT_EQ(part(out, kPerImage * i, kPerImage), std::vector<std::uint32_t>(h, h + kPerImage)) << "image " << i;
    }
  }
}

TEST(CudaHostTextures, GlcmAndLbpCountsEqualTheCpu) {
  std::vector<cpu::Segmentation> segs = sample_segmentations(5);
  std::vector<Plane8> g, cell, nucleus;
  for (const auto& s : segs) g.push_back(s.rgb.g), cell.push_back(s.cell), nucleus.push_back(s.nucleus);
  g.push_back(Plane8(40, 30, 128)), cell.push_back(Plane8(40, 30, 0)), nucleus.push_back(Plane8(40, 30, 0));  // no cell
  g.push_back(Plane8(3, 3, 77)), cell.push_back(Plane8(3, 3, 1)), nucleus.push_back(Plane8(3, 3, 0));         // too small for LBP
  const Packed p = pack(g);
  const auto pc = pack_like(p, cell), pn = pack_like(p, nucleus);
  for (const cuda::Path path : kPaths) {
    cuda::TextureCounts out;
    std::string error;
    ASSERT_TRUE(cuda::texture_counts(p.view(), p.data.data(), pc.data(), pn.data(), out, &error, path)) << error;
    for (std::size_t i = 0; i < g.size(); ++i) {
      auto acc = std::make_unique<features::ImageAccumulators>();
      cpu::accumulate_textures(g[i], cell[i], nucleus[i], cpu::mask_box(cell[i]), *acc);
      const std::uint32_t* glcm = &acc->glcm[0][0][0];
      const std::size_t n_glcm = sizeof acc->glcm / sizeof(std::uint32_t), n_lbp = sizeof acc->lbp / sizeof(std::uint32_t);
      EXPECT_EQ(part(out.glcm, n_glcm * i, n_glcm), std::vector<std::uint32_t>(glcm, glcm + n_glcm)) << "image " << i;
      EXPECT_EQ(part(out.lbp, n_lbp * i, n_lbp), std::vector<std::uint32_t>(&acc->lbp[0][0], &acc->lbp[0][0] + n_lbp)) << "image " << i;
      EXPECT_EQ(part(out.lbp2, n_lbp * i, n_lbp), std::vector<std::uint32_t>(&acc->lbp2[0][0], &acc->lbp2[0][0] + n_lbp)) << "image " << i;
    }
  }
}

TEST(CudaHostRows, FeatureRowsEqualTheSharedFormulasOnTheCpu) {
  std::vector<features::ImageAccumulators> acc;
  const std::size_t cols = feature_schema().features.size();
  const auto files = sample_jpegs();
  std::vector<float> row(cols);
  for (std::size_t k = 0; k < files.size() && acc.size() < 6; k += 12) {
    const DecodeResult d = decode_file(files[k], {});
    acc.emplace_back();
    cpu::extract_image({d.image->rgb.data(), d.image->height, d.image->width}, {}, acc.back(), row.data());
  }
  acc.emplace_back();  // nothing found
  acc.emplace_back(acc.front());
  acc.back().shape[features::kNucleus] = {};  // a cell without nucleus
  std::vector<float> got(acc.size() * cols), expected(acc.size() * cols);
  for (std::size_t i = 0; i < acc.size(); ++i) features::compute_row(acc[i], &expected[i * cols]);
  std::string error;
  ASSERT_EQ(cuda::compute_rows(acc.data(), acc.size(), got.data(), cols, &error), int(cols)) << error;
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(expected[i])) {
      EXPECT_TRUE(std::isnan(got[i])) << "value " << i;
      continue;
    }
    EXPECT_LE(std::fabs(double(got[i]) - expected[i]), 1e-5 * std::max(1.0, std::fabs(double(expected[i])))) << "value " << i;
  }
}

TEST(CudaHostForest, ScoresEqualTheCpuOnBothPaths) {
  std::mt19937 rng(5);
  std::normal_distribution<float> n(0.0f, 1.0f);
  const std::size_t rows = 700, cols = 12;
  std::vector<float> x(rows * cols);
  for (auto& v : x) v = n(rng);
  for (std::size_t i = 0; i < rows; i += 41) x[i * cols + 3] = std::nanf("");
  const model::IsolationForest f = model::fit_forest(x.data(), rows, cols, model::ForestParams{});
  const std::vector<float> cpu = model::score_cpu(f, x.data(), rows, cols, 1);
  const std::vector<float> adjustment = f.leaf_adjustments();
  const cuda::ForestArrays a{f.roots.data(), f.trees(),  f.feature.data(), f.threshold.data(),   f.left.data(), f.right.data(),
                             adjustment.data(), f.nodes(), f.max_depth,      model::average_path_length(f.sample_size)};
  for (const cuda::Path path : kPaths) {
    std::vector<float> got(rows);
    std::string error;
    ASSERT_TRUE(cuda::score_forest(a, x.data(), rows, cols, got.data(), &error, path)) << error;
    for (std::size_t i = 0; i < rows; ++i) ASSERT_NEAR(got[i], cpu[i], 1e-6f) << "row " << i;
  }
}
