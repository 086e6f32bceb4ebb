// libFuzzer target: any bytes through the decoder (JPEG, PNG, TIFF, BMP or none of them).
// It must give an image or a reason, never crash, hang or leak; the pixel limit is lowered so
// that a claimed size is refused or decoded quickly (scripts/fuzz builds and runs it).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "hemolens/decode.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  hemolens::DecodeLimits limits;
  limits.max_pixels = 4'000'000;
  const hemolens::DecodeResult r = hemolens::decode_bytes(std::vector<std::uint8_t>(data, data + size), limits);
  if (!r.image && r.reason.empty()) __builtin_trap();  // a refusal always says why
  if (r.image && r.image->rgb.size() != std::size_t(r.image->width) * std::size_t(r.image->height) * 3) __builtin_trap();
  return 0;
}
