// The IPv6 routes the workers forward by (docs/ipv6.md § IPv6 routing and
// sessions): the interfaces' connected IPv6 prefixes and the config's static
// IPv6 routes (also into IPsec tunnels), longest-prefix match.
//
// A Fib6 is immutable once built; the control side builds it into the
// RouterModel (model_build.cc) and it is published to the workers with the
// model (RCU-style, like the IPv4 routes; FRR's IPv6 routes over FPM are not
// taken yet). The lookup is a binary search per distinct prefix length,
// longest first: routes of one length are kept as a sorted array of their
// masked prefixes (Waldvogel et al. search per length, without the hash
// tables: a config has a handful of lengths and tens of routes). No
// allocation, no locks, O(lengths × log routes).
#pragma once

#include <cstdint>
#include <vector>

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

class Fib6 {
 public:
  Fib6() = default;
  // One route per prefix: a later duplicate of a prefix is ignored (the
  // validator refuses them; connected routes come first and win).
  explicit Fib6(std::vector<Route6> routes);

  // Longest-prefix match; null when no route covers `dst`.
  const Route6* lookup(const Ipv6& dst) const;
  const std::vector<Route6>& routes() const { return routes_; }
  bool empty() const { return routes_.empty(); }

 private:
  struct Entry {
    Ipv6 key;  // the masked prefix
    uint32_t route;
  };
  struct Length {
    uint8_t len;
    uint32_t begin, end;  // its entries in entries_, sorted by key
  };
  std::vector<Route6> routes_;
  std::vector<Entry> entries_;
  std::vector<Length> lengths_;  // longest first
};

}  // namespace wp
