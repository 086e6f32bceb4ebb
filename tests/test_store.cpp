// The HDF5 feature store: round trips, atomic commit, error messages, merging shards, and
// that h5py reads a store with no custom code.
#include <gtest/gtest.h>
#include <hdf5.h>
#include <unistd.h>  // for getppid: a live process

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "hemolens/atomic_file.hpp"
#include "hemolens/store.hpp"
#include "support.hpp"

namespace hemolens {
namespace {

namespace fs = std::filesystem;
using test::error_of;
using test::TempDir;

// Everything a StoreWriter is given, so a test can write it and compare what comes back.
struct Sample {
  std::vector<std::string> names{"cell_area", "cell_perimeter", "nucleus_mean_r"};
  std::vector<std::string> groups{"shape", "shape", "colour"};
  std::vector<std::string> classes{"basophil", "eosinophil"};
  StoreMeta meta;
  std::vector<StoreRow> rows;
  std::vector<float> features;  // rows x names
  std::vector<SkippedImage> skipped;
};

StoreMeta sample_meta(int shard_index, int shard_count) {
  StoreMeta m;
  m.schema_version = 3;
  m.schema_hash = "0123456789abcdef";
  m.engine_version = "0.1.0";
  m.backend = "cpu";
  m.device = "2 CPU threads";
  m.parameters_json = R"({"batch":64})";
  m.shard_index = shard_index;
  m.shard_count = shard_count;
  m.created = "2026-11-23T16:40:00Z";
  m.dataset = "/data/blood";
  return m;
}

// `n` rows whose ids, paths and values depend on `shard`, so shards are told apart.
Sample make_sample(std::size_t n, int shard = 0, int shard_count = 1) {
  Sample s;
  s.meta = sample_meta(shard, shard_count);
  for (std::size_t i = 0; i < n; ++i) {
    const std::string tag = std::to_string(shard) + "-" + std::to_string(i);
    s.rows.push_back({"id" + tag, "basophil/cellule-é-" + tag + ".jpg", int(i % 3) - 1, 360 + int(i), 363 - int(i),
                      std::uint32_t(i % 16)});
    for (std::size_t c = 0; c < s.names.size(); ++c)
      s.features.push_back(float(shard) * 1000.f + float(i) + 0.25f * float(c));
  }
  s.skipped = {{"bad/" + std::to_string(shard) + ".jpg", "cannot decode"}};
  return s;
}

// Writes `s` in batches of `batch` rows (at least one batch, even when empty).
void write_sample(const fs::path& path, const Sample& s, std::size_t batch) {
  StoreWriter writer(path, s.names, s.groups, s.classes, s.meta);
  const std::size_t cols = s.names.size();
  for (std::size_t start = 0; start < s.rows.size(); start += batch) {
    const std::size_t end = std::min(start + batch, s.rows.size());
    writer.append({s.rows.begin() + long(start), s.rows.begin() + long(end)}, s.features.data() + start * cols);
  }
  writer.add_skipped(s.skipped);
  writer.commit();
}

void write_sample(const fs::path& path, const Sample& s) { write_sample(path, s, s.rows.size() + 1); }

auto meta_fields(const StoreMeta& m) {
  return std::tie(m.schema_version, m.schema_hash, m.engine_version, m.backend, m.device, m.parameters_json,
                  m.shard_index, m.shard_count, m.created, m.dataset);
}

using RowFields = std::tuple<std::string, std::string, int, int, int, std::uint32_t>;
std::vector<RowFields> row_fields(const std::vector<StoreRow>& rows) {
  std::vector<RowFields> out;
  for (const auto& r : rows) out.emplace_back(r.id, r.path, r.label, r.height, r.width, r.flags);
  return out;
}

using SkippedFields = std::pair<std::string, std::string>;
std::vector<SkippedFields> skipped_fields(const std::vector<SkippedImage>& skipped) {
  std::vector<SkippedFields> out;
  for (const auto& s : skipped) out.emplace_back(s.path, s.reason);
  return out;
}

// Compares everything but the metadata, which merging rewrites.
void expect_same_content(const StoreData& got, const Sample& want) {
  EXPECT_EQ(got.feature_names, want.names);
  EXPECT_EQ(got.feature_groups, want.groups);
  EXPECT_EQ(got.classes, want.classes);
  EXPECT_EQ(got.rows, want.rows.size());
  EXPECT_EQ(got.cols, want.names.size());
  EXPECT_EQ(got.features, want.features);
  EXPECT_EQ(row_fields(got.images), row_fields(want.rows));
  EXPECT_EQ(skipped_fields(got.skipped), skipped_fields(want.skipped));
}

Sample concatenate(const std::vector<Sample>& parts) {
  Sample all = parts.front();
  all.rows.clear();
  all.features.clear();
  all.skipped.clear();
  for (const auto& p : parts) {
    all.rows.insert(all.rows.end(), p.rows.begin(), p.rows.end());
    all.features.insert(all.features.end(), p.features.begin(), p.features.end());
    all.skipped.insert(all.skipped.end(), p.skipped.begin(), p.skipped.end());
  }
  return all;
}

// Shards 0..count-1 of one run, written to dir/shard-I.h5; returns the paths by index.
std::vector<fs::path> write_shards(const fs::path& dir, int count, std::vector<Sample>* samples = nullptr) {
  std::vector<fs::path> paths;
  for (int i = 0; i < count; ++i) {
    Sample s = make_sample(std::size_t(3 + i), i, count);
    paths.push_back(dir / ("shard-" + std::to_string(i) + ".h5"));
    write_sample(paths.back(), s);
    if (samples) samples->push_back(s);
  }
  return paths;
}

TEST(Store, RoundTripKeepsEverything) {
  TempDir dir("store");
  const Sample s = make_sample(5);
  write_sample(dir.path / "run.h5", s);
  const StoreData got = read_store(dir.path / "run.h5");
  expect_same_content(got, s);
  EXPECT_EQ(meta_fields(got.meta), meta_fields(s.meta));
}

TEST(Store, TheSameRowsWrittenTwiceGiveTheSameBytes) {
  TempDir dir("store");
  const Sample s = make_sample(5);  // its metadata names a fixed creation time
  write_sample(dir.path / "first.h5", s);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // a second later: a stored time would differ
  write_sample(dir.path / "second.h5", s);
  EXPECT_EQ(test::read_file(dir.path / "first.h5"), test::read_file(dir.path / "second.h5"));
}

TEST(Store, WriterFillsCreatedWhenEmpty) {
  TempDir dir("store");
  Sample s = make_sample(1);
  s.meta.created.clear();
  write_sample(dir.path / "run.h5", s);
  const std::string created = read_store(dir.path / "run.h5").meta.created;
  EXPECT_EQ(created.size(), std::string("2026-11-23T16:40:00Z").size()) << created;
  EXPECT_EQ(created.back(), 'Z');
}

TEST(Store, AppendingInBatchesEqualsOneBatch) {
  TempDir dir("store");
  const Sample s = make_sample(600);  // several chunks of the features dataset
  write_sample(dir.path / "one.h5", s);
  write_sample(dir.path / "many.h5", s, 7);
  const StoreData one = read_store(dir.path / "one.h5");
  const StoreData many = read_store(dir.path / "many.h5");
  expect_same_content(one, s);
  expect_same_content(many, s);
}

TEST(Store, AppendingZeroRowsChangesNothing) {
  TempDir dir("store");
  const Sample s = make_sample(4);
  {
    StoreWriter writer(dir.path / "run.h5", s.names, s.groups, s.classes, s.meta);
    writer.append({}, nullptr);
    writer.append(s.rows, s.features.data());
    writer.append({}, nullptr);
    writer.add_skipped({});
    writer.add_skipped(s.skipped);
    writer.commit();
  }
  expect_same_content(read_store(dir.path / "run.h5"), s);
}

TEST(Store, FinalNameAppearsOnlyOnCommit) {
  TempDir dir("store");
  const Sample s = make_sample(3);
  const fs::path final_path = dir.path / "run.h5";
  StoreWriter writer(final_path, s.names, s.groups, s.classes, s.meta);
  writer.append(s.rows, s.features.data());
  EXPECT_FALSE(fs::exists(final_path));
  writer.commit();
  EXPECT_TRUE(fs::exists(final_path));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()), 1);  // no temp left
}

