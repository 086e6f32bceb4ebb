// Crafted and damaged files made by the test itself (stores edited through the HDF5 C API,
// bundles edited as JSON): every command that reads them refuses them with a clear error and
// a non-zero exit that is not a signal, and never allocates what a file merely claims.
#include <gtest/gtest.h>
#include <hdf5.h>

#include <cstring>
#include <fstream>
#include <functional>
#include <tuple>
#include <nlohmann/json.hpp>

#include "hemolens/store.hpp"
#include "model/bundle.hpp"
#include "support.hpp"

namespace fs = std::filesystem;
using namespace hemolens;
using Json = nlohmann::json;

namespace {

// A written store opened for editing, as a damaged or crafted file would be.
class StoreEdit {
 public:
  explicit StoreEdit(const fs::path& path) : file_(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT)) {
    if (file_ < 0) throw std::runtime_error("cannot open " + path.string());
  }
  ~StoreEdit() { H5Fclose(file_); }
  StoreEdit(const StoreEdit&) = delete;
  StoreEdit& operator=(const StoreEdit&) = delete;

  // Replaces a dataset of strings (e.g. /classes) by `values`.
  void strings(const char* name, const std::vector<std::string>& values) {
    H5Ldelete(file_, name, H5P_DEFAULT);
    const hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, H5T_VARIABLE);
    const hsize_t n = values.size();
    const hid_t space = H5Screate_simple(1, &n, nullptr);
    const hid_t d = H5Dcreate2(file_, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    std::vector<const char*> p;
    for (const auto& v : values) p.push_back(v.c_str());
    if (!p.empty()) H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, p.data());
    H5Dclose(d);
    H5Sclose(space);
    H5Tclose(type);
  }

  // Sets label `row` to `value`.
  void label(hsize_t row, std::int32_t value) {
    const hid_t d = H5Dopen2(file_, "labels", H5P_DEFAULT);
    const hid_t space = H5Dget_space(d);
    const hsize_t one = 1;
    H5Sselect_hyperslab(space, H5S_SELECT_SET, &row, nullptr, &one, nullptr);
    const hid_t mem = H5Screate_simple(1, &one, nullptr);
    H5Dwrite(d, H5T_NATIVE_INT32, mem, space, H5P_DEFAULT, &value);
    H5Sclose(mem);
    H5Sclose(space);
    H5Dclose(d);
  }

  // Declares `n` rows in every per-image dataset and in the n_images attribute, without
  // writing them: HDF5 reads the rows never written as zeros.
  void rows(hsize_t n) {
    for (const char* name : {"features", "labels", "image/id", "image/path", "image/height", "image/width", "quality/flags"}) {
      const hid_t d = H5Dopen2(file_, name, H5P_DEFAULT);
      const hid_t space = H5Dget_space(d);
      hsize_t dims[2] = {0, 0};
      H5Sget_simple_extent_dims(space, dims, nullptr);
      dims[0] = n;
      if (H5Dset_extent(d, dims) < 0) throw std::runtime_error(std::string("cannot extend ") + name);
      H5Sclose(space);
      H5Dclose(d);
    }
    attribute("n_images", std::int64_t(n));
  }

  // Replaces the string attribute `name` by `value`.
  void string_attribute(const char* name, const std::string& value) {
    H5Adelete(file_, name);
    const hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, H5T_VARIABLE);
    const hid_t space = H5Screate(H5S_SCALAR);
    const hid_t a = H5Acreate2(file_, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    const char* text = value.c_str();
    H5Awrite(a, type, &text);
    H5Aclose(a);
    H5Sclose(space);
    H5Tclose(type);
  }

  template <class T>
  void attribute(const char* name, T value) {
    const hid_t a = H5Aopen(file_, name, H5P_DEFAULT);
    H5Awrite(a, sizeof(T) == 8 ? H5T_NATIVE_INT64 : H5T_NATIVE_INT32, &value);
    H5Aclose(a);
  }

 private:
  hid_t file_;
};

// A copy of the sample store (68 images, 8 classes, 366 features) to edit.
fs::path sample_copy(const test::TempDir& dir, const std::string& name) {
  fs::path sample;
  test::sample_store(&sample);
  const fs::path out = dir.path / name;
  fs::copy_file(sample, out);
  return out;
}

std::string error_of_read(const fs::path& p) {
  try {
    read_store(p);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

// A refusal as a user sees it: exit 1, not a signal, and the message names the file.
void expect_refused(const test::CommandResult& r, const fs::path& file, const std::string& why) {
  EXPECT_EQ(r.signal, 0) << "killed by signal " << r.signal << "\n" << r.output;
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find(file.string()), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(why), std::string::npos) << r.output;
}

}  // namespace

