// The triage (docs/triage.md) measured honestly on a labelled store, by repeated
// cross-validation: every image is predicted by a model that did not see it (k-fold, as
// `train --cv` does), and the triage is fitted, as `train` fits it, on the out-of-fold
// predictions of the other folds' images only, then judged on the fold it did not see. So the
// threshold, the calibration and the conformal cuts are never scored on images they were fitted
// on. The quality flags send images to review as in production; the anomaly forests are not
// fitted here (they add about their contamination, ~3 % of normal images, on top).
//
// usage: hemolens_triage_cv STORE [--repeats 3] [--folds 5] [--accept-accuracy 0.995] [--alpha 0.01] [--threads 2]
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "hemolens/store.hpp"
#include "model/calibration.hpp"
#include "model/labelled.hpp"
#include "model/metrics.hpp"
#include "model/train.hpp"
#include "model/triage.hpp"

using namespace hemolens;
using namespace hemolens::model;

namespace {

struct Tally {
  std::size_t rows = 0, accepted = 0, accepted_correct = 0, covered = 0, set_size = 0, flagged = 0;
  std::vector<std::size_t> class_rows, class_covered;
  std::vector<float> raw, calibrated;  // the judged rows, rows x classes
  std::vector<int> labels;
  std::map<std::string, int> methods;
  std::vector<double> thresholds;
};

void judge(const Triage& t, const std::vector<float>& raw, const std::vector<int>& labels, const std::vector<std::uint32_t>& flags,
           std::size_t k, Tally& out) {
  const std::vector<float> p = t.calibration.apply(raw, k);
  for (std::size_t r = 0; r < labels.size(); ++r) {
    const float* row = &p[r * k];
    const Decision d = decide(&t, row, k, flags[r], false);
    const bool correct = int(std::max_element(row, row + k) - row) == labels[r];
    const bool covered = std::find(d.set.begin(), d.set.end(), labels[r]) != d.set.end();
    ++out.rows;
    out.accepted += d.accept;
    out.accepted_correct += d.accept && correct;
    out.covered += covered;
    out.set_size += d.set.size();
    out.flagged += (flags[r] & t.review.review_flags) != 0;
    ++out.class_rows[std::size_t(labels[r])];
    out.class_covered[std::size_t(labels[r])] += covered;
  }
  out.raw.insert(out.raw.end(), raw.begin(), raw.end());
  out.calibrated.insert(out.calibrated.end(), p.begin(), p.end());
  out.labels.insert(out.labels.end(), labels.begin(), labels.end());
  ++out.methods[t.calibration.method];
  out.thresholds.push_back(t.review.threshold);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"the triage measured by repeated cross-validation on a labelled store"};
  std::string store_path;
  int repeats = 3, folds = 5, threads = 2;
  TriageOptions options;
  app.add_option("store", store_path, "labelled feature store (.h5)")->required();
  app.add_option("--repeats", repeats, "cross-validations, each with its own seed");
  app.add_option("--folds", folds, "folds of each cross-validation (and of the triage's outer split)");
  app.add_option("--accept-accuracy", options.accept_accuracy, "target accuracy of the accepted images");
  app.add_option("--alpha", options.alpha, "prediction sets miss the true class at most this often");
  app.add_option("--threads", threads, "XGBoost threads");
  CLI11_PARSE(app, argc, argv);

  const StoreData store = read_store(store_path);
  const LabelledData data = labelled_rows(store, store_path);
  const Table& table = data.table;
  const std::size_t k = table.classes.size();
  std::vector<std::uint32_t> flags;
  for (std::size_t r : data.store_row) flags.push_back(store.images[r].flags);
  TrainParams params;
  params.device = "cpu";
  params.threads = threads;
  std::printf("%zu images, %zu classes; %d x %d-fold cross-validation; target accuracy %.4f, alpha %.3f\n\n", table.rows, k, repeats, folds,
              options.accept_accuracy, options.alpha);
  std::printf("| repeat | calibration | thresholds | coverage | accepted accuracy | set coverage | mean set size | ECE raw | ECE calibrated | "
              "log-loss raw | log-loss calibrated | quality-flagged |\n|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (int rep = 0; rep < repeats; ++rep) {
    const std::uint64_t seed = 42 + std::uint64_t(rep);
    const CvResult cv = cross_validate(table, params, folds, seed);
    // The triage's outer split: fitted on k-1 folds of the out-of-fold rows, judged on the k-th.
    const std::vector<int> outer = stratified_folds(table.labels, folds, seed + 1000);
    Tally tally;
    tally.class_rows.assign(k, 0);
    tally.class_covered.assign(k, 0);
    for (int f = 0; f < folds; ++f) {
      std::vector<float> fit_p, test_p;
      std::vector<int> fit_y, test_y;
      std::vector<std::uint32_t> fit_flags, test_flags;
      for (std::size_t r = 0; r < table.rows; ++r) {
        const auto row = cv.proba.begin() + std::ptrdiff_t(r * k);
        const bool test = outer[r] == f;
        (test ? test_p : fit_p).insert((test ? test_p : fit_p).end(), row, row + std::ptrdiff_t(k));
        (test ? test_y : fit_y).push_back(table.labels[r]);
        (test ? test_flags : fit_flags).push_back(flags[r]);
      }
      TriageOptions o = options;
      o.seed = seed;
      Triage t = fit_triage(fit_p, fit_y, fit_flags, k, o);
      t.folds = folds;
      judge(t, test_p, test_y, test_flags, k, tally);
    }
    std::string methods, thresholds;
    for (const auto& [m, n] : tally.methods) methods += (methods.empty() ? "" : ", ") + m + " x" + std::to_string(n);
    for (double th : tally.thresholds) {
      char b[16];
      std::snprintf(b, sizeof b, "%.3f", th);
      thresholds += (thresholds.empty() ? "" : " / ") + (std::isinf(th) ? std::string("never") : std::string(b));
    }
    const double n = double(tally.rows);
    std::printf("| %d | %s | %s | %.2f %% | %.2f %% | %.2f %% | %.3f | %.4f | %.4f | %.4f | %.4f | %.2f %% |\n", rep + 1, methods.c_str(),
                thresholds.c_str(), 100 * double(tally.accepted) / n, 100 * double(tally.accepted_correct) / double(tally.accepted),
                100 * double(tally.covered) / n, double(tally.set_size) / n, reliability(tally.raw, tally.labels, k).ece,
                reliability(tally.calibrated, tally.labels, k).ece, log_loss(tally.raw, tally.labels, k),
                log_loss(tally.calibrated, tally.labels, k), 100 * double(tally.flagged) / n);
    std::printf("|   | set coverage per class:");
    for (std::size_t c = 0; c < k; ++c)
      std::printf(" %s %.2f %%%s", table.classes[c].c_str(), 100 * double(tally.class_covered[c]) / double(std::max<std::size_t>(tally.class_rows[c], 1)),
                  c + 1 < k ? "," : "");
    std::printf(" | | | | | | | | | | |\n");
    std::fflush(stdout);
  }
  return 0;
}
