// The FPM listener thread; see fpm_listener.h.
#include "dataplane/control/fpm/fpm_listener.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

#include "dataplane/ip/icmp.h"  // kIpv6MinMtu

namespace wp::fpm {
namespace {

constexpr size_t kBufferBytes = 1 << 18;  // at least two 64 KiB frames
constexpr uint32_t kIdleMs = 10;          // a pause this long ends a burst
constexpr uint64_t kLogEveryMs = 10000;

uint64_t now_ms() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
          .count());
}

bool parse_listen(const std::string& text, sockaddr_in& sa) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) return false;
  const auto addr = parse_ipv4(std::string_view(text).substr(0, colon));
  char* end = nullptr;
  const long port = std::strtol(text.c_str() + colon + 1, &end, 10);
  if (!addr || *end != '\0' || port < 0 || port > 65535) return false;
  sa = {};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(*addr);
  sa.sin_port = htons(static_cast<uint16_t>(port));
  return true;
}

}  // namespace

std::string kernel_ifname(uint32_t ifindex) {
  char name[IF_NAMESIZE] = {};
  return if_indextoname(ifindex, name) ? std::string(name) : std::string();
}

std::vector<RouteInterface> route_interfaces(const RouterModel& rm) {
  std::vector<RouteInterface> ifs;
  auto kernel = [&rm](const std::string& name) {
    return rm.punt.enabled ? rm.punt.ifname_prefix + name : std::string();
  };
  for (const InterfaceModel& i : rm.interfaces) {
    // subnets6[0] is the link-local's fe80::/64: a link-local gateway resolves by its ifindex only.
    std::vector<Ipv6Prefix> subnets6(i.subnets6.size() > 1 ? i.subnets6.begin() + 1 : i.subnets6.end(),
                                     i.subnets6.end());
    ifs.push_back({i.name, i.subnet, -1, kernel(i.name), std::move(subnets6)});
  }
  for (size_t t = 0; t < rm.tunnels.size(); ++t) {
    const TunnelModel& tm = rm.tunnels[t];
    // Its IPv6 prefix too (ipv6_address): a gateway on it resolves to the tunnel as on IPv4's subnet.
    std::vector<Ipv6Prefix> subnets6;
    if (!tm.addr6.is_unspecified()) subnets6.push_back(tm.subnet6);
    ifs.push_back({tm.name, tm.subnet, static_cast<int>(t), tm.addr ? kernel(tm.name) : std::string(), std::move(subnets6),
                   tm.mtu >= kIpv6MinMtu});
  }
  return ifs;
}

FpmListener::FpmListener(DataplaneShared& shared, std::vector<RouteInterface> interfaces, IfindexNamer namer)
    : shared_(shared), buf_(kBufferBytes), table_(std::move(interfaces), namer ? std::move(namer) : kernel_ifname) {}

FpmListener::~FpmListener() {
  stop();
  // Only after the workers stopped (or never read it): nothing holds the FIB now.
  shared_.fib.store(nullptr, std::memory_order_release);
  shared_.fib6.store(nullptr, std::memory_order_release);
}

bool FpmListener::start(const FpmOptions& opt, std::string& error) {
  opt_ = opt;
  sockaddr_in sa;
  if (!parse_listen(opt.listen, sa)) return error = "fpm.listen: \"" + opt.listen + "\" is not IPv4:port", false;
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  const int one = 1;
  if (listen_fd_ < 0 || ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::listen(listen_fd_, 4) != 0) {
    error = "fpm.listen " + opt.listen + ": " + std::strerror(errno);
    if (listen_fd_ >= 0) ::close(listen_fd_);
    listen_fd_ = -1;
    return false;
  }
  socklen_t len = sizeof sa;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&sa), &len);
  port_ = ntohs(sa.sin_port);
  running_ = true;
  thread_ = std::thread([this] { run(); });
  return true;
}

void FpmListener::stop() {
  running_ = false;
  if (thread_.joinable()) thread_.join();
  close_conn();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  listen_fd_ = -1;
}

