// The routes to peers' IPv6 waypoints; see waypoint6_addr.h.
#include "dataplane/control/route_choice.h"
#include "dataplane/control/waypoint6_addr.h"

namespace wp {
namespace {

// One ECMP member per peer waypoint: a multiplicative hash of its address.
uint32_t waypoint6_hash(const Ipv6& w) {
  return static_cast<uint32_t>(((w.hi ^ w.lo) * 0x9E3779B97F4A7C15ull) >> 32);
}

}  // namespace

std::optional<Route6> waypoint6_route6(const RouterModel& rm, const FibTable6* fib, const Ipv6& w) {
  std::optional<Route6> r = route6_to(rm, fib, w, waypoint6_hash(w));
  if (!r || !waypoint6_own(rm, r->iface)) return std::nullopt;  // a tunnel's iface is negative: none
  return r;
}

std::optional<NextHop> waypoint6_route(const RouterModel& rm, const FibTable6* fib, Ipv4 standin) {
  const Ipv6* w = waypoint6_peer(rm, standin);
  if (!w) return std::nullopt;
  const std::optional<Route6> r = waypoint6_route6(rm, fib, *w);
  if (!r) return std::nullopt;
  return NextHop{r->iface, standin};
}

bool waypoint6_usable(const RouterModel& rm, const FibTable6* fib, int peer) {
  if (peer < 0 || static_cast<size_t>(peer) >= rm.peers.size() || static_cast<size_t>(peer) >= kWaypoint6MaxPeers)
    return false;
  const PeerModel& pm = rm.peers[static_cast<size_t>(peer)];
  for (size_t k = 0; k < pm.waypoints6.size() && k < kWaypoint6MaxPerPeer; ++k)
    if (waypoint6_route(rm, fib, waypoint6_peer_standin(peer, k))) return true;
  return false;
}

}  // namespace wp
