// Parity of the host execution of cuda/'s mask kernels with the CPU reference (src/cpu), in
// process: connected components and their statistics, hole filling, morphology, chamfer
// distance and shape moments over one batch of mixed sizes holding sample masks, the edge
// cases (U shapes, combs, spirals, border frames, 1-pixel-wide images, empty and full masks)
// and random masks. Integers must be equal.
#include <gtest/gtest.h>

#include "batch_support.hpp"
#include "cpu/components.hpp"
#include "cpu/measure.hpp"
#include "cpu/morphology.hpp"
#include "distance.hpp"
#include "gpu/fixture_io.hpp"
#include "morphology.hpp"
#include "shape.hpp"

using namespace hemolens;
using namespace hemolens::test;

namespace {

const std::vector<NamedMask>& mask_set() {
  static const std::vector<NamedMask> masks = [] {
    std::vector<NamedMask> m = sample_masks(3);
    for (auto& e : edge_masks()) m.push_back(e);
    for (auto& r : random_masks(80, 7)) m.push_back(r);
    return m;
  }();
  return masks;
}

const cuda::Path kPaths[] = {cuda::Path::kFast, cuda::Path::kPortable};

}  // namespace

TEST(CudaHostComponents, LabelsAndStatisticsEqualTheCpu) {
  const auto& named = mask_set();
  const Packed p = pack(masks_of(named));
  for (const int connectivity : {4, 8})
    for (const cuda::Path path : kPaths) {
      cuda::Labelled out;
      std::string error;
      ASSERT_TRUE(cuda::label_components(p.view(), connectivity, out, &error, path)) << error;
      ASSERT_EQ(out.first_label.size(), named.size() + 1);
      for (std::size_t i = 0; i < named.size(); ++i) {
        Plane32 labels;
        const auto stats = cpu::label_components(named[i].mask, connectivity, labels);
        SCOPED_TRACE(named[i].name + ", connectivity " + std::to_string(connectivity));
        ASSERT_EQ(slice(p, out.labels, i), labels.data);
        ASSERT_EQ(out.first_label[i + 1] - out.first_label[i], stats.size() - 1);
        for (std::size_t k = 1; k < stats.size(); ++k) {
          const cuda::LabelStats& g = out.stats[out.first_label[i] + k - 1];
          const cpu::ComponentStats& c = stats[k];
          EXPECT_EQ(std::vector<std::int64_t>({g.area, g.sum_x, g.sum_y, g.min_x, g.min_y, g.max_x, g.max_y}),
                    std::vector<std::int64_t>({c.area, c.sum_x, c.sum_y, c.min_x, c.min_y, c.max_x, c.max_y}))
              << "label " << k;
        }
      }
    }
}

TEST(CudaHostComponents, TheEdgeShapesAreSingleComponentsWhereTheyShouldBe) {
  // Guards the edge set itself: the U, comb and spiral are one component each, so a lost union
  // shows as a split.
  for (const auto& m : edge_masks()) {
    if (m.name.rfind("U", 0) != 0 && m.name.rfind("upside", 0) != 0 && m.name.rfind("comb", 0) != 0 && m.name.rfind("spiral", 0) != 0) continue;
    Plane32 labels;
    EXPECT_EQ(cpu::label_components(m.mask, 8, labels).size(), 2u) << m.name;
  }
}

TEST(CudaHostComponents, MoreLabelsThanTheCapacityIsAClearError) {
  const Packed p = pack({edge_masks()[7].mask});  // the 9 x 7 checkerboard: 31 labels 4-connected
  cuda::Labelled out;
  std::string error;
  EXPECT_FALSE(cuda::label_components(p.view(), 4, out, &error, cuda::Path::kFast, 10));
  EXPECT_NE(error.find("more than 10 labels"), std::string::npos) << error;
  EXPECT_TRUE(cuda::label_components(p.view(), 4, out, &error, cuda::Path::kFast, 31)) << error;
  EXPECT_EQ(out.stats.size(), 31u);
}

