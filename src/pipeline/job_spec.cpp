#include "pipeline/job_spec.hpp"

#include <toml++/toml.h>

#include <fstream>
#include <functional>
#include <limits>
#include <regex>
#include <sstream>
#include <stdexcept>

namespace hemolens {
namespace fs = std::filesystem;

namespace {

// Where a value came from, for messages: "jobs/x.toml:12: extract.shards: must be >= 1".
struct Source {
  std::string file;

  [[noreturn]] void fail(const toml::node* node, const std::string& key, const std::string& reason) const {
    std::string where = file;
    if (node && node->source().begin.line > 0) where += ":" + std::to_string(node->source().begin.line);
    throw std::runtime_error(where + ": " + key + ": " + reason);
  }
};

std::string type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    default: return "a date/time";
  }
}

int get_int(const Source& src, const toml::node& n, const std::string& key, long long lo, long long hi) {
  const auto v = n.value_exact<std::int64_t>();
  if (!v) src.fail(&n, key, "must be an integer, got " + type_name(n));
  if (*v < lo || *v > hi)
    src.fail(&n, key, "must be between " + std::to_string(lo) + " and " + std::to_string(hi) + ", got " + std::to_string(*v));
  return static_cast<int>(*v);
}

bool get_bool(const Source& src, const toml::node& n, const std::string& key) {
  const auto v = n.value_exact<bool>();
  if (!v) src.fail(&n, key, "must be true or false, got " + type_name(n));
  return *v;
}

// A share of the images: above 0 and at most `max` (which names itself in the message).
double get_fraction(const Source& src, const toml::node& n, const std::string& key, double max, const std::string& max_text) {
  double v = 0;
  if (const auto f = n.value_exact<double>()) v = *f;
  else if (const auto i = n.value_exact<std::int64_t>()) v = double(*i);
  else src.fail(&n, key, "must be a number, got " + type_name(n));
  if (!(v > 0 && v <= max)) src.fail(&n, key, "must be above 0 and at most " + max_text + ", got " + std::to_string(v));
  return v;
}

std::string get_string(const Source& src, const toml::node& n, const std::string& key) {
  const auto v = n.value_exact<std::string>();
  if (!v) src.fail(&n, key, "must be a string, got " + type_name(n));
  return *v;
}

std::string get_choice(const Source& src, const toml::node& n, const std::string& key, const std::vector<std::string>& choices) {
  std::string v = get_string(src, n, key);
  std::string list;
  for (const auto& c : choices) {
    if (v == c) return v;
    list += (list.empty() ? "" : ", ") + c;
  }
  src.fail(&n, key, "'" + v + "' is not one of " + list);
}

// Values that end up on an sbatch command line must be single shell-safe words.
std::string get_matching(const Source& src, const toml::node& n, const std::string& key, const std::regex& re,
                         const std::string& expected) {
  std::string v = get_string(src, n, key);
  if (!std::regex_match(v, re)) src.fail(&n, key, "'" + v + "' is not " + expected);
  return v;
}

// A path: relative ones are anchored at `base` (the spec's directory).
fs::path get_path(const Source& src, const toml::node& n, const std::string& key, const fs::path& base) {
  const std::string v = get_string(src, n, key);
  if (v.empty()) src.fail(&n, key, "must not be empty");
  return (base / v).lexically_normal();
}

using Handler = std::function<void(const toml::node&, const std::string& key)>;

// Calls the handler of every key in `table`; a key without a handler is an error that lists
// the known ones, so a typo never silently falls back to a default.
void read_table(const Source& src, const toml::table& table, const std::string& prefix,
                const std::map<std::string, Handler>& handlers) {
  for (const auto& [k, node] : table) {
    const std::string key = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    const auto h = handlers.find(std::string(k.str()));
    if (h == handlers.end()) {
      std::string known;
      for (const auto& [name, fn] : handlers) known += (known.empty() ? "" : ", ") + name;
      src.fail(&node, key, "unknown key (known here: " + known + ")");
    }
    h->second(node, key);
  }
}

const toml::table& as_table(const Source& src, const toml::node& n, const std::string& key) {
  if (!n.is_table()) src.fail(&n, key, "must be a table ([" + key + "]), got " + type_name(n));
  return *n.as_table();
}

