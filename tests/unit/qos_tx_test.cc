// QoS on shaped WAN ports in the worker (dataplane/worker/qos_tx.h): DSCP
// marking with an incremental checksum (IPv4) and in the Traffic Class
// (IPv6), the session's class reaching the WAN frame in both families (routed
// IPv6 sessions, sessions between IPv6 waypoints, NAT64 and NAT46 sessions
// and their fragments), a class an mbuf's last packet left never read as the
// next one's, ports without QoS untouched, two workers feeding one shaped
// port through the owner's ring at the port's rate (simulated clock) with a
// strict voice flow neither lost nor delayed, and the two drop reasons.
#include "dataplane/worker/qos_tx.h"

#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "dataplane/control/router_model.h"
#include "dataplane/ip/nat64_packet.h"
#include "dataplane/worker/shared.h"
#include "dataplane/worker/tx.h"
#include "mgmt/metrics.h"
#include "mgmt/stats.h"
#include "tests/unit/nat46_test_config.h"
#include "tests/unit/nat64_test_config.h"
#include "tests/unit/pkt6_builder.h"
#include "tests/unit/promtool.h"
#include "tests/unit/route6_test_config.h"
#include "tests/unit/svr6_frames.h"
#include "tests/unit/svr6_pair.h"
#include "tests/unit/svr_harness.h"

