// The waypoint leg of an IPv6 session that SVR carries, and of an IPv4 session
// between IPv6 waypoints, as REST and IPFIX show it (issue #19; docs/ipv6.md
// § IPv6 sessions between IPv4 waypoints, § IPv6 sessions between IPv6
// waypoints and § IPv4 sessions between IPv6 waypoints).
//
// The worker posts the leg in its own form (session/events6.h Svr6Leg): IPv4
// waypoints as they are, IPv6 ones as their 0.255.0.0/16 stand-ins
// (control/waypoint6_addr.h). The mgmt feed turns the stand-ins back into the
// IPv6 waypoint addresses the wire carries, with the config model of the
// moment it applies the event. A stand-in that model no longer names (a commit
// removed that waypoint while the session lived) resolves to nothing (`known`
// false: REST shows empty addresses, IPFIX the unspecified address ::): a
// stand-in never leaves the router, in a reply or on the wire. A commit that
// renumbers stand-ins (peers or a peer's waypoints reordered) re-keys the
// sessions and posts their `closed` events in the new numbering
// (svr/policy_recheck.h), so the model of the moment resolves them right.
//
// An IPv4 session between IPv6 waypoints is a plain IPv4 SVR session whose WAN
// side holds stand-ins: its events stay IPv4 events (session/events.h), and
// waypoint6_leg() finds its leg in the session itself for the same resolution.
#pragma once

#include <cstdint>

#include "dataplane/control/waypoint6_addr.h"
#include "dataplane/ip/ipv6.h"
#include "dataplane/session/events6.h"
#include "dataplane/session/svr_leg.h"

namespace wp::mgmt {

struct Svr6Waypoints {
  bool ipv4 = true;    // IPv4 waypoints (src4/dst4), else IPv6 ones (src6/dst6)
  bool known = false;  // false: a stand-in the model no longer names
  Ipv4 src4 = 0, dst4 = 0;
  Ipv6 src6, dst6;
  uint16_t sport = 0, dport = 0;  // the waypoint ports (forward direction)

  bool touches(Ipv4 a) const { return ipv4 && known && (src4 == a || dst4 == a); }
  bool touches(const Ipv6& a) const { return !ipv4 && known && (src6 == a || dst6 == a); }
};

// The forward direction's waypoint leg: the ingress router's waypoint -> the egress router's.
inline Svr6Waypoints svr6_waypoints(const RouterModel& rm, const Svr6Leg& leg) {
  Svr6Waypoints w;
  w.sport = leg.wan.sport;
  w.dport = leg.wan.dport;
  if (!is_waypoint6_standin(leg.wan.src) && !is_waypoint6_standin(leg.wan.dst)) {
    w.known = true;
    w.src4 = leg.wan.src;
    w.dst4 = leg.wan.dst;
    return w;
  }
  w.ipv4 = false;
  const Ipv6* src = waypoint6_of(rm, leg.wan.src);
  const Ipv6* dst = waypoint6_of(rm, leg.wan.dst);
  if (src && dst) {
    w.known = true;
    w.src6 = *src;
    w.dst6 = *dst;
  }
  return w;
}

// The waypoint leg of an IPv4 SVR session between IPv6 waypoints (its WAN side
// holds 0.255.0.0/16 stand-ins), or role none for any other session: routed,
// on IPv4 waypoints, or carrying an IPv6 session (shown by its IPv6 view,
// session/events6.h). At a transit router (both sides WAN) both legs, role
// transit (svr_leg.h transit_leg), when either is on IPv6 waypoints.
inline Svr6Leg waypoint6_leg(const Session& s) {
  if (s.out_fwd.iface == kIfaceSvr6 || s.out_rev.iface == kIfaceSvr6) return {};
  const auto standins = [](const FiveTuple& t) { return is_waypoint6_standin(t.src) || is_waypoint6_standin(t.dst); };
  if (s.side_a_wan() && s.side_b_wan()) {
    const Svr6Leg leg = transit_leg(s);
    return standins(leg.wan) || standins(leg.onward) ? leg : Svr6Leg{};
  }
  if (!s.side_a_wan() && !s.side_b_wan()) return {};
  const Svr6Leg leg = svr_leg(s, s.side_b_wan() ? Svr6Role::ingress : Svr6Role::egress);
  return standins(leg.wan) ? leg : Svr6Leg{};
}

}  // namespace wp::mgmt
