// Bad and unusual inputs: every unusable file is skipped with a reason, nothing crashes,
// and odd but valid images (grayscale, RGBA, TIFF, BMP, odd sizes) are accepted.
#include <gtest/gtest.h>

#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "hemolens/dataset.hpp"
#include "hemolens/decode.hpp"
#include "hemolens/store.hpp"
#include "pipeline/extract.hpp"
#include "support.hpp"

namespace fs = std::filesystem;
using namespace hemolens;

namespace {

fs::path a_real_image() { return test::sample_dir() / "lymphocyte" / "LY_102859.jpg"; }

std::vector<char> read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void write_bytes(const fs::path& p, const std::vector<char>& bytes) {
  std::ofstream out(p, std::ios::binary);
  out.write(bytes.data(), std::streamsize(bytes.size()));
}

// A dataset with one class folder holding every kind of bad and odd input.
struct BadDataset {
  test::TempDir dir{"bad-input"};
  fs::path cls;
  BadDataset() {
    cls = dir.path / "cells";
    fs::create_directories(cls);
    const cv::Mat bgr = cv::imread(a_real_image().string(), cv::IMREAD_COLOR);
    fs::copy_file(a_real_image(), cls / "good.jpg");
    write_bytes(cls / "empty.jpg", {});
    write_bytes(cls / "text.jpg", {'h', 'e', 'l', 'l', 'o'});
    const auto jpeg = read_all(a_real_image());
    write_bytes(cls / "truncated.jpg", std::vector<char>(jpeg.begin(), jpeg.begin() + std::ptrdiff_t(jpeg.size() / 2)));
    fs::create_directories(cls / "folder.jpg");
    fs::copy_file(test::source_dir() / "tests" / "data" / "bad" / ".DS_169665.jpg", cls / ".DS_169665.jpg");
    cv::imwrite((cls / "tiny.png").string(), cv::Mat(8, 8, CV_8UC3, cv::Scalar(200, 200, 200)));
    cv::Mat grey, rgba;
    cv::cvtColor(bgr, grey, cv::COLOR_BGR2GRAY);
    cv::cvtColor(bgr, rgba, cv::COLOR_BGR2BGRA);
    cv::imwrite((cls / "grey.png").string(), grey);
    cv::imwrite((cls / "rgba.png").string(), rgba);
    cv::imwrite((cls / "copy.tif").string(), bgr);
    cv::imwrite((cls / "copy.bmp").string(), bgr);
    cv::imwrite((cls / "huge.png").string(), cv::Mat(2000, 2000, CV_8UC3, cv::Scalar(230, 220, 240)));
    write_bytes(cls / "stray.dat", {'x'});  // README-like .txt/.md files are ignored, not skipped
  }
};

const SkippedImage* find_skipped(const std::vector<SkippedImage>& s, const std::string& name) {
  for (const auto& k : s)
    if (fs::path(k.path).filename() == name) return &k;
  return nullptr;
}

}  // namespace

TEST(Ingest, EveryBadFileIsSkippedWithItsReason) {
  BadDataset ds;
  ExtractOptions opt;
  opt.input = ds.dir.path;
  opt.output = ds.dir.path / "out.h5";
  opt.backend = BackendKind::kCpu;
  opt.limits.max_pixels = 1'000'000;  // huge.png (4 Mpx) must be refused
  const ExtractSummary sum = run_extract(opt);

  const std::vector<std::pair<std::string, std::string>> expected = {
      {"empty.jpg", "empty file"},         {"text.jpg", "not an image"},        {"truncated.jpg", "truncated"},
      {"folder.jpg", "directory"},         {".DS_169665.jpg", "not an image"},  {"tiny.png", "too small"},
      {"huge.png", "too large"},           {"stray.dat", "not an image file"}};
  for (const auto& [name, reason] : expected) {
    const SkippedImage* k = find_skipped(sum.skipped, name);
    ASSERT_NE(k, nullptr) << name << " was not listed as skipped";
    EXPECT_NE(k->reason.find(reason), std::string::npos) << name << ": " << k->reason;
  }
  EXPECT_EQ(sum.skipped.size(), expected.size());
  EXPECT_EQ(sum.images, 5u);  // good, grey, rgba, tif, bmp

  const StoreData store = read_store(opt.output);
  EXPECT_EQ(store.rows, 5u);
  EXPECT_EQ(store.skipped.size(), expected.size());
  for (const auto& r : store.images) {
    EXPECT_EQ(r.height, 363);
    EXPECT_EQ(r.width, 360);
  }
}

