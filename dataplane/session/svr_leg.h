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

}  // namespace wp
