// Segmentation on the real sample: the target cell and its nucleus are found near the
// centre for (nearly) every image of every class, platelets included.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "cpu/measure.hpp"
#include "cpu/segment.hpp"
#include "hemolens/dataset.hpp"
#include "hemolens/decode.hpp"
#include "hemolens/quality.hpp"
#include "support.hpp"

using namespace hemolens;

TEST(Segmentation, NucleusFoundNearTheCentreInEveryClass) {
  const Dataset ds = scan_dataset(test::sample_dir());
  std::map<std::string, std::pair<int, int>> per_class;  // found near centre, total
  for (const auto& e : ds.entries) {
    const DecodeResult r = decode_file(e.path, {});
    ASSERT_TRUE(r.image) << e.rel_path;
    const RgbView view{r.image->rgb.data(), r.image->height, r.image->width};
    const cpu::Segmentation seg = cpu::segment(view, {});
    const auto m = cpu::mask_moments(seg.nucleus);
    const auto c = cpu::mask_moments(seg.cell);
    auto& [ok, total] = per_class[ds.classes[std::size_t(e.label)]];
    ++total;
    if (m.m00 == 0) {
      ADD_FAILURE() << e.rel_path << ": no nucleus (" << describe_flags(seg.flags) << ")";
      continue;
    }
    EXPECT_GE(c.m00, m.m00) << e.rel_path;  // the nucleus lies inside the cell
    const double cx = double(m.m10) / m.m00 - (view.width - 1) / 2.0, cy = double(m.m01) / m.m00 - (view.height - 1) / 2.0;
    if (std::hypot(cx, cy) < 0.15 * std::hypot(view.width, view.height)) ++ok;
    else ADD_FAILURE() << e.rel_path << ": nucleus centroid " << std::hypot(cx, cy) << " px from the centre";
  }
  ASSERT_EQ(per_class.size(), 8u);
  for (const auto& [cls, counts] : per_class) EXPECT_GE(counts.first, counts.second - 1) << cls;
}

TEST(Segmentation, BlankImageHasNoCell) {
  std::vector<std::uint8_t> rgb(100 * 120 * 3, 220);
  const cpu::Segmentation seg = cpu::segment({rgb.data(), 100, 120}, {});
  EXPECT_TRUE(seg.flags & kNoCell);
  EXPECT_EQ(cpu::mask_moments(seg.cell).m00, 0);
}
