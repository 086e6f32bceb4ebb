// Per-image quality flags from segmentation, stored as a bit mask in /quality/flags.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace hemolens {

enum QualityFlag : std::uint32_t {
  kNoCell = 1u << 0,           // no stained object near the centre
  kTouchesBorder = 1u << 1,    // the target cell touches the image border
  kMultipleNucleated = 1u << 2,// another whole nucleated cell (not cut by the border) lies outside the target
  kImplausibleSize = 1u << 3,  // cell or nucleus area outside the plausible range
};

struct QualityFlagInfo {
  QualityFlag bit;
  const char* name;
  const char* description;
};

const std::vector<QualityFlagInfo>& quality_flag_infos();
std::string describe_flags(std::uint32_t flags);           // "no_cell|touches_border", "" when clean
std::vector<std::string> flag_names(std::uint32_t flags);  // {"no_cell", "touches_border"}, as bundles list them
std::uint32_t flag_bit(const std::string& name);            // the flag of that name; 0 when there is none

}  // namespace hemolens
