// Segmentation on the real sample: the target cell and its nucleus are found near the
// centre for (nearly) every image of every class, platelets included; on painted slides,
// pale cytoplasm belongs to the cell, the lobes of one nucleus stay together and a
// neighbour's nucleus in the same stained object stays out.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include <opencv2/imgproc.hpp>

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

namespace {

// A painted slide: light background, red cells along the edges, pale lilac cytoplasm discs,
// violet nucleus discs, in RGB. The red cells set the green Otsu threshold, as on real slides.
struct Painting {
  cv::Mat rgb = cv::Mat(363, 360, CV_8UC3, cv::Scalar(232, 226, 230));
  Painting() {
    for (int x : {40, 180, 320})
      for (int y : {35, 328}) cv::circle(rgb, {x, y}, 30, cv::Scalar(205, 145, 172), cv::FILLED);
  }
  void cytoplasm(int x, int y, int r) { cv::circle(rgb, {x, y}, r, cv::Scalar(208, 188, 218), cv::FILLED); }
  void nucleus(int x, int y, int r) { cv::circle(rgb, {x, y}, r, cv::Scalar(92, 58, 150), cv::FILLED); }
  cpu::Segmentation segment(const cpu::SegmentParams& sp = {}) const { return cpu::segment({rgb.data, rgb.rows, rgb.cols}, sp); }
};

double disc_area(int r) { return 3.14159265358979323846 * r * r; }

}  // namespace

TEST(Segmentation, PaleCytoplasmBelongsToTheCell) {
  // Cytoplasm paler than the green Otsu threshold (set by the red cells): still part of the
  // cell, which reaches 25 + 0.6 x 50 = 55 px from the centre, beyond the cytoplasm's 50.
  Painting p;
  p.cytoplasm(180, 181, 50);
  p.nucleus(180, 181, 25);
  const cpu::Segmentation seg = p.segment();
  EXPECT_NEAR(double(cpu::mask_moments(seg.cell).m00), disc_area(50), 0.08 * disc_area(50));
  EXPECT_NEAR(double(cpu::mask_moments(seg.nucleus).m00), disc_area(25), 0.1 * disc_area(25));
  // With the objects cut at the Otsu threshold itself, the cell shrinks to the nucleus.
  cpu::SegmentParams at_otsu;
  at_otsu.pale_fraction = 0;
  EXPECT_LT(double(cpu::mask_moments(p.segment(at_otsu).cell).m00), 1.2 * disc_area(25));
}

TEST(Segmentation, NeighbourNucleusInTheSameObjectIsLeftOut) {
  // Two cells whose cytoplasm overlaps: one stained object. The target's nucleus is its own;
  // the neighbour's, 49 px away (far more than 0.3 seed diameters), is another nucleated cell.
  Painting p;
  p.cytoplasm(180, 181, 55);
  p.cytoplasm(285, 181, 55);
  p.nucleus(180, 181, 28);
  p.nucleus(285, 181, 28);
  const cpu::Segmentation seg = p.segment();
  const auto n = cpu::mask_moments(seg.nucleus);
  EXPECT_NEAR(double(n.m00), disc_area(28), 0.1 * disc_area(28));
  EXPECT_NEAR(double(n.m10) / double(n.m00), 180.0, 2.0);
  EXPECT_EQ(seg.other_nucleated, 1);
  EXPECT_TRUE(seg.flags & kMultipleNucleated);
}

TEST(Segmentation, LobesAFilamentApartFormOneNucleus) {
  // A segmented nucleus: three lobes 4 px apart, all of them the nucleus; none is "another cell".
  Painting p;
  p.cytoplasm(180, 181, 70);
  for (int dx : {-32, 0, 32}) p.nucleus(180 + dx, 181, 14);
  const cpu::Segmentation seg = p.segment();
  EXPECT_NEAR(double(cpu::mask_moments(seg.nucleus).m00), 3 * disc_area(14), 0.12 * 3 * disc_area(14));
  EXPECT_EQ(seg.other_nucleated, 0);
  features::ShapeAccumulator s;
  cpu::measure_shape(seg.nucleus, s);
  EXPECT_EQ(s.lobes, 3);
}
