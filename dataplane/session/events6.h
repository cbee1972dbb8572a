// IPv6 session lifecycle events: workers -> the mgmt event thread (REST
// session snapshot, IPFIX; issue #19 "IPv6 everywhere").
//
// The IPv6 twin of session/events.h: IPv6 sessions live in their own table
// (session/table6.h) with their own layout, so their events carry a copy of
// a Session6 (144 B) in rings of their own, one SPSC ring per worker, made
// only when the router routes IPv6 and the `ipfix` consumer (the mgmt feed)
// is on. The IPv4 SessionEvent and its rings are unchanged, so IPv4's cost
// per event is too. Same rules as IPv4's: posting never blocks, a full ring
// drops the event and counts it (`ipfix_events_dropped`, shared with IPv4),
// and the consumer's event kinds (DataplaneShared::event_kinds) apply.
// The HA thread (ha_dataplane.h, worker/ha_follower6.h; in HaSession6Event, which
// also carries an SVR session's carrier: Svr6Lan::post_ha)
// and the offload manager (routed sessions' established and closed, rings of
// their own: DataplaneShared::offload_events6) take them too.
//
// An IPv6 session that SVR carries (Session6::svr_ref; svr/svr6_lan.h) is
// posted by its IPv4 SVR session's lifecycle (WorkerContext::post_event ->
// Svr6Lan::post), to the mgmt feed (and, whole with that session, to HA), with
// `svr` naming its waypoint leg:
// REST and IPFIX show it by its IPv6 tuple and real waypoint addresses, never
// by the internal 0.0.0.0/8 or stand-in 0.255.0.0/16 IPv4 forms.
#pragma once

#include <cstdint>

#include "dataplane/session/events.h"
#include "dataplane/session/table6.h"

namespace wp {

enum class Svr6Role : uint8_t {
  none = 0,     // routed here (no SVR)
  ingress = 1,  // the client's router: LAN (IPv6) -> waypoint
  egress = 2,   // the server's router: waypoint -> LAN (IPv6)
  transit = 3,  // a router between two peers: waypoint -> waypoint (both sides WAN)
};

// The waypoint leg of an IPv6 session that SVR carries, in the worker's form:
// `wan` is the forward direction on the WAN (the ingress router's waypoint
// and port -> the egress router's), IPv4 waypoints as they are, IPv6 ones as
// their 0.255.0.0/16 stand-ins (control/waypoint6_addr.h), which the mgmt
// feed turns back into addresses (mgmt/svr6_view.h).
// At a transit router `wan` is the leg the session arrives on (the previous
// router's waypoint -> ours) and `onward` the one it leaves on (ours -> the
// next router's), each with its peer and interface.
struct Svr6Leg {
  FiveTuple wan{};
  int16_t peer = -1;  // peers[] index
  int8_t iface = -1;  // the WAN interface
  Svr6Role role = Svr6Role::none;
  FiveTuple onward{};       // transit only
  int16_t onward_peer = -1;
  int8_t onward_iface = -1;
};

struct Session6Event {
  SessionEventKind kind;
  SessionEndReason reason;
  uint16_t worker;
  uint32_t now_ms;   // worker clock when posted
  Session6 session;  // a copy: counters and flags as of now_ms
  Svr6Leg svr;       // role none: a routed IPv6 session
};
static_assert(sizeof(Session6Event) % 4 == 0, "rte_ring element size must be a multiple of 4");

// What the offload manager takes of routed IPv6 sessions: rules when one is
// established, removed when it ends. It also takes the `update` of a session
// whose next hop moved (Route6Step::post_moved), whose rules it replaces; not
// the periodic ones, which change nothing a rule holds.
inline constexpr uint8_t kOffload6EventKinds =
    event_bit(SessionEventKind::established) | event_bit(SessionEventKind::closed);

}  // namespace wp
