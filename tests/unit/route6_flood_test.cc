// Tenant flood limits for IPv6 sources (docs/security.md § Dataplane,
// worker/session_gate.h), through real workers in every IPv6 path that makes
// sessions: routed sessions (Route6Step), IPv6 sessions over SVR at the
// ingress (Svr6Lan) and at the egress (WanInput, the metadata's IPv6 source),
// and NAT64 bindings (Nat64Step). The per-source rate counts an IPv6 source
// by its /64 (dataplane.new_sessions_source6_prefix), so a host's other
// addresses share its bucket; the tenant's quota counts routed IPv6 sessions
// until they end; a flood from many /64s gets the tenant's rate and no more.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

#include "tests/unit/nat64_test_config.h"
#include "tests/unit/pkt6_builder.h"
#include "tests/unit/route6_test_config.h"
#include "tests/unit/svr6_pair.h"

namespace wp {
namespace {

using namespace test;

constexpr const char* kOtherPrefixHost = "2001:db8:73::5";  // a /64 of the tenant behind a LAN router

// route6_config with the tenant's limits, and a second /64 of tenant v6 (and a
// /33 of it for the spoofed flood) behind a router on the LAN.
config::Config limited6(uint32_t quota, uint32_t tenant_rate, uint32_t source_rate, uint32_t source6_prefix = 0) {
  config::Config c = route6_config();
  config::Tenant* v6 = c.mutable_tenants(0);
  v6->add_ipv6_prefixes("2001:db8:73::/64");
  v6->add_ipv6_prefixes("2001:db8:8000::/33");
  v6->set_max_sessions(quota);
  v6->set_new_sessions_per_second(tenant_rate);
  add_route(c, "2001:db8:73::/64", "2001:db8:71::fe", "lan");
  add_route(c, "2001:db8:8000::/33", "2001:db8:71::fe", "lan");
  c.mutable_dataplane()->set_new_sessions_per_source(source_rate);
  c.mutable_dataplane()->set_new_sessions_source6_prefix(source6_prefix);
  return c;
}

size_t out(Router& r, std::string_view src, uint16_t sport) {
  return r.send(kLan, from_lan(r, Pkt6().ipv6(src, kRouteServer).udp(sport, 53).payload("q"))).size();
}
size_t out(Router& r, const Ipv6& src, uint16_t sport) { return out(r, format_ipv6(src), sport); }

TEST(Route6Flood, ThePerSourceRateCountsTheSourcesSlash64) {
  auto r = route6_router({}, limited6(0, 0, 5));
  for (uint16_t p = 1; p <= 5; ++p) EXPECT_EQ(out(*r, kRouteClient, p), 1u);
  EXPECT_EQ(out(*r, kRouteClient, 6), 0u);
  EXPECT_EQ(r->drop_count(DropReason::ipv6_session_rate_source), 1u);
  EXPECT_EQ(out(*r, "2001:db8:71::6", 1), 0u) << "another address of the same /64 is the same source";
  EXPECT_EQ(out(*r, "2001:db8:71::a:b:c", 1), 0u);
  EXPECT_EQ(r->drop_count(DropReason::ipv6_session_rate_source), 3u);
  EXPECT_EQ(r->drop_count(DropReason::session_rate_source), 0u) << "IPv4's reason stays IPv4's";
  EXPECT_EQ(out(*r, kOtherPrefixHost, 1), 1u) << "another /64 of the tenant has its own";
  EXPECT_EQ(out(*r, kRouteClient, 1), 1u) << "an existing session forwards";
  EXPECT_EQ(r->count(Counter::sessions6_created), 6u);
  r->worker().set_now_ms(1000);  // a second later the /64 has 5 more
  for (uint16_t p = 11; p <= 16; ++p) out(*r, "2001:db8:71::7", p);
  EXPECT_EQ(r->count(Counter::sessions6_created), 11u);
  EXPECT_EQ(r->drop_count(DropReason::ipv6_session_rate_source), 4u);
  EXPECT_EQ(r->total_drops(), 4u) << r->drops();
}

TEST(Route6Flood, APrefixOf128CountsEachAddress) {
  auto r = route6_router({}, limited6(0, 0, 2, 128));
  EXPECT_EQ(r->model().source6_prefix, 128);
  for (uint16_t p = 1; p <= 3; ++p) out(*r, kRouteClient, p);
  EXPECT_EQ(r->drop_count(DropReason::ipv6_session_rate_source), 1u);
  EXPECT_EQ(out(*r, "2001:db8:71::6", 1), 1u) << "each /128 its own bucket";
  EXPECT_EQ(route6_router({}, limited6(0, 0, 2))->model().source6_prefix, 64) << "0: the default /64";
}

TEST(Route6Flood, TheTenantQuotaCountsRoutedSessionsUntilTheyEnd) {
  auto r = route6_router(RouterOptions().with_udp_timeout_ms(1000), limited6(3, 0, 0));
  for (uint16_t p = 1; p <= 5; ++p) out(*r, kRouteClient, p);
  EXPECT_EQ(r->count(Counter::sessions6_created), 3u);
  EXPECT_EQ(r->drop_count(DropReason::session_quota_tenant), 2u);
  for (uint16_t p = 1; p <= 3; ++p) EXPECT_EQ(out(*r, kRouteClient, p), 1u) << "session " << p << " still forwards";
  // A session ended by the worker gives its place back.
  Session6* one = r->worker().route6().table()->lookup(
      FiveTuple6{ip6(kRouteClient), ip6(kRouteServer), 1, 53, kProtoUdp}).session;
  ASSERT_NE(one, nullptr);
  r->worker().route6().end(*one, SessionEndReason::forced_end);
  EXPECT_EQ(out(*r, kRouteClient, 9), 1u);
  EXPECT_EQ(out(*r, kRouteClient, 10), 0u);
  EXPECT_EQ(r->drop_count(DropReason::session_quota_tenant), 3u);
  // Idle ones expire and give theirs back.
  for (uint32_t t = 100; t <= 6000 && r->worker().route6().sessions(); t += 100) {
    r->worker().set_now_ms(t);
    r->idle();
  }
  ASSERT_EQ(r->worker().route6().sessions(), 0u);
  for (uint16_t p = 20; p < 23; ++p) EXPECT_EQ(out(*r, kRouteClient, p), 1u);
  EXPECT_EQ(out(*r, kRouteClient, 23), 0u);
  EXPECT_EQ(r->drop_count(DropReason::session_quota_tenant), 4u);
}

// Each spoofed source in a /64 of its own, sending once: the per-source rate never bites, the
// tenant's rate does; the session from before the flood forwards throughout.
TEST(Route6Flood, ASpoofedFloodFromManyPrefixesGetsTheTenantsRate) {
  auto r = route6_router({}, limited6(0, 100, 10));
  ASSERT_EQ(out(*r, kRouteClient, 40000), 1u);
  const Ipv6 base = ip6("2001:db8:8000::5");
  uint32_t forwarded_during = 0;
  for (uint32_t i = 0; i < 5000; ++i) {
    out(*r, Ipv6{base.hi + i, base.lo}, static_cast<uint16_t>(1024 + i));
    if (i % 500 == 0) forwarded_during += static_cast<uint32_t>(out(*r, kRouteClient, 40000));
  }
  EXPECT_EQ(forwarded_during, 10u) << "the old session forwarded every packet";
  EXPECT_EQ(r->count(Counter::sessions6_created), 100u) << "one second's worth, then nothing";
  EXPECT_EQ(r->drop_count(DropReason::session_rate_tenant), 5000u - 99u);
  EXPECT_EQ(r->drop_count(DropReason::ipv6_session_rate_source), 0u) << "each /64 sent once";
  EXPECT_EQ(r->drop_count(DropReason::ipv6_table_full), 0u);
}

// IPv6 sessions over SVR: the ingress asks before it makes the Session6 and its IPv4 session
// (which counts in the quota), the egress asks with the IPv6 source the metadata names.
class Svr6Flood : public Svr6Pair {
 protected:
  std::vector<uint8_t> syn(uint16_t sport) const {
    return client_frame(Pkt6().ipv6(kV6Client, kV6Server).tcp(sport, 80, kTcpSyn));
  }
};

TEST_F(Svr6Flood, TheIngressHoldsTheTenantQuota) {
  config::Config c1 = v6wp_config(true, false);
  c1.mutable_tenants(0)->set_max_sessions(2);
  make(c1, v6wp_config(false, false));
  EXPECT_EQ(r1->send(kLan, syn(1000)).size(), 1u);
  EXPECT_EQ(r1->send(kLan, syn(1001)).size(), 1u);
  EXPECT_TRUE(r1->send(kLan, syn(1002)).empty());
  EXPECT_EQ(r1->drop_count(DropReason::session_quota_tenant), 1u);
  EXPECT_EQ(r1->count(Counter::svr6_sessions_created), 2u);
  EXPECT_EQ(r1->worker().route6().sessions(), 2u) << "no Session6 for the refused one";
  EXPECT_EQ(r1->send(kLan, syn(1000)).size(), 1u) << "an existing session forwards";
}

TEST_F(Svr6Flood, TheEgressCountsTheMetadatasIpv6SourceByItsSlash64) {
  config::Config c2 = v6wp_config(false, false);
  c2.mutable_dataplane()->set_new_sessions_per_source(2);
  make(v6wp_config(true, false), c2);
  size_t restored = 0;
  for (uint16_t p = 1000; p < 1003; ++p) {
    Frame w = r1->send_one(kLan, syn(p));
    restored += r2->send(kWan, w.raw).size();
  }
  // Another address of the client's /64, through r1 (whose tenant /80 holds it).
  Frame w = r1->send_one(kLan, client_frame(Pkt6().ipv6("2001:db8:71::6", kV6Server).tcp(1, 80, kTcpSyn)));
  restored += r2->send(kWan, w.raw).size();
  EXPECT_EQ(restored, 2u);
  EXPECT_EQ(r2->drop_count(DropReason::ipv6_session_rate_source), 2u);
  EXPECT_EQ(r1->total_drops(), 0u) << r1->drops();
}

// NAT64: a new binding is admitted like a new session; packets of an existing binding are not
// asked again.
TEST(Nat64Flood, NewBindingsGetThePerSourceRate) {
  config::Config c = nat64_config();
  c.mutable_dataplane()->set_new_sessions_per_source(3);
  auto r = nat64_router({}, c);
  auto udp = [&](const char* src, uint16_t sport) {
    std::vector<uint8_t> f = Pkt6().ipv6(src, kServer6).udp(sport, 53).payload("q").bytes();
    std::memcpy(f.data(), r->model().interfaces[0].mac, 6);
    std::memcpy(f.data() + 6, kClient6Mac.data(), 6);
    return r->send(kLan, f).size();
  };
  for (uint16_t p = 1; p <= 3; ++p) EXPECT_EQ(udp(kClient6, p), 1u);
  EXPECT_EQ(udp(kClient6, 4), 0u);
  EXPECT_EQ(udp("2001:db8:1::6", 4), 0u) << "the same /64";
  EXPECT_EQ(r->drop_count(DropReason::ipv6_session_rate_source), 2u);
  EXPECT_EQ(r->count(Counter::nat64_bindings_created), 3u);
  EXPECT_EQ(udp(kClient6, 1), 1u) << "an existing binding is not asked again";
  EXPECT_EQ(r->drop_count(DropReason::ipv6_session_rate_source), 2u);
}

}  // namespace
}  // namespace wp
