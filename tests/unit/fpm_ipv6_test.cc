// IPv6 routes from FRR (dataplane/control/fpm/;
// docs/operations.md § Routes from FRR): the decoder against AF_INET6 frames written as zebra's
// dplane_fpm_nl writes them (a single hop, a link-local gateway with its OIF,
// RTA_MULTIPATH, next-hop objects of family AF_INET6, withdrawals, every
// truncation and bad length), the route table's IPv6 side (interfaces by
// ifindex, then by IPv6 prefix; link-local gateways kept; the sweep after a
// replay; link-local prefixes not installed), the FibTable6 lookups after
// build6(), and the precedence between FRR's and the config's IPv6 routes
// (control/route_choice.h).
#include <gtest/gtest.h>

#include <span>
#include <vector>

#include "dataplane/control/fpm/fpm_decoder.h"
#include "dataplane/control/fpm/fpm_encoder.h"
#include "dataplane/control/fpm/fpm_listener.h"
#include "dataplane/control/fpm/route_table.h"
#include "dataplane/control/route_choice.h"
#include "tests/unit/fpm_stream.h"

namespace wp::fpm {
namespace {

Ipv6Prefix pfx6(const char* s) { return *parse_prefix6(s); }
Ipv6 ip6(const char* s) { return *parse_ipv6(s); }
constexpr uint8_t kKernel = 2, kBgp = 186, kZstatic = 196;

FpmNextHop hop6(const char* gw, uint32_t ifindex, uint8_t weight = 1) {
  FpmNextHop h{0, ifindex, weight};
  if (gw) h.gateway6 = ip6(gw);
  return h;
}

std::vector<FpmMessage> decode(const std::vector<uint8_t>& bytes, FpmError& err) {
  std::vector<FpmMessage> all, one;
  std::span<const uint8_t> rest(bytes);
  err = FpmError::none;
  while (!rest.empty()) {
    const long n = fpm_frame_length(rest);
    if (n <= 0) return err = FpmError::bad_header, all;
    err = decode_fpm_frame(rest.first(static_cast<size_t>(n)), one);
    all.insert(all.end(), one.begin(), one.end());
    if (err != FpmError::none) return all;
    rest = rest.subspan(static_cast<size_t>(n));
  }
  return all;
}

TEST(FpmDecoder6, SingleHopAndLinkLocalGatewayWithOif) {
  FpmWriter w;
  w.route6(true, pfx6("2001:db8:200::/48"), kBgp, {hop6("fe80::5054:ff:fe12:3456", 3)});
  w.route6(true, pfx6("2001:db8:201::/48"), kBgp, {hop6("2001:db8:2::10", 0)});
  FpmError err;
  auto ms = decode(w.bytes(), err);
  ASSERT_EQ(err, FpmError::none);
  ASSERT_EQ(ms.size(), 2u);
  EXPECT_EQ(ms[0].kind, FpmKind::route_add);
  EXPECT_TRUE(ms[0].ipv6);
  EXPECT_EQ(ms[0].prefix6, pfx6("2001:db8:200::/48"));
  EXPECT_EQ(ms[0].protocol, kBgp);
  EXPECT_EQ(ms[0].table, 254u);
  ASSERT_EQ(ms[0].hops.size(), 1u);
  EXPECT_EQ(ms[0].hops[0].gateway6, ip6("fe80::5054:ff:fe12:3456"));
  EXPECT_EQ(ms[0].hops[0].gateway, 0u);
  EXPECT_EQ(ms[0].hops[0].ifindex, 3u);
  ASSERT_EQ(ms[1].hops.size(), 1u);
  EXPECT_EQ(ms[1].hops[0].gateway6, ip6("2001:db8:2::10"));
  EXPECT_EQ(ms[1].hops[0].ifindex, 0u);
}

TEST(FpmDecoder6, MultipathDefaultRouteNextHopObjectsAndWithdraw) {
  FpmWriter w;
  w.route6(true, pfx6("::/0"), kBgp, {hop6("fe80::1", 3), hop6("fe80::2", 4, 3), hop6(nullptr, 5)});
  w.nexthop(true, 7, hop6("fe80::7", 3)).nexthop(true, 8, hop6("2001:db8:2::8", 3));
  w.nexthop(true, 9, {}, {7, 8}).route6(true, pfx6("2001:db8:300::/40"), kBgp, {}, 9);
  w.route6(false, pfx6("2001:db8:200::/48"), kBgp, {});
  FpmError err;
  auto ms = decode(w.bytes(), err);
  ASSERT_EQ(err, FpmError::none);
  ASSERT_EQ(ms.size(), 6u);
  EXPECT_EQ(ms[0].prefix6, pfx6("::/0"));
  ASSERT_EQ(ms[0].hops.size(), 3u);
  EXPECT_EQ(ms[0].hops[1].gateway6, ip6("fe80::2"));
  EXPECT_EQ(ms[0].hops[1].ifindex, 4u);
  EXPECT_EQ(ms[0].hops[1].weight, 3);
  EXPECT_TRUE(ms[0].hops[2].gateway6.is_unspecified());
  EXPECT_EQ(ms[0].hops[2].ifindex, 5u);
  EXPECT_EQ(ms[1].kind, FpmKind::nexthop_add);
  EXPECT_TRUE(ms[1].ipv6);
  EXPECT_EQ(ms[1].hops.at(0).gateway6, ip6("fe80::7"));
  EXPECT_EQ(ms[2].hops.at(0).gateway6, ip6("2001:db8:2::8"));
  EXPECT_EQ(ms[3].group, (std::vector<uint32_t>{7, 8}));
  EXPECT_EQ(ms[4].nh_id, 9u);
  EXPECT_TRUE(ms[4].ipv6);
  EXPECT_EQ(ms[5].kind, FpmKind::route_del);
  EXPECT_EQ(ms[5].prefix6, pfx6("2001:db8:200::/48"));
}

// Every cut of a valid IPv6 frame is refused with a reason.
TEST(FpmDecoder6, EveryTruncationIsAnError) {
  FpmWriter w;
  w.route6(true, pfx6("2001:db8:200::/48"), kBgp, {hop6("fe80::1", 3), hop6("fe80::2", 3)});
  const std::vector<uint8_t> good = w.bytes();
  std::vector<FpmMessage> out;
  for (size_t cut = kFpmHeaderLen + 1; cut < good.size(); ++cut) {
    std::vector<uint8_t> frame(good.begin(), good.begin() + static_cast<long>(cut));
    frame[2] = static_cast<uint8_t>(cut >> 8);
    frame[3] = static_cast<uint8_t>(cut);
    EXPECT_NE(decode_fpm_frame(frame, out), FpmError::none) << "cut at " << cut;
  }
}

TEST(FpmDecoder6, BadPrefixesAndAddressLengths) {
  FpmWriter w;
  w.route6(true, pfx6("2001:db8:200::/48"), kBgp, {hop6("fe80::1", 3)});
  const std::vector<uint8_t> f = w.bytes();
  std::vector<FpmMessage> out;
  constexpr size_t kRtm = 4 + 16;  // the rtmsg after the FPM and netlink headers
  auto g = f;
  g[kRtm + 1] = 129;  // dst_len
  EXPECT_EQ(decode_fpm_frame(g, out), FpmError::bad_prefix_len);
  g = f;
  g[kRtm + 1] = 32;  // 2001:db8:200::/32 has host bits
  EXPECT_EQ(decode_fpm_frame(g, out), FpmError::bad_prefix_len);
  g = f;
  g[kRtm] = 2;  // AF_INET /16 with a 16-byte RTA_DST
  g[kRtm + 1] = 16;
  EXPECT_EQ(decode_fpm_frame(g, out), FpmError::bad_attr_len);
  // An IPv4 route's 4-byte addresses in an IPv6 route.
  FpmWriter v4;
  v4.route(true, *parse_prefix("10.200.0.0/16"), kBgp, {{*parse_ipv4("10.2.0.1"), 3, 1}});
  g = v4.bytes();
  g[kRtm] = 10;
  EXPECT_EQ(decode_fpm_frame(g, out), FpmError::bad_attr_len);
  // Other families stay ignored.
  g = f;
  g[kRtm] = 28;  // AF_MPLS
  EXPECT_EQ(decode_fpm_frame(g, out), FpmError::none);
  EXPECT_TRUE(out.empty());
}

// lan (ifindex 3, kernel "lan") has 2001:db8:2::/64, wan0 (ifindex 5) 2001:db8:70::/64.
RouteTable table6() {
  std::vector<RouteInterface> ifs = {{"lan", *parse_prefix("10.2.0.0/24"), -1, "lan", {pfx6("2001:db8:2::/64")}},
                                     {"wan0", *parse_prefix("172.16.0.0/24"), -1, "wan0", {pfx6("2001:db8:70::/64")}}};
  return RouteTable(ifs, [](uint32_t ifindex) {
    return ifindex == 3 ? std::string("lan") : ifindex == 5 ? std::string("wan0") : std::string();
  });
}

TEST(RouteTable6, NextHopsByOifThenPrefixAndFib6Lookups) {
  RouteTable t = table6();
  FpmWriter w;
  w.route6(true, pfx6("2001:db8:200::/48"), kBgp, {hop6("fe80::10", 3)});      // link-local + OIF: lan
  w.route6(true, pfx6("2001:db8:201::/48"), kBgp, {hop6("2001:db8:70::9", 0)});  // global gateway: wan0's prefix
  w.route6(true, pfx6("2001:db8:202::/48"), kBgp, {hop6("fe80::10", 77)});     // link-local, unknown OIF
  w.route6(true, pfx6("2001:db8:2::/64"), kKernel, {hop6(nullptr, 3)});        // connected, on-link
  w.route6(true, pfx6("fe80::/64"), kKernel, {hop6(nullptr, 3)});              // link-local: not routed
  w.route6(true, pfx6("2001:db8:200:1::/64"), kZstatic, {}, 0, /*type=*/6);   // blackhole
  test::apply_stream(t, w);
  EXPECT_EQ(t.size6(), 5u);
  EXPECT_EQ(t.counters().link_local6, 1u);
  auto fib = t.build();
  auto fib6 = t.build6();
  EXPECT_EQ(fib->size(), 0u) << "no IPv4 route";
  EXPECT_EQ(fib6->size(), 4u);
  EXPECT_EQ(t.counters().unresolved, 1u);
  const FibRoute6* a = fib6->lookup(ip6("2001:db8:200:5::1"));
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->prefix, pfx6("2001:db8:200::/48"));
  EXPECT_EQ(a->distance, 20);
  ASSERT_EQ(a->paths, 1);
  EXPECT_EQ(a->hops[0], (FibNextHop6{ip6("fe80::10"), 0}));
  EXPECT_EQ(t.hop_interface(a->hops[0]), "lan");
  const FibRoute6* b = fib6->lookup(ip6("2001:db8:201::1"));
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->hops[0], (FibNextHop6{ip6("2001:db8:70::9"), 1}));
  EXPECT_EQ(fib6->lookup(ip6("2001:db8:202::1")), nullptr) << "unresolved: not installed";
  const FibRoute6* c = fib6->lookup(ip6("2001:db8:2::10"));
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->distance, 0);
  EXPECT_EQ(c->hops[0], (FibNextHop6{Ipv6{}, 0}));
  const FibRoute6* hole = fib6->lookup(ip6("2001:db8:200:1::7"));
  ASSERT_NE(hole, nullptr) << "longest prefix: the blackhole";
  EXPECT_EQ(hole->paths, 0);
  EXPECT_EQ(fib6->lookup(ip6("fe80::10")), nullptr);
  EXPECT_EQ(fib6->lookup(ip6("2001:db8:300::1")), nullptr);
  EXPECT_EQ(t.installed_ms(pfx6("2001:db8:200::/48")), 1u);
  EXPECT_EQ(t.installed_ms(pfx6("2001:db8:999::/48")), 0u);
}

