// IPv6 sessions routed by FRR's routes (DataplaneShared::fib6, published by
// the FPM listener; control/route_choice.h) through a real worker: a longer
// FRR prefix with a link-local gateway wins over the config's static route and
// the packet leaves to that neighbor's MAC (resolved by Neighbor Discovery on
// the interface zebra named); an FRR route of the config route's own prefix
// loses to it (distance 1 < 20); an FRR blackhole drops as ipv6_no_route.
#include <gtest/gtest.h>

#include <cstring>

#include "tests/unit/pkt6_builder.h"
#include "tests/unit/route6_test_config.h"

namespace wp {
namespace {

using namespace test;

struct FrrRoutes {
  FibTable6 fib;
  std::unique_ptr<Router> r;
  explicit FrrRoutes(std::vector<FibRoute6> routes) : fib(std::move(routes)), r(route6_router()) {
    r->shared().fib6.store(&fib, std::memory_order_release);
    learn_link_local_gw(*r);
  }
  ~FrrRoutes() {
    r->shared().fib6.store(nullptr, std::memory_order_release);
    r.reset();
  }
};

TEST(Route6Frr, LongerFrrPrefixWithLinkLocalGatewayWins) {
  FrrRoutes t({frr_route("2001:db8:72::/96", 20, {{kLinkLocalGw, 1}})});
  Router& r = *t.r;
  const auto syn = from_lan(r, Pkt6().ipv6(kRouteClient, kRouteServer, 64).tcp(40000, 80, 0x02));
  Frame out = r.send_one(kLan, syn);
  EXPECT_EQ(out.port, kWan);
  EXPECT_EQ(std::memcmp(out.raw.data(), kLinkLocalMac.data(), 6), 0) << "to the link-local gateway's MAC";
  EXPECT_EQ(r.count(Counter::sessions6_created), 1u);
  // The reply is forwarded back by the session (connected route to the client).
  std::vector<uint8_t> synack = Pkt6().ipv6(kRouteServer, kRouteClient, 60).tcp(80, 40000, 0x12).bytes();
  std::memcpy(synack.data(), r.model().interfaces[1].mac, 6);
  std::memcpy(synack.data() + 6, kLinkLocalMac.data(), 6);
  Frame back = r.send_one(kWan, synack);
  EXPECT_EQ(back.port, kLan);
  EXPECT_EQ(std::memcmp(back.raw.data(), kRouteClientMac.data(), 6), 0);
}

TEST(Route6Frr, ConfigRouteOfTheSamePrefixWins) {
  FrrRoutes t({frr_route("2001:db8:72::/64", 20, {{kLinkLocalGw, 1}})});
  Router& r = *t.r;
  Frame out = r.send_one(kLan, from_lan(r, Pkt6().ipv6(kRouteClient, kRouteServer, 64).udp(5000, 53)));
  EXPECT_EQ(out.port, kWan);
  EXPECT_EQ(std::memcmp(out.raw.data(), kGateway6Mac.data(), 6), 0) << "the static route's gateway";
}

TEST(Route6Frr, BlackholeAndUnroutedAreNoRoute) {
  config::Config c = route6_config();
  c.mutable_services(0)->add_prefixes("2001:db8:99::/64");
  FibTable6 fib({frr_route("2001:db8:72::/100", 1, {}), frr_route("2001:db8:99::/64", 20, {{kLinkLocalGw, 1}})});
  auto r = route6_router({}, c);
  r->shared().fib6.store(&fib, std::memory_order_release);
  learn_link_local_gw(*r);
  EXPECT_TRUE(r->send(kLan, from_lan(*r, Pkt6().ipv6(kRouteClient, kRouteServer).udp(1, 2))).empty());
  EXPECT_EQ(r->drop_count(DropReason::ipv6_no_route), 1u) << "FRR's blackhole, the longest prefix";
  Frame out = r->send_one(kLan, from_lan(*r, Pkt6().ipv6(kRouteClient, "2001:db8:99::1").udp(1, 2)));
  EXPECT_EQ(out.port, kWan) << "served, and routed by FRR alone";
  r->shared().fib6.store(nullptr, std::memory_order_release);
  EXPECT_TRUE(r->send(kLan, from_lan(*r, Pkt6().ipv6(kRouteClient, "2001:db8:99::2").udp(1, 2))).empty());
  EXPECT_EQ(r->drop_count(DropReason::ipv6_no_route), 2u) << "withdrawn (no FRR table): no route";
}

}  // namespace
}  // namespace wp
