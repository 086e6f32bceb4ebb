// Tables for notebooks: `export`, `schema --format csv|json` and `predict` (true labels,
// --features) read by pandas itself (Debian's python3-pandas, /usr/bin/python3) with one
// `pd.read_csv` call, and compared with what h5py (an independent reader) finds in the store.
#include <gtest/gtest.h>

#include <fstream>

#include "support.hpp"

namespace fs = std::filesystem;
using namespace hemolens;

namespace {

// Runs a Python snippet with Debian's python3 (where python3-pandas and python3-h5py live);
// `args` become sys.argv[1:]. Its output ends with "ok" when all its asserts held.
test::CommandResult python(const test::TempDir& dir, const std::string& code, const std::vector<std::string>& args) {
  const fs::path script = dir.path / "check.py";
  std::ofstream(script) << "import sys, json\nimport numpy as np\nimport pandas as pd\nimport h5py\n" << code << "\nprint('ok')\n";
  std::string cmd = "/usr/bin/python3 " + script.string();
  for (const auto& a : args) cmd += " '" + a + "'";
  test::CommandResult r;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) r.output.append(buf, n);
  const int status = pclose(p);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

void expect_python_ok(const test::CommandResult& r) {
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("ok"), std::string::npos) << r.output;
  if (r.output.find("No module named 'pandas'") != std::string::npos)
    ADD_FAILURE() << "python3-pandas is missing: scripts/install-deps --tests installs it";
}

fs::path sample_store_path() {
  fs::path p;
  test::sample_store(&p);
  return p;
}

}  // namespace

TEST(Export, PandasReadsEveryFeatureAsTheNumberTheStoreHolds) {
  test::TempDir dir("export-pandas");
  const fs::path csv = dir.path / "features.csv", skipped = dir.path / "skipped.csv", schema = dir.path / "schema.csv";
  const auto r = test::run_hemolens("export " + sample_store_path().string() + " -o " + csv.string() + " --skipped " + skipped.string());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("exported 68 images"), std::string::npos) << r.output;
  ASSERT_EQ(test::run_hemolens("schema --format csv -o " + schema.string()).status, 0);
  // h5py is the oracle: every feature reads back as the float32 the store holds (NaN where it
  // holds NaN), labels as class names, flags by name, and the columns are the schema's names.
  expect_python_ok(python(dir, R"(
csv, store, schema, skipped = sys.argv[1:]
df = pd.read_csv(csv)
names = list(pd.read_csv(schema)["name"])
with h5py.File(store) as f:
    X = f["features"][:]
    classes = f["classes"].asstr()[:]
    labels = f["labels"][:]
    paths = f["image/path"].asstr()[:]
    flags = f["quality/flags"][:]
    flag_names = list(f["quality/flag_names"].asstr()[:])  # bit i is flag_names[i]
fixed = ["id", "path", "label", "height", "width"]
flag_cols = [c for c in df.columns if c.startswith("flag_")]
assert list(df.columns) == fixed + flag_cols + names, list(df.columns)[:12]
assert len(df) == X.shape[0] == 68, len(df)
for c in names + ["height", "width"] + flag_cols:
    assert pd.api.types.is_numeric_dtype(df[c]), (c, df[c].dtype)
got = df[names].to_numpy(dtype=np.float32)
assert np.array_equal(got, X, equal_nan=True), np.argwhere(~((got == X) | (np.isnan(got) & np.isnan(X))))[:5]
assert list(df["label"]) == [classes[l] for l in labels]
assert list(df["path"]) == list(paths)
assert flag_cols == ["flag_" + n for n in flag_names], flag_cols
for bit, name in enumerate(flag_names):
    assert list(df["flag_" + name]) == [int(v >> bit & 1) for v in flags], name
assert list(pd.read_csv(skipped).columns) == ["path", "reason"]
)",
                          {csv.string(), sample_store_path().string(), schema.string(), skipped.string()}));
}

TEST(Export, TsvStdoutAndChosenColumns) {
  test::TempDir dir("export-choose");
  const fs::path tsv = dir.path / "shape.tsv", json = dir.path / "schema.json", piped = dir.path / "piped.csv";
  const std::string store = sample_store_path().string();
  auto r = test::run_hemolens("export " + store + " -o " + tsv.string() + " --groups shape --features 'nucleus_s_*'");
  ASSERT_EQ(r.status, 0) << r.output;
  ASSERT_EQ(test::run_hemolens("schema --format json -o " + json.string()).status, 0);
  // Standard output carries the table alone (the summary goes to stderr).
  ASSERT_EQ(std::system((test::hemolens_binary().string() + " export " + store + " -o - --features cell_area,nucleus_area > " +
                         piped.string() + " 2>/dev/null").c_str()),
            0);
  expect_python_ok(python(dir, R"(
tsv, schema, piped = sys.argv[1:]
import fnmatch
df = pd.read_csv(tsv, sep="\t")
features = json.load(open(schema))["features"]
want = [f["name"] for f in features if f["group"] == "shape" or fnmatch.fnmatch(f["name"], "nucleus_s_*")]
got = [c for c in df.columns if c not in ("id", "path", "label", "height", "width") and not c.startswith("flag_")]
assert got == want, (got[:5], want[:5])
assert len(want) > 10 and any(n.startswith("nucleus_s_") for n in want)
p = pd.read_csv(piped)
assert list(p.columns)[-2:] == ["cell_area", "nucleus_area"], list(p.columns)
assert len(p) == 68 and pd.api.types.is_numeric_dtype(p["cell_area"])
)",
                          {tsv.string(), json.string(), piped.string()}));
}

