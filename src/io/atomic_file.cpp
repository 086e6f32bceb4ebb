#include "hemolens/atomic_file.hpp"

#include <signal.h>  // for kill(pid, 0): is the writer still running?
#include <unistd.h>  // for getpid, gethostname

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include "hemolens/crash_point.hpp"

namespace fs = std::filesystem;

namespace hemolens {
namespace {

bool running(long pid) { return pid > 0 && (::kill(pid_t(pid), 0) == 0 || errno == EPERM); }

// The writer of a temporary: "<host>-<pid>" or, from an older hemolens, "<pid>".
struct Writer {
  std::string host;
  long pid = 0;
};

bool parse_writer(const std::string& suffix, Writer& w) {
  const auto dash = suffix.rfind('-');
  const std::string digits = dash == std::string::npos ? suffix : suffix.substr(dash + 1);
  if (digits.empty() || digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) return false;
  w.pid = std::stol(digits);
  w.host = dash == std::string::npos ? "" : suffix.substr(0, dash);
  return true;
}

}  // namespace

std::string host_name() {
  char name[256] = {};
  ::gethostname(name, sizeof name - 1);
  return name;
}

fs::path temporary_path(const fs::path& final_path) {
  return fs::path(final_path.string() + ".tmp-" + host_name() + "-" + std::to_string(::getpid()));
}

void remove_stale_temporaries(const fs::path& final_path) {
  const fs::path dir = final_path.parent_path().empty() ? fs::path(".") : final_path.parent_path();
  const std::string prefix = final_path.filename().string() + ".tmp-";
  const std::string host = host_name();
  std::error_code ec;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    Writer w;
    if (name.rfind(prefix, 0) != 0 || !parse_writer(name.substr(prefix.size()), w)) continue;
    if ((w.host.empty() || w.host == host) && w.pid != ::getpid() && !running(w.pid)) {
      std::error_code ignored;  // another process may be removing it at the same moment
      fs::remove_all(it->path(), ignored);
    }
  }
}

namespace {

// The commit point: the temporary becomes the final file, or is removed.
void rename_into_place(const fs::path& tmp, const fs::path& final_path) {
  std::error_code ec;
  fs::rename(tmp, final_path, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw std::runtime_error("cannot rename " + tmp.string() + " to " + final_path.string() + ": " + ec.message());
  }
}

[[noreturn]] void discard(const fs::path& tmp, const std::string& why) {
  std::error_code ignored;
  fs::remove(tmp, ignored);
  throw std::runtime_error(why);
}

}  // namespace

void write_file_atomic(const fs::path& final_path, const std::string& bytes) {
  remove_stale_temporaries(final_path);
  const fs::path tmp = temporary_path(final_path);
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error("cannot write " + tmp.string() + ": " + std::strerror(errno));
    // In two halves, so that a test can kill the process with half the file written.
    out.write(bytes.data(), std::streamsize(bytes.size() / 2));
    out.flush();
    crash_point("write:" + final_path.filename().string() + ":half");
    out.write(bytes.data() + bytes.size() / 2, std::streamsize(bytes.size() - bytes.size() / 2));
    if (!out.flush()) discard(tmp, "cannot write " + tmp.string() + " (disk full?)");
  }
  rename_into_place(tmp, final_path);
}

void write_file_atomic(const fs::path& final_path, const std::function<void(std::ostream&)>& write) {
  remove_stale_temporaries(final_path);
  const fs::path tmp = temporary_path(final_path);
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error("cannot write " + tmp.string() + ": " + std::strerror(errno));
    try {
      write(out);
    } catch (...) {
      out.close();
      std::error_code ignored;
      fs::remove(tmp, ignored);
      throw;
    }
    crash_point("write:" + final_path.filename().string() + ":written");
    if (!out.flush()) discard(tmp, "cannot write " + tmp.string() + " (disk full?)");
  }
  rename_into_place(tmp, final_path);
}

}  // namespace hemolens
