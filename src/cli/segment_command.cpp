// `hemolens segment INPUT... -o DIR [--masks]`: what segmentation found, as images. INPUT is
// image files or folders (a folder of images or a folder per class, as extract reads them).
// For each image: DIR/<name>.png, the image with the cell (green) and nucleus (red) outlined,
// and with --masks DIR/<name>.mask.png, an 8-bit label image: 0 background, 1 cytoplasm (the
// cell outside its nucleus), 2 nucleus; so `mask >= 1` is the cell. Images of a folder keep
// their place below it (DIR/<class>/<name>.png); image files given by name go to DIR itself.
#include <cstdio>
#include <memory>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "cli/commands.hpp"
#include "cpu/segment.hpp"
#include "hemolens/dataset.hpp"
#include "hemolens/decode.hpp"
#include "hemolens/quality.hpp"

namespace fs = std::filesystem;

namespace hemolens::cli {
namespace {

struct SegmentArgs {
  std::vector<std::string> inputs;
  std::string out = "segmentation";
  bool masks = false, no_outlines = false;
};

// An image to segment and where its outputs go, without extension (DIR/basophil/BA_1).
struct Job {
  fs::path image, out_stem;
};

// Draws the outlines of a 0/1 mask on a BGR image.
void outline(cv::Mat& bgr, const Plane8& mask, const cv::Scalar& colour) {
  cv::Mat m(mask.height, mask.width, CV_8UC1, const_cast<std::uint8_t*>(mask.data.data()));
  std::vector<std::vector<cv::Point>> contours;
  cv::findContours(m.clone(), contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_NONE);
  cv::drawContours(bgr, contours, -1, colour, 2);
}

// 0 background, 1 cytoplasm, 2 nucleus.
cv::Mat label_image(const cpu::Segmentation& seg) {
  cv::Mat labels(seg.cell.height, seg.cell.width, CV_8UC1, cv::Scalar(0));
  for (int y = 0; y < labels.rows; ++y)
    for (int x = 0; x < labels.cols; ++x)
      labels.at<std::uint8_t>(y, x) = seg.nucleus.at(y, x) ? 2 : seg.cell.at(y, x) ? 1 : 0;
  return labels;
}

void write_png(const fs::path& path, const cv::Mat& image) {
  fs::create_directories(path.parent_path());
  if (!cv::imwrite(path.string(), image)) throw std::runtime_error("cannot write " + path.string());
}

// Folders are read as datasets (their layout, their order); files are taken as given, and so
// is a folder named like an image (x.jpg/), which the decoder then refuses, as extract does.
// A folder without images is reported like a bad file: the other inputs are still segmented.
std::vector<Job> plan(const SegmentArgs& a, int* failed) {
  std::vector<Job> jobs;
  const fs::path out(a.out);
  for (const auto& input : a.inputs) {
    if (!fs::is_directory(input) || has_image_extension(input)) {
      jobs.push_back({input, out / fs::path(input).stem()});
      continue;
    }
    Dataset ds;
    try {
      ds = scan_dataset(input);
    } catch (const std::runtime_error& e) {
      std::printf("%s: skipped: %s\n", input.c_str(), e.what());
      ++*failed;
      continue;
    }
    for (const auto& k : ds.skipped) std::printf("%s: skipped: %s\n", (fs::path(input) / k.path).c_str(), k.reason.c_str());
    for (const auto& e : ds.entries) jobs.push_back({e.path, (out / e.rel_path).replace_extension()});
  }
  return jobs;
}

void run(const SegmentArgs& a) {
  if (a.no_outlines && !a.masks) throw std::runtime_error("--no-outlines leaves nothing to write: add --masks");
  int failed = 0;
  for (const Job& job : plan(a, &failed)) {
    const DecodeResult r = decode_file(job.image, {});
    if (!r.image) {
      std::printf("%s: skipped: %s\n", job.image.c_str(), r.reason.c_str());
      ++failed;
      continue;
    }
    const RgbView view{r.image->rgb.data(), r.image->height, r.image->width};
    const cpu::Segmentation seg = cpu::segment(view, {});
    std::string wrote;
    if (!a.no_outlines) {
      cv::Mat rgb(view.height, view.width, CV_8UC3, const_cast<std::uint8_t*>(view.data)), bgr;
      cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
      outline(bgr, seg.cell, {0, 200, 0});
      outline(bgr, seg.nucleus, {0, 0, 255});
      const fs::path png = job.out_stem.string() + ".png";
      write_png(png, bgr);
      wrote = png.string();
    }
    if (a.masks) {
      const fs::path mask = job.out_stem.string() + ".mask.png";
      write_png(mask, label_image(seg));
      wrote += (wrote.empty() ? "" : ", ") + mask.string();
    }
    const std::string flags = describe_flags(seg.flags);
    std::printf("%s -> %s%s%s\n", job.image.c_str(), wrote.c_str(), flags.empty() ? "" : "  flags: ", flags.c_str());
  }
  if (failed) throw ExitStatus{1};
}

void add_segment_command(CLI::App& app) {
  auto a = std::make_shared<SegmentArgs>();
  CLI::App* cmd = app.add_subcommand("segment", "draw the segmented cell (green) and nucleus (red) on images, and write label masks, as PNG");
  cmd->add_option("inputs", a->inputs, "image files or folders (a folder of images, or one sub-folder per class)")->required();
  cmd->add_option("-o,--output", a->out, "folder for the PNGs (a folder's images keep their sub-folders)")->capture_default_str();
  cmd->add_flag("--masks", a->masks, "also write NAME.mask.png: 0 background, 1 cytoplasm, 2 nucleus (8-bit labels)");
  cmd->add_flag("--no-outlines", a->no_outlines, "with --masks: write the masks only");
  cmd->callback([a] { run(*a); });
}

const Registration kRegistration{70, add_segment_command};

}  // namespace
}  // namespace hemolens::cli
