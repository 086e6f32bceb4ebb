#include <unistd.h>  // for getpid

#include <cstdio>
#include <fstream>
#include <memory>

#include "cli/commands.hpp"
#include "hemolens/dataset.hpp"
#include "hemolens/quality.hpp"
#include "model/predict.hpp"
#include "pipeline/extract.hpp"

namespace fs = std::filesystem;

namespace hemolens::cli {
namespace {

using namespace hemolens::model;

struct PredictArgs {
  std::string model, output, backend = "auto";
  std::vector<std::string> inputs;
  int threads = 0;
};

// A store as given, or one extracted now from a folder, a manifest or image files.
struct Input {
  StoreData store;
  std::string name;
};

Input load_input(const PredictArgs& a, const fs::path& scratch) {
  if (a.inputs.size() == 1 && fs::path(a.inputs[0]).extension() == ".h5") return {read_store(a.inputs[0]), a.inputs[0]};
  ExtractOptions opt;
  opt.backend = parse_backend_kind(a.backend);
  opt.threads = a.threads;
  opt.output = scratch / "input.h5";
  if (a.inputs.size() == 1 && !fs::is_regular_file(a.inputs[0])) {
    opt.input = a.inputs[0];
  } else if (a.inputs.size() == 1 && fs::path(a.inputs[0]).extension() == ".csv") {
    opt.input = a.inputs[0];
  } else {
    // Image files: a manifest of absolute paths, unlabelled.
    opt.input = scratch / "inputs.csv";
    std::ofstream m(opt.input);
    m << "path,label\n";
    for (const auto& f : a.inputs) {
      if (fs::is_directory(f)) throw std::runtime_error("give one folder, or image files, not both: " + f);
      m << '"' << fs::absolute(f).string() << "\",\n";
    }
  }
  run_extract(opt);
  StoreData s = read_store(opt.output);
  return {std::move(s), opt.input.string()};
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string o = "\"";
  for (char c : s) o += c == '"' ? std::string("\"\"") : std::string(1, c);
  return o + "\"";
}

void write_csv(const fs::path& out, const ModelBundle& bundle, const StoreData& store, const Predictions& p) {
  std::ofstream csv(out);
  if (!csv) throw std::runtime_error("cannot write " + out.string());
  csv << "path,predicted";
  for (const auto& c : bundle.classes) csv << ",p_" << c;
  csv << ",quality_flags,skipped_reason\n";
  for (std::size_t i = 0; i < store.rows; ++i) {
    csv << csv_field(store.images[i].path) << ',' << bundle.classes[std::size_t(p.predicted[i])];
    for (std::size_t c = 0; c < p.classes; ++c) {
      char v[32];
      std::snprintf(v, sizeof v, ",%.6f", p.proba[i * p.classes + c]);
      csv << v;
    }
    csv << ',' << describe_flags(store.images[i].flags) << ",\n";
  }
  for (const auto& k : store.skipped) {
    csv << csv_field(k.path) << ',';
    for (std::size_t c = 0; c < p.classes; ++c) csv << ',';
    csv << ',' << csv_field(k.reason) << '\n';
  }
}

void run(const PredictArgs& a) {
  const ModelBundle bundle = load_bundle(a.model);
  const fs::path scratch = fs::temp_directory_path() / ("hemolens-predict-" + std::to_string(::getpid()));
  fs::create_directories(scratch);
  struct Cleanup {
    fs::path p;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(p, ec);
    }
  } cleanup{scratch};
  const Input in = load_input(a, scratch);
  const Predictions p = predict_store(bundle, in.store, in.name, a.threads);
  write_csv(a.output, bundle, in.store, p);
  std::printf("predicted %zu images, %zu skipped; wrote %s\n", in.store.rows, in.store.skipped.size(), a.output.c_str());
  for (const auto& k : in.store.skipped) std::printf("  skipped %s: %s\n", k.path.c_str(), k.reason.c_str());
}

void add_predict_command(CLI::App& app) {
  auto a = std::make_shared<PredictArgs>();
  CLI::App* cmd = app.add_subcommand("predict", "classify images (a store, a folder, a manifest or image files) with a model bundle");
  cmd->add_option("model", a->model, "model bundle directory")->required();
  cmd->add_option("inputs", a->inputs, "a store (.h5), a folder, a path,label CSV, or image files")->required();
  cmd->add_option("-o,--output", a->output, "predictions CSV: path, class, probability per class, quality flags")->required();
  cmd->add_option("--backend", a->backend, "feature extraction backend for images: cpu, cuda or auto")
      ->check(CLI::IsMember({"cpu", "cuda", "auto"}));
  cmd->add_option("--threads", a->threads, "threads (default: all cores)");
  cmd->callback([a] { run(*a); });
}

const Registration kRegistration{60, add_predict_command};

}  // namespace
}  // namespace hemolens::cli