namespace wp {
namespace {

using namespace test;

constexpr uint64_t kMs = 1'000'000;

uint8_t dscp_of(const Frame& f) { return f.ip4()[1] >> 2; }
// The Traffic Class of an IPv6 frame's (outer) header.
uint8_t traffic_class6(const std::vector<uint8_t>& raw) {
  return static_cast<uint8_t>(((raw[14] & 0x0f) << 4) | (raw[15] >> 4));
}
uint64_t sent_of(const DataplaneShared& sh, QosClass c) {
  return sh.qos.ports[0].stats->cls[static_cast<size_t>(c)].sent.load();
}

config::Config branch(bool shaped, uint32_t rate_kbps = 10'000) {
  config::Config c = router_base("r1", "10.1.0.1/24", {{"wan0", "172.16.0.1/24"}});
  add_tenant(c, "branch", "10.1.0.0/25");
  add_service(c, {"voice", "10.2.0.0/24", "udp", "5201", "r2"})->set_qos_class("voice");
  add_service(c, {"bulk", "10.2.0.0/24", "tcp", "80", "r2"})->set_qos_class("bulk");
  add_service(c, {"other", "10.2.0.0/24", "udp", "53", "r2"});  // no class: best-effort
  for (const char* s : {"voice", "bulk", "other"}) add_policy(c, "branch", s, "");
  add_peer(c, "r2", {"172.16.0.2"}, kKey12);
  if (shaped) c.mutable_router()->mutable_wan(0)->mutable_qos()->set_rate_kbps(rate_kbps);
  return c;
}

void setup_qos(DataplaneShared& sh) {
  std::string err;
  ASSERT_TRUE(sh.qos.setup(*sh.model.load(), sh.workers, 1024, SOCKET_ID_ANY, qos_now_ns(), err)) << err;
}

RouterOptions with_qos() {
  RouterOptions o;
  o.prepare = setup_qos;
  return o;
}

TEST(QosTx, MarkDscpRewritesTheFieldKeepsEcnAndFixesTheChecksum) {
  auto bytes = Pkt().ipv4("10.1.0.5", "10.2.0.10").udp(1, 2).payload("hello").bytes();
  bytes[14 + 1] = 0x03;  // DSCP 0, ECN CE
  // The builder computed the checksum over TOS 0: recompute it for 0x03 first.
  bytes[14 + 10] = bytes[14 + 11] = 0;
  const uint16_t c = static_cast<uint16_t>(~ones_fold(ones_sum(bytes.data() + 14, 20)));
  put16(bytes.data() + 14 + 10, c);
  Frame f{bytes, 0};
  ASSERT_TRUE(f.ip_checksum_ok());
  mark_dscp(f.raw.data() + 14, 46);
  EXPECT_EQ(f.ip4()[1], (46 << 2) | 0x03);
  EXPECT_TRUE(f.ip_checksum_ok());
  mark_dscp(f.raw.data() + 14, 10);
  EXPECT_EQ(dscp_of(f), 10);
  EXPECT_TRUE(f.ip_checksum_ok());
}

TEST(QosTx, MarkDscp6RewritesTheTrafficClassKeepingEcnAndTheFlowLabel) {
  uint8_t h[40] = {0x60, 0x3a, 0xbc, 0xde};  // DSCP 0, ECN CE, flow label 0xabcde
  mark_dscp6(h, 46);
  EXPECT_EQ(h[0], 0x6b);
  EXPECT_EQ(h[1], 0xba) << "EF (46 << 2 | CE = 0xbb) and the flow label's top nibble";
  EXPECT_EQ(h[2], 0xbc);
  EXPECT_EQ(h[3], 0xde);
  mark_dscp6(h, 0);
  EXPECT_EQ(h[0], 0x60);
  EXPECT_EQ(h[1], 0x3a);
}

TEST(QosTx, SessionClassesAreMarkedOnAShapedWan) {
  Router r1(branch(true), with_qos());
  r1.neighbor(1, kR2Wan, kR2Mac);
  ASSERT_TRUE(r1.shared().qos.enabled());
  ASSERT_EQ(r1.shared().qos.port_of(1), 0);
  EXPECT_EQ(r1.shared().qos.port_of(0), -1) << "the LAN is never shaped";
  Frame v = r1.send_one(kLan, Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, kServer).udp(40000, 5201).payload("v").bytes());
  EXPECT_EQ(dscp_of(v), 46) << "voice: EF";
  EXPECT_TRUE(v.ip_checksum_ok());
  EXPECT_TRUE(hmac_ok(v, kKey12));
  Frame b = r1.send_one(kLan, Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, kServer).tcp(40001, 80, kTcpSyn).bytes());
  EXPECT_EQ(dscp_of(b), 10) << "bulk: AF11";
  EXPECT_TRUE(b.ip_checksum_ok());
  Frame o = r1.send_one(kLan, Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, kServer).udp(40002, 53).payload("o").bytes());
  EXPECT_EQ(dscp_of(o), 0) << "best-effort";
  const QosPortStats& st = *r1.shared().qos.ports[0].stats;
  EXPECT_EQ(st.cls[static_cast<size_t>(QosClass::voice)].sent.load(), 1u);
  EXPECT_EQ(st.cls[static_cast<size_t>(QosClass::bulk)].sent.load(), 1u);
  EXPECT_EQ(st.cls[static_cast<size_t>(QosClass::best_effort)].sent.load(), 1u);
}

