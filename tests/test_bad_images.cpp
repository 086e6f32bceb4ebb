// One bad image must never cost a good one. The committed corpus of damaged and unusual files
// (tests/data/bad, expected.csv says what each must give) runs with good images of every
// format after every bad kind: through the decoder in one thread and several, and through the
// real binary's extract, predict, score, segment and serve. Every good image must get what it
// gets alone; every bad one its own, true reason.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>    // for kill
#include <sys/wait.h>  // for waitpid
#include <unistd.h>    // for fork, exec, pipe
#include <algorithm>

#include <fstream>
#include <map>
#include <optional>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <thread>

#include "hemolens/decode.hpp"
#include "hemolens/store.hpp"
#include "support.hpp"

namespace fs = std::filesystem;
using namespace hemolens;
using Json = nlohmann::json;

namespace {

fs::path corpus_dir() { return test::source_dir() / "tests" / "data" / "bad"; }

struct Case {
  fs::path file;
  std::string expect;  // "decodes", or a piece of the reason it must be refused with
  bool decodes() const { return expect == "decodes"; }
};

std::vector<Case> corpus() {
  std::ifstream in(corpus_dir() / "expected.csv");
  std::vector<Case> out;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    const auto comma = line.find(',');
    out.push_back({corpus_dir() / line.substr(0, comma), line.substr(comma + 1)});
  }
  return out;
}

std::vector<Case> bad_cases() {
  std::vector<Case> out;
  for (const Case& c : corpus())
    if (!c.decodes()) out.push_back(c);
  return out;
}

// Good images of every format the engine reads: baseline JPEG, greyscale, CMYK and YCCK JPEG,
// PNG, TIFF and BMP; the lossless ones written here from a sample image.
struct GoodImages {
  test::TempDir dir{"good-images"};
  std::vector<fs::path> files;
  GoodImages() {
    const fs::path jpeg = test::sample_dir() / "neutrophil" / "BNE_101234.jpg";
    files.push_back(jpeg);
    for (const char* name : {"jpeg_grey.jpg", "jpeg_cmyk.jpg", "jpeg_ycck.jpg"}) files.push_back(corpus_dir() / name);
    const cv::Mat bgr = cv::imread((test::sample_dir() / "monocyte" / "MO_104290.jpg").string(), cv::IMREAD_COLOR);
    for (const char* name : {"good.png", "good.tif", "good.bmp"}) {
      cv::imwrite((dir.path / name).string(), bgr);
      files.push_back(dir.path / name);
    }
  }
};

const GoodImages& good_images() {
  static const GoodImages g;
  return g;
}

std::vector<std::uint8_t> bytes_of(const fs::path& p) {
  const std::string s = test::read_file(p);
  return {s.begin(), s.end()};
}

// What each good image decodes to alone, in a thread of its own (nullopt: it failed, which
// the interleaved runs report).
std::vector<std::optional<DecodedImage>> decoded_alone() {
  std::vector<std::optional<DecodedImage>> out;
  for (const fs::path& f : good_images().files) std::thread([&] { out.push_back(decode_file(f, {}).image); }).join();
  return out;
}

// Every bad case, each followed by every good image, starting at bad case `offset`: what one
// thread decodes. Returns the failures it saw (empty when all is well).
std::vector<std::string> decode_interleaved(const std::vector<std::optional<DecodedImage>>& alone, std::size_t offset) {
  const std::vector<Case> bad = bad_cases();
  std::vector<std::string> failures;
  for (std::size_t g = 0; g < alone.size(); ++g)
    if (!alone[g]) failures.push_back(good_images().files[g].filename().string() + " does not decode even alone");
  for (std::size_t k = 0; k < bad.size(); ++k) {
    const Case& c = bad[(k + offset) % bad.size()];
    const DecodeResult r = decode_file(c.file, {});
    if (r.image || r.reason.find(c.expect) == std::string::npos)
      failures.push_back(c.file.filename().string() + ": got '" + r.reason + "', want '" + c.expect + "'");
    for (std::size_t g = 0; g < alone.size(); ++g) {
      const std::string what = "after " + c.file.filename().string() + ", " + good_images().files[g].filename().string();
      const DecodeResult good = decode_file(good_images().files[g], {});
      if (!good.image && alone[g]) failures.push_back(what + ": " + good.reason);
      else if (good.image && alone[g] && (good.image->rgb != alone[g]->rgb || good.image->id != alone[g]->id))
        failures.push_back(what + " decoded differently");
    }
  }
  return failures;
}

