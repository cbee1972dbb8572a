// RouterModel (router_model.h): the committed config compiled into lookups.
// Tenant by longest source prefix, then by interface; service by prefix,
// protocol and port ranges with the most specific prefix winning; deny by
// default (no policy -> kNone); routes: connected and static, longest
// prefix. Configs are built in code; no DPDK ports (resolve = nullptr, so
// port ids are interface indexes) unless a test passes its own resolver.
#include <gtest/gtest.h>

#include <string>

#include "dataplane/ip/packet.h"
#include "dataplane/control/router_model.h"
#include "tests/unit/pkt_builder.h"

namespace wp {
namespace {

using test::ip;

constexpr const char* kKey = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

class Cfg {
 public:
  Cfg() {
    c.mutable_router()->set_name("r1");
    auto* lan = c.mutable_router()->mutable_lan();
    lan->set_name("lan");
    lan->set_device("lan0");
    lan->set_address("10.1.0.1/24");
    auto* wan = c.mutable_router()->add_wan();
    wan->set_name("wan0");
    wan->set_device("wan0");
    wan->set_address("172.16.0.1/24");
    wan->set_mtu(1400);
  }
  Cfg& wan(const char* name, const char* addr) {
    auto* w = c.mutable_router()->add_wan();
    w->set_name(name);
    w->set_device(std::string(name) + "_dev");
    w->set_address(addr);
    return *this;
  }
  Cfg& tenant(const char* name, std::vector<const char*> prefixes, const char* iface = "") {
    auto* t = c.add_tenants();
    t->set_name(name);
    for (const char* p : prefixes) t->add_prefixes(p);
    t->set_interface(iface);
    return *this;
  }
  Cfg& service(const char* name, std::vector<const char*> prefixes, const char* proto = "",
               std::vector<const char*> ports = {}, const char* next_peer = "") {
    auto* s = c.add_services();
    s->set_name(name);
    for (const char* p : prefixes) s->add_prefixes(p);
    s->set_protocol(proto);
    for (const char* p : ports) s->add_ports(p);
    s->set_next_peer(next_peer);
    return *this;
  }
  Cfg& policy(const char* tenant, const char* service, const char* security = "") {
    auto* p = c.add_policies();
    p->set_tenant(tenant);
    p->set_service(service);
    p->set_security(security);
    return *this;
  }
  Cfg& security(const char* name, const char* enc, const char* hmac) {
    auto* s = c.add_security_policies();
    s->set_name(name);
    s->set_encryption(enc);
    s->set_hmac(hmac);
    return *this;
  }
  Cfg& peer(const char* name, std::vector<const char*> waypoints, const char* key = kKey) {
    auto* p = c.add_peers();
    p->set_name(name);
    for (const char* w : waypoints) p->add_waypoints(w);
    p->set_key(key);
    return *this;
  }
  Cfg& route(const char* prefix, const char* next_hop, const char* iface) {
    auto* r = c.add_routes();
    r->set_prefix(prefix);
    r->set_next_hop(next_hop);
    r->set_interface(iface);
    return *this;
  }
  std::shared_ptr<const RouterModel> build(std::string* error = nullptr) const {
    HmacEngine hmac;
    std::string err;
    auto m = RouterModel::build(c, nullptr, nullptr, hmac, err);
    if (error) *error = err;
    return m;
  }
  config::Config c;
};

TEST(Policy, InterfacesAndPortIdsWithoutAResolver) {
  auto m = Cfg().build();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->name, "r1");
  ASSERT_EQ(m->interfaces.size(), 2u);
  EXPECT_FALSE(m->interfaces[0].wan);
  EXPECT_TRUE(m->interfaces[1].wan);
  EXPECT_EQ(m->interfaces[0].addr, ip("10.1.0.1"));
  EXPECT_EQ(m->interfaces[0].subnet, (Ipv4Prefix{ip("10.1.0.0"), 24}));
  EXPECT_EQ(m->interfaces[0].mtu, 1500);
  EXPECT_EQ(m->interfaces[1].mtu, 1400);
  EXPECT_EQ(m->iface_by_port(0), 0);
  EXPECT_EQ(m->iface_by_port(1), 1);
  EXPECT_EQ(m->iface_by_port(2), kNone);
  EXPECT_EQ(m->own_address_iface(ip("172.16.0.1")), 1);
  EXPECT_EQ(m->own_address_iface(ip("10.1.0.1")), 0);
  EXPECT_EQ(m->own_address_iface(ip("10.1.0.2")), kNone);
}

TEST(Policy, ResolverMapsDevicesToPorts) {
  struct Ports {
    static std::optional<RouterModel::PortInfo> resolve(const std::string& dev, void* ctx) {
      ++*static_cast<int*>(ctx);
      if (dev == "lan0") return RouterModel::PortInfo{7, {2, 0, 0, 0, 0, 7}};
      if (dev == "wan0") return RouterModel::PortInfo{3, {2, 0, 0, 0, 0, 3}};
      return std::nullopt;
    }
  };
  HmacEngine hmac;
  std::string err;
  int calls = 0;
  auto m = RouterModel::build(Cfg().c, Ports::resolve, &calls, hmac, err);
  ASSERT_TRUE(m) << err;
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(m->iface_by_port(7), 0);
  EXPECT_EQ(m->iface_by_port(3), 1);
  EXPECT_EQ(m->iface_by_port(0), kNone);
  EXPECT_EQ(m->interfaces[1].mac[5], 3);
  // A device EAL does not know is an error naming it.
  auto bad = RouterModel::build(Cfg().wan("wan1", "192.168.0.1/24").c, Ports::resolve, &calls, hmac, err);
  EXPECT_FALSE(bad);
  EXPECT_NE(err.find("wan1_dev"), std::string::npos) << err;
}

TEST(Policy, TenantByLongestPrefixThenInterface) {
  auto m = Cfg()
               .tenant("corp", {"10.0.0.0/8"})
               .tenant("eng", {"10.1.0.0/16", "192.168.7.0/24"})
               .tenant("lab", {"10.1.0.128/25"})
               .tenant("guests", {}, "lan")
               .build();
  ASSERT_TRUE(m);
  int corp = m->tenant_by_name("corp"), eng = m->tenant_by_name("eng"), lab = m->tenant_by_name("lab"),
      guests = m->tenant_by_name("guests");
  EXPECT_EQ(m->tenant_for(ip("10.1.0.200"), 0), lab);
  EXPECT_EQ(m->tenant_for(ip("10.1.0.5"), 0), eng);
  EXPECT_EQ(m->tenant_for(ip("10.1.9.9"), 0), eng);
  EXPECT_EQ(m->tenant_for(ip("192.168.7.1"), 0), eng);
  EXPECT_EQ(m->tenant_for(ip("10.200.0.1"), 0), corp);
  // No prefix matches: the interface's tenant, only on that interface.
  EXPECT_EQ(m->tenant_for(ip("192.168.8.1"), 0), guests);
  EXPECT_EQ(m->tenant_for(ip("192.168.8.1"), 1), kNone);
  EXPECT_EQ(m->tenant_for(ip("192.168.8.1"), kNone), kNone);
  EXPECT_EQ(m->tenant_for(ip("10.1.0.5"), 1), eng) << "a prefix wins on any interface";
  EXPECT_EQ(m->tenant_by_name("nobody"), kNone);
}

TEST(Policy, TenantPrefixOrderInConfigDoesNotMatter) {
  auto m = Cfg().tenant("lab", {"10.1.0.128/25"}).tenant("corp", {"0.0.0.0/0"}).tenant("eng", {"10.1.0.0/16"}).build();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->tenant_for(ip("10.1.0.130"), 0), m->tenant_by_name("lab"));
  EXPECT_EQ(m->tenant_for(ip("10.1.0.1"), 0), m->tenant_by_name("eng"));
  EXPECT_EQ(m->tenant_for(ip("8.8.8.8"), 0), m->tenant_by_name("corp"));
}

