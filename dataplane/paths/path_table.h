// Paths between waypoints and the choice of a path per session (
// docs/svr-wire-format.md § Path monitoring).
//
// A path is one of our WAN interfaces plus the peer waypoint routed out of it,
// named after the interface ("mpls", "internet"). The control thread owns the
// truth about each path (BFD state with a hold-down, probe metrics) and, on
// every change, recomputes one rank byte per (service, path):
//   0          unusable (down, held down, or not a path to the service's peer)
//   1..127     up and within the service's SLA; lower = earlier in its `paths`
//   128..255   up but outside the SLA: used only when no path meets it
// plus the best rank per service. Workers read these bytes lock-free (relaxed
// atomics; a stale byte for a microsecond only delays a choice): a first
// packet takes a best-ranked path, sharing equal ranks by the session's hash,
// and a forward packet of a live session checks its own path's byte against
// the best to decide whether to migrate. Per-path counters that workers bump
// are per worker (single writer), summed by the stats reader.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config.pb.h"
#include "dataplane/ip/ipv4.h"
#include "dataplane/ip/ipv6.h"
#include "dataplane/paths/bfd.h"

namespace wp {

class RouterModel;

inline constexpr uint8_t kRankUnusable = 0;
inline constexpr uint8_t kRankOutOfSla = 128;

// A path over IPv6 waypoints (v6 set: docs/ipv6.md § Paths over IPv6 waypoints)
// holds the stand-ins of control/waypoint6_addr.h in local/remote/next_hop,
// as the sessions on it do (the WAN leg translates them, svr/waypoint6.h),
// and the IPv6 waypoints they name in local6/remote6. It carries the IPv6
// sessions and the IPv4 sessions that ride the peer's IPv6 waypoints; the
// others take the IPv4 paths: each family is ranked among its own.
struct PathModel {
  std::string name;  // the WAN interface name
  int peer = -1;
  int iface = -1;
  Ipv4 local = 0;     // our waypoint address
  Ipv4 remote = 0;    // the peer waypoint
  Ipv4 next_hop = 0;  // resolved with ARP on iface
  bool v6 = false;
  Ipv6 local6{}, remote6{}, next_hop6{};  // next_hop6: resolved with Neighbor Discovery on iface
};

struct Sla {
  uint32_t max_latency_us = 0, max_jitter_us = 0, max_loss_permille = 0;  // 0 = no limit
  bool any() const { return max_latency_us || max_jitter_us || max_loss_permille; }
};

// What the control thread publishes per path.
struct PathLive {
  std::atomic<uint8_t> bfd_state{static_cast<uint8_t>(BfdState::down)};
  std::atomic<bool> usable{false};
  std::atomic<bool> measured{false};  // metrics below hold at least one probe answer
  std::atomic<uint32_t> rtt_us{0}, jitter_us{0}, loss_permille{0};
  std::atomic<uint64_t> bfd_tx{0}, bfd_rx{0}, bfd_discards{0}, bfd_seq_gaps{0};
  std::atomic<uint64_t> probes_tx{0}, probes_rx{0};
  std::atomic<uint64_t> went_up{0}, went_down{0};
  std::atomic<uint64_t> last_change_ms{0};
  // In-line flow monitoring (TLV 26, flow_monitor.h) over the last window,
  // aggregated by the control thread from the workers' counters.
  std::atomic<bool> flow_measured{false};
  std::atomic<uint32_t> flow_rtt_us{0}, flow_jitter_us{0}, flow_loss_permille{0};
  std::atomic<uint64_t> flow_window_sent{0}, flow_window_received{0};
  // What SLAs judge: the worse of the probe and the live-traffic figure for
  // each metric (either alone can show a path is bad; neither can vouch
  // for it against the other).
  uint32_t sla_rtt_us() const { return worse(rtt_us, flow_rtt_us); }
  uint32_t sla_jitter_us() const { return worse(jitter_us, flow_jitter_us); }
  uint32_t sla_loss_permille() const { return worse(loss_permille, flow_loss_permille); }
  bool sla_measured() const {
    return measured.load(std::memory_order_relaxed) || flow_measured.load(std::memory_order_relaxed);
  }

 private:
  uint32_t worse(const std::atomic<uint32_t>& probe, const std::atomic<uint32_t>& flow) const {
    uint32_t a = measured.load(std::memory_order_relaxed) ? probe.load(std::memory_order_relaxed) : 0;
    uint32_t b = flow_measured.load(std::memory_order_relaxed) ? flow.load(std::memory_order_relaxed) : 0;
    return a > b ? a : b;
  }
};

// Per worker and path, single writer.
struct PathWorkerCounters {
  std::atomic<uint64_t> sessions_started{0};  // new sessions placed on the path
  std::atomic<uint64_t> migrated_in{0}, migrated_out{0};
  std::atomic<uint64_t> migration_failed{0};  // no other path, or no free port pair on it
  // In-line flow monitoring (TLV 26): markers, blocks of ours the far end
  // counted (sent vs received), RTT and one-way delay variation samples (ms).
  std::atomic<uint64_t> flow_markers_tx{0}, flow_markers_rx{0};
  std::atomic<uint64_t> flow_sent{0}, flow_received{0}, flow_blocks{0};
  std::atomic<uint64_t> flow_rtt_ms_sum{0}, flow_rtt_samples{0};
  std::atomic<uint64_t> flow_delta_ms_sum{0}, flow_delta_samples{0};
  static void bump(std::atomic<uint64_t>& c, uint64_t n = 1) {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
};

// Round-trip metrics from probe answers: smoothed RTT (RFC 6298 style, 1/8
// gain), jitter as RFC 3550's mean deviation of successive RTTs (1/16 gain),
// loss over the last kWindow probes whose answer is overdue or came.
class PathMetrics {
 public:
  static constexpr uint32_t kWindow = 64;
  void sent(uint32_t seq, uint64_t now_us);
  // An answer to probe `seq` sent at `sent_us`; false for one out of window or seen.
  bool answered(uint32_t seq, uint64_t sent_us, uint64_t now_us);
  // Probes unanswered after `timeout_us` count as lost from then on.
  void expire(uint64_t now_us, uint64_t timeout_us);
  uint32_t rtt_us() const { return static_cast<uint32_t>(srtt_us_); }
  uint32_t jitter_us() const { return static_cast<uint32_t>(jitter_us_); }
  uint32_t loss_permille() const;
  bool measured() const { return have_rtt_; }
  void reset();

