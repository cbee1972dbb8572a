// NAT46 configuration (docs/ipv6.md § NAT46): services[].nat46 validated with
// its paths, and the model's mappings: RFC 6052 § 2.4's vectors for an IPv4
// destination -> its IPv6 server and an IPv4 client -> its IPv6 source, the
// explicit server map, and the service lookups both ways.
#include <gtest/gtest.h>

#include "dataplane/control/router_model.h"
#include "mgmt/config_load.h"
#include "tests/unit/nat46_test_config.h"
#include "tests/unit/nat64_test_config.h"
#include "tests/unit/pkt6_builder.h"

namespace wp {
namespace {

using namespace test;

std::string errors(const config::Config& c) { return config_errors(c); }
// As has_config_error, and a failure naming what validation said instead.
bool has_error(const config::Config& c, const std::string& path, const std::string& text) {
  if (has_config_error(c, path, text)) return true;
  ADD_FAILURE() << "no error at " << path << " with \"" << text << "\" in:\n" << errors(c);
  return false;
}

template <class Edit>
config::Config with(Edit edit) {
  config::Config c = nat46_config();
  edit(c);
  return c;
}

config::Nat46& nat(config::Config& c) { return *c.mutable_services(0)->mutable_nat46(); }

std::shared_ptr<const RouterModel> model(const config::Config& c) {
  HmacEngine hmac;
  std::string err;
  auto m = RouterModel::build(c, nullptr, nullptr, hmac, err);
  EXPECT_TRUE(m) << err;
  return m;
}

Ipv6Bytes b6(const char* text) {
  Ipv6Bytes b;
  store_ipv6(b.data(), ip6(text));
  return b;
}

TEST(Nat46Config, TheTestRouterIsValid) { EXPECT_EQ(errors(nat46_config()), ""); }

TEST(Nat46Config, ServerAndSourcePrefixesAreRfc6052Prefixes) {
  EXPECT_EQ(errors(with([](config::Config& c) { nat(c).set_server_prefix("2001:db8:46::/64"); })), "");
  EXPECT_EQ(errors(with([](config::Config& c) { nat(c).set_source_prefix("2001:db8:4646::"); })), "")
      << "an address without a length is a /96";
  EXPECT_EQ(errors(with([](config::Config& c) { nat(c).set_source_prefix("2001:db9::/32"); })), "");
  has_error(with([](config::Config& c) { nat(c).set_server_prefix("2001:db8:46::/80"); }),
            "services[0].nat46.server_prefix", "length /80 is not one RFC 6052 allows");
  has_error(with([](config::Config& c) { nat(c).set_source_prefix("2001:db8:4646::1/96"); }),
            "services[0].nat46.source_prefix", "bits set past its length");
  has_error(with([](config::Config& c) { nat(c).set_source_prefix("2001:db8:0:0:100::/96"); }),
            "services[0].nat46.source_prefix", "bits 64-71");
  has_error(with([](config::Config& c) { nat(c).set_source_prefix("10.0.0.0/8"); }), "services[0].nat46.source_prefix",
            "not an IPv6 prefix");
  // Servers are on-link on the interface; the clients' prefix is on no link.
  has_error(with([](config::Config& c) { nat(c).set_server_prefix("2001:db8:47::/96"); }),
            "services[0].nat46.server_prefix", "not inside an IPv6 prefix of wan0 (2001:db8:46::/64)");
  has_error(with([](config::Config& c) { nat(c).set_server_prefix("2001:db8::/32"); }),
            "services[0].nat46.server_prefix", "not inside an IPv6 prefix of wan0");
  // ... or behind a router on that link: a static IPv6 route out of it holding the prefix whole,
  // or FRR's routes at run time. A route out of another interface, or narrower, is not one.
  EXPECT_EQ(errors(with([](config::Config& c) {
              nat(c).set_server_prefix("2001:db8:47::/96");
              add_route(c, "2001:db8:47::/48", "2001:db8:46::fe", "wan0");
            })),
            "");
  has_error(with([](config::Config& c) {
              nat(c).set_server_prefix("2001:db8:47::/96");
              add_route(c, "2001:db8:47::/48", "", "lan");
            }),
            "services[0].nat46.server_prefix", "nor a static IPv6 route out of it");
  has_error(with([](config::Config& c) {
              nat(c).set_server_prefix("2001:db8:47::/96");
              add_route(c, "2001:db8:47::/112", "2001:db8:46::fe", "wan0");
            }),
            "services[0].nat46.server_prefix", "behind a router on that link");
  EXPECT_EQ(errors(with([](config::Config& c) {
              nat(c).set_server_prefix("2001:db8:47::/96");
              c.mutable_fpm()->set_listen("127.0.0.1:2620");
            })),
            "");
  has_error(with([](config::Config& c) { nat(c).set_source_prefix("2001:db8:46:0:1::/96"); }),
            "services[0].nat46.source_prefix", "overlaps wan0's IPv6 prefix 2001:db8:46::/64");
  has_error(with([](config::Config& c) { nat(c).clear_source_prefix(); }), "services[0].nat46.source_prefix",
            "required");
  // One IPv6 address, one meaning: not a NAT64 prefix either.
  has_error(with([](config::Config& c) {
              config::Service* s = add_service(c, {"v4", "8.8.8.0/24", "any", "", ""});
              s->mutable_nat64()->set_interface("wan0");
              s->mutable_nat64()->add_pool("172.16.0.64");
              nat(c).set_source_prefix("64:ff9b::/96");
            }),
            "services[0].nat46.source_prefix", "overlaps service v4's NAT64 prefix 64:ff9b::/96");
}

TEST(Nat46Config, InterfaceAndExclusions) {
  has_error(with([](config::Config& c) { nat(c).clear_interface(); }), "services[0].nat46.interface", "required");
  has_error(with([](config::Config& c) { nat(c).set_interface("wan9"); }), "services[0].nat46.interface",
            "not an interface name");
  has_error(with([](config::Config& c) { nat(c).set_interface("lan"); }), "services[0].nat46.interface",
            "has no ipv6_addresses");
  has_error(with([](config::Config& c) { c.mutable_services(0)->set_next_peer("r2"); }), "services[0].nat46",
            "not a peer");
  has_error(with([](config::Config& c) { c.mutable_services(0)->mutable_breakout()->set_interface("wan0"); }),
            "services[0].nat46", "either nat46 or breakout");
  has_error(with([](config::Config& c) {
              c.mutable_services(0)->mutable_nat64()->set_interface("wan0");
              c.mutable_services(0)->mutable_nat64()->add_pool("172.16.0.64");
            }),
            "services[0].nat46", "either nat46 or nat64");
  has_error(with([](config::Config& c) { c.mutable_services(0)->add_paths("wan0"); }), "services[0]",
            "paths and sla apply to services routed to a peer");
  has_error(with([](config::Config& c) { c.mutable_services(0)->mutable_sla()->set_max_latency_ms(50); }),
            "services[0]", "paths and sla apply to services routed to a peer");
  has_error(with([](config::Config& c) { nat(c).clear_server_prefix(); }), "services[0].nat46.server_prefix",
            "required (or a servers map)");
  has_error(with([](config::Config& c) {
              auto* e = nat(c).add_servers();
              e->set_ipv4("10.46.0.10");
              e->set_ipv6("2001:db8:46::10");
            }),
            "services[0].nat46.server_prefix", "either server_prefix or servers");
  // The service's addresses are reached through the router, not on a link.
  has_error(with([](config::Config& c) { c.mutable_services(0)->set_prefixes(0, "172.16.0.128/25"); }),
            "services[0].prefixes[0]", "overlaps wan0's subnet 172.16.0.0/24");
}

TEST(Nat46Config, ExplicitServerMap) {
  auto map = [](std::initializer_list<std::pair<const char*, const char*>> entries) {
    return with([entries](config::Config& c) {
      nat(c).clear_server_prefix();
      for (const auto& [v4, v6] : entries) {
        auto* e = nat(c).add_servers();
        e->set_ipv4(v4);
        e->set_ipv6(v6);
      }
    });
  };
  EXPECT_EQ(errors(map({{"10.46.0.10", "2001:db8:46::a"}, {"10.46.0.11", "2001:db8:46::b"}})), "");
  has_error(map({{"10.47.0.10", "2001:db8:46::a"}}), "services[0].nat46.servers[0].ipv4",
            "not in the service's prefixes");
  has_error(map({{"10.46.0.10", "2001:db8:46::a"}, {"10.46.0.10", "2001:db8:46::b"}}),
            "services[0].nat46.servers[1].ipv4", "listed twice");
  has_error(map({{"10.46.0.10", "2001:db8:46::a"}, {"10.46.0.11", "2001:db8:46::a"}}),
            "services[0].nat46.servers[1].ipv6", "listed twice");
  has_error(map({{"10.46.0.10", "2001:db8:47::a"}}), "services[0].nat46.servers[0].ipv6",
            "not inside an IPv6 prefix of wan0");
  config::Config routed = map({{"10.46.0.10", "2001:db8:47::a"}});
  add_route(routed, "2001:db8:47::/64", "2001:db8:46::fe", "wan0");
  EXPECT_EQ(errors(routed), "") << "behind a router on wan0";
  has_error(map({{"10.46.0.10", "ff02::1"}}), "services[0].nat46.servers[0].ipv6", "not a unicast address");
  has_error(map({{"10.46.0", "2001:db8:46::a"}}), "services[0].nat46.servers[0].ipv4", "not an IPv4 address");
  has_error(map({{"10.46.0.10", "2001:db8:46::g"}}), "services[0].nat46.servers[0].ipv6", "not an IPv6 address");
  has_error(with([](config::Config& c) {
              nat(c).clear_server_prefix();
              for (int i = 0; i < 17; ++i) {
                auto* e = nat(c).add_servers();
                e->set_ipv4("10.46.0." + std::to_string(10 + i));
                e->set_ipv6("2001:db8:46::" + std::to_string(10 + i));
              }
            }),
            "services[0].nat46.servers", "at most 16");
}

// docs/ipv6.md § NAT46's example, from YAML, and the map's form.
TEST(Nat46Config, TheDocumentedYamlLoads) {
  const char* doc = R"(
router:
  name: r1
  lan: {name: lan, device: net_af_packet0, address: 10.1.0.1/24}
  wan:
    - {name: wan0, device: net_af_packet1, address: 172.16.0.1/24, ipv6_addresses: ["2001:db8:46::1/64"]}
tenants:
  - {name: lan, prefixes: [10.1.0.0/24]}
services:
  - name: v6srv
    prefixes: [10.46.0.0/24]
    nat46:
      interface: wan0
      server_prefix: 2001:db8:46::/96
      source_prefix: 2001:db8:4646::/96
  - name: one
    prefixes: [10.47.0.10/32]
    protocol: tcp
    nat46:
      interface: wan0
      servers: [{ipv4: 10.47.0.10, ipv6: "2001:db8:46::80"}]
      source_prefix: "2001:db8:4647::"
policies:
  - {tenant: lan, service: v6srv}
)";
  mgmt::ConfigResult r = mgmt::load_config_text(doc);
  ASSERT_TRUE(r.ok()) << r.error_text();
  auto m = model(r.config);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->services[1].nat46_server(ip("10.47.0.10")), b6("2001:db8:46::80"));
  EXPECT_EQ(m->services[1].nat46_source_len, 96);
  EXPECT_EQ(m->services[1].nat46_source(ip("10.1.0.5")), b6("2001:db8:4647::a01:5"));
  EXPECT_EQ(m->nat46_service_for(ip("10.47.0.10"), kProtoTcp, 22), 1);
}

