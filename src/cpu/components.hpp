// Connected-component labelling with per-label statistics in the same pass (the CPU
// reference for cuda/components.cu).
//
// Labels are 1..n in the raster order of each component's first pixel; 0 is background.
// That canonical order is what makes CPU and GPU labels comparable exactly.
#pragma once
#include <cstdint>
#include <vector>

#include "hemolens/image.hpp"

namespace hemolens::cpu {

struct ComponentStats {
  std::int64_t area = 0, sum_x = 0, sum_y = 0;
  int min_x = 0, min_y = 0, max_x = -1, max_y = -1;
};

// connectivity: 4 or 8. Returns stats indexed by label (entry 0 unused).
std::vector<ComponentStats> label_components(const Plane8& mask, int connectivity, Plane32& labels);
// The same statistics without the label plane (for callers that only count or measure).
std::vector<ComponentStats> component_stats(const Plane8& mask, int connectivity);

// Background regions not connected (4-neighbourhood) to the border become foreground.
void fill_holes(const Plane8& mask, Plane8& out);

}  // namespace hemolens::cpu