// An IPv6 route from zebra into a tunnel whose mtu is below 1280 (an
// interface route on its TUN, e.g. FRR's `ipv6 route P wp-small`) is not
// installed through it: IPv6 routers never fragment and senders never go
// below 1280, so the tunnel could not carry it. Its other hops still are;
// with none left it is a blackhole, so its traffic never falls back to a
// shorter route (a default out of a WAN) and leaves unencrypted.
TEST(RouteTable6, HopsIntoATunnelBelowTheIpv6MinimumMtuAreSkipped) {
  RouterModel rm;
  rm.tunnels.push_back({.name = "small", .mtu = 1000, .addr = *parse_ipv4("169.254.1.1")});
  rm.tunnels.push_back({.name = "big", .mtu = 1400, .addr = *parse_ipv4("169.254.2.1")});
  rm.punt.enabled = true;
  rm.punt.ifname_prefix = "wp-";
  const std::vector<RouteInterface> ifs = route_interfaces(rm);
  ASSERT_EQ(ifs.size(), 2u);
  EXPECT_FALSE(ifs[0].ipv6_mtu);
  EXPECT_TRUE(ifs[1].ipv6_mtu);
  RouteTable t(ifs, [](uint32_t ifindex) {
    return ifindex == 7 ? std::string("wp-small") : ifindex == 8 ? std::string("wp-big") : std::string();
  });
  FpmWriter w;
  w.route6(true, pfx6("2001:db8:300::/48"), kZstatic, {hop6(nullptr, 7)});                 // small only
  w.route6(true, pfx6("::/0"), kZstatic, {hop6(nullptr, 8)});                               // a shorter route
  w.route6(true, pfx6("2001:db8:301::/48"), kZstatic, {hop6(nullptr, 7), hop6(nullptr, 8)});  // both
  w.route(true, *parse_prefix("10.9.0.0/16"), kZstatic, {{0, 7}});                         // IPv4: any mtu
  test::apply_stream(t, w);
  auto fib = t.build();
  auto fib6 = t.build6();
  const FibRoute6* small = fib6->lookup(ip6("2001:db8:300::1"));
  ASSERT_NE(small, nullptr) << "not left out: ::/0 would carry it";
  EXPECT_EQ(small->prefix, pfx6("2001:db8:300::/48"));
  EXPECT_EQ(small->paths, 0) << "a blackhole";
  const FibRoute6* both = fib6->lookup(ip6("2001:db8:301::1"));
  ASSERT_NE(both, nullptr);
  ASSERT_EQ(both->paths, 1);
  EXPECT_EQ(t.hop_interface(both->hops[0]), "big");
  EXPECT_EQ(t.counters().tunnel_mtu6, 2u);
  EXPECT_EQ(t.counters().unresolved, 0u);
  ASSERT_NE(fib->lookup(*parse_ipv4("10.9.1.1")), nullptr) << "IPv4 has no such minimum";
  t.build6();
  EXPECT_EQ(t.counters().tunnel_mtu6, 2u) << "a property of the last build, not a history";
}

