#include <algorithm>
#include <utility>
#include <vector>

#include "cli/commands.hpp"

namespace hemolens::cli {
namespace {
std::vector<std::pair<int, AddCommand>>& registry() {
  static std::vector<std::pair<int, AddCommand>> r;  // built before main() by the command files
  return r;
}
}  // namespace

Registration::Registration(int order, AddCommand add) { registry().emplace_back(order, add); }

void add_registered_commands(CLI::App& app) {
  auto r = registry();
  std::sort(r.begin(), r.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [order, add] : r) add(app);
}

}  // namespace hemolens::cli