// ---- labels against classes --------------------------------------------------------------

TEST(CraftedStore, LabelsOutsideTheClassesAreRefusedByTheReaderAndTrain) {
  test::TempDir dir("crafted-labels");
  const fs::path no_classes = sample_copy(dir, "no-classes.h5"), two = sample_copy(dir, "two-classes.h5"),
                 label99 = sample_copy(dir, "label-99.h5");
  StoreEdit(no_classes).strings("classes", {});
  StoreEdit(two).strings("classes", {"basophil", "eosinophil"});
  StoreEdit(label99).label(5, 99);
  const std::vector<std::pair<fs::path, std::string>> cases = {
      {no_classes, "but /classes has 0 class(es)"}, {two, "but /classes has 2 class(es)"}, {label99, "/labels[5] is 99 but /classes has 8"}};
  for (const auto& [file, why] : cases) {
    const std::string error = error_of_read(file);
    EXPECT_NE(error.find(why), std::string::npos) << file << ": " << error;
    // train indexed per-class counts by label: a segfault, a malloc abort, a silent overwrite.
    expect_refused(test::run_hemolens("train " + file.string() + " -o " + (dir.path / "model").string() + " --device cpu"), file, why);
    EXPECT_FALSE(fs::exists(dir.path / "model"));
  }
}

// ---- sizes a file claims ----------------------------------------------------------------