TEST(RouteTable6, EcmpAndNextHopObjectsAndWithdrawals) {
  RouteTable t = table6();
  FpmWriter w;
  w.route6(true, pfx6("2001:db8:200::/48"), kBgp, {hop6("fe80::10", 3), hop6("fe80::11", 3), hop6("fe80::10", 3)});
  w.nexthop(true, 1, hop6("fe80::20", 5)).nexthop(true, 2, hop6("2001:db8:70::21", 0)).nexthop(true, 3, {}, {1, 2});
  w.route6(true, pfx6("2001:db8:300::/40"), kBgp, {}, 3);
  w.route6(true, pfx6("2001:db8:400::/40"), kBgp, {}, 42);  // an object zebra never sent
  test::apply_stream(t, w);
  t.build();
  auto fib6 = t.build6();
  const FibRoute6* e = fib6->lookup(ip6("2001:db8:200::1"));
  ASSERT_NE(e, nullptr);
  ASSERT_EQ(e->paths, 2) << "duplicates folded";
  EXPECT_EQ(e->hops[1], (FibNextHop6{ip6("fe80::11"), 0}));
  EXPECT_NE(&e->pick(0), &e->pick(1));
  const FibRoute6* g = fib6->lookup(ip6("2001:db8:300::1"));
  ASSERT_NE(g, nullptr);
  ASSERT_EQ(g->paths, 2);
  EXPECT_EQ(g->hops[0], (FibNextHop6{ip6("fe80::20"), 1}));
  EXPECT_EQ(g->hops[1], (FibNextHop6{ip6("2001:db8:70::21"), 1}));
  EXPECT_EQ(fib6->lookup(ip6("2001:db8:400::1")), nullptr);
  EXPECT_EQ(t.counters().unknown_nh_id, 1u);

  FpmWriter d;
  d.route6(false, pfx6("2001:db8:200::/48"), kBgp, {});
  d.route6(false, pfx6("2001:db8:999::/48"), kBgp, {});
  test::apply_stream(t, d);
  t.build();
  auto after = t.build6();
  EXPECT_EQ(after->lookup(ip6("2001:db8:200::1")), nullptr);
  EXPECT_NE(after->lookup(ip6("2001:db8:300::1")), nullptr);
  EXPECT_EQ(t.counters().routes_withdrawn, 1u);
  EXPECT_EQ(t.counters().withdraw_unknown, 1u);
}

