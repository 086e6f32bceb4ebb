// The input of a file-reading fuzz target, written to a file of this process's own (libhdf5 and
// XGBoost open files by name), overwritten by each input.
#pragma once
#include <unistd.h>  // for getpid

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

inline std::filesystem::path write_input_file(const std::uint8_t* data, std::size_t size, const std::string& name) {
  const std::filesystem::path p = std::filesystem::temp_directory_path() / ("hemolens-fuzz-" + std::to_string(::getpid()) + "-" + name);
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), std::streamsize(size));
  return p;
}
