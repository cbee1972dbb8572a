// The REST API's connections (docs/security.md § Management plane): cpp-httplib
// parses and routes requests, this class owns the sockets around it.
//
// httplib's own connection loop bounds each read, not a request: a client
// sending one header byte every few seconds (slowloris) holds a server
// thread forever, and connections queue without limit. HttpTransport
// replaces that loop: at most max_connections are served at once (more are
// closed at once), a request's headers and body must arrive within
// request_timeout_ms of its first byte or the connection is closed, and the
// optional TLS layer (OpenSSL, TLS 1.2+, optional verified client
// certificates) runs under the same deadline. Each refusal is counted in
// RestCounters, which GET /metrics shows. serve() runs one request from any
// httplib::Stream through the real routes, without sockets (tests, fuzzing).
#pragma once

#include <httplib.h>

#include <atomic>
#include <cstdint>
#include <string>

#include "mgmt/config_load.h"

namespace wp::mgmt {

struct RestLimits {
  size_t max_body_bytes = 4 << 20;
  uint32_t requests_per_second = 50;
  uint32_t burst = 100;
  uint32_t request_timeout_ms = 10000;
  uint32_t max_connections = 16;
  static RestLimits from_config(const config::MgmtLimits& l);
};

// Refusals by reason, as GET /metrics prints them.
struct RestCounters {
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> too_many_connections{0};
  std::atomic<uint64_t> slow_client{0};
  std::atomic<uint64_t> tls_handshake_failed{0};
  std::atomic<uint64_t> body_too_large{0};
  std::atomic<uint64_t> rate_limited{0};
  std::atomic<uint64_t> unauthorized{0};
  std::atomic<uint64_t> forbidden{0};
  std::atomic<uint64_t> config_too_large{0};
  std::atomic<uint64_t> config_aliases{0};
};

struct RestTls {
  std::string cert, key, client_ca;  // PEM file paths; cert empty = plain HTTP
};

class HttpTransport : public httplib::Server {
 public:
  HttpTransport(const RestLimits& limits, RestCounters& counters);
  ~HttpTransport() override;
  // False with `error` when a file cannot be loaded or the key does not fit.
  bool use_tls(const RestTls& tls, std::string& error);
  // One request read from `in`, the response written to it.
  bool serve(httplib::Stream& in);

 private:
  bool process_and_close_socket(socket_t sock) override;
  void serve_connection(int fd, SSL* ssl);
  SSL* handshake(int fd);

  RestLimits limits_;
  RestCounters& counters_;
  std::atomic<uint32_t> active_{0};
  SSL_CTX* tls_ = nullptr;
};

// An in-memory Stream: reads `input`, appends what is written to `output`.
class BufferStream : public httplib::Stream {
 public:
  explicit BufferStream(std::string input) : input_(std::move(input)) {}
  bool is_readable() const override { return at_ < input_.size(); }
  bool is_writable() const override { return true; }
  ssize_t read(char* ptr, size_t size) override;
  ssize_t write(const char* ptr, size_t size) override;
  void get_remote_ip_and_port(std::string& ip, int& port) const override { ip = "192.0.2.1", port = 40000; }
  void get_local_ip_and_port(std::string& ip, int& port) const override { ip = "192.0.2.2", port = 9101; }
  socket_t socket() const override { return INVALID_SOCKET; }
  const std::string& output() const { return output_; }

 private:
  std::string input_;
  size_t at_ = 0;
  std::string output_;
};

}  // namespace wp::mgmt
