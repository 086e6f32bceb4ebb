// `hemolens serve`: the HTTP server (cpp-httplib) in front of one Analyzer.
//
//   GET  /               the lab page (self-contained: no CDN, works offline)
//   POST /api/analyze    multipart/form-data, one or more images (or one raw image/* body)
//   GET  /api/model      what the model is
//   GET  /healthz        liveness
//
// Uploads stay in memory (they may be patient data) unless keep_uploads names a folder.
// Every bad request gets a 4xx JSON body {"error": reason, ...}; the server keeps serving.
// Under slow and huge clients: each connection has its own thread (up to max_connections,
// then 503), a request must arrive within its deadlines (408 otherwise), and uploads are
// limited while they are read (413 at the first byte over a limit); see connection.hpp and
// uploads.hpp for the memory bound that follows.
#pragma once
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>

#include "serve/analyzer.hpp"

namespace hemolens::serve {

struct ServeOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: any free port (bind() returns it)
  std::size_t max_file_bytes = 16u << 20;
  std::size_t max_files = 64;  // per request
  int threads = 0;             // images analysed at once, server-wide; 0: one per core
  std::size_t max_connections = 256;                  // open at once; one more is answered 503
  std::chrono::milliseconds header_timeout{10'000};   // for a request's line and headers
  std::chrono::milliseconds request_timeout{60'000};  // for the whole request, upload included
  std::filesystem::path keep_uploads;  // empty: uploads are never written to disk
};

class Server {
 public:
  Server(const Analyzer& analyzer, ServeOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  int bind();   // binds host:port and returns the port; throws when it cannot
  void run();   // serves until stop()
  void stop();  // from any thread (a signal handler's thread included)

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The page served at "/" (src/serve/page.html, embedded at build time).
const std::string& page_html();

}  // namespace hemolens::serve
