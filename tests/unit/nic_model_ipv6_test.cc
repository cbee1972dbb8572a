// Offload of routed IPv6 sessions (issue #19): the rte_flow rules
// build_flow_rule6 makes, item by item, and the software NIC model applying
// those very arrays to IPv6 packets (hop limit, MACs, counted, aged), its
// IPv6 address rewrite keeping the L4 checksum valid, and what it refuses
// the way a PMD does.
#include <gtest/gtest.h>
#include <rte_byteorder.h>
#include <rte_errno.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "dataplane/ip/ndp.h"
#include "offload/flow_rule.h"
#include "offload/nic_model.h"
#include "tests/unit/nic_model_run.h"
#include "tests/unit/pkt6_builder.h"

namespace wp::offload {
namespace {

using test::ip6;
using test::Mac;
using test::Pkt6;
using test_model::action_types;
using test_model::find_action;
using test_model::item_types;
using test_model::ModelRun;

constexpr uint16_t kLan = 0, kWan = 1;
const Mac kClientMac = {2, 0, 0, 0, 1, 5};
const Mac kGatewayMac = {2, 0, 0, 0xaa, 0, 2};
const Mac kOwnLanMac = {2, 0, 0, 0xbb, 0, 0};
const Mac kOwnWanMac = {2, 0, 0, 0xbb, 0, 1};
const char* const kClient = "2001:db8:71::5";
const char* const kServer = "2001:db8:72::10";
const char* const kGateway = "2001:db8:70::2";

// A router with a LAN (port 0) and a WAN (port 1) whose IPv6 neighbor cache
// knows the client (LAN) and the gateway to the server (WAN).
struct Fixture6 {
  RouterModel model;
  Neighbor6Table neighbors;
  Fixture6() {
    InterfaceModel lan, wan;
    lan.port_id = kLan;
    std::memcpy(lan.mac, kOwnLanMac.data(), 6);
    wan.port_id = kWan;
    wan.wan = true;
    std::memcpy(wan.mac, kOwnWanMac.data(), 6);
    model.interfaces = {lan, wan};
    learn(0, ip6(kClient), kClientMac);
    learn(1, ip6(kGateway), kGatewayMac);
  }
  void learn(int iface, const Ipv6& a, const Mac& mac) {
    neighbors.begin(iface, a, 0);
    neighbors.advert(iface, a, mac.data(), kNaSolicited | kNaOverride, 0);
  }
  RuleBuildStatus rule(const Session6& s, Dir d, FlowRule& r, const Timeouts& t = {}, void* context = nullptr) {
    return build_flow_rule6(s, d, model, neighbors, t, context, r);
  }
  // Client (LAN) -> server behind the gateway (WAN), as Route6Step::first_packet makes it.
  static Session6 routed(uint8_t proto) {
    Session6 s;
    s.original = {ip6(kClient), ip6(kServer), 40000, static_cast<uint16_t>(proto == kProtoTcp ? 443 : 5201), proto};
    s.next_hop[0] = ip6(kGateway);
    s.iface[0] = 1;
    s.next_hop[1] = ip6(kClient);
    s.iface[1] = 0;
    s.flags = kReverseSeen;
    s.in_use = 1;
    return s;
  }
};

std::vector<uint8_t> with_eth(std::vector<uint8_t> f, const Mac& dst, const Mac& src) {
  std::memcpy(f.data(), dst.data(), 6);
  std::memcpy(f.data() + 6, src.data(), 6);
  return f;
}

// A TCP segment as a host sends it (valid checksum).
std::vector<uint8_t> tcp6(const char* src, const char* dst, uint16_t sport, uint16_t dport, uint8_t flags,
                          uint8_t hop, const Mac& to, const Mac& from) {
  return with_eth(
      test::v6_checksummed(Pkt6().ipv6(src, dst, hop).tcp(sport, dport, flags).payload("offloaded data").bytes()), to,
      from);
}

void expect_items(const FlowRule& r, uint16_t in_port, const FiveTuple6& arrive) {
  const auto l4 = arrive.proto == kProtoTcp ? RTE_FLOW_ITEM_TYPE_TCP : RTE_FLOW_ITEM_TYPE_UDP;
  EXPECT_EQ(item_types(r), (std::vector<rte_flow_item_type>{RTE_FLOW_ITEM_TYPE_REPRESENTED_PORT, RTE_FLOW_ITEM_TYPE_ETH,
                                                             RTE_FLOW_ITEM_TYPE_IPV6, l4, RTE_FLOW_ITEM_TYPE_END}));
  EXPECT_EQ(r.attr.transfer, 1u);
  EXPECT_EQ(r.attr.group, 0u);
  EXPECT_EQ(r.attr.priority, 1u);
  EXPECT_EQ(r.ingress_port, in_port);
  EXPECT_EQ(static_cast<const rte_flow_item_ethdev*>(r.items[0].spec)->port_id, in_port);
  const auto* v6 = static_cast<const rte_flow_item_ipv6*>(r.items[2].spec);
  const auto* m6 = static_cast<const rte_flow_item_ipv6*>(r.items[2].mask);
  ASSERT_NE(v6, nullptr);
  ASSERT_NE(m6, nullptr);
  EXPECT_EQ(load_ipv6(v6->hdr.src_addr), arrive.src);
  EXPECT_EQ(load_ipv6(v6->hdr.dst_addr), arrive.dst);
  EXPECT_EQ(v6->hdr.proto, arrive.proto);
  // Exactly source, destination and next header: nothing else is matched.
  rte_flow_item_ipv6 want_mask{};
  std::memset(want_mask.hdr.src_addr, 0xff, 16);
  std::memset(want_mask.hdr.dst_addr, 0xff, 16);
  want_mask.hdr.proto = 0xff;
  EXPECT_EQ(std::memcmp(m6, &want_mask, sizeof want_mask), 0) << "no traffic class, flow label, hop limit, ext flags";
  if (arrive.proto == kProtoTcp) {
    const auto* t = static_cast<const rte_flow_item_tcp*>(r.items[3].spec);
    const auto* tm = static_cast<const rte_flow_item_tcp*>(r.items[3].mask);
    EXPECT_EQ(rte_be_to_cpu_16(t->hdr.src_port), arrive.sport);
    EXPECT_EQ(rte_be_to_cpu_16(t->hdr.dst_port), arrive.dport);
    EXPECT_EQ(tm->hdr.src_port, 0xffff);
    EXPECT_EQ(tm->hdr.dst_port, 0xffff);
    EXPECT_EQ(tm->hdr.tcp_flags, kTcpControlFlags) << "SYN/FIN/RST stay with the worker";
    EXPECT_EQ(t->hdr.tcp_flags, 0);
  } else {
    const auto* u = static_cast<const rte_flow_item_udp*>(r.items[3].spec);
    const auto* um = static_cast<const rte_flow_item_udp*>(r.items[3].mask);
    EXPECT_EQ(rte_be_to_cpu_16(u->hdr.src_port), arrive.sport);
    EXPECT_EQ(rte_be_to_cpu_16(u->hdr.dst_port), arrive.dport);
    EXPECT_EQ(um->hdr.src_port, 0xffff);
    EXPECT_EQ(um->hdr.dst_port, 0xffff);
  }
}

void expect_actions(const FlowRule& r, const Mac& src, const Mac& dst, uint32_t age_s, uint16_t out_port) {
  // Routed, not translated: no address or port rewrite.
  EXPECT_EQ(action_types(r), (std::vector<rte_flow_action_type>{
                                 RTE_FLOW_ACTION_TYPE_SET_MAC_SRC, RTE_FLOW_ACTION_TYPE_SET_MAC_DST,
                                 RTE_FLOW_ACTION_TYPE_DEC_TTL, RTE_FLOW_ACTION_TYPE_COUNT, RTE_FLOW_ACTION_TYPE_AGE,
                                 RTE_FLOW_ACTION_TYPE_REPRESENTED_PORT, RTE_FLOW_ACTION_TYPE_END}));
  const auto* ms = static_cast<const rte_flow_action_set_mac*>(find_action(r, RTE_FLOW_ACTION_TYPE_SET_MAC_SRC)->conf);
  const auto* md = static_cast<const rte_flow_action_set_mac*>(find_action(r, RTE_FLOW_ACTION_TYPE_SET_MAC_DST)->conf);
  EXPECT_EQ(std::memcmp(ms->mac_addr, src.data(), 6), 0);
  EXPECT_EQ(std::memcmp(md->mac_addr, dst.data(), 6), 0);
  EXPECT_EQ(static_cast<const rte_flow_action_age*>(find_action(r, RTE_FLOW_ACTION_TYPE_AGE)->conf)->timeout, age_s);
  EXPECT_EQ(
      static_cast<const rte_flow_action_ethdev*>(find_action(r, RTE_FLOW_ACTION_TYPE_REPRESENTED_PORT)->conf)->port_id,
      out_port);
}

TEST(FlowRule6, TcpBothDirectionsMatchTheTupleAndOnlyRewriteMacs) {
  Fixture6 f;
  Session6 s = Fixture6::routed(kProtoTcp);
  Timeouts t;
  t.tcp_established_ms = 7200000;
  FlowRule fwd, rev;
  int context = 0;
  ASSERT_EQ(f.rule(s, Dir::forward, fwd, t, &context), RuleBuildStatus::ok);
  ASSERT_EQ(f.rule(s, Dir::reverse, rev, t), RuleBuildStatus::ok);
  expect_items(fwd, kLan, s.original);
  expect_actions(fwd, kOwnWanMac, kGatewayMac, 7200, kWan);
  EXPECT_EQ(static_cast<const rte_flow_action_age*>(find_action(fwd, RTE_FLOW_ACTION_TYPE_AGE)->conf)->context,
            &context);
  expect_items(rev, kWan, s.original.reversed());
  expect_actions(rev, kOwnLanMac, kClientMac, 7200, kLan);
}

TEST(FlowRule6, UdpAgesAfterTheUdpTimeout) {
  Fixture6 f;
  Session6 s = Fixture6::routed(kProtoUdp);
  Timeouts t;
  t.udp_ms = 2500;  // rounds up to whole seconds
  FlowRule r;
  ASSERT_EQ(f.rule(s, Dir::forward, r, t), RuleBuildStatus::ok);
  expect_items(r, kLan, s.original);
  expect_actions(r, kOwnWanMac, kGatewayMac, 3, kWan);
}

TEST(FlowRule6, SessionsARuleCannotCarryAreNotBuilt) {
  Fixture6 f;
  FlowRule r;
  Session6 s = Fixture6::routed(kProtoIcmpv6);
  EXPECT_EQ(f.rule(s, Dir::forward, r), RuleBuildStatus::not_ipv4_l4) << "echo stays in software";
  s = Fixture6::routed(kProtoTcp);
  s.svr_ref = 7;  // carried by an SVR session: IPv6 <-> IPv4 translation on the way
  EXPECT_EQ(f.rule(s, Dir::forward, r), RuleBuildStatus::translated);
  s = Fixture6::routed(kProtoTcp);
  s.next_hop[0] = ip6("2001:db8:70::99");
  EXPECT_EQ(f.rule(s, Dir::forward, r), RuleBuildStatus::neighbor_missing);
  EXPECT_EQ(f.rule(s, Dir::reverse, r), RuleBuildStatus::ok) << "the client's side is resolved";
  s = Fixture6::routed(kProtoTcp);
  s.iface[1] = 5;
  EXPECT_EQ(f.rule(s, Dir::forward, r), RuleBuildStatus::no_egress);
}

// --- the NIC model -----------------------------------------------------------

TEST(NicModel6, TcpBothWaysHopLimitLessOneChecksumUntouchedCounted) {
  Fixture6 f;
  Session6 s = Fixture6::routed(kProtoTcp);
  FlowRule fwd, rev;
  f.rule(s, Dir::forward, fwd);
  f.rule(s, Dir::reverse, rev);
  ModelRun run;
  rte_flow* hf = run.install(fwd);
  run.install(rev);
  auto out = tcp6(kClient, kServer, 40000, 443, kTcpAck, 64, kOwnLanMac, kClientMac);
  auto back = tcp6(kServer, kClient, 443, 40000, kTcpAck | 0x08, 58, kOwnWanMac, kGatewayMac);
  run.send(kLan, out);
  run.send(kWan, back);
  ASSERT_EQ(run.fwd.size(), 2u);
  EXPECT_EQ(run.fwd_ports[0], kWan);
  EXPECT_EQ(run.fwd_ports[1], kLan);
  // Byte-exact: the hop limit is not in the pseudo-header, so the host's checksum stays right.
  EXPECT_EQ(run.fwd[0], tcp6(kClient, kServer, 40000, 443, kTcpAck, 63, kGatewayMac, kOwnWanMac));
  EXPECT_EQ(run.fwd[1], tcp6(kServer, kClient, 443, 40000, kTcpAck | 0x08, 57, kClientMac, kOwnLanMac));
  rte_flow_query_count q{};
  rte_flow_error e{};
  ASSERT_EQ(run.model.query_count(kLan, hf, &q, &e), 0);
  EXPECT_EQ(q.hits, 1u);
  EXPECT_EQ(q.bytes, out.size());
  EXPECT_EQ(run.model.counters().hits.load(), 2u);
  // Connection setup and teardown reach the worker untouched.
  for (uint8_t flags : {kTcpSyn, uint8_t(kTcpFin | kTcpAck), kTcpRst})
    run.send(kLan, tcp6(kClient, kServer, 40000, 443, flags, 64, kOwnLanMac, kClientMac));
  EXPECT_EQ(run.fwd.size(), 2u);
  ASSERT_EQ(run.host.size(), 3u);
  EXPECT_EQ(run.host[0], tcp6(kClient, kServer, 40000, 443, kTcpSyn, 64, kOwnLanMac, kClientMac));
}

TEST(NicModel6, WhatTheRuleDoesNotMatchGoesToSoftwareUntouched) {
  Fixture6 f;
  Session6 s = Fixture6::routed(kProtoUdp);
  FlowRule r;
  f.rule(s, Dir::forward, r);
  ModelRun run;
  run.install(r);
  auto udp = [](uint8_t hop) {
    return with_eth(test::v6_checksummed(Pkt6().ipv6(kClient, kServer, hop).udp(40000, 5201).payload("u").bytes()),
                    kOwnLanMac, kClientMac);
  };
  run.send(kLan, udp(64));
  ASSERT_EQ(run.fwd.size(), 1u);
  std::vector<std::vector<uint8_t>> missed = {
      udp(1),  // hop limit would expire: software answers with Time Exceeded
      with_eth(Pkt6().ipv6(kClient, kServer).dest_opts().udp(40000, 5201).payload("u").bytes(), kOwnLanMac,
               kClientMac),  // extension header: the IPV6 item's next header is the fixed header's
      with_eth(Pkt6().ipv6(kClient, "2001:db8:72::11").udp(40000, 5201).payload("u").bytes(), kOwnLanMac, kClientMac),
      with_eth(Pkt6().ipv6(kClient, kServer).udp(40001, 5201).payload("u").bytes(), kOwnLanMac, kClientMac),
      with_eth(Pkt6().ipv6(kClient, kServer).tcp(40000, 5201, kTcpAck).bytes(), kOwnLanMac, kClientMac),
  };
  for (const auto& m : missed) run.send(kLan, m);
  run.send(kWan, udp(64));  // another port
  EXPECT_EQ(run.fwd.size(), 1u);
  ASSERT_EQ(run.host.size(), missed.size() + 1);
  for (size_t i = 0; i < missed.size(); ++i) EXPECT_EQ(run.host[i], missed[i]) << i;
  EXPECT_EQ(run.model.counters().misses.load(), missed.size() + 1);
}

// Same ports and protocol in both families: each rule matches its own.
TEST(NicModel6, Ipv4AndIpv6RulesOfTheSamePortsCoexist) {
  Fixture6 f;
  ModelRun run;
  std::vector<rte_flow*> handles;
  for (uint16_t i = 0; i < 20; ++i) {
    Session6 s = Fixture6::routed(kProtoUdp);
    s.original.sport = static_cast<uint16_t>(1000 + i);
    FlowRule r;
    ASSERT_EQ(f.rule(s, Dir::forward, r), RuleBuildStatus::ok);
    handles.push_back(run.install(r));
  }
  rte_flow_error e{};
  for (uint16_t i = 0; i < 20; i += 2) ASSERT_EQ(run.model.destroy(kLan, handles[i], &e), 0);
  run.model.service(0);
  EXPECT_EQ(run.model.rules_active(), 10u);
  for (uint16_t i = 0; i < 20; ++i) {
    run.send(kLan, with_eth(Pkt6().ipv6(kClient, kServer).udp(static_cast<uint16_t>(1000 + i), 5201).bytes(),
                            kOwnLanMac, kClientMac));
    run.send(kLan, test::Pkt().eth().ipv4("10.1.0.5", "10.2.0.10").udp(static_cast<uint16_t>(1000 + i), 5201).bytes());
  }
  EXPECT_EQ(run.fwd.size(), 10u) << "the odd IPv6 flows";
  EXPECT_EQ(run.host.size(), 30u) << "the even IPv6 flows and every IPv4 one";
}

TEST(NicModel6, AgeReportsAnIdleIpv6Rule) {
  Fixture6 f;
  Session6 s = Fixture6::routed(kProtoUdp);
  Timeouts t;
  t.udp_ms = 2000;
  FlowRule r;
  int context = 0;
  f.rule(s, Dir::forward, r, t, &context);
  ModelRun run;
  run.install(r, 1000);
  auto pkt = with_eth(Pkt6().ipv6(kClient, kServer).udp(40000, 5201).bytes(), kOwnLanMac, kClientMac);
  void* aged[4];
  rte_flow_error e{};
  for (uint32_t now = 1000; now <= 5000; now += 500) {
    run.send(kLan, pkt, now);
    run.model.service(now);
    ASSERT_EQ(run.model.get_aged_flows(kLan, aged, 4, &e), 0) << "aged at " << now << " while packets flow";
  }
  run.model.service(6999);
  EXPECT_EQ(run.model.get_aged_flows(kLan, aged, 4, &e), 0);
  run.model.service(7000);
  ASSERT_EQ(run.model.get_aged_flows(kLan, aged, 4, &e), 1);
  EXPECT_EQ(aged[0], &context);
}

// A rule of another shape than ours: SET_IPV6_SRC/DST and SET_TP_DST on an IPv6
// UDP packet (the NIC keeps the L4 checksum right: addresses are in the
// pseudo-header), as a PMD would apply it.
TEST(NicModel6, Ipv6AddressAndPortRewriteKeepsTheL4ChecksumValid) {
  Fixture6 f;
  Session6 s = Fixture6::routed(kProtoUdp);
  FlowRule r;
  f.rule(s, Dir::forward, r);
  rte_flow_action_set_ipv6 src{}, dst{};
  store_ipv6(src.ipv6_addr, ip6("2001:db8:70::1"));
  store_ipv6(dst.ipv6_addr, ip6("2001:db8:99::7"));
  rte_flow_action_set_tp tp{rte_cpu_to_be_16(9000)};
  rte_flow_action actions[] = {r.actions[0],
                               r.actions[1],
                               {RTE_FLOW_ACTION_TYPE_SET_IPV6_SRC, &src},
                               {RTE_FLOW_ACTION_TYPE_SET_IPV6_DST, &dst},
                               {RTE_FLOW_ACTION_TYPE_SET_TP_DST, &tp},
                               {RTE_FLOW_ACTION_TYPE_DEC_TTL, nullptr},
                               {RTE_FLOW_ACTION_TYPE_COUNT, nullptr},
                               r.actions[5],
                               {RTE_FLOW_ACTION_TYPE_END, nullptr}};
  ModelRun run;
  rte_flow_error e{};
  ASSERT_NE(run.model.create(kLan, &r.attr, r.items.data(), actions, &e), nullptr) << (e.message ? e.message : "");
  run.model.service(0);
  auto build = [](const char* a, const char* b, uint16_t dport, uint8_t hop, const Mac& to, const Mac& from) {
    return with_eth(test::v6_checksummed(Pkt6().ipv6(a, b, hop).udp(40000, dport).payload("rewritten").bytes()), to,
                    from);
  };
  run.send(kLan, build(kClient, kServer, 5201, 64, kOwnLanMac, kClientMac));
  ASSERT_EQ(run.fwd.size(), 1u);
  EXPECT_EQ(run.fwd[0], build("2001:db8:70::1", "2001:db8:99::7", 9000, 63, kGatewayMac, kOwnWanMac))
      << "equals the packet built from scratch, checksum included";
}

TEST(NicModel6, RefusesIpv6PatternsAndActionsItCannotDoLikeAPmd) {
  Fixture6 f;
  Session6 s = Fixture6::routed(kProtoTcp);
  FlowRule r;
  f.rule(s, Dir::forward, r);
  test::test_pool();
  NicModel model(8);
  rte_flow_error e{};
  EXPECT_EQ(model.validate(kLan, &r.attr, r.items.data(), r.actions.data(), &e), 0);
  auto refused = [&](const rte_flow_item* items, const rte_flow_action* actions, int err, rte_flow_error_type type,
                     const char* message) {
    e = {};
    EXPECT_EQ(model.validate(kLan, &r.attr, items, actions, &e), -err) << message;
    EXPECT_EQ(e.type, type) << message;
    EXPECT_STREQ(e.message, message);
  };
  // Masks on what the model cannot match: the flow label, the hop limit, extension-header flags.
  rte_flow_item_ipv6 mask = r.ipv6_mask;
  mask.hdr.vtc_flow = rte_cpu_to_be_32(0xfffff);
  rte_flow_item items[5] = {r.items[0], r.items[1], r.items[2], r.items[3], r.items[4]};
  items[2].mask = &mask;
  refused(items, r.actions.data(), ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_MASK,
          "IPV6: only source, destination and next header can be matched");
  mask = r.ipv6_mask;
  mask.has_frag_ext = 1;
  refused(items, r.actions.data(), ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_MASK,
          "IPV6: only source, destination and next header can be matched");
  mask = r.ipv6_mask;
  mask.hdr.dst_addr[15] = 0;  // a /120
  refused(items, r.actions.data(), ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_MASK, "IPV6: partial masks not supported");
  // Two network layers.
  rte_flow_item_ipv4 v4{}, v4m{};
  rte_flow_item both[] = {r.items[0], r.items[1], {RTE_FLOW_ITEM_TYPE_IPV4, &v4, nullptr, &v4m}, r.items[2], r.items[3],
                          r.items[4]};
  refused(both, r.actions.data(), EINVAL, RTE_FLOW_ERROR_TYPE_ITEM, "one IPV4 or IPV6 item, before the L4 item");
  // An IPv4 rewrite on an IPv6 packet.
  rte_flow_action_set_ipv4 a4{};
  rte_flow_action set4[] = {{RTE_FLOW_ACTION_TYPE_SET_IPV4_SRC, &a4}, r.actions[5], {RTE_FLOW_ACTION_TYPE_END, nullptr}};
  refused(r.items.data(), set4, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION, "SET_IPV4 needs an IPV4 item");
  // ... and the other way round.
  rte_flow_item_ipv4 v4spec{};
  rte_flow_item items4[] = {r.items[0], r.items[1], {RTE_FLOW_ITEM_TYPE_IPV4, &v4spec, nullptr, nullptr}, r.items[3],
                            r.items[4]};
  rte_flow_action_set_ipv6 a6{};
  rte_flow_action set6[] = {{RTE_FLOW_ACTION_TYPE_SET_IPV6_DST, &a6}, r.actions[5], {RTE_FLOW_ACTION_TYPE_END, nullptr}};
  refused(items4, set6, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION, "SET_IPV6 needs an IPV6 item");
  // Hop limit decrement with no network layer to act on.
  rte_flow_item bare[] = {r.items[0], r.items[1], r.items[4]};
  rte_flow_action dec[] = {{RTE_FLOW_ACTION_TYPE_DEC_TTL, nullptr}, r.actions[5], {RTE_FLOW_ACTION_TYPE_END, nullptr}};
  refused(bare, dec, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION, "header rewrite needs an IPV4|IPV6 + L4 pattern");
  // MODIFY_FIELD: the flow label to 0 is what it does (sessions between IPv6 waypoints), nothing else.
  rte_flow_action_modify_field mf{};
  mf.operation = RTE_FLOW_MODIFY_SET;
  mf.dst.field = RTE_FLOW_FIELD_START;
  mf.dst.offset = kFlowLabelBitOffset;
  mf.src.field = RTE_FLOW_FIELD_VALUE;
  mf.width = kFlowLabelBits;
  rte_flow_action modify[] = {{RTE_FLOW_ACTION_TYPE_MODIFY_FIELD, &mf}, r.actions[5], {RTE_FLOW_ACTION_TYPE_END, nullptr}};
  EXPECT_EQ(model.validate(kLan, &r.attr, r.items.data(), modify, &e), 0);
  mf.src.value[2] = 1;
  refused(r.items.data(), modify, ENOTSUP, RTE_FLOW_ERROR_TYPE_ACTION_CONF,
          "MODIFY_FIELD: only SET of a zero immediate at a bit offset from START");
  mf.src.value[2] = 0;
  mf.dst.offset = 14 * 8 + 56;  // the hop limit
  mf.width = 8;
  refused(r.items.data(), modify, ENOTSUP, RTE_FLOW_ERROR_TYPE_ACTION_CONF,
          "MODIFY_FIELD: only the IPv6 traffic class and flow label (IPV6 rules)");
  mf.dst.offset = kFlowLabelBitOffset;
  mf.width = kFlowLabelBits;
  refused(items4, modify, ENOTSUP, RTE_FLOW_ERROR_TYPE_ACTION_CONF,
          "MODIFY_FIELD: only the IPv6 traffic class and flow label (IPV6 rules)");
  EXPECT_EQ(model.create(kLan, &r.attr, items, r.actions.data(), &e), nullptr);
  EXPECT_EQ(rte_errno, ENOTSUP);
  EXPECT_EQ(model.counters().rules_refused.load(), 1u);
}

}  // namespace
}  // namespace wp::offload
