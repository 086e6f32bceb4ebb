// Progress on stderr: a redrawn bar on a terminal, a plain line every few seconds when
// the output goes to a file (SLURM logs), so logs stay readable.
#pragma once
#include <chrono>
#include <cstddef>
#include <string>

namespace hemolens::cli {

class Progress {
 public:
  explicit Progress(std::string label);
  void update(std::size_t done, std::size_t total);
  void finish();

 private:
  std::string label_;
  bool tty_;
  std::chrono::steady_clock::time_point start_, last_;
  bool drawn_ = false;
};

}  // namespace hemolens::cli
