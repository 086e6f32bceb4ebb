#include "model/anomaly.hpp"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <limits>
#include <numeric>
#include <random>
#include <stdexcept>

#include "hemolens/atomic_file.hpp"

namespace fs = std::filesystem;

namespace hemolens::model {
namespace {

constexpr char kMagic[8] = {'H', 'L', 'I', 'F', 'O', 'R', 'S', 'T'};

// Linear interpolation between order statistics (numpy's default percentile).
float quantile(std::vector<float> v, double q) {
  if (v.empty()) return 1.0f;
  std::sort(v.begin(), v.end());
  const double pos = q * double(v.size() - 1);
  const std::size_t lo = std::size_t(pos);
  const std::size_t hi = std::min(lo + 1, v.size() - 1);
  return float(v[lo] + (pos - double(lo)) * (v[hi] - v[lo]));
}

// Scores of `rows`, each by a forest that did not see it: k folds, a forest fitted on the
// other k-1 folds scores each fold (the same parameters as the final forest, another seed).
std::vector<float> out_of_fold_scores(const float* x, std::size_t cols, const std::vector<std::size_t>& rows, const AnomalyParams& p,
                                      const std::vector<int>& columns) {
  const std::size_t k = std::min<std::size_t>(std::size_t(std::max(p.calibration_folds, 2)), rows.size());
  std::vector<std::size_t> order(rows.size());  // positions in `rows`, shuffled, dealt to folds in turn
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), std::mt19937_64(p.forest.seed ^ 0xca11b2a7e5ull));
  std::vector<float> scores(rows.size());
  for (std::size_t fold = 0; fold < k; ++fold) {
    std::vector<std::size_t> fit_rows, test_pos;  // row indices to fit on; positions to score
    for (std::size_t i = 0; i < order.size(); ++i) {
      if (i % k == fold)
        test_pos.push_back(order[i]);
      else
        fit_rows.push_back(rows[order[i]]);
    }
    ForestParams fp = p.forest;
    fp.seed = p.forest.seed + 1000003ull * (fold + 1);
    const IsolationForest f = fit_forest(x, cols, fit_rows, fp, columns);
    std::vector<float> test(test_pos.size() * cols);
    for (std::size_t j = 0; j < test_pos.size(); ++j)
      std::memcpy(&test[j * cols], x + rows[test_pos[j]] * cols, cols * sizeof(float));
    const std::vector<float> s = score_cpu(f, test.data(), test_pos.size(), cols, p.threads);
    for (std::size_t j = 0; j < test_pos.size(); ++j) scores[test_pos[j]] = s[j];
  }
  return scores;
}

// The columns of each feature group named in `wanted` (groups with no column are left out).
std::vector<std::pair<std::string, std::vector<int>>> group_columns(const std::vector<std::string>& groups, std::size_t cols,
                                                                      const std::vector<std::string>& wanted) {
  std::vector<std::pair<std::string, std::vector<int>>> out;
  for (const std::string& g : wanted) {
    std::vector<int> c;
    for (std::size_t i = 0; i < groups.size() && i < cols; ++i)
      if (groups[i] == g) c.push_back(int(i));
    if (!c.empty()) out.push_back({g, c});
  }
  return out;
}

