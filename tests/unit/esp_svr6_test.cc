// IPv6 out of a legacy IPsec tunnel onward over SVR, and FRR's IPv6 routes
// into the tunnel (#19/#20; docs/ipsec.md § IPv6 inside tunnels), through
// real workers of two routers, frames carried between them by the test:
//
//   site host 2001:db8:50::7 =ESP= [r2 headend] 172.16.0.2 ==IPv4 WAN== 172.16.0.1 [r1] - server 2001:db8:71::10
//
// The site's IPv6 packet, opened at r2 as a packet of the tunnel's tenant, to
// a service with next_peer r1: an IPv6 session over SVR whose LAN side is the
// tunnel (svr/svr6_lan.h), the metadata's TLV 3 and the tenant's name at r1,
// which restores it on its LAN; the server's answer comes back over SVR and
// r2 seals it into the same tunnel (next header 41). A LAN packet with the
// session's tuple is refused (tunnel_mismatch), a service the tunnel's tenant
// may not reach is policy_deny, and with four workers the SPI, session and
// tunnel owners meet; not posted to HA. FRR's IPv6 route whose next hop is the tunnel's TUN
// (by its ifindex, or by a gateway on the tunnel's ipv6_address prefix)
// seals LAN traffic into the tunnel; withdrawn, it is ipv6_no_route. An
// ICMPv6 error about the site host's packet that reaches r1's LAN comes back
// in the session and is sealed into the tunnel (TLV 21); r2's own Packet Too
// Big for an answer above the tunnel's MTU goes back in the session, and the
// one for a site host's packet too big for the WAN leg into the tunnel (from
// its ipv6_address; without one, counted).
#include <gtest/gtest.h>

#include <cstring>
#include <stdexcept>
#include <string>

#include "dataplane/ip/icmp.h"
#include "dataplane/svr/metadata.h"
#include "tests/unit/esp_frr_routes.h"
#include "tests/unit/esp_site.h"
#include "tests/unit/icmp6_error_check.h"
#include "tests/unit/pkt6_builder.h"
#include "tests/unit/svr6_frames.h"

