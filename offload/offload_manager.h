// The offload manager: its own thread, turning "session established" events
// into rte_flow rules and reading the NIC back (docs/architecture.md § Offload).
//
//   worker --SessionEvent ring--> manager --FlowPort--> NIC (real or model)
//   worker <--OffloadFeedback ring-- manager <--COUNT/AGE-- NIC
//
// A session is offloaded when it is established, TCP or UDP, not closing,
// and its security policy needs no per-packet software work: no payload
// encryption (or adaptive encryption skipped it) and no HMAC on every packet.
// Then one rule per direction (flow_rule.h). Rules go away when the session
// closes, when the NIC reports them aged (the worker is told to end the
// session), or when the rule budget (offload.max_rules, two per session) is
// full and a new session needs room: the least active offloaded session (no
// packets for the longest time, at least one poll period) is evicted back to
// software. When nothing is idle, the new session stays in software.
//
// Counters: every poll period each rule's COUNT is read, and the growth since
// the last read is posted to the owning worker (offload_feedback.h), which adds
// it to the session. So the session itself carries worker + NIC totals and the
// closed event (IPFIX, HA) reports the whole session. The manager also keeps
// the last closed offloaded sessions with the NIC's share, for GET /api/v1/offload.
//
// Routed IPv6 sessions (docs/ipv6.md § IPv6 routing and sessions) take the
// same way through rings of their own (offload_manager6.cc): the workers post
// their established and closed events (DataplaneShared::offload_events6), the
// rules are build_flow_rule6's, the feedback goes back as OffloadFeedback6 and
// Route6Step adds it to the Session6. They share the rule budget, eviction,
// aging and counters with IPv4 sessions. A routed session whose next hop
// moved (worker/route6_follow.h posts its `update`) has its rules replaced as
// an IPv4 session's are (reroute: sessions6_rerouted as well as rerouted).
// IPv6 sessions between IPv6 waypoints (docs/ipv6.md § Offload of IPv6
// sessions between IPv6 waypoints) come on the same rings in their real form
// (session/offload_events6.h; the IPv4 events of the SVR session that carries
// them are not used): their rules (build_flow_rule_waypoint6) rewrite the
// client's tuple to the waypoint pair and back, their feedback is the IPv6
// one (the Session6 and its SVR session take it), and a route change toward
// the peer's waypoint reaches the manager as their `update`
// (worker/route6_follow.h), which replaces the rules as for a routed session.
// Sessions whose packets change family on one leg (IPv6 sessions between
// IPv4 waypoints, IPv4 sessions between IPv6 waypoints) stay in software
// (ineligible_translated).
#pragma once

#include <rte_ring.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "dataplane/worker/shared.h"
#include "dataplane/worker/offload_feedback.h"
#include "dataplane/ip/packet.h"
#include "dataplane/session/events6.h"
#include "dataplane/session/offload_events6.h"
#include "offload/flow_port.h"
#include "offload/flow_rule.h"

namespace wp::offload {

struct OffloadOptions {
  uint32_t max_rules = 65536;
  uint32_t poll_ms = 100;
};

#define WP_OFFLOAD_COUNTERS(X)                                                                                         \
  X(events)                                                                                                            \
  X(established) X(ineligible_policy) X(ineligible_state) X(neighbor_missing) X(neighbor_waited)                  \
      X(neighbor_wait_expired) X(sessions_offloaded) X(rules_installed) X(rules_refused) X(rules_removed)             \
          X(budget_full) X(evicted) X(closed) X(aged) X(feedback_posted) X(feedback_deferred) X(query_failed)  \
              X(rerouted) X(classifying) X(classified_offloaded) X(events6) X(sessions6_offloaded) \
                  X(sessions6_rerouted) X(ineligible_translated) X(waypoint6_offloaded) X(waypoint6_rerouted)

struct OffloadCounters {
#define WP_X(name) std::atomic<uint64_t> name{0};
  WP_OFFLOAD_COUNTERS(WP_X)
#undef WP_X
};

// A closed session that was offloaded: totals from its closed event plus the
// NIC counts not yet delivered to the worker, and the NIC's share.
struct OffloadedRecord {
  SessionUuid uuid;
  bool ipv6 = false;     // a routed IPv6 session: original6, not original
  FiveTuple original;
  FiveTuple6 original6;
  SessionEndReason reason;
  uint64_t packets[2], bytes[2];          // whole session (worker + NIC)
  uint64_t nic_packets[2], nic_bytes[2];  // forwarded by the NIC
};

class OffloadManager {
 public:
  // Sessions that wait for a next hop's MAC at once, and for how long (see Waiting).
  static constexpr size_t kMaxWaiting = 1024;
  static constexpr uint32_t kNeighborWaitMs = 5000;
  OffloadManager(DataplaneShared& shared, FlowPort& port, OffloadOptions options);
  ~OffloadManager();
  OffloadManager(const OffloadManager&) = delete;
  OffloadManager& operator=(const OffloadManager&) = delete;

