// The FPM listener: one control-side thread that accepts zebra's
// dplane_fpm_nl connection (fpm.listen, default 127.0.0.1:2620), decodes its
// frames (fpm_decoder.h) into the route table (route_table.h) and publishes
// FIB snapshots to the workers (DataplaneShared::fib), RCU-style like the
// config model: build a new immutable table, publish its pointer, free the old
// one once every worker's (and the dispatcher's) epoch advanced twice. IPv6
// routes make a FibTable6 beside it (DataplaneShared::fib6), built, published
// and retired with it.
//
// Publishing: after a burst of messages, when the socket has nothing more for
// 10 ms or at the latest `publish_interval` after the first unpublished change,
// and never more often than twice the last build's duration (a full table's
// build is O(routes); this keeps the listener streaming during a replay).
// A withdrawal reaches the workers well within a second.
//
// Reconnects: a new connection (zebra restarted, or the old one went away
// mid-stream) marks every route stale; zebra replays its table on connect;
// the replay ends at the first pause of `replay_quiet_ms` (zebra sends the
// whole table back to back), then whatever was not sent again is swept. While
// zebra is away its routes stay (forwarding goes on; a router restarting
// zebra should not black-hole its traffic).
//
// Bad input: a frame whose header is not FPM netlink loses the stream (the
// connection is closed, counted); a frame that does not decode is skipped,
// counted by reason and logged at most once per 10 s per reason.
#pragma once

#include <array>
#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "dataplane/control/fpm/route_table.h"
#include "dataplane/control/router_model.h"
#include "dataplane/worker/shared.h"

namespace wp::fpm {

struct FpmOptions {
  std::string listen = "127.0.0.1:2620";
  uint32_t replay_quiet_ms = 2000;
  uint32_t publish_interval_ms = 200;
};

// Counters the listener keeps (GET /metrics, GET /api/v1/routes).
struct FpmCounters {
  std::atomic<uint64_t> connects{0}, disconnects{0}, frames{0}, messages{0}, lost_streams{0}, publishes{0},
      replays_swept{0}, routes_swept{0};
  std::array<std::atomic<uint64_t>, static_cast<size_t>(FpmError::count)> malformed{};
};

class FpmListener {
 public:
  FpmListener(DataplaneShared& shared, std::vector<RouteInterface> interfaces, IfindexNamer namer = nullptr);
  ~FpmListener();
  FpmListener(const FpmListener&) = delete;
  FpmListener& operator=(const FpmListener&) = delete;

  // Binds and starts the thread; false with `error`.
  bool start(const FpmOptions& opt, std::string& error);
  // Joins the thread; the published FIB stays until the destructor (call it
  // after the workers stopped, or keep the listener alive while they run).
  void stop();

  std::string routes_json(size_t limit) const;
  std::string metrics(const std::string& labels) const;
  const FpmCounters& counters() const { return counters_; }
  // Routes in the last published FIBs (IPv4 and IPv6).
  size_t fib_routes() const;
  // The listening port (tests bind port 0).
  uint16_t port() const { return port_; }

 private:
  void run();
  void accept_connection();
  void read_stream();
  bool handle_frames();
  void handle_frame(std::span<const uint8_t> frame, uint64_t now);
  void maybe_end_replay(uint64_t now);
  void maybe_publish(uint64_t now, bool idle);
  void publish();
  void retire_quiesced();
  void log_malformed(FpmError e, uint64_t now);
  void close_conn();

  DataplaneShared& shared_;
  FpmOptions opt_;
  FpmCounters counters_;
  std::atomic<bool> running_{false};
  std::thread thread_;
  int listen_fd_ = -1, conn_fd_ = -1;
  uint16_t port_ = 0;
  std::vector<uint8_t> buf_;
  size_t have_ = 0;
  std::vector<FpmMessage> msgs_;
  std::atomic<bool> replaying_{false}, connected_{false};
  bool dirty_ = false;
  uint64_t last_frame_ms_ = 0, first_dirty_ms_ = 0, last_publish_ms_ = 0, last_build_ms_ = 0;
  std::array<uint64_t, static_cast<size_t>(FpmError::count)> last_log_ms_{};
  std::array<uint64_t, static_cast<size_t>(FpmError::count)> unlogged_{};

  mutable std::mutex mu_;  // guards table_ and current_ against REST readers
  RouteTable table_;
  std::shared_ptr<const FibTable> current_;
  std::shared_ptr<const FibTable6> current6_;
  struct Retired {
    std::shared_ptr<const FibTable> fib;
    std::shared_ptr<const FibTable6> fib6;
    std::vector<uint64_t> epochs;  // each reader's epoch when it was replaced
  };
  std::deque<Retired> retired_;
};

// if_indextoname in this process's network namespace.
std::string kernel_ifname(uint32_t ifindex);

// What zebra's next hops resolve against: the router's ports (their index is
// the FIB's interface index), then its IPsec tunnels (tunnels[] order), each
// with its subnet and, with router.punt on, its kernel interface's name
// (ifname_prefix + name: the port's tap, the tunnel's TUN when it has an address).
std::vector<RouteInterface> route_interfaces(const RouterModel& rm);

}  // namespace wp::fpm
