// What the offload manager's IPv6 event rings carry (DataplaneShared::
// offload_events6; docs/ipv6.md § Offload of routed IPv6 sessions and
// § Offload of IPv6 sessions between IPv6 waypoints).
//
// A routed IPv6 session is its Session6Event as the mgmt feed gets it
// (worker/route6_step.h). An IPv6 session between IPv6 waypoints (v6 in v6,
// svr/waypoint6.h) lives in the IPv4 table under stand-in addresses that a
// rule must never put on a wire, so its owner (Svr6Lan::post) posts it in
// its real form: the Session6 view (the client's IPv6 tuple; `iface` and
// `next_hop` of both directions, the WAN direction's being the WAN leg's:
// the WAN interface and the IPv6 next hop toward the peer's waypoint), the
// WAN leg's tuple as it leaves here (our IPv6 waypoint and port -> the
// peer's, the real addresses) and what of its security policy decides
// whether software must touch every packet (the carrier's `security` and
// `crypto`). Its own ring element, so the mgmt feed's and HA's stay as
// they are.
#pragma once

#include <cstdint>

#include "dataplane/session/events6.h"

namespace wp {

struct Offload6Event {
  Session6Event ev;  // svr.role none: routed; ingress or egress: between IPv6 waypoints
  FiveTuple6 wan{};  // between IPv6 waypoints: the WAN leg leaving here (ours -> the peer's)
  int16_t security = -1;  // the carrier's Session::security (model index)
  uint8_t crypto = 0;     // the carrier's Session::crypto (SessionCrypto bits)
  uint8_t pad[5] = {};
};
static_assert(sizeof(Offload6Event) % 4 == 0, "rte_ring element size must be a multiple of 4");

// Whether `ev` is of an IPv6 session between IPv6 waypoints (the WAN leg's tuple is real).
inline bool between_waypoints6(const Offload6Event& ev) { return ev.ev.svr.role != Svr6Role::none; }

}  // namespace wp