TEST(Policy, ServiceByPrefixProtocolAndPorts) {
  auto m = Cfg()
               .service("web", {"10.2.0.0/24"}, "tcp", {"80", "8000-8100"})
               .service("dns", {"10.2.0.0/24", "10.9.0.53/32"}, "udp", {"53"})
               .service("lab", {"10.3.0.0/16"})
               .build();
  ASSERT_TRUE(m);
  int web = m->service_by_name("web"), dns = m->service_by_name("dns"), lab = m->service_by_name("lab");
  EXPECT_EQ(m->service_for(ip("10.2.0.10"), kProtoTcp, 80), web);
  EXPECT_EQ(m->service_for(ip("10.2.0.10"), kProtoTcp, 8000), web);
  EXPECT_EQ(m->service_for(ip("10.2.0.10"), kProtoTcp, 8050), web);
  EXPECT_EQ(m->service_for(ip("10.2.0.10"), kProtoTcp, 8100), web);
  EXPECT_EQ(m->service_for(ip("10.2.0.10"), kProtoTcp, 8101), kNone);
  EXPECT_EQ(m->service_for(ip("10.2.0.10"), kProtoTcp, 7999), kNone);
  EXPECT_EQ(m->service_for(ip("10.2.0.10"), kProtoTcp, 81), kNone);
  EXPECT_EQ(m->service_for(ip("10.2.0.10"), kProtoUdp, 80), kNone) << "protocol must match";
  EXPECT_EQ(m->service_for(ip("10.2.0.10"), kProtoUdp, 53), dns);
  EXPECT_EQ(m->service_for(ip("10.9.0.53"), kProtoUdp, 53), dns);
  EXPECT_EQ(m->service_for(ip("10.9.0.54"), kProtoUdp, 53), kNone);
  EXPECT_EQ(m->service_for(ip("10.2.1.10"), kProtoTcp, 80), kNone) << "prefix must match";
  // No protocol, no ports: everything to the prefix.
  EXPECT_EQ(m->service_for(ip("10.3.200.1"), kProtoUdp, 1), lab);
  EXPECT_EQ(m->service_for(ip("10.3.200.1"), kProtoTcp, 65535), lab);
  EXPECT_EQ(m->service_for(ip("10.3.200.1"), kProtoIcmp, 0), lab);
  EXPECT_TRUE(m->service_matches(web, ip("10.2.0.1"), kProtoTcp, 8080));
  EXPECT_FALSE(m->service_matches(web, ip("10.2.0.1"), kProtoUdp, 8080));
}

