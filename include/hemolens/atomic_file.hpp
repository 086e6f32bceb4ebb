// Outputs that appear whole or not at all: written under a temporary name beside the final
// one and renamed when complete. The temporary name says which process wrote it,
// "<final>.tmp-<host>-<pid>", so that what a killed process left can be told from what a live
// one is writing, and removed.
#pragma once
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <string>

namespace hemolens {

// This machine's name, as temporary names and run records give it.
std::string host_name();

// Where this process writes `final_path` before renaming it (a file or a directory).
std::filesystem::path temporary_path(const std::filesystem::path& final_path);

// Removes the temporaries of `final_path` that no live process will finish: written on this
// host by a process that is gone (or by an older hemolens that named them "<final>.tmp-<pid>").
// Those of other hosts (a cluster file system) are left alone: their process may still run.
void remove_stale_temporaries(const std::filesystem::path& final_path);

// Writes `bytes` to `final_path` atomically; throws naming the file when it cannot.
void write_file_atomic(const std::filesystem::path& final_path, const std::string& bytes);

// The same for output too large to hold in memory (a CSV export of a whole store): `write`
// streams into the temporary file, which is renamed once it returns and the stream is good.
// If `write` throws, the temporary is removed and the exception passes on.
void write_file_atomic(const std::filesystem::path& final_path, const std::function<void(std::ostream&)>& write);

}  // namespace hemolens