// The first few failures, for the message of a failed expectation.
std::string first_of(const std::vector<std::string>& failures) {
  std::string out = std::to_string(failures.size()) + " failure(s):";
  for (std::size_t i = 0; i < failures.size() && i < 6; ++i) out += "\n  " + failures[i];
  return out;
}

// ---- CSV and folders --------------------------------------------------------------------

// path -> the rest of its row.
std::map<std::string, std::vector<std::string>> csv_rows(const fs::path& file) {
  std::ifstream in(file);
  std::map<std::string, std::vector<std::string>> rows;
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    auto f = test::csv_fields(line);
    const std::string path = f.front();
    f.erase(f.begin());
    rows[path] = f;
  }
  return rows;
}

std::string good_name(std::size_t k, std::size_t g) {
  return (k < 10 ? "0" : "") + std::to_string(k) + "-" + std::to_string(g + 1) + "-good" +
         good_images().files[g].extension().string();
}
std::string bad_name(std::size_t k, const Case& c) { return (k < 10 ? "0" : "") + std::to_string(k) + "-0-" + c.file.filename().string(); }

// Which good image a name made by good_name() is a copy of.
std::size_t good_index(const std::string& name) {
  const auto dash = name.find('-', 3);
  return std::size_t(std::stoul(name.substr(3, dash - 3))) - 1;
}

// DIR/alone: the good images only. DIR/mixed: every bad case followed by good images, in name
// order, which is the order every command processes a folder in: every format after every bad
// case, or (lighter, for the commands that extract again) the baseline JPEG, which a bad JPEG
// would harm first, and the next format in turn.
enum class After { kEveryFormat, kJpegAndOneMore };

struct Folders {
  test::TempDir dir{"bad-mixed"};
  fs::path alone, mixed;
  std::vector<fs::path> mixed_files;  // in order
  std::size_t good_count = 0;         // in mixed
  explicit Folders(After after) {
    alone = dir.path / "alone";
    mixed = dir.path / "mixed";
    fs::create_directories(alone);
    fs::create_directories(mixed);
    const auto& good = good_images().files;
    for (std::size_t g = 0; g < good.size(); ++g) fs::copy_file(good[g], alone / good_name(0, g));
    const std::vector<Case> bad = bad_cases();
    for (std::size_t k = 0; k < bad.size(); ++k) {
      const fs::path b = mixed / bad_name(k, bad[k]);
      if (fs::is_directory(bad[k].file)) fs::create_directory(b);
      else fs::copy_file(bad[k].file, b);
      mixed_files.push_back(b);
      for (std::size_t g = 0; g < good.size(); ++g) {
        if (after == After::kJpegAndOneMore && g != 0 && g != 1 + k % (good.size() - 1)) continue;
        fs::copy_file(good[g], mixed / good_name(k, g));
        mixed_files.push_back(mixed / good_name(k, g));
        ++good_count;
      }
    }
  }
};

const Case& case_named(const std::string& mixed_name) {
  static const std::vector<Case> bad = bad_cases();
  return bad[std::size_t(std::stoul(mixed_name.substr(0, 2)))];
}

bool is_good(const std::string& name) { return name.find("-good.") != std::string::npos; }

// Rows of a predict or score CSV over DIR/mixed against the same command over DIR/alone.
void expect_csv_matches(const Folders& f, const fs::path& mixed_csv, const fs::path& alone_csv, std::size_t reason_column) {
  const auto mixed = csv_rows(mixed_csv), alone = csv_rows(alone_csv);
  ASSERT_EQ(alone.size(), good_images().files.size());
  ASSERT_EQ(mixed.size(), bad_cases().size() + f.good_count) << "a file lost its row";
  for (const auto& [name, row] : mixed) {
    if (is_good(name)) {
      const auto& ref = alone.at(good_name(0, good_index(name)));
      EXPECT_EQ(row, ref) << name << " differs from the same image alone";
    } else {
      const Case& c = case_named(name);
      ASSERT_GT(row.size(), reason_column) << name;
      EXPECT_NE(row[reason_column].find(c.expect), std::string::npos) << name << ": " << row[reason_column];
    }
  }
}

