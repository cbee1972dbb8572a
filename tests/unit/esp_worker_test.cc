// ESP in the worker loop through a real worker (dataplane/worker/esp_step.h;
// docs/ipsec.md § ESP in the worker loop): a site (its own SA table, the
// other direction's keys) seals an inner packet, the headend's worker opens
// it, the inner packet enters the session path as a packet of the tunnel's
// tenant and leaves on the LAN; the server's reply goes back into the tunnel
// (the session remembers it) and the site opens it. A route naming the
// tunnel sends LAN traffic into it. Denied by policy, tampered, unknown SPI,
// a spoofed inner source from the LAN and no outbound SA: each dropped with
// its reason. The owner rule: SPI and tunnel owners with several workers.
// The tunnel's punt path (docs/ipsec.md § Dynamic routing over tunnels):
// what comes out of the tunnel for its address goes to the control thread
// (its tap) by punt class; what the kernel writes on the tap is handed by
// the dispatcher to the tunnel's owner and sealed, or dropped when the
// tunnel has no outbound SA. FRR's routes into the tunnel (FPM frames naming
// the TUN's ifindex or a gateway on the tunnel's subnet) seal like the static
// route, follow withdrawals, and drop as esp_no_sa without an outbound SA.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <vector>

#include "dataplane/control/fpm/fpm_listener.h"
#include "dataplane/ipsec/esp_input.h"
#include "dataplane/ipsec/esp_output.h"
#include "dataplane/session/owner.h"
#include "dataplane/worker/esp_step.h"
#include "dataplane/worker/punt_class.h"
#include "tests/unit/esp_site.h"
#include "tests/unit/esp_frr_routes.h"

