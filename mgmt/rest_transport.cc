// REST connections: limits, deadlines, TLS; see rest_transport.h.
#include "mgmt/rest_transport.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>

namespace wp::mgmt {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kWriteTimeoutMs = 5000;
constexpr int kKeepAliveMs = 5000;
constexpr size_t kKeepAliveMax = 100;

int ms_left(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return static_cast<int>(std::max<long long>(left, 0));
}

// Waits for `events` on fd until the deadline; false on timeout or error.
bool wait_for(int fd, short events, int timeout_ms) {
  pollfd p{fd, events, 0};
  int n;
  do n = ::poll(&p, 1, timeout_ms);
  while (n < 0 && errno == EINTR);
  return n > 0;
}

std::string address(const sockaddr_storage& ss, int& port) {
  char text[INET6_ADDRSTRLEN] = "";
  if (ss.ss_family == AF_INET) {
    const auto& a = reinterpret_cast<const sockaddr_in&>(ss);
    inet_ntop(AF_INET, &a.sin_addr, text, sizeof text);
    port = ntohs(a.sin_port);
  }
  return text;
}

// A connection's byte stream, plain or TLS, on a non-blocking socket: each
// read waits at most until the request's deadline, each write at most
// kWriteTimeoutMs. A read that runs out of time counts as a slow client.
class DeadlineStream : public httplib::Stream {
 public:
  DeadlineStream(int fd, SSL* ssl, RestCounters& counters) : fd_(fd), ssl_(ssl), counters_(counters) {}
  void start_request(uint32_t timeout_ms) { deadline_ = Clock::now() + std::chrono::milliseconds(timeout_ms); }
  // The connection's first request must begin before its deadline (a
  // client that connects and sends nothing is a slow client too); a later
  // one within kKeepAliveMs, or the idle connection is closed quietly.
  bool next_request(bool first) const {
    if ((ssl_ && SSL_pending(ssl_) > 0) || wait_for(fd_, POLLIN, first ? ms_left(deadline_) : kKeepAliveMs))
      return true;
    if (first) counters_.slow_client.fetch_add(1, std::memory_order_relaxed);
    return false;
  }

  bool is_readable() const override {
    return (ssl_ && SSL_pending(ssl_) > 0) || wait_for(fd_, POLLIN, ms_left(deadline_));
  }
  bool is_writable() const override { return wait_for(fd_, POLLOUT, kWriteTimeoutMs); }
  ssize_t read(char* ptr, size_t size) override;
  ssize_t write(const char* ptr, size_t size) override;
  void get_remote_ip_and_port(std::string& ip, int& port) const override { name(::getpeername, ip, port); }
  void get_local_ip_and_port(std::string& ip, int& port) const override { name(::getsockname, ip, port); }
  socket_t socket() const override { return fd_; }

 private:
  template <typename Fn>
  void name(Fn fn, std::string& ip, int& port) const {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    port = 0;
    ip = fn(fd_, reinterpret_cast<sockaddr*>(&ss), &len) == 0 ? address(ss, port) : "";
  }
  // One transfer attempt: >0 bytes, 0 closed, -1 failed, -2 wait for in, -3 wait for out.
  ssize_t attempt(bool in, char* ptr, size_t size);

  int fd_;
  SSL* ssl_;
  RestCounters& counters_;
  Clock::time_point deadline_ = Clock::now();
};

ssize_t DeadlineStream::attempt(bool in, char* ptr, size_t size) {
  const int len = static_cast<int>(std::min<size_t>(size, 1 << 20));
  if (ssl_) {
    ERR_clear_error();
    const int n = in ? SSL_read(ssl_, ptr, len) : SSL_write(ssl_, ptr, len);
    if (n > 0) return n;
    const int e = SSL_get_error(ssl_, n);
    return e == SSL_ERROR_WANT_READ ? -2 : e == SSL_ERROR_WANT_WRITE ? -3 : e == SSL_ERROR_ZERO_RETURN ? 0 : -1;
  }
  const ssize_t n =
      in ? ::recv(fd_, ptr, static_cast<size_t>(len), 0) : ::send(fd_, ptr, static_cast<size_t>(len), MSG_NOSIGNAL);
  if (n >= 0) return n;
  if (errno == EINTR) return -2 - !in;
  return errno == EAGAIN || errno == EWOULDBLOCK ? (in ? -2 : -3) : -1;
}

ssize_t DeadlineStream::read(char* ptr, size_t size) {
  for (;;) {
    const ssize_t n = attempt(true, ptr, size);
    if (n >= -1) return n;
    if (!wait_for(fd_, n == -2 ? POLLIN : POLLOUT, ms_left(deadline_))) {
      counters_.slow_client.fetch_add(1, std::memory_order_relaxed);
      return -1;
    }
  }
}

ssize_t DeadlineStream::write(const char* ptr, size_t size) {
  size_t done = 0;
  while (done < size) {
    const ssize_t n = attempt(false, const_cast<char*>(ptr + done), size - done);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (n >= -1 || !wait_for(fd_, n == -2 ? POLLIN : POLLOUT, kWriteTimeoutMs)) return -1;
  }
  return static_cast<ssize_t>(done);
}

// Releases a connection slot when the connection ends.
struct Slot {
  std::atomic<uint32_t>& active;
  ~Slot() { active.fetch_sub(1); }
};

}  // namespace

