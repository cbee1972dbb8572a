// The IPv6 sessions of the REST session snapshot (GET /api/v1/sessions,
// /sessions/{uuid}; issue #19), built by the mgmt event thread from the
// workers' IPv6 session events (session/events6.h), as SessionSnapshot is
// from IPv4's (mgmt/session_feed.h says why events and not the tables).
//
// Kept apart from the IPv4 snapshot so that an IPv4 SessionEntry stays 120 B
// (an IPv6 tuple in every entry would double the 12-byte tuples it packs):
// IPv6 sessions cost only when there are some, one Entry6 (120 B) in an
// ordered map by UUID (with its key and node, about 176 B of heap), so paging by UUID cursor
// works as for IPv4 and the REST handler merges both lists in UUID order.
// A routed IPv6 session is never translated: one tuple says it all. An IPv6
// session that SVR carries (docs/ipv6.md § IPv6 sessions between IPv4 / IPv6
// waypoints) also has its role, peer and waypoint leg (svr6_view.h, the real
// waypoint addresses resolved when its first event is applied), kept in a map
// of their own so that routed sessions pay nothing for them.
// Capacity: mgmt.max_sessions, like the IPv4 snapshot (more: overflow()).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "dataplane/control/router_model.h"
#include "dataplane/session/events6.h"
#include "mgmt/session_snapshot.h"
#include "mgmt/svr6_view.h"

namespace wp::mgmt {

// An IPv6 session as REST shows it.
struct Session6View {
  SessionUuid uuid{};
  FiveTuple6 original;    // client -> server as the client sent it (and as it left: no NAT)
  Ipv6 next_hop;          // forward direction's next hop
  int ingress = -1;       // interface index the client's packets arrived on (the reverse direction's exit;
                          // kSide6Tunnel + index: an IPsec tunnel, session/table6.h side6())
  int egress = -1;        // interface index the forward direction leaves by (the same numbering)
  uint64_t packets[2] = {0, 0}, bytes[2] = {0, 0};  // by Dir
  uint16_t worker = 0;
  bool established = false;  // a reply was seen
  uint64_t created_epoch_ms = 0, last_epoch_ms = 0;
  std::string tenant, service;
  // SVR carries it (role not none): the peer on the waypoint leg and the leg.
  Svr6Role role = Svr6Role::none;
  std::string peer;
  Svr6Waypoints waypoints;
  Svr6Waypoints onward;  // transit: the leg it leaves on (`waypoints` the one it arrives on, `peer` the next router)
};

class SessionSnapshot6 {
 public:
  explicit SessionSnapshot6(size_t capacity, size_t name_limit = 65535) : capacity_(capacity), names_(name_limit) {}
  // Applies one event (feed thread).
  void apply(const Session6Event& ev, const RouterModel& model, const DataplaneClock& clock);
  // Sessions matching `q` (tenant, service; addr6: the IPv6 tuple or IPv6
  // waypoints; addr: IPv4 waypoints) in UUID order after the cursor; `more`:
  // cut at `limit`.
  std::vector<Session6View> page(const SessionQuery& q, bool& more) const;
  std::optional<Session6View> find(const SessionUuid& id) const;
  size_t size() const;
  uint64_t overflow() const { return overflow_.load(std::memory_order_relaxed); }

 private:
  struct Entry6 {
    FiveTuple6 original;
    Ipv6 next_hop;
    uint64_t packets[2] = {0, 0}, bytes[2] = {0, 0};
    uint64_t created_epoch_ms = 0, last_epoch_ms = 0;
    uint16_t tenant = 0, service = 0, worker = 0;  // names as SnapshotNames ids
    int16_t ingress = -1, egress = -1;  // side6(): ports, or kSide6Tunnel + a tunnel's index
    uint8_t established = 0;
  };
  struct Svr6Entry {  // an IPv6 session that SVR carries
    Svr6Role role = Svr6Role::none;
    uint16_t peer = 0;  // SnapshotNames id
    Svr6Waypoints waypoints;
    Svr6Waypoints onward;  // transit only
  };
  uint16_t name_id(std::string_view name);
  Session6View view(const SessionUuid& id, const Entry6& e) const;

  mutable std::mutex mu_;
  size_t capacity_;
  SnapshotNames names_;
  std::map<SessionUuid, Entry6> entries_;
  std::map<SessionUuid, Svr6Entry> svr_;  // the entries_ that SVR carries
  std::atomic<uint64_t> overflow_{0};
};

}  // namespace wp::mgmt