namespace wp {
namespace {

using namespace test;

TEST(EspWorker, ModelKnowsTunnelsAndRoutesIntoThem) {
  Tunnel tu;
  auto r = make_router(tu);
  ASSERT_EQ(r->model().tunnels.size(), 1u);
  EXPECT_EQ(r->model().tunnels[0].name, "ipsec0");
  EXPECT_EQ(r->model().tunnels[0].tenant, r->model().tenant_by_name("branch"));
  EXPECT_EQ(r->model().tunnels[0].mtu, 1400);
  EXPECT_EQ(r->model().tunnels[0].addr, ip("169.254.10.1"));
  EXPECT_EQ(r->model().tunnels[0].subnet.addr, ip("169.254.10.0"));
  EXPECT_EQ(r->model().tunnels[0].subnet.len, 30);
  EXPECT_EQ(r->model().tunnel_by_address(ip("169.254.10.1")), 0);
  EXPECT_EQ(r->model().tunnel_by_address(ip("169.254.10.2")), kNone);
  auto nh = r->model().route(kSiteHost);
  ASSERT_TRUE(nh);
  EXPECT_TRUE(nh->tunnel());
  EXPECT_EQ(nh->addr, kTunnel);
}

TEST(EspWorker, SiteToServerAndTheReplyBackIntoTheTunnel) {
  Tunnel tu;
  auto r = make_router(tu);
  const Bytes syn = Pkt().ipv4(kSiteHost, kServer, 63).tcp(40000, 80, kTcpSyn).tcp_options(4).bytes();
  Frame in = r->send_one(kWan, tu.seal(syn));
  EXPECT_EQ(in.port, kLan);
  EXPECT_EQ(in.src(), kSiteHost);
  EXPECT_EQ(in.dst(), kServer);
  EXPECT_EQ(in.dport(), 80);
  EXPECT_EQ(in.ttl(), 62);
  EXPECT_TRUE(in.ip_checksum_ok());
  EXPECT_TRUE(in.l4_checksum_ok());
  EXPECT_EQ(std::memcmp(in.dst_mac(), kServerMac.data(), 6), 0);
  EXPECT_EQ(r->count(Counter::sessions_created), 1u);
  EXPECT_EQ(tunnel_counter(*r, &EspTunnelCounters::in_packets), 1u);

  // The reply goes back into the tunnel (no route needed: the session remembers it).
  Frame out = r->send_one(kLan, lan_frame(*r, Pkt().ipv4(kServer, kSiteHost).tcp(80, 40000, kTcpSyn | 0x10).payload("ok")));
  EXPECT_EQ(out.port, kWan);
  EXPECT_EQ(out.src(), kR2Wan);
  EXPECT_EQ(out.dst(), kSite);
  EXPECT_EQ(out.proto(), Pkt::kUdp);
  EXPECT_EQ(out.sport(), kIkeNattPort);
  EXPECT_EQ(out.dport(), kIkeNattPort);
  EXPECT_TRUE(out.ip_checksum_ok());
  EXPECT_EQ(std::memcmp(out.dst_mac(), kSiteMac.data(), 6), 0);
  const Bytes inner = tu.open(out);
  ASSERT_FALSE(inner.empty()) << "the site cannot open it";
  Frame reply{Bytes(14, 0), 0};
  reply.raw.insert(reply.raw.end(), inner.begin(), inner.end());
  EXPECT_EQ(reply.src(), kServer);
  EXPECT_EQ(reply.dst(), kSiteHost);
  EXPECT_EQ(reply.sport(), 80);
  EXPECT_EQ(reply.payload_string(), "ok");
  EXPECT_TRUE(reply.l4_checksum_ok());
  EXPECT_EQ(tunnel_counter(*r, &EspTunnelCounters::out_packets), 1u);
  EXPECT_EQ(tunnel_counter(*r, &EspTunnelCounters::out_bytes), inner.size());
  EXPECT_EQ(r->total_drops(), 0u) << r->drops();
}

TEST(EspWorker, SynMssClampedToTheTunnelMtu) {
  Tunnel tu;
  auto r = make_router(tu);
  Frame in = r->send_one(kWan, tu.seal(site_syn_mss1460(40001)));
  EXPECT_EQ(get16(in.l4() + 20 + 2), 1400 - 40);
  EXPECT_TRUE(in.l4_checksum_ok());
}

TEST(EspWorker, PingThroughTheTunnel) {
  Tunnel tu;
  auto r = make_router(tu);
  Frame in = r->send_one(kWan, tu.seal(Pkt().ipv4(kSiteHost, kServer).icmp_echo(7, 1).payload("ping").bytes()));
  EXPECT_EQ(in.dst(), kServer);
  Frame out = r->send_one(kLan, lan_frame(*r, Pkt().ipv4(kServer, kSiteHost).icmp_echo(7, 1, 0).payload("ping")));
  const Bytes inner = tu.open(out);
  ASSERT_GE(inner.size(), 28u);
  EXPECT_EQ(inner[20], 0);  // echo reply
  EXPECT_EQ(r->total_drops(), 0u) << r->drops();
}

// A LAN host's query to the site host leaves sealed to the site, and the
// site's answer comes out of the tunnel into the same session.
void tunnel_round_trip(Router& r, Tunnel& tu, const Bytes& query) {
  Frame out = r.send_one(kLan, query);
  EXPECT_EQ(out.port, kWan);
  EXPECT_EQ(out.dst(), kSite);
  const Bytes inner = tu.open(out);
  ASSERT_FALSE(inner.empty());
  EXPECT_EQ(test::get32(inner.data() + 16), kSiteHost);
  Frame back = r.send_one(kWan, tu.seal(Pkt().ipv4(kSiteHost, kServer).udp(53, 5000).payload("answer").bytes()));
  EXPECT_EQ(back.port, kLan);
  EXPECT_EQ(back.payload_string(), "answer");
}

TEST(EspWorker, RouteIntoTheTunnel) {
  Tunnel tu;
  auto r = make_router(tu);
  tunnel_round_trip(*r, tu, lan_frame(*r, Pkt().ipv4(kServer, kSiteHost).udp(5000, 53).payload("query")));
  EXPECT_EQ(r->count(Counter::sessions_created), 1u);
  EXPECT_EQ(r->total_drops(), 0u) << r->drops();
}

config::Config headend_without_routes() {
  config::Config c = headend_config();
  c.clear_routes();
  return c;
}

constexpr uint8_t kBgp = 186;

// zebra's route to the site's prefix through the tunnel's TUN seals LAN
// traffic into the tunnel exactly as the static route does, and the site's
// answer enters the same session. The same route by a gateway on the
// tunnel's subnet keeps the session where it is (tunnel 0 is a next hop like
// any); withdrawn, the session is closed and a new one is no_route.
TEST(EspWorker, FrrRouteIntoTheTunnel) {
  Tunnel tu;
  auto r = make_router(tu, headend_without_routes());
  TunnelFrrRoutes frr(*r);
  const Bytes query = lan_frame(*r, Pkt().ipv4(kServer, kSiteHost).udp(5000, 53).payload("query"));
  EXPECT_TRUE(r->send(kLan, query).empty()) << "no route yet";
  EXPECT_EQ(r->drop_count(DropReason::no_route), 1u);

  fpm::FpmWriter w;
  w.route(true, *parse_prefix("10.50.0.0/24"), kBgp, {{ip("169.254.10.2"), TunnelFrrRoutes::kTunIfindex, 1}});
  frr.publish(w);
  tunnel_round_trip(*r, tu, query);
  EXPECT_EQ(r->count(Counter::sessions_created), 1u);
  EXPECT_EQ(tunnel_counter(*r, &EspTunnelCounters::out_packets), 1u);

  // The same route by its gateway alone (an ifindex that names nothing).
  w.clear();
  w.route(true, *parse_prefix("10.50.0.0/24"), kBgp, {{ip("169.254.10.2"), 77, 1}});
  frr.publish(w);
  r->idle();
  EXPECT_EQ(r->count(Counter::sessions_route_moved), 0u);
  EXPECT_EQ(r->count(Counter::sessions_route_closed), 0u);
  EXPECT_FALSE(tu.open(r->send_one(kLan, query)).empty());

  w.clear();
  w.route(false, *parse_prefix("10.50.0.0/24"), kBgp, {});
  frr.publish(w);
  r->idle();
  EXPECT_EQ(r->count(Counter::sessions_route_closed), 1u);
  EXPECT_TRUE(r->send(kLan, query).empty());
  EXPECT_EQ(r->drop_count(DropReason::no_route), 2u);
  EXPECT_EQ(r->count(Counter::sessions_created), 1u);
  EXPECT_EQ(r->total_drops(), 2u) << r->drops();
}

// An FRR route into a tunnel that has no outbound SA (down, or not
// negotiated yet) is a counted drop, as for the static route: esp_no_sa.
TEST(EspWorker, FrrRouteIntoATunnelWithoutOutboundSa) {
  Tunnel tu(/*with_out_sa=*/false);
  auto r = make_router(tu, headend_without_routes());
  TunnelFrrRoutes frr(*r);
  fpm::FpmWriter w;
  w.route(true, *parse_prefix("10.50.0.0/24"), kBgp, {{0, TunnelFrrRoutes::kTunIfindex, 1}});
  frr.publish(w);
  EXPECT_TRUE(r->send(kLan, lan_frame(*r, Pkt().ipv4(kServer, kSiteHost).udp(5000, 53))).empty());
  EXPECT_EQ(r->drop_count(DropReason::esp_no_sa), 1u);
  EXPECT_EQ(tunnel_counter(*r, &EspTunnelCounters::out_drops), 1u);
}

// A LAN host's ping to the site's prefix (issue #20, test_ipsec.sh 1d): with
// no route (before BGP, or withdrawn when the tunnel died) it is no_route, not
// unsupported_proto; through FRR's route into the tunnel it is sealed; routed
// to a LAN router instead it is unsupported_proto (ICMP echo is carried only
// between the LAN and a tunnel or a breakout).
TEST(EspWorker, FrrRoutePingIsNoRouteWithoutTheRoute) {
  Tunnel tu;
  config::Config c = headend_without_routes();
  add_service(c, {"site-any", "10.50.0.0/24", "any", "", ""});
  add_policy(c, "hq", "site-any", "");
  auto r = make_router(tu, c);
  r->neighbor(0, ip("10.2.0.99"), kServerMac);
  TunnelFrrRoutes frr(*r);
  const auto ping = [&](uint16_t id) {
    return lan_frame(*r, Pkt().ipv4(kServer, kSiteHost).icmp_echo(id, 1).payload("ping"));
  };
  EXPECT_TRUE(r->send(kLan, ping(1)).empty());
  EXPECT_EQ(r->drop_count(DropReason::no_route), 1u) << r->drops();

  fpm::FpmWriter w;
  w.route(true, *parse_prefix("10.50.0.0/24"), kBgp, {{ip("169.254.10.2"), TunnelFrrRoutes::kTunIfindex, 1}});
  frr.publish(w);
  const Bytes inner = tu.open(r->send_one(kLan, ping(2)));
  ASSERT_GE(inner.size(), 28u);
  EXPECT_EQ(test::get32(inner.data() + 16), kSiteHost);
  EXPECT_EQ(inner[20], 8);  // the echo request, sealed
  EXPECT_EQ(tunnel_counter(*r, &EspTunnelCounters::out_packets), 1u);

  w.clear();
  w.route(false, *parse_prefix("10.50.0.0/24"), kBgp, {});
  frr.publish(w);
  r->idle();
  EXPECT_EQ(r->count(Counter::sessions_route_closed), 1u);
  EXPECT_TRUE(r->send(kLan, ping(2)).empty());
  EXPECT_EQ(r->drop_count(DropReason::no_route), 2u) << r->drops();

  w.clear();
  w.route(true, *parse_prefix("10.50.0.0/24"), kBgp, {{ip("10.2.0.99"), 0, 1}});  // via a LAN router
  frr.publish(w);
  EXPECT_TRUE(r->send(kLan, ping(3)).empty());
  EXPECT_EQ(r->drop_count(DropReason::unsupported_proto), 1u) << r->drops();
  EXPECT_EQ(r->total_drops(), 3u) << r->drops();
}

// A session on a port whose route moves into a tunnel is closed, not moved
// (a leg never changes kind: port legs may be offloaded and synced, tunnel
// legs never are); new sessions take the tunnel.
TEST(EspWorker, FrrRouteMovingFromAPortIntoTheTunnelClosesTheSession) {
  Tunnel tu;
  auto r = make_router(tu, headend_without_routes());
  r->neighbor(0, ip("10.2.0.99"), kServerMac);
  TunnelFrrRoutes frr(*r);
  fpm::FpmWriter w;
  w.route(true, *parse_prefix("10.50.0.0/24"), kBgp, {{ip("10.2.0.99"), 0, 1}});  // via a LAN router
  frr.publish(w);
  const Bytes query = lan_frame(*r, Pkt().ipv4(kServer, kSiteHost).udp(5000, 53).payload("query"));
  EXPECT_EQ(r->send_one(kLan, query).port, kLan);
  w.clear();
  w.route(true, *parse_prefix("10.50.0.0/24"), kBgp, {{0, TunnelFrrRoutes::kTunIfindex, 1}});
  frr.publish(w);
  r->idle();
  EXPECT_EQ(r->count(Counter::sessions_route_closed), 1u);
  EXPECT_EQ(r->count(Counter::sessions_route_moved), 0u);
  Frame out = r->send_one(kLan, query);
  EXPECT_EQ(out.port, kWan);
  EXPECT_FALSE(tu.open(out).empty());
  EXPECT_EQ(r->count(Counter::sessions_created), 2u);
}

TEST(EspWorker, RefusalsAreCounted) {
  Tunnel tu;
  auto r = make_router(tu);
  // Denied by policy: the tunnel's tenant has no policy for ssh.
  EXPECT_TRUE(r->send(kWan, tu.seal(Pkt().ipv4(kSiteHost, kServer).tcp(40002, 22, kTcpSyn).bytes())).empty());
  EXPECT_EQ(r->drop_count(DropReason::policy_deny), 1u);
  // Tampered: the tag fails, the window does not move.
  Bytes f = tu.seal(Pkt().ipv4(kSiteHost, kServer).tcp(40003, 80, kTcpSyn).bytes());
  Bytes bad = f;
  bad[bad.size() - 20] ^= 1;
  EXPECT_TRUE(r->send(kWan, bad).empty());
  EXPECT_EQ(r->drop_count(DropReason::esp_auth_failed), 1u);
  EXPECT_EQ(tunnel_counter(*r, &EspTunnelCounters::in_drops), 1u);
  EXPECT_EQ(r->send(kWan, f).size(), 1u);
  // Replayed.
  EXPECT_TRUE(r->send(kWan, f).empty());
  EXPECT_EQ(r->drop_count(DropReason::esp_replayed), 1u);
  // Unknown SPI.
  Bytes unknown = tu.seal(Pkt().ipv4(kSiteHost, kServer).tcp(40004, 80, kTcpSyn).bytes());
  unknown[14 + 20 + 8] ^= 0x80;
  EXPECT_TRUE(r->send(kWan, unknown).empty());
  EXPECT_EQ(r->drop_count(DropReason::esp_unknown_spi), 1u);
  // The tunnel's session refuses the same tuple from the LAN (a spoofed site address).
  Bytes spoof = Pkt().eth(kR2Mac, kServerMac).ipv4(kSiteHost, kServer).tcp(40003, 80, 0x10).bytes();
  std::memcpy(spoof.data(), r->model().interfaces[0].mac, 6);
  EXPECT_TRUE(r->send(kLan, spoof).empty());
  EXPECT_EQ(r->drop_count(DropReason::tunnel_mismatch), 1u);
  // An inner packet to the router itself.
  EXPECT_TRUE(r->send(kWan, tu.seal(Pkt().ipv4(kSiteHost, ip("10.2.0.1")).udp(1, 2).bytes())).empty());
  EXPECT_EQ(r->drop_count(DropReason::esp_inner_to_us), 1u);
  // ... or to the router's own address on the tunnel (tunnels[].address): not routed anywhere.
  EXPECT_TRUE(r->send(kWan, tu.seal(Pkt().ipv4(ip("169.254.10.2"), ip("169.254.10.1")).udp(1, 2).bytes())).empty());
  EXPECT_EQ(r->drop_count(DropReason::esp_inner_to_us), 2u);
}

TEST(EspWorker, NoOutboundSaYet) {
  Tunnel tu(/*with_out_sa=*/false);
  auto r = make_router(tu);
  EXPECT_TRUE(r->send(kLan, lan_frame(*r, Pkt().ipv4(kServer, kSiteHost).udp(5000, 53))).empty());
  EXPECT_EQ(r->drop_count(DropReason::esp_no_sa), 1u);
  EXPECT_EQ(tunnel_counter(*r, &EspTunnelCounters::out_drops), 1u);
}

// The site's MAC not known yet: the sealed frame waits for ARP on the
// control thread's resolve ring, already an IPv4 frame (the control thread
// writes only the MAC addresses when ARP answers).
TEST(EspWorker, UnresolvedPeerWaitsAsAnIpv4Frame) {
  Tunnel tu;
  auto r = std::make_unique<Router>(headend_config());
  r->neighbor(0, kServer, kServerMac);
  r->shared().esp.store(tu.headend.get(), std::memory_order_release);
  EXPECT_TRUE(r->send(kLan, lan_frame(*r, Pkt().ipv4(kServer, kSiteHost).udp(5000, 53).payload("q"))).empty());
  rte_mbuf* m = nullptr;
  ASSERT_EQ(rte_ring_dequeue(r->shared().resolve[0], reinterpret_cast<void**>(&m)), 0);
  const uint8_t* f = rte_pktmbuf_mtod(m, const uint8_t*);
  EXPECT_EQ(get16(f + 12), 0x0800);
  EXPECT_EQ(get32(f + 14 + 16), kSite);
  EXPECT_EQ(m->hash.usr, kSite);  // the next hop ARP resolves
  Frame sealed{Bytes(f, f + m->data_len), 0};
  EXPECT_FALSE(tu.open(sealed).empty());
  rte_pktmbuf_free(m);
}

TEST(EspWorker, WithoutIpsecEspIsTheControlThreads) {
  Tunnel tu;
  auto r = make_router(tu);
  r->shared().esp.store(nullptr);
  EXPECT_TRUE(r->send(kWan, tu.seal(Pkt().ipv4(kSiteHost, kServer).tcp(40005, 80, kTcpSyn).bytes())).empty());
  EXPECT_EQ(r->count(Counter::to_control), 1u);
}

// With several workers, ESP goes to the SPI's owner, the inner packet to its
// session's owner, and the reply to the tunnel's owner before sealing.
TEST(EspWorker, OwnersWithFourWorkers) {
  Tunnel tu;
  auto r = make_router(tu, RouterOptions().with_workers(4));
  EXPECT_EQ(owner_of_spi(tu.spi_in, 4), owner_of_tunnel(kTunnel, 4));
  for (uint16_t port = 41000; port < 41016; ++port) {
    rte_mbuf* m = Pkt::to_mbuf(test_pool(), tu.seal(Pkt().ipv4(kSiteHost, kServer).udp(port, 80).payload("x").bytes()), kWan);
    m->port = kWan;
    r->worker(3).receive(&m, 1);  // RSS put it on worker 3
    for (int round = 0; round < 3; ++round)
      for (size_t w = 0; w < r->workers(); ++w) {
        r->worker(w).drain_handoff();
        r->worker(w).flush();
      }
  }
  size_t to_server = 0;
  for (const Frame& f : r->transmitted()) to_server += f.port == kLan && f.dst() == kServer;
  EXPECT_EQ(to_server, 16u);
  uint64_t drops = 0;
  for (size_t w = 0; w < r->workers(); ++w)
    for (size_t i = 0; i < kDropReasonCount; ++i) drops += r->worker(w).counters().get(static_cast<DropReason>(i));
  EXPECT_EQ(drops, 0u);
}

// Plain ESP (IP protocol 50, docs/ipsec.md § Encapsulation): the site's
// packet reaches the SPI's owner from any worker and opens; the reply is
// sealed as protocol 50 (no UDP header) and the site opens it.
TEST(EspWorker, PlainEspBothWaysWithFourWorkers) {
  Tunnel tu(true, false);
  auto r = make_router(tu, RouterOptions().with_workers(4));
  for (uint16_t port = 42000; port < 42008; ++port) {
    const Bytes sealed = tu.seal(Pkt().ipv4(kSiteHost, kServer).udp(port, 80).payload("x").bytes());
    ASSERT_EQ(sealed[14 + 9], kIpProtoEsp);
    rte_mbuf* m = Pkt::to_mbuf(test_pool(), sealed, kWan);
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

  Tunnel tu1(true, false);
  auto r1 = make_router(tu1);
  r1->send_one(kWan, tu1.seal(Pkt().ipv4(kSiteHost, kServer, 63).tcp(40000, 80, kTcpSyn).bytes()));
  Frame out = r1->send_one(kLan, lan_frame(*r1, Pkt().ipv4(kServer, kSiteHost).tcp(80, 40000, kTcpSyn | 0x10).payload("ok")));
  EXPECT_EQ(out.port, kWan);
  EXPECT_EQ(out.src(), kR2Wan);
  EXPECT_EQ(out.dst(), kSite);
  EXPECT_EQ(out.proto(), kIpProtoEsp);
  EXPECT_TRUE(out.ip_checksum_ok());
  const Bytes inner = tu1.open(out);
  ASSERT_FALSE(inner.empty()) << "the site cannot open it";
  EXPECT_EQ(out.raw.size(), 14 + 20 + esp_packet_len(EspCipher::aes256_gcm16, inner.size()));  // no UDP header
  Frame reply{Bytes(14, 0), 0};
  reply.raw.insert(reply.raw.end(), inner.begin(), inner.end());
  EXPECT_EQ(reply.src(), kServer);
  EXPECT_EQ(reply.payload_string(), "ok");
  EXPECT_EQ(r1->total_drops(), 0u) << r1->drops();
}

// --- Above the tunnel MTU, and fragments out of the tunnel (docs/ipsec.md § ESP in the worker loop) ---

// `frame`'s IPv4 datagram cut as a sender would: the first fragment carries
// `first` bytes of L4 (a multiple of 8), the second the rest.
std::vector<Bytes> two_fragments(const Bytes& frame, size_t first) {
  const size_t ihl = 20, l4 = frame.size() - 14 - ihl;
  std::vector<Bytes> out;
  for (int k = 0; k < 2; ++k) {
    const size_t off = k == 0 ? 0 : first, len = k == 0 ? first : l4 - first;
    Bytes f(frame.begin(), frame.begin() + 14 + ihl);
    f.insert(f.end(), frame.begin() + 14 + ihl + off, frame.begin() + 14 + ihl + off + len);
    uint8_t* ip = f.data() + 14;
    put16(ip + 2, static_cast<uint16_t>(ihl + len));
    put16(ip + 6, static_cast<uint16_t>((k == 0 ? 0x2000 : 0) | off / 8));
    put16(ip + 10, 0);
    put16(ip + 10, static_cast<uint16_t>(~ones_fold(ones_sum(ip, ihl))));
    out.push_back(std::move(f));
  }
  return out;
}

std::string pattern(size_t n) {
  std::string s(n, 0);
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + i % 26);
  return s;
}

// DF clear: cut to the tunnel MTU before sealing, each fragment an ESP packet
// of its own that the site opens; the pieces are the datagram, with its IP id.
TEST(EspTunnelMtu, AboveTheMtuWithoutDfIsFragmentedBeforeSealing) {
  Tunnel tu;
  auto r = make_router(tu);
  const std::string data = pattern(1450);  // 1478 IP bytes, the tunnel takes 1400
  const Bytes frame = lan_frame(*r, Pkt().ipv4(kServer, kSiteHost).id(0x4242).udp(5000, 53).payload(data));
  std::vector<Frame> out = r->send(kLan, frame);
  ASSERT_EQ(out.size(), 2u) << r->drops();
  std::string l4;
  for (size_t k = 0; k < 2; ++k) {
    EXPECT_EQ(out[k].port, kWan);
    EXPECT_EQ(out[k].dst(), kSite);
    const Bytes inner = tu.open(out[k]);
    ASSERT_GE(inner.size(), 20u) << "fragment " << k << " does not open";
    EXPECT_LE(inner.size(), 1400u);
    EXPECT_EQ(get16(inner.data() + 4), 0x4242);                       // the datagram's id
    EXPECT_EQ(get16(inner.data() + 6) & 0x2000, k == 0 ? 0x2000 : 0);  // MF on the first
    EXPECT_EQ(get16(inner.data() + 6) & 0x1fffu, l4.size() / 8);  // offset: what came before
    EXPECT_EQ(ones_fold(ones_sum(inner.data(), 20)), 0xffff);  // header checksum
    l4.append(inner.begin() + 20, inner.end());
  }
  EXPECT_EQ(l4.size(), 8 + data.size());
  EXPECT_EQ(l4.substr(8), data);
  EXPECT_EQ(r->count(Counter::tunnel_packets_fragmented), 1u);
  EXPECT_EQ(r->count(Counter::tunnel_fragments_sent), 2u);
  EXPECT_EQ(tunnel_counter(*r, &EspTunnelCounters::out_packets), 2u);
  EXPECT_EQ(r->total_drops(), 0u) << r->drops();
}

// DF set: dropped as esp_too_big, and the LAN sender learns the tunnel MTU.
TEST(EspTunnelMtu, AboveTheMtuWithDfTellsTheLanSenderTheTunnelMtu) {
  Tunnel tu;
  auto r = make_router(tu);
  const Bytes frame = lan_frame(*r, Pkt().ipv4(kServer, kSiteHost).frag(0x4000).udp(5000, 53).payload(pattern(1450)));
  std::vector<Frame> out = r->send(kLan, frame);
  ASSERT_EQ(out.size(), 1u);
  const Frame& icmp = out[0];
  EXPECT_EQ(icmp.port, kLan);
  EXPECT_EQ(icmp.proto(), Pkt::kIcmp);
  EXPECT_EQ(icmp.src(), ip("10.2.0.1"));
  EXPECT_EQ(icmp.dst(), kServer);
  EXPECT_TRUE(icmp.ip_checksum_ok());
  const uint8_t* l4 = icmp.l4();
  EXPECT_EQ(l4[0], 3);
  EXPECT_EQ(l4[1], 4);
  EXPECT_EQ(get16(l4 + 6), 1400);                // next-hop MTU: the tunnel's
  EXPECT_EQ(get32(l4 + 8 + 16), kSiteHost);      // the quoted header's destination
  EXPECT_EQ(r->count(Counter::icmp_frag_needed_sent), 1u);
  EXPECT_EQ(r->drop_count(DropReason::esp_too_big), 1u);
  EXPECT_EQ(tunnel_counter(*r, &EspTunnelCounters::out_packets), 0u);
}

// A site that fragments before encapsulating (Linux, strongSwan): the
// fragments come out of the tunnel, are made whole on the worker their key
// names (handed over when another opened them), and the datagram reaches the
// server once, byte-exact; with one worker and with four.
TEST(EspTunnelMtu, InnerFragmentsAreReassembledBeforeTheSessionPath) {
  for (uint32_t workers : {1u, 4u}) {
    SCOPED_TRACE(workers);
    Tunnel tu;
    auto r = make_router(tu, RouterOptions().with_workers(workers));
    const std::string data = pattern(1400);  // 1428 IP bytes: fits the LAN (1500), not the site's 1400
    const Bytes whole = Pkt().ipv4(kSiteHost, kServer).id(0x777).udp(41000, 5000).payload(data).bytes();
    const std::vector<Bytes> frags = two_fragments(whole, 1360);
    for (size_t k = 0; k < frags.size(); ++k) {
      rte_mbuf* m = Pkt::to_mbuf(test_pool(), tu.seal(frags[k]), kWan);
      m->port = kWan;
      r->worker(k % workers).receive(&m, 1);  // wherever RSS put each
      for (int round = 0; round < 3; ++round)
        for (size_t w = 0; w < r->workers(); ++w) {
          r->worker(w).drain_handoff();
          r->worker(w).flush();
        }
    }
    std::vector<Frame> to_server;
    for (const Frame& f : r->transmitted())
      if (f.port == kLan && f.dst() == kServer) to_server.push_back(f);
    ASSERT_EQ(to_server.size(), 1u);
    EXPECT_EQ(to_server[0].payload_string(), data);
    EXPECT_TRUE(to_server[0].ip_checksum_ok());
    EXPECT_TRUE(to_server[0].l4_checksum_ok());
    uint64_t reassembled = 0, drops = 0;
    for (size_t w = 0; w < r->workers(); ++w) {
      reassembled += r->worker(w).counters().get(Counter::tunnel_datagrams_reassembled);
      for (size_t i = 0; i < kDropReasonCount; ++i) drops += r->worker(w).counters().get(static_cast<DropReason>(i));
    }
    EXPECT_EQ(reassembled, 1u);
    EXPECT_EQ(drops, 0u);
  }
}

// --- The tunnel's punt path (docs/ipsec.md § Dynamic routing over tunnels) ---

const Ipv4 kTunnelAddr = ip("169.254.10.1");  // ours (tunnels[].address)
const Ipv4 kTunnelPeer = ip("169.254.10.2");  // the site's end of the /30

config::Config punting_config(bool punt = true) {
  config::Config c = headend_config();
  c.mutable_router()->mutable_punt()->set_enabled(punt);
  c.mutable_router()->mutable_punt()->set_icmp_pps(200);  // a worker's share: 100/s, a burst of 33
  return c;
}

std::unique_ptr<Router> make_punting_router(Tunnel& tu, bool punt = true, RouterOptions opts = {}) {
  auto r = std::make_unique<Router>(punting_config(punt), std::move(opts));
  r->neighbor(1, kSite, kSiteMac);
  r->neighbor(0, kServer, kServerMac);
  r->shared().esp.store(tu.headend.get(), std::memory_order_release);
  return r;
}

// Everything the worker passed to the control thread: (port marker, IPv4 destination).
std::vector<std::pair<uint16_t, Ipv4>> to_control(Router& r) {
  std::vector<std::pair<uint16_t, Ipv4>> got;
  rte_mbuf* m = nullptr;
  while (rte_ring_dequeue(r.shared().to_control[0], reinterpret_cast<void**>(&m)) == 0) {
    got.emplace_back(m->port, get32(rte_pktmbuf_mtod(m, const uint8_t*) + 14 + 16));
    rte_pktmbuf_free(m);
  }
  return got;
}

TEST(EspTunnelPunt, ToTheTunnelAddressGoesUpItsTapByClass) {
  Tunnel tu;
  auto r = make_punting_router(tu);
  const uint32_t sent_before = static_cast<uint32_t>(r->count(Counter::to_control));
  EXPECT_TRUE(
      r->send(kWan, tu.seal(Pkt().ipv4(kTunnelPeer, kTunnelAddr).icmp_echo(9, 1).payload("hi").bytes())).empty());
  EXPECT_TRUE(r->send(kWan, tu.seal(Pkt().ipv4(kTunnelPeer, kTunnelAddr).tcp(40000, 179, kTcpSyn).bytes())).empty());
  EXPECT_TRUE(
      r->send(kWan, tu.seal(Pkt().ipv4(kTunnelPeer, kTunnelAddr).tcp(40000, 179, 0x10).payload("ka").bytes())).empty());
  EXPECT_TRUE(
      r->send(kWan, tu.seal(Pkt().ipv4(kTunnelPeer, kTunnelAddr).udp(49152, 3784).payload("bfd").bytes())).empty());
  EXPECT_TRUE(
      r->send(kWan, tu.seal(Pkt().ipv4(kTunnelPeer, ip("224.0.0.5"), 1).proto(kProtoOspf).payload("hello").bytes()))
          .empty());
  EXPECT_EQ(r->count(Counter::punt_icmp), 1u);
  EXPECT_EQ(r->count(Counter::punt_bgp_syn), 1u);
  EXPECT_EQ(r->count(Counter::punt_bgp), 1u);
  EXPECT_EQ(r->count(Counter::punt_bfd), 1u);
  EXPECT_EQ(r->count(Counter::punt_ospf), 1u);
  EXPECT_EQ(r->count(Counter::to_control), sent_before + 5u);
  const auto got = to_control(*r);
  ASSERT_EQ(got.size(), 5u);
  for (const auto& [port, dst] : got)
    EXPECT_EQ(tunnel_from(port), static_cast<int>(kTunnel)) << "the port says which tunnel";
  EXPECT_EQ(got[0].second, kTunnelAddr);
  EXPECT_EQ(got[4].second, ip("224.0.0.5"));
  EXPECT_EQ(r->drop_count(DropReason::esp_inner_to_us), 0u);
  EXPECT_EQ(r->total_drops(), 0u) << r->drops();
}

TEST(EspTunnelPunt, APortsAddressThroughTheTunnelIsStillRefused) {
  Tunnel tu;
  auto r = make_punting_router(tu);
  EXPECT_TRUE(r->send(kWan, tu.seal(Pkt().ipv4(kTunnelPeer, ip("10.2.0.1")).icmp_echo(9, 2).bytes())).empty());
  EXPECT_EQ(r->drop_count(DropReason::esp_inner_to_us), 1u);
  EXPECT_EQ(r->count(Counter::punt_icmp), 0u);
  EXPECT_TRUE(to_control(*r).empty());
}

TEST(EspTunnelPunt, PuntOffKeepsEspInnerToUs) {
  Tunnel tu;
  auto r = make_punting_router(tu, /*punt=*/false);
  EXPECT_TRUE(r->send(kWan, tu.seal(Pkt().ipv4(kTunnelPeer, kTunnelAddr).icmp_echo(9, 3).bytes())).empty());
  EXPECT_EQ(r->drop_count(DropReason::esp_inner_to_us), 1u);
  EXPECT_EQ(r->count(Counter::punt_icmp), 0u);
  EXPECT_TRUE(to_control(*r).empty());
}

TEST(EspTunnelPunt, AFloodIsCutToItsClassRate) {
  Tunnel tu;
  auto r = make_punting_router(tu);
  const uint32_t burst = 100 / 4 + 8;  // icmp_pps 200 shared by one worker and the dispatcher
  for (uint16_t i = 0; i < burst + 10; ++i)
    r->send(kWan, tu.seal(Pkt().ipv4(kTunnelPeer, kTunnelAddr).icmp_echo(9, i).bytes()));
  EXPECT_EQ(r->count(Counter::punt_icmp), burst);
  EXPECT_EQ(r->drop_count(DropReason::punt_rate_icmp), 10u);
  EXPECT_EQ(to_control(*r).size(), burst);
  // BGP has its own bucket.
  r->send(kWan, tu.seal(Pkt().ipv4(kTunnelPeer, kTunnelAddr).tcp(40000, 179, 0x10).payload("ka").bytes()));
  EXPECT_EQ(r->count(Counter::punt_bgp), 1u);
}

// What the kernel wrote on the tunnel's tap, as the control thread hands it
// to the dispatcher: a frame with blank MACs.
rte_mbuf* kernel_packet(const Bytes& frame) {
  Bytes f = frame;
  std::memset(f.data(), 0, 12);
  return Pkt::to_mbuf(test_pool(), f, 0);
}

TEST(EspTunnelPunt, TheKernelsPacketIsSealedByTheTunnelsOwner) {
  Tunnel tu;
  auto r = make_punting_router(tu, true, RouterOptions().with_workers(4));
  const uint32_t owner = owner_of_tunnel(kTunnel, 4);
  Worker dispatcher(4, r->shared(), 16, SessionTable::kHeapMemory);  // the main lcore's, as in waypointd
  const Bytes reply = Pkt().ipv4(kTunnelAddr, kTunnelPeer).icmp_echo(9, 1, 0).payload("pong").bytes();
  dispatcher.tunnel_output(kernel_packet(reply), kTunnel);
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
  EXPECT_EQ(out.dport(), kIkeNattPort);
  const Bytes inner = tu.open(out);
  ASSERT_EQ(inner.size(), reply.size() - 14) << "the site cannot open it";
  EXPECT_EQ(std::memcmp(inner.data(), reply.data() + 14, inner.size()), 0);
  EXPECT_EQ(r->shared().esp_tunnel_counters(owner, kTunnel)->out_packets.load(), 1u);
  EXPECT_EQ(r->worker(owner).counters().get(Counter::handoff_in), 1u);
}

// The kernel's packets come in mbufs of the ports' pool and never pass dispatch(): what the
// mbuf's last packet left as its QoS class must not follow the ESP onto a shaped WAN (docs/qos.md).
TEST(EspTunnelPunt, TheKernelsPacketLeavesAShapedWanAsBestEffort) {
  Tunnel tu;
  config::Config c = punting_config();
  c.mutable_router()->mutable_wan(0)->mutable_qos()->set_rate_kbps(10'000);
  RouterOptions o;
  o.prepare = [](DataplaneShared& sh) {
    std::string err;
    ASSERT_TRUE(sh.qos.setup(*sh.model.load(), sh.workers, 1024, SOCKET_ID_ANY, qos_now_ns(), err)) << err;
  };
  Router r(c, o);
  r.neighbor(1, kSite, kSiteMac);
  r.shared().esp.store(tu.headend.get(), std::memory_order_release);
  ASSERT_EQ(r.shared().qos.port_of(1), 0);
  Worker dispatcher(1, r.shared(), 16, SessionTable::kHeapMemory);
  rte_mbuf* m = kernel_packet(Pkt().ipv4(kTunnelAddr, kTunnelPeer).tcp(179, 40000, 0x10).bytes());
  set_qos_class(m, static_cast<uint8_t>(QosClass::voice));  // a voice packet's, before
  dispatcher.tunnel_output(m, kTunnel);
  r.worker(0).drain_handoff();
  r.worker(0).flush();
  ASSERT_EQ(r.transmitted().size(), 1u) << r.drops();
  EXPECT_EQ(r.transmitted()[0].ip4()[1] >> 2, 0) << "best-effort's DSCP on the ESP";
  const QosPortStats& st = *r.shared().qos.ports[0].stats;
  EXPECT_EQ(st.cls[static_cast<size_t>(QosClass::best_effort)].sent.load(), 1u);
  EXPECT_EQ(st.cls[static_cast<size_t>(QosClass::voice)].sent.load(), 0u);
}

TEST(EspTunnelPunt, TheKernelsPacketIntoADownTunnelIsDroppedWithAReason) {
  Tunnel tu(/*with_out_sa=*/false);
  auto r = make_punting_router(tu, true, RouterOptions().with_workers(2));
  Worker dispatcher(2, r->shared(), 16, SessionTable::kHeapMemory);
  dispatcher.tunnel_output(kernel_packet(Pkt().ipv4(kTunnelAddr, kTunnelPeer).tcp(179, 40000, 0x10).bytes()), kTunnel);
  EXPECT_EQ(dispatcher.counters().get(DropReason::punt_tunnel_down), 1u);
  EXPECT_EQ(dispatcher.counters().get(Counter::handoff_out), 0u);
  EXPECT_EQ(dispatcher.counters().get(Counter::punt_from_kernel), 0u);
  // Not a whole IPv4 packet (an IPv6 one the kernel should not have sent).
  Bytes v6 = Pkt().ipv4(kTunnelAddr, kTunnelPeer).udp(1, 2).bytes();
  v6[12] = 0x86, v6[13] = 0xdd;
  dispatcher.tunnel_output(kernel_packet(v6), kTunnel);
  EXPECT_EQ(dispatcher.counters().get(DropReason::punt_kernel_unsent), 1u);
}

}  // namespace
}  // namespace wp