TEST(CraftedStore, RowsDeclaredButNotStoredAreRefusedBeforeAllocation) {
  test::TempDir dir("crafted-rows");
  for (const hsize_t rows : {hsize_t(1'000'000), hsize_t(30'000'000)}) {
    const fs::path file = sample_copy(dir, "rows-" + std::to_string(rows) + ".h5");
    StoreEdit(file).rows(rows);
    EXPECT_LT(fs::file_size(file), 400'000u);  // a small file claiming gigabytes of features
    const std::string error = error_of_read(file);
    EXPECT_NE(error.find("declares " + std::to_string(rows) + " rows"), std::string::npos) << error;
    const test::CommandResult r = test::run_hemolens("info " + file.string());
    expect_refused(r, file, "declares " + std::to_string(rows) + " rows");
    // 1 M rows of 366 floats are 1.5 GB: nothing near that may be allocated.
    EXPECT_LT(r.peak_rss_mb, 300) << rows << " rows";
  }
}

TEST(CraftedStore, ShardAttributesAreCheckedAndAHugeShardCountCostsNothing) {
  test::TempDir dir("crafted-shards");
  const fs::path huge = sample_copy(dir, "huge-count.h5"), outside = sample_copy(dir, "index-outside.h5");
  StoreEdit(huge).attribute("shard_count", std::int32_t(2'000'000'001));
  StoreEdit(outside).attribute("shard_index", std::int32_t(7));  // of shard_count 1
  EXPECT_NE(error_of_read(outside).find("shard_index 7 and shard_count 1 do not describe a shard"), std::string::npos)
      << error_of_read(outside);
  // The merge listed every missing index: a string of two billion numbers (8 GB and growing).
  const test::CommandResult r = test::run_hemolens("merge -o " + (dir.path / "out.h5").string() + " " + huge.string());
  EXPECT_EQ(r.signal, 0) << r.output;
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("missing 2000000000 of 2000000001 shards (index 1, 2, 3"), std::string::npos) << r.output;
  EXPECT_LT(r.peak_rss_mb, 300);
  EXPECT_FALSE(fs::exists(dir.path / "out.h5"));
}

// A string attribute's descriptor in the file: its 4-byte length `length`, then the 8-byte
// address of a global heap collection (found by its "GCOL" signature). Returns its offset.
std::size_t find_string_descriptor(const std::string& bytes, std::uint32_t length) {
  const std::string len(reinterpret_cast<const char*>(&length), 4);
  for (std::size_t at = bytes.find(len); at != std::string::npos; at = bytes.find(len, at + 1)) {
    if (at + 12 > bytes.size()) break;
    std::uint64_t heap = 0;
    std::memcpy(&heap, &bytes[at + 4], 8);
    if (heap + 4 <= bytes.size() && bytes.compare(heap, 4, "GCOL") == 0) return at;
  }
  throw std::runtime_error("no descriptor of a " + std::to_string(length) + "-byte string");
}

TEST(CraftedStore, AStringAttributeClaimingGigabytesIsRefusedBeforeAllocation) {
  test::TempDir dir("crafted-attribute");
  const fs::path file = sample_copy(dir, "attribute.h5");
  StoreEdit(file).string_attribute("created", std::string(1234, 'x'));
  ASSERT_EQ(read_store(file).meta.created, std::string(1234, 'x'));  // the edit alone is a good store
  std::string bytes = test::read_file(file);
  const std::uint32_t claimed = 0xFFFFFF00u;  // libhdf5 1.10 allocated this much before reading
  std::memcpy(&bytes[find_string_descriptor(bytes, 1234)], &claimed, 4);
  std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
  const test::CommandResult r = test::run_hemolens("info " + file.string());
  expect_refused(r, file, "attribute created claims a string of 4294967040 bytes");
  EXPECT_LT(r.peak_rss_mb, 300);
}

// hemolens writes the oldest object headers (version 1); the newest format (version 2
// headers, attributes in dense storage past 8 of them) is read by the same checks, so a file
// in it gets the reader's own message, never a false "crafted".
TEST(CraftedStore, NewestFormatHeadersAreParsedAndDenseAttributesRefused) {
  test::TempDir dir("crafted-newest");
  for (const int attributes : {3, 20}) {
    const fs::path file = dir.path / ("newest-" + std::to_string(attributes) + ".h5");
    const hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST);
    H5Fclose(H5Fcreate(file.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl));
    H5Pclose(fapl);
    for (int i = 0; i < attributes; ++i) StoreEdit(file).string_attribute(("note" + std::to_string(i)).c_str(), std::string(40 + i, 'n'));
    const std::string error = error_of_read(file);
    if (attributes == 3) {
      EXPECT_NE(error.find("missing attribute schema_version"), std::string::npos) << error;
    } else {
      EXPECT_NE(error.find("the root group keeps its attributes in dense storage"), std::string::npos) << error;
    }
  }
}

// ---- bundles ----------------------------------------------------------------------------

namespace {

// A copy of the sample bundle whose bundle.json `edit` changed; `rehash`: with the content hash
// made again (as a crafted file would be), else as a hand edit leaves it.
fs::path edited_bundle(const test::TempDir& dir, const std::string& name, const std::function<void(Json&)>& edit, bool rehash) {
  const fs::path out = dir.path / name;
  fs::copy(test::sample_bundle(), out, fs::copy_options::recursive);
  Json meta = Json::parse(test::read_file(out / "bundle.json"));
  edit(meta);
  if (rehash) model::write_bundle_meta(out, meta);
  else std::ofstream(out / "bundle.json") << meta.dump(2);
  return out;
}

// Every command that loads a bundle, on `bundle`.
std::vector<std::pair<std::string, test::CommandResult>> every_loader(const fs::path& bundle, const fs::path& scratch) {
  fs::path store;
  test::sample_store(&store);
  const std::string image = (test::sample_dir() / "neutrophil" / "BNE_101234.jpg").string(), b = bundle.string();
  return {{"predict", test::run_hemolens("predict " + b + " " + image + " -o " + (scratch / "p.csv").string() + " --backend cpu")},
          {"score", test::run_hemolens("score " + b + " " + image + " -o " + (scratch / "s.csv").string() + " --backend cpu")},
          {"explain", test::run_hemolens("explain " + b + " " + image + " --backend cpu")},
          {"evaluate", test::run_hemolens("evaluate " + b + " " + store.string())},
          // A served bundle that is refused must stop the server before it listens (bounded, in
          // case it starts after all).
          {"serve", test::run_hemolens("serve " + b + " --port 0", "timeout -s KILL 60")}};
}

}  // namespace

TEST(CraftedBundle, ClassesThatDoNotFitTheModelAreRefusedByEveryCommand) {
  test::TempDir dir("crafted-bundle");
  std::vector<std::string> distinct20;
  for (int i = 0; i < 20; ++i) distinct20.push_back("class" + std::to_string(i));
  const std::vector<std::tuple<std::string, std::function<void(Json&)>, std::string>> cases = {
      {"no-classes", [](Json& m) { m["classes"] = Json::array(); }, "lists 0 class(es)"},
      {"twenty", [&](Json& m) { m["classes"] = distinct20; }, "lists 20 classes but model.json was trained for 8"},
      {"two", [](Json& m) { m["classes"] = {"basophil", "eosinophil"}; }, "lists 2 classes but model.json was trained for 8"},
      {"features", [](Json& m) { m["feature_names"].erase(m["feature_names"].begin()); }, "lists 365 features but model.json was trained on 366"},
      {"type", [](Json& m) { m["classes"] = "basophil"; }, "bundle.json: 'classes' must be a list of class names"},
  };
  for (const auto& [name, edit, why] : cases) {
    const fs::path bundle = edited_bundle(dir, name, edit, true);
    for (const auto& [command, r] : every_loader(bundle, dir.path)) {
      SCOPED_TRACE(name + ", " + command);
      expect_refused(r, bundle, why);
    }
  }
}

TEST(CraftedBundle, AHandEditOfBundleJsonIsRefusedByItsHash) {
  test::TempDir dir("edited-bundle");
  const fs::path bundle = edited_bundle(dir, "edited", [](Json& m) { m["classes"][0] = "mast cell"; }, false);
  for (const auto& [command, r] : every_loader(bundle, dir.path)) {
    SCOPED_TRACE(command);
    expect_refused(r, bundle, "bundle.json does not match the hash of its content");
  }
}

// A forest file whose header claims 2^28 - 1 nodes (under the reader's bound) in a few bytes,
// with its hashes made again as a crafted bundle would have them.
TEST(CraftedBundle, AForestClaimingMoreNodesThanItsFileHoldsCostsWhatTheFileHolds) {
  test::TempDir dir("crafted-forest");
  const fs::path bundle = edited_bundle(dir, "forest", [](Json&) {}, true);
  Json meta = Json::parse(test::read_file(bundle / "bundle.json"));
  ASSERT_TRUE(meta.contains("anomaly")) << "the sample bundle has no anomaly model";
  const fs::path forest = bundle / meta["anomaly"]["file"].get<std::string>();
  std::string bytes = test::read_file(forest).substr(0, 16);  // magic, format version, forest count
  const std::uint32_t one_forest = 1, header[5] = {366, 256, 8, 1, (1u << 28) - 1};  // features, samples, depth, trees, nodes
  std::memcpy(&bytes[12], &one_forest, 4);
  bytes.append(reinterpret_cast<const char*>(header), sizeof header);
  bytes.append(64, '\0');
  std::ofstream(forest, std::ios::binary | std::ios::trunc) << bytes;
  meta["anomaly"]["file_xxh3"] = model::file_xxh3(forest);
  model::write_bundle_meta(bundle, meta);
  fs::path store;
  test::sample_store(&store);
  const test::CommandResult r = test::run_hemolens("score " + bundle.string() + " " + store.string() + " -o " + (dir.path / "s.csv").string());
  expect_refused(r, bundle, "isolation forest truncated");
  EXPECT_LT(r.peak_rss_mb, 300);
}

// model.json edited as a crafted bundle would be (every hash made again): trees whose nodes
// point outside the tree, back at themselves, or at a feature past the last column, and a tree
// that claims another's id. XGBoost
// trusts these fields when it predicts, so each must be refused before it is loaded.
TEST(CraftedBundle, TreesThatPointOutsideThemselvesAreRefusedByEveryCommand) {
  test::TempDir dir("crafted-trees");
  const std::vector<std::tuple<std::string, std::function<void(Json&)>>> cases = {
      {"child-past-the-end", [](Json& t) { t["left_children"][0] = 1000000; }},
      {"child-is-itself", [](Json& t) { t["left_children"][0] = 0; }},
      {"child-negative", [](Json& t) { t["right_children"][0] = -7; }},
      {"feature-past-the-end", [](Json& t) { t["split_indices"][0] = 100000; }},
      {"short-array", [](Json& t) { t["split_conditions"].erase(t["split_conditions"].size() - 1); }},
      {"node-count", [](Json& t) { t["tree_param"]["num_nodes"] = "100000"; }},
      {"tree-id", [](Json& t) { t["id"] = 7; }},  // found by fuzz_model: tree 3's slot stayed empty
  };
  for (const auto& [name, edit] : cases) {
    const fs::path bundle = edited_bundle(dir, name, [](Json&) {}, true);
    Json model = Json::parse(test::read_file(bundle / "model.json"));
    edit(model["learner"]["gradient_booster"]["model"]["trees"][3]);
    std::ofstream(bundle / "model.json", std::ios::trunc) << model.dump();
    Json meta = Json::parse(test::read_file(bundle / "bundle.json"));
    meta["model_xxh3"] = model::file_xxh3(bundle / "model.json");
    model::write_bundle_meta(bundle, meta);
    for (const auto& [command, r] : every_loader(bundle, dir.path)) {
      SCOPED_TRACE(name + ", " + command);
      expect_refused(r, bundle, "model.json");
    }
  }
}

// ---- what the fuzz targets found (scripts/fuzz; tests/data/fuzz) -------------------------

TEST(FuzzFindings, EveryCommittedStoreFindingIsRefusedClearlyWithBoundedMemory) {
  const fs::path dir = test::source_dir() / "tests" / "data" / "fuzz" / "store";
  std::size_t seen = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    ++seen;
    const test::CommandResult r = test::run_hemolens("info " + e.path().string());
    SCOPED_TRACE(e.path().filename().string());
    expect_refused(r, e.path(), "damaged or crafted");
    EXPECT_LT(r.peak_rss_mb, 300);
  }
  EXPECT_GE(seen, 2u);
}