TEST(CudaHostComponents, ConnectivityOtherThanFourOrEightIsRefused) {
  const Packed p = pack({Plane8(3, 3, 1)});
  cuda::Labelled out;
  std::string error;
  EXPECT_FALSE(cuda::label_components(p.view(), 6, out, &error));
  EXPECT_NE(error.find("components: connectivity must be 4 or 8"), std::string::npos) << error;
}

TEST(CudaHostComponents, FillHolesEqualsTheCpu) {
  const auto& named = mask_set();
  const Packed p = pack(masks_of(named));
  for (const cuda::Path path : kPaths) {
    std::vector<std::uint8_t> out;
    std::string error;
    ASSERT_TRUE(cuda::fill_holes(p.view(), out, &error, path)) << error;
    for (std::size_t i = 0; i < named.size(); ++i) {
      Plane8 filled;
      cpu::fill_holes(named[i].mask, filled);
      ASSERT_EQ(slice(p, out, i), filled.data) << named[i].name;
    }
  }
}

TEST(CudaHostMorphology, EveryOperationAndRadiusEqualsTheCpu) {
  const auto& named = mask_set();
  const Packed p = pack(masks_of(named));
  for (const int op : {0, 1, 2, 3})
    for (const int radius : {0, 1, 2, 3, 6, 11}) {
      std::vector<std::uint8_t> out;
      std::string error;
      ASSERT_TRUE(cuda::morphology(p.view(), cuda::Morph(op), radius, out, &error)) << error;
      for (std::size_t i = 0; i < named.size(); ++i) {
        Plane8 expected;
        if (op == 0) cpu::erode(named[i].mask, expected, radius);
        else if (op == 1) cpu::dilate(named[i].mask, expected, radius);
        else if (op == 2) cpu::open(named[i].mask, expected, radius);
        else cpu::close(named[i].mask, expected, radius);
        ASSERT_EQ(slice(p, out, i), expected.data) << named[i].name << ", operation " << op << ", radius " << radius;
      }
    }
}

TEST(CudaHostMorphology, ARadiusOutsideTheTableIsRefused) {
  const Packed p = pack({Plane8(5, 5, 1)});
  std::vector<std::uint8_t> out;
  std::string error;
  EXPECT_FALSE(cuda::morphology(p.view(), cuda::Morph::kErode, 32, out, &error));
  EXPECT_EQ(error, "morphology: radius must be in 0..31, not 32");
  EXPECT_FALSE(cuda::morphology(p.view(), cuda::Morph::kErode, -1, out, &error));
}

TEST(CudaHostDistance, ChamferDistancesEqualTheCpu) {
  const auto& named = mask_set();
  const Packed p = pack(masks_of(named));
  std::vector<std::int32_t> out;
  std::string error;
  ASSERT_TRUE(cuda::chamfer_distance(p.view(), out, &error)) << error;
  for (std::size_t i = 0; i < named.size(); ++i) ASSERT_EQ(slice(p, out, i), cpu::chamfer_distance(named[i].mask).data) << named[i].name;
}

TEST(CudaHostShape, MomentsEdgesAndBoxesEqualTheCpu) {
  std::vector<NamedMask> named = mask_set();
  for (const auto& s : sample_segmentations(4)) {
    named.push_back({"cell", s.cell});
    named.push_back({"nucleus", s.nucleus});
  }
  const Packed p = pack(masks_of(named));
  std::vector<features::ShapeAccumulator> out;
  std::string error;
  ASSERT_TRUE(cuda::shape_moments(p.view(), out, &error)) << error;
  ASSERT_EQ(out.size(), named.size());
  for (std::size_t i = 0; i < named.size(); ++i) {
    features::ShapeAccumulator c;
    cpu::measure_shape(named[i].mask, c);
    std::vector<std::int64_t> got, expected;
    gpu_fixture::append_shape_values(got, out[i]);
    gpu_fixture::append_shape_values(expected, c);
    EXPECT_EQ(got, expected) << named[i].name << ": moments m00..m03, edges, min_x, max_x, min_y, max_y";
    EXPECT_EQ(out[i].hull_area2, 0) << "fields it does not compute keep their defaults";
  }
}
