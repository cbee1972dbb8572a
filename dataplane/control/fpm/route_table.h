// The routes zebra gave us over FPM (zebra's selected route per prefix) and
// the next-hop objects they may name, turned into FibTable snapshots for the
// workers (dataplane/ip/fib.h). Control side only: one thread (the FPM
// listener) applies and builds; REST reads `snapshot_json` under its lock.
//
// Next hops map to Waypoint interfaces by this rule, in order:
//   1. the kernel interface `ifindex` names (if_indextoname in waypointd's
//      network namespace, where zebra runs too) is a Waypoint interface's name
//      or its punt-path kernel interface's (RouteInterface::kernel);
//   2. the gateway lies in an interface's connected prefix;
//   3. otherwise the next hop is unresolved: left out of the route (a route
//      with no resolved next hop is not installed; counted).
// IPsec tunnels are interfaces here too (RouteInterface::tunnel: the TUN the
// punt path makes per tunnel with an address, and the tunnel's subnet, IPv4's
// and, with ipv6_address, IPv6's): a next
// hop that resolves to one becomes {kFibIfaceTunnel, tunnel index}, exactly a
// config route with `interface: <tunnel>`; zebra's gateway is dropped (the
// tunnel is point to point). See docs/ipsec.md § Dynamic routing over tunnels
// Administrative distance comes from the route's protocol (zebra's defaults:
// static 1, eBGP 20, OSPF 110, IS-IS 115, RIP 120; the netlink message does
// not carry zebra's distance, and RTA_PRIORITY is zebra's fixed metric 20).
// Config routes have distance 0 (connected) and 1 (static), so a config route
// wins over an FRR route of the same prefix unless FRR's is a static of its
// own with the same distance, in which case the config one still wins (ties go
// to the config).
//
// IPv6 routes (AF_INET6) live beside the IPv4 ones: the same next-hop
// objects, replay and sweep, interface rule (by ifindex, then the gateway in
// one of an interface's IPv6 prefixes, `subnets6`; a link-local gateway,
// fe80::/10, resolves only by its ifindex, as zebra always sends it with its
// OIF, and is kept as the next hop: the worker resolves it by Neighbor
// Discovery on that interface) and distances; build6() makes the FibTable6 the
// workers read beside the config's Fib6 (control/route_choice.h). Routes to
// link-local or multicast prefixes (zebra sends fe80::/64 per interface) are
// not installed (counted as link_local6): those destinations are never routed.
//
// Reconnect: begin_replay() marks every route and next-hop object stale;
// what zebra sends again is fresh; sweep() removes what stayed stale.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "dataplane/control/fpm/fpm_decoder.h"
#include "dataplane/ip/fib.h"
#include "dataplane/ip/fib6.h"

namespace wp::fpm {

inline constexpr uint32_t kMainTable = 254;
inline constexpr int kNoIface = -1;

// What a next hop can resolve against: the router's interfaces.
struct RouteInterface {
  std::string name;    // ports: RouterModel::interfaces' name (its index is the FibNextHop::iface)
  Ipv4Prefix subnet;   // connected prefix (a tunnel's `address` subnet); len 0: none
  int tunnel = -1;     // >= 0: IPsec tunnel `tunnel` (tunnels[] index), after the ports
  std::string kernel;  // the punt path's kernel interface (ifname_prefix + name); "" when none
  std::vector<Ipv6Prefix> subnets6 = {};  // connected IPv6 prefixes (ipv6_addresses', a tunnel's ipv6_address'), not the link-local
  // False for a tunnel whose mtu is below IPv6's 1280 (RFC 8200 § 5): an IPv6
  // hop on it is skipped (`tunnel_mtu6`), since a router may not fragment
  // IPv6 and no sender goes below 1280. Config refuses such a tunnel with an
  // ipv6_address or a static IPv6 route; FRR's routes arrive at run time.
  bool ipv6_mtu = true;
};
// ifindex -> kernel interface name ("" when unknown).
using IfindexNamer = std::function<std::string(uint32_t ifindex)>;

uint8_t distance_of(uint8_t protocol);
std::string_view protocol_name(uint8_t protocol);

struct RouteTableCounters {
  uint64_t routes_added = 0, routes_withdrawn = 0, withdraw_unknown = 0, nexthops_added = 0,
           nexthops_withdrawn = 0, other_table = 0, unresolved = 0, swept = 0, unknown_nh_id = 0, link_local6 = 0,
           tunnel_mtu6 = 0;  // IPv6 hops the last build6 skipped: into a tunnel with mtu < 1280 (RouteInterface::ipv6_mtu)
};

class RouteTable {
 public:
  RouteTable(std::vector<RouteInterface> interfaces, IfindexNamer namer);

  void apply(const FpmMessage& m, uint64_t now_ms);
  void begin_replay() { ++generation_; }
  // Removes routes and objects zebra did not send since begin_replay; returns how many.
  size_t sweep();
  // The FIB of the current routes (allocates, O(routes)).
  std::unique_ptr<const FibTable> build();
  // The FIB of the current IPv6 routes. build() starts the unresolved counts
  // afresh; build6() adds its own: call it after build().
  std::unique_ptr<const FibTable6> build6();
  size_t size() const { return routes_.size() + routes6_.size(); }
  size_t size6() const { return routes6_.size(); }
  const RouteTableCounters& counters() const { return counters_; }
  // When the route of `p` was installed or last changed (0: none).
  uint64_t installed_ms(const Ipv4Prefix& p) const;
  uint64_t installed_ms(const Ipv6Prefix& p) const;
  const std::vector<RouteInterface>& interfaces() const { return ifaces_; }
  // The name of a FIB next hop's interface (a port's, or the tunnel's).
  std::string_view hop_interface(const FibNextHop& h) const;
  std::string_view hop_interface(const FibNextHop6& h) const;

 private:
  struct Route {
    uint8_t protocol = 0;
    bool blackhole = false;
    uint32_t nh_id = 0;
    std::vector<FpmNextHop> hops;
    uint64_t installed_ms = 0;
    uint64_t generation = 0;
  };
  struct NextHopObject {
    std::vector<FpmNextHop> hops;
    std::vector<uint32_t> group;
    bool blackhole = false;
    uint64_t generation = 0;
  };
  static uint64_t key(const Ipv4Prefix& p) { return uint64_t{p.addr} << 8 | p.len; }
  using Key6 = std::pair<Ipv6, uint8_t>;
  static Key6 key(const Ipv6Prefix& p) { return {p.addr, p.len}; }
  void apply_route(const FpmMessage& m, uint64_t now_ms);
  void update_route(Route& r, bool fresh, const FpmMessage& m, uint64_t now_ms);
  void apply_nexthop(const FpmMessage& m);
  int resolve_iface(const FpmNextHop& h, bool v6);  // an index into ifaces_, or kNoIface
  void add_hops(const std::vector<FpmNextHop>& in, FibRoute& out);
  void add_hops(const std::vector<FpmNextHop>& in, FibRoute6& out);
  template <class F>
  bool resolve(const Route& r, F& out);

  std::vector<RouteInterface> ifaces_;
  IfindexNamer namer_;
  std::unordered_map<uint32_t, int> iface_of_ifindex_;  // cache of namer_ answers
  std::unordered_map<uint64_t, Route> routes_;
  std::map<Key6, Route> routes6_;
  std::unordered_map<uint32_t, NextHopObject> objects_;
  uint64_t generation_ = 1;
  RouteTableCounters counters_;
};

}  // namespace wp::fpm
