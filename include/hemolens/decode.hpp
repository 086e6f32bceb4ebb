// Decode: file bytes -> 8-bit RGB, or the reason the file cannot be used.
#pragma once
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace hemolens {

struct DecodeLimits {
  int min_side = 32;                      // smaller images cannot hold a cell
  std::uint64_t max_pixels = 25'000'000;  // larger ones are refused before decoding
};

struct DecodedImage {
  std::vector<std::uint8_t> rgb;  // packed RGB
  int height = 0;
  int width = 0;
  std::string id;  // content hash of the file bytes (XXH3-64, 16 hex digits)
};

struct DecodeResult {
  std::optional<DecodedImage> image;
  std::string reason;  // set when `image` is empty
  bool over_limit = false;  // refused because it exceeds DecodeLimits::max_pixels
};

// Reads and decodes one file. Never throws for bad input: every failure is a reason.
DecodeResult decode_file(const std::filesystem::path& path, const DecodeLimits& limits);
DecodeResult decode_bytes(const std::vector<std::uint8_t>& bytes, const DecodeLimits& limits);

std::string content_id(const std::uint8_t* data, std::size_t size);

// The image format a file's first bytes announce (decode_bytes sniffs the same way), and the
// usual file extension of each (".bin" for kUnknown).
enum class ImageFormat { kUnknown, kJpeg, kPng, kTiff, kBmp };
ImageFormat sniff_format(const std::uint8_t* data, std::size_t size);
const char* format_extension(ImageFormat f);

}  // namespace hemolens