  // Enables the offload event consumer (after DataplaneShared::create_rings,
  // before workers start) and creates one feedback ring per worker.
  bool init(uint32_t ring_size, int socket, std::string& error);
  rte_ring* feedback_ring(uint32_t worker) const { return feedback_[worker]; }
  // Feedback of offloaded routed IPv6 sessions; null when the router routes no IPv6.
  rte_ring* feedback6_ring(uint32_t worker) const { return feedback6_.empty() ? nullptr : feedback6_[worker]; }
  // Installs the cookie punt rules on every WAN port; false with `error` when
  // the port refuses them (then nothing may be offloaded on it).
  bool install_port_rules(std::string& error);
  // The WAN ports that offload sessions between IPv6 waypoints (their IPv6 cookie punt rules are in).
  const std::vector<uint16_t>& punt6_ports() const { return punt6_ports_; }

  // One pass: drain events; counters, age and eviction candidates when a poll
  // period passed. Returns the events handled.
  uint32_t poll(uint32_t now_ms);
  void run(const std::atomic<bool>& running);  // the thread body
  void shutdown();                             // destroys every rule

  const OffloadCounters& counters() const { return counters_; }
  uint32_t sessions() const { return static_cast<uint32_t>(by_uuid_.size()); }
  uint32_t rules() const { return rules_; }
  // NIC counts of an offloaded session (tests, benchmarks); nullopt if not offloaded.
  struct NicCounts {
    uint64_t packets[2], bytes[2];
  };
  std::optional<NicCounts> nic_counts(const SessionUuid& uuid) const;
  std::vector<OffloadedRecord> recent_closed() const;
  std::string status_json() const;  // GET /api/v1/offload
  // Prometheus text: rules and sessions offloaded now, the rule budget, and
  // every counter as waypoint_offload_manager_<name>_total.
  std::string metrics(const std::string& labels) const;

 private:
  // An IPv6 session between IPv6 waypoints as the manager handles it (on_closed, reroute, the wait).
  struct Waypoint6Event {
    Waypoint6Session session;
    uint16_t worker;
    SessionEndReason reason;
  };
  struct Entry {
    bool in_use = false;
    bool ipv6 = false;  // an IPv6 session: original6 (also its feedback key)
    bool waypoint6 = false;  // between IPv6 waypoints (wan6 is its WAN leg)
    uint32_t gen = 0;
    SessionUuid uuid;
    FiveTuple original, key;
    FiveTuple6 original6;
    uint16_t worker = 0;
    rte_flow* rule[2] = {nullptr, nullptr};  // by Dir
    uint16_t port[2] = {0, 0};
    uint64_t nic_packets[2] = {0, 0}, nic_bytes[2] = {0, 0};  // last COUNT read (frame bytes)
    uint64_t posted_packets[2] = {0, 0}, posted_bytes[2] = {0, 0};
    uint32_t active_ms = 0;  // last poll that saw packets (or install)
    uint32_t age_ms = 0;     // the rules' AGE timeout
    SideOut legs[2];         // the session's out_fwd, out_rev the rules were built from
    Ipv6 next_hop6[2];       // IPv6: the Session6's next hops and interfaces the rules were built from
    int8_t iface6[2] = {-1, -1};
    FiveTuple6 wan6;         // between IPv6 waypoints: the WAN leg the rules were built from
  };
  // Sessions whose rules went away before the session did (aged, evicted):
  // their NIC share, for the record when the closed event comes. Bounded.
  struct Retired {
    bool ipv6;
    FiveTuple original;
    FiveTuple6 original6;
    uint64_t nic_packets[2], nic_bytes[2];
  };
  struct UuidHash {
    size_t operator()(const SessionUuid& u) const;
  };
  void on_event(const SessionEvent& ev, uint32_t now_ms);
  void install_punt6_rules(uint16_t port);
  void on_event6(const Offload6Event& ev, uint32_t now_ms);  // offload_manager6.cc
  void on_waypoint6(const Offload6Event& ev, uint32_t now_ms);
  uint32_t poll_events6(uint32_t now_ms);
  bool eligible6(const Session6& s);
  bool eligible(const Offload6Event& ev);  // between IPv6 waypoints
  // Whether security policy `security` leaves no per-packet work for software (crypto: SessionCrypto bits).
  bool policy_allows(int security, uint8_t crypto);
  // The closed event of a session, either family: its record, its rules removed.
  template <typename Event>
  void on_closed(const Event& ev, uint32_t now_ms);
  // An update of either family: the rules go, and come back for the session's new next hops.
  template <typename Event>
  void reroute(const Event& ev, uint32_t now_ms);
  static bool same_legs(const Entry& e, const Session& s);
  static bool same_legs(const Entry& e, const Session6& s);
  static bool same_legs(const Entry& e, const Waypoint6Session& s);
  bool eligible(const Session& s);
  // Installs the session's two rules. neighbor_missing: a next hop's MAC is
  // not resolved yet (the session then waits: retry_waiting).
  enum class Offloaded { installed, stays_in_software, neighbor_missing };
  // S: Session (IPv4) or Session6 (routed IPv6); instantiated for both in offload_manager.cc.
  template <typename S>
  Offloaded offload(const S& s, uint16_t worker, uint32_t now_ms);
  RuleBuildStatus build(const Session& s, Dir d, const RouterModel& m, void* context, FlowRule& r) const;
  RuleBuildStatus build(const Session6& s, Dir d, const RouterModel& m, void* context, FlowRule& r) const;
  RuleBuildStatus build(const Waypoint6Session& s, Dir d, const RouterModel& m, void* context, FlowRule& r) const;
  static void describe(Entry& e, const Session& s, const Timeouts& t);
  static void describe(Entry& e, const Session6& s, const Timeouts& t);
  static void describe(Entry& e, const Waypoint6Session& s, const Timeouts& t);
  void wait_for_neighbor(const SessionEvent& ev, uint32_t now_ms);
  void wait_for_neighbor(const Session6Event& ev, uint32_t now_ms);  // offload_manager6.cc
  void wait_for_neighbor(const Waypoint6Event& ev, uint32_t now_ms);
  template <typename W>
  void retry_waiting(std::vector<W>& waiting, uint32_t now_ms);
  template <typename S>
  bool next_hop_unresolved(const S& s, const RouterModel& m) const;
  bool make_room(uint32_t now_ms);
  void read_counters(Entry& e, uint32_t now_ms);
  bool post_feedback(Entry& e, ::wp::OffloadFeedbackKind kind);
  void remove(uint32_t idx, bool final_feedback, uint32_t now_ms, bool aged = false);
  void poll_counters(uint32_t now_ms);
  void poll_aged(uint32_t now_ms);
  template <typename Event>
  void record_closed(const Entry& e, const Event& ev);
  template <typename Event>
  void record_closed(const Retired& r, const Event& ev);
  void keep_closed(const OffloadedRecord& r);
  static void* context_of(uint32_t idx, uint32_t gen) {
    return reinterpret_cast<void*>((uint64_t{gen} << 32 | idx) + 1);
  }

