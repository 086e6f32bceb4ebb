#include "support.hpp"

#include "model/anomaly.hpp"
#include "model/bundle.hpp"
#include "model/labelled.hpp"
#include "model/train.hpp"
#include "pipeline/extract.hpp"

#include <sys/wait.h>  // for WIFEXITED and friends
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <iterator>

namespace hemolens::test {

std::filesystem::path source_dir() { return HEMOLENS_SOURCE_DIR; }
std::filesystem::path sample_dir() { return source_dir() / "data" / "sample"; }
std::filesystem::path hemolens_binary() { return HEMOLENS_BINARY; }

// Every *.jpg / *.jpeg below data/sample (recursively), sorted so runs are reproducible.
std::vector<std::filesystem::path> sample_jpegs() {
  std::vector<std::filesystem::path> out;
  std::error_code ec;
  const std::filesystem::path dir = sample_dir();
  if (!std::filesystem::is_directory(dir, ec)) return out;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    std::string ext = it->path().extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    if (ext == ".jpg" || ext == ".jpeg") out.push_back(it->path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

const StoreData& sample_store(std::filesystem::path* path) {
  static TempDir dir("sample-store");
  static const StoreData store = [] {
    ExtractOptions opt;
    opt.input = sample_dir();
    opt.output = dir.path / "sample.h5";
    opt.backend = BackendKind::kCpu;
    opt.threads = 2;
    run_extract(opt);
    return read_store(opt.output);
  }();
  if (path) *path = dir.path / "sample.h5";
  return store;
}

const std::filesystem::path& sample_bundle() {
  static TempDir dir("sample-bundle");
  static const std::filesystem::path bundle = [] {
    using namespace hemolens::model;
    const StoreData& s = sample_store();
    TrainParams p;
    p.rounds = 20;
    p.early_stopping_rounds = 0;
    p.device = "cpu";
    p.threads = 2;
    const std::filesystem::path out = dir.path / "model";
    save_bundle(out, fit_with_validation(labelled_rows(s, "sample").table, p).booster,
                {{"classes", s.classes}, {"feature_names", s.feature_names}, {"schema_hash", s.meta.schema_hash}, {"schema_version", s.meta.schema_version}});
    AnomalyParams ap;
    ap.threads = 2;
    add_anomaly_to_bundle(out, fit_anomaly(s, s.classes, ap), {{"store", "sample"}});
    return out;
  }();
  return bundle;
}

CommandResult run_hemolens(const std::string& args, const std::string& env) {
  CommandResult r;
  const std::string cmd = env + (env.empty() ? "" : " ") + hemolens_binary().string() + " " + args + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) r.output.append(buf, n);
  const int s = ::pclose(p);
  // popen runs the command through sh, which reports a signal death as exit 128 + signal.
  if (WIFSIGNALED(s)) r.signal = WTERMSIG(s);
  else if (WIFEXITED(s) && WEXITSTATUS(s) > 128) r.signal = WEXITSTATUS(s) - 128;
  else if (WIFEXITED(s)) r.status = WEXITSTATUS(s);
  return r;
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

TempDir::TempDir(const std::string& tag) {
  static int counter = 0;
  path = std::filesystem::temp_directory_path() /
         ("hemolens-test-" + tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  std::filesystem::remove_all(path);
  std::filesystem::create_directories(path);
}
TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

cv::Mat to_mat(const Plane8& p) {
  cv::Mat m(p.height, p.width, CV_8UC1);
  std::copy(p.data.begin(), p.data.end(), m.data);
  return m;
}

Plane8 from_mat(const cv::Mat& m) {
  Plane8 p(m.rows, m.cols);
  for (int y = 0; y < m.rows; ++y)
    for (int x = 0; x < m.cols; ++x) p.at(y, x) = m.at<std::uint8_t>(y, x);
  return p;
}

Plane8 random_plane(int h, int w, std::mt19937& rng) {
  Plane8 p(h, w);
  std::uniform_int_distribution<int> d(0, 255);
  for (auto& v : p.data) v = std::uint8_t(d(rng));
  return p;
}

Plane8 random_mask(int h, int w, double density, std::mt19937& rng) {
  Plane8 p(h, w);
  std::bernoulli_distribution d(density);
  for (auto& v : p.data) v = d(rng);
  return p;
}

}  // namespace hemolens::test
