#include "serve/server.hpp"

#include <malloc.h>  // for mallopt: uploads' memory goes back to the system
#include <httplib.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <string_view>
#include <thread>

#include "hemolens/version.hpp"
#include "serve/connection.hpp"
#include "serve/uploads.hpp"

namespace fs = std::filesystem;

namespace hemolens::serve {
namespace {

using Json = nlohmann::json;
using Refusal = std::pair<int, std::string>;

// Blocks this large are mapped from the system and returned to it when freed. glibc raises
// its threshold after the first large free (up to 32 MiB), and then keeps upload buffers of
// up to --max-file-mb in per-thread arenas that it never gives back: after four refused
// uploads a server stayed 90 MB over its idle size. A fixed threshold keeps it there.
constexpr int kMmapThresholdBytes = 1 << 20;

void send_json(httplib::Response& res, int status, const Json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

void send_error(httplib::Response& res, int status, const std::string& reason) { send_json(res, status, {{"error", reason}, {"status", status}}); }

bool is_analyze(const httplib::Request& req) { return req.method == "POST" && req.path == "/api/analyze"; }

std::string seconds(std::chrono::milliseconds t) { return fmt::format("{:g} s", double(t.count()) / 1000); }

}  // namespace

struct Server::Impl {
  const Analyzer& analyzer;
  ServeOptions opt;
  UploadLimits limits;
  AnalysisThreads analyses;
  BoundedServer http;
  std::atomic<unsigned> keeping{0};  // names the temporary files of --keep-uploads apart
  int port = 0;

  static ConnectionLimits connection_limits(const ServeOptions& o) {
    ConnectionLimits c;
    c.max_connections = o.max_connections;
    c.header_timeout = o.header_timeout;
    c.request_timeout = o.request_timeout;
    return c;
  }

