#include "serve/connection.hpp"

#include <netdb.h>       // for getnameinfo
#include <poll.h>        // for waiting on a socket with a deadline
#include <sys/socket.h>  // for recv, send, shutdown

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

#include "serve/elastic_pool.hpp"

namespace hemolens::serve {
namespace {

constexpr std::size_t kBufferBytes = 64u << 10;
// Until a handler says otherwise, a request may carry this much body (httplib reads it itself
// for the routes without a streaming handler).
constexpr std::size_t kDefaultBodyLimit = 64u << 10;
// A lingering close ends early when the client sends nothing for this long.
constexpr std::chrono::milliseconds kLingerIdle{2'000};
// Waits are cut in slices this long, to notice the server stopping.
constexpr std::chrono::milliseconds kWaitSlice{100};
// Idle connection threads are kept this long for the next connection.
constexpr std::chrono::milliseconds kThreadIdle{30'000};

thread_local Connection* serving = nullptr;

struct Serving {
  explicit Serving(Connection* c) { serving = c; }
  ~Serving() { serving = nullptr; }
  Serving(const Serving&) = delete;
  Serving& operator=(const Serving&) = delete;
};

// Counts the open connections for as long as it lives.
struct Counted {
  std::atomic<std::size_t>& open;
  const std::size_t now;
  explicit Counted(std::atomic<std::size_t>& n) : open(n), now(++n) {}
  ~Counted() { --open; }
  Counted(const Counted&) = delete;
  Counted& operator=(const Counted&) = delete;
};

const char* reason_phrase(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 408: return "Request Timeout";
    case 413: return "Payload Too Large";
    case 431: return "Request Header Fields Too Large";
    case 503: return "Service Unavailable";
    default: return "Error";
  }
}

void socket_address(int sock, bool peer, std::string& ip, int& port) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if ((peer ? ::getpeername(sock, reinterpret_cast<sockaddr*>(&addr), &len) : ::getsockname(sock, reinterpret_cast<sockaddr*>(&addr), &len)) != 0)
    return;
  char host[NI_MAXHOST], service[NI_MAXSERV];
  if (::getnameinfo(reinterpret_cast<sockaddr*>(&addr), len, host, sizeof host, service, sizeof service, NI_NUMERICHOST | NI_NUMERICSERV) != 0)
    return;
  ip = host;
  port = std::atoi(service);
}

}  // namespace

Connection* current_connection() { return serving; }

Connection::Connection(int sock, const ConnectionLimits& limits, std::chrono::milliseconds write_timeout, std::function<bool()> stopping)
    : sock_(sock), limits_(limits), write_timeout_(write_timeout), stopping_(std::move(stopping)), buf_(new char[kBufferBytes]) {}

Connection::~Connection() { close(); }

bool Connection::wait(short events, Clock::time_point until, bool until_stopping) {
  for (;;) {
    if (until_stopping && stopping_()) return false;
    const Clock::time_point now = Clock::now();
    if (now >= until) return false;
    const auto slice = std::min<Clock::duration>(until - now, kWaitSlice);
    pollfd p{sock_, events, 0};
    const int r = ::poll(&p, 1, int(std::chrono::ceil<std::chrono::milliseconds>(slice).count()));
    if (r > 0) return true;  // ready, or an error or hang-up that the next recv/send reports
    if (r < 0 && errno != EINTR) return true;
  }
}

bool Connection::is_readable() const {
  pollfd p{sock_, POLLIN, 0};
  return buf_begin_ < buf_end_ || ::poll(&p, 1, 0) > 0;
}

bool Connection::is_writable() const {
  pollfd p{sock_, POLLOUT, 0};
  return ::poll(&p, 1, int(write_timeout_.count())) > 0;
}

ssize_t Connection::read(char* ptr, std::size_t size) {
  if (stop_ != ReadStop::kNone) return -1;
  std::size_t& used = in_body_ ? body_bytes_ : header_bytes_;
  const std::size_t limit = in_body_ ? body_limit_ : limits_.max_header_bytes;
  if (used >= limit) {
    stop_ = in_body_ ? ReadStop::kBodyTooLarge : ReadStop::kHeaderTooLarge;
    return -1;
  }
  if (buf_begin_ == buf_end_) {
    if (!wait(POLLIN, deadline_, true)) {
      stop_ = stopping_() ? ReadStop::kServerStopping : in_body_ ? ReadStop::kRequestTimeout : ReadStop::kHeaderTimeout;
      return -1;
    }
    ssize_t n;
    do n = ::recv(sock_, buf_.get(), kBufferBytes, 0);
    while (n < 0 && errno == EINTR);
    if (n <= 0) return n;
    buf_begin_ = 0;
    buf_end_ = std::size_t(n);
  }
  const std::size_t n = std::min({size, buf_end_ - buf_begin_, limit - used});
  std::memcpy(ptr, buf_.get() + buf_begin_, n);
  buf_begin_ += n;
  used += n;
  return ssize_t(n);
}

ssize_t Connection::write(const char* ptr, std::size_t size) {
  // A reply is written even while the server stops; only a client that does not read it is cut off.
  if (!wait(POLLOUT, Clock::now() + write_timeout_, false)) return -1;
  ssize_t n;
  do n = ::send(sock_, ptr, size, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  if (n > 0) written_ += std::size_t(n);
  return n;
}

void Connection::get_remote_ip_and_port(std::string& ip, int& port) const { socket_address(sock_, true, ip, port); }
void Connection::get_local_ip_and_port(std::string& ip, int& port) const { socket_address(sock_, false, ip, port); }

bool Connection::wait_for_request(std::chrono::milliseconds keep_alive) {
  return buf_begin_ < buf_end_ || wait(POLLIN, Clock::now() + keep_alive, true);
}

void Connection::begin_request() {
  start_ = Clock::now();
  deadline_ = start_ + limits_.header_timeout;
  in_body_ = parsed_ = has_body_ = body_read_ = false;
  header_bytes_ = body_bytes_ = written_ = 0;
  body_limit_ = kDefaultBodyLimit;
  stop_ = ReadStop::kNone;
}

void Connection::begin_body(const httplib::Request& req) {
  parsed_ = in_body_ = true;
  deadline_ = start_ + limits_.request_timeout;
  has_body_ = req.has_header("Transfer-Encoding") || req.get_header_value<std::uint64_t>("Content-Length") > 0;
}

bool Connection::reusable() const { return parsed_ && stop_ == ReadStop::kNone && (!has_body_ || body_read_); }

bool Connection::client_may_be_sending() const {
  if (stop_ == ReadStop::kHeaderTimeout || stop_ == ReadStop::kRequestTimeout || stop_ == ReadStop::kServerStopping) return false;
  return written_ > 0 && !reusable();
}

void Connection::close(bool linger) {
  if (sock_ < 0) return;
  // Closing with unread data resets the connection, and the client may lose the reply before
  // it reads it: FIN after the reply, then drop what has arrived, and when the client may
  // still be sending, what arrives for a while.
  ::shutdown(sock_, SHUT_WR);
  const auto drop = [this](int flags) {
    ssize_t n;
    do n = ::recv(sock_, buf_.get(), kBufferBytes, flags);
    while (n < 0 && errno == EINTR);
    return n > 0;
  };
  if (linger && client_may_be_sending()) {
    const Clock::time_point end = Clock::now() + limits_.linger;
    for (Clock::time_point heard = Clock::now(); wait(POLLIN, std::min(end, heard + kLingerIdle), true) && drop(0);) heard = Clock::now();
  } else {
    while (drop(MSG_DONTWAIT)) {
    }
  }
  ::shutdown(sock_, SHUT_RDWR);
  ::close(sock_);
  sock_ = -1;
}

BoundedServer::BoundedServer(ConnectionLimits limits) : limits_(limits) {
  // Connections are counted and capped in process_and_close_socket; the pool only grows.
  new_task_queue = [] { return new ElasticPool(std::numeric_limits<std::size_t>::max(), kThreadIdle); };
  // A reply after which the connection closes says so (httplib offers keep-alive otherwise).
  set_post_routing_handler([](const httplib::Request&, httplib::Response& res) {
    const Connection* c = current_connection();
    if (c && !c->reusable()) {
      res.headers.erase("Keep-Alive");
      res.set_header("Connection", "close");
    }
  });
}

BoundedServer& BoundedServer::set_logger(httplib::Logger logger) {
  log_ = logger;
  httplib::Server::set_logger(std::move(logger));
  return *this;
}

BoundedServer& BoundedServer::set_error_handler(Handler handler) {
  on_error_ = handler;
  httplib::Server::set_error_handler(std::move(handler));
  return *this;
}

bool BoundedServer::bind_to_port(const std::string& host, int port, int socket_flags) {
  const bool ok = httplib::Server::bind_to_port(host, port, socket_flags);
  if (ok) deepen_accept_queue();
  return ok;
}

int BoundedServer::bind_to_any_port(const std::string& host, int socket_flags) {
  const int port = httplib::Server::bind_to_any_port(host, socket_flags);
  if (port > 0) deepen_accept_queue();
  return port;
}

// listen() again on a listening socket sets its backlog anew (Linux).
void BoundedServer::deepen_accept_queue() { ::listen(svr_sock_, SOMAXCONN); }

void BoundedServer::reply_without_request(Connection& c, int status) {
  httplib::Request req;
  req.method = req.path = "-";
  c.get_remote_ip_and_port(req.remote_addr, req.remote_port);
  httplib::Response res;
  res.status = status;
  if (on_error_) on_error_(req, res);
  const std::string reply = "HTTP/1.1 " + std::to_string(res.status) + " " + reason_phrase(res.status) +
                            "\r\nContent-Type: " + res.get_header_value("Content-Type") + "\r\nContent-Length: " + std::to_string(res.body.size()) +
                            "\r\nConnection: close\r\n\r\n" + res.body;
  for (std::size_t sent = 0; sent < reply.size();) {
    const ssize_t n = c.write(reply.data() + sent, reply.size() - sent);
    if (n <= 0) break;
    sent += std::size_t(n);
  }
  if (log_) log_(req, res);
}

bool BoundedServer::process_and_close_socket(socket_t sock) {
  const auto write_timeout = std::chrono::seconds(write_timeout_sec_) + std::chrono::microseconds(write_timeout_usec_);
  const Counted counted(open_);  // until the connection is closed, lingering included
  Connection c(sock, limits_, std::chrono::ceil<std::chrono::milliseconds>(write_timeout), [this] { return svr_sock_ == INVALID_SOCKET; });
  const Serving serving(&c);
  if (counted.now > limits_.max_connections) {
    c.begin_request();
    reply_without_request(c, 503);
    c.close(false);
    return false;
  }
  bool ok = false;
  for (std::size_t left = keep_alive_max_count_; left > 0; --left) {
    if (!c.wait_for_request(std::chrono::seconds(keep_alive_timeout_sec_))) break;
    c.begin_request();
    bool closed = false;
    ok = process_request(c, left == 1, closed, [&c](httplib::Request& req) { c.begin_body(req); });
    // httplib gives up without a reply when the request line is late or too long: say why.
    if (!ok && c.stopped() != ReadStop::kNone && c.written() == 0) reply_without_request(c, 400);
    if (!ok || closed || !c.reusable()) break;
  }
  return ok;  // ~Connection closes the socket, lingering when the client may still be sending
}

}  // namespace hemolens::serve
