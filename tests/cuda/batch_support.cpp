#include "batch_support.hpp"

#include "cpu/color.hpp"
#include "hemolens/decode.hpp"
#include "support.hpp"

namespace hemolens::test {

Packed pack(const std::vector<Plane8>& planes, std::size_t gap, std::uint8_t gap_fill) {
  Packed p;
  for (std::size_t i = 0; i < planes.size(); ++i) {
    if (i > 0) p.data.insert(p.data.end(), gap, gap_fill);
    p.offsets.push_back(p.data.size());
    p.heights.push_back(planes[i].height);
    p.widths.push_back(planes[i].width);
    p.data.insert(p.data.end(), planes[i].data.begin(), planes[i].data.end());
  }
  return p;
}

std::vector<std::uint8_t> pack_like(const Packed& layout, const std::vector<Plane8>& planes, std::uint8_t gap_fill) {
  std::vector<std::uint8_t> out(layout.extent(), gap_fill);
  for (std::size_t i = 0; i < planes.size(); ++i) std::copy(planes[i].data.begin(), planes[i].data.end(), out.begin() + std::ptrdiff_t(layout.offsets[i]));
  return out;
}

std::vector<NamedMask> sample_masks(std::size_t images) {
  std::vector<NamedMask> out;
  const auto files = sample_jpegs();
  for (std::size_t k = 0; k < files.size() && out.size() < 2 * images; k += 17) {
    const DecodeResult d = decode_file(files[k], {});
    const cpu::BalancedRgb rgb = cpu::white_balance({d.image->rgb.data(), d.image->height, d.image->width}, 0.25, 224);
    out.push_back({"stained " + files[k].filename().string(), cpu::threshold_above(cpu::stain_channel(rgb), 60)});
    Plane8 dark(rgb.g.height, rgb.g.width);
    for (std::size_t i = 0; i < dark.size(); ++i) dark.data[i] = rgb.g.data[i] <= 170;
    out.push_back({"dark " + files[k].filename().string(), dark});
  }
  return out;
}

std::vector<cpu::Segmentation> sample_segmentations(std::size_t images) {
  std::vector<cpu::Segmentation> out;
  const auto files = sample_jpegs();
  for (std::size_t k = 3; k < files.size() && out.size() < images; k += 11) {
    const DecodeResult d = decode_file(files[k], {});
    out.push_back(cpu::segment({d.image->rgb.data(), d.image->height, d.image->width}, {}));
  }
  return out;
}

std::vector<Plane8> masks_of(const std::vector<NamedMask>& named) {
  std::vector<Plane8> out;
  for (const auto& n : named) out.push_back(n.mask);
  return out;
}

}  // namespace hemolens::test
