// IPv6 waypoint addresses and their IPv4 stand-ins inside a worker (issue #19,
// the mix "v6 sessions between v6 waypoints"; docs/ipv6.md § IPv6 sessions
// between IPv6 waypoints; the dataplane steps are svr/waypoint6.h).
//
// A WAN interface's first configured IPv6 address (`ipv6_addresses[0]`) is
// its IPv6 waypoint address; a peer's IPv6 waypoints are the IPv6 entries of
// `peers[].waypoints`. Inside a worker an IPv6 session between IPv6 waypoints
// is one IPv4 SVR session (the IPv4 table, ports, keys, metadata, handshake)
// whose WAN side uses stand-in IPv4 addresses in 0.255.0.0/16, never seen on a
// wire: 0.255.255.i is our IPv6 waypoint on interface i; 0.255.254.j the
// HA peer node's j-th IPv6 waypoint (the IPv6 entries of ha.peer_waypoints,
// which this node takes over: docs/ipv6.md § HA of sessions between IPv6
// waypoints); below 0.255.254.0, the low 16 bits 4p + k name the k-th IPv6
// waypoint (k < 4) of peer p (p < 16 256: a headend's thousands of sites; the
// config validation refuses what does not fit). Stand-ins are this node's
// own numbering: HA sync carries the addresses they name, never the
// stand-ins (ha/packed_ops.h). The WAN leg translates the outer header
// between the stand-ins and the IPv6 waypoints (svr/waypoint6.cc); the
// metadata HMAC covers the L4 header, block and data, never the IP header,
// so it is the same on both.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "dataplane/control/router_model.h"

