#include "support.hpp"

#include "model/anomaly.hpp"
#include "model/bundle.hpp"
#include "model/labelled.hpp"
#include "model/train.hpp"
#include "model/training_run.hpp"
#include "pipeline/extract.hpp"

#include <sys/resource.h>  // for the peak memory of a child (wait4)
#include <sys/wait.h>      // for WIFEXITED and friends
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
    std::filesystem::path store;
    sample_store(&store);
    // As `hemolens train` makes it: cross-validation, triage, final fit, anomaly forests.
    run_training({store, out, p, 3, 1, false, 0, TriageOptions{}});
    return out;
  }();
  return bundle;
}

model::TrainParams quick_train_params(int rounds) {
  model::TrainParams p;
  p.rounds = rounds;
  p.early_stopping_rounds = 0;
  p.device = "cpu";
  p.threads = 2;
  p.validation_fraction = 0.25;
  return p;
}

CommandResult run_hemolens(const std::string& args, const std::string& env) {
  CommandResult r;
  // exec: hemolens takes the shell's place, so the resource use wait4 reports is its own.
  const std::string cmd = "exec " + (env.empty() ? "" : "env " + env + " ") + hemolens_binary().string() + " " + args + " 2>&1";
  int out[2];
  if (::pipe(out) != 0) return r;
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    ::close(out[0]);
    ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(out[1]);
  char buf[4096];
  for (ssize_t n; (n = ::read(out[0], buf, sizeof buf)) > 0;) r.output.append(buf, std::size_t(n));
  ::close(out[0]);
  int status = 0;
  rusage use{};
  ::wait4(pid, &status, 0, &use);
  r.peak_rss_mb = double(use.ru_maxrss) / 1024.0;
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  else if (WIFEXITED(status)) r.status = WEXITSTATUS(status);
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

std::vector<std::string> csv_fields(const std::string& line) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (c == '"' && quoted && i + 1 < line.size() && line[i + 1] == '"') out.back() += c, ++i;
    else if (c == '"') quoted = !quoted;
    else if (c == ',' && !quoted) out.emplace_back();
    else out.back() += c;
  }
  return out;
}

}  // namespace hemolens::test