void FpmListener::run() {
  while (running_.load(std::memory_order_relaxed)) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {conn_fd_, POLLIN, 0}};
    const int n = ::poll(fds, conn_fd_ >= 0 ? 2 : 1, static_cast<int>(kIdleMs));
    if (n > 0 && (fds[0].revents & POLLIN)) accept_connection();
    if (n > 0 && conn_fd_ >= 0 && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) read_stream();
    // After reading: a clock read before it would be older than the last frame.
    const uint64_t now = now_ms();
    maybe_end_replay(now);
    maybe_publish(now, n == 0);
    retire_quiesced();
  }
}

// One zebra at a time: a new connection replaces the old one (zebra restarted
// and the old socket has not noticed yet) and starts a replay.
void FpmListener::accept_connection() {
  const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (fd < 0) return;
  close_conn();
  conn_fd_ = fd;
  connected_ = true;
  have_ = 0;
  counters_.connects.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard lock(mu_);
  table_.begin_replay();
  replaying_ = true;
  last_frame_ms_ = now_ms();
  std::fprintf(stderr, "waypointd: fpm: zebra connected; replay begins (%zu routes held)\n", table_.size());
}

void FpmListener::close_conn() {
  if (conn_fd_ < 0) return;
  ::close(conn_fd_);
  conn_fd_ = -1;
  connected_ = false;
  have_ = 0;
  counters_.disconnects.fetch_add(1, std::memory_order_relaxed);
}

void FpmListener::read_stream() {
  // Read until the socket is drained, or until a publish is due (a long
  // replay must not hold a withdrawal back from the workers).
  for (;;) {
    if (dirty_ && now_ms() >= first_dirty_ms_ + opt_.publish_interval_ms) return;
    const ssize_t got = ::recv(conn_fd_, buf_.data() + have_, buf_.size() - have_, 0);
    if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
      std::fprintf(stderr, "waypointd: fpm: zebra disconnected%s; its routes stay until it replays\n",
                   have_ ? " mid-frame" : "");
      close_conn();
      return;
    }
    if (got < 0) return;
    have_ += static_cast<size_t>(got);
    if (!handle_frames()) return;
  }
}

// Handles every complete frame in the buffer; false when the stream was lost.
bool FpmListener::handle_frames() {
  size_t off = 0;
  const uint64_t now = now_ms();
  for (;;) {
    const long len = fpm_frame_length({buf_.data() + off, have_ - off});
    if (len < 0) {
      counters_.lost_streams.fetch_add(1, std::memory_order_relaxed);
      log_malformed(FpmError::bad_header, now);
      close_conn();
      return false;
    }
    if (len == 0) break;
    handle_frame({buf_.data() + off, static_cast<size_t>(len)}, now);
    off += static_cast<size_t>(len);
  }
  std::memmove(buf_.data(), buf_.data() + off, have_ - off);
  have_ -= off;
  return true;
}

void FpmListener::handle_frame(std::span<const uint8_t> frame, uint64_t now) {
  counters_.frames.fetch_add(1, std::memory_order_relaxed);
  last_frame_ms_ = now;
  const FpmError e = decode_fpm_frame(frame, msgs_);
  if (e != FpmError::none) log_malformed(e, now);
  if (msgs_.empty()) return;
  counters_.messages.fetch_add(msgs_.size(), std::memory_order_relaxed);
  std::lock_guard lock(mu_);
  for (const FpmMessage& m : msgs_) table_.apply(m, now);
  if (!dirty_) first_dirty_ms_ = now;
  dirty_ = true;
}

void FpmListener::log_malformed(FpmError e, uint64_t now) {
  const auto i = static_cast<size_t>(e);
  counters_.malformed[i].fetch_add(1, std::memory_order_relaxed);
  if (last_log_ms_[i] && now - last_log_ms_[i] < kLogEveryMs) return void(++unlogged_[i]);
  std::fprintf(stderr, "waypointd: fpm: malformed frame (%s)%s\n", std::string(fpm_error_name(e)).c_str(),
               unlogged_[i] ? (" and " + std::to_string(unlogged_[i]) + " more since the last report").c_str() : "");
  last_log_ms_[i] = now;
  unlogged_[i] = 0;
}

