// The IPv6 routing router of the unit tests (route6_config_test.cc,
// route6_worker_test.cc, session6_export_test.cc), docs/ipv6.md § IPv6 routing and sessions:
//
//   client 2001:db8:71::5 (tenant v6), guest 2001:db8:71:0:1::5 (tenant guest6, no policy)
//     - [r1] lan 10.1.0.1/24 + 2001:db8:71::1/64, wan0 172.16.0.1/24 + 2001:db8:70::1/64
//     -- gateway 2001:db8:70::2 -- server 2001:db8:72::10 (route 2001:db8:72::/64)
#pragma once

#include <cstring>
#include <memory>
#include <vector>

#include "dataplane/ip/fib6.h"
#include "dataplane/ip/ndp.h"
#include "tests/unit/nat64_test_config.h"

namespace wp::test {

// Tenants "v6" (2001:db8:71::/80) and "guest6" (2001:db8:71:0:1::/80) on r1's LAN.
inline void add_v6_tenants(config::Config& c) {
  auto* t = c.add_tenants();
  t->set_name("v6");
  t->add_ipv6_prefixes("2001:db8:71::/80");
  t = c.add_tenants();
  t->set_name("guest6");
  t->add_ipv6_prefixes("2001:db8:71:0:1::/80");
}

inline config::Config route6_config() {
  config::Config c = router_base("r1", "10.1.0.1/24", {{"wan0", "172.16.0.1/24"}});
  c.mutable_router()->mutable_lan()->add_ipv6_addresses("2001:db8:71::1/64");
  c.mutable_router()->mutable_wan(0)->add_ipv6_addresses("2001:db8:70::1/64");
  add_route(c, "2001:db8:72::/64", "2001:db8:70::2", "wan0");
  add_v6_tenants(c);
  config::Service* s = add_service(c, {"srv6", "2001:db8:72::/64", "any", "", ""});
  s->add_prefixes("10.9.0.0/24");  // mixed: the IPv4 prefix is an ordinary service prefix
  add_policy(c, "v6", "srv6", "");  // none for guest6: denied
  return c;
}

inline const Ipv6 kGateway6 = ip6("2001:db8:70::2");
inline constexpr Mac kGateway6Mac = {2, 0, 0, 0, 0x70, 2};
inline constexpr Mac kRouteClientMac = {2, 0, 0, 0, 0x71, 5};
inline constexpr const char* kRouteClient = "2001:db8:71::5";
inline constexpr const char* kRouteGuest = "2001:db8:71:0:1::5";
inline constexpr const char* kRouteServer = "2001:db8:72::10";

// The router with both IPv6 neighbors (the gateway, the client) resolved.
inline std::unique_ptr<Router> route6_router(RouterOptions opts = {}, const config::Config& cfg = route6_config()) {
  auto r = std::make_unique<Router>(cfg, std::move(opts));
  Neighbor6Table& n6 = r->shared().neighbors6;
  n6.begin(1, kGateway6, 0);
  n6.advert(1, kGateway6, kGateway6Mac.data(), kNaSolicited | kNaOverride, 0);
  n6.begin(0, ip6(kRouteClient), 0);
  n6.advert(0, ip6(kRouteClient), kRouteClientMac.data(), kNaSolicited | kNaOverride, 0);
  return r;
}

// FRR's IPv6 routes (DataplaneShared::fib6) in the tests of route6_frr_test.cc and
// route6_follow_test.cc: a route as zebra sends it (protocol 186, BGP), and a
// link-local gateway on wan0, resolved by `learn_link_local_gw`.
inline FibRoute6 frr_route(const char* prefix, uint8_t distance, std::initializer_list<FibNextHop6> hops) {
  FibRoute6 r{*parse_prefix6(prefix), 186, distance, 0, {}};
  for (const FibNextHop6& h : hops) r.hops[r.paths++] = h;
  return r;
}
inline constexpr Mac kLinkLocalMac = {2, 0, 0, 0, 0x70, 0x99};
inline const Ipv6 kLinkLocalGw = ip6("fe80::99");
inline void learn_link_local_gw(Router& r) {
  Neighbor6Table& n6 = r.shared().neighbors6;
  n6.begin(1, kLinkLocalGw, 0);
  n6.advert(1, kLinkLocalGw, kLinkLocalMac.data(), kNaSolicited | kNaOverride, 0);
}

// A packet's frame as it reaches lan (from the client) or wan0 (from the gateway).
inline std::vector<uint8_t> from_lan(const Router& r, const Pkt6& p) {
  std::vector<uint8_t> f = p.bytes();
  std::memcpy(f.data(), r.model().interfaces[0].mac, 6);
  std::memcpy(f.data() + 6, kRouteClientMac.data(), 6);
  return f;
}
inline std::vector<uint8_t> from_wan(const Router& r, const Pkt6& p) {
  std::vector<uint8_t> f = p.bytes();
  std::memcpy(f.data(), r.model().interfaces[1].mac, 6);
  std::memcpy(f.data() + 6, kGateway6Mac.data(), 6);
  return f;
}

}  // namespace wp::test
