// IPv6 inside a route-based IPsec tunnel through a real worker (docs/ipsec.md
// § IPv6 inside tunnels; worker/route6_step.h, worker/esp_step.h): the site
// seals an IPv6 packet (ESP next header 41), the headend opens it and routes
// it as a LAN packet of the tunnel's tenant (policy, Session6) onto its LAN,
// byte-exact but the hop limit; the server's reply goes back into the tunnel
// sealed with next header 41 and the site opens the same bytes. An IPv6 route
// into the tunnel carries LAN clients to the site's IPv6 prefix; TCP SYNs get
// their MSS clamped both ways (checksum updated at even and odd offsets). Refusals by
// reason: a service the tunnel's tenant is not allowed, an inner fragment,
// a packet above the tunnel MTU (Packet Too Big to the LAN sender), a LAN
// packet spoofing a tunnel session, IPv6 with no IPv6 routing configured.
// Toward a site host, a Packet Too Big (a packet above the LAN's MTU) and a
// Time Exceeded are sealed into the tunnel from its ipv6_address; without
// one none is sent and the Packet Too Big is counted.
// The tunnel's IPv6 punt path (#19; docs/ipsec.md
// § Dynamic routing over tunnels): IPv6 out of the tunnel to its
// ipv6_address goes to the control thread (its TUN) by punt class, other
// IPv6 is routed or refused as before, and IPv6 the kernel writes on the TUN
// is sealed by the tunnel's owner.
#include <gtest/gtest.h>

#include <cstring>

#include "dataplane/ip/icmp.h"
#include "dataplane/ip/ndp.h"
#include "dataplane/session/owner.h"
#include "dataplane/worker/punt_class.h"
#include "tests/unit/esp_site.h"
#include "tests/unit/icmp6_error_check.h"
#include "tests/unit/pkt6_builder.h"

