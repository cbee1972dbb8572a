// The forwarding table the workers read for routes learned from a routing
// daemon (FRR over FPM: dataplane/control/fpm/): prefix -> a set of up to
// kFibMaxPaths equal-cost next hops, with the protocol and administrative
// distance of the route that won.
//
// A FibTable is an immutable snapshot, built on the control side and
// published to workers like the RouterModel (DataplaneShared::fib; old
// snapshots are freed after every worker passed a quiescent point). Lookups
// are DIR-24-8 (Gupta, Lin, McKeown, "Routing lookups in hardware at memory
// access speeds", INFOCOM 1998; the layout DPDK's rte_lpm uses): one read of a
// 2^24-entry table indexed by the top 24 bits, and a second read of a 256-entry
// group for the few /24s that hold longer prefixes. No allocation, no locks.
// perf/bench_fib measures it beside rte_lpm.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "dataplane/ip/ipv4.h"

namespace wp {

inline constexpr int kFibMaxPaths = 8;  // ECMP members kept per route

// FibNextHop::iface of a next hop into an IPsec tunnel (the route's next hop
// is a tunnel's kernel interface or a gateway on its subnet): `gateway` then
// holds the tunnel's index, as a config route's next hop does (kIfaceTunnel,
// dataplane/control/router_model.h, is the same value).
inline constexpr int kFibIfaceTunnel = -2;

struct FibNextHop {
  Ipv4 gateway = 0;  // 0: the destination is on the interface's link; the tunnel index into a tunnel
  int iface = -1;    // Waypoint interface index (RouterModel::interfaces), or kFibIfaceTunnel
  bool tunnel() const { return iface == kFibIfaceTunnel; }
  bool operator==(const FibNextHop&) const = default;
};

struct FibRoute {
  Ipv4Prefix prefix;
  uint8_t protocol = 0;  // rtm_protocol as zebra sent it (186 BGP, 188 OSPF, 196 static...)
  uint8_t distance = 0;  // administrative distance: lower wins over a config route of the same prefix
  uint8_t paths = 0;     // members used in `hops`; 0 = blackhole
  FibNextHop hops[kFibMaxPaths];

  // The member a session with `hash` takes; stable while the set is unchanged.
  const FibNextHop& pick(uint32_t hash) const { return hops[paths > 1 ? hash % paths : 0]; }
};

class FibTable {
 public:
  // Builds the lookup structure over `routes` (one per prefix). A route with
  // no next hop (paths 0) is a blackhole: it matches, and the caller drops.
  // Allocates; control side only.
  static std::unique_ptr<const FibTable> build(std::vector<FibRoute> routes);

  // Longest-prefix match; null when no route covers `dst`.
  const FibRoute* lookup(Ipv4 dst) const {
    uint32_t e = tbl24_[dst >> 8];
    if (e & kGroup) e = tbl8_[(e & kIndexMask) * 256 + (dst & 0xff)];
    return (e & kValid) ? &routes_[e & kIndexMask] : nullptr;
  }
  std::span<const FibRoute> routes() const { return routes_; }
  size_t size() const { return routes_.size(); }
  size_t groups() const { return tbl8_.size() / 256; }
  size_t memory_bytes() const;

 private:
  static constexpr uint32_t kValid = 1u << 31, kGroup = 1u << 30, kIndexMask = (1u << 30) - 1;
  FibTable() = default;
  void insert(uint32_t index);
  uint32_t group_for(uint32_t slot);

  std::vector<FibRoute> routes_;
  struct Free {
    void operator()(uint32_t* p) const;
  };
  // calloc'd: the allocator maps fresh zero pages, so a table with few routes
  // costs the pages its routes touch, not 64 MiB.
  std::unique_ptr<uint32_t[], Free> tbl24_;
  std::vector<uint32_t> tbl8_;
};

}  // namespace wp