TEST(Nat46Config, Nat64ConfigUnchanged) { EXPECT_EQ(errors(nat64_config()), ""); }

// RFC 6052 § 2.4: 192.0.2.33 under each prefix length.
struct Vector {
  const char* prefix;
  const char* embedded;
};
constexpr Vector kRfc6052[] = {
    {"2001:db8::/32", "2001:db8:c000:221::"},
    {"2001:db8:100::/40", "2001:db8:1c0:2:21::"},
    {"2001:db8:122::/48", "2001:db8:122:c000:2:2100::"},
    {"2001:db8:122:300::/56", "2001:db8:122:3c0:0:221::"},
    {"2001:db8:122:344::/64", "2001:db8:122:344:c0:2:2100:0"},
    {"2001:db8:122:344::/96", "2001:db8:122:344::c000:221"},
};

TEST(Nat46Model, Rfc6052VectorsForTheServer) {
  for (const Vector& v : kRfc6052) {
    SCOPED_TRACE(v.prefix);
    config::Config c = nat46_config();
    c.mutable_router()->mutable_wan(0)->set_ipv6_addresses(0, "2001:db8::1/32");  // servers on-link
    c.mutable_services(0)->set_prefixes(0, "192.0.2.0/24");
    nat(c).set_server_prefix(v.prefix);
    nat(c).set_source_prefix("2001:db9:4646::/96");
    ASSERT_EQ(errors(c), "");
    auto m = model(c);
    ASSERT_TRUE(m);
    const ServiceModel& s = m->services[0];
    EXPECT_EQ(s.nat46_server(ip("192.0.2.33")), b6(v.embedded));
    EXPECT_EQ(s.nat46_server4(b6(v.embedded)), ip("192.0.2.33"));
    // The reply from that server to a client comes back through the service.
    Ipv4 server4 = 0, client4 = 0;
    EXPECT_EQ(m->nat46_service_for6(ip6(v.embedded), ip6("2001:db9:4646::a01:5"), kProtoTcp, 80, server4, client4), 0);
    EXPECT_EQ(server4, ip("192.0.2.33"));
    EXPECT_EQ(client4, ip("10.1.0.5"));
  }
}

