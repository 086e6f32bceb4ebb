#include "cli/input.hpp"

#include <unistd.h>  // for getpid

#include <fstream>
#include <stdexcept>

#include "hemolens/backend.hpp"
#include "pipeline/extract.hpp"

namespace fs = std::filesystem;

namespace hemolens::cli {

ScratchDir::ScratchDir(const std::string& tag)
    : path(fs::temp_directory_path() / ("hemolens-" + tag + "-" + std::to_string(::getpid()))) {
  fs::create_directories(path);
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  fs::remove_all(path, ec);
}

StoreData load_input(const InputOptions& in, const fs::path& scratch, std::string* name) {
  *name = in.inputs.at(0);
  if (in.inputs.size() == 1 && fs::path(in.inputs[0]).extension() == ".h5") return read_store(in.inputs[0]);
  ExtractOptions opt;
  opt.backend = parse_backend_kind(in.backend);
  opt.threads = in.threads;
  opt.output = scratch / "input.h5";
  opt.input = in.inputs[0];
  if (in.inputs.size() > 1 || (fs::is_regular_file(in.inputs[0]) && fs::path(in.inputs[0]).extension() != ".csv")) {
    opt.input = scratch / "inputs.csv";  // image files: an unlabelled manifest of absolute paths
    std::ofstream m(opt.input);
    m << "path,label\n";
    for (const auto& f : in.inputs) {
      if (fs::is_directory(f)) throw std::runtime_error("give one folder, or image files, not both: " + f);
      m << csv_field(fs::absolute(f).string()) << ",\n";
    }
  }
  run_extract(opt);
  return read_store(opt.output);
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string o = "\"";
  for (char c : s) o += c == '"' ? std::string("\"\"") : std::string(1, c);
  return o + "\"";
}

}  // namespace hemolens::cli
