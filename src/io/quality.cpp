#include "hemolens/quality.hpp"

namespace hemolens {

const std::vector<QualityFlagInfo>& quality_flag_infos() {
  static const std::vector<QualityFlagInfo> infos = {
      {kNoCell, "no_cell", "no stained object near the centre"},
      {kTouchesBorder, "touches_border", "the target cell touches the image border"},
      {kMultipleNucleated, "multiple_nucleated", "another large nucleated object lies outside the target cell"},
      {kImplausibleSize, "implausible_size", "cell or nucleus area outside the plausible range"},
  };
  return infos;
}

std::string describe_flags(std::uint32_t flags) {
  std::string s;
  for (const std::string& name : flag_names(flags)) s += (s.empty() ? "" : "|") + name;
  return s;
}

std::vector<std::string> flag_names(std::uint32_t flags) {
  std::vector<std::string> names;
  for (const auto& f : quality_flag_infos())
    if (flags & f.bit) names.emplace_back(f.name);
  return names;
}

std::uint32_t flag_bit(const std::string& name) {
  for (const auto& f : quality_flag_infos())
    if (name == f.name) return f.bit;
  return 0;
}

}  // namespace hemolens
