// Decode with libjpeg-turbo for JPEG (the common case, and it reports truncation as a
// warning we can act on; CMYK and YCCK JPEGs too) and OpenCV for PNG, TIFF and BMP. Sizes are read from the
// header first where the format makes that cheap, so oversized images are refused
// before any pixel memory is allocated.
#include "hemolens/decode.hpp"

#include <turbojpeg.h>  // for JPEG decode with truncation warnings
#include <xxhash.h>     // for content ids

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace fs = std::filesystem;

namespace hemolens {
namespace {

using Format = ImageFormat;

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

struct Size {
  std::uint64_t width = 0, height = 0;
};

// Width and height from a PNG's IHDR, a BMP's info header or a TIFF's first directory;
// nullopt when the header is not there to read (the decoder then says what is wrong).
std::optional<Size> header_size(const std::vector<std::uint8_t>& b, Format f) {
  const bool big_endian = f == Format::kTiff && b[0] == 'M';
  auto u16 = [&](std::size_t i) -> std::uint64_t { return big_endian ? b[i] << 8 | b[i + 1] : b[i] | b[i + 1] << 8; };
  auto u32 = [&](std::size_t i) -> std::uint64_t {
    return big_endian ? u16(i) << 16 | u16(i + 2) : u16(i) | u16(i + 2) << 16;
  };
  auto be32 = [&](std::size_t i) { return std::uint64_t(b[i]) << 24 | std::uint64_t(b[i + 1]) << 16 | std::uint64_t(b[i + 2]) << 8 | b[i + 3]; };
  if (f == Format::kPng && b.size() >= 24) return Size{be32(16), be32(20)};
  if (f == Format::kBmp && b.size() >= 26) {
    const auto side = [&](std::size_t i) { return std::uint64_t(std::abs(std::int64_t(std::int32_t(std::uint32_t(u32(i)))))); };
    return Size{side(18), side(22)};
  }
  if (f == Format::kTiff && b.size() >= 8) {
    // The first image file directory: a count, then 12-byte entries (tag, type, count, value).
    const std::uint64_t ifd = u32(4);
    if (ifd + 2 > b.size()) return std::nullopt;
    const std::uint64_t entries = u16(ifd);
    std::optional<std::uint64_t> width, height;
    for (std::uint64_t e = 0; e < entries && ifd + 2 + 12 * (e + 1) <= b.size(); ++e) {
      const std::size_t at = ifd + 2 + 12 * e;
      const std::uint64_t tag = u16(at), type = u16(at + 2);
      if (type != 3 && type != 4) continue;  // SHORT or LONG
      const std::uint64_t value = type == 3 ? u16(at + 8) : u32(at + 8);
      if (tag == 256) width = value;
      if (tag == 257) height = value;
    }
    if (width && height) return Size{*width, *height};
  }
  return std::nullopt;
}

// A TurboJPEG decompressor for one image. libjpeg-turbo 2.1 leaves a handle broken after a
// fatal header error (bad tables, an unsupported marker or SOF, a missing SOS, a zero or
// over-65,500 dimension): every later image on it was refused with the old error. So no
// decoder state outlives its image; a handle costs about a microsecond against a
// millisecond of decoding (benchmarks/RESULTS.md).
class TjDecompressor {
 public:
  TjDecompressor() : h_(tjInitDecompress()) {}
  ~TjDecompressor() {
    if (h_) tjDestroy(h_);
  }
  TjDecompressor(const TjDecompressor&) = delete;
  TjDecompressor& operator=(const TjDecompressor&) = delete;
  tjhandle get() const { return h_; }
  std::string error() const { return tjGetErrorStr2(h_); }