// ---- a real `hemolens serve` -------------------------------------------------------------

// `hemolens serve BUNDLE --port 0` as a child process; the port is read from what it prints.
class ServeProcess {
 public:
  explicit ServeProcess(const fs::path& bundle) {
    int out[2];
    if (::pipe(out) != 0) throw std::runtime_error("pipe failed");
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], STDOUT_FILENO);
      ::close(out[0]);
      const std::string bin = test::hemolens_binary().string(), dir = bundle.string();
      ::execl(bin.c_str(), bin.c_str(), "serve", dir.c_str(), "--host", "127.0.0.1", "--port", "0", "--threads", "4", nullptr);
      ::_exit(127);
    }
    ::close(out[1]);
    out_ = ::fdopen(out[0], "r");
    char line[512];
    while (std::fgets(line, sizeof line, out_)) {
      const std::string l = line;
      if (const auto at = l.find("http://127.0.0.1:"); at != std::string::npos) {
        port_ = std::stoi(l.substr(at + 17));
        break;
      }
    }
    if (port_ == 0) throw std::runtime_error("hemolens serve did not say its port");
  }
  ~ServeProcess() {
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    std::fclose(out_);
  }
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  bool alive() const { return ::waitpid(pid_, nullptr, WNOHANG) == 0; }

  // One raw upload; the status and the JSON reply.
  std::pair<int, Json> analyze(const std::string& name, const std::string& bytes) const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(120);
    auto res = c.Post(("/api/analyze?name=" + name).c_str(), bytes, "application/octet-stream");
    if (!res) return {-1, Json()};
    return {res->status, Json::parse(res->body, nullptr, false)};
  }

 private:
  pid_t pid_ = -1;
  FILE* out_ = nullptr;
  int port_ = 0;
};

// An answer without what changes from run to run (timings).
Json comparable(Json j) {
  for (auto& image : j["images"]) image.erase("timing_ms");
  return j;
}

}  // namespace

// ---- the decoder ------------------------------------------------------------------------

TEST(BadImages, EveryCaseGetsItsOwnReasonOrDecodes) {
  const std::vector<Case> cases = corpus();
  ASSERT_GE(cases.size(), 30u);
  for (const Case& c : cases) {
    // Each in a fresh thread: the reason must not depend on what a thread decoded before.
    std::thread([&] {
      const DecodeResult r = decode_file(c.file, {});
      if (c.decodes()) {
        EXPECT_TRUE(r.image) << c.file.filename() << ": " << r.reason;
      } else {
        EXPECT_FALSE(r.image) << c.file.filename() << " decoded";
        EXPECT_NE(r.reason.find(c.expect), std::string::npos) << c.file.filename() << ": " << r.reason;
      }
    }).join();
  }
}

// OpenCV's imread is the oracle for the colour conversion of CMYK and YCCK JPEGs.
TEST(BadImages, CmykYcckAndGreyJpegsGiveOpenCvsPixels) {
  for (const char* name : {"jpeg_cmyk.jpg", "jpeg_ycck.jpg", "jpeg_grey.jpg"}) {
    const DecodeResult r = decode_file(corpus_dir() / name, {});
    ASSERT_TRUE(r.image) << name << ": " << r.reason;
    cv::Mat bgr = cv::imread((corpus_dir() / name).string(), cv::IMREAD_COLOR), rgb;
    ASSERT_FALSE(bgr.empty()) << name;
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    ASSERT_EQ(r.image->width, rgb.cols);
    ASSERT_EQ(r.image->height, rgb.rows);
    EXPECT_TRUE(std::equal(r.image->rgb.begin(), r.image->rgb.end(), rgb.data)) << name;
  }
  // And they look like the cell they were made from (mean colour within a few levels), so
  // the oracle is not agreeing on a wrong conversion.
  const cv::Mat source = cv::imread((test::sample_dir() / "erythroblast" / "ERB_424947.jpg").string(), cv::IMREAD_COLOR);
  for (const char* name : {"jpeg_cmyk.jpg", "jpeg_ycck.jpg"}) {
    const cv::Scalar a = cv::mean(source), b = cv::mean(cv::imread((corpus_dir() / name).string(), cv::IMREAD_COLOR));
    for (int c = 0; c < 3; ++c) EXPECT_NEAR(a[c], b[c], 4.0) << name << " channel " << c;
  }
}