namespace wp {
namespace {

using namespace test;

constexpr const char* kSiteHost6 = "2001:db8:50::7";  // behind the site
constexpr const char* kServer6 = "2001:db8:2::10";    // on r2's LAN
constexpr const char* kClient6 = "2001:db8:2::20";    // on r2's LAN, tenant hq6
constexpr Mac kClient6Mac = {2, 0, 0, 0, 2, 20};

// The headend of esp_site.h, dual stack: its LAN has an IPv6 prefix, the
// tunnel's tenant may reach web6 and ping6 (not ssh6), and hq6 on the LAN may
// reach the site's IPv6 prefix through an IPv6 route into ipsec0.
config::Config headend6_config() {
  config::Config c = headend_config();
  c.mutable_router()->mutable_lan()->add_ipv6_addresses("2001:db8:2::1/64");
  auto* t = c.add_tenants();
  t->set_name("hq6");
  t->add_ipv6_prefixes("2001:db8:2::/64");
  add_service(c, {"web6", "2001:db8:2::10/128", "tcp", "80", ""});
  add_service(c, {"ssh6", "2001:db8:2::10/128", "tcp", "22", ""});  // no policy for branch: denied
  add_service(c, {"ping6", "2001:db8:2::10/128", "", "", ""});
  add_service(c, {"site6", "2001:db8:50::/64", "", "", ""});
  add_policy(c, "branch", "web6", "");
  add_policy(c, "branch", "ping6", "");
  add_policy(c, "hq6", "site6", "");
  auto* r = c.add_routes();
  r->set_prefix("2001:db8:50::/64");
  r->set_interface("ipsec0");
  return c;
}

std::unique_ptr<Router> make_router6(Tunnel& tu, RouterOptions opts = {}, const config::Config& c = headend6_config()) {
  auto r = make_router(tu, c, std::move(opts));
  Neighbor6Table& n6 = r->shared().neighbors6;
  for (auto [a, mac] : {std::pair{kServer6, kServerMac}, std::pair{kClient6, kClient6Mac}}) {
    n6.begin(0, ip6(a), 0);
    n6.advert(0, ip6(a), mac.data(), kNaSolicited | kNaOverride, 0);
  }
  return r;
}

// A frame on r2's LAN from `mac` (the server's or the client's), to r2.
Bytes lan6(const Router& r, const Pkt6& p, const Mac& mac = kServerMac) {
  Bytes f = v6_checksummed(p.bytes());
  std::memcpy(f.data(), r.model().interfaces[0].mac, 6);
  std::memcpy(f.data() + 6, mac.data(), 6);
  return f;
}

// The IPv6 datagram of a frame (no Ethernet header).
Bytes datagram(const Bytes& frame) { return Bytes(frame.begin() + 14, frame.end()); }

// What a router sends on: the same datagram but the hop limit, one less.
void expect_routed(const Bytes& sent, const Bytes& got) {
  ASSERT_EQ(got.size(), sent.size());
  EXPECT_EQ(got[7], sent[7] - 1) << "hop limit - 1";
  EXPECT_EQ(std::memcmp(got.data(), sent.data(), 7), 0);
  EXPECT_EQ(std::memcmp(got.data() + 8, sent.data() + 8, sent.size() - 8), 0) << "addresses, L4, payload";
}

TEST(EspWorker6, SiteToServerAndTheReplyBackIntoTheTunnel) {
  Tunnel tu;
  auto r = make_router6(tu);
  const Bytes syn = v6_checksummed(Pkt6().ipv6(kSiteHost6, kServer6, 63).tcp(40000, 80, kTcpSyn).payload("GET").bytes());
  Frame in = r->send_one(kWan, tu.seal(syn));
  ASSERT_EQ(in.port, kLan) << r->drops();
  EXPECT_EQ(std::memcmp(in.dst_mac(), kServerMac.data(), 6), 0);
  expect_routed(datagram(syn), datagram(in.raw));
  EXPECT_EQ(r->count(Counter::sessions6_created), 1u);
  EXPECT_EQ(r->count(Counter::sessions_created), 0u) << "no IPv4 session";
  EXPECT_EQ(tunnel_counter(*r, &EspTunnelCounters::in_packets), 1u);

  // The reply goes back into the tunnel: no route to the site needed, the session remembers it.
  const Bytes synack = lan6(*r, Pkt6().ipv6(kServer6, kSiteHost6, 64).tcp(80, 40000, kTcpSyn | 0x10).payload("200 ok"));
  Frame out = r->send_one(kLan, synack);
  ASSERT_EQ(out.port, kWan) << r->drops();
  EXPECT_EQ(out.src(), kR2Wan);
  EXPECT_EQ(out.dst(), kSite);
  EXPECT_EQ(out.dport(), kIkeNattPort);
  const Bytes inner = tu.open(out);
  ASSERT_FALSE(inner.empty()) << "the site cannot open it";
  EXPECT_TRUE(tu.opened_ipv6) << "next header 41";
  expect_routed(datagram(synack), inner);
  EXPECT_EQ(tunnel_counter(*r, &EspTunnelCounters::out_packets), 1u);
  EXPECT_EQ(tunnel_counter(*r, &EspTunnelCounters::out_bytes), inner.size());
  // More of the session, both ways: still one session.
  r->send_one(kWan, tu.seal(v6_checksummed(Pkt6().ipv6(kSiteHost6, kServer6).tcp(40000, 80, 0x10).bytes())));
  EXPECT_EQ(r->count(Counter::sessions6_created), 1u);
  EXPECT_EQ(r->count(Counter::ipv6_forwarded), 3u);
  EXPECT_EQ(r->total_drops(), 0u) << r->drops();
}

// A SYN with an MSS option at `offset` into the TCP header (20: even; 21, after a NOP: odd).
Bytes syn_with_mss(const char* src, const char* dst, uint16_t mss, size_t offset) {
  std::vector<uint8_t> tcp(offset == 20 ? 24 : 28, 0);
  tcp[0] = 0x9c, tcp[1] = 0x40, tcp[3] = 80;  // 40000 -> 80
  tcp[12] = static_cast<uint8_t>(tcp.size() / 4 << 4);
  tcp[13] = kTcpSyn;
  if (offset == 21) tcp[20] = 1;  // NOP
  tcp[offset] = 2, tcp[offset + 1] = 4, tcp[offset + 2] = static_cast<uint8_t>(mss >> 8),
  tcp[offset + 3] = static_cast<uint8_t>(mss);
  return v6_checksummed(Pkt6().ipv6(src, dst).l4(kProtoTcp, tcp).bytes());
}

// Both ways, as IPv4's: the tunnel MTU less the IPv6 and TCP headers; the
// checksum updated (RFC 1624) at an even and at an odd offset.
TEST(EspWorker6, SynMssClampedToTheTunnelMtuBothWays) {
  for (size_t offset : {20u, 21u}) {
    Tunnel tu;
    auto r = make_router6(tu);
    Frame in = r->send_one(kWan, tu.seal(syn_with_mss(kSiteHost6, kServer6, 1440, offset)));
    ASSERT_EQ(in.port, kLan) << r->drops();
    const size_t tcp = 14 + 40;
    EXPECT_EQ(get16(in.raw.data() + tcp + offset + 2), 1400 - 60) << "offset " << offset;
    EXPECT_EQ(in.raw, v6_checksummed(in.raw)) << "the TCP checksum still holds, offset " << offset;
    Bytes lan_syn = syn_with_mss(kClient6, kSiteHost6, 1460, offset);  // into the tunnel by the route
    std::memcpy(lan_syn.data(), r->model().interfaces[0].mac, 6);
    std::memcpy(lan_syn.data() + 6, kClient6Mac.data(), 6);
    Frame out = r->send_one(kLan, lan_syn);
    const Bytes inner = tu.open(out);
    ASSERT_FALSE(inner.empty()) << r->drops();
    EXPECT_EQ(get16(inner.data() + 40 + offset + 2), 1400 - 60);
    Bytes framed(14, 0);
    framed.insert(framed.end(), inner.begin(), inner.end());
    framed[12] = 0x86, framed[13] = 0xdd;
    EXPECT_EQ(framed, v6_checksummed(framed));
    EXPECT_EQ(r->count(Counter::mss_clamped), 2u);
  }
}

TEST(EspWorker6, PingBothWays) {
  Tunnel tu;
  auto r = make_router6(tu);
  Frame in = r->send_one(kWan, tu.seal(v6_checksummed(Pkt6().ipv6(kSiteHost6, kServer6).icmp6_echo(7).payload("p").bytes())));
  ASSERT_EQ(in.port, kLan) << r->drops();
  Frame out = r->send_one(kLan, lan6(*r, Pkt6().ipv6(kServer6, kSiteHost6).icmp6_echo(7, kIcmp6EchoReply).payload("p")));
  const Bytes inner = tu.open(out);
  ASSERT_GE(inner.size(), 48u) << r->drops();
  EXPECT_EQ(inner[40], kIcmp6EchoReply);
  EXPECT_EQ(r->total_drops(), 0u) << r->drops();
}

TEST(EspWorker6, AServiceTheTunnelsTenantIsNotAllowedIsDenied) {
  Tunnel tu;
  auto r = make_router6(tu);
  r->send(kWan, tu.seal(v6_checksummed(Pkt6().ipv6(kSiteHost6, kServer6).tcp(40000, 22, kTcpSyn).bytes())));
  EXPECT_TRUE(r->transmitted().empty());
  EXPECT_EQ(r->drop_count(DropReason::policy_deny), 1u);
  EXPECT_EQ(r->count(Counter::sessions6_created), 0u);
  EXPECT_EQ(tunnel_counter(*r, &EspTunnelCounters::in_packets), 1u) << "opened, then refused by the policy";
}

TEST(EspWorker6, RouteIntoTheTunnelAndTheSitesAnswer) {
  Tunnel tu;
  auto r = make_router6(tu);
  ASSERT_NE(r->model().fib6.lookup(ip6(kSiteHost6)), nullptr);
  EXPECT_TRUE(r->model().fib6.lookup(ip6(kSiteHost6))->tunnel());
  const Bytes query = lan6(*r, Pkt6().ipv6(kClient6, kSiteHost6).udp(5000, 53).payload("query"), kClient6Mac);
  Frame out = r->send_one(kLan, query);
  ASSERT_EQ(out.port, kWan) << r->drops();
  EXPECT_EQ(out.dst(), kSite);
  const Bytes inner = tu.open(out);
  ASSERT_FALSE(inner.empty());
  EXPECT_TRUE(tu.opened_ipv6);
  expect_routed(datagram(query), inner);
  const Bytes answer = v6_checksummed(Pkt6().ipv6(kSiteHost6, kClient6).udp(53, 5000).payload("answer").bytes());
  Frame back = r->send_one(kWan, tu.seal(answer));
  ASSERT_EQ(back.port, kLan) << r->drops();
  EXPECT_EQ(std::memcmp(back.dst_mac(), kClient6Mac.data(), 6), 0);
  expect_routed(datagram(answer), datagram(back.raw));
  EXPECT_EQ(r->count(Counter::sessions6_created), 1u);
  EXPECT_EQ(r->total_drops(), 0u) << r->drops();
}

// RFC 8200 § 5: no fragmentation by the router; the LAN sender learns the tunnel's MTU.
TEST(EspWorker6, AboveTheTunnelMtuTheLanSenderGetsPacketTooBig) {
  Tunnel tu;
  auto r = make_router6(tu);
  const Bytes big = lan6(*r, Pkt6().ipv6(kClient6, kSiteHost6).udp(5000, 53).payload(std::string(1400 - 48 + 1, 'x')),
                         kClient6Mac);
  Frame f = r->send_one(kLan, big);
  ASSERT_EQ(f.port, kLan) << r->drops();
  const Ipv6View v = parse_ipv6_packet(f.raw.data(), static_cast<uint32_t>(f.raw.size()), 14);
  EXPECT_EQ(v.dst, ip6(kClient6));
  EXPECT_EQ(f.raw[v.l4], kIcmp6PacketTooBig);
  EXPECT_EQ(get32(f.raw.data() + v.l4 + 4), 1400u);
  EXPECT_EQ(r->drop_count(DropReason::ipv6_too_big), 1u);
  EXPECT_EQ(tunnel_counter(*r, &EspTunnelCounters::out_packets), 0u);
  // Exactly the MTU fits.
  Frame ok = r->send_one(kLan, lan6(*r, Pkt6().ipv6(kClient6, kSiteHost6).udp(5000, 53).payload(std::string(1400 - 48, 'x')),
                                    kClient6Mac));
  EXPECT_EQ(ok.port, kWan) << r->drops();
}

TEST(EspWorker6, RefusalsAreCountedByReason) {
  Tunnel tu;
  auto r = make_router6(tu);
  // An inner fragment: not reassembled.
  r->send(kWan, tu.seal(Pkt6().ipv6(kSiteHost6, kServer6).fragment(0, true, 7).udp(1, 2).payload("frag").bytes()));
  EXPECT_EQ(r->drop_count(DropReason::esp_inner_fragment6), 1u);
  // To the router's own address through the tunnel.
  r->send(kWan, tu.seal(v6_checksummed(Pkt6().ipv6(kSiteHost6, "2001:db8:2::1").udp(1, 2).bytes())));
  EXPECT_EQ(r->drop_count(DropReason::esp_inner_to_us), 1u);
  // Hop limit 1 from behind the tunnel: dropped, and no Time Exceeded into the void.
  r->send(kWan, tu.seal(v6_checksummed(Pkt6().ipv6(kSiteHost6, kServer6, 1).udp(1, 2).bytes())));
  EXPECT_EQ(r->drop_count(DropReason::ipv6_hop_limit), 1u);
  EXPECT_EQ(r->count(Counter::ipv6_icmp6_time_exceeded), 0u);
  // A LAN host spoofing the site host's side of a tunnel session.
  r->send_one(kWan, tu.seal(v6_checksummed(Pkt6().ipv6(kSiteHost6, kServer6).tcp(40001, 80, kTcpSyn).bytes())));
  r->send(kLan, lan6(*r, Pkt6().ipv6(kSiteHost6, kServer6).tcp(40001, 80, 0x10)));
  EXPECT_EQ(r->drop_count(DropReason::tunnel_mismatch), 1u);
  EXPECT_TRUE(r->transmitted().empty());
}

TEST(EspWorker6, WithoutIpv6RoutingTheTunnelsIpv6IsDropped) {
  Tunnel tu;
  auto r = make_router(tu);  // no service with IPv6 prefixes
  r->send(kWan, tu.seal(v6_checksummed(Pkt6().ipv6(kSiteHost6, kServer6).udp(1, 2).bytes())));
  EXPECT_TRUE(r->transmitted().empty());
  EXPECT_EQ(r->drop_count(DropReason::esp_inner_unsupported), 1u);
}

// SPI owner, session owner and tunnel owner on different workers: both ways.
TEST(EspWorker6, OwnersWithFourWorkers) {
  Tunnel tu;
  auto r = make_router6(tu, RouterOptions().with_workers(4));
  auto run = [&](rte_mbuf* m, size_t on) {
    r->worker(on).receive(&m, 1);
    for (int round = 0; round < 4; ++round)
      for (size_t w = 0; w < r->workers(); ++w) {
        r->worker(w).drain_handoff();
        r->worker(w).flush();
      }
  };
  for (uint16_t port = 41000; port < 41016; ++port) {
    run(Pkt::to_mbuf(test_pool(), tu.seal(v6_checksummed(Pkt6().ipv6(kSiteHost6, kServer6).tcp(port, 80, kTcpSyn).bytes())),
                     kWan),
        3);
    run(Pkt::to_mbuf(test_pool(), lan6(*r, Pkt6().ipv6(kServer6, kSiteHost6).tcp(80, port, kTcpSyn | 0x10)), kLan), 1);
  }
  size_t to_server = 0, to_site = 0;
  for (const Frame& f : r->transmitted()) {
    to_server += f.port == kLan;
    if (f.port == kWan && !tu.open(f).empty() && tu.opened_ipv6) ++to_site;
  }
  EXPECT_EQ(to_server, 16u);
  EXPECT_EQ(to_site, 16u);
  uint64_t drops = 0;
  for (size_t w = 0; w < r->workers(); ++w)
    for (size_t i = 0; i < kDropReasonCount; ++i) drops += r->worker(w).counters().get(static_cast<DropReason>(i));
  EXPECT_EQ(drops, 0u);
}

// --- The tunnel's IPv6 punt path (#19, docs/ipsec.md § Dynamic routing over tunnels) ---

constexpr const char* kTunnelAddr6 = "2001:db8:10::1";  // ours (tunnels[].ipv6_address)
constexpr const char* kTunnelPeer6 = "2001:db8:10::2";  // the site's end of the /126

config::Config punting6_config(bool punt, bool ipv6_routing = true) {
  config::Config c = ipv6_routing ? headend6_config() : headend_config();
  c.mutable_tunnels(0)->set_ipv6_address(std::string(kTunnelAddr6) + "/126");
  c.mutable_router()->mutable_punt()->set_enabled(punt);
  return c;
}

// Everything the worker passed to the control thread: (port marker, IPv6 destination).
std::vector<std::pair<uint16_t, Ipv6>> to_control6(Router& r) {
  std::vector<std::pair<uint16_t, Ipv6>> got;
  rte_mbuf* m = nullptr;
  while (rte_ring_dequeue(r.shared().to_control[0], reinterpret_cast<void**>(&m)) == 0) {
    got.emplace_back(m->port, load_ipv6(rte_pktmbuf_mtod(m, const uint8_t*) + 14 + 24));
    rte_pktmbuf_free(m);
  }
  return got;
}

Bytes sealed6(Tunnel& tu, const Pkt6& p) { return tu.seal(v6_checksummed(p.bytes())); }

TEST(EspTunnelPunt6, ToTheTunnelsIpv6AddressGoesUpItsTapByClass) {
  Tunnel tu;
  auto r = make_router(tu, punting6_config(true));
  const uint64_t sent_before = r->count(Counter::to_control);
  EXPECT_TRUE(r->send(kWan, sealed6(tu, Pkt6().ipv6(kTunnelPeer6, kTunnelAddr6, 1).tcp(40000, 179, kTcpSyn))).empty());
  EXPECT_TRUE(
      r->send(kWan, sealed6(tu, Pkt6().ipv6(kTunnelPeer6, kTunnelAddr6, 1).tcp(40000, 179, 0x10).payload("ka"))).empty());
  EXPECT_TRUE(r->send(kWan, sealed6(tu, Pkt6().ipv6(kTunnelPeer6, kTunnelAddr6).icmp6_echo(9).payload("hi"))).empty());
  EXPECT_TRUE(r->send(kWan, sealed6(tu, Pkt6().ipv6(kTunnelPeer6, kTunnelAddr6).udp(49152, 4784))).empty());
  // The TUN's link-local address (fe80:: + the interface ID of ipv6_address) is its too.
  EXPECT_EQ(r->model().tunnels[kTunnel].link_local6, ip6("fe80::1"));
  EXPECT_TRUE(r->send(kWan, sealed6(tu, Pkt6().ipv6("fe80::2", "fe80::1", 1).tcp(40001, 179, 0x10))).empty());
  EXPECT_EQ(r->count(Counter::punt_bgp_syn), 1u);
  EXPECT_EQ(r->count(Counter::punt_bgp), 2u);
  EXPECT_EQ(r->count(Counter::punt_icmp), 1u);
  EXPECT_EQ(r->count(Counter::punt_bfd), 1u);
  EXPECT_EQ(r->count(Counter::to_control), sent_before + 5u);
  const auto got = to_control6(*r);
  ASSERT_EQ(got.size(), 5u);
  for (const auto& [port, dst] : got) {
    EXPECT_EQ(tunnel_from(port), static_cast<int>(kTunnel)) << "the port says which tunnel";
    EXPECT_EQ(dst, ip6(&dst == &got[4].second ? "fe80::1" : kTunnelAddr6));
  }
  EXPECT_EQ(r->count(Counter::sessions6_created), 0u) << "not routed";
  EXPECT_EQ(r->total_drops(), 0u) << r->drops();
}

TEST(EspTunnelPunt6, AFloodIsCutToItsClassRate) {
  Tunnel tu;
  config::Config c = punting6_config(true);
  c.mutable_router()->mutable_punt()->set_bgp_syn_pps(100);  // a worker's share: 50/s, a burst of 12 (+ 8)
  auto r = make_router(tu, c);
  const uint32_t burst = 50 / 4 + 8;
  for (uint16_t i = 0; i < burst + 10; ++i)
    r->send(kWan, sealed6(tu, Pkt6().ipv6(kTunnelPeer6, kTunnelAddr6, 1).tcp(static_cast<uint16_t>(40000 + i), 179, kTcpSyn)));
  EXPECT_EQ(r->count(Counter::punt_bgp_syn), burst);
  EXPECT_EQ(r->drop_count(DropReason::punt_rate_bgp_syn), 10u);
  EXPECT_EQ(to_control6(*r).size(), burst);
}

TEST(EspTunnelPunt6, WithoutIpv6RoutingTheTunnelsOwnIpv6IsStillPunted) {
  Tunnel tu;
  auto r = make_router(tu, punting6_config(true, /*ipv6_routing=*/false));
  r->send(kWan, sealed6(tu, Pkt6().ipv6(kTunnelPeer6, kTunnelAddr6, 1).tcp(40000, 179, kTcpSyn)));
  EXPECT_EQ(r->count(Counter::punt_bgp_syn), 1u);
  EXPECT_EQ(to_control6(*r).size(), 1u);
  // What is not for it still needs IPv6 routing.
  r->send(kWan, sealed6(tu, Pkt6().ipv6(kTunnelPeer6, kServer6).udp(1, 2)));
  EXPECT_EQ(r->drop_count(DropReason::esp_inner_unsupported), 1u);
}

TEST(EspTunnelPunt6, OtherIpv6IsNotPunted) {
  Tunnel tu;
  auto r = make_router(tu, punting6_config(true));
  Neighbor6Table& n6 = r->shared().neighbors6;
  n6.begin(0, ip6(kServer6), 0);
  n6.advert(0, ip6(kServer6), kServerMac.data(), kNaSolicited | kNaOverride, 0);
  // The site's end of the /126 and a port's address through the tunnel: not the tunnel's own.
  r->send(kWan, sealed6(tu, Pkt6().ipv6(kSiteHost6, kTunnelPeer6).tcp(40000, 179, kTcpSyn)));
  r->send(kWan, sealed6(tu, Pkt6().ipv6(kSiteHost6, "2001:db8:2::1").icmp6_echo(9)));
  // A session to the server is routed as before.
  Frame in = r->send_one(kWan, sealed6(tu, Pkt6().ipv6(kSiteHost6, kServer6).tcp(40000, 80, kTcpSyn)));
  EXPECT_EQ(in.port, kLan) << r->drops();
  EXPECT_EQ(r->count(Counter::punt_bgp_syn) + r->count(Counter::punt_icmp), 0u);
  EXPECT_TRUE(to_control6(*r).empty());
  EXPECT_EQ(r->drop_count(DropReason::esp_inner_to_us), 1u) << "the port's address: " << r->drops();
}

TEST(EspTunnelPunt6, PuntOffRefusesTheTunnelsAddressAsEspInnerToUs) {
  Tunnel tu;
  auto r = make_router(tu, punting6_config(false));
  r->send(kWan, sealed6(tu, Pkt6().ipv6(kTunnelPeer6, kTunnelAddr6, 1).tcp(40000, 179, kTcpSyn)));
  EXPECT_EQ(r->drop_count(DropReason::esp_inner_to_us), 1u) << r->drops();
  EXPECT_EQ(r->count(Counter::punt_bgp_syn), 0u);
  EXPECT_TRUE(to_control6(*r).empty());
  EXPECT_TRUE(r->transmitted().empty()) << "never routed back into the tunnel";
}

// What the kernel wrote on the tunnel's TUN, as the control thread hands it
// to the dispatcher: an IPv6 frame with blank MACs.
rte_mbuf* kernel_packet6(const Pkt6& p) {
  Bytes f = v6_checksummed(p.bytes());
  std::memset(f.data(), 0, 12);
  return Pkt::to_mbuf(test_pool(), f, 0);
}

TEST(EspTunnelPunt6, TheKernelsIpv6IsSealedByTheTunnelsOwner) {
  Tunnel tu;
  auto r = make_router(tu, punting6_config(true), RouterOptions().with_workers(4));
  const uint32_t owner = owner_of_tunnel(kTunnel, 4);
  Worker dispatcher(4, r->shared(), 16, SessionTable::kHeapMemory);  // the main lcore's, as in waypointd
  const Pkt6 synack = Pkt6().ipv6(kTunnelAddr6, kTunnelPeer6, 1).tcp(179, 40000, kTcpSyn | 0x10).payload("open");
  dispatcher.tunnel_output(kernel_packet6(synack), kTunnel);
  EXPECT_EQ(dispatcher.counters().get(Counter::punt_from_kernel), 1u);
  EXPECT_EQ(dispatcher.counters().get(Counter::handoff_out), 1u);
  for (size_t w = 0; w < r->workers(); ++w) {
    r->worker(w).drain_handoff();
    r->worker(w).flush();
  }
  ASSERT_EQ(r->transmitted().size(), 1u);
  const Frame& out = r->transmitted()[0];
  EXPECT_EQ(out.port, kWan);
  EXPECT_EQ(out.dst(), kSite);
  const Bytes inner = tu.open(out);
  ASSERT_FALSE(inner.empty()) << "the site cannot open it";
  EXPECT_TRUE(tu.opened_ipv6) << "next header 41";
  EXPECT_EQ(inner, datagram(v6_checksummed(synack.bytes()))) << "as the kernel wrote it, hop limit too";
  EXPECT_EQ(r->shared().esp_tunnel_counters(owner, kTunnel)->out_packets.load(), 1u);
}

TEST(EspTunnelPunt6, TheKernelsIpv6IntoADownTunnelOrMalformedIsDroppedWithAReason) {
  Tunnel tu(/*with_out_sa=*/false);
  auto r = make_router(tu, punting6_config(true), RouterOptions().with_workers(2));
  Worker dispatcher(2, r->shared(), 16, SessionTable::kHeapMemory);
  dispatcher.tunnel_output(kernel_packet6(Pkt6().ipv6(kTunnelAddr6, kTunnelPeer6, 1).tcp(179, 40000, 0x10)), kTunnel);
  EXPECT_EQ(dispatcher.counters().get(DropReason::punt_tunnel_down), 1u);
  Bytes cut = v6_checksummed(Pkt6().ipv6(kTunnelAddr6, kTunnelPeer6).udp(1, 2).bytes());
  cut.resize(14 + 20);  // half an IPv6 header
  std::memset(cut.data(), 0, 12);
  dispatcher.tunnel_output(Pkt::to_mbuf(test_pool(), cut, 0), kTunnel);
  EXPECT_EQ(dispatcher.counters().get(DropReason::punt_kernel_unsent), 1u);
  EXPECT_EQ(dispatcher.counters().get(Counter::punt_from_kernel), 0u);
}

TEST(EspTunnelPunt6, NdAndMldAreWhatTheTunKeeps) {
  for (uint8_t t : {kMldQuery, kMldReport, kMldDone, kNdRouterSolicit, kNdRouterAdvert, kNdNeighborSolicit,
                    kNdNeighborAdvert, kNdRedirect, kMld2Report})
    EXPECT_TRUE(is_nd_or_mld(t)) << int(t);
  for (uint8_t t : {kIcmp6EchoRequest, kIcmp6EchoReply, kIcmp6DestUnreachable, kIcmp6PacketTooBig, uint8_t{138}})
    EXPECT_FALSE(is_nd_or_mld(t)) << int(t);
}

// --- Errors to a sender behind the tunnel (docs/ipsec.md § IPv6 inside tunnels) ---

// The headend with a LAN MTU (1300) below the tunnel's (1400): a site host's packet may come out of
// the tunnel and not fit the LAN; with or without the tunnel's ipv6_address to answer from.
config::Config small_lan6_config(bool tunnel_address) {
  config::Config c = headend6_config();
  c.mutable_router()->mutable_lan()->set_mtu(1300);
  if (tunnel_address) c.mutable_tunnels(0)->set_ipv6_address(std::string(kTunnelAddr6) + "/126");
  return c;
}

// The site host's TCP segment to the server of `len` bytes of IPv6, hop limit `hops`.
Bytes site_segment(uint16_t sport, uint32_t len, uint8_t hops = 63) {
  return v6_checksummed(
      Pkt6().ipv6(kSiteHost6, kServer6, hops).tcp(sport, 80, 0x10).payload(std::string(len - 60, 'd')).bytes());
}

// `out` is one ESP packet to the site holding an ICMPv6 error `type` (bytes 4-7 `rest`) from the
// tunnel's ipv6_address to the site host, quoting `sent` as it came out of the tunnel.
void expect_sealed_error(Tunnel& tu, const std::vector<Frame>& out, const Bytes& sent, uint8_t type, uint32_t rest) {
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].dst(), kSite) << "ESP to the site";
  const Bytes inner = tu.open(out[0]);
  ASSERT_FALSE(inner.empty()) << "the site opens it with its Child SA";
  EXPECT_TRUE(tu.opened_ipv6) << "next header 41";
  expect_icmp6_error(framed(inner), sent, ip6(kTunnelAddr6), ip6(kSiteHost6), type, rest);
}