 private:
  tjhandle h_;
};

// Adobe CMYK as OpenCV's imread converts it (icvCvt_CMYK2BGR_8u_C4C3R, which assumes the
// inverted values Photoshop stores), so that a CMYK or YCCK JPEG gives the pixels imread
// gives. TurboJPEG itself only decodes such files to CMYK.
void cmyk_to_rgb(const std::vector<std::uint8_t>& cmyk, std::vector<std::uint8_t>& rgb) {
  rgb.resize(cmyk.size() / 4 * 3);
  for (std::size_t i = 0, o = 0; i + 3 < cmyk.size(); i += 4, o += 3) {
    const int k = cmyk[i + 3];
    for (int c = 0; c < 3; ++c) rgb[o + std::size_t(c)] = std::uint8_t(k - ((255 - cmyk[i + std::size_t(c)]) * k >> 8));
  }
}

DecodeResult decode_jpeg(const std::vector<std::uint8_t>& bytes, const DecodeLimits& lim) {
  const TjDecompressor tj;
  if (!tj.get()) return {std::nullopt, std::string("cannot start the JPEG decoder: ") + tjGetErrorStr2(nullptr)};
  int w = 0, h = 0, subsamp = 0, colorspace = 0;
  if (tjDecompressHeader3(tj.get(), bytes.data(), static_cast<unsigned long>(bytes.size()), &w, &h, &subsamp, &colorspace) != 0)
    return {std::nullopt, "cannot decode the JPEG header: " + tj.error()};
  if (DecodeResult refused = check_size(std::uint64_t(w), std::uint64_t(h), lim); !refused.reason.empty()) return refused;
  const bool cmyk = colorspace == TJCS_CMYK || colorspace == TJCS_YCCK;
  const TJPF format = cmyk ? TJPF_CMYK : TJPF_RGB;
  std::vector<std::uint8_t> pixels(std::size_t(w) * std::size_t(h) * std::size_t(tjPixelSize[format]));
  // ACCURATEDCT gives the same pixels as OpenCV's imread; warnings (a truncated file,
  // corrupt data) stop the decode instead of silently filling the rest with grey.
  if (tjDecompress2(tj.get(), bytes.data(), static_cast<unsigned long>(bytes.size()), pixels.data(), w, 0, h, format,
                    TJFLAG_ACCURATEDCT | TJFLAG_STOPONWARNING) != 0)
    return {std::nullopt, "corrupt or truncated JPEG: " + tj.error()};
  DecodedImage img;
  img.width = w;
  img.height = h;
  if (cmyk)
    cmyk_to_rgb(pixels, img.rgb);
  else
    img.rgb = std::move(pixels);
  return {std::move(img), ""};
}

DecodeResult decode_other(const std::vector<std::uint8_t>& bytes, Format f, const DecodeLimits& lim) {
  // Refused from the header before the decoder allocates what the header claims.
  if (const std::optional<Size> size = header_size(bytes, f))
    if (DecodeResult refused = check_size(size->width, size->height, lim); !refused.reason.empty()) return refused;
  cv::Mat bgr;
  try {
    bgr = cv::imdecode(cv::Mat(1, int(bytes.size()), CV_8UC1, const_cast<std::uint8_t*>(bytes.data())), cv::IMREAD_COLOR);
  } catch (const cv::Exception& e) {
    // OpenCV's message ends in a newline, which would break a line of a log or a CSV.
    std::string what = e.what();
    while (!what.empty() && std::isspace(static_cast<unsigned char>(what.back()))) what.pop_back();
    return {std::nullopt, "cannot decode: " + what};
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

ImageFormat sniff_format(const std::uint8_t* data, std::size_t size) {
  auto starts = [&](std::initializer_list<int> sig) {
    if (size < sig.size()) return false;
    std::size_t i = 0;
    for (int v : sig)
      if (data[i++] != std::uint8_t(v)) return false;
    return true;
  };
  if (starts({0xFF, 0xD8, 0xFF})) return ImageFormat::kJpeg;
  if (starts({0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A})) return ImageFormat::kPng;
  if (starts({'I', 'I', 42, 0}) || starts({'M', 'M', 0, 42})) return ImageFormat::kTiff;
  if (starts({'B', 'M'})) return ImageFormat::kBmp;
  return ImageFormat::kUnknown;
}

const char* format_extension(ImageFormat f) {
  switch (f) {
    case ImageFormat::kJpeg: return ".jpg";
    case ImageFormat::kPng: return ".png";
    case ImageFormat::kTiff: return ".tif";
    case ImageFormat::kBmp: return ".bmp";
    case ImageFormat::kUnknown: break;
  }
  return ".bin";
}

std::string content_id(const std::uint8_t* data, std::size_t size) {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(XXH3_64bits(data, size)));
  return hex;
}

DecodeResult decode_bytes(const std::vector<std::uint8_t>& bytes, const DecodeLimits& limits) {
  if (bytes.empty()) return {std::nullopt, "empty file (0 bytes)"};
  const Format f = sniff_format(bytes.data(), bytes.size());
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
