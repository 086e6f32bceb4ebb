#include <cstdio>
#include <memory>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "cli/commands.hpp"
#include "cpu/segment.hpp"
#include "hemolens/decode.hpp"
#include "hemolens/quality.hpp"

namespace fs = std::filesystem;

namespace hemolens::cli {
namespace {

// Draws the outlines of a 0/1 mask on a BGR image.
void outline(cv::Mat& bgr, const Plane8& mask, const cv::Scalar& colour) {
  cv::Mat m(mask.height, mask.width, CV_8UC1, const_cast<std::uint8_t*>(mask.data.data()));
  std::vector<std::vector<cv::Point>> contours;
  cv::findContours(m.clone(), contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_NONE);
  cv::drawContours(bgr, contours, -1, colour, 2);
}

void run(const std::vector<std::string>& images, const std::string& out_dir) {
  fs::create_directories(out_dir);
  int failed = 0;
  for (const auto& file : images) {
    const DecodeResult r = decode_file(file, {});
    if (!r.image) {
      std::printf("%s: skipped: %s\n", file.c_str(), r.reason.c_str());
      ++failed;
      continue;
    }
    const RgbView view{r.image->rgb.data(), r.image->height, r.image->width};
    const cpu::Segmentation seg = cpu::segment(view, {});
    cv::Mat rgb(view.height, view.width, CV_8UC3, const_cast<std::uint8_t*>(view.data)), bgr;
    cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
    outline(bgr, seg.cell, {0, 200, 0});
    outline(bgr, seg.nucleus, {0, 0, 255});
    const fs::path out = fs::path(out_dir) / (fs::path(file).stem().string() + ".png");
    cv::imwrite(out.string(), bgr);
    const std::string flags = describe_flags(seg.flags);
    std::printf("%s -> %s%s%s\n", file.c_str(), out.c_str(), flags.empty() ? "" : "  flags: ", flags.c_str());
  }
  if (failed) throw ExitStatus{1};
}

void add_segment_command(CLI::App& app) {
  struct Args {
    std::vector<std::string> images;
    std::string out = "segmentation";
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("segment", "draw the segmented cell (green) and nucleus (red) outlines on images, as PNG");
  cmd->add_option("images", a->images, "image files")->required();
  cmd->add_option("-o,--output", a->out, "folder for the outlined PNGs");
  cmd->callback([a] { run(a->images, a->out); });
}

const Registration kRegistration{70, add_segment_command};

}  // namespace
}  // namespace hemolens::cli