namespace wp {

inline constexpr Ipv4 kWaypoint6Net = 0x00FF0000;  // 0.255.0.0/16
inline constexpr Ipv4 kWaypoint6Own = 0xFF00;      // 0.255.255.i: ours
inline constexpr Ipv4 kWaypoint6HaPeer = 0xFE00;   // 0.255.254.j: the HA peer node's
inline constexpr size_t kWaypoint6MaxHaPeer = 256;
inline constexpr unsigned kWaypoint6PerPeerBits = 2;
inline constexpr size_t kWaypoint6MaxPerPeer = size_t{1} << kWaypoint6PerPeerBits;  // 4
inline constexpr size_t kWaypoint6MaxPeers = kWaypoint6HaPeer >> kWaypoint6PerPeerBits;  // 16 256

inline bool is_waypoint6_standin(Ipv4 a) { return (a & 0xFFFF0000u) == kWaypoint6Net; }
inline Ipv4 waypoint6_own_standin(int iface) { return kWaypoint6Net | kWaypoint6Own | static_cast<Ipv4>(iface & 0xFF); }
inline Ipv4 waypoint6_ha_standin(size_t j) { return kWaypoint6Net | kWaypoint6HaPeer | static_cast<Ipv4>(j & 0xFF); }
inline bool is_waypoint6_ha_standin(Ipv4 a) { return (a & 0xFFFFFF00u) == (kWaypoint6Net | kWaypoint6HaPeer); }
inline Ipv4 waypoint6_peer_standin(int peer, size_t k) {
  return kWaypoint6Net | (static_cast<Ipv4>(peer) << kWaypoint6PerPeerBits) | static_cast<Ipv4>(k);
}
// Which IPv6 waypoint of its peer a peer stand-in names.
inline size_t waypoint6_standin_index(Ipv4 a) { return a & (kWaypoint6MaxPerPeer - 1); }
// The peer a stand-in names, or kNone (ours, or no such peer waypoint).
inline int waypoint6_standin_peer(const RouterModel& rm, Ipv4 a) {
  if (!is_waypoint6_standin(a) || (a & 0xFFFF) >= kWaypoint6HaPeer) return kNone;
  const size_t p = (a & 0xFFFF) >> kWaypoint6PerPeerBits, k = waypoint6_standin_index(a);
  if (p >= rm.peers.size() || k >= rm.peers[p].waypoints6.size()) return kNone;
  return static_cast<int>(p);
}

// Our IPv6 waypoint on interface `iface`: its first configured IPv6 address
// (addrs6[0] is the link-local), WAN interfaces only; null without one.
inline const Ipv6* waypoint6_own(const RouterModel& rm, int iface) {
  if (iface < 0 || static_cast<size_t>(iface) >= rm.interfaces.size()) return nullptr;
  const InterfaceModel& in = rm.interfaces[static_cast<size_t>(iface)];
  return in.wan && in.addrs6.size() > 1 ? &in.addrs6[1] : nullptr;
}

// The IPv6 waypoint a peer stand-in names, or null.
inline const Ipv6* waypoint6_peer(const RouterModel& rm, Ipv4 standin) {
  const int p = waypoint6_standin_peer(rm, standin);
  return p == kNone ? nullptr : &rm.peers[static_cast<size_t>(p)].waypoints6[waypoint6_standin_index(standin)];
}

// The HA peer node's IPv6 waypoint a 0.255.254.j stand-in names, or null.
inline const HaWaypoint6* waypoint6_ha_peer(const RouterModel& rm, Ipv4 standin) {
  if (!is_waypoint6_ha_standin(standin) || (standin & 0xFF) >= rm.ha_waypoints6.size()) return nullptr;
  return &rm.ha_waypoints6[standin & 0xFF];
}

// The IPv6 waypoint any stand-in names, ours (0.255.255.i), the HA peer
// node's (0.255.254.j) or a peer's, or null (not a stand-in, or the config no
// longer has it): REST and IPFIX (mgmt/svr6_view.h), HA sync (ha/packed_ops.cc).
inline const Ipv6* waypoint6_of(const RouterModel& rm, Ipv4 standin) {
  if (!is_waypoint6_standin(standin)) return nullptr;
  if (((standin >> 8) & 0xFF) == 0xFF) return waypoint6_own(rm, static_cast<int>(standin & 0xFF));
  if (is_waypoint6_ha_standin(standin)) {
    const HaWaypoint6* h = waypoint6_ha_peer(rm, standin);
    return h ? &h->addr : nullptr;
  }
  return waypoint6_peer(rm, standin);
}

// The stand-in of peer waypoint `src`, or 0 when no peer has it.
inline Ipv4 waypoint6_standin_of(const RouterModel& rm, const Ipv6& src) {
  if (rm.own_indexed_) {  // the model's sorted index (router_model.h)
    const auto& pw6 = rm.peer_waypoints6_;
    auto it = std::lower_bound(pw6.begin(), pw6.end(), src, [](const auto& e, const Ipv6& a) { return e.first < a; });
    return it != pw6.end() && it->first == src ? it->second : 0;
  }
  for (size_t p = 0; p < rm.peers.size() && p < kWaypoint6MaxPeers; ++p)
    for (size_t k = 0; k < rm.peers[p].waypoints6.size() && k < kWaypoint6MaxPerPeer; ++k)
      if (rm.peers[p].waypoints6[k] == src) return waypoint6_peer_standin(static_cast<int>(p), k);
  return 0;
}

// This node's stand-in for IPv6 waypoint `a`, whoever's it is: ours on a WAN
// interface, the HA peer node's, or a peer's (0: none here). HA sync's
// receiver maps the addresses a record names with it (ha/packed_ops.cc).
inline Ipv4 waypoint6_standin_by_address(const RouterModel& rm, const Ipv6& a) {
  for (size_t i = 0; i < rm.interfaces.size(); ++i)
    if (const Ipv6* own = waypoint6_own(rm, static_cast<int>(i)); own && *own == a)
      return waypoint6_own_standin(static_cast<int>(i));
  for (size_t j = 0; j < rm.ha_waypoints6.size(); ++j)
    if (rm.ha_waypoints6[j].addr == a) return waypoint6_ha_standin(j);
  return waypoint6_standin_of(rm, a);
}

// The HA peer node's IPv6 waypoint `a` on interface `iface` as its stand-in (0: not one).
inline Ipv4 waypoint6_ha_standin_of(const RouterModel& rm, const Ipv6& a, int iface) {
  for (size_t j = 0; j < rm.ha_waypoints6.size(); ++j)
    if (rm.ha_waypoints6[j].addr == a && rm.ha_waypoints6[j].iface == iface) return waypoint6_ha_standin(j);
  return 0;
}

// What a session that a live commit closed because its IPv6 waypoint is gone
// holds in place of that stand-in in its `closed` event (svr/policy_recheck.h):
// ours on interface 255, which no model has (interface indexes are int8_t),
// so REST and IPFIX resolve it to nothing and HA sync refuses to name it.
inline constexpr Ipv4 kWaypoint6Gone = kWaypoint6Net | kWaypoint6Own | 0xFF;

// Stand-in `a` of model `from` in model `to`'s numbering, after a live config
// commit (svr/policy_recheck.h re-keys the sessions that hold stand-ins): the
// same IPv6 waypoint of the same owner: ours on the same interface, the HA
// peer node's on the same interface, the peer of the same name's (by address,
// whatever its place in `peers` or in the peer's `waypoints`). 0 when `to`
// has no such waypoint (or `a` named none in `from`). `a` must be a stand-in.
inline Ipv4 waypoint6_renumber(const RouterModel& from, const RouterModel& to, Ipv4 a) {
  if (((a >> 8) & 0xFF) == 0xFF) {  // ours: `router` needs a restart, so the same unless a test says otherwise
    const int iface = static_cast<int>(a & 0xFF);
    const Ipv6 *was = waypoint6_own(from, iface), *now = waypoint6_own(to, iface);
    return was && now && *was == *now ? a : 0;
  }
  if (is_waypoint6_ha_standin(a)) {
    const HaWaypoint6* was = waypoint6_ha_peer(from, a);
    return was ? waypoint6_ha_standin_of(to, was->addr, was->iface) : 0;
  }
  const int p = waypoint6_standin_peer(from, a);
  if (p == kNone) return 0;
  const PeerModel& pm = from.peers[static_cast<size_t>(p)];
  const Ipv6& addr = pm.waypoints6[waypoint6_standin_index(a)];
  const auto in_peer = [&](size_t q) -> Ipv4 {  // `addr` among the IPv6 waypoints of to.peers[q]
    const std::vector<Ipv6>& w6 = to.peers[q].waypoints6;
    for (size_t k = 0; k < w6.size() && k < kWaypoint6MaxPerPeer && q < kWaypoint6MaxPeers; ++k)
      if (w6[k] == addr) return waypoint6_peer_standin(static_cast<int>(q), k);
    return 0;
  };
  // The same place (a commit that left the peers alone), else the address's owner now, else a
  // scan by name (an address two peers list).
  if (static_cast<size_t>(p) < to.peers.size() && to.peers[static_cast<size_t>(p)].name == pm.name)
    return in_peer(static_cast<size_t>(p));
  if (const Ipv4 b = waypoint6_standin_of(to, addr);
      b != 0 && to.peers[static_cast<size_t>(waypoint6_standin_peer(to, b))].name == pm.name)
    return b;
  for (size_t q = 0; q < to.peers.size(); ++q)
    if (to.peers[q].name == pm.name) return in_peer(q);
  return 0;
}

// The source of a WAN packet from stand-in `src` on interface `iface`: our
// IPv6 waypoint there, or the HA peer node's that we carry sessions on (null:
// neither is on `iface`).
inline const Ipv6* waypoint6_source(const RouterModel& rm, Ipv4 src, int iface) {
  if (is_waypoint6_ha_standin(src)) {
    const HaWaypoint6* h = waypoint6_ha_peer(rm, src);
    return h && h->iface == iface ? &h->addr : nullptr;
  }
  return waypoint6_own(rm, iface);
}

// The route to peer IPv6 waypoint `w` (control/waypoint6_route.cc): the
// config's IPv6 routes and FRR's (`fib`, DataplaneShared::fib6; may be null),
// whichever wins as for a routed IPv6 session (route6_winner: the longest
// prefix, then the lower distance), so an IPv6 WAN learned by BGP needs no
// static route. An FRR route's equal-cost member is picked by a hash of `w`
// alone, so every session and packet to that waypoint, and the HA peer's
// copy, take the same one. nullopt: no route, FRR's blackhole, a tunnel, or
// an interface without an IPv6 waypoint of ours (the route must leave by a
// WAN interface that has one).
std::optional<Route6> waypoint6_route6(const RouterModel& rm, const FibTable6* fib, const Ipv6& w);

// The same for a peer stand-in: out of that WAN interface, the next hop being
// the stand-in itself (the WAN leg resolves the IPv6 next hop, route6_via of
// waypoint6_route6's, with Neighbor Discovery per packet, svr/waypoint6.cc).
std::optional<NextHop> waypoint6_route(const RouterModel& rm, const FibTable6* fib, Ipv4 standin);

// Whether IPv6 sessions to `peer` ride IPv6 waypoints: the peer has one
// routed (waypoint6_route) out of a WAN interface that has an IPv6 waypoint of ours.
bool waypoint6_usable(const RouterModel& rm, const FibTable6* fib, int peer);

}  // namespace wp
