// Path monitoring on the control thread (docs/svr-wire-format.md § Path monitoring).
//
// One BFD session (dataplane/bfd.h) per path, carried as RFC 5881 single-hop
// BFD: UDP to port 3784 from a per-session source port in 49152..65535, TTL
// 255 on send and required on receipt (GTSM, § 5). Received packets are
// matched by Your Discriminator, or, while that is zero, by the interface and
// peer waypoint they came from. A path is usable when its BFD session is Up,
// after a hold-down when it comes back (no flapping sessions back and forth);
// it stops being usable the moment BFD leaves Up. While Up, a path probe
// measures round-trip latency, jitter and loss: a small UDP packet to the
// peer's port 3785 that the peer's control thread reflects (it is BFD-echo
// -like, but answered by the peer's control plane rather than looped in its
// forwarding path, so it works across routed WANs). Every change is published
// to the PathTable, which re-ranks paths for the workers.
// A path over IPv6 waypoints (PathModel::v6) runs the same over IPv6 (RFC 5881
// § 5: hop limit 255 on send and required on receipt), between its IPv6
// waypoints; received datagrams are matched to it by interface and both IPv6
// addresses, then handled in its stand-in form, as the workers do.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>
#include <random>
#include <vector>

#include "dataplane/ip/packet.h"
#include "dataplane/paths/bfd.h"
#include "dataplane/paths/path_table.h"

namespace wp {

inline constexpr uint16_t kPathProbePort = 3785;
inline constexpr size_t kPathProbeLen = 24;

struct PathMonitorConfig {
  BfdConfig bfd;
  uint64_t hold_down_us = 2000000;
  uint64_t probe_interval_us = 1000000;
  // A gap between polls longer than this is our stall, not the path's.
  static constexpr uint64_t kStallUs = 50000;
  static PathMonitorConfig from(const ::waypoint::config::PathMonitoring& pm);
};

// In-line flow monitoring (TLV 26) of one path over a window: the workers'
// counters summed, minus the sums at the window's start. Loss needs enough
// packets to mean something; RTT and delay variation need one sample.
struct FlowWindow {
  static constexpr uint64_t kMinPackets = 50;
  static constexpr uint64_t kStaleUs = 10000000;  // no live traffic measured: the figures lapse
  uint64_t sent = 0, received = 0, rtt_sum = 0, rtt_n = 0, delta_sum = 0, delta_n = 0;  // bases
  uint64_t start_us = 0, loss_at_us = 0, time_at_us = 0;
  bool have_loss = false, have_time = false;
  bool rebase = false;  // the path went down: what was counted before says nothing now
  uint32_t loss_permille = 0, rtt_us = 0, jitter_us = 0;
  // Sums now -> updates the figures when the window is over; false while it runs.
  bool update(uint64_t now_us, uint64_t window_us, uint64_t sent_now, uint64_t received_now, uint64_t rtt_sum_now,
              uint64_t rtt_n_now, uint64_t delta_sum_now, uint64_t delta_n_now);
};

class PathMonitor {
 public:
  // Sends a finished IPv4 frame (Ethernet addresses filled by the sender
  // after neighbor resolution) out of `iface` toward `next_hop`.
  using SendFn = void (*)(void* ctx, rte_mbuf* m, int iface, Ipv4 next_hop);
  // The same for a finished IPv6 frame, toward its IPv6 next hop (Neighbor Discovery).
  using SendFn6 = void (*)(void* ctx, rte_mbuf* m, int iface, const Ipv6& next_hop);

  PathMonitor(PathTable& table, const PathMonitorConfig& cfg, rte_mempool* pool, uint64_t seed);
  void set_sender(SendFn send, void* ctx) {
    send_ = send;
    send_ctx_ = ctx;
  }
  void set_sender6(SendFn6 send) { send6_ = send; }
  // Whether a path over IPv6 waypoints still has its route: to the peer's IPv6
  // waypoint out of its interface (asked every kRouteCheckUs; without it, always).
  // A path without one is unusable whatever BFD says: its sessions move at once.
  using RouteCheckFn = bool (*)(void* ctx, const PathModel& path);
  void set_route_check(RouteCheckFn check) { route_check_ = check; }
  static constexpr uint64_t kRouteCheckUs = 100000;

  // UDP to one of our addresses on the BFD or probe port: consumes `m` and
  // returns true; false (m untouched) for anything else.
  bool input(rte_mbuf* m, const ParsedPacket& pp, int iface, uint64_t now_us);
  // The same for an IPv6 frame (UDP between a path's IPv6 waypoints; a bad UDP
  // checksum or a stranger's datagram to those ports is a discard).
  bool input6(rte_mbuf* m, int iface, uint64_t now_us);
  // Timers: BFD transmit and detection, probes, hold-down, publishing.
  void poll(uint64_t now_us);

 private:
  struct Entry {
    BfdSession bfd;
    PathMetrics metrics;
    BfdState last_state = BfdState::down;
    bool ever_up = false;
    uint64_t up_since_us = 0;
    uint32_t probe_seq = 0;
    uint64_t next_probe_us = 0;
    FlowWindow flow;
    bool routed = true;  // paths over IPv6 waypoints: the route check's last answer
  };
  bool aggregate_flow(size_t path, uint64_t now_us);  // true when the figures moved
  void bfd_input(rte_mbuf* m, const ParsedPacket& pp, int iface, uint64_t now_us);
  void probe_input(rte_mbuf* m, const ParsedPacket& pp, int iface, uint64_t now_us);
  void send_bfd(size_t path, uint64_t now_us);
  void send_probe(size_t path, uint64_t now_us);
  // A UDP datagram from path's local waypoint to its peer waypoint.
  bool send_udp(size_t path, uint16_t sport, uint16_t dport, const uint8_t* payload, size_t len);
  bool publish(size_t path, uint64_t now_us);  // true when ranks must be recomputed
  void log_state(size_t path, BfdState from, BfdState to, BfdDiag diag);

  PathTable& table_;
  PathMonitorConfig cfg_;
  rte_mempool* pool_;
  std::mt19937_64 rng_;
  std::vector<Entry> entries_;
  uint64_t last_poll_us_ = 0;
  SendFn send_ = nullptr;
  SendFn6 send6_ = nullptr;
  RouteCheckFn route_check_ = nullptr;
  uint64_t next_route_check_us_ = 0;
  void* send_ctx_ = nullptr;
};

}  // namespace wp
