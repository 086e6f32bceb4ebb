// `hemolens fit-anomaly MODEL_DIR STORE`: fits the isolation forests (one per class) on the
// training store and adds them to an existing model bundle (docs/anomaly.md).
#include <cmath>
#include <cstdio>
#include <memory>

#include "cli/commands.hpp"
#include "hemolens/store.hpp"
#include "model/anomaly.hpp"
#include "model/bundle.hpp"

namespace hemolens::cli {
namespace {

using namespace hemolens::model;

struct FitAnomalyArgs {
  std::string model, store;
  AnomalyParams params;
  bool global = false;
};

void run(const FitAnomalyArgs& a) {
  const ModelBundle bundle = load_bundle(a.model);
  const StoreData store = read_store(a.store);
  check_compatible(bundle, store, a.store);
  AnomalyParams p = a.params;
  p.per_class = !a.global;
  const AnomalyModel m = fit_anomaly(store, bundle.classes, p);
  add_anomaly_to_bundle(a.model, m, {{"training_store", {{"path", a.store}, {"fingerprint", store_fingerprint(store)}, {"images", store.rows}}}});
  std::printf("isolation forests: %d trees of up to %d samples each, seed %llu; threshold from %s\n", p.forest.trees, p.forest.samples,
              static_cast<unsigned long long>(p.forest.seed),
              m.threshold_source == "score" ? ("the score " + std::to_string(p.threshold)).c_str()
                                            : ("contamination " + std::to_string(p.contamination)).c_str());
  std::printf("  %-14s %-9s %8s %10s %22s\n", "forest", "features", "rows", "threshold", "out-of-fold flag rate");
  for (std::size_t f = 0; f < m.forests.size(); ++f)
    std::printf("  %-14s %-9s %8zu %10.4f %21.1f%%\n", m.forest_names[f].c_str(), m.forest_columns[f].c_str(), m.forest_rows[f], m.thresholds[f],
                100 * m.calibration_rate[f]);
  std::printf("added to %s (bundle.json \"anomaly\")\n", a.model.c_str());
}

void add_fit_anomaly_command(CLI::App& app) {
  auto a = std::make_shared<FitAnomalyArgs>();
  CLI::App* cmd = app.add_subcommand("fit-anomaly", "fit isolation forests (one per class) on a store and add them to a model bundle");
  cmd->add_option("model", a->model, "model bundle directory (from `hemolens train`)")->required();
  cmd->add_option("store", a->store, "the feature store the model was trained on")->required()->check(CLI::ExistingFile);
  cmd->add_option("--contamination", a->params.contamination, "share of each class's training images to flag (sets the thresholds)")
      ->capture_default_str()
      ->check(CLI::Range(0.001, 0.5));
  cmd->add_option("--threshold", a->params.threshold, "an explicit score threshold in (0, 1) for every class instead of --contamination")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--trees", a->params.forest.trees, "trees per forest")->capture_default_str()->check(CLI::Range(1, 100000));
  cmd->add_option("--samples", a->params.forest.samples, "rows sampled per tree (psi)")->capture_default_str()->check(CLI::Range(2, 1 << 20));
  cmd->add_option("--seed", a->params.forest.seed, "random seed")->capture_default_str();
  cmd->add_option("--min-class-rows", a->params.min_class_rows, "a class with fewer training rows is judged by the all-classes forest")
      ->capture_default_str();
  cmd->add_option("--rule", a->params.rule,
                  "which forest judges an image: predicted (its predicted class) or nearest (the class it is most typical of)")
      ->capture_default_str()
      ->check(CLI::IsMember({"predicted", "nearest"}));
  cmd->add_flag("--global", a->global, "one forest over all classes instead of one per class");
  cmd->add_option("--group-forests", a->params.group_forests,
                  "feature groups that also get a forest of their own, comma-separated (quality, shape, colour, texture, moments; none)")
      ->delimiter(',')
      ->capture_default_str()
      ->check(CLI::IsMember({"quality", "shape", "colour", "texture", "moments", "none"}));
  cmd->add_option("--threads", a->params.threads, "threads (default: all cores)");
  cmd->callback([a] { run(*a); });
}

const Registration kRegistration{45, add_fit_anomaly_command};

}  // namespace
}  // namespace hemolens::cli
