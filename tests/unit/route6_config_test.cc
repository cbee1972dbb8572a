// IPv6 routing configuration (docs/ipv6.md § IPv6 routing and sessions):
// IPv6 static routes and services' IPv6 prefixes validated with their paths,
// and the model built from them (Fib6, service_for6).
#include <gtest/gtest.h>

#include "dataplane/ip/fib6.h"
#include "tests/unit/route6_test_config.h"

namespace wp {
namespace {

using namespace test;

template <class Edit>
config::Config with(Edit edit) {
  config::Config c = route6_config();
  edit(c);
  return c;
}

config::Route& route(config::Config& c) { return *c.mutable_routes(0); }

TEST(Route6Config, TheTestRouterIsValid) { EXPECT_EQ(config_errors(route6_config()), ""); }

TEST(Route6Config, RoutePrefix) {
  EXPECT_TRUE(has_config_error(with([](config::Config& c) { route(c).set_prefix("2001:db8:72::1/64"); }),
                               "routes[0].prefix", "host bits set (did you mean 2001:db8:72::/64?)"));
  EXPECT_TRUE(has_config_error(with([](config::Config& c) { route(c).set_prefix("2001:db8:72::/129"); }),
                               "routes[0].prefix", "not an IPv6 prefix"));
  EXPECT_TRUE(has_config_error(with([](config::Config& c) { route(c).set_prefix("2001:zz8::/64"); }),
                               "routes[0].prefix", "not an IPv6 prefix"));
  EXPECT_TRUE(has_config_error(with([](config::Config& c) { *c.add_routes() = c.routes(0); }), "routes[1].prefix",
                               "routed twice"));
  EXPECT_EQ(config_errors(with([](config::Config& c) { route(c).set_prefix("::/0"); })), "");
}

TEST(Route6Config, NextHopIsOnLinkAndOfTheSameFamily) {
  EXPECT_TRUE(has_config_error(with([](config::Config& c) { route(c).set_next_hop("2001:db8:71::2"); }),
                               "routes[0].next_hop", "not on-link: not inside 2001:db8:70::/64"));
  EXPECT_TRUE(has_config_error(with([](config::Config& c) { route(c).set_next_hop("172.16.0.254"); }),
                               "routes[0].next_hop", "an IPv6 route needs an IPv6 next hop"));
  EXPECT_TRUE(has_config_error(with([](config::Config& c) { route(c).set_next_hop("fe80::2"); }),
                               "routes[0].next_hop", "link-local next hops are not supported yet"));
  EXPECT_TRUE(has_config_error(with([](config::Config& c) { route(c).set_next_hop("ff02::1"); }),
                               "routes[0].next_hop", "must be a unicast address"));
  EXPECT_TRUE(has_config_error(with([](config::Config& c) { route(c).set_next_hop("2001:db8:70::zz"); }),
                               "routes[0].next_hop", "not an IPv6 address"));
  EXPECT_TRUE(has_config_error(with([](config::Config& c) { route(c).clear_next_hop(); }), "routes[0].next_hop",
                               "required"));
  // An IPv4 route with an IPv6 next hop: the other mismatch.
  EXPECT_TRUE(has_config_error(with([](config::Config& c) {
                                 auto* r = c.add_routes();
                                 r->set_prefix("11.0.0.0/8");
                                 r->set_next_hop("2001:db8:70::2");
                                 r->set_interface("wan0");
                               }),
                               "routes[1].next_hop", "an IPv4 route needs an IPv4 next hop"));
}

TEST(Route6Config, InterfaceHasIpv6Addresses) {
  EXPECT_TRUE(has_config_error(with([](config::Config& c) {
                                 c.mutable_router()->mutable_wan(0)->clear_ipv6_addresses();
                               }),
                               "routes[0].interface", "has no ipv6_addresses"));
  EXPECT_TRUE(has_config_error(with([](config::Config& c) { route(c).set_interface("wan7"); }), "routes[0].interface",
                               "unknown interface \"wan7\""));
}

TEST(Route6Config, ServicePrefixes) {
  EXPECT_TRUE(has_config_error(with([](config::Config& c) { c.mutable_services(0)->set_prefixes(0, "2001:db8:72::9/64"); }),
                               "services[0].prefixes[0]", "host bits set"));
  EXPECT_TRUE(has_config_error(with([](config::Config& c) { c.mutable_services(0)->set_prefixes(0, "2001:db8:72::/200"); }),
                               "services[0].prefixes[0]", "not an IPv6 prefix"));
  EXPECT_TRUE(has_config_error(with([](config::Config& c) { c.mutable_services(0)->set_prefixes(1, "10.9.0.1/24"); }),
                               "services[0].prefixes[1]", "host bits set"));
}

TEST(Route6Config, Ipv6ServicesAreRoutedHereOnly) {
  config::Config c = with([](config::Config& c) {
    auto* p = c.add_peers();
    p->set_name("r2");
    p->add_waypoints("172.16.0.2");
    c.mutable_services(0)->set_next_peer("r2");
  });
  // IPv6 sessions between IPv4 waypoints (svr/svr6_lan.h): next_peer is allowed.
  EXPECT_FALSE(has_config_error(c, "services[0].next_peer", ""));
  EXPECT_TRUE(has_config_error(
      with([](config::Config& c) { c.mutable_services(0)->mutable_breakout()->set_interface("wan0"); }),
      "services[0].breakout", "IPv6 prefixes with breakout are not supported"));
  EXPECT_TRUE(has_config_error(with([](config::Config& c) {
                                 c.mutable_services(0)->mutable_nat64()->set_interface("wan0");
                                 c.mutable_services(0)->mutable_nat64()->add_pool("172.16.0.64");
                               }),
                               "services[0].nat64", "not IPv6"));
}

TEST(Route6Config, ModelRoutesAndServices) {
  auto r = route6_router();
  const RouterModel& m = r->model();
  EXPECT_TRUE(m.ipv6_routing);
  const Route6* to_server = m.fib6.lookup(ip6(kRouteServer));
  ASSERT_NE(to_server, nullptr);
  EXPECT_EQ(to_server->iface, 1);
  EXPECT_EQ(to_server->next_hop, kGateway6);
  const Route6* to_client = m.fib6.lookup(ip6(kRouteClient));
  ASSERT_NE(to_client, nullptr);  // the LAN's connected prefix
  EXPECT_EQ(to_client->iface, 0);
  EXPECT_TRUE(to_client->connected());
  EXPECT_EQ(m.fib6.lookup(ip6("2001:db8:73::1")), nullptr);
  EXPECT_EQ(m.fib6.lookup(ip6("fe80::1")), nullptr);  // link-locals are never routed
  // A mixed service: its IPv6 prefix for IPv6, its IPv4 prefix for IPv4.
  EXPECT_EQ(m.service_for6(ip6(kRouteServer), kProtoTcp, 80), 0);
  EXPECT_EQ(m.service_for6(ip6("2001:db8:73::1"), kProtoTcp, 80), kNone);
  EXPECT_EQ(m.service_for(ip("10.9.0.7"), kProtoTcp, 80), 0);
  EXPECT_EQ(m.tenant_for6(ip6(kRouteClient), 0), m.tenant_by_name("v6"));
  EXPECT_EQ(m.policy(m.tenant_by_name("guest6"), 0), kNone);
}

TEST(Fib6, LongestPrefixWins) {
  auto p = [](const char* t) { return parse_prefix6(t).value(); };
  Fib6 f({{p("::/0"), ip6("2001:db8::1"), 1},
          {p("2001:db8:72::/48"), ip6("2001:db8::2"), 2},
          {p("2001:db8:72:5::/64"), Ipv6{}, 3},
          {p("2001:db8:72:5::7/128"), ip6("2001:db8::4"), 4},
          {p("2001:db8:72::/48"), ip6("2001:db8::9"), 9}});  // a duplicate prefix: the first stays
  EXPECT_EQ(f.routes().size(), 4u);
  EXPECT_EQ(f.lookup(ip6("2001:db8:72:5::7"))->iface, 4);
  EXPECT_EQ(f.lookup(ip6("2001:db8:72:5::8"))->iface, 3);
  EXPECT_EQ(f.lookup(ip6("2001:db8:72:6::1"))->iface, 2);
  EXPECT_EQ(f.lookup(ip6("2001:db8:73::1"))->iface, 1);
  EXPECT_EQ(Fib6({{p("2001:db8::/32"), Ipv6{}, 0}}).lookup(ip6("2001:db9::1")), nullptr);
  EXPECT_EQ(Fib6().lookup(ip6("::1")), nullptr);
}

}  // namespace
}  // namespace wp