  Impl(const Analyzer& a, ServeOptions o)
      : analyzer(a),
        opt(std::move(o)),
        limits{opt.max_file_bytes, opt.max_files},
        analyses(opt.threads > 0 ? std::size_t(opt.threads) : std::max(1u, std::thread::hardware_concurrency())),
        http(connection_limits(opt)) {
    // What httplib reads itself (the routes without a streaming handler) is bounded by the
    // connection; this is its own check of a declared length, never reached first.
    http.set_payload_max_length(request_limit(limits));
    http.set_tcp_nodelay(true);  // small JSON replies go out at once, not after a delayed ACK (~40 ms)
    // An upload that cannot be accepted is refused from its headers, before its body is read;
    // a client that sends "Expect: 100-continue" gets the refusal instead of "100 Continue".
    http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      const std::optional<Refusal> r = refusal_before_body(req);
      if (!r) return httplib::Server::HandlerResponse::Unhandled;
      send_error(res, r->first, r->second);
      return httplib::Server::HandlerResponse::Handled;
    });
    http.set_expect_100_continue_handler([this](const httplib::Request& req, httplib::Response& res) {
      const std::optional<Refusal> r = refusal_before_body(req);
      if (!r) return 100;
      send_error(res, r->first, r->second);
      return r->first;
    });
    // Each request's time from its first byte, malformed and timed-out ones included.
    http.set_logger([](const httplib::Request& req, const httplib::Response& res) {
      const Connection* c = current_connection();
      const double ms = c ? std::chrono::duration<double, std::milli>(Clock::now() - c->request_start()).count() : 0;
      std::string addr = req.remote_addr;  // httplib sets it only once the headers are read
      int port = 0;
      if (addr.empty() && c) c->get_remote_ip_and_port(addr, port);
      const std::string images = res.get_header_value("X-Hemolens-Images");
      spdlog::info("{} {} {} {} {:.1f} ms{}", addr, req.method, req.path, res.status, ms,
                   images.empty() ? "" : ", " + images + " image(s)");
    });
    // Errors httplib or the connection raise themselves get a JSON body too.
    http.set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (!res.body.empty()) return;
      if (const Connection* c = current_connection(); c && c->stopped() != ReadStop::kNone) {
        const auto [status, reason] = why_stopped(*c);
        return send_error(res, status, reason);
      }
      const std::string reason = res.status == 413 ? "request too large (see --max-file-mb and --max-files)"
                                 : res.status == 404 ? "no such endpoint: " + req.method + " " + req.path
                                 : res.status == 400 ? "malformed or empty request: send one or more image files as multipart/form-data"
                                 : res.status == 503 ? "server busy: " + std::to_string(opt.max_connections) +
                                                           " connections are open (see --max-connections); try again shortly"
                                                     : "bad request (HTTP " + std::to_string(res.status) + ")";
      send_error(res, res.status, reason);
    });
    http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
      std::string what = "unknown error";
      try {
        std::rethrow_exception(ep);
      } catch (const std::exception& e) {
        what = e.what();
      } catch (...) {
      }
      spdlog::error("request failed: {}", what);
      send_error(res, 500, "internal error: " + what);
    });
    http.Get("/", [](const httplib::Request&, httplib::Response& res) {
      res.set_header("Content-Security-Policy",
                     "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src blob: data:; connect-src 'self'");
      res.set_content(page_html(), "text/html; charset=utf-8");
    });
    http.Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
      send_json(res, 200, {{"status", "ok"}, {"model", analyzer.bundle().dir.filename().string()}, {"hemolens", kEngineVersion}});
    });
    http.Get("/api/model", [this](const httplib::Request&, httplib::Response& res) {
      Json j = analyzer.model_json();
      j["limits"]["max_file_bytes"] = opt.max_file_bytes;
      j["limits"]["max_files"] = opt.max_files;
      send_json(res, 200, j);
    });
    http.Post("/api/analyze", [this](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& content) {
      analyze(req, res, content);
    });
  }

  // A refusal decided from the request line and headers alone (only uploads are refused so;
  // any other request's body is bounded by the connection).
  std::optional<Refusal> refusal_before_body(const httplib::Request& req) const {
    if (!is_analyze(req)) return std::nullopt;
    const std::string type = req.get_header_value("Content-Type");
    const bool raw = type.rfind("image/", 0) == 0 || type.rfind("application/octet-stream", 0) == 0;
    if (!req.is_multipart_form_data() && !raw)
      return Refusal{415, "POST /api/analyze takes multipart/form-data (one or more image files) or a single image/* body, not '" +
                              (type.empty() ? std::string("no content type") : type) + "'"};
    const std::uint64_t declared = req.get_header_value<std::uint64_t>("Content-Length");
    if (declared > request_limit(limits))
      return Refusal{413, "request of " + std::to_string(declared) + " bytes exceeds the limit of " + std::to_string(request_limit(limits)) +
                              " bytes (see --max-file-mb and --max-files)"};
    if (raw && declared > limits.max_file_bytes)
      return Refusal{413, "file of " + std::to_string(declared) + " bytes exceeds the limit of " + std::to_string(limits.max_file_bytes) +
                              " bytes (see --max-file-mb)"};
    return std::nullopt;
  }

  // The reply to a request the connection stopped reading.
  Refusal why_stopped(const Connection& c) const {
    switch (c.stopped()) {
      case ReadStop::kHeaderTimeout:
        return {408, "the request line and headers did not arrive within " + seconds(opt.header_timeout) + " (see --header-timeout)"};
      case ReadStop::kRequestTimeout:
        return {408, "the request did not arrive within " + seconds(opt.request_timeout) +
                         " (see --request-timeout; a large upload over a slow link needs more)"};
      case ReadStop::kHeaderTooLarge:
        return {431, "the request line and headers exceed " + std::to_string(c.limits().max_header_bytes) + " bytes"};
      case ReadStop::kBodyTooLarge:
        return {413, "the request body is larger than this endpoint accepts"};
      case ReadStop::kServerStopping: return {503, "the server is stopping"};
      case ReadStop::kNone: break;
    }
    return {400, "bad request"};
  }

  // Writes an upload to --keep-uploads, named by its content hash and its real type, whole or
  // not at all (a temporary file renamed). The reason when it could not.
  std::optional<std::string> keep(const Upload& u) {
    // Named by the real type's extension, never the client's name: an upload named .html stays inert.
    const fs::path path = opt.keep_uploads / (content_id(u.bytes.data(), u.bytes.size()) + format_extension(sniff_format(u.bytes.data(), u.bytes.size())));
    std::error_code ec;
    if (fs::exists(path, ec)) return std::nullopt;  // the same bytes, kept before
    const fs::path tmp = path.string() + ".tmp-" + std::to_string(keeping++);
    std::optional<std::string> failed;
    {
      std::ofstream out(tmp, std::ios::binary);
      out.write(reinterpret_cast<const char*>(u.bytes.data()), std::streamsize(u.bytes.size()));
      out.close();
      if (!out) failed = "cannot write " + tmp.string() + ": " + std::strerror(errno);
    }
    if (!failed) {
      fs::rename(tmp, path, ec);
      if (ec) failed = "cannot rename " + tmp.string() + " to " + path.filename().string() + ": " + ec.message();
    }
    if (failed) {
      fs::remove(tmp, ec);
      spdlog::error("--keep-uploads: {} was not kept: {}", u.name, *failed);
    }
    return failed;
  }

  // One image's entry: the analysis, or {"error", "status"}; with --keep-uploads, whether it was kept.
  Json analyze_one(const Upload& u, bool outlines) {
    auto failure = [&](int status, const std::string& why) { return Json{{"file", u.name}, {"error", why}, {"status", status}}; };
    if (u.bytes.empty()) return failure(400, "empty file (0 bytes)");
    const bool keeping_uploads = !opt.keep_uploads.empty();
    const std::optional<std::string> not_kept = keeping_uploads ? keep(u) : std::nullopt;
    Json j;
    try {
      j = analyzer.to_json(analyzer.analyze(u.bytes), outlines);
      j["file"] = u.name;
    } catch (const AnalyzeError& e) {
      j = failure(e.status, e.what());
    }
    if (keeping_uploads) {
      j["kept"] = !not_kept;
      if (not_kept) j["keep_error"] = *not_kept;
    }
    return j;
  }

  struct Received {
    bool complete = false;  // the body was read to its end
    std::vector<Json> results;
    std::optional<Refusal> refusal;
  };

  // The files of the request, each analysed as soon as it has arrived.
  Received receive(const httplib::Request& req, const httplib::ContentReader& content, Connection& conn, bool outlines) {
    UploadBatch batch(limits, analyses, [this, outlines](const Upload& u) { return analyze_one(u, outlines); }, conn);
    Received r;
    if (req.is_multipart_form_data())
      r.complete = content([&](const httplib::MultipartFormData& f) { return batch.begin(f.filename.empty() ? f.name : f.filename); },
                           [&](const char* data, std::size_t n) { return batch.append(data, n); });
    else
      r.complete = batch.begin(req.has_param("name") ? req.get_param_value("name") : "image") &&
                   content([&](const char* data, std::size_t n) { return batch.append(data, n); });
    r.results = batch.finish(r.complete);
    r.refusal = batch.refusal();
    return r;
  }

  void analyze(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& content) {
    Connection& conn = *current_connection();
    const bool outlines = req.has_param("outlines") && req.get_param_value("outlines") != "0";
    const Received r = receive(req, content, conn, outlines);
    if (!r.complete) {
      const Refusal why = r.refusal                                  ? *r.refusal
                          : conn.stopped() == ReadStop::kBodyTooLarge ? Refusal{400, "malformed multipart body: it holds more than its files and their framing"}
                          : conn.stopped() != ReadStop::kNone         ? why_stopped(conn)
                                                                      : Refusal{400, "malformed or empty request: send one or more image files as multipart/form-data"};
      return send_error(res, why.first, why.second);
    }
    conn.body_read();
    const std::vector<Json>& results = r.results;
    if (results.empty()) return send_error(res, 400, "no image in the request: send one or more files as multipart/form-data");
    Json images = Json::array();
    int analysed = 0, first_failure = 0;
    std::string first_reason;
    for (const Json& one : results) {
      if (one.contains("error") && !first_failure) {
        first_failure = one["status"].get<int>();
        first_reason = one["file"].get<std::string>() + ": " + one["error"].get<std::string>();
      }
      analysed += !one.contains("error");
      images.push_back(one);
    }
    Json body = {{"model", analyzer.bundle().dir.filename().string()},
                 {"analysed", analysed},
                 {"failed", int(results.size()) - analysed},
                 {"images", images}};
    // Some images analysed: 200, the failures listed beside them. None: the first failure's status.
    if (!analysed) {
      body["error"] = first_reason;
      body["status"] = first_failure;
    }
    res.set_header("X-Hemolens-Images", std::to_string(results.size()));
    send_json(res, analysed ? 200 : first_failure, body);
  }
};

Server::Server(const Analyzer& analyzer, ServeOptions options) : impl_(std::make_unique<Impl>(analyzer, std::move(options))) {
  mallopt(M_MMAP_THRESHOLD, kMmapThresholdBytes);  // process-wide: serving is the process's one job
  if (!impl_->opt.keep_uploads.empty()) fs::create_directories(impl_->opt.keep_uploads);
}

Server::~Server() { stop(); }

int Server::bind() {
  Impl& s = *impl_;
  const bool ok = s.opt.port == 0 ? (s.port = s.http.bind_to_any_port(s.opt.host)) > 0 : s.http.bind_to_port(s.opt.host, s.opt.port);
  if (!ok) throw std::runtime_error("serve: cannot listen on " + s.opt.host + ":" + std::to_string(s.opt.port) + " (in use, or not an address of this machine)");
  if (s.opt.port != 0) s.port = s.opt.port;
  return s.port;
}

void Server::run() {
  if (!impl_->http.listen_after_bind()) throw std::runtime_error("serve: the server stopped with an error");
}

void Server::stop() {
  if (impl_) impl_->http.stop();
}

}  // namespace hemolens::serve