TEST(Policy, MostSpecificServiceWins) {
  auto m = Cfg()
               .service("everything", {"0.0.0.0/0"})
               .service("dc", {"10.2.0.0/16"})
               .service("db", {"10.2.5.5/32"}, "tcp", {"5432"})
               .service("dc-again", {"10.2.0.0/16"})  // equal prefix: config order breaks the tie
               .build();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->service_for(ip("10.2.5.5"), kProtoTcp, 5432), m->service_by_name("db"));
  EXPECT_EQ(m->service_for(ip("10.2.5.5"), kProtoTcp, 80), m->service_by_name("dc")) << "db does not match port 80";
  EXPECT_EQ(m->service_for(ip("10.2.9.9"), kProtoUdp, 1), m->service_by_name("dc"));
  EXPECT_EQ(m->service_for(ip("8.8.8.8"), kProtoUdp, 53), m->service_by_name("everything"));
}

TEST(Policy, DenyByDefault) {
  auto m = Cfg()
               .tenant("eng", {"10.1.0.0/24"})
               .tenant("guests", {}, "lan")
               .service("web", {"10.2.0.0/24"}, "tcp", {"80"})
               .service("ssh", {"10.2.0.0/24"}, "tcp", {"22"})
               .security("strict", "aes256-cbc", "every-packet")
               .policy("eng", "web", "strict")
               .policy("guests", "web")
               .build();
  ASSERT_TRUE(m);
  int eng = m->tenant_by_name("eng"), guests = m->tenant_by_name("guests");
  int web = m->service_by_name("web"), ssh = m->service_by_name("ssh");
  EXPECT_EQ(m->policy(eng, web), m->security_by_name("strict"));
  EXPECT_EQ(m->policy(guests, web), m->security_by_name("default")) << "no security named: the built-in default";
  EXPECT_EQ(m->security_by_name("default"), 0);
  EXPECT_EQ(m->policy(eng, ssh), kNone);
  EXPECT_EQ(m->policy(guests, ssh), kNone);
  EXPECT_EQ(m->policy(kNone, web), kNone);
  EXPECT_EQ(m->policy(eng, kNone), kNone);
  const SecurityModel& strict = m->security[m->security_by_name("strict")];
  EXPECT_TRUE(strict.encrypt);
  EXPECT_TRUE(strict.hmac_every_packet);
  EXPECT_FALSE(m->security[0].encrypt);

  auto none = Cfg().tenant("eng", {"10.1.0.0/24"}).service("web", {"10.2.0.0/24"}).build();
  ASSERT_TRUE(none);
  EXPECT_EQ(none->policy(0, 0), kNone) << "no policies at all: nothing is allowed";
}