TEST(Nat46Model, Rfc6052VectorsForTheClient) {
  for (const Vector& v : kRfc6052) {
    SCOPED_TRACE(v.prefix);
    config::Config c = nat46_config();
    c.mutable_router()->mutable_wan(0)->set_ipv6_addresses(0, "2001:db9:46::1/64");
    nat(c).set_server_prefix("2001:db9:46::/96");
    nat(c).set_source_prefix(v.prefix);
    ASSERT_EQ(errors(c), "");
    auto m = model(c);
    ASSERT_TRUE(m);
    const ServiceModel& s = m->services[0];
    EXPECT_EQ(s.nat46_source(ip("192.0.2.33")), b6(v.embedded));
    EXPECT_EQ(s.nat46_client(b6(v.embedded)), ip("192.0.2.33"));
    Ipv4 server4 = 0, client4 = 0;
    EXPECT_EQ(m->nat46_service_for6(ip6("2001:db9:46::a2e:a"), ip6(v.embedded), kProtoUdp, 53, server4, client4), 0);
    EXPECT_EQ(server4, ip("10.46.0.10"));
    EXPECT_EQ(client4, ip("192.0.2.33"));
  }
}

TEST(Nat46Model, LookupsBothWays) {
  auto m = model(nat46_config());
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->nat46);
  const int svc = m->service_by_name("v6srv");
  EXPECT_EQ(m->nat46_service_for(ip("10.46.0.10"), kProtoTcp, 80), svc);
  EXPECT_EQ(m->nat46_service_for(ip("10.47.0.10"), kProtoTcp, 80), kNone);
  // IPv4 clients never meet a NAT46 service as a plain service (no SVR, no LAN delivery).
  EXPECT_EQ(m->service_for(ip("10.46.0.10"), kProtoTcp, 80), kNone);
  EXPECT_EQ(m->services[svc].nat46_iface, 1);
  EXPECT_EQ(m->services[svc].nat46_server(ip("10.46.0.10")), b6("2001:db8:46::a2e:a"));
  EXPECT_EQ(m->services[svc].nat46_source(ip("10.1.0.5")), b6("2001:db8:4646::a01:5"));
  Ipv4 server4 = 0, client4 = 0;
  EXPECT_EQ(m->nat46_service_for6(ip6("2001:db8:46::a2e:a"), ip6("2001:db8:4646::a01:5"), kProtoTcp, 80, server4,
                                  client4),
            svc);
  // Not under the source prefix, or a server outside the service's prefixes: none.
  EXPECT_EQ(m->nat46_service_for6(ip6("2001:db8:46::a2e:a"), ip6("2001:db8:4647::a01:5"), kProtoTcp, 80, server4,
                                  client4),
            kNone);
  EXPECT_EQ(m->nat46_service_for6(ip6("2001:db8:46::a2f:a"), ip6("2001:db8:4646::a01:5"), kProtoTcp, 80, server4,
                                  client4),
            kNone);
  // A router without NAT46 says so.
  auto m64 = model(nat64_config());
  ASSERT_TRUE(m64);
  EXPECT_FALSE(m64->nat46);
  EXPECT_EQ(m64->nat46_service_for(ip("8.8.8.8"), kProtoTcp, 80), kNone);
}

