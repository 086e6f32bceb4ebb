// The layout of a packed batch (cuda/layout.cuh): the image table planned on the host, the row
// and tile tables built on the device from it.
#include <algorithm>
#include <numeric>

#include "layout.cuh"
#include "stages.cuh"

HEMOLENS_CUDA_BEGIN

bool plan_layout(const std::size_t* offsets, const std::int32_t* heights, const std::int32_t* widths, std::size_t images, LayoutPlan& plan,
                 std::string* error) {
  auto refuse = [&](const std::string& why) {
    if (error) *error = "packed batch: " + why;
    return false;
  };
  plan = LayoutPlan{};
  plan.images.resize(images);
  for (std::size_t i = 0; i < images; ++i) {
    const std::int64_t h = heights[i], w = widths[i];
    if (h < 0 || w < 0) return refuse("image " + std::to_string(i) + " has a negative size");
    // Indices within an image (union-find parents, labels) are 32-bit.
    if (h * w > 0x7fffffff) return refuse("image " + std::to_string(i) + " has 2^31 pixels or more (" + std::to_string(h) + " x " + std::to_string(w) + ")");
    ImageInfo& m = plan.images[i];
    m = {offsets[i], plan.rows, plan.tiles, std::int32_t(h), std::int32_t(w)};
    plan.rows += std::size_t(h);
    plan.tiles += (std::size_t(h) + kTileRows - 1) / kTileRows;
    plan.max_width = std::max(plan.max_width, std::int32_t(w));
    plan.max_labels += std::size_t((h + 1) / 2) * std::size_t((w + 1) / 2);
    const std::uint64_t end = offsets[i] + std::uint64_t(h * w);
    if (end < offsets[i]) return refuse("image " + std::to_string(i) + " lies beyond 2^64 pixels");
    plan.extent = std::max<std::size_t>(plan.extent, end);
  }
  if (plan.rows > 0xffffffffu) return refuse("more than 2^32 image rows in one batch");
  // Images may leave gaps between them (no kernel reads those), but must not overlap.
  std::vector<std::size_t> order(images);
  std::iota(order.begin(), order.end(), std::size_t(0));
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return offsets[a] < offsets[b]; });
  for (std::size_t k = 1; k < images; ++k) {
    const ImageInfo& a = plan.images[order[k - 1]];
    if (a.offset + std::uint64_t(a.height) * std::uint64_t(a.width) > offsets[order[k]])
      return refuse("images " + std::to_string(order[k - 1]) + " and " + std::to_string(order[k]) + " overlap");
  }
  return true;
}

namespace {

// Each image writes its own rows' and tiles' entries: a loop of height steps per image, the
// only per-image serial work of a batch besides the chamfer passes.
struct FillTables {
  const ImageInfo* image;
  std::uint32_t* row_image;
  std::uint64_t* tile_row;
  HL_HD void operator()(std::size_t i) const {
    const ImageInfo m = image[i];
    for (std::int32_t y = 0; y < m.height; ++y) row_image[m.first_row + std::uint64_t(y)] = std::uint32_t(i);
    for (std::int32_t y = 0, t = 0; y < m.height; y += kTileRows, ++t) tile_row[m.first_tile + std::uint64_t(t)] = m.first_row + std::uint64_t(y);
  }
};

}  // namespace

Layout build_layout(exec::Context& c, const LayoutPlan& plan, const ImageInfo* device_images) {
  c.stage("layout");
  Layout l;
  l.image = device_images;
  l.images = plan.images.size();
  l.rows = plan.rows;
  l.tiles = plan.tiles;
  l.extent = plan.extent;
  l.max_width = plan.max_width;
  l.max_labels = plan.max_labels;
  auto* rows = c.take<std::uint32_t>(plan.rows);
  auto* tiles = c.take<std::uint64_t>(plan.tiles);
  l.row_image = rows;
  l.tile_row = tiles;
  exec::for_each(c, l.images, FillTables{device_images, rows, tiles}, exec::kSerialThreads);
  return l;
}

Layout upload_layout(exec::Context& c, const LayoutPlan& plan) {
  c.stage("layout");
  auto* images = c.take<ImageInfo>(plan.images.size());
  c.upload(images, plan.images.data(), plan.images.size() * sizeof(ImageInfo));
  return build_layout(c, plan, images);
}

HEMOLENS_CUDA_END
