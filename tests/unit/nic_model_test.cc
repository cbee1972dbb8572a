// Issue rte_flow rule building (flow_rule.h) checked item by item for
// each session kind, and the software NIC model (nic_model.h) applying those
// very arrays byte-exactly, counting, aging and refusing what it does not
// support the way a PMD does.
#include "offload/nic_model.h"

#include <gtest/gtest.h>
#include <rte_byteorder.h>
#include <rte_errno.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "dataplane/ip/packet.h"
#include "dataplane/svr/metadata.h"
#include "offload/flow_probe.h"
#include "offload/flow_rule.h"
#include "tests/unit/eal_env.h"
#include "tests/unit/nic_model_run.h"
#include "tests/unit/pkt_builder.h"

namespace wp::offload {
namespace {

using test::ip;
using test::Mac;
using test::Pkt;
using test_model::find_action;
using test_model::item_types;
using test_model::ModelRun;

constexpr uint16_t kLan = 0, kWan = 1;
const Mac kClientMac = {2, 0, 0, 0, 1, 5};
const Mac kPeerMac = {2, 0, 0, 0xaa, 0, 2};
const Mac kOwnLanMac = {2, 0, 0, 0xbb, 0, 0};
const Mac kOwnWanMac = {2, 0, 0, 0xbb, 0, 1};
const Ipv4 kClient = ip("10.1.0.5"), kServer = ip("10.2.0.10");
const Ipv4 kOwnWan = ip("172.16.0.1"), kPeerWan = ip("172.16.0.2");

// A router model with a LAN (port 0) and a WAN (port 1), and a neighbor table
// that knows the client and the peer.
struct Fixture {
  RouterModel model;
  NeighborTable neighbors;
  Fixture() {
    InterfaceModel lan, wan;
    lan.port_id = kLan;
    std::memcpy(lan.mac, kOwnLanMac.data(), 6);
    wan.port_id = kWan;
    wan.wan = true;
    std::memcpy(wan.mac, kOwnWanMac.data(), 6);
    model.interfaces = {lan, wan};
    neighbors.learn(0, kClient, kClientMac.data());
    neighbors.learn(1, kPeerWan, kPeerMac.data());
  }
  // The rule for one direction of s, built against this router and its neighbors.
  RuleBuildStatus rule(const Session& s, Dir d, FlowRule& r, const Timeouts& t = {}, void* context = nullptr) {
    return build_flow_rule(s, d, model, neighbors, t, context, r);
  }
  // Ingress router: client -> server becomes own waypoint -> peer waypoint.
  static Session ingress(uint8_t proto) {
    Session s;
    s.original = {kClient, kServer, 40000, proto == kProtoTcp ? uint16_t{80} : uint16_t{5201}, proto};
    s.out_rev = {s.original.reversed(), kClient, 0, -1};
    s.out_fwd = {{kOwnWan, kPeerWan, 16512, 16513, proto}, kPeerWan, 1, 0};
    s.flags = kReverseSeen | kFwdMdAcked | kEstablished;
    return s;
  }
  // Last hop (the restore side): peer waypoint -> own waypoint arrives on the
  // WAN and leaves on the LAN as the original tuple (DNAT back, SNAT back).
  static Session last_hop(uint8_t proto) {
    Session s;
    s.original = {kClient, kServer, 40000, 5201, proto};
    s.out_rev = {{kOwnWan, kPeerWan, 16513, 16512, proto}, kPeerWan, 1, 0};
    s.out_fwd = {s.original, kClient, 0, -1};
    s.flags = kReverseSeen | kEstablished;
    return s;
  }
};

struct Expect {
  uint16_t in_port, out_port;
  FiveTuple arrive, leave;
  Mac mac_src, mac_dst;
};

void expect_rule(const FlowRule& r, const Expect& x, uint32_t age_s) {
  EXPECT_EQ(r.attr.transfer, 1u);
  EXPECT_EQ(r.ingress_port, x.in_port);
  bool tcp = x.arrive.proto == kProtoTcp;
  std::vector<rte_flow_item_type> want = {
      RTE_FLOW_ITEM_TYPE_REPRESENTED_PORT, RTE_FLOW_ITEM_TYPE_ETH, RTE_FLOW_ITEM_TYPE_IPV4,
      tcp ? RTE_FLOW_ITEM_TYPE_TCP : RTE_FLOW_ITEM_TYPE_UDP, RTE_FLOW_ITEM_TYPE_END};
  EXPECT_EQ(item_types(r), want);
  EXPECT_EQ(static_cast<const rte_flow_item_ethdev*>(r.items[0].spec)->port_id, x.in_port);
  const auto* v4 = static_cast<const rte_flow_item_ipv4*>(r.items[2].spec);
  const auto* v4m = static_cast<const rte_flow_item_ipv4*>(r.items[2].mask);
  EXPECT_EQ(rte_be_to_cpu_32(v4->hdr.src_addr), x.arrive.src);
  EXPECT_EQ(rte_be_to_cpu_32(v4->hdr.dst_addr), x.arrive.dst);
  EXPECT_EQ(v4->hdr.next_proto_id, x.arrive.proto);
  EXPECT_EQ(v4m->hdr.src_addr, 0xffffffffu);
  EXPECT_EQ(v4m->hdr.dst_addr, 0xffffffffu);
  if (tcp) {
    const auto* t = static_cast<const rte_flow_item_tcp*>(r.items[3].spec);
    const auto* tm = static_cast<const rte_flow_item_tcp*>(r.items[3].mask);
    EXPECT_EQ(rte_be_to_cpu_16(t->hdr.src_port), x.arrive.sport);
    EXPECT_EQ(rte_be_to_cpu_16(t->hdr.dst_port), x.arrive.dport);
    EXPECT_EQ(tm->hdr.tcp_flags, kTcpControlFlags) << "SYN/FIN/RST stay with the worker";
    EXPECT_EQ(t->hdr.tcp_flags, 0);
  } else {
    const auto* u = static_cast<const rte_flow_item_udp*>(r.items[3].spec);
    EXPECT_EQ(rte_be_to_cpu_16(u->hdr.src_port), x.arrive.sport);
    EXPECT_EQ(rte_be_to_cpu_16(u->hdr.dst_port), x.arrive.dport);
  }
  auto conf = [&](rte_flow_action_type t) {
    const rte_flow_action* a = find_action(r, t);
    EXPECT_NE(a, nullptr) << "action " << t;
    return a ? a->conf : nullptr;
  };
  const void* c;
  if ((c = conf(RTE_FLOW_ACTION_TYPE_SET_MAC_SRC))) {
    EXPECT_EQ(0, std::memcmp(static_cast<const rte_flow_action_set_mac*>(c)->mac_addr, x.mac_src.data(), 6));
  }
  if ((c = conf(RTE_FLOW_ACTION_TYPE_SET_MAC_DST))) {
    EXPECT_EQ(0, std::memcmp(static_cast<const rte_flow_action_set_mac*>(c)->mac_addr, x.mac_dst.data(), 6));
  }
  if ((c = conf(RTE_FLOW_ACTION_TYPE_SET_IPV4_SRC))) {
    EXPECT_EQ(rte_be_to_cpu_32(static_cast<const rte_flow_action_set_ipv4*>(c)->ipv4_addr), x.leave.src);
  }
  if ((c = conf(RTE_FLOW_ACTION_TYPE_SET_IPV4_DST))) {
    EXPECT_EQ(rte_be_to_cpu_32(static_cast<const rte_flow_action_set_ipv4*>(c)->ipv4_addr), x.leave.dst);
  }
  if ((c = conf(RTE_FLOW_ACTION_TYPE_SET_TP_SRC))) {
    EXPECT_EQ(rte_be_to_cpu_16(static_cast<const rte_flow_action_set_tp*>(c)->port), x.leave.sport);
  }
  if ((c = conf(RTE_FLOW_ACTION_TYPE_SET_TP_DST))) {
    EXPECT_EQ(rte_be_to_cpu_16(static_cast<const rte_flow_action_set_tp*>(c)->port), x.leave.dport);
  }
  EXPECT_NE(find_action(r, RTE_FLOW_ACTION_TYPE_DEC_TTL), nullptr);
  EXPECT_NE(find_action(r, RTE_FLOW_ACTION_TYPE_COUNT), nullptr);
  if ((c = conf(RTE_FLOW_ACTION_TYPE_AGE))) {
    EXPECT_EQ(static_cast<const rte_flow_action_age*>(c)->timeout, age_s);
  }
  if ((c = conf(RTE_FLOW_ACTION_TYPE_REPRESENTED_PORT))) {
    EXPECT_EQ(static_cast<const rte_flow_action_ethdev*>(c)->port_id, x.out_port);
  }
}

TEST(FlowRule, IngressUdpForwardIsSnatToTheWaypointPair) {
  Fixture f;
  Session s = Fixture::ingress(kProtoUdp);
  FlowRule r;
  ASSERT_EQ(f.rule(s, Dir::forward, r), RuleBuildStatus::ok);
  expect_rule(r, {kLan, kWan, s.original, s.out_fwd.tuple, kOwnWanMac, kPeerMac}, 60);
}

TEST(FlowRule, IngressUdpReverseRestoresTheClientSide) {
  Fixture f;
  Session s = Fixture::ingress(kProtoUdp);
  FlowRule r;
  ASSERT_EQ(f.rule(s, Dir::reverse, r), RuleBuildStatus::ok);
  expect_rule(r, {kWan, kLan, s.out_fwd.tuple.reversed(), s.original.reversed(), kOwnLanMac, kClientMac}, 60);
}

TEST(FlowRule, IngressTcpBothDirectionsMatchOnlyPlainSegments) {
  Fixture f;
  Session s = Fixture::ingress(kProtoTcp);
  Timeouts t;
  t.tcp_established_ms = 1800500;  // rounds up to whole seconds
  FlowRule fwd, rev;
  ASSERT_EQ(f.rule(s, Dir::forward, fwd, t), RuleBuildStatus::ok);
  ASSERT_EQ(f.rule(s, Dir::reverse, rev, t), RuleBuildStatus::ok);
  expect_rule(fwd, {kLan, kWan, s.original, s.out_fwd.tuple, kOwnWanMac, kPeerMac}, 1801);
  expect_rule(rev, {kWan, kLan, s.out_fwd.tuple.reversed(), s.original.reversed(), kOwnLanMac, kClientMac}, 1801);
}

TEST(FlowRule, LastHopForwardIsDnatAndSnatBackToTheOriginal) {
  Fixture f;
  Session s = Fixture::last_hop(kProtoUdp);
  Timeouts t;
  t.udp_ms = 3000;
  FlowRule fwd, rev;
  ASSERT_EQ(f.rule(s, Dir::forward, fwd, t), RuleBuildStatus::ok);
  ASSERT_EQ(f.rule(s, Dir::reverse, rev, t), RuleBuildStatus::ok);
  // Forward: arrives peer -> own waypoint ports, leaves as the client's original packet.
  expect_rule(fwd, {kWan, kLan, s.out_rev.tuple.reversed(), s.original, kOwnLanMac, kClientMac}, 3);
  // Reverse: the server's reply leaves as own waypoint -> peer waypoint.
  expect_rule(rev, {kLan, kWan, s.original.reversed(), s.out_rev.tuple, kOwnWanMac, kPeerMac}, 3);
}

TEST(FlowRule, UnresolvedNextHopAndOtherProtocolsAreNotBuilt) {
  Fixture f;
  Session s = Fixture::ingress(kProtoUdp);
  s.out_fwd.next_hop = ip("172.16.0.99");
  FlowRule r;
  EXPECT_EQ(f.rule(s, Dir::forward, r), RuleBuildStatus::neighbor_missing);
  s = Fixture::ingress(kProtoUdp);
  s.original.proto = kProtoIcmp;
  EXPECT_EQ(f.rule(s, Dir::forward, r), RuleBuildStatus::not_ipv4_l4);
}

// --- the NIC model -----------------------------------------------------------

TEST(NicModel, UdpRuleRewritesByteExactlyWithValidChecksums) {
  Fixture f;
  Session s = Fixture::ingress(kProtoUdp);
  FlowRule r;
  f.rule(s, Dir::forward, r);
  ModelRun run;
  rte_flow* h = run.install(r);
  auto in = Pkt().eth(kOwnLanMac, kClientMac).ipv4(kClient, kServer, 64).udp(40000, 5201).payload("hello").bytes();
  run.send(kLan, in);
  ASSERT_EQ(run.fwd.size(), 1u);
  EXPECT_EQ(run.fwd_ports[0], kWan);
  auto want = Pkt().eth(kPeerMac, kOwnWanMac).ipv4(kOwnWan, kPeerWan, 63).udp(16512, 16513).payload("hello").bytes();
  EXPECT_EQ(run.fwd[0], want) << "rewritten frame equals the one built from scratch (checksums included)";
  rte_flow_query_count q{};
  rte_flow_error e{};
  ASSERT_EQ(run.model.query_count(kLan, h, &q, &e), 0);
  EXPECT_EQ(q.hits, 1u);
  EXPECT_EQ(q.bytes, in.size());
}

TEST(NicModel, UdpWithoutChecksumStaysWithout) {
  Fixture f;
  Session s = Fixture::ingress(kProtoUdp);
  FlowRule r;
  f.rule(s, Dir::forward, r);
  ModelRun run;
  run.install(r);
  run.send(kLan, Pkt().eth().ipv4(kClient, kServer).udp(40000, 5201).no_udp_checksum().payload("x").bytes());
  ASSERT_EQ(run.fwd.size(), 1u);
  EXPECT_EQ(run.fwd[0], Pkt()
                            .eth(kPeerMac, kOwnWanMac)
                            .ipv4(kOwnWan, kPeerWan, 63)
                            .udp(16512, 16513)
                            .no_udp_checksum()
                            .payload("x")
                            .bytes());
}

TEST(NicModel, TcpReverseRuleRestoresAndLeavesControlSegmentsToSoftware) {
  Fixture f;
  Session s = Fixture::ingress(kProtoTcp);
  FlowRule r;
  f.rule(s, Dir::reverse, r);
  ModelRun run;
  run.install(r);
  auto from_peer = [](uint8_t flags) {
    return Pkt()
        .eth(kOwnWanMac, kPeerMac)
        .ipv4(kPeerWan, kOwnWan, 60)
        .tcp(16513, 16512, flags, 7, 9)
        .payload("data")
        .bytes();
  };
  run.send(kWan, from_peer(kTcpAck));
  ASSERT_EQ(run.fwd.size(), 1u);
  EXPECT_EQ(run.fwd[0], Pkt()
                            .eth(kClientMac, kOwnLanMac)
                            .ipv4(kServer, kClient, 59)
                            .tcp(80, 40000, kTcpAck, 7, 9)
                            .payload("data")
                            .bytes());
  EXPECT_EQ(run.fwd_ports[0], kLan);
  run.send(kWan, from_peer(kTcpAck | kTcpFin));
  run.send(kWan, from_peer(kTcpRst));
  run.send(kWan, from_peer(kTcpSyn | kTcpAck));
  EXPECT_EQ(run.fwd.size(), 1u);
  EXPECT_EQ(run.host.size(), 3u) << "FIN, RST, SYN go to the workers untouched";
  EXPECT_EQ(run.host[0], from_peer(kTcpAck | kTcpFin));
}

TEST(NicModel, CookieDataIsPuntedToSoftwareBeforeSessionRules) {
  Fixture f;
  Session s = Fixture::ingress(kProtoUdp);
  FlowRule r, punt;
  f.rule(s, Dir::reverse, r);
  build_cookie_punt_rule(kWan, kProtoUdp, punt);
  ModelRun run;
  run.install(r);
  run.install(punt);
  std::vector<uint8_t> cookie(kSvrCookieBytes, kSvrCookieBytes + 8);
  cookie.insert(cookie.end(), {1, 2, 3, 4});
  auto md = Pkt().eth(kOwnWanMac, kPeerMac).ipv4(kPeerWan, kOwnWan).udp(16513, 16512).payload(cookie).bytes();
  run.send(kWan, md);
  run.send(kWan, Pkt().eth(kOwnWanMac, kPeerMac).ipv4(kPeerWan, kOwnWan).udp(16513, 16512).payload("plain").bytes());
  ASSERT_EQ(run.host.size(), 1u);
  EXPECT_EQ(run.host[0], md) << "metadata / marker packets reach software untouched";
  EXPECT_EQ(run.fwd.size(), 1u);
  EXPECT_EQ(run.model.counters().punted.load(), 1u);
}

TEST(NicModel, ExpiringTtlAndUnmatchedPacketsGoToSoftware) {
  Fixture f;
  Session s = Fixture::ingress(kProtoUdp);
  FlowRule r;
  f.rule(s, Dir::forward, r);
  ModelRun run;
  run.install(r);
  run.send(kLan, Pkt().eth().ipv4(kClient, kServer, 1).udp(40000, 5201).payload("x").bytes());
  run.send(kLan, Pkt().eth().ipv4(kClient, kServer).udp(40001, 5201).payload("x").bytes());
  run.send(kWan, Pkt().eth().ipv4(kClient, kServer).udp(40000, 5201).payload("x").bytes());  // wrong port
  EXPECT_EQ(run.fwd.size(), 0u);
  EXPECT_EQ(run.host.size(), 3u);
}

TEST(NicModel, DestroyedRuleStopsMatchingAndItsSlotIsReused) {
  Fixture f;
  Session s = Fixture::ingress(kProtoUdp);
  FlowRule r;
  f.rule(s, Dir::forward, r);
  ModelRun run;
  auto pkt = Pkt().eth().ipv4(kClient, kServer).udp(40000, 5201).payload("x").bytes();
  for (int round = 0; round < 200; ++round) {  // more rounds than slots
    rte_flow* h = run.install(r);
    ASSERT_NE(h, nullptr);
    run.send(kLan, pkt);
    rte_flow_error e{};
    ASSERT_EQ(run.model.destroy(kLan, h, &e), 0);
    run.model.service(0);
    run.send(kLan, pkt);
  }
  EXPECT_EQ(run.fwd.size(), 200u);
  EXPECT_EQ(run.host.size(), 200u);
  EXPECT_EQ(run.model.rules_active(), 0u);
}

TEST(NicModel, ManyRulesCoexistAndRemovalKeepsTheOthersReachable) {
  Fixture f;
  ModelRun run;
  std::vector<rte_flow*> handles;
  for (uint16_t i = 0; i < 60; ++i) {
    Session s = Fixture::ingress(kProtoUdp);
    s.original.sport = static_cast<uint16_t>(1000 + i);
    s.out_rev.tuple = s.original.reversed();
    FlowRule r;
    f.rule(s, Dir::forward, r);
    handles.push_back(run.install(r));
  }
  rte_flow_error e{};
  for (uint16_t i = 0; i < 60; i += 2) run.model.destroy(kLan, handles[i], &e);
  run.model.service(0);
  for (uint16_t i = 0; i < 60; ++i)
    run.send(kLan, Pkt().eth().ipv4(kClient, kServer).udp(static_cast<uint16_t>(1000 + i), 5201).payload("x").bytes());
  EXPECT_EQ(run.fwd.size(), 30u);
  EXPECT_EQ(run.host.size(), 30u);
}

TEST(NicModel, AgeReportsAnIdleRuleOnceAndTrafficKeepsItAlive) {
  Fixture f;
  Session s = Fixture::ingress(kProtoUdp);
  Timeouts t;
  t.udp_ms = 2000;
  FlowRule r;
  int context = 0;
  f.rule(s, Dir::forward, r, t, &context);
  ModelRun run;
  run.install(r, 1000);
  auto pkt = Pkt().eth().ipv4(kClient, kServer).udp(40000, 5201).payload("x").bytes();
  void* aged[4];
  rte_flow_error e{};
  for (uint32_t now = 1000; now <= 9000; now += 500) {  // 4x the timeout with traffic every 500 ms
    run.send(kLan, pkt, now);
    run.model.service(now);
    ASSERT_EQ(run.model.get_aged_flows(kLan, aged, 4, &e), 0) << "aged at " << now << " while packets flow";
  }
  run.model.service(10999);
  EXPECT_EQ(run.model.get_aged_flows(kLan, aged, 4, &e), 0) << "1999 ms idle";
  run.model.service(11000);
  ASSERT_EQ(run.model.get_aged_flows(kLan, aged, 4, &e), 1);
  EXPECT_EQ(aged[0], &context);
  run.model.service(20000);
  EXPECT_EQ(run.model.get_aged_flows(kLan, aged, 4, &e), 0) << "reported once";
}

TEST(NicModel, RefusesWhatItDoesNotSupportLikeAPmd) {
  Fixture f;
  Session s = Fixture::ingress(kProtoUdp);
  FlowRule r;
  f.rule(s, Dir::forward, r);
  test::test_pool();
  NicModel model(8);
  rte_flow_error e{};
  // An action the NIC does not have.
  rte_flow_action_mark mark{7};
  FlowRule bad;
  f.rule(s, Dir::forward, bad);
  bad.actions[6] = {RTE_FLOW_ACTION_TYPE_MARK, &mark};
  EXPECT_EQ(model.validate(kLan, &bad.attr, bad.items.data(), bad.actions.data(), &e), -ENOTSUP);
  EXPECT_EQ(e.type, RTE_FLOW_ERROR_TYPE_ACTION);
  EXPECT_STREQ(e.message, "action type not supported by the NIC");
  EXPECT_EQ(model.create(kLan, &bad.attr, bad.items.data(), bad.actions.data(), &e), nullptr);
  // An item it cannot match.
  rte_flow_item items[] = {r.items[0],
                           {RTE_FLOW_ITEM_TYPE_VLAN, nullptr, nullptr, nullptr},
                           r.items[2],
                           r.items[3],
                           {RTE_FLOW_ITEM_TYPE_END, nullptr, nullptr, nullptr}};
  EXPECT_EQ(model.validate(kLan, &r.attr, items, r.actions.data(), &e), -ENOTSUP);
  EXPECT_EQ(e.type, RTE_FLOW_ERROR_TYPE_ITEM);
  // A non-transfer rule.
  rte_flow_attr ingress{};
  ingress.ingress = 1;
  EXPECT_EQ(model.validate(kLan, &ingress, r.items.data(), r.actions.data(), &e), -ENOTSUP);
  EXPECT_EQ(e.type, RTE_FLOW_ERROR_TYPE_ATTR_TRANSFER);
  // No fate.
  rte_flow_action nofate[] = {{RTE_FLOW_ACTION_TYPE_COUNT, nullptr}, {RTE_FLOW_ACTION_TYPE_END, nullptr}};
  EXPECT_EQ(model.validate(kLan, &r.attr, r.items.data(), nofate, &e), -EINVAL);
  EXPECT_EQ(e.type, RTE_FLOW_ERROR_TYPE_ACTION_NUM);
  // The real rule is fine, until the table is full.
  EXPECT_EQ(model.validate(kLan, &r.attr, r.items.data(), r.actions.data(), &e), 0);
  for (int i = 0; i < 8; ++i) ASSERT_NE(model.create(kLan, &r.attr, r.items.data(), r.actions.data(), &e), nullptr);
  EXPECT_EQ(model.create(kLan, &r.attr, r.items.data(), r.actions.data(), &e), nullptr);
  EXPECT_EQ(rte_errno, ENOSPC);
  EXPECT_EQ(model.counters().rules_refused.load(), 2u);
}

TEST(FlowProbe, ModelAcceptsEveryNeededShapeAndRefusesPlainIngress) {
  test::test_pool();
  NicModel model(8);
  PortProbe p = probe_port(model, kWan, "wan0", kLan);
  EXPECT_TRUE(p.can_offload()) << p.summary();
  // It does all the session shapes, IPv6 ones included (not needed: IPv4 offload does not depend
  // on them): routed IPv6 sessions, sessions between IPv6 waypoints and their IPv6 cookie punt rules.
  auto ipv6_shape = [](const ProbeResult& r) {
    return r.shape.starts_with("session6-") || r.shape.starts_with("waypoint6-") || r.shape.starts_with("cookie-punt6-");
  };
  for (const ProbeResult& r : p.results)
    EXPECT_EQ(r.accepted, r.needed || ipv6_shape(r)) << r.shape << ": " << r.error;
  EXPECT_EQ(std::count_if(p.results.begin(), p.results.end(), ipv6_shape), 6);
  EXPECT_NE(p.summary().find("refused: ingress-5tuple-queue"), std::string::npos) << p.summary();
}

}  // namespace
}  // namespace wp::offload