TEST(BadImages, NoDecoderStateSurvivesABadImageInOneThread) {
  const auto alone = decoded_alone();
  const std::vector<std::string> failures = decode_interleaved(alone, 0);
  EXPECT_TRUE(failures.empty()) << first_of(failures);
}

TEST(BadImages, NoDecoderStateSurvivesABadImageInSeveralThreads) {
  const auto alone = decoded_alone();
  std::vector<std::vector<std::string>> failures(4);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < failures.size(); ++t) threads.emplace_back([&, t] { failures[t] = decode_interleaved(alone, t * 7); });
  for (auto& t : threads) t.join();
  for (const auto& f : failures) EXPECT_TRUE(f.empty()) << first_of(f);
}

// ---- the commands -------------------------------------------------------------------------

TEST(BadImages, ExtractLosesNoGoodImageInOneThreadOrTwo) {
  const Folders f(After::kEveryFormat);
  const fs::path alone_store = f.dir.path / "alone.h5";
  ASSERT_EQ(test::run_hemolens("extract " + f.alone.string() + " -o " + alone_store.string() + " --backend cpu -q").status, 0);
  const StoreData alone = read_store(alone_store);
  std::map<std::size_t, std::size_t> alone_row;  // good image -> row
  for (std::size_t i = 0; i < alone.rows; ++i) alone_row[good_index(alone.images[i].path)] = i;
  ASSERT_EQ(alone_row.size(), good_images().files.size());

  for (const char* threads : {"1", "2"}) {
    const fs::path store = f.dir.path / (std::string("mixed-") + threads + ".h5");
    const auto r = test::run_hemolens("extract " + f.mixed.string() + " -o " + store.string() + " --backend cpu --batch 4 --threads " + threads);
    ASSERT_EQ(r.status, 0) << r.output;
    const StoreData s = read_store(store);
    EXPECT_EQ(s.rows, f.good_count) << threads << " thread(s): a good image was lost\n" << r.output;
    for (std::size_t i = 0; i < s.rows; ++i) {
      const std::size_t ref = alone_row.at(good_index(s.images[i].path));
      EXPECT_EQ(s.images[i].id, alone.images[ref].id);
      EXPECT_EQ(s.images[i].flags, alone.images[ref].flags);
      EXPECT_TRUE(std::equal(s.features.begin() + std::ptrdiff_t(i * s.cols), s.features.begin() + std::ptrdiff_t((i + 1) * s.cols),
                             alone.features.begin() + std::ptrdiff_t(ref * s.cols)))
          << s.images[i].path << " has other features than alone";
    }
    ASSERT_EQ(s.skipped.size(), bad_cases().size());
    for (const SkippedImage& k : s.skipped)
      EXPECT_NE(k.reason.find(case_named(k.path).expect), std::string::npos) << k.path << ": " << k.reason;
  }
}

TEST(BadImages, PredictAndScoreLoseNoGoodImage) {
  const Folders f(After::kJpegAndOneMore);
  const std::string bundle = test::sample_bundle().string();
  for (const char* command : {"predict", "score"}) {
    const fs::path alone = f.dir.path / (std::string(command) + "-alone.csv"), mixed = f.dir.path / (std::string(command) + "-mixed.csv");
    const auto a = test::run_hemolens(std::string(command) + " " + bundle + " " + f.alone.string() + " -o " + alone.string() + " --backend cpu");
    ASSERT_EQ(a.status, 0) << a.output;
    const auto m = test::run_hemolens(std::string(command) + " " + bundle + " " + f.mixed.string() + " -o " + mixed.string() + " --backend cpu");
    ASSERT_EQ(m.status, 0) << m.output;
    const std::vector<std::string> header = test::csv_fields(test::read_file(mixed).substr(0, test::read_file(mixed).find('\n')));
    const auto reason = std::find(header.begin(), header.end(), "skipped_reason");
    ASSERT_NE(reason, header.end());
    SCOPED_TRACE(command);
    expect_csv_matches(f, mixed, alone, std::size_t(reason - header.begin()) - 1);  // csv_rows drops the path column
  }
}

