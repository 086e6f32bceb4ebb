// `hemolens serve` under slow and huge clients, against the real binary on loopback (a child
// process, so its memory is its own): an upload over a limit is refused while it arrives and
// the server's memory stays within the stated bound; slow clients do not stall other
// requests and are cut off at their deadline; one connection too many is told the server is
// busy; more files than httplib's own cap are served; kept uploads are named by their real
// type and a failed write is reported; every request is logged with its own duration.
//
// Bodies of up to a gigabyte are made on the fly, never stored. Timing is asserted only with
// bounds far above what the design needs (the latencies are printed).
#include <gtest/gtest.h>
#include <httplib.h>
#include <fcntl.h>
#include <netinet/in.h>  // for the raw client sockets
#include <poll.h>
#include <signal.h>
#include <spawn.h>  // for starting `hemolens serve`
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "support.hpp"

namespace fs = std::filesystem;
using namespace hemolens;
using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

extern char** environ;

namespace {

constexpr std::uint64_t kMiB = 1u << 20;

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

// `hemolens serve` on the sample model and a free loopback port, stopped at the end.
class ServeProcess {
 public:
  explicit ServeProcess(const std::vector<std::string>& options) {
    std::vector<std::string> args = {test::hemolens_binary().string(), "serve", test::sample_bundle().string(), "--port", "0"};
    args.insert(args.end(), options.begin(), options.end());
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t io;
    posix_spawn_file_actions_init(&io);
    posix_spawn_file_actions_addopen(&io, 1, log_path().c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&io, 1, 2);
    const int rc = posix_spawn(&pid_, argv[0], &io, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&io);
    if (rc != 0) throw std::runtime_error("cannot start " + args[0]);
    const std::regex listening(R"(listening on http://127\.0\.0\.1:(\d+)/)");
    for (const Clock::time_point t0 = Clock::now(); ms_since(t0) < 60'000; std::this_thread::sleep_for(milliseconds(50))) {
      std::smatch m;
      const std::string out = log();
      if (std::regex_search(out, m, listening)) {
        port_ = std::stoi(m[1]);
        return;
      }
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        throw std::runtime_error("hemolens serve exited: " + out);
      }
    }
    throw std::runtime_error("hemolens serve did not start: " + log());
  }
  ~ServeProcess() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    for (int i = 0; i < 200 && waitpid(pid_, nullptr, WNOHANG) == 0; ++i) std::this_thread::sleep_for(milliseconds(50));
    if (kill(pid_, 0) == 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  int port() const { return port_; }
  std::string log() const { return test::read_file(log_path()); }
  // A field of /proc/<pid>/status in KiB (VmRSS: resident now; VmHWM: the peak).
  long memory_kib(const std::string& field) const {
    std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
    for (std::string line; std::getline(in, line);)
      if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
    return -1;
  }
  // Sets the peak (VmHWM) to the resident size now; false where the kernel does not allow it.
  bool reset_peak() const {
    std::ofstream out("/proc/" + std::to_string(pid_) + "/clear_refs");
    out << "5";
    out.close();
    return bool(out);
  }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_connection_timeout(10);
    c.set_read_timeout(30);
    return c;
  }

 private:
  fs::path log_path() const { return dir_.path / "serve.log"; }
  test::TempDir dir_{"serve-limits"};
  pid_t pid_ = -1;
  int port_ = 0;
};