// The forests of one group of rows (a class, or all rows): over all features, and over each
// feature group asked for. They are calibrated together: each forest's out-of-fold scores
// are put on a common scale, (score - median) / (95th percentile - median), and one cut on
// the largest of them over the group's forests leaves `contamination` of the rows above it;
// each forest's threshold is that cut in its own score units. So a row is flagged when any
// forest scores it above its threshold, and `contamination` holds for the group however
// many forests it has.
std::vector<int> add_group(AnomalyModel& m, const std::string& name, const float* x, std::size_t cols, const std::vector<std::size_t>& rows,
                           const AnomalyParams& p, const std::vector<std::pair<std::string, std::vector<int>>>& column_groups) {
  std::vector<std::pair<std::string, std::vector<int>>> forests = {{"all", {}}};
  forests.insert(forests.end(), column_groups.begin(), column_groups.end());
  std::vector<std::vector<float>> oof;
  std::vector<float> median, scale;
  for (const auto& [group, columns] : forests) {
    oof.push_back(out_of_fold_scores(x, cols, rows, p, columns));
    median.push_back(quantile(oof.back(), 0.5));
    scale.push_back(std::max(quantile(oof.back(), 0.95) - median.back(), 1e-6f));
  }
  std::vector<float> largest(rows.size(), -std::numeric_limits<float>::infinity());
  for (std::size_t f = 0; f < forests.size(); ++f)
    for (std::size_t r = 0; r < rows.size(); ++r) largest[r] = std::max(largest[r], (oof[f][r] - median[f]) / scale[f]);
  const float cut = quantile(largest, 1.0 - p.contamination);
  std::vector<int> ids;
  for (std::size_t f = 0; f < forests.size(); ++f) {
    const float t = std::isnan(p.threshold) ? median[f] + cut * scale[f] : float(p.threshold);
    m.forests.push_back(fit_forest(x, cols, rows, p.forest, forests[f].second));
    m.forest_names.push_back(name);
    m.forest_columns.push_back(forests[f].first);
    m.forest_rows.push_back(rows.size());
    m.thresholds.push_back(t);
    m.scales.push_back(scale[f]);
    m.calibration_rate.push_back(double(std::count_if(oof[f].begin(), oof[f].end(), [t](float v) { return v > t; })) / double(rows.size()));
    ids.push_back(int(m.forests.size() - 1));
  }
  return ids;
}

void check_params(const AnomalyParams& p) {
  if (std::isnan(p.threshold) && !(p.contamination > 0 && p.contamination < 0.5))
    throw std::runtime_error("anomaly: contamination must lie in (0, 0.5), got " + std::to_string(p.contamination));
  if (!std::isnan(p.threshold) && !(p.threshold > 0 && p.threshold < 1))
    throw std::runtime_error("anomaly: a score threshold must lie in (0, 1), got " + std::to_string(p.threshold));
  if (p.rule != "predicted" && p.rule != "nearest") throw std::runtime_error("anomaly: rule must be 'predicted' or 'nearest', got '" + p.rule + "'");
}

}  // namespace

AnomalyModel fit_anomaly(const float* x, std::size_t rows, std::size_t cols, const std::vector<int>& labels,
                         const std::vector<std::string>& classes, const AnomalyParams& p, const std::vector<std::string>& groups) {
  check_params(p);
  if (labels.size() != rows) throw std::runtime_error("anomaly: labels and rows differ in number");
  if (rows < 2) throw std::runtime_error("anomaly: at least 2 training rows are needed, got " + std::to_string(rows));
  AnomalyModel m;
  m.params = p.forest;
  m.classes = classes;
  m.threshold_source = std::isnan(p.threshold) ? "contamination" : "score";
  m.contamination = std::isnan(p.threshold) ? p.contamination : 0.0;
  m.rule = p.rule;
  std::vector<std::vector<std::size_t>> by_class(classes.size());
  for (std::size_t i = 0; i < rows; ++i)
    if (labels[i] >= 0 && std::size_t(labels[i]) < classes.size()) by_class[std::size_t(labels[i])].push_back(i);
  const auto column_groups = group_columns(groups, cols, p.group_forests);
  m.class_forests.assign(classes.size(), {});
  for (std::size_t c = 0; c < classes.size() && p.per_class; ++c)
    if (by_class[c].size() >= std::size_t(std::max(p.min_class_rows, 2)))
      m.class_forests[c] = add_group(m, classes[c], x, cols, by_class[c], p, column_groups);
  const auto unjudged = [](const std::vector<int>& f) { return f.empty(); };
  if (classes.empty() || std::any_of(m.class_forests.begin(), m.class_forests.end(), unjudged)) {
    std::vector<std::size_t> all(rows);
    std::iota(all.begin(), all.end(), 0);
    m.all_forests = add_group(m, "all", x, cols, all, p, column_groups);
    for (auto& f : m.class_forests)
      if (f.empty()) f = m.all_forests;
  }
  return m;
}

