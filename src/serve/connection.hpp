// cpp-httplib with the limits a server that any client can reach needs. httplib 0.11 reads a
// request with no deadline of its own (each byte may take its read timeout, so a client that
// sends one byte every few seconds holds a pool thread for ever), with no size limit on the
// request line or a header, and serves connections from a fixed pool that a few slow clients
// exhaust. Here:
//   - every connection has a thread of its own (ElasticPool), up to max_connections; one more
//     is answered 503 at once, so slow or idle clients cannot starve the others;
//   - every request must send its request line and headers (at most max_header_bytes) within
//     header_timeout, and all of it within request_timeout; a client that does not is answered
//     408 (or 431) and the connection is closed;
//   - a handler bounds the body it will read (limit_body); after a refusal the connection is
//     closed after the reply, and what the client still sends is read and dropped for a while
//     (linger), so a client that reads the reply only after sending its body still gets it.
#pragma once
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>

namespace hemolens::serve {

using Clock = std::chrono::steady_clock;

struct ConnectionLimits {
  std::size_t max_connections = 256;
  std::chrono::milliseconds header_timeout{10'000};   // request line and headers
  std::chrono::milliseconds request_timeout{60'000};  // the whole request, body included
  std::size_t max_header_bytes = 64u << 10;           // request line and headers
  std::chrono::milliseconds linger{10'000};           // reading and dropping the rest of a refused request
};

// Why a request could not be read to its end.
enum class ReadStop { kNone, kHeaderTimeout, kRequestTimeout, kHeaderTooLarge, kBodyTooLarge, kServerStopping };

// One client connection, as the stream httplib reads requests from and writes replies to.
// Deadlines count the time spent waiting for the client only (see off_the_clock).
class Connection final : public httplib::Stream {
 public:
  Connection(int sock, const ConnectionLimits& limits, std::chrono::milliseconds write_timeout, std::function<bool()> stopping);
  ~Connection() override;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // For the request handlers (they run on the connection's thread: current_connection()).
  Clock::time_point request_start() const { return start_; }
  const ConnectionLimits& limits() const { return limits_; }
  void limit_body(std::size_t bytes) { body_limit_ = bytes; }  // the most body bytes this request may send
  std::size_t body_bytes() const { return body_bytes_; }
  void body_read() { body_read_ = true; }  // the handler read the body to its end: the connection may serve another request
  ReadStop stopped() const { return stop_; }
  // Runs `wait`, a wait on the server (a free analysis thread), off the request's deadline.
  template <class Wait>
  void off_the_clock(Wait&& wait) {
    const Clock::time_point t0 = Clock::now();
    wait();
    deadline_ += Clock::now() - t0;
  }

  // httplib::Stream
  bool is_readable() const override;
  bool is_writable() const override;
  ssize_t read(char* ptr, std::size_t size) override;
  ssize_t write(const char* ptr, std::size_t size) override;
  void get_remote_ip_and_port(std::string& ip, int& port) const override;
  void get_local_ip_and_port(std::string& ip, int& port) const override;
  int socket() const override { return sock_; }

  // For the connection loop (BoundedServer).
  bool wait_for_request(std::chrono::milliseconds keep_alive);  // false: idle for too long, closed, or stopping
  void begin_request();                                         // the request line's first byte is here
  void begin_body(const httplib::Request& req);                 // the headers are read
  bool parsed() const { return parsed_; }
  bool reusable() const;  // the request was read to its end: the next one may follow on this connection
  std::size_t written() const { return written_; }  // bytes of this request's reply
  // Lingers first when the client may still be sending (unless `linger` is false: a connection
  // refused for being one too many must not hold its thread).
  void close(bool linger = true);

 private:
  // Until the socket is ready for `events` (true), `until` passes or, when `until_stopping`, the server stops.
  bool wait(short events, Clock::time_point until, bool until_stopping);
  bool client_may_be_sending() const;

  int sock_;
  const ConnectionLimits& limits_;
  const std::chrono::milliseconds write_timeout_;
  const std::function<bool()> stopping_;
  std::unique_ptr<char[]> buf_;  // what was received and not yet read
  std::size_t buf_begin_ = 0, buf_end_ = 0;
  // The request being served.
  Clock::time_point start_{}, deadline_{};
  bool in_body_ = false, parsed_ = false, has_body_ = false, body_read_ = false;
  std::size_t header_bytes_ = 0, body_bytes_ = 0, body_limit_ = 0, written_ = 0;
  ReadStop stop_ = ReadStop::kNone;
};

// The connection whose request this thread is serving; null on any other thread.
Connection* current_connection();

class BoundedServer : public httplib::Server {
 public:
  explicit BoundedServer(ConnectionLimits limits);

  // As httplib's; both also serve the replies this layer writes itself: 408 and 431 before a
  // request line is complete, 503 beyond max_connections.
  BoundedServer& set_logger(httplib::Logger logger);
  BoundedServer& set_error_handler(Handler handler);
  // As httplib's, with an accept queue of SOMAXCONN instead of its 5: a burst of connections
  // waits to be accepted instead of being dropped (the client's kernel retries after 1, 3, 7 s).
  bool bind_to_port(const std::string& host, int port, int socket_flags = 0);
  int bind_to_any_port(const std::string& host, int socket_flags = 0);

  std::size_t open_connections() const { return open_; }

 private:
  bool process_and_close_socket(socket_t sock) override;
  // A reply without a parsed request: the error handler chooses the status and the body.
  void reply_without_request(Connection& c, int status);
  void deepen_accept_queue();

  const ConnectionLimits limits_;
  std::atomic<std::size_t> open_{0};
  httplib::Logger log_;  // copies of what httplib was given (its own are private)
  Handler on_error_;
};

}  // namespace hemolens::serve
