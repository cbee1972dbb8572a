// NAT64 configuration (docs/ipv6.md § NAT64): services[].nat64 and
// tenants[].ipv6_prefixes validated with their paths, and the model's
// lookups (tenant_for6, nat64_service_for, the pool as our address).
#include <gtest/gtest.h>

#include "mgmt/config_load.h"
#include "tests/unit/nat64_test_config.h"
#include "tests/unit/pkt6_builder.h"

namespace wp {
namespace {

using namespace test;

template <class Edit>
config::Config with(Edit edit) {
  config::Config c = nat64_config();
  edit(c);
  return c;
}

config::Nat64& nat(config::Config& c) { return *c.mutable_services(0)->mutable_nat64(); }

TEST(Nat64Config, TheTestRouterIsValid) { EXPECT_EQ(config_errors(nat64_config()), ""); }

TEST(Nat64Config, PrefixMustBeAnRfc6052Prefix) {
  EXPECT_EQ(config_errors(with([](config::Config& c) { nat(c).set_prefix("2001:db8:64::/96"); })), "");
  EXPECT_EQ(config_errors(with([](config::Config& c) { nat(c).set_prefix("2001:db9::/32"); })), "");
  // RFC 6052 § 2.4's /64 example: byte 7 is the prefix's, the u octet (byte 8) comes after it.
  EXPECT_EQ(config_errors(with([](config::Config& c) { nat(c).set_prefix("2001:db8:122:344::/64"); })), "");
  EXPECT_TRUE(has_config_error(with([](config::Config& c) { nat(c).set_prefix("2001:db8:64::/80"); }),
                               "services[0].nat64.prefix", "length /80 is not one RFC 6052 allows"));
  EXPECT_TRUE(has_config_error(with([](config::Config& c) { nat(c).set_prefix("64:ff9b::1/96"); }),
                               "services[0].nat64.prefix", "bits set past its length"));
  EXPECT_TRUE(has_config_error(with([](config::Config& c) { nat(c).set_prefix("2001:db8:0:0:ff00::/96"); }),
                               "services[0].nat64.prefix", "bits 64-71"));
  EXPECT_TRUE(has_config_error(with([](config::Config& c) { nat(c).set_prefix("64:ff9b::"); }),
                               "services[0].nat64.prefix", "not an IPv6 prefix"));
  EXPECT_TRUE(has_config_error(with([](config::Config& c) { nat(c).set_prefix("2001:db8:1::/96"); }),
                               "services[0].nat64.prefix", "overlaps lan's IPv6 prefix 2001:db8:1::/64"));
}

TEST(Nat64Config, PoolIsInTheInterfaceSubnetAndNobodyElses) {
  EXPECT_TRUE(has_config_error(with([](config::Config& c) { nat(c).clear_pool(); }), "services[0].nat64.pool",
                               "at least one IPv4 address"));
  EXPECT_TRUE(has_config_error(with([](config::Config& c) { nat(c).set_pool(0, "172.17.0.64"); }),
                               "services[0].nat64.pool[0]", "not in wan0's subnet 172.16.0.0/24"));
  EXPECT_TRUE(has_config_error(with([](config::Config& c) { nat(c).set_pool(0, "172.16.0.1"); }),
                               "services[0].nat64.pool[0]", "already an address of this router"));
  EXPECT_TRUE(has_config_error(with([](config::Config& c) { nat(c).set_pool(0, "172.16.0.255"); }),
                               "services[0].nat64.pool[0]", "broadcast"));
  EXPECT_TRUE(has_config_error(with([](config::Config& c) { nat(c).set_pool(0, "172.16.0"); }),
                               "services[0].nat64.pool[0]", "not an IPv4 address"));
  EXPECT_TRUE(has_config_error(with([](config::Config& c) { nat(c).add_pool("172.16.0.64"); }),
                               "services[0].nat64.pool[1]", "listed twice"));
  EXPECT_TRUE(has_config_error(with([](config::Config& c) {
                                 for (int i = 0; i < 16; ++i) nat(c).add_pool("172.16.0." + std::to_string(100 + i));
                               }),
                               "services[0].nat64.pool", "at most 16"));
  EXPECT_TRUE(has_config_error(
      with([](config::Config& c) { c.mutable_router()->mutable_wan(0)->add_waypoint_addresses("172.16.0.64"); }),
      "services[0].nat64.pool[0]", "already an address"));
}

TEST(Nat64Config, InterfaceAndExclusions) {
  EXPECT_TRUE(has_config_error(with([](config::Config& c) { nat(c).clear_interface(); }), "services[0].nat64.interface",
                               "required"));
  EXPECT_TRUE(has_config_error(with([](config::Config& c) { nat(c).set_interface("wan9"); }),
                               "services[0].nat64.interface", "not an interface name"));
  EXPECT_TRUE(has_config_error(with([](config::Config& c) { c.mutable_services(0)->set_next_peer("r2"); }),
                               "services[0].nat64", "not a peer"));
  EXPECT_TRUE(has_config_error(
      with([](config::Config& c) { c.mutable_services(0)->mutable_breakout()->set_interface("wan0"); }),
      "services[0].nat64", "either nat64 or breakout"));
  // A second NAT64 service shares the first one's pool and interface.
  auto second = [](const char* pool) {
    return with([pool](config::Config& c) {
      config::Service* s = add_service(c, {"v4b", "8.8.8.0/24", "udp", "53", ""});
      s->mutable_nat64()->set_interface("wan0");
      s->mutable_nat64()->set_prefix("2001:db8:64::/96");
      s->mutable_nat64()->add_pool(pool);
    });
  };
  EXPECT_EQ(config_errors(second("172.16.0.64")), "");
  EXPECT_TRUE(has_config_error(second("172.16.0.65"), "services[1].nat64", "share one interface and pool"));
}

TEST(Nat64Config, TenantIpv6Prefixes) {
  EXPECT_TRUE(
      has_config_error(with([](config::Config& c) { c.mutable_tenants(0)->set_ipv6_prefixes(0, "2001:db8:1::5/80"); }),
                       "tenants[0].ipv6_prefixes[0]", "host bits set"));
  EXPECT_TRUE(
      has_config_error(with([](config::Config& c) { c.mutable_tenants(0)->set_ipv6_prefixes(0, "10.0.0.0/8"); }),
                       "tenants[0].ipv6_prefixes[0]", "not an IPv6 prefix"));
  // A tenant of IPv6 prefixes alone is a tenant.
  EXPECT_FALSE(has_config_error(nat64_config(), "tenants[0]", "needs"));
}

TEST(Nat64Model, LookupsAndThePoolAsOurAddress) {
  Router r(nat64_config());
  const RouterModel& m = r.model();
  EXPECT_EQ(m.tenant_for6(ip6("2001:db8:1::5"), 0), m.tenant_by_name("v6"));
  EXPECT_EQ(m.tenant_for6(ip6("2001:db8:1:0:1::5"), 0), m.tenant_by_name("guest6"));
  EXPECT_EQ(m.tenant_for6(ip6("2001:db8:2::5"), 0), kNone);
  Ipv4 v4 = 0;
  bool embedded = false;
  EXPECT_EQ(m.nat64_service_for(ip6("64:ff9b::808:404"), kProtoTcp, 80, v4, embedded), m.service_by_name("v4"));
  EXPECT_TRUE(embedded);
  EXPECT_EQ(v4, ip("8.8.4.4"));
  EXPECT_EQ(m.nat64_service_for(ip6("2001:db8:2::808:404"), kProtoTcp, 80, v4, embedded), kNone);
  EXPECT_FALSE(embedded);
  // IPv4 sources never match a NAT64 service.
  EXPECT_EQ(m.service_for(ip("8.8.4.4"), kProtoTcp, 80), kNone);
  EXPECT_EQ(m.nat64_service_for4(ip("8.8.4.4"), kProtoTcp, 80), m.service_by_name("v4"));
  EXPECT_TRUE(m.nat64_pool_holds(ip("172.16.0.64")));
  EXPECT_FALSE(m.nat64_pool_holds(ip("172.16.0.1")));
  EXPECT_EQ(m.own_address_iface(ip("172.16.0.64")), 1) << "ARP for the pool is answered on wan0";
}

}  // namespace
}  // namespace wp
