// The waypoint leg of an SVR session as REST and IPFIX show it (issue #19;
// session/events6.h Svr6Leg): for Svr6Lan::post (IPv6 sessions that SVR
// carries) and the mgmt feed's view of IPv4 sessions between IPv6 waypoints
// (mgmt/svr6_view.h waypoint6_leg).
#pragma once

#include "dataplane/session/events6.h"
#include "dataplane/session/session.h"

namespace wp {

// The leg of `s` at the router `role` names (ingress or egress): its WAN side
// is B at the ingress (out_fwd), A at the egress (out_rev); `wan` is the
// forward direction (the ingress router's waypoint and port -> the egress
// router's) at both.
inline Svr6Leg svr_leg(const Session& s, Svr6Role role) {
  const bool ingress = role == Svr6Role::ingress;
  const SideOut& wan = ingress ? s.out_fwd : s.out_rev;
  return Svr6Leg{ingress ? wan.tuple : wan.tuple.reversed(), wan.peer, wan.iface, role};
}

// The legs of `s` at a transit router (both sides WAN): the forward direction
// as it arrives on side A and as it leaves on side B.
inline Svr6Leg transit_leg(const Session& s) {
  Svr6Leg leg{s.key_a(), s.out_rev.peer, s.out_rev.iface, Svr6Role::transit};
  leg.onward = s.out_fwd.tuple;
  leg.onward_peer = s.out_fwd.peer;
  leg.onward_iface = s.out_fwd.iface;
  return leg;
}

// The onward leg of a transit view as a leg of its own (mgmt/svr6_view.h resolves either).
inline Svr6Leg onward_leg(const Svr6Leg& leg) { return Svr6Leg{leg.onward, leg.onward_peer, leg.onward_iface, leg.role}; }

}  // namespace wp
