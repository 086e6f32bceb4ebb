// Decode with libjpeg-turbo for JPEG (the common case, and it reports truncation as a
// warning we can act on) and OpenCV for PNG, TIFF and BMP. Sizes are read from the
// header first where the format makes that cheap, so oversized images are refused
// before any pixel memory is allocated.
#include "hemolens/decode.hpp"

#include <turbojpeg.h>  // for JPEG decode with truncation warnings
#include <xxhash.h>     // for content ids

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace fs = std::filesystem;

namespace hemolens {
namespace {

enum class Format { kUnknown, kJpeg, kPng, kTiff, kBmp };

Format sniff(const std::vector<std::uint8_t>& b) {
  auto starts = [&](std::initializer_list<int> sig) {
    if (b.size() < sig.size()) return false;
    std::size_t i = 0;
    for (int v : sig)
      if (b[i++] != std::uint8_t(v)) return false;
    return true;
  };
  if (starts({0xFF, 0xD8, 0xFF})) return Format::kJpeg;
  if (starts({0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A})) return Format::kPng;
  if (starts({'I', 'I', 42, 0}) || starts({'M', 'M', 0, 42})) return Format::kTiff;
  if (starts({'B', 'M'})) return Format::kBmp;
  return Format::kUnknown;
}

// A refusal when the size is outside the limits; an empty reason when it is fine.
DecodeResult check_size(std::uint64_t w, std::uint64_t h, const DecodeLimits& lim) {
  if (w == 0 || h == 0) return {std::nullopt, "image has zero width or height"};
  if (w * h > lim.max_pixels)
    return {std::nullopt,
            "too large: " + std::to_string(w) + "x" + std::to_string(h) + " pixels exceeds the limit of " + std::to_string(lim.max_pixels) +
                " (raise --max-pixels to process it)",
            true};
  if (w < std::uint64_t(lim.min_side) || h < std::uint64_t(lim.min_side))
    return {std::nullopt, "too small: " + std::to_string(w) + "x" + std::to_string(h) + " (need at least " + std::to_string(lim.min_side) +
                              " pixels a side)"};
  return {};
}

// Width and height from a PNG's IHDR or a BMP's info header; 0,0 when not readable.
std::pair<std::uint64_t, std::uint64_t> header_size(const std::vector<std::uint8_t>& b, Format f) {
  auto be32 = [&](std::size_t i) { return std::uint64_t(b[i]) << 24 | std::uint64_t(b[i + 1]) << 16 | std::uint64_t(b[i + 2]) << 8 | b[i + 3]; };
  auto le32 = [&](std::size_t i) { return std::int32_t(std::uint32_t(b[i]) | std::uint32_t(b[i + 1]) << 8 | std::uint32_t(b[i + 2]) << 16 | std::uint32_t(b[i + 3]) << 24); };
  if (f == Format::kPng && b.size() >= 24) return {be32(16), be32(20)};
  if (f == Format::kBmp && b.size() >= 26) {
    const std::int32_t w = le32(18), h = le32(22);
    return {std::uint64_t(w < 0 ? -std::int64_t(w) : w), std::uint64_t(h < 0 ? -std::int64_t(h) : h)};
  }
  return {0, 0};
}

struct TjHandle {
  tjhandle h = tjInitDecompress();
  ~TjHandle() { if (h) tjDestroy(h); }
};

DecodeResult decode_jpeg(const std::vector<std::uint8_t>& bytes, const DecodeLimits& lim) {
  thread_local TjHandle tj;
  int w = 0, h = 0, subsamp = 0, colorspace = 0;
  if (tjDecompressHeader3(tj.h, bytes.data(), static_cast<unsigned long>(bytes.size()), &w, &h, &subsamp, &colorspace) != 0)
    return {std::nullopt, std::string("corrupt JPEG header: ") + tjGetErrorStr2(tj.h)};
  if (DecodeResult refused = check_size(std::uint64_t(w), std::uint64_t(h), lim); !refused.reason.empty()) return refused;
  DecodedImage img;
  img.rgb.resize(std::size_t(w) * std::size_t(h) * 3);
  img.width = w;
  img.height = h;
  // ACCURATEDCT gives the same pixels as OpenCV's imread; warnings (a truncated file,
  // corrupt data) stop the decode instead of silently filling the rest with grey.
  const int rc = tjDecompress2(tj.h, bytes.data(), static_cast<unsigned long>(bytes.size()), img.rgb.data(), w, 0, h, TJPF_RGB,
                               TJFLAG_ACCURATEDCT | TJFLAG_STOPONWARNING);
  if (rc != 0) return {std::nullopt, std::string("corrupt or truncated JPEG: ") + tjGetErrorStr2(tj.h)};
  return {std::move(img), ""};
}

DecodeResult decode_other(const std::vector<std::uint8_t>& bytes, Format f, const DecodeLimits& lim) {
  const auto [hw, hh] = header_size(bytes, f);
  if (hw && hh)
    if (DecodeResult refused = check_size(hw, hh, lim); !refused.reason.empty()) return refused;
  cv::Mat bgr;
  try {
    bgr = cv::imdecode(cv::Mat(1, int(bytes.size()), CV_8UC1, const_cast<std::uint8_t*>(bytes.data())), cv::IMREAD_COLOR);
  } catch (const cv::Exception& e) {
    return {std::nullopt, std::string("cannot decode: ") + e.what()};
  }
  const char* name = f == Format::kPng ? "PNG" : f == Format::kTiff ? "TIFF" : "BMP";
  if (bgr.empty()) return {std::nullopt, std::string("cannot decode: corrupt or truncated ") + name};
  if (DecodeResult refused = check_size(std::uint64_t(bgr.cols), std::uint64_t(bgr.rows), lim); !refused.reason.empty()) return refused;
  DecodedImage img;
  img.width = bgr.cols;
  img.height = bgr.rows;
  img.rgb.resize(std::size_t(bgr.rows) * std::size_t(bgr.cols) * 3);
  cv::Mat rgb(bgr.rows, bgr.cols, CV_8UC3, img.rgb.data());
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return {std::move(img), ""};
}

}  // namespace

std::string content_id(const std::uint8_t* data, std::size_t size) {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(XXH3_64bits(data, size)));
  return hex;
}