TEST(Policy, RoutesConnectedAndStaticLongestPrefix) {
  auto m = Cfg()
               .route("0.0.0.0/0", "172.16.0.254", "wan0")
               .route("10.2.0.0/16", "172.16.0.2", "wan0")
               .route("10.2.5.0/24", "10.1.0.254", "lan")
               .build();
  ASSERT_TRUE(m);
  auto connected = m->route(ip("10.1.0.77"));
  ASSERT_TRUE(connected);
  EXPECT_EQ(connected->iface, 0);
  EXPECT_EQ(connected->addr, ip("10.1.0.77")) << "connected: resolve the destination itself";
  auto wan = m->route(ip("172.16.0.2"));
  ASSERT_TRUE(wan);
  EXPECT_EQ(wan->iface, 1);
  EXPECT_EQ(wan->addr, ip("172.16.0.2"));
  auto st = m->route(ip("10.2.1.1"));
  ASSERT_TRUE(st);
  EXPECT_EQ(st->iface, 1);
  EXPECT_EQ(st->addr, ip("172.16.0.2")) << "static: resolve the next hop";
  auto longer = m->route(ip("10.2.5.9"));
  ASSERT_TRUE(longer);
  EXPECT_EQ(longer->iface, 0);
  EXPECT_EQ(longer->addr, ip("10.1.0.254"));
  auto dflt = m->route(ip("8.8.8.8"));
  ASSERT_TRUE(dflt);
  EXPECT_EQ(dflt->addr, ip("172.16.0.254"));
  EXPECT_FALSE(Cfg().build()->route(ip("8.8.8.8"))) << "no default route: no route";
}

TEST(Policy, PeersAndServicesThatRouteToThem) {
  auto m = Cfg()
               .peer("r2", {"172.16.0.2", "172.17.0.2"})
               .peer("r3", {"172.16.0.3"})
               .service("web", {"10.2.0.0/24"}, "tcp", {"80"}, "r2")
               .service("local", {"10.1.0.0/24"})
               .build();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->peer_by_waypoint(ip("172.16.0.2")), 0);
  EXPECT_EQ(m->peer_by_waypoint(ip("172.17.0.2")), 0);
  EXPECT_EQ(m->peer_by_waypoint(ip("172.16.0.3")), 1);
  EXPECT_EQ(m->peer_by_waypoint(ip("172.16.0.4")), kNone);
  EXPECT_EQ(m->services[m->service_by_name("web")].next_peer, 0);
  EXPECT_EQ(m->services[m->service_by_name("local")].next_peer, kNone);
  EXPECT_TRUE(m->peers[0].keys.oldest().mac.valid);
}

TEST(Policy, TimeoutsDefaultAndOverride) {
  auto d = Cfg().build();
  EXPECT_EQ(d->tcp_established_s, 1800u);
  EXPECT_EQ(d->tcp_transitory_s, 30u);
  EXPECT_EQ(d->udp_s, 60u);
  Cfg c;
  c.c.mutable_timeouts()->set_udp(5);
  auto m = c.build();
  EXPECT_EQ(m->udp_s, 5u);
  EXPECT_EQ(m->tcp_established_s, 1800u);
}

TEST(Policy, BuildErrorsAreValuesWithAMessage) {
  std::string err;
  EXPECT_FALSE(Cfg().peer("r2", {"172.16.0.2"}, "0011").build(&err));
  EXPECT_NE(err.find("r2"), std::string::npos) << err;
  EXPECT_FALSE(Cfg().service("web", {"10.2.0.0/24"}, "tcp", {}, "nobody").build(&err));
  EXPECT_NE(err.find("nobody"), std::string::npos) << err;
  EXPECT_FALSE(Cfg().tenant("eng", {}).policy("eng", "missing").build(&err));
  EXPECT_NE(err.find("missing"), std::string::npos) << err;
  EXPECT_FALSE(Cfg().tenant("eng", {}).service("web", {"10.2.0.0/24"}).policy("eng", "web", "nope").build(&err));
  EXPECT_FALSE(Cfg().route("10.9.0.0/16", "not-an-ip", "wan0").build(&err));
  Cfg bad_addr;
  bad_addr.c.mutable_router()->mutable_lan()->set_address("10.1.0.1");
  EXPECT_FALSE(bad_addr.build(&err));
  EXPECT_NE(err.find("lan"), std::string::npos) << err;
}

}  // namespace
}  // namespace wp
