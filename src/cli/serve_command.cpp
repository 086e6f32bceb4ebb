// `hemolens serve MODEL_DIR`: the lab page and the JSON API for single images, on this
// machine's CPU. Ctrl-C (SIGINT) or SIGTERM stops it cleanly.
#include <signal.h>  // for sigwait on SIGINT/SIGTERM

#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <thread>

#include "cli/commands.hpp"
#include "serve/server.hpp"

namespace hemolens::cli {
namespace {

struct ServeArgs {
  std::string model, keep_uploads;
  serve::ServeOptions server;
  serve::AnalyzerOptions analyzer;
  double max_file_mb = 16;
  double header_timeout_s = 10, request_timeout_s = 60;
};

std::chrono::milliseconds from_seconds(double s) { return std::chrono::milliseconds(std::llround(s * 1000)); }

void run(ServeArgs& a) {
  // Signals are taken by one thread with sigwait, so the request threads (started below,
  // inheriting this mask) never see them and stop() runs outside a signal handler.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  a.server.max_file_bytes = std::size_t(a.max_file_mb * (1 << 20));
  a.server.keep_uploads = a.keep_uploads;
  a.server.header_timeout = from_seconds(a.header_timeout_s);
  a.server.request_timeout = from_seconds(a.request_timeout_s);
  const serve::Analyzer analyzer(a.model, a.analyzer);
  serve::Server server(analyzer, a.server);
  const int port = server.bind();
  const auto& classes = analyzer.bundle().classes;
  std::printf("hemolens serve: model %s (%zu classes, anomaly detector: %s)\n", a.model.c_str(), classes.size(),
              analyzer.model_json()["anomaly"].is_null() ? "none" : "yes");
  if (a.server.host != "127.0.0.1" && a.server.host != "localhost" && a.server.host != "::1")
    std::printf("note: listening on %s, reachable from other machines; uploads may be patient data\n", a.server.host.c_str());
  if (!a.keep_uploads.empty()) std::printf("note: uploads are kept in %s\n", a.keep_uploads.c_str());
  std::printf("listening on http://%s:%d/  (open it in a browser; Ctrl-C stops)\n", a.server.host.c_str(), port);
  std::fflush(stdout);

  std::thread waiter([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    std::printf("hemolens serve: stopping (signal %d)\n", sig);
    server.stop();
  });
  server.run();
  // run() also returns when the server fails; wake the waiter so it can be joined.
  pthread_kill(waiter.native_handle(), SIGTERM);
  waiter.join();
}

void add_serve_command(CLI::App& app) {
  auto a = std::make_shared<ServeArgs>();
  CLI::App* cmd = app.add_subcommand("serve", "web page and JSON API: analyse single images with a model, in the browser or with curl");
  cmd->add_option("model", a->model, "model bundle directory (`hemolens train`)")->required();
  cmd->add_option("--host", a->server.host, "address to listen on (only this machine by default)")->capture_default_str();
  cmd->add_option("--port", a->server.port, "port (0: any free port)")->capture_default_str()->check(CLI::Range(0, 65535));
  cmd->add_option("--max-file-mb", a->max_file_mb, "largest file accepted, in MiB")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--max-files", a->server.max_files, "most files in one request")->capture_default_str()->check(CLI::Range(1, 10000));
  cmd->add_option("--max-pixels", a->analyzer.limits.max_pixels, "largest image accepted, in pixels")->capture_default_str();
  cmd->add_option("--top", a->analyzer.top_features, "features listed per image")->capture_default_str()->check(CLI::Range(1, 50));
  cmd->add_option("--threads", a->server.threads, "images analysed at once (default: one per core)")->check(CLI::Range(0, 1024));
  cmd->add_option("--max-connections", a->server.max_connections, "connections served at once; one more is answered 503 (busy)")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  cmd->add_option("--header-timeout", a->header_timeout_s, "seconds a client has to send a request's line and headers, else 408")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 3600.0));
  cmd->add_option("--request-timeout", a->request_timeout_s,
                  "seconds a client has to send a whole request, upload included, else 408 (raise it for large uploads over slow links)")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 86400.0));
  cmd->add_option("--keep-uploads", a->keep_uploads, "write every upload to this folder (by default uploads stay in memory only)");
  cmd->callback([a] { run(*a); });
}

const Registration kRegistration{90, add_serve_command};

}  // namespace
}  // namespace hemolens::cli