TEST(Nat46Model, ExplicitMapAndPorts) {
  config::Config c = nat46_config();
  c.mutable_services(0)->set_protocol("tcp");
  c.mutable_services(0)->add_ports("443");
  nat(c).clear_server_prefix();
  auto* e = nat(c).add_servers();
  e->set_ipv4("10.46.0.10");
  e->set_ipv6("2001:db8:46::abc");
  ASSERT_EQ(errors(c), "");
  auto m = model(c);
  ASSERT_TRUE(m);
  const ServiceModel& s = m->services[0];
  EXPECT_EQ(s.nat46_server(ip("10.46.0.10")), b6("2001:db8:46::abc"));
  EXPECT_EQ(s.nat46_server(ip("10.46.0.11")), std::nullopt) << "not in the map";
  EXPECT_EQ(s.nat46_server4(b6("2001:db8:46::abc")), ip("10.46.0.10"));
  EXPECT_EQ(s.nat46_server4(b6("2001:db8:46::a2e:a")), std::nullopt);
  EXPECT_EQ(m->nat46_service_for(ip("10.46.0.10"), kProtoTcp, 443), 0);
  EXPECT_EQ(m->nat46_service_for(ip("10.46.0.10"), kProtoTcp, 80), kNone);
  EXPECT_EQ(m->nat46_service_for(ip("10.46.0.10"), kProtoUdp, 443), kNone);
  Ipv4 server4 = 0, client4 = 0;
  EXPECT_EQ(m->nat46_service_for6(ip6("2001:db8:46::abc"), ip6("2001:db8:4646::a01:5"), kProtoTcp, 443, server4,
                                  client4),
            0);
  EXPECT_EQ(m->nat46_service_for6(ip6("2001:db8:46::abc"), ip6("2001:db8:4646::a01:5"), kProtoTcp, 80, server4,
                                  client4),
            kNone)
      << "the reply's source port is the service's port";
}

}  // namespace
}  // namespace wp