// A reconnect: IPv4 and IPv6 routes zebra does not send again are swept together.
TEST(RouteTable6, SweepAfterReplayCoversBothFamilies) {
  RouteTable t = table6();
  FpmWriter w;
  w.route6(true, pfx6("2001:db8:200::/48"), kBgp, {hop6("fe80::10", 3)});
  w.route6(true, pfx6("2001:db8:201::/48"), kBgp, {hop6("fe80::10", 3)});
  w.route(true, *parse_prefix("10.200.0.0/16"), kBgp, {{*parse_ipv4("10.2.0.9"), 3, 1}});
  w.route(true, *parse_prefix("10.201.0.0/16"), kBgp, {{*parse_ipv4("10.2.0.9"), 3, 1}});
  test::apply_stream(t, w, 100);
  t.begin_replay();
  FpmWriter again;
  again.route6(true, pfx6("2001:db8:200::/48"), kBgp, {hop6("fe80::10", 3)});
  again.route(true, *parse_prefix("10.200.0.0/16"), kBgp, {{*parse_ipv4("10.2.0.9"), 3, 1}});
  test::apply_stream(t, again, 5000);
  EXPECT_EQ(t.sweep(), 2u);
  EXPECT_EQ(t.size(), 2u);
  EXPECT_EQ(t.size6(), 1u);
  t.build();
  auto fib6 = t.build6();
  EXPECT_NE(fib6->lookup(ip6("2001:db8:200::1")), nullptr);
  EXPECT_EQ(fib6->lookup(ip6("2001:db8:201::1")), nullptr);
  EXPECT_EQ(t.installed_ms(pfx6("2001:db8:200::/48")), 100u) << "replayed unchanged: keeps its age";
}