TEST(Store, WriterDestroyedWithoutCommitLeavesNoFile) {
  TempDir dir("store");
  const Sample s = make_sample(3);
  {
    StoreWriter writer(dir.path / "run.h5", s.names, s.groups, s.classes, s.meta);
    writer.append(s.rows, s.features.data());
    EXPECT_EQ(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()), 1);  // the temp file
  }
  EXPECT_TRUE(fs::is_empty(dir.path));
}

// A killed writer leaves its temporary behind; the next writer of the same store removes it
// when its process is gone on this host, and leaves the temporaries of live processes and of
// other hosts (a cluster file system) alone.
TEST(Store, TemporariesOfDeadWritersAreRemoved) {
  TempDir dir("store-stale");
  const fs::path out = dir.path / "run.h5";
  const fs::path dead = out.string() + ".tmp-" + host_name() + "-999999999";
  const fs::path legacy = out.string() + ".tmp-999999998";  // named by an older hemolens
  const fs::path live = out.string() + ".tmp-" + host_name() + "-" + std::to_string(::getppid());
  const fs::path elsewhere = out.string() + ".tmp-another-node-999999999";
  for (const fs::path& p : {dead, legacy, live, elsewhere}) std::ofstream(p) << "half a store";
  write_sample(out, make_sample(2));
  EXPECT_FALSE(fs::exists(dead));
  EXPECT_FALSE(fs::exists(legacy));
  EXPECT_TRUE(fs::exists(live));
  EXPECT_TRUE(fs::exists(elsewhere));
  EXPECT_EQ(read_store(out).rows, 2u);
}

