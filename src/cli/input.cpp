#include "cli/input.hpp"

#include <unistd.h>  // for getpid

#include <fstream>
#include <stdexcept>

#include "cli/csv_table.hpp"
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

void require_images(const StoreData& store, const std::string& name, const std::string& command) {
  if (store.rows > 0) return;
  if (store.skipped.empty()) throw std::runtime_error(command + ": " + name + " holds no images");
  std::string why;
  for (std::size_t i = 0; i < store.skipped.size() && i < 3; ++i)
    why += (i ? "; " : "") + store.skipped[i].path + ": " + store.skipped[i].reason;
  if (store.skipped.size() > 3) why += "; ...";
  throw std::runtime_error(command + ": no image of " + name + " could be used (" + std::to_string(store.skipped.size()) +
                           " skipped: " + why + ")");
}

}  // namespace hemolens::cli
