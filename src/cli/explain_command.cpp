// `hemolens explain MODEL_DIR IMAGE [--top K]`: why the model chose a class for one image, in
// words: the class probabilities, the anomaly score, and the features that pushed the
// decision most (SHAP contributions), with their sums per feature group. The image is a file,
// or one row of a store (`explain MODEL store.h5 --row 12` or `--id ID`).
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <optional>

#include "cli/commands.hpp"
#include "cli/input.hpp"
#include "hemolens/quality.hpp"
#include "hemolens/schema.hpp"
#include "model/anomaly.hpp"
#include "model/explain.hpp"

namespace fs = std::filesystem;

namespace hemolens::cli {
namespace {

using namespace hemolens::model;

struct ExplainArgs {
  std::string model, image, backend = "auto", id;
  std::optional<std::size_t> row;
  int top = 10, threads = 0;
};

bool is_store(const std::string& input) { return fs::path(input).extension() == ".h5"; }

// One row of a store: the one --row or --id names (--id: the image id or the path as the store
// records it), or the only one. Anything else is refused, saying how to choose.
StoreData store_row(const ExplainArgs& a) {
  const StoreData s = read_store(a.image);
  const std::string how = "choose one with --row I (0.." + std::to_string(s.rows == 0 ? 0 : s.rows - 1) +
                          ") or --id ID (an image id or path; `hemolens export " + a.image + " -o -` lists them)";
  if (s.rows == 0) throw std::runtime_error("explain: store " + a.image + " holds no images");
  std::size_t row = 0;
  if (a.row && !a.id.empty()) throw std::runtime_error("explain: give --row or --id, not both");
  if (a.row) {
    if (*a.row >= s.rows) throw std::runtime_error("explain: store " + a.image + " has " + std::to_string(s.rows) + " rows: " + how);
    row = *a.row;
  } else if (!a.id.empty()) {
    const auto it = std::find_if(s.images.begin(), s.images.end(), [&](const StoreRow& r) { return r.id == a.id || r.path == a.id; });
    if (it == s.images.end()) throw std::runtime_error("explain: no image with id or path '" + a.id + "' in " + a.image + ": " + how);
    row = std::size_t(it - s.images.begin());
  } else if (s.rows > 1) {
    throw std::runtime_error("explain: " + a.image + " is a feature store of " + std::to_string(s.rows) + " images and explain takes one: " + how);
  }
  return select_rows(s, {row});
}

// Measures one image into a one-row store; a file that cannot be used ends the command with
// exit status 1 and the reason.
StoreData measure(const ExplainArgs& a, const fs::path& scratch) {
  if (is_store(a.image)) return store_row(a);
  if (a.row || !a.id.empty()) throw std::runtime_error("explain: --row and --id choose a row of a store (.h5), and " + a.image + " is not one");
  if (!fs::exists(a.image)) throw std::runtime_error("explain: " + a.image + " does not exist");
  if (!fs::is_regular_file(a.image)) throw std::runtime_error("explain: " + a.image + " is not an image file");
  std::string name;
  StoreData s = load_input({{a.image}, a.backend, a.threads}, scratch, &name);
  if (s.rows == 0)
    throw std::runtime_error("explain: cannot use " + a.image + ": " + (s.skipped.empty() ? std::string("no image read") : s.skipped[0].reason));
  return s;
}

const FeatureInfo* info_of(const std::string& name) {
  for (const auto& f : feature_schema().features)
    if (f.name == name) return &f;
  return nullptr;
}

void print_probabilities(const ModelBundle& b, const Explanation& e) {
  std::vector<std::size_t> order(e.proba.size());
  for (std::size_t c = 0; c < order.size(); ++c) order[c] = c;
  std::sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) { return e.proba[x] > e.proba[y]; });
  std::printf("class probabilities:\n");
  for (std::size_t c : order) std::printf("  %-14s %6.1f%%\n", b.classes[c].c_str(), 100.0 * e.proba[c]);
}