DecodeResult decode_bytes(const std::vector<std::uint8_t>& bytes, const DecodeLimits& limits) {
  if (bytes.empty()) return {std::nullopt, "empty file (0 bytes)"};
  const Format f = sniff(bytes);
  DecodeResult r;
  switch (f) {
    case Format::kUnknown: return {std::nullopt, "not an image: unrecognised content (not JPEG, PNG, TIFF or BMP)"};
    case Format::kJpeg: r = decode_jpeg(bytes, limits); break;
    default: r = decode_other(bytes, f, limits); break;
  }
  if (r.image) r.image->id = content_id(bytes.data(), bytes.size());
  return r;
}

DecodeResult decode_file(const fs::path& path, const DecodeLimits& limits) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return {std::nullopt, "is a directory, not an image file"};
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return {std::nullopt, std::string("cannot open: ") + std::strerror(errno)};
  const std::streamoff size = in.tellg();
  if (size < 0) return {std::nullopt, "cannot read the file size"};
  // The largest plausible compressed image is far below the pixel limit in bytes.
  if (std::uint64_t(size) > limits.max_pixels * 4 + (1u << 20)) return {std::nullopt, "file too large to be an image within the pixel limit"};
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
  in.seekg(0);
  if (size > 0 && !in.read(reinterpret_cast<char*>(bytes.data()), size)) return {std::nullopt, "read error"};
  return decode_bytes(bytes, limits);
}

}  // namespace hemolens
