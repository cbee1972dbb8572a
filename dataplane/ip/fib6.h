// The IPv6 routes the workers forward by (docs/ipv6.md § IPv6 routing and
// sessions): the interfaces' connected IPv6 prefixes and the config's static
// IPv6 routes (also into IPsec tunnels), longest-prefix match; and FRR's IPv6
// routes over FPM (FibTable6, dataplane/control/fpm/route_table.h), with up
// to kFibMaxPaths equal-cost next hops each.
//
// Both are immutable once built on the control side: Fib6 into the
// RouterModel (model_build.cc), published to the workers with the model;
// FibTable6 by the FPM listener (DataplaneShared::fib6), RCU-style like the
// IPv4 FibTable. control/route_choice.h picks between them. The lookup is a
// binary search per distinct prefix length, longest first: routes of one
// length are kept as a sorted array of their masked prefixes (Waldvogel et
// al. search per length, without the hash tables). No allocation, no locks,
// O(lengths × log routes).
#pragma once

#include <cstdint>
#include <vector>

#include "dataplane/ip/fib.h"  // kFibMaxPaths
#include "dataplane/ip/ipv6.h"

namespace wp {

// A route (or an IPv6 session side, session/table6.h) into an IPsec tunnel
// (docs/ipsec.md § ESP in the worker loop): iface kRoute6Tunnel (RouterModel's
// kIfaceTunnel) and, as next hop, tunnel_hop6(the tunnel's index): never an
// address and never unspecified, so never "connected".
inline constexpr int kRoute6Tunnel = -2;
inline Ipv6 tunnel_hop6(uint32_t tunnel) { return Ipv6{0, uint64_t{tunnel} + 1}; }
inline uint32_t tunnel_of_hop6(const Ipv6& hop) { return static_cast<uint32_t>(hop.lo - 1); }

struct Route6 {
  Ipv6Prefix prefix;
  Ipv6 next_hop;  // unspecified: the destination is on the interface's link; tunnel_hop6 into a tunnel
  int iface = -1;  // RouterModel::interfaces index, or kRoute6Tunnel
  bool connected() const { return next_hop.is_unspecified(); }
  bool tunnel() const { return iface == kRoute6Tunnel; }
  bool operator==(const Route6&) const = default;
};

// The on-link neighbor a packet to `dst` goes to by route `r`: dst itself on a
// connected prefix (what a session side holds as its next hop).
inline const Ipv6& route6_via(const Route6& r, const Ipv6& dst) { return r.connected() ? dst : r.next_hop; }

// One of an FRR route's equal-cost next hops, in Route6's terms.
struct FibNextHop6 {
  Ipv6 next_hop;  // unspecified: on-link; a link-local gateway is kept as it came (fe80::/10 on `iface`)
  int iface = -1;
  bool operator==(const FibNextHop6&) const = default;
};

// A route from FRR (zebra over FPM), as FibRoute is for IPv4.
struct FibRoute6 {
  Ipv6Prefix prefix;
  uint8_t protocol = 0;  // rtm_protocol as zebra sent it
  uint8_t distance = 0;  // administrative distance: lower wins over a config route of the same prefix
  uint8_t paths = 0;     // members used in `hops`; 0 = blackhole
  FibNextHop6 hops[kFibMaxPaths];
  // The member a session with `hash` takes; stable while the set is unchanged.
  const FibNextHop6& pick(uint32_t hash) const { return hops[paths > 1 ? hash % paths : 0]; }
};

// Longest-prefix match over routes with a `prefix` (Route6, FibRoute6).
template <class R>
class PrefixTable6 {
 public:
  PrefixTable6() = default;
  // One route per prefix: a later duplicate of a prefix is ignored (the
  // validator refuses them; connected routes come first and win).
  explicit PrefixTable6(std::vector<R> routes);

  // Longest-prefix match; null when no route covers `dst`.
  const R* lookup(const Ipv6& dst) const;
  const std::vector<R>& routes() const { return routes_; }
  bool empty() const { return routes_.empty(); }
  size_t size() const { return routes_.size(); }

 private:
  struct Entry {
    Ipv6 key;  // the masked prefix
    uint32_t route;
  };
  struct Length {
    uint8_t len;
    uint32_t begin, end;  // its entries in entries_, sorted by key
  };
  std::vector<R> routes_;
  std::vector<Entry> entries_;
  std::vector<Length> lengths_;  // longest first
};

extern template class PrefixTable6<Route6>;
extern template class PrefixTable6<FibRoute6>;
using Fib6 = PrefixTable6<Route6>;           // the config's (RouterModel::fib6)
using FibTable6 = PrefixTable6<FibRoute6>;  // FRR's (DataplaneShared::fib6)

}  // namespace wp
