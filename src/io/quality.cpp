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
  for (const auto& f : quality_flag_infos())
    if (flags & f.bit) {
      if (!s.empty()) s += '|';
      s += f.name;
    }
  return s;
}

}  // namespace hemolens
