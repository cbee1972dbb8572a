// The route a session takes: the config's routes (RouterModel: connected and
// static) and FRR's (FibTable, from zebra over FPM) together. One rule for the
// workers (WorkerContext::route) and for sessions synced from the HA peer
// (ha/session_codec.h), so both nodes put a session on the same next hop.
// IPv6 by the same rule: the config's Fib6 (RouterModel::fib6) and FRR's
// FibTable6 (DataplaneShared::fib6), route6_winner / route6_next_hop.
#pragma once

#include <optional>

#include "dataplane/control/router_model.h"
#include "dataplane/ip/fib.h"

namespace wp {

static_assert(kFibIfaceTunnel == kIfaceTunnel, "FRR's and the config's routes mark a tunnel next hop alike");

struct RouteWinner {
  const RouteModel* own = nullptr;  // the config's route won
  const FibRoute* frr = nullptr;    // FRR's route won
};

// Longest prefix first, then the lower administrative distance (ties: the
// config's). `fib` may be null (no routes from FRR).
inline RouteWinner route_winner(const RouterModel& m, const FibTable* fib, Ipv4 dst) {
  const RouteModel* own = m.route_entry(dst);
  const FibRoute* frr = fib ? fib->lookup(dst) : nullptr;
  if (frr && (!own || frr->prefix.len > own->prefix.len ||
              (frr->prefix.len == own->prefix.len && frr->distance < own->distance())))
    return {nullptr, frr};
  return {own, nullptr};
}

// The next hop toward `dst` for a session whose symmetric hash is `hash`:
// among FRR's equal-cost next hops the hash picks one, so a session keeps its
// member while the set is unchanged. nullopt: no route, or a blackhole.
inline std::optional<NextHop> route_next_hop(const RouteWinner& w, Ipv4 dst, uint32_t hash) {
  if (w.frr) {
    if (w.frr->paths == 0) return std::nullopt;
    const FibNextHop& h = w.frr->pick(hash);
    if (h.tunnel()) return NextHop{kIfaceTunnel, h.gateway};  // the tunnel's index, 0 included
    return NextHop{h.iface, h.gateway ? h.gateway : dst};
  }
  if (!w.own) return std::nullopt;
  return NextHop{w.own->iface, w.own->next_hop || w.own->tunnel() ? w.own->next_hop : dst};
}

// IPv6: a config route's distance is 0 when connected, else 1 (static), as
// RouteModel::distance() says for IPv4.
inline uint8_t route6_distance(const Route6& r) { return r.connected() ? 0 : 1; }

struct Route6Winner {
  const Route6* own = nullptr;    // the config's route won
  const FibRoute6* frr = nullptr;  // FRR's route won
};

// Longest prefix first, then the lower administrative distance (ties: the
// config's), as route_winner. `fib` may be null.
inline Route6Winner route6_winner(const RouterModel& m, const FibTable6* fib, const Ipv6& dst) {
  const Route6* own = m.fib6.lookup(dst);
  const FibRoute6* frr = fib ? fib->lookup(dst) : nullptr;
  if (frr && (!own || frr->prefix.len > own->prefix.len ||
              (frr->prefix.len == own->prefix.len && frr->distance < route6_distance(*own))))
    return {nullptr, frr};
  return {own, nullptr};
}

// The route toward `dst` as a Route6 (FRR's: the member `hash` picks, its
// prefix the route's). nullopt: no route, or a blackhole.
inline std::optional<Route6> route6_next_hop(const Route6Winner& w, uint32_t hash) {
  if (w.frr) {
    if (w.frr->paths == 0) return std::nullopt;
    const FibNextHop6& h = w.frr->pick(hash);
    return Route6{w.frr->prefix, h.next_hop, h.iface};
  }
  if (!w.own) return std::nullopt;
  return *w.own;
}

// Whether the route toward `dst` offers next hop `hop` (as route6_via gives
// it) on `iface`: the config's route, or any of FRR's equal-cost members.
inline bool route6_offers(const Route6Winner& w, const Ipv6& dst, const Ipv6& hop, int iface) {
  if (w.own) return w.own->iface == iface && route6_via(*w.own, dst) == hop;
  if (!w.frr) return false;
  for (int i = 0; i < w.frr->paths; ++i) {
    const FibNextHop6& h = w.frr->hops[i];
    if (h.iface == iface && (h.next_hop.is_unspecified() ? dst : h.next_hop) == hop) return true;
  }
  return false;
}

inline std::optional<Route6> route6_to(const RouterModel& m, const FibTable6* fib, const Ipv6& dst, uint32_t hash) {
  return route6_next_hop(route6_winner(m, fib, dst), hash);
}

}  // namespace wp