std::map<std::string, Handler> slurm_handlers(const Source& src, SlurmResources& r) {
  static const std::regex kName(R"([A-Za-z0-9_.,-]*)");
  static const std::regex kConstraint(R"([A-Za-z0-9_.,&|\[\]*()-]*)");
  static const std::regex kTime(R"((([0-9]+-)?[0-9]+(:[0-9]+){0,2})?)");
  static const std::regex kMem(R"(([0-9]+[KMGT]?)?)");
  static const std::regex kGres(R"(([A-Za-z0-9_]+(:[A-Za-z0-9_.-]+)*(,[A-Za-z0-9_]+(:[A-Za-z0-9_.-]+)*)*)?)");
  static const std::string name_rule = "a SLURM name (letters, digits, '_', '.', '-', ',')";
  // The handlers outlive this function: they capture only `src`, `r` and statics.
  return {
      {"partition", [&](const toml::node& n, const std::string& k) { r.partition = get_matching(src, n, k, kName, name_rule); }},
      {"account", [&](const toml::node& n, const std::string& k) { r.account = get_matching(src, n, k, kName, name_rule); }},
      {"qos", [&](const toml::node& n, const std::string& k) { r.qos = get_matching(src, n, k, kName, name_rule); }},
      {"constraint", [&](const toml::node& n, const std::string& k) {
         r.constraint = get_matching(src, n, k, kConstraint, "a SLURM constraint such as \"a100|h100\"");
       }},
      {"time", [&](const toml::node& n, const std::string& k) {
         r.time = get_matching(src, n, k, kTime, "a SLURM time such as \"30\", \"02:00:00\" or \"1-12:00\"");
       }},
      {"cpus", [&](const toml::node& n, const std::string& k) { r.cpus = get_int(src, n, k, 1, 4096); }},
      {"mem", [&](const toml::node& n, const std::string& k) {
         r.mem = get_matching(src, n, k, kMem, "a SLURM memory size such as \"4G\" or \"500M\"");
       }},
      {"gres", [&](const toml::node& n, const std::string& k) {
         r.gres = get_matching(src, n, k, kGres, "a SLURM gres such as \"gpu:1\" or \"gpu:a100:2\" (\"\" for none)");
       }},
      {"array_limit", [&](const toml::node& n, const std::string& k) { r.array_limit = get_int(src, n, k, 0, 1000000); }},
  };
}

// [slurm]: resource keys for every stage, and one sub-table per stage that overrides them.
// Two passes because the overrides start from the complete [slurm] defaults.
void read_slurm(const Source& src, const toml::table& t, JobSpec& spec) {
  auto handlers = slurm_handlers(src, spec.slurm);
  for (const auto& stage : known_stage_names()) handlers[stage] = [](const toml::node&, const std::string&) {};
  read_table(src, t, "slurm", handlers);
  for (const auto& stage : known_stage_names()) {
    const toml::node* n = t.get(stage);
    if (!n) continue;
    SlurmResources r = spec.slurm;
    read_table(src, as_table(src, *n, "slurm." + stage), "slurm." + stage, slurm_handlers(src, r));
    spec.slurm_stage[stage] = r;
  }
}

void read_extract(const Source& src, const toml::table& t, ExtractParams& e) {
  read_table(src, t, "extract",
             {{"shards", [&](const toml::node& n, const std::string& k) { e.shards = get_int(src, n, k, 1, 100000); }},
              {"backend", [&](const toml::node& n, const std::string& k) { e.backend = get_choice(src, n, k, {"cpu", "cuda", "auto"}); }},
              {"threads", [&](const toml::node& n, const std::string& k) { e.threads = get_int(src, n, k, 0, 4096); }},
              {"batch", [&](const toml::node& n, const std::string& k) { e.batch = get_int(src, n, k, 1, 65536); }}});
}

void read_model(const Source& src, const toml::table& t, ModelParams& m) {
  read_table(src, t, "model",
             {{"seed", [&](const toml::node& n, const std::string& k) { m.seed = get_int(src, n, k, 0, std::numeric_limits<int>::max()); }},
              {"rounds", [&](const toml::node& n, const std::string& k) { m.rounds = get_int(src, n, k, 1, 1000000); }},
              {"device", [&](const toml::node& n, const std::string& k) { m.device = get_choice(src, n, k, {"cpu", "cuda", "auto"}); }},
              {"cv", [&](const toml::node& n, const std::string& k) { m.cv = get_int(src, n, k, 0, 20); }},
              {"svm", [&](const toml::node& n, const std::string& k) { m.svm = get_bool(src, n, k); }}});
}