void FpmListener::maybe_end_replay(uint64_t now) {
  if (!replaying_ || conn_fd_ < 0 || now < last_frame_ms_ + opt_.replay_quiet_ms) return;
  replaying_ = false;
  size_t swept;
  {
    std::lock_guard lock(mu_);
    swept = table_.sweep();
  }
  counters_.replays_swept.fetch_add(1, std::memory_order_relaxed);
  counters_.routes_swept.fetch_add(swept, std::memory_order_relaxed);
  std::fprintf(stderr, "waypointd: fpm: replay done; %zu stale routes swept\n", swept);
  if (!dirty_) first_dirty_ms_ = now;
  dirty_ = true;
  publish();
  last_publish_ms_ = now;
}

void FpmListener::maybe_publish(uint64_t now, bool idle) {
  if (!dirty_) return;
  const bool due = idle || now >= first_dirty_ms_ + opt_.publish_interval_ms;
  if (!due || now < last_publish_ms_ + 2 * last_build_ms_) return;
  publish();
  last_publish_ms_ = now_ms();
  last_build_ms_ = last_publish_ms_ - now;
}

void FpmListener::publish() {
  std::shared_ptr<const FibTable> next;
  std::shared_ptr<const FibTable6> next6;
  {
    std::lock_guard lock(mu_);
    next = table_.build();
    next6 = table_.build6();
  }
  dirty_ = false;
  const FibTable* old = shared_.fib.exchange(next.get(), std::memory_order_acq_rel);
  const FibTable6* old6 = shared_.fib6.exchange(next6.get(), std::memory_order_acq_rel);
  std::shared_ptr<const FibTable> prev;
  std::shared_ptr<const FibTable6> prev6;
  {
    std::lock_guard lock(mu_);
    prev = std::exchange(current_, std::move(next));
    prev6 = std::exchange(current6_, std::move(next6));
  }
  counters_.publishes.fetch_add(1, std::memory_order_relaxed);
  if (!old && !old6) return;
  Retired r{std::move(prev), std::move(prev6), {}};
  for (uint32_t w = 0; w <= shared_.workers; ++w)
    r.epochs.push_back(shared_.counters[w].epoch.load(std::memory_order_acquire));
  retired_.push_back(std::move(r));
}

// A reader whose epoch moved twice since the swap has finished the loop
// iteration that may have read the old table.
void FpmListener::retire_quiesced() {
  while (!retired_.empty()) {
    const Retired& r = retired_.front();
    for (uint32_t w = 0; w < r.epochs.size(); ++w)
      if (shared_.counters[w].epoch.load(std::memory_order_acquire) < r.epochs[w] + 2) return;
    retired_.pop_front();
  }
}

size_t FpmListener::fib_routes() const {
  std::lock_guard lock(mu_);
  return (current_ ? current_->size() : 0) + (current6_ ? current6_->size() : 0);
}

std::string FpmListener::routes_json(size_t limit) const {
  nlohmann::json routes = nlohmann::json::array();
  const uint64_t now = now_ms();
  auto age_s = [now](uint64_t installed) { return now > installed ? (now - installed) / 1000 : 0; };
  std::lock_guard lock(mu_);
  const size_t total4 = current_ ? current_->size() : 0, total6 = current6_ ? current6_->size() : 0;
  for (size_t i = 0; i < total4 && routes.size() < limit; ++i) {
    const FibRoute& r = current_->routes()[i];
    nlohmann::json hops = nlohmann::json::array();
    for (int h = 0; h < r.paths; ++h)
      hops.push_back({{"gateway", r.hops[h].gateway && !r.hops[h].tunnel() ? format_ipv4(r.hops[h].gateway) : ""},
                      {"interface", std::string(table_.hop_interface(r.hops[h]))}});
    routes.push_back({{"prefix", format_prefix(r.prefix)},
                      {"protocol", protocol_name(r.protocol)},
                      {"distance", r.distance},
                      {"next_hops", hops},
                      {"blackhole", r.paths == 0},
                      {"age_s", age_s(table_.installed_ms(r.prefix))}});
  }
  // IPv6 after IPv4, in the same shape (a link-local gateway is written as it came, fe80::...).
  for (size_t i = 0; i < total6 && routes.size() < limit; ++i) {
    const FibRoute6& r = current6_->routes()[i];
    nlohmann::json hops = nlohmann::json::array();
    for (int h = 0; h < r.paths; ++h) {
      const FibNextHop6& nh = r.hops[h];
      const bool gateway = !nh.next_hop.is_unspecified() && nh.iface != kRoute6Tunnel;
      hops.push_back({{"gateway", gateway ? format_ipv6(nh.next_hop) : ""},
                      {"interface", std::string(table_.hop_interface(nh))}});
    }
    routes.push_back({{"prefix", format_prefix6(r.prefix)},
                      {"protocol", protocol_name(r.protocol)},
                      {"distance", r.distance},
                      {"next_hops", hops},
                      {"blackhole", r.paths == 0},
                      {"age_s", age_s(table_.installed_ms(r.prefix))}});
  }
  nlohmann::json doc = {{"source", "fpm"},
                        {"connected", connected_.load()},
                        {"replaying", replaying_.load()},
                        {"fib_routes", total4 + total6},
                        {"fib_routes6", total6},
                        {"truncated", total4 + total6 > routes.size()},
                        {"routes", routes}};
  return doc.dump(2);
}