RestLimits RestLimits::from_config(const config::MgmtLimits& l) {
  RestLimits r;
  if (l.max_body_bytes()) r.max_body_bytes = l.max_body_bytes();
  if (l.requests_per_second()) r.requests_per_second = l.requests_per_second();
  if (l.burst()) r.burst = l.burst();
  if (l.request_timeout_ms()) r.request_timeout_ms = l.request_timeout_ms();
  if (l.max_connections()) r.max_connections = l.max_connections();
  return r;
}

HttpTransport::HttpTransport(const RestLimits& limits, RestCounters& counters) : limits_(limits), counters_(counters) {
  set_payload_max_length(limits_.max_body_bytes);
  // One more thread than connections served, so the one over the limit is
  // refused at once instead of waiting in httplib's queue.
  const size_t threads = limits_.max_connections + 1;
  new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
}

HttpTransport::~HttpTransport() {
  if (tls_) SSL_CTX_free(tls_);
}

bool HttpTransport::use_tls(const RestTls& tls, std::string& error) {
  auto fail = [&](const std::string& what, const std::string& file) {
    char reason[256] = "";
    ERR_error_string_n(ERR_get_error(), reason, sizeof reason);
    error = what + " \"" + file + "\": " + reason;
    return false;
  };
  tls_ = SSL_CTX_new(TLS_server_method());
  if (!tls_) return error = "mgmt: cannot create a TLS context", false;
  SSL_CTX_set_min_proto_version(tls_, TLS1_2_VERSION);
  SSL_CTX_set_options(tls_, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  if (SSL_CTX_use_certificate_chain_file(tls_, tls.cert.c_str()) != 1)
    return fail("mgmt.tls_cert: cannot load", tls.cert);
  if (SSL_CTX_use_PrivateKey_file(tls_, tls.key.c_str(), SSL_FILETYPE_PEM) != 1)
    return fail("mgmt.tls_key: cannot load", tls.key);
  if (SSL_CTX_check_private_key(tls_) != 1) return fail("mgmt.tls_key: does not match the certificate in", tls.cert);
  if (tls.client_ca.empty()) return true;
  if (SSL_CTX_load_verify_locations(tls_, tls.client_ca.c_str(), nullptr) != 1)
    return fail("mgmt.client_ca: cannot load", tls.client_ca);
  SSL_CTX_set_client_CA_list(tls_, SSL_load_client_CA_file(tls.client_ca.c_str()));
  SSL_CTX_set_verify(tls_, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  return true;
}

bool HttpTransport::serve(httplib::Stream& in) {
  bool closed = false;
  counters_.requests.fetch_add(1, std::memory_order_relaxed);
  return process_request(in, true, closed, nullptr);
}

// The TLS handshake under the request deadline; null (counted) on failure.
SSL* HttpTransport::handshake(int fd) {
  SSL* ssl = SSL_new(tls_);
  if (!ssl) return nullptr;
  SSL_set_fd(ssl, fd);
  const auto deadline = Clock::now() + std::chrono::milliseconds(limits_.request_timeout_ms);
  for (;;) {
    ERR_clear_error();
    const int n = SSL_accept(ssl);
    if (n == 1) return ssl;
    const int e = SSL_get_error(ssl, n);
    const bool waiting = e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE;
    if (waiting && wait_for(fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, ms_left(deadline))) continue;
    (waiting ? counters_.slow_client : counters_.tls_handshake_failed).fetch_add(1, std::memory_order_relaxed);
    SSL_free(ssl);
    return nullptr;
  }
}

void HttpTransport::serve_connection(int fd, SSL* ssl) {
  DeadlineStream strm(fd, ssl, counters_);
  for (size_t n = 0; n < kKeepAliveMax && svr_sock_ != INVALID_SOCKET; ++n) {
    strm.start_request(limits_.request_timeout_ms);
    if (!strm.next_request(n == 0)) break;
    if (n > 0) strm.start_request(limits_.request_timeout_ms);
    counters_.requests.fetch_add(1, std::memory_order_relaxed);
    bool closed = false;
    const bool ok =
        process_request(strm, n + 1 == kKeepAliveMax, closed, [ssl](httplib::Request& req) { req.ssl = ssl; });
    if (!ok || closed) break;
  }
}

bool HttpTransport::process_and_close_socket(socket_t sock) {
  Slot slot{active_};
  if (active_.fetch_add(1) >= limits_.max_connections) {
    counters_.too_many_connections.fetch_add(1, std::memory_order_relaxed);
    ::close(sock);
    return false;
  }
  ::fcntl(sock, F_SETFL, ::fcntl(sock, F_GETFL) | O_NONBLOCK);
  SSL* ssl = tls_ ? handshake(sock) : nullptr;
  if (!tls_ || ssl) serve_connection(sock, ssl);
  if (ssl) {
    SSL_shutdown(ssl);
    SSL_free(ssl);
  }
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
  return true;
}

ssize_t BufferStream::read(char* ptr, size_t size) {
  const size_t n = std::min(size, input_.size() - at_);
  std::memcpy(ptr, input_.data() + at_, n);
  at_ += n;
  return static_cast<ssize_t>(n);
}

ssize_t BufferStream::write(const char* ptr, size_t size) {
  output_.append(ptr, size);
  return static_cast<ssize_t>(size);
}

}  // namespace wp::mgmt