TEST(BadImages, SegmentLosesNoGoodImage) {
  const Folders f(After::kJpegAndOneMore);
  std::string alone_args, mixed_args;
  for (const auto& e : fs::directory_iterator(f.alone)) alone_args += " " + e.path().string();
  for (const fs::path& p : f.mixed_files) mixed_args += " " + p.string();
  const auto a = test::run_hemolens("segment" + alone_args + " -o " + (f.dir.path / "alone-png").string());
  ASSERT_EQ(a.status, 0) << a.output;
  const auto m = test::run_hemolens("segment" + mixed_args + " -o " + (f.dir.path / "mixed-png").string());
  EXPECT_EQ(m.status, 1) << "bad files must make segment exit 1\n" << m.output;
  for (const fs::path& p : f.mixed_files) {
    const std::string name = p.filename().string();
    if (is_good(name)) {
      const fs::path out = f.dir.path / "mixed-png" / (p.stem().string() + ".png");
      const fs::path ref = f.dir.path / "alone-png" / (fs::path(good_name(0, good_index(name))).stem().string() + ".png");
      ASSERT_TRUE(fs::exists(out)) << name << " was not segmented\n" << m.output;
      const cv::Mat x = cv::imread(out.string(), cv::IMREAD_UNCHANGED), y = cv::imread(ref.string(), cv::IMREAD_UNCHANGED);
      ASSERT_EQ(x.size(), y.size()) << name;
      EXPECT_EQ(cv::norm(x, y, cv::NORM_INF), 0) << name << " is outlined differently than alone";
    } else {
      const std::string line = p.string() + ": skipped: ";
      const auto at = m.output.find(line);
      ASSERT_NE(at, std::string::npos) << name << " not reported\n" << m.output;
      const std::string reason = m.output.substr(at + line.size(), m.output.find('\n', at) - at - line.size());
      EXPECT_NE(reason.find(case_named(name).expect), std::string::npos) << name << ": " << reason;
    }
  }
}

TEST(BadImages, ServeAnswersEveryGoodUploadAfterEveryBadOne) {
  const ServeProcess server(test::sample_bundle());
  const auto& good = good_images().files;
  std::vector<Json> alone;
  for (const fs::path& g : good) {
    const auto [status, body] = server.analyze(g.filename().string(), test::read_file(g));
    ASSERT_EQ(status, 200) << g << ": " << body.dump();
    alone.push_back(comparable(body));
  }
  const std::vector<Case> bad = bad_cases();
  // After each bad upload, every good image (one client), or the next good image in turn
  // (four clients at once, each starting at another bad case).
  const auto client = [&](std::size_t offset, bool every_good, std::vector<std::string>& failures) {
    for (std::size_t k = 0; k < bad.size(); ++k) {
      const Case& c = bad[(k + offset) % bad.size()];
      if (fs::is_directory(c.file)) continue;  // a folder cannot be uploaded
      const auto [status, body] = server.analyze(c.file.filename().string(), test::read_file(c.file));
      const std::string reason = body.is_object() ? body.value("error", "") : "";
      if (status < 400 || status >= 500 || reason.find(c.expect) == std::string::npos)
        failures.push_back(c.file.filename().string() + ": " + std::to_string(status) + " " + body.dump());
      for (std::size_t g = every_good ? 0 : (k + offset) % good.size(); g < good.size(); ++g) {
        const auto [gs, gb] = server.analyze(good[g].filename().string(), test::read_file(good[g]));
        if (gs != 200 || comparable(gb) != alone[g])
          failures.push_back("after " + c.file.filename().string() + ", " + good[g].filename().string() + ": " + std::to_string(gs) + " " +
                             gb.dump().substr(0, 300));
        if (!every_good) break;
      }
    }
  };
  std::vector<std::string> one;
  client(0, true, one);
  EXPECT_TRUE(one.empty()) << first_of(one);
  std::vector<std::vector<std::string>> many(4);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < many.size(); ++t) threads.emplace_back([&, t] { client(t * 9, false, many[t]); });
  for (auto& t : threads) t.join();
  for (const auto& f : many) EXPECT_TRUE(f.empty()) << first_of(f);
  EXPECT_TRUE(server.alive());
}