std::string FpmListener::metrics(const std::string& labels) const {
  std::string o;
  auto counter = [&](const char* name, const char* help, uint64_t v, const std::string& extra = "") {
    o += std::string("# HELP waypoint_fib_") + name + " " + help + "\n# TYPE waypoint_fib_" + name + " counter\n";
    o += std::string("waypoint_fib_") + name + "{" + labels + extra + "} " + std::to_string(v) + "\n";
  };
  const auto& c = counters_;
  counter("fpm_connects_total", "FPM connections accepted from zebra", c.connects.load());
  counter("fpm_disconnects_total", "FPM connections closed (zebra gone, or a lost stream)", c.disconnects.load());
  counter("fpm_frames_total", "FPM frames received", c.frames.load());
  counter("fpm_messages_total", "netlink route and next-hop messages decoded", c.messages.load());
  counter("fpm_lost_streams_total", "connections closed on a header that was not FPM netlink",
          c.lost_streams.load());
  counter("publishes_total", "FIB snapshots published to the workers", c.publishes.load());
  counter("swept_total", "routes removed after a replay did not send them again", c.routes_swept.load());
  o += "# HELP waypoint_fib_fpm_malformed_total FPM frames skipped, by reason\n"
       "# TYPE waypoint_fib_fpm_malformed_total counter\n";
  for (size_t i = 1; i < c.malformed.size(); ++i)
    o += "waypoint_fib_fpm_malformed_total{" + labels + ",reason=\"" +
         std::string(fpm_error_name(static_cast<FpmError>(i))) + "\"} " + std::to_string(c.malformed[i].load()) +
         "\n";
  std::lock_guard lock(mu_);
  const RouteTableCounters& t = table_.counters();
  counter("routes_added_total", "route installs and replacements from zebra", t.routes_added);
  counter("routes_withdrawn_total", "route withdrawals from zebra", t.routes_withdrawn);
  counter("routes_other_table_total", "routes of another kernel table than main (254), ignored", t.other_table);
  counter("routes_link_local6_total", "IPv6 routes to link-local or multicast prefixes, not installed",
          t.link_local6);
  o += "# HELP waypoint_fib_routes Routes in the published FIB (IPv4 and IPv6)\n# TYPE waypoint_fib_routes gauge\n";
  o += "waypoint_fib_routes{" + labels + "} " +
       std::to_string((current_ ? current_->size() : 0) + (current6_ ? current6_->size() : 0)) + "\n";
  o += "# HELP waypoint_fib_routes6 IPv6 routes in the published FIB\n# TYPE waypoint_fib_routes6 gauge\n";
  o += "waypoint_fib_routes6{" + labels + "} " + std::to_string(current6_ ? current6_->size() : 0) + "\n";
  o += "# HELP waypoint_fib_routes_unresolved Routes from zebra with no next hop on a Waypoint interface\n"
       "# TYPE waypoint_fib_routes_unresolved gauge\n";
  o += "waypoint_fib_routes_unresolved{" + labels + "} " + std::to_string(t.unresolved + t.unknown_nh_id) + "\n";
  o += "# HELP waypoint_fib_hops6_tunnel_mtu IPv6 next hops from zebra into a tunnel whose mtu is below 1280, not "
       "installed\n# TYPE waypoint_fib_hops6_tunnel_mtu gauge\n";
  o += "waypoint_fib_hops6_tunnel_mtu{" + labels + "} " + std::to_string(t.tunnel_mtu6) + "\n";
  return o;
}

}  // namespace wp::fpm
