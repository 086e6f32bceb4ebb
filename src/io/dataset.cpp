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

// The first image file below `dir` in breadth-first order, at most `budget` directory entries
// away: where the images of a dataset given at the wrong level are.
fs::path find_deeper_image(const fs::path& dir, std::size_t budget) {
  std::vector<fs::path> level = {dir};
  std::error_code ec;
  while (!level.empty() && budget > 0) {
    std::vector<fs::path> next;
    for (const fs::path& d : level) {
      std::vector<fs::path> children;
      for (auto it = fs::directory_iterator(d, ec); !ec && it != fs::directory_iterator() && budget > 0; it.increment(ec), --budget)
        children.push_back(it->path());
      std::sort(children.begin(), children.end());
      for (const fs::path& c : children) {
        if (fs::is_directory(c, ec)) {
          if (c.filename().string()[0] != '.') next.push_back(c);
        } else if (has_image_extension(c)) {
          return c;
        }
      }
    }
    level = std::move(next);
  }
  return {};
}

std::string some_names(const std::vector<std::string>& names) {
  std::string s;
  for (std::size_t i = 0; i < names.size() && i < 5; ++i) s += (i ? ", " : "") + names[i];
  return s + (names.size() > 5 ? ", ..." : "");
}

// A folder with no image where the layout expects them: what was found, what the layout is,
// and where the images are when they lie deeper (data/train/<class>/... given as data).
[[noreturn]] void no_images_in_folder(const fs::path& input, const Dataset& ds) {
  std::vector<std::string> folders, files;
  for (const auto& k : ds.skipped) (fs::is_directory(input / k.path) ? folders : files).push_back(k.path);
  std::string msg = input.string() + ": no image files where hemolens looks for them. A dataset is a folder of images (" +
                    (input / "*.jpg").string() + "), a folder with one sub-folder of images per class (" +
                    (input / "CLASS" / "*.jpg").string() +
                    "), or a path,label CSV; images are .jpg, .jpeg, .png, .tif, .tiff or .bmp. Found: ";
  if (folders.empty() && files.empty()) msg += "nothing (an empty folder)";
  if (!folders.empty()) msg += std::to_string(folders.size()) + " sub-folder(s) without images (" + some_names(folders) + ")";
  if (!files.empty()) msg += (folders.empty() ? "" : ", ") + std::to_string(files.size()) + " other file(s) (" + some_names(files) + ")";
  msg += ".";
  const fs::path deeper = find_deeper_image(input, 100000);
  if (!deeper.empty()) {
    const fs::path rel = deeper.lexically_relative(input);
    const fs::path root = deeper.parent_path().parent_path();
    msg += " Images lie deeper, e.g. " + rel.generic_string() + ": give " + root.string() +
           " (its sub-folders are the classes), or list the images in a path,label CSV.";
  }
  throw std::runtime_error(msg);
}

[[noreturn]] void no_images_in_manifest(const fs::path& manifest, const Dataset& ds) {
  if (ds.skipped.empty()) throw std::runtime_error("manifest " + manifest.string() + " lists no images (only the header 'path,label')");
  throw std::runtime_error("manifest " + manifest.string() + ": none of its " + std::to_string(ds.skipped.size()) +
                           " files exist (first: " + ds.skipped.front().path + "; relative paths are read from " +
                           manifest.parent_path().string() + ")");
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
  if (ds.entries.empty()) {
    if (fs::is_regular_file(input)) no_images_in_manifest(input, ds);
    no_images_in_folder(input, ds);
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