AnomalyModel fit_anomaly(const StoreData& store, const std::vector<std::string>& classes, const AnomalyParams& p) {
  if (!store.classes.empty() && store.classes != classes)
    throw std::runtime_error("anomaly: the store's classes differ from the model's; fit on the store the model was trained on");
  std::vector<float> x;
  std::vector<int> labels;
  const std::uint32_t skip = kNoCell | kMultipleNucleated;
  for (std::size_t i = 0; i < store.rows; ++i) {
    if (store.images[i].flags & skip) continue;  // segmentation flags these anyway; they would widen "normal"
    x.insert(x.end(), store.features.begin() + std::ptrdiff_t(i * store.cols), store.features.begin() + std::ptrdiff_t((i + 1) * store.cols));
    labels.push_back(store.images[i].label);
  }
  return fit_anomaly(x.data(), labels.size(), store.cols, labels, classes, p, store.feature_groups);
}

AnomalyScores score_anomaly(const AnomalyModel& m, const float* x, std::size_t rows, std::size_t cols, const std::vector<int>& predicted,
                            const std::vector<std::uint32_t>& flags, const std::string& device, int threads) {
  if (predicted.size() != rows || flags.size() != rows) throw std::runtime_error("anomaly: predictions or flags do not match the rows");
  const auto group_of = [&](int c) -> const std::vector<int>& {
    const std::vector<int>& g = c >= 0 && std::size_t(c) < m.class_forests.size() ? m.class_forests[std::size_t(c)] : m.all_forests;
    if (g.empty()) throw std::runtime_error("anomaly: no forest for predicted class " + std::to_string(c));
    return g;
  };
  // Only the forests that can judge some row are run, each over all rows in one call.
  std::vector<char> needed(m.forests.size(), m.rule == "nearest");
  for (int c : predicted)
    for (int f : group_of(c)) needed[std::size_t(f)] = 1;
  std::vector<std::vector<float>> s(m.forests.size());
  AnomalyScores out;
  out.device = "cpu";
  for (std::size_t f = 0; f < m.forests.size(); ++f)
    if (needed[f]) s[f] = score_forest(m.forests[f], x, rows, cols, device, &out.device, threads);
  const auto margin = [&](int f, std::size_t i) {
    return (s[std::size_t(f)][i] - m.thresholds[std::size_t(f)]) / m.scales[std::size_t(f)];
  };
  // The forest of a group with the largest margin speaks for the group.
  const auto worst = [&](const std::vector<int>& g, std::size_t i) {
    int best = g[0];
    for (int f : g)
      if (margin(f, i) > margin(best, i)) best = f;
    return best;
  };
  out.score.resize(rows);
  out.threshold.resize(rows);
  out.forest.resize(rows);
  out.flagged.resize(rows);
  out.reason.resize(rows);
  out.margin.resize(rows);
  for (std::size_t i = 0; i < rows; ++i) {
    int f = worst(group_of(predicted[i]), i);
    if (m.rule == "nearest")
      for (const auto& g : m.class_forests)
        if (const int w = worst(g, i); margin(w, i) < margin(f, i)) f = w;
    out.forest[i] = f;
    out.score[i] = s[std::size_t(f)][i];
    out.threshold[i] = m.thresholds[std::size_t(f)];
    out.margin[i] = margin(f, i);
    const std::uint32_t forced = flags[i] & m.override_flags;
    out.flagged[i] = forced != 0 || out.score[i] > out.threshold[i];
    out.reason[i] = forced ? describe_flags(forced) : out.flagged[i] ? "forest" : "";
  }
  return out;
}