void read_test(const Source& src, const toml::table& t, TestParams& test, const fs::path& base) {
  read_table(src, t, "test",
             {{"dataset", [&](const toml::node& n, const std::string& k) { test.dataset = get_path(src, n, k, base); }},
              {"fraction", [&](const toml::node& n, const std::string& k) { test.fraction = get_fraction(src, n, k, 0.5, "0.5"); }}});
  if (!test.dataset.empty() && test.fraction > 0)
    src.fail(t.get("fraction"), "test", "give either `dataset` (a second dataset) or `fraction` (held out of `dataset`), not both");
  if (!test.enabled())
    src.fail(&t, "test", "empty: give `fraction = 0.2` (held out of `dataset`) or `dataset = \"PATH\"` (a second dataset)");
}

// The dataset and run directory, with the command line and environment applied (see SpecOverrides).
void resolve_locations(const Source& src, const SpecOverrides& o, JobSpec& spec) {
  if (o.dataset) spec.dataset = fs::absolute(*o.dataset).lexically_normal();
  if (spec.dataset.empty() && o.dataset_env && !o.dataset_env->empty())
    spec.dataset = fs::absolute(*o.dataset_env).lexically_normal();
  if (spec.dataset.empty())
    src.fail(nullptr, "dataset", "no dataset: set `dataset` in the spec, pass --dataset PATH, or set HEMOLENS_DATASET");
  if (o.run_dir) spec.run_dir = fs::absolute(*o.run_dir).lexically_normal();
  if (spec.run_dir.empty()) src.fail(nullptr, "run_dir", "no run directory: set `run_dir` in the spec or pass --run-dir DIR");
}

}  // namespace

const std::vector<std::string>& known_stage_names() {
  static const std::vector<std::string> names = {"extract", "merge", "test-set", "train", "evaluate"};
  return names;
}

SlurmResources JobSpec::resources_for(const std::string& stage) const {
  const auto it = slurm_stage.find(stage);
  return it == slurm_stage.end() ? slurm : it->second;
}

JobSpec parse_job_spec(const std::string& toml_text, const fs::path& file, const SpecOverrides& overrides) {
  const Source src{file.string()};
  toml::table root;
  try {
    root = toml::parse(toml_text, file.string());
  } catch (const toml::parse_error& e) {
    throw std::runtime_error(file.string() + ":" + std::to_string(e.source().begin.line) + ": TOML syntax error: " +
                             std::string(e.description()));
  }
  JobSpec spec;
  spec.file = fs::absolute(file).lexically_normal();
  const fs::path base = spec.file.parent_path();
  static const std::regex kJobName(R"([A-Za-z0-9._-]+)");
  read_table(src, root, "",
             {{"name", [&](const toml::node& n, const std::string& k) {
                 spec.name = get_matching(src, n, k, kJobName, "a job name (letters, digits, '.', '_', '-')");
               }},
              {"dataset", [&](const toml::node& n, const std::string& k) { spec.dataset = get_path(src, n, k, base); }},
              {"run_dir", [&](const toml::node& n, const std::string& k) { spec.run_dir = get_path(src, n, k, base); }},
              {"extract", [&](const toml::node& n, const std::string& k) { read_extract(src, as_table(src, n, k), spec.extract); }},
              {"model", [&](const toml::node& n, const std::string& k) { read_model(src, as_table(src, n, k), spec.model); }},
              {"test", [&](const toml::node& n, const std::string& k) { read_test(src, as_table(src, n, k), spec.test, base); }},
              {"slurm", [&](const toml::node& n, const std::string& k) { read_slurm(src, as_table(src, n, k), spec); }}});
  if (spec.name.empty()) src.fail(nullptr, "name", "missing: every spec has a name (used in SLURM job names)");
  resolve_locations(src, overrides, spec);
  if (!spec.test.dataset.empty() && spec.test.dataset == spec.dataset)
    src.fail(root.get("test"), "test.dataset", "is the training dataset itself: a test set must be images the model does not train on");
  return spec;
}

JobSpec load_job_spec(const fs::path& file, const SpecOverrides& overrides) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error(file.string() + ": cannot read the job spec (" + (fs::exists(file) ? "unreadable" : "no such file") + ")");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_job_spec(text.str(), file, overrides);
}

}  // namespace hemolens
