#include "cli/suggest.hpp"

#include <algorithm>
#include <cstdio>

namespace hemolens::cli {
namespace {

std::vector<std::string> command_names(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) names.push_back(sub->get_name());
  return names;
}

// "--name" for every long option of `app`.
std::vector<std::string> long_options(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::Option* o : app.get_options())
    for (const auto& l : o->get_lnames()) names.push_back("--" + l);
  return names;
}

}  // namespace

std::size_t edit_distance(const std::string& a, const std::string& b) {
  // Optimal string alignment: Levenshtein plus the swap of two neighbouring letters.
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i)
    for (std::size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}

std::string nearest_word(const std::string& word, const std::vector<std::string>& known) {
  std::string best;
  std::size_t best_distance = std::max<std::size_t>(2, word.size() / 3) + 1;
  for (const auto& k : known) {
    const std::size_t d = edit_distance(word, k);
    if (d < best_distance) best = k, best_distance = d;
  }
  return best;
}

int check_command_name(const CLI::App& app, int argc, char** argv) {
  const std::vector<std::string> names = command_names(app);
  std::string list;
  for (const auto& n : names) list += " " + n;
  bool asks_for_help_or_version = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "-h" || arg == "--help" || arg == "--version") asks_for_help_or_version = true;
    if (arg.empty() || arg[0] == '-') continue;  // the app's own flags (-v, --help, --version)
    if (std::find(names.begin(), names.end(), arg) != names.end()) return -1;
    const std::string near = nearest_word(arg, names);
    std::fprintf(stderr, "error: '%s' is not a hemolens command.%s\ncommands:%s (hemolens COMMAND --help for each)\n", arg.c_str(),
                 near.empty() ? "" : (" Did you mean '" + near + "'?").c_str(), list.c_str());
    return 2;
  }
  if (asks_for_help_or_version) return -1;
  std::fprintf(stderr, "error: no command given\ncommands:%s (hemolens --help describes them)\n", list.c_str());
  return 2;
}

int report_parse_error(CLI::App& app, const CLI::ParseError& e, int argc, char** argv) {
  const int status = app.exit(e);
  if (status == 0) return status;  // --help
  // An unknown option may show as another error (a required option "missing"): look for one always.
  for (const CLI::App* sub : app.get_subcommands()) {
    const std::vector<std::string> known = long_options(*sub);
    for (int i = 1; i < argc; ++i) {
      std::string arg = argv[i];
      if (arg.rfind("--", 0) != 0) continue;
      arg = arg.substr(0, arg.find('='));
      if (std::find(known.begin(), known.end(), arg) != known.end()) continue;
      const std::string near = nearest_word(arg, known);
      if (!near.empty()) std::fprintf(stderr, "%s: unknown option %s. Did you mean %s?\n", sub->get_name().c_str(), arg.c_str(), near.c_str());
    }
  }
  return status;
}

}  // namespace hemolens::cli