TEST(Store, WriterNamesTheFileItCannotCreate) {
  TempDir dir("store");
  const Sample s = make_sample(1);
  const fs::path path = dir.path / "no-such-dir" / "run.h5";
  const std::string error = error_of([&] { StoreWriter(path, s.names, s.groups, s.classes, s.meta); });
  EXPECT_NE(error.find(path.string()), std::string::npos) << error;
}

TEST(Store, AppendAfterCommitThrows) {
  TempDir dir("store");
  const Sample s = make_sample(1);
  StoreWriter writer(dir.path / "run.h5", s.names, s.groups, s.classes, s.meta);
  writer.commit();
  EXPECT_THROW(writer.append(s.rows, s.features.data()), std::runtime_error);
}

TEST(Store, EmptyStoreRoundTrips) {
  TempDir dir("store");
  Sample s = make_sample(0);
  s.skipped.clear();
  s.classes.clear();  // an unlabelled run has no classes
  write_sample(dir.path / "empty.h5", s);
  const StoreData got = read_store(dir.path / "empty.h5");
  expect_same_content(got, s);
  EXPECT_EQ(meta_fields(got.meta), meta_fields(s.meta));
}

TEST(Store, ZeroFeaturesRoundTrip) {
  TempDir dir("store");
  Sample s = make_sample(4);
  s.names.clear();
  s.groups.clear();
  s.features.clear();
  write_sample(dir.path / "nofeatures.h5", s);
  expect_same_content(read_store(dir.path / "nofeatures.h5"), s);
}

TEST(Store, ReadRejectsMissingFile) {
  TempDir dir("store");
  const fs::path path = dir.path / "absent.h5";
  EXPECT_NE(error_of([&] { read_store(path); }).find(path.string()), std::string::npos);
}

TEST(Store, ReadRejectsNonHdf5File) {
  TempDir dir("store");
  const fs::path path = dir.path / "notes.h5";
  std::ofstream(path) << "not an HDF5 file\n";
  const std::string error = error_of([&] { read_store(path); });
  EXPECT_NE(error.find(path.string()), std::string::npos) << error;
  EXPECT_NE(error.find("HDF5"), std::string::npos) << error;
}

