// ESP with IPv6 outer addresses through real workers
// (docs/ipsec.md § IPv6 outer addresses; worker/esp_step.h): the site seals under an IPv6 header
// (UDP 4500 with its checksum, or next header 50) to r2's WAN IPv6 address;
// r2's worker takes it by its SPI, opens it and sends the inner packet onto
// the LAN; the server's reply is sealed under an IPv6 header to the site
// (hop limit 64, the site's MAC from Neighbor Discovery) and the site opens
// it, IPv4 and IPv6 inside. Four workers: the SPI's owner opens it whichever
// worker received it. Refused: a replay, a tampered packet (its UDP
// checksum, then with the checksum forged its ICV), and ESP to an IPv6
// address of someone else is not taken as ours; a reply whose site has no
// IPv6 route is esp_no_route. HA (docs/ipsec.md § HA): a survivor opens the
// site's ESP to the HA peer's IPv6 address (ha.peer_addresses6) only while
// it holds that address after a takeover, and seals the reply from it.
#include <gtest/gtest.h>

#include <cstring>
#include <stdexcept>
#include <string>

#include "dataplane/ip/ndp.h"
#include "tests/unit/esp_site.h"
#include "tests/unit/pkt6_builder.h"

namespace wp {
namespace {

using namespace test;

std::unique_ptr<Router> make_router_outer6(Tunnel& tu, const config::Config& c, RouterOptions opts = {}) {
  auto r = make_router(tu, c, std::move(opts));
  Neighbor6Table& n6 = r->shared().neighbors6;
  n6.begin(kWan, kSite6, 0);
  n6.advert(kWan, kSite6, kSiteMac.data(), kNaSolicited | kNaOverride, 0);
  return r;
}

// The outer IPv6 header of what r2 sent the site.
void expect_outer6(const Frame& f, bool udp) {
  ASSERT_GE(f.raw.size(), 14u + 40 + 8 + 8);
  const uint8_t* ip = f.raw.data() + 14;
  EXPECT_EQ(get16(f.raw.data() + 12), kEtherTypeIpv6);
  EXPECT_EQ(std::memcmp(f.raw.data(), kSiteMac.data(), 6), 0) << "the site's MAC, from Neighbor Discovery";
  EXPECT_EQ(ip[0] >> 4, 6);
  EXPECT_EQ(ip[6], udp ? 17 : kIpProtoEsp);
  EXPECT_EQ(ip[7], 64);
  EXPECT_EQ(get16(ip + 4), f.raw.size() - 14 - 40);
  EXPECT_EQ(load_ipv6(ip + 8), kR2Wan6);
  EXPECT_EQ(load_ipv6(ip + 24), kSite6);
  if (!udp) return;
  EXPECT_EQ(get16(ip + 40), kIkeNattPort);
  EXPECT_EQ(get16(ip + 42), kIkeNattPort);
  EXPECT_NE(get16(ip + 46), 0) << "no zero UDP checksum over IPv6";
}

// The inner packet the site opened, as a frame for Frame's accessors.
Frame inner_frame(const Bytes& inner) {
  Frame f{Bytes(14, 0), 0};
  f.raw.insert(f.raw.end(), inner.begin(), inner.end());
  return f;
}

class EspOuter6Encap : public testing::TestWithParam<bool> {};  // UDP 4500, or IP protocol 50

TEST_P(EspOuter6Encap, SiteToServerAndTheReplyBack) {
  const bool udp = GetParam();
  Tunnel tu(true, udp, true);
  auto r = make_router_outer6(tu, headend_outer6_config());
  const Bytes sealed = tu.seal(Pkt().ipv4(kSiteHost, kServer, 63).tcp(40000, 80, kTcpSyn).bytes());
  ASSERT_EQ(sealed[14 + 6], udp ? 17 : kIpProtoEsp);
  Frame in = r->send_one(kWan, sealed);
  ASSERT_EQ(in.port, kLan) << r->drops();
  EXPECT_EQ(in.src(), kSiteHost);
  EXPECT_EQ(in.dst(), kServer);
  EXPECT_EQ(in.ttl(), 62);
  EXPECT_TRUE(in.l4_checksum_ok());
  Frame out = r->send_one(kLan, lan_frame(*r, Pkt().ipv4(kServer, kSiteHost).tcp(80, 40000, kTcpSyn | 0x10).payload("ok")));
  ASSERT_EQ(out.port, kWan) << r->drops();
  expect_outer6(out, udp);
  const Bytes inner = tu.open(out);  // the site checks the UDP checksum as it opens
  ASSERT_FALSE(inner.empty()) << "the site cannot open it";
  EXPECT_EQ(out.raw.size(), 14 + 40 + (udp ? 8 : 0) + esp_packet_len(EspCipher::aes256_gcm16, inner.size()));
  const Frame reply = inner_frame(inner);
  EXPECT_EQ(reply.src(), kServer);
  EXPECT_EQ(reply.dst(), kSiteHost);
  EXPECT_EQ(reply.payload_string(), "ok");
  EXPECT_EQ(tunnel_counter(*r, &EspTunnelCounters::in_packets), 1u);
  EXPECT_EQ(tunnel_counter(*r, &EspTunnelCounters::out_packets), 1u);
  EXPECT_EQ(r->total_drops(), 0u) << r->drops();
}

INSTANTIATE_TEST_SUITE_P(UdpOrProtocol50, EspOuter6Encap, testing::Bool());

// IPv6 inside IPv6 outside: the site's IPv6 host reaches an IPv6 server on
// r2's LAN (esp_worker6_test's routing, here under an IPv6 outer header).
TEST(EspOuter6Worker, Ipv6InsideBothWays) {
  Tunnel tu(true, true, true);
  config::Config c = headend_outer6_config();
  c.mutable_router()->mutable_lan()->add_ipv6_addresses("2001:db8:2::1/64");
  auto* hq6 = c.add_tenants();
  hq6->set_name("hq6");
  hq6->add_ipv6_prefixes("2001:db8:2::/64");
  add_service(c, {"web6", "2001:db8:2::10/128", "tcp", "80", ""});
  add_policy(c, "branch", "web6", "");
  auto r = make_router_outer6(tu, c);
  Neighbor6Table& n6 = r->shared().neighbors6;
  n6.begin(kLan, ip6("2001:db8:2::10"), 0);
  n6.advert(kLan, ip6("2001:db8:2::10"), kServerMac.data(), kNaSolicited | kNaOverride, 0);
  const Bytes syn =
      v6_checksummed(Pkt6().ipv6("2001:db8:50::7", "2001:db8:2::10", 63).tcp(40000, 80, kTcpSyn).payload("GET").bytes());
  Frame in = r->send_one(kWan, tu.seal(syn));
  ASSERT_EQ(in.port, kLan) << r->drops();
  EXPECT_EQ(Bytes(in.raw.begin() + 14 + 8, in.raw.end()), Bytes(syn.begin() + 14 + 8, syn.end())) << "byte-exact";
  Bytes answer = v6_checksummed(
      Pkt6().ipv6("2001:db8:2::10", "2001:db8:50::7", 64).tcp(80, 40000, kTcpSyn | 0x10).payload("200 ok").bytes());
  std::memcpy(answer.data(), r->model().interfaces[0].mac, 6);
  std::memcpy(answer.data() + 6, kServerMac.data(), 6);
  Frame out = r->send_one(kLan, answer);
  ASSERT_EQ(out.port, kWan) << r->drops();
  expect_outer6(out, true);
  const Bytes inner = tu.open(out);
  ASSERT_FALSE(inner.empty()) << "the site cannot open it";
  EXPECT_TRUE(tu.opened_ipv6) << "next header 41";
  EXPECT_EQ(Bytes(inner.begin() + 8, inner.end()), Bytes(answer.begin() + 14 + 8, answer.end()));
  EXPECT_EQ(r->total_drops(), 0u) << r->drops();
}

TEST(EspOuter6Worker, TheSpisOwnerOpensItFromAnyOfFourWorkers) {
  Tunnel tu(true, true, true);
  auto r = make_router_outer6(tu, headend_outer6_config(), RouterOptions().with_workers(4));
  for (uint16_t port = 42000; port < 42008; ++port) {
    rte_mbuf* m = Pkt::to_mbuf(test_pool(), tu.seal(Pkt().ipv4(kSiteHost, kServer).udp(port, 80).payload("x").bytes()), kWan);
    m->port = kWan;
    r->worker(port % 4).receive(&m, 1);  // wherever RSS put it
    for (int round = 0; round < 3; ++round)
      for (size_t w = 0; w < r->workers(); ++w) {
        r->worker(w).drain_handoff();
        r->worker(w).flush();
      }
  }
  size_t to_server = 0;
  for (const Frame& f : r->transmitted()) to_server += f.port == kLan && f.dst() == kServer && f.sport() >= 42000;
  EXPECT_EQ(to_server, 8u);
  EXPECT_EQ(tunnel_counter(*r, &EspTunnelCounters::in_packets), 8u);
}

TEST(EspOuter6Worker, ReplayedTamperedAndNotOursDrop) {
  Tunnel tu(true, true, true);
  auto r = make_router_outer6(tu, headend_outer6_config());
  const Bytes sealed = tu.seal(Pkt().ipv4(kSiteHost, kServer).udp(5000, 80).payload("once").bytes());
  EXPECT_EQ(r->send_one(kWan, sealed).port, kLan);
  EXPECT_TRUE(r->send(kWan, sealed).empty());
  EXPECT_EQ(r->drop_count(DropReason::esp_replayed), 1u);
  Bytes tampered = tu.seal(Pkt().ipv4(kSiteHost, kServer).udp(5001, 80).payload("twice").bytes());
  tampered[tampered.size() - 20] ^= 1;
  EXPECT_TRUE(r->send(kWan, tampered).empty());
  EXPECT_EQ(r->drop_count(DropReason::esp_udp6_checksum), 1u);
  // With the UDP checksum forged to match, the ICV still fails.
  uint8_t* ip = tampered.data() + 14;
  put16(ip + 46, 0);
  const auto len = static_cast<uint32_t>(tampered.size() - 14 - 40);
  put16(ip + 46, l4_checksum6(load_ipv6(ip + 8), load_ipv6(ip + 24), 17, ip + 40, len));
  EXPECT_TRUE(r->send(kWan, tampered).empty());
  EXPECT_EQ(r->drop_count(DropReason::esp_auth_failed), 1u);
  // ESP to an IPv6 address that is not r2's is not ESP to us: no ESP step sees it.
  Bytes elsewhere = tu.seal(Pkt().ipv4(kSiteHost, kServer).udp(5002, 80).payload("x").bytes());
  elsewhere[14 + 39] ^= 0x40;
  r->send(kWan, elsewhere);
  EXPECT_EQ(tunnel_counter(*r, &EspTunnelCounters::in_packets), 1u);
  EXPECT_EQ(tunnel_counter(*r, &EspTunnelCounters::in_drops), 3u);  // replay, checksum, ICV
}

// r2's pair node (2001:db8:ff::3 on wan0) with r2's 2001:db8:ff::2 as
// ha.peer_addresses6 and the taken-over Child SA at it (Tunnel's local6).
TEST(EspOuter6Worker, HaSurvivorOpensAndSealsAtThePeersAddressOnlyWhileItHoldsIt) {
  Tunnel tu(true, true, true);
  config::Config c = headend_config();
  c.mutable_router()->mutable_wan(0)->add_ipv6_addresses("2001:db8:ff::3/64");
  auto r = make_router_outer6(tu, c,
                              RouterOptions().with_events(EventConsumer::ha, 4096).with_prepare([](DataplaneShared& sh) {
                                sh.ha.peer_addresses6.push_back({kR2Wan6, kWan});
                                std::string err;
                                if (!sh.ha.create(1, 4096, SOCKET_ID_ANY, err)) throw std::runtime_error(err);
                              }));
  const Bytes first = tu.seal(Pkt().ipv4(kSiteHost, kServer).udp(5000, 80).payload("early").bytes());
  r->send(kWan, first);  // r2 still holds its address: not ours
  EXPECT_EQ(tunnel_counter(*r, &EspTunnelCounters::in_packets), 0u);
  r->shared().ha.peer_taken.store(true);  // r2 died, its addresses are ours
  Frame in = r->send_one(kWan, tu.seal(Pkt().ipv4(kSiteHost, kServer, 63).tcp(40000, 80, kTcpSyn).bytes()));
  ASSERT_EQ(in.port, kLan) << r->drops();
  EXPECT_EQ(in.dst(), kServer);
  Frame out = r->send_one(kLan, lan_frame(*r, Pkt().ipv4(kServer, kSiteHost).tcp(80, 40000, kTcpSyn | 0x10).payload("ok")));
  ASSERT_EQ(out.port, kWan) << r->drops();
  expect_outer6(out, true);  // from r2's address
  EXPECT_FALSE(tu.open(out).empty()) << "the site opens it";
  EXPECT_EQ(tunnel_counter(*r, &EspTunnelCounters::in_packets), 1u);
}

TEST(EspOuter6Worker, NoIpv6RouteToTheSiteIsEspNoRoute) {
  Tunnel tu(true, true, true);
  config::Config c = headend_outer6_config();
  c.mutable_router()->mutable_wan(0)->set_ipv6_addresses(0, "2001:db8:fe::2/64");  // the site is not on-link
  auto r = make_router_outer6(tu, c);
  EXPECT_TRUE(r->send(kLan, lan_frame(*r, Pkt().ipv4(kServer, kSiteHost).udp(53, 5000).payload("a"))).empty());
  EXPECT_EQ(r->drop_count(DropReason::esp_no_route), 1u) << r->drops();
  EXPECT_EQ(tunnel_counter(*r, &EspTunnelCounters::out_drops), 1u);
}

}  // namespace
}  // namespace wp
