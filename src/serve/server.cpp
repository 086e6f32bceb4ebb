#include "serve/server.hpp"

#include <httplib.h>
#include <spdlog/spdlog.h>
#include <tbb/parallel_for.h>  // for analysing the images of one request in parallel

#include <algorithm>
#include <cctype>
#include <chrono>
#include <fstream>
#include <thread>

#include "hemolens/version.hpp"

namespace fs = std::filesystem;

namespace hemolens::serve {
namespace {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;

// When the request being handled on this thread arrived (the logger reports the duration).
thread_local Clock::time_point request_start;

void send_json(httplib::Response& res, int status, const Json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

void send_error(httplib::Response& res, int status, const std::string& reason) { send_json(res, status, {{"error", reason}, {"status", status}}); }

// One uploaded image: its name for the reply and its bytes (still in the request).
struct Upload {
  std::string name;
  const std::string* bytes = nullptr;
};

// The images of a request: every part of a multipart form, or one raw image body. An empty
// list with `why` set when the content type is not one of those.
std::vector<Upload> uploads_of(const httplib::Request& req, std::string* why) {
  std::vector<Upload> out;
  if (req.is_multipart_form_data()) {
    for (const auto& [field, part] : req.files) out.push_back({part.filename.empty() ? field : part.filename, &part.content});
    return out;
  }
  const std::string type = req.get_header_value("Content-Type");
  if (type.rfind("image/", 0) == 0 || type.rfind("application/octet-stream", 0) == 0) {
    out.push_back({req.has_param("name") ? req.get_param_value("name") : "image", &req.body});
    return out;
  }
  *why = "POST /api/analyze takes multipart/form-data (one or more image files) or a single image/* body, not '" +
         (type.empty() ? std::string("no content type") : type) + "'";
  return out;
}

std::string extension_of(const std::string& name) {
  const std::string ext = fs::path(name).extension().string();
  const bool plain = ext.size() <= 6 && std::all_of(ext.begin(), ext.end(), [](char c) { return c == '.' || std::isalnum(static_cast<unsigned char>(c)); });
  return plain ? ext : "";
}

}  // namespace

struct Server::Impl {
  const Analyzer& analyzer;
  ServeOptions opt;
  httplib::Server http;
  int port = 0;

  Impl(const Analyzer& a, ServeOptions o) : analyzer(a), opt(std::move(o)) {
    // A pool thread stays with a keep-alive connection while it is open (a browser holds up
    // to six), so there are more threads than cores; the analyses share the cores.
    const int threads = opt.threads > 0 ? opt.threads : int(std::max(16u, 4 * std::thread::hardware_concurrency()));
    http.new_task_queue = [threads] { return new httplib::ThreadPool(std::size_t(threads)); };
    // The whole request is refused (413) before it is read when it cannot hold max_files
    // files of the largest size; each file is checked against its own limit below.
    http.set_payload_max_length(opt.max_file_bytes * opt.max_files + (1u << 20));
    http.set_tcp_nodelay(true);  // small JSON replies go out at once, not after a delayed ACK (~40 ms)
    http.set_pre_routing_handler([](const httplib::Request&, httplib::Response&) {
      request_start = Clock::now();
      return httplib::Server::HandlerResponse::Unhandled;
    });
    http.set_logger([](const httplib::Request& req, const httplib::Response& res) {
      const double ms = std::chrono::duration<double, std::milli>(Clock::now() - request_start).count();
      const std::string images = res.get_header_value("X-Hemolens-Images");
      spdlog::info("{} {} {} {} {:.1f} ms{}", req.remote_addr, req.method, req.path, res.status, ms,
                   images.empty() ? "" : ", " + images + " image(s)");
    });
    // Errors httplib raises itself (unknown path, request too large) get a JSON body too.
    http.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
      if (!res.body.empty()) return;
      const std::string reason = res.status == 413 ? "request too large (see --max-file-mb and --max-files)"
                                 : res.status == 404 ? "no such endpoint: " + req.method + " " + req.path
                                 : res.status == 400 ? "malformed or empty request: send one or more image files as multipart/form-data"
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
    http.Post("/api/analyze", [this](const httplib::Request& req, httplib::Response& res) { analyze(req, res); });
  }

  // Keeps an upload on disk only when asked to (--keep-uploads), named by its content hash.
  void keep(const Upload& u) const {
    const std::string id = content_id(reinterpret_cast<const std::uint8_t*>(u.bytes->data()), u.bytes->size());
    std::ofstream(opt.keep_uploads / (id + extension_of(u.name)), std::ios::binary).write(u.bytes->data(), std::streamsize(u.bytes->size()));
  }

  // One image's entry: the analysis, or {"error", "status"}.
  Json analyze_one(const Upload& u, bool outlines) const {
    auto failure = [&](int status, const std::string& why) { return Json{{"file", u.name}, {"error", why}, {"status", status}}; };
    if (u.bytes->empty()) return failure(400, "empty file (0 bytes)");
    if (u.bytes->size() > opt.max_file_bytes)
      return failure(413, "file of " + std::to_string(u.bytes->size()) + " bytes exceeds the limit of " + std::to_string(opt.max_file_bytes));
    if (!opt.keep_uploads.empty()) keep(u);
    try {
      const std::vector<std::uint8_t> bytes(u.bytes->begin(), u.bytes->end());
      Json j = analyzer.to_json(analyzer.analyze(bytes), outlines);
      j["file"] = u.name;
      return j;
    } catch (const AnalyzeError& e) {
      return failure(e.status, e.what());
    }
  }

  void analyze(const httplib::Request& req, httplib::Response& res) const {
    std::string why;
    const std::vector<Upload> uploads = uploads_of(req, &why);
    if (!why.empty()) return send_error(res, 415, why);
    if (uploads.empty()) return send_error(res, 400, "no image in the request: send one or more files as multipart/form-data");
    if (uploads.size() > opt.max_files)
      return send_error(res, 413, "too many files in one request: " + std::to_string(uploads.size()) + " (the limit is " +
                                      std::to_string(opt.max_files) + ")");
    const bool outlines = req.has_param("outlines") && req.get_param_value("outlines") != "0";
    std::vector<Json> results(uploads.size());
    tbb::parallel_for(std::size_t(0), uploads.size(), [&](std::size_t i) { results[i] = analyze_one(uploads[i], outlines); });
    Json images = Json::array();
    int analysed = 0, first_failure = 0;
    std::string first_reason;
    for (Json& r : results) {
      if (r.contains("error") && !first_failure) {
        first_failure = r["status"].get<int>();
        first_reason = r["file"].get<std::string>() + ": " + r["error"].get<std::string>();
      }
      analysed += !r.contains("error");
      images.push_back(std::move(r));
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
    res.set_header("X-Hemolens-Images", std::to_string(uploads.size()));
    send_json(res, analysed ? 200 : first_failure, body);
  }
};

Server::Server(const Analyzer& analyzer, ServeOptions options) : impl_(std::make_unique<Impl>(analyzer, std::move(options))) {
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
