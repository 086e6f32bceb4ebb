#include "hemolens/dataset.hpp"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

namespace fs = std::filesystem;

namespace hemolens {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return s;
}

// Documentation next to the images (README, LICENSE, a manifest) is not input.
bool is_documentation(const fs::path& p) {
  const std::string ext = lower(p.extension().string());
  return ext == ".md" || ext == ".txt" || ext == ".csv" || ext == ".json" || ext == ".toml" || ext == ".yaml" ||
         lower(p.filename().string()).rfind("license", 0) == 0;
}

std::string relative_name(const fs::path& p, const fs::path& root) {
  return p.lexically_relative(root).generic_string();
}

// Adds the image files directly inside `dir` with `label`; directories that look like
// images and files that are not images are recorded as skipped.
void collect(const fs::path& dir, const fs::path& root, int label, Dataset& ds) {
  for (const auto& e : fs::directory_iterator(dir)) {
    const fs::path& p = e.path();
    const std::string rel = relative_name(p, root);
    if (e.is_directory()) {
      if (has_image_extension(p)) ds.skipped.push_back({rel, "is a directory, not an image file"});
      continue;
    }
    if (has_image_extension(p)) ds.entries.push_back({p, rel, label});
    else if (!is_documentation(p)) ds.skipped.push_back({rel, "not an image file (extension '" + p.extension().string() + "')"});
  }
}

bool holds_images(const fs::path& dir) {
  for (const auto& e : fs::directory_iterator(dir))
    if (!e.is_directory() && has_image_extension(e.path())) return true;
  return false;
}

std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (c == '"') {
      if (quoted && i + 1 < line.size() && line[i + 1] == '"') cur += c, ++i;
      else quoted = !quoted;
    } else if (c == ',' && !quoted) {
      out.push_back(cur);
      cur.clear();
    } else if (c != '\r') {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

Dataset scan_manifest(const fs::path& manifest) {
  std::ifstream in(manifest);
  if (!in) throw std::runtime_error("cannot read manifest " + manifest.string());
  Dataset ds;
  ds.root = manifest.parent_path();
  std::string line;
  if (!std::getline(in, line) || lower(line).rfind("path,label", 0) != 0)
    throw std::runtime_error("manifest " + manifest.string() + ": the first line must be the header 'path,label'");
  std::vector<std::pair<std::string, std::string>> rows;
  for (int n = 2; std::getline(in, line); ++n) {
    if (line.empty() || line == "\r") continue;
    const auto f = split_csv_line(line);
    if (f.size() != 2)
      throw std::runtime_error("manifest " + manifest.string() + " line " + std::to_string(n) + ": expected 2 fields (path,label), found " +
                               std::to_string(f.size()));
    rows.emplace_back(f[0], f[1]);
  }
  std::set<std::string> classes;
  for (const auto& r : rows)
    if (!r.second.empty()) classes.insert(r.second);
  ds.classes.assign(classes.begin(), classes.end());
  for (const auto& [path, label] : rows) {
    const fs::path p = fs::path(path).is_absolute() ? fs::path(path) : ds.root / path;
    const int l = label.empty() ? -1 : int(std::lower_bound(ds.classes.begin(), ds.classes.end(), label) - ds.classes.begin());
    if (!fs::exists(p)) ds.skipped.push_back({path, "file not found"});
    else ds.entries.push_back({p, path, l});
  }
  return ds;
}

}  // namespace

bool has_image_extension(const fs::path& p) {
  static const std::set<std::string> exts = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp"};
  return exts.count(lower(p.extension().string())) > 0;
}

Dataset scan_dataset(const fs::path& input) {
  std::error_code ec;
  if (!fs::exists(input, ec)) throw std::runtime_error("dataset not found: " + input.string());
  Dataset ds;
  if (fs::is_regular_file(input)) {
    if (lower(input.extension().string()) == ".csv") ds = scan_manifest(input);
    else throw std::runtime_error(input.string() + " is a file; give a folder of images, a folder per class, or a .csv manifest");
  } else {
    ds.root = input;
    // Sub-folders that hold images are classes; images at the top level are unlabelled. A
    // folder without images (a run directory or an output folder inside the dataset) is no
    // class: it would be an empty one, which the model cannot learn and the store would list.
    std::vector<fs::path> class_dirs;
    for (const auto& e : fs::directory_iterator(input)) {
      if (!e.is_directory() || has_image_extension(e.path()) || e.path().filename().string()[0] == '.') continue;
      if (holds_images(e.path())) class_dirs.push_back(e.path());
      else ds.skipped.push_back({relative_name(e.path(), input), "a folder without image files, so not a class"});
    }
    std::sort(class_dirs.begin(), class_dirs.end());
    for (const auto& d : class_dirs) ds.classes.push_back(d.filename().string());
    collect(input, input, -1, ds);
    for (std::size_t c = 0; c < class_dirs.size(); ++c) collect(class_dirs[c], input, int(c), ds);
  }
  std::sort(ds.entries.begin(), ds.entries.end(), [](const auto& a, const auto& b) { return a.rel_path < b.rel_path; });
  std::sort(ds.skipped.begin(), ds.skipped.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
  return ds;
}

ShardSpec parse_shard(const std::string& text) {
  ShardSpec s;
  const auto slash = text.find('/');
  try {
    if (slash == std::string::npos) throw std::invalid_argument("no slash");
    std::size_t used = 0;
    s.index = std::stoi(text.substr(0, slash), &used);
    if (used != slash) throw std::invalid_argument("index");
    const std::string count = text.substr(slash + 1);
    s.count = std::stoi(count, &used);
    if (used != count.size()) throw std::invalid_argument("count");
  } catch (const std::exception&) {
    throw std::runtime_error("bad shard '" + text + "': expected I/N, for example 0/4");
  }
  if (s.count < 1 || s.index < 0 || s.index >= s.count)
    throw std::runtime_error("bad shard '" + text + "': need 0 <= I < N");
  return s;
}

void keep_shard(Dataset& ds, ShardSpec shard) {
  const std::size_t n = ds.entries.size();
  const std::size_t begin = n * std::size_t(shard.index) / std::size_t(shard.count);
  const std::size_t end = n * std::size_t(shard.index + 1) / std::size_t(shard.count);
  ds.entries = std::vector<DatasetEntry>(ds.entries.begin() + std::ptrdiff_t(begin), ds.entries.begin() + std::ptrdiff_t(end));
  // Scan-time rejections are reported once, by shard 0, so that a merge lists each once.
  if (shard.index != 0) ds.skipped.clear();
}

}  // namespace hemolens