TEST(Ingest, GreyRgbaTiffAndBmpDecodeToTheSameSizeAsTheJpeg) {
  BadDataset ds;
  for (const char* name : {"grey.png", "rgba.png", "copy.tif", "copy.bmp"}) {
    const DecodeResult r = decode_file(ds.cls / name, {});
    ASSERT_TRUE(r.image) << name << ": " << r.reason;
    EXPECT_EQ(r.image->height, 363);
    EXPECT_EQ(r.image->width, 360);
    EXPECT_EQ(r.image->rgb.size(), 363u * 360u * 3u);
  }
  // Lossless formats hold the JPEG's decoded pixels exactly (RGB order).
  const DecodeResult jpg = decode_file(ds.cls / "good.jpg", {});
  const DecodeResult bmp = decode_file(ds.cls / "copy.bmp", {});
  ASSERT_TRUE(jpg.image && bmp.image);
  EXPECT_EQ(jpg.image->rgb, bmp.image->rgb);
}

TEST(Ingest, JpegDecodeMatchesOpenCv) {
  const DecodeResult r = decode_file(a_real_image(), {});
  ASSERT_TRUE(r.image);
  cv::Mat bgr = cv::imread(a_real_image().string(), cv::IMREAD_COLOR), rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  ASSERT_EQ(rgb.total() * 3, r.image->rgb.size());
  EXPECT_TRUE(std::equal(r.image->rgb.begin(), r.image->rgb.end(), rgb.data));
}

TEST(Ingest, ContentIdIsStableAndDependsOnTheBytes) {
  const DecodeResult a = decode_file(a_real_image(), {});
  const DecodeResult b = decode_file(a_real_image(), {});
  ASSERT_TRUE(a.image && b.image);
  EXPECT_EQ(a.image->id, b.image->id);
  EXPECT_EQ(a.image->id.size(), 16u);
  const DecodeResult c = decode_file(test::sample_dir() / "platelet" / "PLATELET_10233.jpg", {});
  ASSERT_TRUE(c.image);
  EXPECT_NE(a.image->id, c.image->id);
}

TEST(Ingest, LargeImagesWithinTheLimitAreProcessed) {
  test::TempDir dir("large");
  fs::create_directories(dir.path / "cells");
  // A real cell pasted in the middle of a 4000x4000 background.
  cv::Mat big(4000, 4000, CV_8UC3, cv::Scalar(225, 222, 226));
  const cv::Mat cell = cv::imread(a_real_image().string(), cv::IMREAD_COLOR);
  cell.copyTo(big(cv::Rect(1800, 1800, cell.cols, cell.rows)));
  cv::imwrite((dir.path / "cells" / "big.png").string(), big);
  ExtractOptions opt;
  opt.input = dir.path;
  opt.output = dir.path / "big.h5";
  opt.backend = BackendKind::kCpu;
  const ExtractSummary sum = run_extract(opt);
  EXPECT_EQ(sum.images, 1u);
  EXPECT_TRUE(sum.skipped.empty());
}