namespace wp {
namespace {

using namespace test;

constexpr const char* kSiteHost6 = "2001:db8:50::7";   // behind the site
constexpr const char* kFarServer6 = "2001:db8:71::10";  // on r1's LAN
constexpr Mac kFarServerMac = {2, 0, 0, 0, 0x71, 0x10};
constexpr const char* kClient6 = "2001:db8:2::20";  // on r2's LAN, tenant hq6
constexpr Mac kClient6Mac = {2, 0, 0, 0, 2, 20};
constexpr const char* kBgpSite6 = "2001:db8:53::7";  // the site's prefix that BGP announces
constexpr uint8_t kBgp = 186;

// r2, the headend of esp_site.h: its tunnel's tenant (branch) may reach far6
// behind r1 over SVR (not far6ssh); hq6 on its LAN may reach the site's BGP
// prefix (no config route to it: FRR's alone).
config::Config headend_config6() {
  config::Config c = headend_config();
  c.mutable_router()->mutable_lan()->add_ipv6_addresses("2001:db8:2::1/64");
  c.mutable_tunnels(0)->set_ipv6_address("2001:db8:10::1/126");
  auto* t = c.add_tenants();
  t->set_name("hq6");
  t->add_ipv6_prefixes("2001:db8:2::/64");
  add_service(c, {"far6", "2001:db8:71::/64", "tcp", "80", "r1"});
  add_service(c, {"far6ssh", "2001:db8:71::/64", "tcp", "22", "r1"});
  add_service(c, {"site6", "2001:db8:53::/64", "", "", ""});
  add_policy(c, "branch", "far6", "");
  add_policy(c, "hq6", "site6", "");
  add_policy(c, "hq6", "far6", "");  // from r2's LAN too: an IPv6 session over SVR from a port
  add_peer(c, "r1", {"172.16.0.1"}, kKey12);
  return c;
}

// r1: far6 on its LAN, for the tenant named branch (as r2's metadata says).
config::Config far_config() {
  config::Config c = router_base("r1", "10.1.0.1/24", {{"wan0", "172.16.0.1/24"}});
  c.mutable_router()->mutable_lan()->add_ipv6_addresses("2001:db8:71::1/64");
  c.add_tenants()->set_name("branch");
  add_service(c, {"far6", "2001:db8:71::/64", "tcp", "80", ""});
  add_policy(c, "branch", "far6", "");
  add_peer(c, "r2", {"172.16.0.2"}, kKey12);
  return c;
}

struct TwoRouters {
  Tunnel tu;
  std::unique_ptr<Router> r2, r1;
  explicit TwoRouters(RouterOptions opts = {}, const config::Config& r2_config = headend_config6()) {
    r2 = make_router(tu, r2_config, std::move(opts));
    r2->neighbor(1, kR1Wan, kR1Mac);
    learn6_on(*r2, 0, ip6(kClient6), kClient6Mac);
    r1 = std::make_unique<Router>(far_config());
    r1->neighbor(1, kR2Wan, kR2Mac);
    learn6_on(*r1, 0, ip6(kFarServer6), kFarServerMac);
  }
  // The server's packet as it reaches r1's LAN.
  Bytes from_server(const Pkt6& p) const {
    Bytes f = v6_checksummed(p.bytes());
    std::memcpy(f.data(), r1->model().interfaces[0].mac, 6);
    std::memcpy(f.data() + 6, kFarServerMac.data(), 6);
    return f;
  }
  // The site's IPv6 packet sealed into the tunnel.
  Bytes from_site(const Pkt6& p) { return tu.seal(v6_checksummed(p.bytes())); }
};

// The datagram the site opened is `sent`'s (a frame) but the hop limit, `routers` less.
void expect_opened(const Bytes& sent, const Bytes& inner, int routers) {
  ASSERT_EQ(inner.size() + 14, sent.size());
  EXPECT_EQ(inner[7], sent[14 + 7] - routers) << "hop limit";
  EXPECT_EQ(std::memcmp(inner.data(), sent.data() + 14, 7), 0);
  EXPECT_EQ(std::memcmp(inner.data() + 8, sent.data() + 14 + 8, inner.size() - 8), 0) << "addresses, L4, payload";
}

TEST(EspSvr6, SiteToAFarServiceOverSvrAndTheAnswerSealedBack) {
  TwoRouters n;
  const Bytes syn = v6_checksummed(Pkt6().ipv6(kSiteHost6, kFarServer6, 63).tcp(40000, 80, kTcpSyn).payload("GET /").bytes());
  Frame w1 = n.r2->send_one(kWan, n.tu.seal(syn));
  ASSERT_EQ(w1.port, kWan) << n.r2->drops();
  EXPECT_EQ(w1.src(), kR2Wan);
  EXPECT_EQ(w1.dst(), kR1Wan) << "over SVR to r1, not back to the site";
  Metadata md;
  ASSERT_EQ(decode_metadata(w1.data(), w1.data_len(), md), MetadataStatus::ok);
  EXPECT_TRUE(hmac_ok(w1, kKey12));
  ASSERT_TRUE(md.has_forward_context6) << "TLV 3";
  EXPECT_EQ(md.forward_context6, (FiveTuple6{ip6(kSiteHost6), ip6(kFarServer6), 40000, 80, kProtoTcp}));
  EXPECT_EQ(md.tenant, "branch") << "the tunnel's tenant";
  EXPECT_EQ(md.service, "far6");
  EXPECT_EQ(n.r2->count(Counter::svr6_sessions_created), 1u);
  EXPECT_EQ(tunnel_counter(*n.r2, &EspTunnelCounters::in_packets), 1u);

  expect_restored6(syn, n.r1->send_one(kWan, w1.raw));
  EXPECT_EQ(n.r1->count(Counter::svr6_sessions_created), 1u);

  // The answer: over SVR to r2, which seals it into the tunnel the request came out of.
  const Bytes synack = n.from_server(Pkt6().ipv6(kFarServer6, kSiteHost6, 64).tcp(80, 40000, kTcpSyn | 0x10).payload("200"));
  Frame w2 = n.r1->send_one(kLan, synack);
  ASSERT_EQ(w2.port, kWan) << n.r1->drops();
  Frame out = n.r2->send_one(kWan, w2.raw);
  ASSERT_EQ(out.port, kWan) << n.r2->drops();
  EXPECT_EQ(out.src(), kR2Wan);
  EXPECT_EQ(out.dst(), kSite);
  EXPECT_EQ(out.dport(), kIkeNattPort);
  const Bytes inner = n.tu.open(out);
  ASSERT_FALSE(inner.empty()) << "the site cannot open it";
  EXPECT_TRUE(n.tu.opened_ipv6) << "next header 41";
  expect_opened(synack, inner, 2);
  EXPECT_EQ(tunnel_counter(*n.r2, &EspTunnelCounters::out_packets), 1u);
  EXPECT_EQ(n.r2->count(Counter::svr6_to_lan), 1u);

  // More of the session both ways: no metadata, the same sessions.
  for (int i = 0; i < 2; ++i) {
    const Bytes ack = v6_checksummed(Pkt6().ipv6(kSiteHost6, kFarServer6, 63).tcp(40000, 80, 0x10).payload("more").bytes());
    Frame w = n.r2->send_one(kWan, n.tu.seal(ack));
    Metadata none;
    EXPECT_EQ(decode_metadata(w.data(), w.data_len(), none), MetadataStatus::absent);
    expect_restored6(ack, n.r1->send_one(kWan, w.raw));
    const Bytes data = n.from_server(Pkt6().ipv6(kFarServer6, kSiteHost6, 64).tcp(80, 40000, 0x10).payload("body"));
    const Bytes opened = n.tu.open(n.r2->send_one(kWan, n.r1->send_one(kLan, data).raw));
    expect_opened(data, opened, 2);
  }
  EXPECT_EQ(n.r2->count(Counter::svr6_sessions_created), 1u);
  EXPECT_EQ(n.r1->count(Counter::svr6_sessions_created), 1u);
  EXPECT_EQ(tunnel_counter(*n.r2, &EspTunnelCounters::out_packets), 3u);
  EXPECT_EQ(n.r2->total_drops(), 0u) << n.r2->drops();
  EXPECT_EQ(n.r1->total_drops(), 0u) << n.r1->drops();

  // The session's tuple from r2's LAN: not the tunnel it belongs to.
  Bytes spoof = v6_checksummed(Pkt6().ipv6(kSiteHost6, kFarServer6, 63).tcp(40000, 80, 0x10).bytes());
  std::memcpy(spoof.data(), n.r2->model().interfaces[0].mac, 6);
  std::memcpy(spoof.data() + 6, kClient6Mac.data(), 6);
  EXPECT_TRUE(n.r2->send(kLan, spoof).empty());
  EXPECT_EQ(n.r2->drop_count(DropReason::tunnel_mismatch), 1u);
}

TEST(EspSvr6, AFarServiceTheTunnelsTenantIsNotAllowedIsDenied) {
  TwoRouters n;
  EXPECT_TRUE(n.r2->send(kWan, n.from_site(Pkt6().ipv6(kSiteHost6, kFarServer6).tcp(40000, 22, kTcpSyn))).empty());
  EXPECT_EQ(n.r2->drop_count(DropReason::policy_deny), 1u);
  EXPECT_EQ(n.r2->count(Counter::svr6_sessions_created), 0u);
}

// Without an outbound SA (the tunnel went down after the request): the answer is esp_no_sa, counted on the tunnel.
TEST(EspSvr6, TheAnswerIntoATunnelWithoutOutboundSaIsCounted) {
  TwoRouters n;
  Frame w1 = n.r2->send_one(kWan, n.from_site(Pkt6().ipv6(kSiteHost6, kFarServer6).tcp(40000, 80, kTcpSyn)));
  ASSERT_EQ(w1.dst(), kR1Wan) << n.r2->drops();
  ASSERT_EQ(n.r1->send_one(kWan, w1.raw).port, kLan) << n.r1->drops();
  Frame w2 = n.r1->send_one(kLan, n.from_server(Pkt6().ipv6(kFarServer6, kSiteHost6).tcp(80, 40000, kTcpSyn | 0x10)));
  n.tu.headend->mutable_tunnel(kTunnel).out_sa = kEspNoSa;
  EXPECT_TRUE(n.r2->send(kWan, w2.raw).empty());
  EXPECT_EQ(n.r2->drop_count(DropReason::esp_no_sa), 1u) << n.r2->drops();
  EXPECT_EQ(tunnel_counter(*n.r2, &EspTunnelCounters::out_drops), 1u);
}

// A router past r1 says the site host's segment is too big (ICMPv6 Packet Too Big on r1's LAN):
// the error travels back in the session (TLV 21) and r2 seals it into the tunnel with next header
// 41, as the session's own packets that way; the site opens it as from that router to its host,
// quoting the host's IPv6 and TCP headers with the host's own addresses.
TEST(EspSvr6, AnErrorAboutTheSiteHostsPacketIsSealedIntoTheTunnel) {
  TwoRouters n;
  const Bytes syn = v6_checksummed(Pkt6().ipv6(kSiteHost6, kFarServer6, 63).tcp(40000, 80, kTcpSyn).bytes());
  Frame w1 = n.r2->send_one(kWan, n.tu.seal(syn));
  ASSERT_EQ(n.r1->send_one(kWan, w1.raw).port, kLan) << n.r1->drops();
  Frame w2 = n.r1->send_one(kLan, n.from_server(Pkt6().ipv6(kFarServer6, kSiteHost6).tcp(80, 40000, kTcpSyn | 0x10)));
  ASSERT_FALSE(n.tu.open(n.r2->send_one(kWan, w2.raw)).empty()) << n.r2->drops();

  const Bytes seg = v6_checksummed(
      Pkt6().ipv6(kSiteHost6, kFarServer6, 63).tcp(40000, 80, 0x18).payload(std::string(1000, 'd')).bytes());
  const Frame restored = n.r1->send_one(kWan, n.r2->send_one(kWan, n.tu.seal(seg)).raw);
  ASSERT_EQ(restored.port, kLan) << n.r1->drops();
  constexpr const char* kBeyond6 = "2001:db8:71::fe";  // a router on r1's LAN, on the way to the server
  const std::vector<uint8_t> ptb = {kIcmp6PacketTooBig, 0, 0, 0, 0, 0, 0x05, 0x00};  // MTU 1280
  const Bytes error = n.from_server(Pkt6()
                                        .ipv6(kBeyond6, kSiteHost6, 62)
                                        .l4(kProtoIcmpv6, ptb)
                                        .payload(Bytes(restored.raw.begin() + 14, restored.raw.end())));
  const Frame carrier = n.r1->send_one(kLan, error);
  ASSERT_EQ(carrier.port, kWan) << n.r1->drops();
  EXPECT_EQ(n.r1->count(Counter::svr6_icmp6_errors_carried), 1u);

  const std::vector<Frame> out = n.r2->send(kWan, carrier.raw);
  ASSERT_EQ(out.size(), 1u) << n.r2->drops();
  EXPECT_EQ(out[0].dst(), kSite) << "ESP to the site";
  const Bytes inner = n.tu.open(out[0]);
  ASSERT_FALSE(inner.empty()) << "the site opens it with its Child SA";
  EXPECT_TRUE(n.tu.opened_ipv6) << "next header 41";
  Frame opened;
  opened.raw = Bytes(14, 0);
  opened.raw.insert(opened.raw.end(), inner.begin(), inner.end());
  expect_relayed(opened, seg, ip6(kBeyond6), ip6(kSiteHost6), kIcmp6PacketTooBig, 0, 1280, 20);
  EXPECT_EQ(n.r2->count(Counter::svr6_icmp6_errors_relayed), 1u);
  EXPECT_EQ(n.r2->drop_count(DropReason::svr_icmp_error_unsupported), 0u);
  EXPECT_EQ(n.r2->total_drops(), 0u) << n.r2->drops();

  // Without an outbound SA: esp_no_sa, as the session's own packets.
  n.tu.headend->mutable_tunnel(kTunnel).out_sa = kEspNoSa;
  const Frame again = n.r1->send_one(kLan, error);
  ASSERT_EQ(again.port, kWan) << n.r1->drops();
  EXPECT_TRUE(n.r2->send(kWan, again.raw).empty());
  EXPECT_EQ(n.r2->count(Counter::svr6_icmp6_errors_relayed), 2u);
  EXPECT_EQ(n.r2->drop_count(DropReason::esp_no_sa), 1u) << n.r2->drops();
}

// The server's answer, restored at r2, is above the tunnel's MTU (1400): dropped as svr6_too_big,
// and r2's own Packet Too Big, from its address on the tunnel (ipv6_address), goes back in the
// session to the server, as a LAN port's would.
TEST(EspSvr6, AnAnswerAboveTheTunnelMtuIsAnsweredThroughTheSession) {
  TwoRouters n;
  Frame w1 = n.r2->send_one(kWan, n.from_site(Pkt6().ipv6(kSiteHost6, kFarServer6).tcp(40000, 80, kTcpSyn)));
  ASSERT_EQ(n.r1->send_one(kWan, w1.raw).port, kLan) << n.r1->drops();
  const Bytes big = n.from_server(
      Pkt6().ipv6(kFarServer6, kSiteHost6).tcp(80, 40000, kTcpSyn | 0x10).payload(std::string(1360, 'd')));
  ASSERT_EQ(big.size() - 14, 1420u);
  const Frame w2 = n.r1->send_one(kLan, big);
  ASSERT_EQ(w2.port, kWan) << n.r1->drops();
  const Frame carrier = n.r2->send_one(kWan, w2.raw);
  ASSERT_EQ(carrier.dst(), kR1Wan) << "the error back in the session, the answer nowhere";
  EXPECT_EQ(n.r2->drop_count(DropReason::svr6_too_big), 1u);
  EXPECT_EQ(n.r2->count(Counter::svr6_icmp6_errors_carried), 1u);
  const Frame f = n.r1->send_one(kWan, carrier.raw);
  ASSERT_EQ(f.port, kLan) << n.r1->drops();
  EXPECT_EQ(std::memcmp(f.raw.data(), kFarServerMac.data(), 6), 0) << "to the server's MAC";
  expect_relayed(f, big, ip6("2001:db8:10::1"), ip6(kFarServer6), kIcmp6PacketTooBig, 0, 1400, 20);
}

// The site host's segment of `len` bytes of IPv6 to the far server, in the session of port 40000.
Bytes site_segment(uint32_t len) {
  return v6_checksummed(
      Pkt6().ipv6(kSiteHost6, kFarServer6, 63).tcp(40000, 80, 0x10).payload(std::string(len - 60, 'd')).bytes());
}

// Opens the session of port 40000 through both routers (SYN, SYN-ACK): metadata acked.
void open_session(TwoRouters& n) {
  Frame w1 = n.r2->send_one(kWan, n.from_site(Pkt6().ipv6(kSiteHost6, kFarServer6).tcp(40000, 80, kTcpSyn)));
  ASSERT_EQ(n.r1->send_one(kWan, w1.raw).port, kLan) << n.r1->drops();
  Frame w2 = n.r1->send_one(kLan, n.from_server(Pkt6().ipv6(kFarServer6, kSiteHost6).tcp(80, 40000, kTcpSyn | 0x10)));
  ASSERT_FALSE(n.tu.open(n.r2->send_one(kWan, w2.raw)).empty()) << n.r2->drops();
}

// r2 with a WAN MTU of 1300: its SVR leg carries IPv6 packets of up to 1320 bytes (an IPv4 WAN
// header is 20 bytes shorter, and this session seals nothing), less than the tunnel's 1400.
config::Config small_wan_config(bool tunnel_address) {
  config::Config c = headend_config6();
  c.mutable_router()->mutable_wan(0)->set_mtu(1300);
  if (!tunnel_address) c.mutable_tunnels(0)->clear_ipv6_address();
  return c;
}

// A site host's segment above 1280 bytes that would not fit r2's WAN leg once carried (RFC 8201;
// svr/svr6_lan.h, **MTU**): r2's Packet Too Big, with the largest packet that crosses, from its
// address on the tunnel (ipv6_address), sealed into the tunnel as the session's packets that way;
// nothing leaves over SVR.
TEST(EspSvr6, ASiteHostsPacketTooBigForTheWanLegGetsPacketTooBigSealedIntoTheTunnel) {
  TwoRouters n({}, small_wan_config(true));
  open_session(n);
  const Bytes big = site_segment(1321);
  const std::vector<Frame> out = n.r2->send(kWan, n.tu.seal(big));
  ASSERT_EQ(out.size(), 1u) << n.r2->drops();
  EXPECT_EQ(out[0].dst(), kSite) << "ESP to the site";
  const Bytes inner = n.tu.open(out[0]);
  ASSERT_FALSE(inner.empty()) << "the site opens it with its Child SA";
  EXPECT_TRUE(n.tu.opened_ipv6) << "next header 41";
  expect_icmp6_error(framed(inner), big, ip6("2001:db8:10::1"), ip6(kSiteHost6), kIcmp6PacketTooBig, 1320);
  EXPECT_EQ(n.r2->count(Counter::svr6_icmp6_too_big), 1u);
  EXPECT_EQ(n.r2->drop_count(DropReason::svr6_wan_too_big), 1u);
  EXPECT_EQ(n.r2->count(Counter::tunnel_frag_needed_unsent), 0u);
  // What fits crosses.
  const std::vector<Frame> fits = n.r2->send(kWan, n.tu.seal(site_segment(1320)));
  ASSERT_EQ(fits.size(), 1u) << n.r2->drops();
  EXPECT_EQ(fits[0].dst(), kR1Wan);
  EXPECT_EQ(n.r2->count(Counter::svr6_icmp6_too_big), 1u);
}

// Without the tunnel's ipv6_address: nothing to answer from, counted, nothing sent.
TEST(EspSvr6, WithoutTheTunnelsIpv6AddressTooBigForTheWanLegIsCounted) {
  TwoRouters n({}, small_wan_config(false));
  open_session(n);
  EXPECT_TRUE(n.r2->send(kWan, n.tu.seal(site_segment(1321))).empty());
  EXPECT_EQ(n.r2->count(Counter::tunnel_frag_needed_unsent), 1u);
  EXPECT_EQ(n.r2->count(Counter::svr6_icmp6_too_big), 0u);
  EXPECT_EQ(n.r2->drop_count(DropReason::svr6_wan_too_big), 1u);
}

// HA: a session from a port is posted whole on HA's IPv6 ring; one whose LAN
// side is the tunnel is not (no IPv6 session with a tunnel side is synced).
TEST(EspSvr6, ATunnelSideIsNotPostedToHa) {
  TwoRouters n(RouterOptions().with_events(EventConsumer::ha, 1024).with_prepare([](DataplaneShared& sh) {
    std::string err;
    if (!sh.ha.create(1, 1024, SOCKET_ID_ANY, err) || !sh.ha.create6(1, 1024, SOCKET_ID_ANY, err))
      throw std::runtime_error(err);
  }));
  rte_ring* ring = n.r2->shared().ha.event6_ring(0);
  ASSERT_NE(ring, nullptr);
  Bytes lan = v6_checksummed(Pkt6().ipv6(kClient6, kFarServer6).tcp(40001, 80, kTcpSyn).bytes());
  std::memcpy(lan.data(), n.r2->model().interfaces[0].mac, 6);
  std::memcpy(lan.data() + 6, kClient6Mac.data(), 6);
  ASSERT_EQ(n.r2->send_one(kLan, lan).dst(), kR1Wan) << n.r2->drops();
  const unsigned from_port = rte_ring_count(ring);
  EXPECT_GT(from_port, 0u) << "the LAN's session is posted";
  ASSERT_EQ(n.r2->send_one(kWan, n.from_site(Pkt6().ipv6(kSiteHost6, kFarServer6).tcp(40000, 80, kTcpSyn))).dst(), kR1Wan)
      << n.r2->drops();
  EXPECT_EQ(n.r2->count(Counter::svr6_sessions_created), 2u);
  EXPECT_EQ(rte_ring_count(ring), from_port) << "nothing more for the tunnel's";
  EXPECT_EQ(n.r2->count(Counter::ha6_events_dropped), 0u);
}

// SPI owner, session owner and tunnel owner on different workers of r2: both ways.
TEST(EspSvr6, OwnersWithFourWorkers) {
  TwoRouters n(RouterOptions().with_workers(4));
  Router& r2 = *n.r2;
  auto run = [&](rte_mbuf* m, size_t on) {
    r2.worker(on).receive(&m, 1);
    for (int round = 0; round < 4; ++round)
      for (size_t w = 0; w < r2.workers(); ++w) {
        r2.worker(w).drain_handoff();
        r2.worker(w).flush();
      }
  };
  constexpr uint16_t kFirst = 41000, kFlows = 16;
  for (uint16_t port = kFirst; port < kFirst + kFlows; ++port)
    run(Pkt::to_mbuf(test_pool(), n.from_site(Pkt6().ipv6(kSiteHost6, kFarServer6).tcp(port, 80, kTcpSyn)), kWan), 3);
  std::vector<Frame> to_r1;
  for (const Frame& f : r2.transmitted())
    if (f.port == kWan && f.dst() == kR1Wan) to_r1.push_back(f);
  ASSERT_EQ(to_r1.size(), kFlows) << r2.drops();
  for (const Frame& f : to_r1) {
    Frame lan = n.r1->send_one(kWan, f.raw);
    ASSERT_EQ(lan.port, kLan) << n.r1->drops();
    const uint16_t port = get16(lan.raw.data() + 14 + 40);  // the client's port
    Frame w2 = n.r1->send_one(kLan, n.from_server(Pkt6().ipv6(kFarServer6, kSiteHost6).tcp(80, port, kTcpSyn | 0x10)));
    run(Pkt::to_mbuf(test_pool(), w2.raw, kWan), 1);
  }
  size_t to_site = 0;
  for (const Frame& f : r2.transmitted())
    if (f.port == kWan && f.dst() == kSite && !n.tu.open(f).empty() && n.tu.opened_ipv6) ++to_site;
  EXPECT_EQ(to_site, kFlows);
  EXPECT_EQ(count_all(r2, Counter::svr6_sessions_created), kFlows);
  uint64_t drops = 0;
  for (size_t w = 0; w < r2.workers(); ++w)
    for (size_t i = 0; i < kDropReasonCount; ++i) drops += r2.worker(w).counters().get(static_cast<DropReason>(i));
  EXPECT_EQ(drops, 0u);
}

// --- FRR's IPv6 routes into the tunnel (test_ipsec.sh 1d: zebra learns the site's prefix over BGP) ---

fpm::FpmNextHop hop6(const char* gw, uint32_t ifindex) { return fpm::FpmNextHop{0, ifindex, 1, ip6(gw)}; }

Bytes from_client(const Router& r, const Pkt6& p) {
  Bytes f = v6_checksummed(p.bytes());
  std::memcpy(f.data(), r.model().interfaces[0].mac, 6);
  std::memcpy(f.data() + 6, kClient6Mac.data(), 6);
  return f;
}

// zebra's route by the TUN's link-local gateway and ifindex seals LAN traffic
// into the tunnel, as a config route into it does, and the site's answer
// enters the same session; by a gateway on the tunnel's ipv6_address prefix
// alone (an ifindex that names nothing) too; withdrawn, a new flow is
// ipv6_no_route.
TEST(EspSvr6, FrrIpv6RouteIntoTheTunnelSeals) {
  TwoRouters n;
  Router& r2 = *n.r2;
  TunnelFrrRoutes frr(r2);
  const Bytes query = from_client(r2, Pkt6().ipv6(kClient6, kBgpSite6, 64).udp(5000, 53).payload("query"));
  EXPECT_TRUE(r2.send(kLan, query).empty()) << "no route yet";
  EXPECT_EQ(r2.drop_count(DropReason::ipv6_no_route), 1u);

  fpm::FpmWriter w;
  w.route6(true, *parse_prefix6("2001:db8:53::/64"), kBgp, {hop6("fe80::2", TunnelFrrRoutes::kTunIfindex)});
  frr.publish(w);
  const FibRoute6* route = frr.fibs6.back()->lookup(ip6(kBgpSite6));
  ASSERT_NE(route, nullptr);
  ASSERT_EQ(route->paths, 1);
  EXPECT_EQ(route->hops[0].iface, kRoute6Tunnel);
  EXPECT_EQ(route->hops[0].next_hop, tunnel_hop6(kTunnel)) << "the tunnel, not zebra's gateway";
  Frame out = r2.send_one(kLan, query);
  ASSERT_EQ(out.port, kWan) << r2.drops();
  EXPECT_EQ(out.dst(), kSite);
  const Bytes inner = n.tu.open(out);
  ASSERT_FALSE(inner.empty());
  EXPECT_TRUE(n.tu.opened_ipv6);
  expect_opened(query, inner, 1);
  const Bytes answer = v6_checksummed(Pkt6().ipv6(kBgpSite6, kClient6, 64).udp(53, 5000).payload("answer").bytes());
  Frame back = r2.send_one(kWan, n.tu.seal(answer));
  ASSERT_EQ(back.port, kLan) << r2.drops();
  EXPECT_EQ(std::memcmp(back.dst_mac(), kClient6Mac.data(), 6), 0);
  EXPECT_EQ(r2.count(Counter::sessions6_created), 1u);

  // By a gateway on the tunnel's 2001:db8:10::/126 alone.
  w.clear();
  w.route6(true, *parse_prefix6("2001:db8:53::/64"), kBgp, {hop6("2001:db8:10::2", 77)});
  frr.publish(w);
  route = frr.fibs6.back()->lookup(ip6(kBgpSite6));
  ASSERT_NE(route, nullptr);
  EXPECT_EQ(route->hops[0].iface, kRoute6Tunnel);
  const Bytes query2 = from_client(r2, Pkt6().ipv6(kClient6, kBgpSite6, 64).udp(5001, 53).payload("query"));
  EXPECT_FALSE(n.tu.open(r2.send_one(kLan, query2)).empty()) << r2.drops();

  w.clear();
  w.route6(false, *parse_prefix6("2001:db8:53::/64"), kBgp, {});
  frr.publish(w);
  r2.idle();
  EXPECT_EQ(frr.fibs6.back()->lookup(ip6(kBgpSite6)), nullptr);
  EXPECT_TRUE(r2.send(kLan, from_client(r2, Pkt6().ipv6(kClient6, kBgpSite6, 64).udp(5002, 53))).empty());
  EXPECT_EQ(r2.drop_count(DropReason::ipv6_no_route), 2u);
  EXPECT_EQ(r2.count(Counter::sessions6_created), 2u);
  EXPECT_EQ(tunnel_counter(r2, &EspTunnelCounters::out_packets), 2u);
}

}  // namespace
}  // namespace wp