// RFC 8200 § 5, RFC 4443 § 2.2: the site host learns the LAN's MTU from our address on the tunnel,
// sealed into the tunnel its packet came out of: a session's packet (the session holds the tunnel
// as its other side) and a first packet alike.
TEST(EspWorker6, ASiteHostAboveTheLanMtuGetsPacketTooBigSealedFromTheTunnelsAddress) {
  Tunnel tu;
  auto r = make_router6(tu, {}, small_lan6_config(true));
  ASSERT_EQ(r->send_one(kWan, tu.seal(site_segment(40000, 1300))).port, kLan) << r->drops();
  const Bytes big = site_segment(40000, 1301);
  expect_sealed_error(tu, r->send(kWan, tu.seal(big)), big, kIcmp6PacketTooBig, 1300);
  const Bytes first = site_segment(40001, 1400);
  expect_sealed_error(tu, r->send(kWan, tu.seal(first)), first, kIcmp6PacketTooBig, 1300);
  EXPECT_EQ(r->count(Counter::ipv6_icmp6_too_big), 2u);
  EXPECT_EQ(r->drop_count(DropReason::ipv6_too_big), 2u);
  EXPECT_EQ(r->count(Counter::tunnel_frag_needed_unsent), 0u);
  EXPECT_EQ(r->count(Counter::sessions6_created), 1u) << "none for what cannot leave";
  EXPECT_EQ(tunnel_counter(*r, &EspTunnelCounters::out_packets), 2u);
}