// A raw client connection, for what httplib's client cannot do: send slowly, stop sending
// when the reply comes, send a gigabyte made on the fly.
class RawClient {
 public:
  explicit RawClient(int port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(std::uint16_t(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) throw std::runtime_error("cannot connect");
  }
  ~RawClient() { ::close(fd_); }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool send(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(std::size_t(n));
    }
    return true;
  }
  bool readable(milliseconds wait) const {
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, int(wait.count())) > 0;
  }
  // What the server sends until it closes the connection or a whole reply has come (an
  // interim "100 Continue" counts as a whole reply), or `wait` passes.
  std::string read_reply(milliseconds wait) {
    std::string reply;
    const Clock::time_point end = Clock::now() + wait;
    while (!whole(reply)) {
      const auto left = std::chrono::duration_cast<milliseconds>(end - Clock::now());
      if (left.count() <= 0 || !readable(left)) break;
      char buf[4096];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) break;
      reply.append(buf, std::size_t(n));
    }
    return reply;
  }
  // Sends `body_size` bytes made by `fill` (offset, buffer) while watching for the reply, as
  // curl does: once the server answers, it stops sending and reads the reply.
  // Returns the reply and how much of the body had been sent by then.
  std::pair<std::string, std::uint64_t> stream(std::uint64_t body_size, const std::function<void(std::uint64_t, std::string&)>& fill) {
    std::uint64_t sent = 0;
    std::string chunk;
    while (sent < body_size) {
      pollfd p{fd_, POLLIN | POLLOUT, 0};
      if (::poll(&p, 1, 30'000) <= 0) break;
      if (p.revents & (POLLIN | POLLERR | POLLHUP)) break;
      chunk.resize(std::size_t(std::min<std::uint64_t>(256 << 10, body_size - sent)));
      fill(sent, chunk);
      const ssize_t n = ::send(fd_, chunk.data(), chunk.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) continue;
      if (n <= 0) break;
      sent += std::uint64_t(n);
    }
    return {read_reply(milliseconds(30'000)), sent};
  }

 private:
  static bool whole(const std::string& reply) {
    const std::size_t head_end = reply.find("\r\n\r\n");
    if (head_end == std::string::npos) return false;
    const std::smatch m = [&] {
      std::smatch r;
      std::regex_search(reply.cbegin(), reply.cbegin() + std::ptrdiff_t(head_end), r, std::regex("Content-Length: (\\d+)", std::regex::icase));
      return r;
    }();
    if (m.empty()) return reply.rfind("HTTP/1.1 100", 0) == 0;
    return reply.size() >= head_end + 4 + std::stoul(m[1]);
  }
  int fd_;
};

int status_of(const std::string& reply) { return reply.rfind("HTTP/1.1 ", 0) == 0 ? std::atoi(reply.c_str() + 9) : -1; }

// The reply's JSON body; an empty object when there is none.
Json body_of(const std::string& reply) {
  const std::size_t at = reply.find("\r\n\r\n");
  const Json j = at == std::string::npos ? Json() : Json::parse(reply.substr(at + 4), nullptr, false);
  return j.is_object() ? j : Json::object();
}

const std::string kBoundary = "hemolens-test-boundary";

std::string post_head(const std::string& content_type, std::uint64_t length, const std::string& more = "") {
  return "POST /api/analyze HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: " + content_type + "\r\nContent-Length: " + std::to_string(length) +
         "\r\n" + more + "\r\n";
}
std::string multipart_type() { return "multipart/form-data; boundary=" + kBoundary; }
std::string part_head(const std::string& file) {
  return "--" + kBoundary + "\r\nContent-Disposition: form-data; name=\"images\"; filename=\"" + file + "\"\r\nContent-Type: image/jpeg\r\n\r\n";
}
const std::string kClosing = "\r\n--" + kBoundary + "--\r\n";

// A multipart body of one file of `file_size` bytes (a JPEG signature, then filler), made on the fly.
struct HugePart {
  std::string head = part_head("huge.jpg");
  std::uint64_t file_size;
  std::uint64_t size() const { return head.size() + file_size + kClosing.size(); }
  void fill(std::uint64_t offset, std::string& chunk) const {
    for (std::size_t i = 0; i < chunk.size(); ++i) {
      const std::uint64_t at = offset + i;
      if (at < head.size()) chunk[i] = head[at];
      else if (at - head.size() < 3) chunk[i] = "\xFF\xD8\xFF"[at - head.size()];
      else if (at - head.size() < file_size) chunk[i] = char('A' + at % 23);
      else chunk[i] = kClosing[at - head.size() - file_size];
    }
  }
};

// The upload of one file of `file_size` bytes by a client that reads the reply as soon as it comes.
std::pair<std::string, std::uint64_t> upload_huge(int port, std::uint64_t file_size) {
  const HugePart body{part_head("huge.jpg"), file_size};
  RawClient c(port);
  c.send(post_head(multipart_type(), body.size()));
  return c.stream(body.size(), [&](std::uint64_t off, std::string& chunk) { body.fill(off, chunk); });
}

std::pair<int, Json> analyze_sample(const ServeProcess& s) {
  const fs::path jpeg = test::sample_jpegs().front();
  auto res = s.client().Post("/api/analyze", httplib::MultipartFormDataItems{{"images", test::read_file(jpeg), "cell.jpg", "image/jpeg"}});
  if (!res) return {-1, Json()};
  return {res->status, Json::parse(res->body, nullptr, false)};
}

// GET /healthz: the status (-1: no answer within 10 s) and how long the answer took.
std::pair<int, double> healthz(const ServeProcess& s) {
  httplib::Client c("127.0.0.1", s.port());
  c.set_connection_timeout(10);
  c.set_read_timeout(10);
  const Clock::time_point t0 = Clock::now();
  auto res = c.Get("/healthz");
  return {res ? res->status : -1, ms_since(t0)};
}

}  // namespace

// The stated bound (src/serve/uploads.hpp): each connection reading a file holds at most
// 2 x --max-file-mb for it. A 1 GB part and four 500 MB parts at once are refused at the
// 16 MiB limit, while they arrive, and the server's peak memory grows by less than that bound
// plus 48 MiB (thread stacks, socket buffers, allocator slack); afterwards it returns.
TEST(ServeLimits, HugeUploadsAreRefusedWhileTheyArriveAndMemoryStaysBounded) {
  const ServeProcess s({"--threads", "2"});
  ASSERT_EQ(analyze_sample(s).first, 200);  // warm: the analysis threads and their scratch exist
  const long baseline = s.memory_kib("VmRSS");
  const bool peak_resets = s.reset_peak();
  const long slack = long(48 * kMiB / 1024), per_connection = long(2 * 16 * kMiB / 1024);

  const auto [reply, sent] = upload_huge(s.port(), 1024 * kMiB);
  EXPECT_EQ(status_of(reply), 413) << reply.substr(0, 300);
  EXPECT_NE(body_of(reply).value("error", "").find("huge.jpg: file exceeds the limit of 16777216 bytes"), std::string::npos) << reply;
  EXPECT_LT(sent, 128 * kMiB) << "the refusal came only after " << sent << " bytes of the 1 GB part";
  const long peak_one = s.memory_kib("VmHWM");
  std::printf("1 GB part: refused after %.1f MiB sent; server RSS %ld KiB before, peak %ld KiB (bound %ld KiB)%s\n", double(sent) / double(kMiB),
              baseline, peak_one, baseline + per_connection + slack, peak_resets ? "" : " (peak not resettable: includes start-up)");
  if (peak_resets) EXPECT_LE(peak_one, baseline + per_connection + slack);

  std::vector<std::pair<std::string, std::uint64_t>> four(4);
  std::vector<std::thread> clients;
  for (std::size_t i = 0; i < four.size(); ++i) clients.emplace_back([&, i] { four[i] = upload_huge(s.port(), 500 * kMiB); });
  for (std::thread& t : clients) t.join();
  for (const auto& [r, n] : four) {
    EXPECT_EQ(status_of(r), 413) << r.substr(0, 300);
    EXPECT_LT(n, 128 * kMiB);
  }
  const long peak_four = s.memory_kib("VmHWM");
  std::printf("4 x 500 MB parts at once: server peak %ld KiB (bound %ld KiB)\n", peak_four, baseline + 4 * per_connection + slack);
  if (peak_resets) EXPECT_LE(peak_four, baseline + 4 * per_connection + slack);

  // The memory of the refused uploads goes back, and the server still analyses images.
  std::this_thread::sleep_for(milliseconds(500));
  const long after = s.memory_kib("VmRSS");
  std::printf("server RSS after the refusals: %ld KiB (%+ld KiB)\n", after, after - baseline);
  EXPECT_LE(after, baseline + long(24 * kMiB / 1024));
  EXPECT_EQ(analyze_sample(s).first, 200);
}

// Refusals decided from the headers come before any of the body is read: with
// "Expect: 100-continue" instead of "100 Continue", without it while the client still sends.
// Junk after a part (which httplib's parser would buffer) is refused while it arrives too.
TEST(ServeLimits, UploadsDeclaredTooLargeAreRefusedBeforeTheirBody) {
  const ServeProcess s({});
  {
    RawClient c(s.port());
    c.send(post_head(multipart_type(), 4096 * kMiB, "Expect: 100-continue\r\n"));
    const std::string reply = c.read_reply(milliseconds(10'000));
    EXPECT_EQ(status_of(reply), 413) << reply;
    EXPECT_NE(body_of(reply).value("error", "").find("request of 4294967296 bytes exceeds the limit"), std::string::npos) << reply;
    EXPECT_NE(reply.find("Connection: close"), std::string::npos) << reply;
  }
  {
    RawClient c(s.port());
    c.send(post_head("image/jpeg", 17 * kMiB, "Expect: 100-continue\r\n"));
    const std::string reply = c.read_reply(milliseconds(10'000));
    EXPECT_EQ(status_of(reply), 413) << reply;
    EXPECT_NE(body_of(reply).value("error", "").find("file of 17825792 bytes exceeds the limit of 16777216"), std::string::npos) << reply;
  }
  {
    // Within the request limit: "100 Continue", then the part is refused at the file limit.
    const HugePart body{part_head("huge.jpg"), 1024 * kMiB};
    RawClient c(s.port());
    c.send(post_head(multipart_type(), body.size(), "Expect: 100-continue\r\n"));
    EXPECT_EQ(c.read_reply(milliseconds(10'000)).rfind("HTTP/1.1 100 Continue", 0), 0u);
    const auto [reply, sent] = c.stream(body.size(), [&](std::uint64_t off, std::string& chunk) { body.fill(off, chunk); });
    EXPECT_EQ(status_of(reply), 413) << reply.substr(0, 300);
    EXPECT_LT(sent, 128 * kMiB);
  }
  {
    // No Expect: the client sends on and reads the early reply.
    RawClient c(s.port());
    c.send(post_head(multipart_type(), 4096 * kMiB));
    const auto [reply, sent] = c.stream(4096 * kMiB, [](std::uint64_t, std::string& chunk) { std::fill(chunk.begin(), chunk.end(), 'x'); });
    EXPECT_EQ(status_of(reply), 413) << reply.substr(0, 300);
    EXPECT_LT(sent, 128 * kMiB) << "the body was read before the refusal";
  }
  {
    // 512 MiB of junk after a part's closing boundary, where no part begins.
    const std::string head = part_head("a.jpg") + "abc\r\n--" + kBoundary;
    const std::uint64_t size = head.size() + 512 * kMiB;
    RawClient c(s.port());
    c.send(post_head(multipart_type(), size));
    const auto [reply, sent] = c.stream(size, [&](std::uint64_t off, std::string& chunk) {
      for (std::size_t i = 0; i < chunk.size(); ++i) chunk[i] = off + i < head.size() ? head[off + i] : 'j';
    });
    EXPECT_EQ(status_of(reply), 400) << reply.substr(0, 300);
    EXPECT_NE(body_of(reply).value("error", "").find("malformed multipart body"), std::string::npos) << reply;
    EXPECT_LT(sent, 128 * kMiB);
  }
  EXPECT_EQ(healthz(s).first, 200);
}

namespace {

// 64 connections that send `start` and then one more byte a second, with the server's
// `deadline` option at 3 s: /healthz and an analysis answer meanwhile (the slow clients hold
// no thread another request needs), and each slow client gets 408 naming the option.
void expect_slow_clients_cut_off(const std::string& deadline, const std::string& start, const std::string& what) {
  const ServeProcess s({deadline, "3"});
  std::vector<std::unique_ptr<RawClient>> slow;
  for (int i = 0; i < 64; ++i) {
    slow.push_back(std::make_unique<RawClient>(s.port()));
    slow.back()->send(start);
  }
  std::atomic<bool> trickling{true};
  std::thread trickle([&] {
    while (trickling) {
      for (auto& c : slow)
        if (!c->readable(milliseconds(0))) c->send("a");
      std::this_thread::sleep_for(milliseconds(1'000));
    }
  });
  std::this_thread::sleep_for(milliseconds(500));
  for (int i = 0; i < 3; ++i) {
    const auto [status, ms] = healthz(s);
    std::printf("/healthz under 64 %s: %d in %.1f ms\n", what.c_str(), status, ms);
    EXPECT_EQ(status, 200);
  }
  EXPECT_EQ(analyze_sample(s).first, 200);
  std::vector<std::string> replies;
  for (auto& c : slow) replies.push_back(c->read_reply(milliseconds(15'000)));
  trickling = false;
  trickle.join();
  for (const std::string& r : replies) {
    EXPECT_EQ(status_of(r), 408) << r;
    EXPECT_NE(body_of(r).value("error", "").find(deadline), std::string::npos) << r;
  }
}

}  // namespace

TEST(ServeLimits, SlowHeadersDoNotStallOtherRequests) {
  expect_slow_clients_cut_off("--header-timeout", "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ", "slow-header connections");
}

TEST(ServeLimits, SlowUploadsDoNotStallOtherRequests) {
  expect_slow_clients_cut_off("--request-timeout", post_head(multipart_type(), 100'000) + part_head("slow.jpg"), "slow uploads");
}

// Beyond --max-connections a connection is answered 503 at once, and served again once others close.
TEST(ServeLimits, OneConnectionTooManyIsToldTheServerIsBusy) {
  const ServeProcess s({"--max-connections", "4"});
  std::vector<std::unique_ptr<RawClient>> held;
  for (int i = 0; i < 4; ++i) {
    held.push_back(std::make_unique<RawClient>(s.port()));
    held.back()->send("GET /healthz HTTP/1.1\r\n");
  }
  // Until the server has taken the four, one more may still be served: try again a while.
  std::string reply;
  for (const Clock::time_point t0 = Clock::now(); status_of(reply) != 503 && ms_since(t0) < 10'000; std::this_thread::sleep_for(milliseconds(100))) {
    RawClient extra(s.port());
    extra.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    reply = extra.read_reply(milliseconds(10'000));
  }
  EXPECT_EQ(status_of(reply), 503) << reply;
  EXPECT_NE(body_of(reply).value("error", "").find("--max-connections"), std::string::npos) << reply;
  for (auto& c : held) EXPECT_FALSE(c->readable(milliseconds(0))) << "a held connection was answered";
  held.clear();
  int status = -1;
  for (const Clock::time_point t0 = Clock::now(); status != 200 && ms_since(t0) < 10'000; std::this_thread::sleep_for(milliseconds(100)))
    status = healthz(s).first;
  EXPECT_EQ(status, 200);
}

// httplib refuses more than 1,024 parts when it reads a form itself; --max-files goes to 10,000.
TEST(ServeLimits, MoreFilesThanTheHttpLibrarysOwnCapAreServed) {
  const ServeProcess s({"--max-files", "1500"});
  httplib::MultipartFormDataItems parts = {{"images", test::read_file(test::sample_jpegs().front()), "cell.jpg", "image/jpeg"}};
  for (int i = 1; i < 1100; ++i) parts.push_back({"images", "not an image", "junk" + std::to_string(i) + ".jpg", "image/jpeg"});
  auto res = s.client().Post("/api/analyze", parts);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body.substr(0, 300);
  const Json body = Json::parse(res->body);
  EXPECT_EQ(body["analysed"], 1);
  EXPECT_EQ(body["failed"], 1099);
  ASSERT_EQ(body["images"].size(), 1100u);
  EXPECT_EQ(body["images"][1099]["file"], "junk1099.jpg");
  EXPECT_EQ(body["images"][1099]["status"], 422);

  for (int i = 1100; i < 1501; ++i) parts.push_back({"images", "not an image", "junk" + std::to_string(i) + ".jpg", "image/jpeg"});
  auto over = s.client().Post("/api/analyze", parts);
  ASSERT_TRUE(over);
  EXPECT_EQ(over->status, 413);
  EXPECT_NE(Json::parse(over->body)["error"].get<std::string>().find("too many files in one request: more than 1500"), std::string::npos);
}

// --keep-uploads keeps an upload under its real type's extension (or .bin), never the
// client's; a write that fails is logged, and the reply says the image was not kept.
TEST(ServeLimits, KeptUploadsAreNamedByTheirRealTypeAndAFailedWriteIsReported) {
  test::TempDir dir("serve-keep-limits");
  const fs::path kept = dir.path / "kept";
  const ServeProcess s({"--keep-uploads", kept.string()});
  const std::string jpeg = test::read_file(test::sample_jpegs().front());
  auto res = s.client().Post("/api/analyze", httplib::MultipartFormDataItems{{"images", jpeg, "cell.html", "text/html"},
                                                                            {"images", "<script>alert(1)</script>", "notes.html", "text/html"}});
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const Json body = Json::parse(res->body);
  EXPECT_EQ(body["images"][0]["kept"], true);
  EXPECT_EQ(body["images"][1]["kept"], true);
  const std::string id = body["images"][0]["id"];
  EXPECT_TRUE(test::read_file(kept / (id + ".jpg")) == jpeg) << "kept as " << id << ".jpg, byte for byte";
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(kept)) names.push_back(e.path().filename().string());
  ASSERT_EQ(names.size(), 2u);
  for (const std::string& n : names) {
    EXPECT_TRUE(n == id + ".jpg" || (n.size() == 20 && n.substr(16) == ".bin")) << n;
  }

  // The folder is gone (a file in its place): the analysis is still returned, marked not kept.
  fs::remove_all(kept);
  std::ofstream(kept) << "not a folder";
  auto failed = s.client().Post("/api/analyze", httplib::MultipartFormDataItems{{"images", jpeg, "cell.jpg", "image/jpeg"}});
  ASSERT_TRUE(failed);
  ASSERT_EQ(failed->status, 200) << failed->body;
  const Json f = Json::parse(failed->body)["images"][0];
  EXPECT_TRUE(f.contains("class"));
  EXPECT_EQ(f["kept"], false);
  EXPECT_FALSE(f.value("keep_error", "").empty());
  EXPECT_NE(s.log().find("cell.jpg was not kept"), std::string::npos) << s.log();
}

// Each request is logged with its own duration: a malformed one long after the previous
// request, and one cut off at its header deadline (logged at about the deadline).
TEST(ServeLimits, MalformedAndTimedOutRequestsAreLoggedWithTheirOwnDuration) {
  const ServeProcess s({"--header-timeout", "1"});
  EXPECT_EQ(healthz(s).first, 200);
  std::this_thread::sleep_for(milliseconds(1'500));
  {
    RawClient c(s.port());
    c.send("NONSENSE\r\n\r\n");
    EXPECT_EQ(status_of(c.read_reply(milliseconds(10'000))), 400);
  }
  {
    RawClient c(s.port());
    c.send("GET /healthz HTTP/1.1\r\n");
    EXPECT_EQ(status_of(c.read_reply(milliseconds(10'000))), 408);
  }
  std::this_thread::sleep_for(milliseconds(200));
  const std::string log = s.log();
  std::smatch m;
  ASSERT_TRUE(std::regex_search(log, m, std::regex(R"( 400 ([0-9.]+) ms)"))) << log;
  EXPECT_LT(std::stod(m[1]), 1000) << "a malformed request logged with another request's start: " << m[0];
  ASSERT_TRUE(std::regex_search(log, m, std::regex(R"( 408 ([0-9.]+) ms)"))) << log;
  EXPECT_GE(std::stod(m[1]), 900) << m[0];
  EXPECT_LT(std::stod(m[1]), 10'000) << m[0];
}