// Before, IPv6 frames left shaped ports beside the scheduler, unmarked (#19).
TEST(QosTx, RoutedIpv6SessionsAreShapedAndMarkedInTheTrafficClass) {
  config::Config c = route6_config();
  c.mutable_services(0)->set_qos_class("voice");  // srv6
  c.mutable_router()->mutable_wan(0)->mutable_qos()->set_rate_kbps(10'000);
  auto r = route6_router(with_qos(), c);
  ASSERT_EQ(r->shared().qos.port_of(1), 0);
  std::vector<uint8_t> syn = from_lan(*r, Pkt6().ipv6(kRouteClient, kRouteServer).tcp(40000, 80, kTcpSyn));
  syn[15] = 0x3a;  // ECN CE and a flow label (0xabcde), which the marking keeps
  syn[16] = 0xbc;
  syn[17] = 0xde;
  Frame out = r->send_one(kLan, syn);
  ASSERT_GE(out.raw.size(), syn.size());
  EXPECT_EQ(traffic_class6(out.raw), (46 << 2) | 0x03) << "voice: EF, ECN kept";
  EXPECT_EQ(out.raw[15] & 0x0f, 0x0a);
  EXPECT_EQ(out.raw[16], 0xbc);
  EXPECT_EQ(out.raw[17], 0xde);
  EXPECT_TRUE(std::equal(syn.begin() + 22, syn.begin() + 54, out.raw.begin() + 22)) << "both addresses as sent";
  EXPECT_EQ(sent_of(r->shared(), QosClass::voice), 1u) << "through the port's scheduler";
  // The reply leaves by the LAN: never shaped, never marked.
  Frame back = r->send_one(kWan, from_wan(*r, Pkt6().ipv6(kRouteServer, kRouteClient).tcp(80, 40000, kTcpSyn | kTcpAck)));
  EXPECT_EQ(traffic_class6(back.raw), 0);
  EXPECT_EQ(sent_of(r->shared(), QosClass::voice), 1u);
}

// The outer IPv6 header between IPv6 waypoints carries the session's class, at
// both routers (the egress schedules the reply by its own service's class).
class QosSvr6 : public Svr6Pair {
 protected:
  void SetUp() override {
    config::Config c[2] = {v6wp_config(true), v6wp_config(false)};
    for (config::Config& ci : c) {
      for (auto& sv : *ci.mutable_services())
        if (sv.name() == "web6") sv.set_qos_class("video");
      ci.mutable_router()->mutable_wan(0)->mutable_qos()->set_rate_kbps(10'000);
    }
    make(c[0], c[1], with_qos());
  }
};

TEST_F(QosSvr6, SessionsBetweenIpv6WaypointsAreShapedAndMarked) {
  const uint8_t video = r1->model().qos_dscp[static_cast<size_t>(QosClass::video)];
  ASSERT_NE(video, 0);
  Frame w1 = r1->send_one(kLan, client_frame(Pkt6().ipv6(kV6Client, kV6Server, 64).tcp(40000, 80, kTcpSyn)));
  ASSERT_EQ(load_be16(w1.raw.data() + 12), kEtherTypeIpv6) << "over the IPv6 waypoints";
  EXPECT_EQ(traffic_class6(w1.raw) >> 2, video);
  EXPECT_EQ(sent_of(r1->shared(), QosClass::video), 1u);
  r2->send_one(kWan, w1.raw);
  Frame w2 = r2->send_one(kLan, server_frame(Pkt6().ipv6(kV6Server, kV6Client, 64).tcp(80, 40000, kTcpSyn | kTcpAck)));
  ASSERT_EQ(load_be16(w2.raw.data() + 12), kEtherTypeIpv6);
  EXPECT_EQ(traffic_class6(w2.raw) >> 2, video);
  EXPECT_EQ(sent_of(r2->shared(), QosClass::video), 1u);
}

// A packet no step gives a class (here an ICMPv6 error about a routed IPv6
// session's packet, forwarded to its sender across the WAN: errors are not the
// session's traffic) leaves as best-effort, whatever class the packet its mbuf
// carried before left in it (a fresh pool's zero was network-control, before
// the class became class + 1). Before NAT64 took its service's class, a NAT64
// packet showed this.
TEST(QosTx, AClassLeftInARecycledMbufIsNotTheNextPackets) {
  config::Config c = route6_config();  // srv6 has no class
  c.mutable_router()->mutable_wan(0)->mutable_qos()->set_rate_kbps(10'000);
  auto r = route6_router(with_qos(), c);
  r->send_one(kLan, from_lan(*r, Pkt6().ipv6(kRouteClient, kRouteServer).tcp(40000, 80, kTcpSyn)));
  ASSERT_EQ(sent_of(r->shared(), QosClass::best_effort), 1u);
  // The client's port is closed to the server's reply: Destination Unreachable back to the server.
  std::vector<uint8_t> icmp = {kIcmp6DestUnreachable, 4, 0, 0, 0, 0, 0, 0};
  const auto quoted = Pkt6().ipv6(kRouteServer, kRouteClient, 60).tcp(80, 40000, kTcpSyn | kTcpAck).bytes();
  icmp.insert(icmp.end(), quoted.begin() + 14, quoted.end());
  rte_mbuf* m =
      Pkt::to_mbuf(test_pool(), from_lan(*r, Pkt6().ipv6(kRouteClient, kRouteServer).l4(kProtoIcmpv6, icmp)), kLan);
  ASSERT_NE(m, nullptr);
  set_qos_class(m, static_cast<uint8_t>(QosClass::voice));  // what a voice packet left in it
  r->worker().receive(&m, 1);
  r->worker().flush();
  ASSERT_EQ(r->transmitted().size(), 1u) << r->drops();
  EXPECT_EQ(r->count(Counter::ipv6_icmp6_errors_forwarded), 1u);
  EXPECT_EQ(traffic_class6(r->transmitted()[0].raw), 0) << "best-effort";
  EXPECT_EQ(sent_of(r->shared(), QosClass::best_effort), 2u);
  EXPECT_EQ(sent_of(r->shared(), QosClass::voice), 0u);
  EXPECT_EQ(sent_of(r->shared(), QosClass::network_control), 0u);
}

// NAT64 and NAT46 sessions on a shaped WAN port, their service's class `video`: what leaves
// the WAN (translated packets and their fragments) goes into the video queue marked AF41; the
// direction back to the client leaves by the LAN, never shaped nor marked, its mbuf carrying
// the class as an IPv4 session's reply does. The harness keeps only bytes, so a capture of
// our own also keeps each mbuf's class.
class QosNat : public ::testing::Test {
 protected:
  struct Sent {
    Frame f;
    QosClass cls;
  };
  static uint16_t no_rx(void*, uint16_t, uint16_t, rte_mbuf**, uint16_t) { return 0; }
  static uint16_t capture(void* c, uint16_t port, uint16_t, rte_mbuf** pkts, uint16_t n) {
    auto* self = static_cast<QosNat*>(c);
    for (uint16_t i = 0; i < n; ++i) {
      Frame f = frame_of(pkts[i]);
      f.port = port;
      self->out_.push_back({std::move(f), qos_class_of(pkts[i])});
      rte_pktmbuf_free(pkts[i]);
    }
    return n;
  }
  // `c` with its first service of class video and wan0 shaped (MTU 1280: fragments are easy to make).
  static config::Config video(config::Config c) {
    c.mutable_services(0)->set_qos_class("video");
    c.mutable_router()->mutable_wan(0)->mutable_qos()->set_rate_kbps(10'000);
    c.mutable_router()->mutable_wan(0)->set_mtu(1280);
    return c;
  }
  void attach(Router& r) {
    r.worker().set_io(no_rx, capture, this);
    video_dscp_ = r.model().qos_dscp[static_cast<size_t>(QosClass::video)];
    ASSERT_EQ(video_dscp_, 34) << "AF41";
  }
  // What `frame` in on `port` made the worker send.
  std::vector<Sent> send(Router& r, uint16_t port, const std::vector<uint8_t>& frame) {
    out_.clear();
    r.send(port, frame);
    return std::exchange(out_, {});
  }
  // A frame out of the shaped WAN in the video queue, marked AF41 (IPv4 TOS or IPv6 Traffic Class).
  void expect_video_on_wan(const Sent& s, bool ipv6) {
    EXPECT_EQ(s.f.port, kWan);
    EXPECT_EQ(s.cls, QosClass::video);
    EXPECT_EQ(get16(s.f.raw.data() + 12), ipv6 ? kEtherTypeIpv6 : kEtherTypeIpv4);
    EXPECT_EQ(ipv6 ? traffic_class6(s.f.raw) >> 2 : dscp_of(s.f), video_dscp_);
    EXPECT_TRUE(ipv6 || s.f.ip_checksum_ok());
  }
  // A frame back to the client by the LAN: the class in its mbuf, nothing marked.
  void expect_video_on_lan(const Sent& s, bool ipv6) {
    EXPECT_EQ(s.f.port, kLan);
    EXPECT_EQ(s.cls, QosClass::video);
    EXPECT_EQ(get16(s.f.raw.data() + 12), ipv6 ? kEtherTypeIpv6 : kEtherTypeIpv4);
    EXPECT_EQ(ipv6 ? traffic_class6(s.f.raw) : dscp_of(s.f), 0) << "the LAN is never marked";
  }

  std::vector<Sent> out_;
  uint8_t video_dscp_ = 0;
};

TEST_F(QosNat, Nat64SessionsTakeTheirServicesClassBothWaysFragmentsIncluded) {
  auto r = nat64_router(with_qos(), video(nat64_config()));
  attach(*r);
  auto lan6 = [&](const Pkt6& p) {
    std::vector<uint8_t> f = p.bytes();
    std::memcpy(f.data(), r->model().interfaces[0].mac, 6);
    std::memcpy(f.data() + 6, kClient6Mac.data(), 6);
    return f;
  };
  std::vector<Sent> out = send(*r, kLan, lan6(Pkt6().ipv6(kClient6, kServer6, 64).udp(40000, 53).payload("q")));
  ASSERT_EQ(out.size(), 1u) << r->drops();
  expect_video_on_wan(out[0], false);
  EXPECT_EQ(sent_of(r->shared(), QosClass::video), 1u) << "through the port's scheduler";
  EXPECT_EQ(sent_of(r->shared(), QosClass::best_effort), 0u);
  const uint16_t pool_port = out[0].f.sport();

  std::vector<Sent> back =
      send(*r, kWan, Pkt().eth(kR1Mac, kGatewayMac).ipv4(kServer4, kPool).udp(53, pool_port).payload("a").bytes());
  ASSERT_EQ(back.size(), 1u) << r->drops();
  expect_video_on_lan(back[0], true);
  // Too big for the LAN once translated, no DF: IPv6 fragments, each of the class.
  back = send(
      *r, kWan,
      Pkt().eth(kR1Mac, kGatewayMac).ipv4(kServer4, kPool).udp(53, pool_port).payload(std::string(1462, 'b')).bytes());
  ASSERT_EQ(back.size(), 2u) << r->drops();
  for (const Sent& s : back) expect_video_on_lan(s, true);
  EXPECT_EQ(r->count(Counter::nat64_fragments6_sent), 2u);

  // A datagram the client fragmented, reassembled, too big for wan0 once translated: IPv4 fragments.
  std::vector<uint8_t> udp(8 + 1400, 'f');
  store_be16(udp.data(), 40001);
  store_be16(udp.data() + 2, 9000);
  store_be16(udp.data() + 4, static_cast<uint16_t>(udp.size()));
  store_be16(udp.data() + 6, 0);
  store_be16(udp.data() + 6,
             l4_checksum6(ip6(kClient6), ip6(kServer6), kProtoUdp, udp.data(), static_cast<uint32_t>(udp.size())));
  const std::vector<uint8_t> head(udp.begin(), udp.begin() + 1232), tail(udp.begin() + 1232, udp.end());
  EXPECT_TRUE(send(*r, kLan, lan6(Pkt6().ipv6(kClient6, kServer6).fragment(0, true, 7).l4(kProtoUdp, head))).empty());
  out = send(*r, kLan, lan6(Pkt6().ipv6(kClient6, kServer6).fragment(1232, false, 7).l4(kProtoUdp, tail)));
  ASSERT_EQ(out.size(), 2u) << r->drops();
  for (const Sent& s : out) expect_video_on_wan(s, false);
  EXPECT_EQ(r->count(Counter::nat64_fragments_sent), 2u);
  EXPECT_EQ(sent_of(r->shared(), QosClass::video), 3u);
  EXPECT_EQ(sent_of(r->shared(), QosClass::best_effort), 0u);
}

TEST_F(QosNat, Nat46SessionsTakeTheirServicesClassBothWaysFragmentsIncluded) {
  auto r = nat46_router(with_qos(), video(nat46_config()));
  attach(*r);
  auto from_client = [&](const Pkt& p) {
    std::vector<uint8_t> f = p.bytes();
    std::memcpy(f.data(), r->model().interfaces[0].mac, 6);
    std::memcpy(f.data() + 6, kClientMac.data(), 6);
    return f;
  };
  std::vector<Sent> out =
      send(*r, kLan, from_client(Pkt().eth().ipv4(kClient, kNat46Server4).udp(6000, 9000).payload("x")));
  ASSERT_EQ(out.size(), 1u) << r->drops();
  expect_video_on_wan(out[0], true);
  EXPECT_EQ(sent_of(r->shared(), QosClass::video), 1u) << "through the port's scheduler";

  std::vector<uint8_t> reply =
      v6_checksummed(Pkt6().ipv6(kNat46Server6, kNat46Client6).udp(9000, 6000).payload("y").bytes());
  std::memcpy(reply.data(), r->model().interfaces[1].mac, 6);
  std::memcpy(reply.data() + 6, kNat46ServerMac.data(), 6);
  std::vector<Sent> back = send(*r, kWan, reply);
  ASSERT_EQ(back.size(), 1u) << r->drops();
  expect_video_on_lan(back[0], false);

  // Too big for wan0 once translated, no DF: IPv6 fragments, each in the video queue.
  out = send(*r, kLan,
             from_client(Pkt().eth().ipv4(kClient, kNat46Server4).udp(6000, 9000).payload(std::string(1900, 'z'))));
  ASSERT_EQ(out.size(), 2u) << r->drops();
  for (const Sent& s : out) expect_video_on_wan(s, true);
  EXPECT_EQ(r->count(Counter::nat46_fragments6_sent), 2u);
  EXPECT_EQ(sent_of(r->shared(), QosClass::video), 3u);
  EXPECT_EQ(sent_of(r->shared(), QosClass::best_effort), 0u);
}

TEST(QosTx, StatsAndMetricsShowThePortsClasses) {
  Router r1(branch(true), with_qos());
  r1.neighbor(1, kR2Wan, kR2Mac);
  r1.send_one(kLan, Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, kServer).udp(40000, 5201).payload("v").bytes());
  const auto j = nlohmann::json::parse(mgmt::stats_json(r1.shared(), "r1"));
  ASSERT_EQ(j["qos"]["ports"].size(), 1u);
  const auto& p = j["qos"]["ports"][0];
  EXPECT_EQ(p["interface"], "wan0");
  EXPECT_EQ(p["rate_bps"], 10'000'000u);
  ASSERT_EQ(p["classes"].size(), kQosClasses);
  EXPECT_EQ(p["classes"][1]["class"], "voice");
  EXPECT_EQ(p["classes"][1]["dscp"], 46);
  EXPECT_EQ(p["classes"][1]["sent"], 1u);
  const std::string m = mgmt::metrics_text(r1.shared(), "r1", nullptr, 1, 0);
  EXPECT_NE(m.find("waypoint_qos_sent_packets_total{router=\"r1\",interface=\"wan0\",class=\"voice\"} 1\n"),
            std::string::npos);
  EXPECT_NE(m.find("waypoint_qos_rate_bytes_per_second{router=\"r1\",interface=\"wan0\"} 1250000\n"),
            std::string::npos);
  if (test::have_promtool()) {
    EXPECT_EQ(test::promtool_complaints(m), std::nullopt);
  }
}

TEST(QosTx, PortsWithoutQosKeepTheDirectPath) {
  Router r1(branch(false), with_qos());
  r1.neighbor(1, kR2Wan, kR2Mac);
  EXPECT_FALSE(r1.shared().qos.enabled());
  EXPECT_EQ(mgmt::metrics_text(r1.shared(), "r1", nullptr, 1, 0).find("waypoint_qos_"), std::string::npos);
  Frame v = r1.send_one(kLan, Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, kServer).udp(40000, 5201).payload("v").bytes());
  EXPECT_EQ(dscp_of(v), 0) << "no scheduler, no marking";
}

TEST(QosTx, DscpMapOverridesAndServiceClassFollowsTheModel) {
  config::Config c = branch(true);
  auto* d = c.mutable_qos()->add_dscp();
  d->set_name("voice");
  d->set_value(40);
  Router r1(c, with_qos());
  r1.neighbor(1, kR2Wan, kR2Mac);
  Frame v = r1.send_one(kLan, Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, kServer).udp(40000, 5201).payload("v").bytes());
  EXPECT_EQ(dscp_of(v), 40);
  EXPECT_EQ(r1.model().services[0].qos_class, QosClass::voice);
  EXPECT_EQ(r1.model().interfaces[1].qos.rate_bps, 10'000'000u);
}

// Two workers' contexts on one shaped port, driven by hand on a simulated clock.
struct Rig {
  DataplaneShared shared;
  std::shared_ptr<const RouterModel> model;
  HmacEngine hmac;
  std::unique_ptr<WorkerContext> ctx[2];
  std::unique_ptr<QosTx> qos[2];
  std::unique_ptr<Tx> tx[2];
  uint64_t now = 0;
  uint64_t wire_bytes = 0;
  std::array<uint64_t, kQosClasses> wire_by_class{};

  explicit Rig(const config::Config& cfg, uint32_t ring) {
    test_pool();
    std::string err;
    if (!shared.create_rings(2, 1024, SOCKET_ID_ANY, err)) throw std::runtime_error(err);
    model = RouterModel::build(cfg, nullptr, nullptr, hmac, err);
    if (!model) throw std::runtime_error(err);
    shared.model.store(model.get());
    if (!shared.qos.setup(*model, 2, ring, SOCKET_ID_ANY, 0, err)) throw std::runtime_error(err);
    shared.neighbors.learn(1, kR2Wan, kR2Mac.data());
    for (uint32_t w = 0; w < 2; ++w) {
      ctx[w] = std::make_unique<WorkerContext>(w, shared, 64, SessionTable::kHeapMemory);
      qos[w] = std::make_unique<QosTx>(*ctx[w]);
      qos[w]->set_io(capture, this);
      qos[w]->set_clock([](void* r) { return static_cast<Rig*>(r)->now; }, this);
      tx[w] = std::make_unique<Tx>(*ctx[w], qos[w].get());
      tx[w]->set_io(capture, this);
    }
  }
  ~Rig() {
    shared.free_rings();
  }
  static uint16_t capture(void* c, uint16_t, uint16_t, rte_mbuf** pkts, uint16_t n) {
    auto* r = static_cast<Rig*>(c);
    for (uint16_t i = 0; i < n; ++i) {
      r->wire_bytes += pkts[i]->pkt_len;
      r->wire_by_class[static_cast<size_t>(qos_class_of(pkts[i]))] += pkts[i]->pkt_len;
      rte_pktmbuf_free(pkts[i]);
    }
    return n;
  }
  // A frame of `len` bytes of class `cls` sent by worker `w` out of the WAN.
  void send(uint32_t w, QosClass cls, size_t len) {
    std::string pad(len - 14 - 20 - 8, 'x');
    rte_mbuf* m = Pkt().ipv4(kR1Wan, kR2Wan).udp(1, 2).payload(pad).mbuf(test_pool());
    ASSERT_NE(m, nullptr);
    set_qos_class(m, static_cast<uint8_t>(cls));
    tx[w]->transmit(m, 1, kR2Wan);
  }
  uint64_t drops(DropReason r) const { return shared.counters[0].get(r) + shared.counters[1].get(r); }
};

TEST(QosTx, TwoWorkersOnOneShapedPortHoldItsRateAndVoiceIsNotQueued) {
  Rig rig(branch(true, 10'000), 1024);  // 10 Mbit/s
  ASSERT_EQ(rig.shared.qos.ports[0].owner, 0u);
  const QosScheduler& s = *rig.shared.qos.ports[0].sched;
  uint64_t voice_sent = 0;
  // 1 s in 100 us steps: each worker offers 2 bulk frames of 1000 bytes per
  // step (160 Mbit/s together); worker 1 (not the owner) sends a 200-byte
  // voice frame every ms.
  for (int step = 0; step < 10'000; ++step) {
    rig.now = static_cast<uint64_t>(step) * 100'000;
    for (uint32_t w = 0; w < 2; ++w)
      for (int k = 0; k < 2; ++k) rig.send(w, QosClass::bulk, 1000);
    if (step % 10 == 0) {
      rig.send(1, QosClass::voice, 200);
      voice_sent++;
    }
    rig.qos[1]->flush();  // the producer first: its ring reaches the owner in the same step
    rig.qos[0]->flush();
  }
  const double mbps = rig.wire_bytes * 8 / 1e6;
  EXPECT_NEAR(mbps, 10.0 + 32768 * 8 / 1e6, 0.1) << "the shaper holds with two workers sending (rate + one burst)";
  const auto& voice = s.counters(QosClass::voice);
  EXPECT_EQ(voice.sent, voice_sent) << "strict voice loses nothing";
  EXPECT_EQ(voice.dropped, 0u);
  EXPECT_LE(voice.delay_ns_max, 2 * kMs / 10) << "voice waits at most a step or so behind one bulk frame";
  EXPECT_GT(s.counters(QosClass::bulk).dropped, 0u) << "bulk is offered 16x the rate";
  EXPECT_EQ(rig.drops(DropReason::qos_queue_full), s.counters(QosClass::bulk).dropped);
  EXPECT_EQ(rig.drops(DropReason::qos_ring_full), 0u);
  // Counters published for mgmt.
  EXPECT_EQ(rig.shared.qos.ports[0].stats->cls[static_cast<size_t>(QosClass::voice)].sent.load(), voice_sent);
}

TEST(QosTx, AFullRingToTheOwnerDropsAsQosRingFull) {
  Rig rig(branch(true, 10'000), 64);
  // The owner does not run: worker 1's ring takes 63 (a DPDK ring of 64 holds 63).
  for (int i = 0; i < 100; ++i) rig.send(1, QosClass::bulk, 200);
  rig.qos[1]->flush();
  EXPECT_EQ(rig.drops(DropReason::qos_ring_full), 100u - 63u);
  rig.qos[0]->flush();
  EXPECT_EQ(rig.shared.qos.ports[0].sched->counters(QosClass::bulk).enqueued, 63u);
}

TEST(QosTx, ShapedPortSendsWhatWaitsOnceTheClockMoves) {
  Rig rig(branch(true, 1'000), 1024);  // 1 Mbit/s, burst 32768
  for (int i = 0; i < 100; ++i) rig.send(0, QosClass::best_effort, 1000);
  rig.qos[0]->flush();
  const uint64_t first = rig.wire_bytes;
  EXPECT_LE(first, 32768u + 1000u) << "no more than the burst at once";
  EXPECT_GT(first, 0u);
  for (int i = 0; i < 10; ++i) {  // 12.5 kB of tokens per 100 ms at 1 Mbit/s
    rig.now += 100 * kMs;
    rig.qos[0]->flush();
  }
  EXPECT_EQ(rig.wire_bytes, 100'000u) << "the rest left once the clock moved";
}

}  // namespace
}  // namespace wp
