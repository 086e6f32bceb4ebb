// Latency and load of `hemolens serve`, from the client's side: N requests of one image each
// (cycling through the given files) from C concurrent clients on keep-alive connections.
// Prints the latency percentiles, the throughput and every error; exits 1 when any request
// failed. benchmarks/run_serve.sh starts a server and runs it twice (1 client, then 8).
//
//   hemolens_serve_load --port P -n 1000 -c 8 [--outlines] IMAGE...
#include <httplib.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <mutex>
#include <numeric>
#include <thread>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string host = "127.0.0.1";
  int port = 8080, requests = 1000, clients = 8, warmup = 20;
  bool outlines = false;
  std::vector<std::string> images;
};

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, std::size_t(q * double(v.size() - 1) + 0.5))];
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"latency and load of hemolens serve"};
  app.add_option("--host", o.host);
  app.add_option("--port", o.port)->required();
  app.add_option("-n,--requests", o.requests)->capture_default_str();
  app.add_option("-c,--clients", o.clients)->capture_default_str();
  app.add_option("--warmup", o.warmup, "requests per client before timing")->capture_default_str();
  app.add_flag("--outlines", o.outlines, "ask for the outlines too (what the page does)");
  app.add_option("images", o.images, "image files to send, cycled")->required()->check(CLI::ExistingFile);
  CLI11_PARSE(app, argc, argv);

  std::vector<std::string> bytes;
  for (const auto& f : o.images) {
    std::ifstream in(f, std::ios::binary);
    bytes.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  const std::string path = std::string("/api/analyze") + (o.outlines ? "?outlines=1" : "");
  std::atomic<int> next{0}, errors{0};
  std::vector<double> latencies(std::size_t(o.requests), 0.0);
  std::mutex log;

  auto send = [&](httplib::Client& c, int i) {
    const httplib::MultipartFormDataItems parts = {{"images", bytes[std::size_t(i) % bytes.size()], "image.jpg", "image/jpeg"}};
    const auto t0 = Clock::now();
    auto res = c.Post(path.c_str(), parts);
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    if (!res || res->status != 200) {
      ++errors;
      std::lock_guard<std::mutex> g(log);
      std::fprintf(stderr, "request %d failed: %s\n", i, res ? (std::to_string(res->status) + " " + res->body.substr(0, 200)).c_str()
                                                             : httplib::to_string(res.error()).c_str());
    }
    return ms;
  };

  std::vector<std::thread> threads;
  Clock::time_point start;
  std::atomic<int> ready{0};
  for (int t = 0; t < o.clients; ++t)
    threads.emplace_back([&, t] {
      httplib::Client c(o.host, o.port);
      c.set_keep_alive(true);
      c.set_tcp_nodelay(true);
      c.set_read_timeout(60);
      for (int w = 0; w < o.warmup; ++w) send(c, t + w);
      ++ready;
      while (ready.load() < o.clients) std::this_thread::yield();
      for (int i; (i = next++) < o.requests;) latencies[std::size_t(i)] = send(c, i);
    });
  while (ready.load() < o.clients) std::this_thread::yield();
  start = Clock::now();
  for (auto& t : threads) t.join();
  const double wall = std::chrono::duration<double>(Clock::now() - start).count();

  std::printf("clients %d, requests %d (after %d warm-up each), errors %d, wall %.2f s, throughput %.1f images/s\n", o.clients, o.requests,
              o.warmup, errors.load(), wall, o.requests / wall);
  std::printf("latency ms: p50 %.1f  p95 %.1f  p99 %.1f  max %.1f  mean %.1f\n", percentile(latencies, 0.50), percentile(latencies, 0.95),
              percentile(latencies, 0.99), percentile(latencies, 1.0),
              std::accumulate(latencies.begin(), latencies.end(), 0.0) / std::max(1, o.requests));
  return errors.load() ? 1 : 0;
}