TEST(Export, BadChoicesAreRefusedBeforeWriting) {
  test::TempDir dir("export-bad");
  const std::string store = sample_store_path().string();
  auto r = test::run_hemolens("export " + store + " -o " + (dir.path / "x.csv").string() + " --groups shapes");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("no feature group 'shapes' (groups: colour, moments, quality, shape, texture)"), std::string::npos) << r.output;
  r = test::run_hemolens("export " + store + " -o " + (dir.path / "x.csv").string() + " --features nucleus_areaa");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("no feature matches 'nucleus_areaa'"), std::string::npos) << r.output;
  r = test::run_hemolens("export " + store + " -o " + (dir.path / "x.xlsx").string());
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find(".csv or .tsv"), std::string::npos) << r.output;
  EXPECT_TRUE(fs::is_empty(dir.path)) << "a refused export left a file";
}

TEST(Export, SchemaFormatsAgree) {
  test::TempDir dir("schema-formats");
  const fs::path csv = dir.path / "s.csv", json = dir.path / "s.json";
  ASSERT_EQ(test::run_hemolens("schema --format csv -o " + csv.string()).status, 0);
  ASSERT_EQ(test::run_hemolens("schema --format json -o " + json.string()).status, 0);
  const auto md = test::run_hemolens("schema");
  ASSERT_EQ(md.status, 0);
  EXPECT_EQ(md.output, test::read_file(test::source_dir() / "docs" / "features.md"));  // Markdown stays the default
  expect_python_ok(python(dir, R"(
csv, js, store = sys.argv[1:]
c = pd.read_csv(csv)
j = json.load(open(js))
assert list(c.columns) == ["name", "group", "region", "unit", "label", "description"], list(c.columns)
assert list(c["name"]) == [f["name"] for f in j["features"]]
assert list(c["group"]) == [f["group"] for f in j["features"]]
with h5py.File(store) as f:
    assert list(c["name"]) == list(f["feature_names"].asstr()[:])
    assert j["hash"] == f.attrs["schema_hash"] and j["version"] == f.attrs["schema_version"]
)",
                          {csv.string(), json.string(), sample_store_path().string()}));
}

// predict on a labelled folder: the true label beside the prediction, and --features adds the
// feature columns, equal to what export gives for the same images.
TEST(Export, PredictWritesTrueLabelsAndFeaturesForPandas) {
  test::TempDir dir("predict-pandas");
  fs::create_directories(dir.path / "in");
  for (const char* cls : {"basophil", "platelet"}) fs::copy(test::sample_dir() / cls, dir.path / "in" / cls);
  const fs::path pred = dir.path / "pred.csv", plain = dir.path / "plain.csv", exported = dir.path / "export.csv";
  const std::string model = test::sample_bundle().string();
  auto r = test::run_hemolens("predict " + model + " " + (dir.path / "in").string() + " -o " + pred.string() + " --features --backend cpu");
  ASSERT_EQ(r.status, 0) << r.output;
  r = test::run_hemolens("predict " + model + " " + (dir.path / "in").string() + " -o " + plain.string() + " --backend cpu");
  ASSERT_EQ(r.status, 0) << r.output;
  ASSERT_EQ(test::run_hemolens("extract " + (dir.path / "in").string() + " -o " + (dir.path / "in.h5").string() + " --backend cpu -q").status, 0);
  ASSERT_EQ(test::run_hemolens("export " + (dir.path / "in.h5").string() + " -o " + exported.string()).status, 0);
  expect_python_ok(python(dir, R"(
pred, plain, exported = sys.argv[1:]
p = pd.read_csv(pred)
q = pd.read_csv(plain)
e = pd.read_csv(exported)
classes = [c[2:] for c in p.columns if c.startswith("p_")]
assert list(p.columns[:3]) == ["path", "label", "predicted"], list(p.columns[:4])
assert list(p["label"]) == [path.split("/")[0] for path in p["path"]]
assert set(p["predicted"]) <= set(classes)
assert np.allclose(p[["p_" + c for c in classes]].sum(axis=1), 1, atol=1e-4)
features = [c for c in e.columns if c not in ("id", "path", "label", "height", "width") and not c.startswith("flag_")]
assert list(p.columns[-len(features):]) == features
m = p.merge(e, on="path", suffixes=("", "_export"))
assert len(m) == len(p) == 17
for f in features:
    assert np.array_equal(m[f].to_numpy(np.float32), m[f + "_export"].to_numpy(np.float32), equal_nan=True), f
assert list(q.columns) == list(p.columns[:len(q.columns)]) and "cell_area" not in q.columns
assert list(q.columns[-5:]) == ["skipped_reason", "confidence", "decision", "review_reasons", "prediction_set"], list(q.columns)
assert set(q["decision"]) <= {"accept", "review"}
)",
                          {pred.string(), plain.string(), exported.string()}));
}