AnomalyScores score_store(const AnomalyModel& m, const StoreData& store, const std::vector<int>& predicted, const std::string& device,
                          int threads) {
  std::vector<std::uint32_t> flags(store.rows);
  for (std::size_t i = 0; i < store.rows; ++i) flags[i] = store.images[i].flags;
  return score_anomaly(m, store.features.data(), store.rows, store.cols, predicted, flags, device, threads);
}

nlohmann::json anomaly_json(const AnomalyModel& m) {
  nlohmann::json forests = nlohmann::json::array();
  for (std::size_t f = 0; f < m.forests.size(); ++f)
    forests.push_back({{"name", m.forest_names[f]},
                       {"columns", m.forest_columns[f]},
                       {"training_rows", m.forest_rows[f]},
                       {"sample_size", m.forests[f].sample_size},
                       {"trees", m.forests[f].trees()},
                       {"nodes", m.forests[f].nodes()},
                       {"threshold", m.thresholds[f]},
                       {"scale", m.scales[f]},
                       {"out_of_fold_flag_rate", m.calibration_rate[f]}});
  nlohmann::json class_forest = nlohmann::json::object();
  for (std::size_t c = 0; c < m.classes.size(); ++c) class_forest[m.classes[c]] = m.class_forests[c];
  const std::vector<std::string> overrides = flag_names(m.override_flags);
  return {{"format", "hemolens-isolation-forest"},
          {"version", kAnomalyFormatVersion},
          {"method", "isolation forest (Liu, Ting and Zhou 2008): per class, over all features and over the quality features"},
          {"params", {{"trees", m.params.trees}, {"samples", m.params.samples}, {"seed", m.params.seed}}},
          {"threshold_source", m.threshold_source},
          {"contamination", m.contamination},
          {"rule", m.rule},
          {"forests", forests},
          {"class_forest", class_forest},
          {"all_forests", m.all_forests},
          {"override_flags", overrides}};
}

void add_anomaly_to_bundle(const fs::path& dir, const AnomalyModel& m, const nlohmann::json& extra) {
  std::ifstream in(dir / "bundle.json");
  nlohmann::json meta = nlohmann::json::parse(in, nullptr, false);
  if (!in || meta.is_discarded() || !meta.is_object()) throw std::runtime_error("model bundle " + dir.string() + ": bundle.json is missing or damaged");
  if (meta.contains("classes") && meta["classes"].get<std::vector<std::string>>() != m.classes)
    throw std::runtime_error("model bundle " + dir.string() + ": the anomaly model's classes differ from the classifier's");
  remove_stale_temporaries(dir / "anomaly.bin");
  const fs::path tmp = temporary_path(dir / "anomaly.bin");
  {
    std::ofstream out(tmp, std::ios::binary);
    out.write(kMagic, sizeof kMagic);
    const std::uint32_t head[2] = {std::uint32_t(kAnomalyFormatVersion), std::uint32_t(m.forests.size())};
    out.write(reinterpret_cast<const char*>(head), sizeof head);
    for (const auto& f : m.forests) write_forest(out, f);
    out.flush();
    if (!out) throw std::runtime_error("model bundle " + dir.string() + ": cannot write the forest file");
  }
  const std::string hash = file_xxh3(tmp);
  const std::string name = "anomaly-" + hash + ".bin";
  fs::rename(tmp, dir / name);
  const std::string old = meta.contains("anomaly") ? meta["anomaly"].value("file", "") : "";
  nlohmann::json entry = anomaly_json(m);
  entry["file"] = name;
  entry["file_xxh3"] = hash;
  entry["created"] = utc_now_iso8601();
  if (extra.is_object()) entry.update(extra);
  meta["anomaly"] = entry;
  write_bundle_meta(dir, meta);
  if (!old.empty() && old != name) fs::remove(dir / old);
}

