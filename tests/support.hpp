// Shared helpers for the tests: paths to the bundled sample, temporary directories, and
// conversions between hemolens planes and OpenCV matrices (OpenCV is the oracle).
#pragma once
#include <filesystem>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "hemolens/image.hpp"
#include "hemolens/store.hpp"
#include "model/train.hpp"

namespace hemolens::test {

std::filesystem::path source_dir();
std::filesystem::path sample_dir();  // data/sample (one folder per class)
std::filesystem::path hemolens_binary();
// Every *.jpg / *.jpeg below data/sample (recursively), sorted so runs are reproducible.
std::vector<std::filesystem::path> sample_jpegs();

// The bundled sample extracted once per test process (CPU backend) and its path: the model,
// forest and explanation tests share it instead of extracting it each.
const StoreData& sample_store(std::filesystem::path* path = nullptr);

// A model bundle trained on the sample store (20 rounds, seeded) with its anomaly forests,
// made once per test process: what the explanation and server tests load.
const std::filesystem::path& sample_bundle();

// Training parameters for a quick model of the sample: `rounds` rounds without early stopping,
// on the CPU, a quarter of the rows held back for the SVM's share when it is chosen.
model::TrainParams quick_train_params(int rounds = 15);

// `hemolens ARGS` as a user runs it, stdout and stderr together. `env` is put before the
// command ("NAME=value ..."). status: the exit code; -1 when a signal ended it (signal says
// which). peak_rss_mb: the most memory the process held.
struct CommandResult {
  int status = -1;
  int signal = 0;
  std::string output;
  double peak_rss_mb = 0;
};
CommandResult run_hemolens(const std::string& args, const std::string& env = "");

// The message of the exception `f` throws, or "" when it throws nothing.
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

// A file's bytes (empty when it cannot be read).
std::string read_file(const std::filesystem::path& p);
// The fields of one CSV line (quotes and doubled quotes undone), as the CLI writes them.
std::vector<std::string> csv_fields(const std::string& line);

// A fresh empty directory under the system temp dir, removed by the destructor.
struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& tag);
  ~TempDir();
};

cv::Mat to_mat(const Plane8& p);
Plane8 from_mat(const cv::Mat& m);  // CV_8UC1
Plane8 random_plane(int h, int w, std::mt19937& rng);
Plane8 random_mask(int h, int w, double density, std::mt19937& rng);

}  // namespace hemolens::test