TEST(Ingest, ManifestListsPathsAndLabels) {
  test::TempDir dir("manifest");
  fs::copy_file(a_real_image(), dir.path / "a.jpg");
  fs::copy_file(test::sample_dir() / "platelet" / "PLATELET_10233.jpg", dir.path / "b.jpg");
  std::ofstream(dir.path / "list.csv") << "path,label\nb.jpg,platelet\na.jpg,lymphocyte\nmissing.jpg,platelet\nc.jpg,\n";
  fs::copy_file(a_real_image(), dir.path / "c.jpg");
  const Dataset ds = scan_dataset(dir.path / "list.csv");
  ASSERT_EQ(ds.entries.size(), 3u);
  EXPECT_EQ(ds.classes, (std::vector<std::string>{"lymphocyte", "platelet"}));
  EXPECT_EQ(ds.entries[0].rel_path, "a.jpg");
  EXPECT_EQ(ds.entries[0].label, 0);
  EXPECT_EQ(ds.entries[1].label, 1);
  EXPECT_EQ(ds.entries[2].label, -1);
  ASSERT_EQ(ds.skipped.size(), 1u);
  EXPECT_EQ(ds.skipped[0].reason, "file not found");
}

TEST(Ingest, BadManifestAndMissingDatasetAreClearErrors) {
  test::TempDir dir("bad-manifest");
  std::ofstream(dir.path / "list.csv") << "file,class\nx.jpg,a\n";
  EXPECT_THROW(
      {
        try {
          scan_dataset(dir.path / "list.csv");
        } catch (const std::runtime_error& e) {
          EXPECT_NE(std::string(e.what()).find("path,label"), std::string::npos);
          throw;
        }
      },
      std::runtime_error);
  EXPECT_THROW(scan_dataset(dir.path / "nowhere"), std::runtime_error);
}

TEST(Ingest, UnlabelledFolderAndSortedOrder) {
  test::TempDir dir("unlabelled");
  fs::copy_file(a_real_image(), dir.path / "z.jpg");
  fs::copy_file(a_real_image(), dir.path / "a.JPG");
  const Dataset ds = scan_dataset(dir.path);
  ASSERT_EQ(ds.entries.size(), 2u);
  EXPECT_TRUE(ds.classes.empty());
  EXPECT_EQ(ds.entries[0].rel_path, "a.JPG");
  EXPECT_EQ(ds.entries[0].label, -1);
}

// A run directory inside the dataset (run_dir = "runs/x" next to the class folders) made a
// phantom empty class "runs": the model then had a class it never saw.
TEST(Ingest, AFolderWithoutImagesIsNotAClass) {
  test::TempDir dir("phantom");
  for (const char* cls : {"a", "b"}) {
    fs::create_directories(dir.path / cls);
    fs::copy_file(a_real_image(), dir.path / cls / "x.jpg");
  }
  fs::create_directories(dir.path / "runs" / "x" / "shards");
  std::ofstream(dir.path / "runs" / "x" / "run.json") << "{}";
  std::ofstream(dir.path / "runs" / "x" / "shards" / "shard-0000-of-0001.h5") << "h5";
  fs::create_directories(dir.path / "empty");
  const Dataset ds = scan_dataset(dir.path);
  EXPECT_EQ(ds.classes, (std::vector<std::string>{"a", "b"}));
  ASSERT_EQ(ds.entries.size(), 2u);
  EXPECT_EQ(ds.entries[1].label, 1);
  const SkippedImage* runs = find_skipped(ds.skipped, "runs");
  ASSERT_NE(runs, nullptr);
  EXPECT_NE(runs->reason.find("not a class"), std::string::npos) << runs->reason;
  EXPECT_NE(find_skipped(ds.skipped, "empty"), nullptr);
}

TEST(Ingest, ShardsPartitionTheEntries) {
  Dataset full = scan_dataset(test::sample_dir());
  std::vector<std::string> joined;
  for (int i = 0; i < 3; ++i) {
    Dataset part = scan_dataset(test::sample_dir());
    keep_shard(part, parse_shard(std::to_string(i) + "/3"));
    for (const auto& e : part.entries) joined.push_back(e.rel_path);
  }
  ASSERT_EQ(joined.size(), full.entries.size());
  for (std::size_t i = 0; i < joined.size(); ++i) EXPECT_EQ(joined[i], full.entries[i].rel_path);
  EXPECT_THROW(parse_shard("3/3"), std::runtime_error);
  EXPECT_THROW(parse_shard("1-3"), std::runtime_error);
  EXPECT_THROW(parse_shard("a/b"), std::runtime_error);
}