std::optional<AnomalyModel> load_anomaly(const ModelBundle& bundle) {
  if (!bundle.meta.contains("anomaly")) return std::nullopt;
  const auto fail = [&](const std::string& what) { return std::runtime_error("model bundle " + bundle.dir.string() + ": anomaly model " + what); };
  const nlohmann::json& j = bundle.meta["anomaly"];
  try {
    if (j.value("format", "") != "hemolens-isolation-forest") throw fail("of an unknown format");
    if (j.value("version", 0) != kAnomalyFormatVersion)
      throw fail("of format version " + std::to_string(j.value("version", 0)) + "; this hemolens reads version " +
                 std::to_string(kAnomalyFormatVersion) + ": fit it again with `hemolens fit-anomaly`");
    const fs::path file = bundle.dir / j.at("file").get<std::string>();
    if (!fs::exists(file)) throw fail("file " + file.filename().string() + " is missing");
    if (file_xxh3(file) != j.at("file_xxh3").get<std::string>())
      throw fail("file " + file.filename().string() + " does not match its hash in bundle.json (damaged or truncated)");
    std::ifstream in(file, std::ios::binary);
    char magic[8] = {};
    std::uint32_t head[2] = {};
    in.read(magic, sizeof magic);
    in.read(reinterpret_cast<char*>(head), sizeof head);
    if (!in || std::memcmp(magic, kMagic, sizeof kMagic) != 0 || head[0] != std::uint32_t(kAnomalyFormatVersion))
      throw fail("file is not a hemolens forest file");
    AnomalyModel m;
    m.classes = bundle.classes;
    for (std::uint32_t f = 0; f < head[1]; ++f) m.forests.push_back(read_forest(in, file.string()));
    const auto& forests = j.at("forests");
    if (forests.size() != m.forests.size()) throw fail("lists " + std::to_string(forests.size()) + " forests, the file holds " + std::to_string(m.forests.size()));
    for (const auto& f : forests) {
      m.forest_names.push_back(f.at("name").get<std::string>());
      m.forest_columns.push_back(f.at("columns").get<std::string>());
      m.forest_rows.push_back(f.at("training_rows").get<std::size_t>());
      m.thresholds.push_back(f.at("threshold").get<float>());
      m.scales.push_back(f.at("scale").get<float>());
      m.calibration_rate.push_back(f.at("out_of_fold_flag_rate").get<double>());
    }
    if (j.at("class_forest").size() != bundle.classes.size())
      throw fail("names forests for " + std::to_string(j.at("class_forest").size()) + " classes, the classifier has " +
                 std::to_string(bundle.classes.size()));
    for (const auto& c : bundle.classes) {
      const auto ids = j.at("class_forest").at(c).get<std::vector<int>>();
      for (int f : ids)
        if (f < 0 || std::size_t(f) >= m.forests.size()) throw fail("names no valid forest for class " + c);
      if (ids.empty()) throw fail("names no forest for class " + c);
      m.class_forests.push_back(ids);
    }
    for (const auto& f : m.forests)
      if (std::size_t(f.features) != bundle.feature_names.size()) throw fail("was fitted on another number of features than the classifier");
    m.all_forests = j.at("all_forests").get<std::vector<int>>();
    for (int f : m.all_forests)
      if (f < 0 || std::size_t(f) >= m.forests.size()) throw fail("names an invalid all-rows forest");
    m.params = {j.at("params").at("trees").get<int>(), j.at("params").at("samples").get<int>(), j.at("params").at("seed").get<std::uint64_t>()};
    m.threshold_source = j.at("threshold_source").get<std::string>();
    m.contamination = j.at("contamination").get<double>();
    m.rule = j.value("rule", "predicted");
    m.override_flags = 0;
    for (const auto& name : j.at("override_flags").get<std::vector<std::string>>()) {
      const std::uint32_t bit = flag_bit(name);
      if (!bit) throw fail("overrides an unknown quality flag '" + name + "'");
      m.override_flags |= bit;
    }
    return m;
  } catch (const nlohmann::json::exception& e) {
    throw fail(std::string("entry in bundle.json is incomplete: ") + e.what());
  }
}

}  // namespace hemolens::model