void print_anomaly(const ModelBundle& b, const StoreData& s, const Explanation& e, const std::string& device) {
  const std::optional<AnomalyModel> m = load_anomaly(b);
  if (!m) {
    std::printf("anomaly score: none (this bundle has no anomaly model; add one with `hemolens fit-anomaly`)\n");
    return;
  }
  const AnomalyScores a = score_store(*m, s, {e.predicted}, device);
  std::printf("anomaly score: %.3f (threshold %.3f of the %s forest): %s\n", a.score[0], a.threshold[0],
              m->forest_names[std::size_t(a.forest[0])].c_str(),
              !a.flagged[0] ? "looks like the training images" :
              a.reason[0] == "forest" ? "FLAGGED: unlike the training images of this class" :
              ("FLAGGED by segmentation: " + a.reason[0]).c_str());
}

void print_contributions(const ModelBundle& b, const StoreData& s, const Explanation& e) {
  const std::string& cls = b.classes[std::size_t(e.predicted)];
  std::printf("\nwhy %s: the features that moved the decision most (SHAP contributions to the model's score for %s;\n"
              "positive: towards %s, negative: away from it)\n", cls.c_str(), cls.c_str(), cls.c_str());
  if (const std::string scope = explanation_scope(b); !scope.empty()) std::printf("(%s)\n", scope.c_str());
  for (const auto& c : e.top) {
    const std::string& name = b.feature_names[c.feature];
    const FeatureInfo* info = info_of(name);
    const std::string what = info ? info->label : "";
    std::printf("  %+7.3f  %-28s = %-10.4g %s\n", c.value, name.c_str(), s.features[c.feature], what.c_str());
  }
  std::printf("\nby feature group (sum of all contributions of the group):\n");
  for (const auto& [group, sum] : e.groups) std::printf("  %-8s %+7.3f\n", group.c_str(), sum);
  std::printf("  baseline %+7.3f (the score before looking at this image)\n", e.bias);
  std::printf("  total    %+7.3f = the model's score for %s\n", e.margin, cls.c_str());
}

void run(const ExplainArgs& a) {
  const ModelBundle bundle = load_bundle(a.model);
  const ScratchDir scratch("explain");
  const StoreData s = measure(a, scratch.path);
  check_compatible(bundle, s, a.image);
  const Explanation e = explain_rows(bundle, s.features.data(), 1, s.cols, a.top, a.threads)[0];
  if (is_store(a.image)) std::printf("image: %s (row of %s, id %s)\n", s.images[0].path.c_str(), a.image.c_str(), s.images[0].id.c_str());
  else std::printf("image: %s\n", a.image.c_str());
  std::printf("predicted: %s (%.1f%%)\n", bundle.classes[std::size_t(e.predicted)].c_str(), 100.0 * e.proba[std::size_t(e.predicted)]);
  std::printf("segmentation quality: %s\n", s.images[0].flags ? describe_flags(s.images[0].flags).c_str() : "no problem found");
  print_anomaly(bundle, s, e, "auto");
  print_probabilities(bundle, e);
  print_contributions(bundle, s, e);
}

void add_explain_command(CLI::App& app) {
  auto a = std::make_shared<ExplainArgs>();
  CLI::App* cmd = app.add_subcommand("explain", "explain the prediction for one image: probabilities, anomaly score, the features that decided it");
  cmd->add_option("model", a->model, "model bundle directory")->required();
  cmd->add_option("image", a->image, "an image file, or a feature store (.h5) with --row or --id")->required();
  cmd->add_option("--row", a->row, "with a store: the row to explain (0-based)");
  cmd->add_option("--id", a->id, "with a store: the image to explain, by id or by path as the store records it");
  cmd->add_option("--top", a->top, "how many features to list")->capture_default_str()->check(CLI::Range(1, 1000));
  cmd->add_option("--backend", a->backend, "feature extraction backend: cpu, cuda or auto")->check(CLI::IsMember({"cpu", "cuda", "auto"}));
  cmd->add_option("--threads", a->threads, "threads (default: all cores)");
  cmd->callback([a] { run(*a); });
}

const Registration kRegistration{65, add_explain_command};

}  // namespace
}  // namespace hemolens::cli
