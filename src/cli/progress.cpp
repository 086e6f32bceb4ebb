#include "cli/progress.hpp"

#include <unistd.h>  // for isatty

#include <cstdio>

namespace hemolens::cli {

using Clock = std::chrono::steady_clock;

Progress::Progress(std::string label) : label_(std::move(label)), tty_(isatty(STDERR_FILENO)), start_(Clock::now()), last_(start_) {}

void Progress::update(std::size_t done, std::size_t total) {
  const auto now = Clock::now();
  const double since_last = std::chrono::duration<double>(now - last_).count();
  if (done < total && since_last < (tty_ ? 0.2 : 10.0)) return;
  last_ = now;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double rate = elapsed > 0 ? done / elapsed : 0;
  const double frac = total ? double(done) / double(total) : 1.0;
  const double eta = rate > 0 ? (total - done) / rate : 0;
  if (tty_) {
    const int width = 30, filled = int(frac * width);
    std::fprintf(stderr, "\r%s [%s%s] %zu/%zu %3.0f%% %6.0f img/s ETA %4.0fs", label_.c_str(), std::string(std::size_t(filled), '#').c_str(),
                 std::string(std::size_t(width - filled), '.').c_str(), done, total, 100 * frac, rate, eta);
    drawn_ = true;
  } else {
    std::fprintf(stderr, "%s: %zu/%zu images (%.0f%%), %.0f img/s, ETA %.0fs\n", label_.c_str(), done, total, 100 * frac, rate, eta);
  }
  std::fflush(stderr);
}

void Progress::finish() {
  if (tty_ && drawn_) std::fprintf(stderr, "\n");
}

}  // namespace hemolens::cli