// Replaces /labels of a written store with `n` labels (all -1), through the HDF5 C API.
void replace_labels(const fs::path& path, hsize_t n) {
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(file, 0);
  ASSERT_GE(H5Ldelete(file, "labels", H5P_DEFAULT), 0);
  const hid_t space = H5Screate_simple(1, &n, nullptr);
  const hid_t dataset = H5Dcreate2(file, "labels", H5T_STD_I32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  EXPECT_GE(dataset, 0);
  const std::vector<std::int32_t> values(n, -1);
  EXPECT_GE(H5Dwrite(dataset, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), 0);
  H5Dclose(dataset);
  H5Sclose(space);
  H5Fclose(file);
}

TEST(Store, ReadRejectsInconsistentLengths) {
  TempDir dir("store");
  const fs::path path = dir.path / "run.h5";
  write_sample(path, make_sample(6));
  replace_labels(path, 5);
  const std::string error = error_of([&] { read_store(path); });
  EXPECT_NE(error.find(path.string()), std::string::npos) << error;
  EXPECT_NE(error.find("/labels has 5 rows, /features has 6"), std::string::npos) << error;
}

TEST(Store, ReadRejectsMissingDataset) {
  TempDir dir("store");
  const fs::path path = dir.path / "run.h5";
  write_sample(path, make_sample(2));
  {
    const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    ASSERT_GE(file, 0);
    EXPECT_GE(H5Ldelete(file, "image/width", H5P_DEFAULT), 0);
    H5Fclose(file);
  }
  const std::string error = error_of([&] { read_store(path); });
  EXPECT_NE(error.find(path.string()), std::string::npos) << error;
  EXPECT_NE(error.find("/image/width"), std::string::npos) << error;
}

TEST(Store, MergeConcatenatesShardsInIndexOrder) {
  TempDir dir("store");
  std::vector<Sample> samples;
  const auto paths = write_shards(dir.path, 3, &samples);
  const fs::path out = dir.path / "merged.h5";
  merge_stores({paths[2], paths[0], paths[1]}, out);

  const StoreData got = read_store(out);
  expect_same_content(got, concatenate(samples));
  EXPECT_EQ(got.meta.shard_index, 0);
  EXPECT_EQ(got.meta.shard_count, 1);
  EXPECT_EQ(got.meta.schema_hash, samples[0].meta.schema_hash);
  EXPECT_FALSE(got.meta.created.empty());
  const auto params = nlohmann::json::parse(got.meta.parameters_json);
  EXPECT_EQ(params["batch"], 64);
  EXPECT_EQ(params["merged_from"], nlohmann::json({"shard-0.h5", "shard-1.h5", "shard-2.h5"}));
}

TEST(Store, MergeKeepsUnparsableParametersAsText) {
  TempDir dir("store");
  Sample s = make_sample(2);
  s.meta.parameters_json = "batch=64";
  write_sample(dir.path / "only.h5", s);
  merge_stores({dir.path / "only.h5"}, dir.path / "merged.h5");
  const auto params = nlohmann::json::parse(read_store(dir.path / "merged.h5").meta.parameters_json);
  EXPECT_EQ(params["parameters"], "batch=64");
  EXPECT_EQ(params["merged_from"], nlohmann::json({"only.h5"}));
}

TEST(Store, MergeRefusesDifferentSchemaHashes) {
  TempDir dir("store");
  Sample a = make_sample(2, 0, 2), b = make_sample(2, 1, 2);
  b.meta.schema_hash = "fedcba9876543210";
  write_sample(dir.path / "a.h5", a);
  write_sample(dir.path / "b.h5", b);
  const std::string error = error_of([&] { merge_stores({dir.path / "a.h5", dir.path / "b.h5"}, dir.path / "m.h5"); });
  EXPECT_NE(error.find("schema"), std::string::npos) << error;
  EXPECT_NE(error.find("a.h5"), std::string::npos) << error;
  EXPECT_NE(error.find("b.h5"), std::string::npos) << error;
  EXPECT_FALSE(fs::exists(dir.path / "m.h5"));
}

TEST(Store, MergeRefusesDifferentClasses) {
  TempDir dir("store");
  Sample a = make_sample(2, 0, 2), b = make_sample(2, 1, 2);
  b.classes = {"basophil", "neutrophil"};
  write_sample(dir.path / "a.h5", a);
  write_sample(dir.path / "b.h5", b);
  const std::string error = error_of([&] { merge_stores({dir.path / "a.h5", dir.path / "b.h5"}, dir.path / "m.h5"); });
  EXPECT_NE(error.find("classes"), std::string::npos) << error;
}

TEST(Store, MergeRefusesDuplicateShardIndices) {
  TempDir dir("store");
  const auto paths = write_shards(dir.path, 2);
  fs::copy_file(paths[1], dir.path / "copy.h5");
  const std::string error = error_of([&] {
    merge_stores({paths[0], paths[1], dir.path / "copy.h5"}, dir.path / "m.h5");
  });
  EXPECT_NE(error.find("shard_index 1"), std::string::npos) << error;
  EXPECT_NE(error.find("copy.h5"), std::string::npos) << error;
}

TEST(Store, MergeRefusesMissingShardUnlessPartial) {
  TempDir dir("store");
  std::vector<Sample> samples;
  const auto paths = write_shards(dir.path, 3, &samples);
  const fs::path out = dir.path / "m.h5";
  const std::string error = error_of([&] { merge_stores({paths[0], paths[2]}, out); });
  EXPECT_NE(error.find("missing"), std::string::npos) << error;
  EXPECT_NE(error.find(" 1 "), std::string::npos) << error;
  EXPECT_FALSE(fs::exists(out));

  merge_stores({paths[0], paths[2]}, out, /*allow_partial=*/true);
  expect_same_content(read_store(out), concatenate({samples[0], samples[2]}));
}

TEST(Store, H5pyReadsAStoreWithoutCustomCode) {
  if (std::system("/usr/bin/python3 -c 'import h5py' >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "/usr/bin/python3 with h5py is not available";
  TempDir dir("store");
  const Sample s = make_sample(4);
  const fs::path path = dir.path / "run.h5";
  write_sample(path, s);
  const std::string script =
      "import h5py, sys\n"
      "f = h5py.File(sys.argv[1], 'r')\n"
      "assert f['features'][:].shape == (4, 3), f['features'].shape\n"
      "assert list(f['classes'].asstr()[:]) == ['basophil', 'eosinophil']\n"
      "assert f.attrs['schema_hash'] == '0123456789abcdef', f.attrs['schema_hash']\n"
      "assert f['image/path'].asstr()[0] == 'basophil/cellule-\\u00e9-0-0.jpg'\n"
      "assert int(f.attrs['n_images']) == 4\n";
  const std::string command = "/usr/bin/python3 -c \"" + script + "\" '" + path.string() + "'";
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
}

}  // namespace
}  // namespace hemolens