  DataplaneShared& shared_;
  FlowPort& port_;
  OffloadOptions opt_;
  std::vector<rte_ring*> feedback_;
  std::vector<rte_ring*> feedback6_;  // per worker; empty when the router routes no IPv6
  std::vector<Entry> entries_;
  std::vector<uint32_t> free_;
  std::unordered_map<SessionUuid, uint32_t, UuidHash> by_uuid_;
  std::vector<uint32_t> idle_candidates_;  // least active first, rebuilt every poll
  std::vector<std::pair<uint16_t, rte_flow*>> port_rules_;
  std::vector<uint16_t> rule_ports_;  // ports that hold our rules (aged queries)
  std::unordered_map<SessionUuid, Retired, UuidHash> retired_;
  std::deque<SessionUuid> retired_order_;
  static constexpr size_t kRetiredKept = 4096;
  void retire(const Entry& e);
  // Sessions established before a next hop's MAC was known (the first reply
  // to a LAN host is what makes us resolve it): retried on every poll
  // until the neighbor is there, the session closes, or kNeighborWaitMs.
  struct Waiting {
    Session session;
    uint16_t worker;
    uint32_t since_ms;
  };
  std::vector<Waiting> waiting_;
  struct Waiting6 {
    Session6 session;
    uint16_t worker;
    uint32_t since_ms;
  };
  std::vector<Waiting6> waiting6_;
  struct WaitingWaypoint6 {
    Waypoint6Session session;
    uint16_t worker;
    uint32_t since_ms;
  };
  std::vector<WaitingWaypoint6> waiting_waypoint6_;
  // WAN ports whose IPv6 cookie punt rules are in: sessions between IPv6 waypoints are
  // offloaded only there (a metadata packet must never match a session rule).
  std::vector<uint16_t> punt6_ports_;
  // Sessions established while their ingress worker still classified them (Session::app_slot
  // a slot): not offloaded then, or their later packets would never reach the classifier;
  // offloaded on the `update` the worker posts with the verdict. Bounded by max_rules.
  std::unordered_set<SessionUuid, UuidHash> classifying_;
  void classified(const SessionEvent& ev, uint32_t now_ms);
  uint32_t rules_ = 0;
  uint32_t last_poll_ms_ = 0;
  uint32_t last_retry_ms_ = 0;
  OffloadCounters counters_;
  mutable std::mutex closed_mu_;
  std::deque<OffloadedRecord> closed_;
  static constexpr size_t kClosedKept = 256;
};

}  // namespace wp::offload