// RFC 4443 § 3.3: hop limit 1 out of the tunnel gets Time Exceeded back into it, from the same address.
TEST(EspWorker6, HopLimitOneFromBehindTheTunnelGetsTimeExceededSealedFromTheTunnelsAddress) {
  Tunnel tu;
  auto r = make_router6(tu, {}, small_lan6_config(true));
  const Bytes last = site_segment(40000, 100, 1);
  expect_sealed_error(tu, r->send(kWan, tu.seal(last)), last, kIcmp6TimeExceeded, 0);
  EXPECT_EQ(r->count(Counter::ipv6_icmp6_time_exceeded), 1u);
  EXPECT_EQ(r->drop_count(DropReason::ipv6_hop_limit), 1u);
}

// Without ipv6_address nothing speaks for us in the tunnel: no error, the Packet Too Big counted.
TEST(EspWorker6, WithoutTheTunnelsIpv6AddressNothingIsSealedAndTooBigIsCounted) {
  Tunnel tu;
  auto r = make_router6(tu, {}, small_lan6_config(false));
  EXPECT_TRUE(r->send(kWan, tu.seal(site_segment(40000, 1301))).empty());
  EXPECT_EQ(r->count(Counter::tunnel_frag_needed_unsent), 1u);
  EXPECT_EQ(r->drop_count(DropReason::ipv6_too_big), 1u);
  EXPECT_TRUE(r->send(kWan, tu.seal(site_segment(40001, 100, 1))).empty());
  EXPECT_EQ(r->drop_count(DropReason::ipv6_hop_limit), 1u);
  EXPECT_EQ(r->count(Counter::ipv6_icmp6_too_big) + r->count(Counter::ipv6_icmp6_time_exceeded), 0u);
  EXPECT_EQ(r->count(Counter::tunnel_frag_needed_unsent), 1u) << "a Time Exceeded is not a Packet Too Big";
}

}  // namespace
}  // namespace wp