// The precedence rule of IPv4 (route_winner) for IPv6: the longest prefix,
// then the lower distance, ties to the config.
TEST(RouteChoice6, ConfigAndFrrRoutesByPrefixThenDistance) {
  RouterModel m;
  m.fib6 = Fib6({{pfx6("2001:db8:2::/64"), Ipv6{}, 0},                     // connected
                 {pfx6("2001:db8:200::/48"), ip6("2001:db8:70::9"), 1},    // static
                 {pfx6("2001:db8:500::/48"), ip6("2001:db8:70::9"), 1}});  // static
  FibRoute6 conn{pfx6("2001:db8:2::/64"), kKernel, 0, 1, {{Ipv6{}, 0}}};
  FibRoute6 bgp_same{pfx6("2001:db8:200::/48"), kBgp, 20, 1, {{ip6("fe80::10"), 0}}};
  FibRoute6 longer{pfx6("2001:db8:200:7::/64"), kBgp, 20, 2, {{ip6("fe80::10"), 0}, {ip6("fe80::11"), 0}}};
  FibRoute6 static_same{pfx6("2001:db8:500::/48"), kZstatic, 1, 1, {{ip6("fe80::12"), 0}}};
  FibRoute6 only_frr{pfx6("2001:db8:600::/48"), kBgp, 20, 1, {{ip6("fe80::13"), 1}}};
  FibRoute6 hole{pfx6("2001:db8:700::/48"), kZstatic, 1, 0, {}};
  const FibTable6 fib({conn, bgp_same, longer, static_same, only_frr, hole});

  EXPECT_EQ(route6_winner(m, &fib, ip6("2001:db8:2::5")).own, m.fib6.lookup(ip6("2001:db8:2::5"))) << "tie: config";
  EXPECT_NE(route6_winner(m, &fib, ip6("2001:db8:200::5")).own, nullptr) << "static 1 beats BGP 20";
  EXPECT_NE(route6_winner(m, &fib, ip6("2001:db8:500::5")).own, nullptr) << "FRR's static: tie, config";
  EXPECT_NE(route6_winner(m, &fib, ip6("2001:db8:200:7::5")).frr, nullptr) << "longer prefix";
  const auto a = route6_to(m, &fib, ip6("2001:db8:200:7::5"), 0), b = route6_to(m, &fib, ip6("2001:db8:200:7::5"), 1);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->next_hop, ip6("fe80::10"));
  EXPECT_EQ(b->next_hop, ip6("fe80::11")) << "the hash picks the member";
  EXPECT_EQ(a->prefix, pfx6("2001:db8:200:7::/64"));
  const auto only = route6_to(m, &fib, ip6("2001:db8:600::1"), 9);
  ASSERT_TRUE(only);
  EXPECT_EQ(only->iface, 1);
  EXPECT_FALSE(route6_to(m, &fib, ip6("2001:db8:700::1"), 0)) << "blackhole";
  EXPECT_FALSE(route6_to(m, &fib, ip6("2001:db8:800::1"), 0)) << "no route";
  EXPECT_FALSE(route6_to(m, nullptr, ip6("2001:db8:600::1"), 0)) << "no FRR table";
  EXPECT_EQ(route6_to(m, nullptr, ip6("2001:db8:200::1"), 0)->next_hop, ip6("2001:db8:70::9"));
}

}  // namespace
}  // namespace wp::fpm