 private:
  struct Slot {
    uint32_t seq = 0;
    uint64_t sent_us = 0;
    bool used = false, answered = false, final = false;
  };
  Slot window_[kWindow];
  double srtt_us_ = 0, jitter_us_ = 0, last_rtt_us_ = 0;
  bool have_rtt_ = false;
};

class PathTable {
 public:
  // Paths from the model: for every peer and every waypoint of it, the WAN
  // interface the route leaves through (first waypoint per interface wins);
  // IPv4 waypoints first, then IPv6 ones (the config's IPv6 routes: one
  // learned from FRR only later makes no path).
  // `monitored` = BFD decides usability; otherwise every path is usable.
  PathTable(const RouterModel& rm, const ::waypoint::config::Config& cfg, uint32_t workers, bool monitored);

  size_t size() const { return paths_.size(); }
  const PathModel& path(size_t i) const { return paths_[i]; }
  PathLive& live(size_t i) { return live_[i]; }
  const PathLive& live(size_t i) const { return live_[i]; }
  // v6: the path over the peer's IPv6 waypoint (a session whose side holds stand-ins).
  int find(int peer, int iface, bool v6 = false) const {
    size_t k = static_cast<size_t>(peer) * n_ifaces_ + static_cast<size_t>(iface);
    const std::vector<int>& by = v6 ? by_peer_iface6_ : by_peer_iface_;
    return peer >= 0 && iface >= 0 && k < by.size() ? by[k] : -1;
  }
  bool monitored() const { return monitored_; }
  // Whether `peer` has a path over its IPv6 waypoints.
  bool has_paths6(int peer) const {
    return peer >= 0 && static_cast<size_t>(peer) < peer_has6_.size() && peer_has6_[static_cast<size_t>(peer)];
  }
  bool revert() const { return revert_; }
  const Sla& sla(size_t service) const { return slas_[service]; }
  PathWorkerCounters& counters(uint32_t worker, size_t path) { return counters_[worker * paths_.size() + path]; }
  const PathWorkerCounters& counters(uint32_t worker, size_t path) const {
    return counters_[worker * paths_.size() + path];
  }
  uint32_t workers() const { return workers_; }
  // In-line flow monitoring (TLV 26): marker period per session leg (0 = off)
  // and how many sessions per worker are measured at once.
  uint32_t flow_period_ms() const { return flow_period_ms_; }
  uint32_t flow_sessions() const { return flow_sessions_; }

  // Control thread: recompute every rank from the live state.
  void recompute();
  uint8_t rank(size_t service, size_t path) const {
    return ranks_[service * paths_.size() + path].load(std::memory_order_relaxed);
  }
  // Per family: a session never moves between IPv4 and IPv6 waypoints.
  uint8_t best(size_t service, bool v6 = false) const {
    return best_[service * 2 + v6].load(std::memory_order_relaxed);
  }
  // Bumped whenever a rank changed: workers then sweep their sessions.
  uint32_t epoch() const { return epoch_.load(std::memory_order_acquire); }

  // Workers: a best-ranked path for a new session of `service` (ties shared
  // by `hash`) among the IPv4 or (v6) the IPv6 waypoints' paths, or -1 when
  // none is usable.
  int pick(size_t service, uint32_t hash, bool v6 = false) const;
  // Workers, per forward packet: must a session of `service` on `path` move?
  bool should_leave(size_t service, int path) const {
    if (path < 0) return false;
    uint8_t r = rank(service, static_cast<size_t>(path)), b = best(service, paths_[static_cast<size_t>(path)].v6);
    if (b == kRankUnusable || r == b) return false;
    if (r == kRankUnusable) return true;               // path down
    if (r >= kRankOutOfSla) return b < kRankOutOfSla;  // left its SLA; a path within it exists
    return revert_ && b < r;                           // a preferred path recovered
  }

 private:
  std::vector<PathModel> paths_;
  std::unique_ptr<PathLive[]> live_;
  std::unique_ptr<PathWorkerCounters[]> counters_;
  std::vector<int> by_peer_iface_, by_peer_iface6_;
  std::vector<uint8_t> peer_has6_;
  size_t n_ifaces_ = 0;
  uint32_t workers_ = 1;
  bool monitored_ = false, revert_ = false;
  uint32_t flow_period_ms_ = 0, flow_sessions_ = 0;
  // Per service: its peer, SLA and preference index per path.
  std::vector<int> service_peer_;
  std::vector<Sla> slas_;
  std::vector<uint8_t> preference_;  // services x paths: 0 = listed first; unlisted = 126
  std::unique_ptr<std::atomic<uint8_t>[]> ranks_;
  std::unique_ptr<std::atomic<uint8_t>[]> best_;
  std::atomic<uint32_t> epoch_{0};
};

}  // namespace wp
