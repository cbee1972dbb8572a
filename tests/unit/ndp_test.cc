// IPv6 Neighbor Discovery and ICMPv6 for our addresses (docs/ipv6.md): the
// message codec of ip/ndp.h against RFC 4861's validity rules, the neighbor
// cache's state machine (control/neighbor6.h) and what a worker passes up to
// the control thread. The control thread's answers to a real kernel are
// exercised by tests/e2e/test_nat64.sh (ping6, and the client resolving us).
#include "dataplane/ip/ndp.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "dataplane/control/control_thread.h"
#include "dataplane/control/neighbor6.h"
#include "dataplane/ip/checksum.h"
#include "dataplane/ip/packet.h"
#include "tests/unit/nd_control_rig.h"
#include "tests/unit/pkt6_builder.h"
#include "tests/unit/svr_harness.h"

namespace wp {
namespace {

using namespace test;

constexpr uint8_t kMac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
constexpr uint8_t kPeerMac[6] = {0x02, 0, 0, 0, 0x66, 0x01};
constexpr uint8_t kOtherMac[6] = {0x02, 0, 0, 0, 0x66, 0x02};

TEST(Ndp, LinkLocalSolicitedNodeAndMulticastMac) {
  EXPECT_EQ(format_ipv6(link_local_of(kMac)), "fe80::5054:ff:fe12:3456");  // RFC 4291 appendix A
  Ipv6 a = ip6("2001:db8::1:2:3");
  EXPECT_EQ(format_ipv6(solicited_node_of(a)), "ff02::1:ff02:3");
  EXPECT_TRUE(is_solicited_node(solicited_node_of(a)));
  EXPECT_FALSE(is_solicited_node(kAllNodes));
  uint8_t mac[6];
  multicast_mac_of(solicited_node_of(a), mac);
  const uint8_t want[6] = {0x33, 0x33, 0xff, 0x02, 0x00, 0x03};
  EXPECT_EQ(std::memcmp(mac, want, 6), 0);
}

TEST(Ndp, SolicitationToTheSolicitedNodeGroupParsesAndVerifies) {
  Frame6 s{std::vector<uint8_t>(kNdFrameLen)};
  const Ipv6 target = ip6("2001:db8:1::5"), ours = ip6("2001:db8:1::1");
  EXPECT_EQ(write_solicit(s.f.data(), kMac, ours, target, nullptr), kNdFrameLen);
  EXPECT_EQ(s.dst(), solicited_node_of(target));
  const uint8_t mcast[6] = {0x33, 0x33, 0xff, 0, 0, 5};
  EXPECT_EQ(std::memcmp(s.f.data(), mcast, 6), 0);
  EXPECT_EQ(s.ip()[7], 255);
  EXPECT_EQ(icmpv6_checksum(s.src(), s.dst(), s.icmp(), s.icmp_len()), 0);
  NdMessage nd;
  ASSERT_EQ(s.parse(nd), NdStatus::ok);
  EXPECT_EQ(nd.type, kNdNeighborSolicit);
  EXPECT_EQ(nd.target, target);
  ASSERT_TRUE(nd.has_lla);
  EXPECT_EQ(std::memcmp(nd.lla, kMac, 6), 0);
  // A probe goes to the neighbor itself.
  write_solicit(s.f.data(), kMac, ours, target, kPeerMac);
  EXPECT_EQ(s.dst(), target);
  EXPECT_EQ(std::memcmp(s.f.data(), kPeerMac, 6), 0);
  EXPECT_EQ(icmpv6_checksum(s.src(), s.dst(), s.icmp(), s.icmp_len()), 0);
}

TEST(Ndp, AdvertisementCarriesFlagsAndTargetAddress) {
  Frame6 a{std::vector<uint8_t>(kNdFrameLen)};
  const Ipv6 ours = ip6("2001:db8:1::1"), peer = ip6("2001:db8:1::5");
  write_advert(a.f.data(), kMac, ours, peer, kPeerMac, kNaRouter | kNaSolicited | kNaOverride);
  EXPECT_EQ(a.src(), ours);
  EXPECT_EQ(icmpv6_checksum(a.src(), a.dst(), a.icmp(), a.icmp_len()), 0);
  NdMessage nd;
  ASSERT_EQ(a.parse(nd), NdStatus::ok);
  EXPECT_EQ(nd.flags, kNaRouter | kNaSolicited | kNaOverride);
  EXPECT_TRUE(nd.has_lla);
  EXPECT_EQ(std::memcmp(nd.lla, kMac, 6), 0);
  // One flipped bit and the checksum no longer verifies.
  a.f[kEthHdrLen + kIpv6HdrLen + 10] ^= 1;
  EXPECT_NE(icmpv6_checksum(a.src(), a.dst(), a.icmp(), a.icmp_len()), 0);
}

TEST(Ndp, ValidityRulesOfRfc4861) {
  const Ipv6 ours = ip6("2001:db8:1::1"), peer = ip6("2001:db8:1::5");
  auto solicit = [&] {
    Frame6 s{std::vector<uint8_t>(kNdFrameLen)};
    write_solicit(s.f.data(), kPeerMac, peer, ours, nullptr);
    return s;
  };
  NdMessage nd;
  Frame6 s = solicit();
  s.f[kEthHdrLen + 7] = 254;  // crossed a router
  EXPECT_EQ(s.parse(nd), NdStatus::bad_hop_limit);
  s = solicit();
  s.f[kEthHdrLen + kIpv6HdrLen + 1] = 1;  // code
  EXPECT_EQ(s.parse(nd), NdStatus::malformed);
  s = solicit();
  s.f[kEthHdrLen + kIpv6HdrLen + 8] = 0xff;  // multicast target
  EXPECT_EQ(s.parse(nd), NdStatus::malformed);
  s = solicit();
  s.f[kEthHdrLen + kIpv6HdrLen + 25] = 0;  // zero-length option
  EXPECT_EQ(s.parse(nd), NdStatus::malformed);
  s = solicit();
  s.f[kEthHdrLen + kIpv6HdrLen + 25] = 2;  // option past the end
  EXPECT_EQ(s.parse(nd), NdStatus::malformed);
  s = solicit();
  EXPECT_EQ(parse_nd(s.icmp(), 20, peer, s.dst(), 255, nd), NdStatus::malformed);  // short
  // DAD: from :: to the solicited-node group without an option is fine, not with one or to a unicast address.
  EXPECT_EQ(parse_nd(s.icmp(), 24, Ipv6{}, s.dst(), 255, nd), NdStatus::ok);
  EXPECT_EQ(parse_nd(s.icmp(), 32, Ipv6{}, s.dst(), 255, nd), NdStatus::bad_dad);
  EXPECT_EQ(parse_nd(s.icmp(), 24, Ipv6{}, ours, 255, nd), NdStatus::bad_dad);
  Frame6 a{std::vector<uint8_t>(kNdFrameLen)};
  write_advert(a.f.data(), kPeerMac, peer, kAllNodes, kOtherMac, kNaSolicited);
  EXPECT_EQ(a.parse(nd), NdStatus::bad_solicited);
  write_advert(a.f.data(), kPeerMac, peer, kAllNodes, kOtherMac, kNaOverride);  // unsolicited: fine
  EXPECT_EQ(a.parse(nd), NdStatus::ok);
}

TEST(Ndp, EchoReplyFromTheAddressPinged) {
  auto f = Pkt6().ipv6("2001:db8:1::5", "2001:db8:1::1").icmp6_echo(7).payload("ping data").bytes();
  uint8_t* ip = f.data() + kEthHdrLen;
  uint8_t* icmp = ip + kIpv6HdrLen;
  const uint32_t len = load_be16(ip + 4);
  echo6_reply_in_place(ip, icmp, len, ip6("2001:db8:1::1"));
  EXPECT_EQ(load_ipv6(ip + 8), ip6("2001:db8:1::1"));
  EXPECT_EQ(load_ipv6(ip + 24), ip6("2001:db8:1::5"));
  EXPECT_EQ(icmp[0], kIcmp6EchoReply);
  EXPECT_EQ(icmpv6_checksum(load_ipv6(ip + 8), load_ipv6(ip + 24), icmp, len), 0);
}

// --- the neighbor cache ---------------------------------------------------------

struct Sent {
  std::vector<std::pair<Ipv6, bool>> solicits;  // (address, unicast)
  std::vector<Ipv6> failed;
};

Neighbor6Table::Aged age(Neighbor6Table& t, uint32_t now, Sent& out) {
  return t.age(
      now, Neighbor6Table::kSlots,
      [&](int, const Ipv6& a, const uint8_t* mac) {
        out.solicits.push_back({a, mac != nullptr});
      },
      [&](int, const Ipv6& a) { out.failed.push_back(a); });
}

TEST(Neighbor6Table, IncompleteSolicitsThreeTimesThenFails) {
  Neighbor6Table t;
  const Ipv6 a = ip6("2001:db8:1::5");
  uint8_t mac[6];
  EXPECT_EQ(t.begin(0, a, 1000), Neighbor6Table::Begun::started);
  EXPECT_EQ(t.begin(0, a, 1000), Neighbor6Table::Begun::known);
  EXPECT_EQ(t.state(0, a), Neighbor6Table::State::incomplete);
  EXPECT_FALSE(t.lookup(0, a, mac));  // nothing to send to yet
  Sent s;
  age(t, 1500, s);
  EXPECT_TRUE(s.solicits.empty());  // RETRANS_TIMER not over
  age(t, 2000, s);
  age(t, 3000, s);
  ASSERT_EQ(s.solicits.size(), 2u);  // the caller sent the first
  EXPECT_FALSE(s.solicits[0].second);
  EXPECT_TRUE(s.failed.empty());
  age(t, 4000, s);
  ASSERT_EQ(s.failed.size(), 1u);
  EXPECT_EQ(s.failed[0], a);
  EXPECT_EQ(t.state(0, a), Neighbor6Table::State::none);
  EXPECT_EQ(t.in_use(), 0u);
}

TEST(Neighbor6Table, SolicitedAdvertMakesReachableThenStaleThenProbedAndRemoved) {
  Neighbor6Table t;
  const Ipv6 a = ip6("2001:db8:1::5");
  t.begin(1, a, 0);
  EXPECT_EQ(t.advert(1, a, kPeerMac, kNaSolicited, 100), Neighbor6Table::Learned::reachable);
  uint8_t mac[6];
  ASSERT_TRUE(t.lookup(1, a, mac));
  EXPECT_EQ(std::memcmp(mac, kPeerMac, 6), 0);
  EXPECT_FALSE(t.lookup(0, a, mac));  // per interface
  Sent s;
  age(t, 100 + Neighbor6Table::kReachableMs, s);
  EXPECT_EQ(t.state(1, a), Neighbor6Table::State::stale);
  EXPECT_TRUE(t.lookup(1, a, mac));  // still used
  ASSERT_TRUE(t.use(1, a, mac, 40000));
  age(t, 40000, s);
  EXPECT_EQ(t.state(1, a), Neighbor6Table::State::probe);
  ASSERT_EQ(s.solicits.size(), 1u);
  EXPECT_TRUE(s.solicits[0].second);  // unicast, to the MAC we hold
  age(t, 41000, s);
  age(t, 42000, s);
  EXPECT_EQ(s.solicits.size(), 3u);
  Neighbor6Table::Aged aged = age(t, 43000, s);
  EXPECT_EQ(aged.expired, 1u);
  EXPECT_TRUE(s.failed.empty());  // a probe that fails is an expiry, not a failed resolution
  EXPECT_EQ(t.state(1, a), Neighbor6Table::State::none);
}

TEST(Neighbor6Table, WhatMayBeLearned) {
  Neighbor6Table t;
  const Ipv6 a = ip6("2001:db8:1::5"), b = ip6("2001:db8:1::6");
  uint8_t mac[6];
  // Never asked: neither an advertisement nor a solicitation creates an entry.
  EXPECT_EQ(t.advert(0, b, kPeerMac, kNaSolicited | kNaOverride, 0), Neighbor6Table::Learned::ignored);
  EXPECT_EQ(t.solicited_by(0, b, kPeerMac, 0), Neighbor6Table::Learned::ignored);
  EXPECT_EQ(t.in_use(), 0u);
  t.begin(0, a, 0);
  t.advert(0, a, kPeerMac, kNaSolicited, 0);
  // Another MAC without Override: the entry only becomes STALE, the MAC stays.
  EXPECT_EQ(t.advert(0, a, kOtherMac, 0, 10), Neighbor6Table::Learned::stale);
  ASSERT_TRUE(t.lookup(0, a, mac));
  EXPECT_EQ(std::memcmp(mac, kPeerMac, 6), 0);
  // With Override it takes the new MAC.
  EXPECT_EQ(t.advert(0, a, kOtherMac, kNaOverride, 20), Neighbor6Table::Learned::stale);
  ASSERT_TRUE(t.lookup(0, a, mac));
  EXPECT_EQ(std::memcmp(mac, kOtherMac, 6), 0);
  // A solicitation from it with yet another MAC updates it too (§ 7.2.3).
  EXPECT_EQ(t.solicited_by(0, a, kPeerMac, 30), Neighbor6Table::Learned::stale);
  ASSERT_TRUE(t.lookup(0, a, mac));
  EXPECT_EQ(std::memcmp(mac, kPeerMac, 6), 0);
  EXPECT_EQ(t.solicited_by(0, a, kPeerMac, 40), Neighbor6Table::Learned::unchanged);
}

TEST(Neighbor6Table, UnusedStaleEntryExpiresAndFullBucketsEvictOnlyStale) {
  Neighbor6Table t(HashSecret{1, 2});
  const Ipv6 base = ip6("2001:db8:1::");
  // Addresses that share one bucket.
  std::vector<Ipv6> same;
  const uint32_t bucket = t.bucket(0, ip6("2001:db8:1::1"));
  for (uint64_t i = 1; same.size() < Neighbor6Table::kWays + 1; ++i)
    if (t.bucket(0, Ipv6{base.hi, i}) == bucket) same.push_back(Ipv6{base.hi, i});
  for (uint32_t w = 0; w < Neighbor6Table::kWays; ++w) {
    ASSERT_EQ(t.begin(0, same[w], 0), Neighbor6Table::Begun::started);
    t.advert(0, same[w], kPeerMac, kNaSolicited, 0);
  }
  EXPECT_EQ(t.begin(0, same.back(), 0), Neighbor6Table::Begun::full);  // all REACHABLE: refused
  Sent s;
  age(t, Neighbor6Table::kReachableMs, s);  // all STALE now
  EXPECT_EQ(t.begin(0, same.back(), Neighbor6Table::kReachableMs), Neighbor6Table::Begun::started);
  EXPECT_EQ(t.in_use(), Neighbor6Table::kWays);
  Neighbor6Table::Aged aged = age(t, Neighbor6Table::kReachableMs + Neighbor6Table::kStaleMs, s);
  EXPECT_EQ(aged.expired, Neighbor6Table::kWays - 1);  // the unused STALE ones
}

// --- what a worker passes up ------------------------------------------------------

config::Config v6_config() {
  config::Config c = router_base("r1", "10.1.0.1/24", {{"wan0", "172.16.0.1/24"}});
  c.mutable_router()->mutable_lan()->add_ipv6_addresses("2001:db8:1::1/64");
  return c;
}

std::vector<uint8_t> ns_frame(const Ipv6& src, const Ipv6& dst, const Ipv6& target) {
  std::vector<uint8_t> f(kNdFrameLen);
  write_solicit(f.data(), kPeerMac, src, target, nullptr);
  uint8_t* ip = f.data() + kEthHdrLen;
  store_ipv6(ip + 24, dst);
  uint8_t* icmp = ip + kIpv6HdrLen;
  store_be16(icmp + 2, 0);
  store_be16(icmp + 2, icmpv6_checksum(src, dst, icmp, 32));
  return f;
}

TEST(Ipv6Input, SolicitationsAndEchoForOurAddressesGoToTheControlThread) {
  Router r1(v6_config());
  const InterfaceModel& lan = r1.model().interfaces[0];
  ASSERT_EQ(lan.addrs6.size(), 2u);
  EXPECT_EQ(lan.addrs6[0], link_local_of(lan.mac));
  const Ipv6 ours = ip6("2001:db8:1::1"), client = ip6("2001:db8:1::5");
  EXPECT_TRUE(r1.send(kLan, ns_frame(client, solicited_node_of(ours), ours)).empty());
  EXPECT_EQ(r1.count(Counter::to_control), 1u);
  r1.send(kLan, ns_frame(client, solicited_node_of(lan.addrs6[0]), lan.addrs6[0]));  // the link-local
  r1.send(kLan, ns_frame(client, ours, ours));                                       // a unicast probe
  EXPECT_EQ(r1.count(Counter::to_control), 3u);
  r1.send(kLan, Pkt6().ipv6("2001:db8:1::5", "2001:db8:1::1").icmp6_echo(1).payload("x").bytes());
  EXPECT_EQ(r1.count(Counter::to_control), 4u);
  // Not ours: another host's resolution seen in promiscuous mode, a ping to someone else.
  r1.send(kLan, ns_frame(client, solicited_node_of(ip6("2001:db8:1::9")), ip6("2001:db8:1::9")));
  r1.send(kLan, Pkt6().ipv6("2001:db8:1::5", "2001:db8:1::9").icmp6_echo(1).payload("x").bytes());
  EXPECT_EQ(r1.count(Counter::to_control), 4u);
  EXPECT_EQ(r1.drop_count(DropReason::not_ipv4), 2u);
}

TEST(Ipv6Input, NeighborDiscoveryIsMeteredPerPort) {
  Router r1(v6_config());
  const Ipv6 ours = ip6("2001:db8:1::1"), client = ip6("2001:db8:1::5");
  const auto ns = ns_frame(client, solicited_node_of(ours), ours);
  for (uint32_t i = 0; i < Ipv6Input::kNdBurst + 50; ++i) r1.send(kLan, ns);
  EXPECT_EQ(r1.drop_count(DropReason::nd_rate_limited), 50u);
}

// --- the control thread's answers --------------------------------------------------

TEST(ControlNd, SolicitationForOurAddressIsAnsweredWithOurMac) {
  ControlRig rig(v6_config());
  const InterfaceModel& lan = rig.r1.model().interfaces[0];
  const Ipv6 ours = ip6("2001:db8:1::1"), client = ip6("2001:db8:1::5");
  auto out = rig.local(ns_frame(client, solicited_node_of(ours), ours));
  ASSERT_EQ(out.size(), 1u);
  Frame6 na{out[0]};
  EXPECT_EQ(std::memcmp(na.f.data(), kPeerMac, 6), 0);  // to the solicitation's source link-layer address
  EXPECT_EQ(na.src(), ours);
  EXPECT_EQ(na.dst(), client);
  EXPECT_EQ(icmpv6_checksum(na.src(), na.dst(), na.icmp(), na.icmp_len()), 0);
  NdMessage nd;
  ASSERT_EQ(na.parse(nd), NdStatus::ok);
  EXPECT_EQ(nd.type, kNdNeighborAdvert);
  EXPECT_EQ(nd.target, ours);
  EXPECT_EQ(nd.flags, kNaRouter | kNaSolicited | kNaOverride);
  EXPECT_EQ(std::memcmp(nd.lla, lan.mac, 6), 0);
  EXPECT_EQ(rig.count(Counter::nd_adverts_sent), 1u);
  // A broken checksum, or a hop limit that crossed a router: dropped, counted.
  auto bad = ns_frame(client, solicited_node_of(ours), ours);
  bad[kEthHdrLen + kIpv6HdrLen + 2] ^= 0xff;
  EXPECT_TRUE(rig.local(bad).empty());
  EXPECT_EQ(rig.drops(DropReason::icmpv6_bad_checksum), 1u);
  auto far = ns_frame(client, solicited_node_of(ours), ours);
  far[kEthHdrLen + 7] = 64;
  EXPECT_TRUE(rig.local(far).empty());
  EXPECT_EQ(rig.drops(DropReason::nd_bad_hop_limit), 1u);
}

TEST(ControlNd, EchoRequestIsAnsweredFromTheAddressPinged) {
  ControlRig rig(v6_config());
  auto req = Pkt6().ipv6("2001:db8:1::5", "2001:db8:1::1").dest_opts().icmp6_echo(9).payload("data").bytes();
  uint8_t* ip = req.data() + kEthHdrLen;
  uint8_t* icmp = ip + kIpv6HdrLen + 8;
  store_be16(icmp + 2, icmpv6_checksum(load_ipv6(ip + 8), load_ipv6(ip + 24), icmp, 12));
  auto out = rig.local(req);
  ASSERT_EQ(out.size(), 1u);
  Frame6 rep{out[0]};
  EXPECT_EQ(rep.src(), ip6("2001:db8:1::1"));
  EXPECT_EQ(rep.dst(), ip6("2001:db8:1::5"));
  EXPECT_EQ(rep.ip()[6], kProtoIcmpv6);  // the request's destination options are not echoed
  EXPECT_EQ(rep.icmp()[0], kIcmp6EchoReply);
  EXPECT_EQ(rep.icmp_len(), 12u);
  EXPECT_EQ(icmpv6_checksum(rep.src(), rep.dst(), rep.icmp(), rep.icmp_len()), 0);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(rep.icmp() + 8), 4), "data");
  EXPECT_EQ(rig.count(Counter::icmpv6_echo_replies), 1u);
}

TEST(ControlNd, PacketsForAnUnknownNeighborWaitForItsAdvertisement) {
  ControlRig rig(v6_config());
  const InterfaceModel& lan = rig.r1.model().interfaces[0];
  const Ipv6 client = ip6("2001:db8:1::5");
  auto pkt = Pkt6().ipv6("64:ff9b::a02:a", "2001:db8:1::5").udp(53, 5000).payload("x").bytes();
  rte_mbuf* m = Pkt::to_mbuf(nd_control_pool(), pkt, 0);
  mark_resolve6(m, 0);
  ASSERT_EQ(rte_ring_sp_enqueue(rig.r1.shared().resolve[0], m), 0);
  auto out = rig.poll();
  ASSERT_EQ(out.size(), 1u);  // a solicitation, the packet waits
  Frame6 ns{out[0]};
  NdMessage nd;
  ASSERT_EQ(ns.parse(nd), NdStatus::ok);
  EXPECT_EQ(nd.type, kNdNeighborSolicit);
  EXPECT_EQ(nd.target, client);
  EXPECT_EQ(ns.dst(), solicited_node_of(client));
  EXPECT_EQ(ns.src(), ip6("2001:db8:1::1"));  // our address on the client's prefix
  EXPECT_EQ(rig.control.pending_count(), 1u);
  // The client answers: the packet leaves to its MAC.
  std::vector<uint8_t> na(kNdFrameLen);
  write_advert(na.data(), kPeerMac, client, ip6("2001:db8:1::1"), lan.mac, kNaSolicited | kNaOverride);
  out = rig.local(na);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(std::memcmp(out[0].data(), kPeerMac, 6), 0);
  EXPECT_EQ(load_ipv6(out[0].data() + kEthHdrLen + 24), client);
  EXPECT_EQ(rig.control.pending_count(), 0u);
  EXPECT_EQ(rig.r1.shared().neighbors6.state(0, client), Neighbor6Table::State::reachable);
  EXPECT_EQ(rig.count(Counter::nd_neighbors_learned), 1u);
}

// Like Linux's unres_qlen: kPendingPerNeighbor packets wait per neighbor, kMaxPendingNeighbors
// neighbors at once; what finds no room is dropped and counted (nd_unresolved).
TEST(ControlNd, PacketsWaitingForNeighborsAreBoundedPerNeighborAndInNeighbors) {
  ControlRig rig(v6_config());
  auto wait_for = [&rig](const std::string& addr, uint16_t sport) {
    auto pkt = Pkt6().ipv6("64:ff9b::a02:a", addr).udp(sport, 5000).payload("x").bytes();
    rte_mbuf* m = Pkt::to_mbuf(nd_control_pool(), pkt, 0);
    mark_resolve6(m, 0);
    ASSERT_EQ(rte_ring_sp_enqueue(rig.r1.shared().resolve[0], m), 0);
    rig.poll();
  };
  for (uint16_t i = 0; i <= Control::kPendingPerNeighbor; ++i) wait_for("2001:db8:1::5", 1000 + i);
  EXPECT_EQ(rig.control.pending_count(), Control::kPendingPerNeighbor);
  EXPECT_EQ(rig.drops(DropReason::nd_unresolved), 1u);
  // More neighbors than may wait at once, one packet each (a full bucket of the neighbor table
  // refuses one early, counted the same way).
  constexpr size_t kNeighbors = Control::kMaxPendingNeighbors + 4;
  for (size_t i = 1; i < kNeighbors; ++i) wait_for("2001:db8:1::" + std::to_string(0x100 + i), 7);
  const size_t waiting = rig.control.pending_count() - Control::kPendingPerNeighbor;
  EXPECT_LE(waiting, Control::kMaxPendingNeighbors - 1);
  EXPECT_EQ(waiting + rig.drops(DropReason::nd_unresolved) - 1, kNeighbors - 1) << "every packet waits or is counted";
  EXPECT_GE(rig.drops(DropReason::nd_unresolved), 1u + 4u);
}

TEST(ControlNd, ResolutionGivesUpAfterThreeSolicitations) {
  ControlRig rig(v6_config());
  auto pkt = Pkt6().ipv6("64:ff9b::a02:a", "2001:db8:1::7").udp(53, 5000).payload("x").bytes();
  rte_mbuf* m = Pkt::to_mbuf(nd_control_pool(), pkt, 0);
  mark_resolve6(m, 0);
  ASSERT_EQ(rte_ring_sp_enqueue(rig.r1.shared().resolve[0], m), 0);
  size_t solicits = rig.poll().size();
  for (uint32_t t = 1; t <= 4; ++t) {
    rig.now += Neighbor6Table::kRetransMs;
    for (int i = 0; i < 20; ++i) solicits += rig.poll().size();  // the sweep visits every slot
  }
  EXPECT_EQ(solicits, Neighbor6Table::kMaxMulticastSolicit);
  EXPECT_EQ(rig.control.pending_count(), 0u);
  EXPECT_EQ(rig.drops(DropReason::nd_unresolved), 1u);
  EXPECT_EQ(rig.count(Counter::nd_resolution_failed), 1u);
}


// ---------------------------------------------------------------- Duplicate Address Detection

TEST(Ndp, DadSolicitationIsFromTheUnspecifiedAddressWithANonce) {
  const Ipv6 ours = ip6("2001:db8:1::1");
  const uint8_t nonce[kNdNonceLen] = {1, 2, 3, 4, 5, 6};
  std::vector<uint8_t> f(kNdFrameLen);
  ASSERT_EQ(write_dad_solicit(f.data(), kMac, ours, nonce), kNdFrameLen);
  Frame6 ns{f};
  EXPECT_TRUE(ns.src().is_unspecified());
  EXPECT_EQ(ns.dst(), solicited_node_of(ours));
  EXPECT_EQ(f[0], 0x33);
  EXPECT_EQ(icmpv6_checksum(ns.src(), ns.dst(), ns.icmp(), ns.icmp_len()), 0);
  NdMessage nd;
  ASSERT_EQ(ns.parse(nd), NdStatus::ok);  // RFC 4861 § 7.1.1: DAD carries no link-layer option
  EXPECT_EQ(nd.type, kNdNeighborSolicit);
  EXPECT_EQ(nd.target, ours);
  EXPECT_FALSE(nd.has_lla);
  ASSERT_TRUE(nd.has_nonce);
  EXPECT_EQ(std::memcmp(nd.nonce, nonce, kNdNonceLen), 0);
}

TEST(DadTable, OneSolicitationThenASecondOfSilenceMakesAnAddressPreferred) {
  DadTable dad;
  const Ipv6 a = ip6("2001:db8:1::1"), ll = ip6("fe80::1");
  dad.set({{0, ll}, {0, a}}, 42);
  std::vector<Ipv6> sent;
  auto send = [&](const DadTable::Entry& e) { sent.push_back(e.addr); };
  EXPECT_EQ(dad.tick(1000, send), 0u);
  EXPECT_EQ(sent, (std::vector<Ipv6>{ll, a}));
  EXPECT_FALSE(dad.usable(0, a));
  EXPECT_TRUE(dad.usable(1, a)) << "not tracked on another interface";
  EXPECT_EQ(dad.tick(1999, send), 0u);
  EXPECT_EQ(sent.size(), 2u) << "one transmission (DupAddrDetectTransmits = 1)";
  EXPECT_EQ(dad.tick(2000, send), 2u);
  EXPECT_TRUE(dad.usable(0, a));
  EXPECT_TRUE(dad.usable(0, ll));
  EXPECT_EQ(dad.tick(9000, send), 0u);
  EXPECT_EQ(sent.size(), 2u);
  EXPECT_NE(std::memcmp(dad.find(0, a)->nonce, dad.find(0, ll)->nonce, kNdNonceLen), 0) << "a nonce per address";
}

TEST(DadTable, WhatProvesADuplicateAndWhatDoesNot) {
  const Ipv6 a = ip6("2001:db8:1::1");
  auto fresh = [&] {
    DadTable d;
    d.set({{0, a}}, 7);
    d.tick(1000, [](const DadTable::Entry&) {});
    return d;
  };
  uint8_t other[kNdNonceLen] = {9, 9, 9, 9, 9, 9};
  {  // our own probe, looped back: not a duplicate
    DadTable d = fresh();
    uint8_t own[kNdNonceLen];
    std::memcpy(own, d.find(0, a)->nonce, kNdNonceLen);
    EXPECT_EQ(d.solicit_seen(0, a, true, own), DadTable::Seen::looped);
    EXPECT_EQ(d.find(0, a)->state, DadTable::State::tentative);
  }
  {  // another node's probe for it (RFC 4862 § 5.4.3), with or without a nonce
    DadTable d = fresh();
    EXPECT_EQ(d.solicit_seen(0, a, true, other), DadTable::Seen::duplicate);
    EXPECT_FALSE(d.usable(0, a));
    EXPECT_EQ(d.tick(5000, [](const DadTable::Entry&) { FAIL() << "a duplicate is not probed again"; }), 0u);
    EXPECT_FALSE(d.usable(0, a)) << "a duplicate never becomes preferred";
    DadTable e = fresh();
    EXPECT_EQ(e.solicit_seen(0, a, true, nullptr), DadTable::Seen::duplicate);
  }
  {  // a resolution (unicast source) for a tentative address: not answered, no verdict
    DadTable d = fresh();
    EXPECT_EQ(d.solicit_seen(0, a, false, nullptr), DadTable::Seen::ignored);
    EXPECT_EQ(d.find(0, a)->state, DadTable::State::tentative);
  }
  {  // an advertisement for it (§ 5.4.4)
    DadTable d = fresh();
    EXPECT_EQ(d.advert_seen(0, a), DadTable::Seen::duplicate);
    EXPECT_EQ(d.advert_seen(0, a), DadTable::Seen::conflict);
  }
  {  // after DAD: answered as usual; an advertisement is a conflict, not a verdict
    DadTable d = fresh();
    d.tick(2000, [](const DadTable::Entry&) {});
    EXPECT_EQ(d.solicit_seen(0, a, true, other), DadTable::Seen::untracked);
    EXPECT_EQ(d.advert_seen(0, a), DadTable::Seen::conflict);
    EXPECT_TRUE(d.usable(0, a));
  }
  DadTable d = fresh();
  EXPECT_EQ(d.solicit_seen(0, ip6("2001:db8:1::2"), true, other), DadTable::Seen::untracked);
  EXPECT_EQ(d.advert_seen(1, a), DadTable::Seen::untracked);
}

TEST(DadTable, ANewConfigurationKeepsTheVerdictsOfAddressesItKeeps) {
  const Ipv6 a = ip6("2001:db8:1::1"), b = ip6("2001:db8:1::2"), c = ip6("2001:db8:1::3");
  DadTable d;
  d.set({{0, a}, {0, b}}, 1);
  d.tick(1000, [](const DadTable::Entry&) {});
  d.advert_seen(0, b);
  d.tick(2000, [](const DadTable::Entry&) {});
  d.set({{0, a}, {0, b}, {0, c}}, 2);
  EXPECT_TRUE(d.usable(0, a));
  EXPECT_FALSE(d.usable(0, b));
  EXPECT_EQ(d.find(0, c)->state, DadTable::State::tentative);
  d.set({{0, c}}, 3);
  EXPECT_EQ(d.find(0, a), nullptr);
  EXPECT_EQ(d.entries().size(), 1u);
}

TEST(ControlNd, OurAddressesAreProbedAndNotAnsweredForUntilTheyPassDad) {
  ControlRig rig(v6_config(), /*settle=*/false);
  const InterfaceModel& lan = rig.r1.model().interfaces[0];
  const Ipv6 ours = ip6("2001:db8:1::1"), client = ip6("2001:db8:1::5");
  auto probes = rig.poll();
  ASSERT_EQ(probes.size(), 2u) << "the LAN's link-local and 2001:db8:1::1; the IPv4-only WAN sends none";
  EXPECT_EQ(rig.count(Counter::nd_dad_probes_sent), 2u);
  NdMessage p;
  ASSERT_EQ(Frame6{probes[1]}.parse(p), NdStatus::ok);
  EXPECT_EQ(p.target, ours);
  ASSERT_TRUE(p.has_nonce);
  // Tentative: a client's resolution and ping get no answer.
  EXPECT_TRUE(rig.local(ns_frame(client, solicited_node_of(ours), ours)).empty());
  EXPECT_EQ(rig.drops(DropReason::nd_target_tentative), 1u);
  auto echo = Pkt6().ipv6("2001:db8:1::5", "2001:db8:1::1").icmp6_echo(9).payload("data").bytes();
  uint8_t* ip = echo.data() + kEthHdrLen;
  store_be16(ip + kIpv6HdrLen + 2, icmpv6_checksum(load_ipv6(ip + 8), load_ipv6(ip + 24), ip + kIpv6HdrLen, 12));
  EXPECT_TRUE(rig.local(echo).empty());
  EXPECT_EQ(rig.count(Counter::icmpv6_echo_replies), 0u);
  // Our own probe seen again (a loop in the LAN): ignored, still tentative.
  EXPECT_TRUE(rig.local(probes[1]).empty());
  EXPECT_EQ(rig.count(Counter::nd_dad_looped), 1u);
  // Another node answers for 2001:db8:1::1: it is a duplicate, never ours.
  std::vector<uint8_t> na(kNdFrameLen);
  uint8_t all_nodes_mac[6];
  multicast_mac_of(kAllNodes, all_nodes_mac);
  write_advert(na.data(), kOtherMac, ours, kAllNodes, all_nodes_mac, kNaOverride);
  EXPECT_TRUE(rig.local(na).empty());
  EXPECT_EQ(rig.count(Counter::nd_dad_duplicates), 1u);
  EXPECT_EQ(rig.count(Counter::nd_address_conflict), 0u);
  rig.now += DadTable::kRetransMs;
  EXPECT_TRUE(rig.poll().empty());
  EXPECT_EQ(rig.count(Counter::nd_dad_passed), 1u) << "the link-local passed";
  EXPECT_TRUE(rig.local(ns_frame(client, solicited_node_of(ours), ours)).empty());
  EXPECT_EQ(rig.drops(DropReason::nd_target_tentative), 2u);
  const Ipv6 ll = lan.addrs6[0];
  auto out = rig.local(ns_frame(client, solicited_node_of(ll), ll));
  ASSERT_EQ(out.size(), 1u) << "the link-local is answered for";
  EXPECT_EQ(Frame6{out[0]}.src(), ll);
}

// HA (#19): a node that holds its addresses before their DAD is done (back from a restart, its
// peer handing them back) claims each global one once it passes, then on the re-announce schedule.
TEST(ControlNd, AnHaNodeClaimsItsAddressesOnceTheyPassDad) {
  ControlRig rig(v6_config(), /*settle=*/false);
  rig.r1.shared().ha.enabled = true;
  rig.r1.shared().ha.own_held.store(true);
  const Ipv6 ours = ip6("2001:db8:1::1");
  const InterfaceModel& lan = rig.r1.model().interfaces[0];
  auto claims = [&](const std::vector<std::vector<uint8_t>>& frames) {
    int n = 0;
    for (const auto& f : frames) {
      NdMessage na;
      if (f.size() < kEthHdrLen + kIpv6HdrLen || load_be16(f.data() + 12) != kEtherTypeIpv6 ||
          Frame6{f}.parse(na) != NdStatus::ok || na.type != kNdNeighborAdvert)
        continue;
      EXPECT_EQ(na.target, ours) << "the global address only: a link-local never moves";
      EXPECT_EQ(Frame6{f}.dst(), kAllNodes);
      EXPECT_TRUE(na.flags & kNaOverride);
      EXPECT_FALSE(na.flags & kNaSolicited);
      EXPECT_TRUE(na.has_lla && std::memcmp(na.lla, lan.mac, 6) == 0);
      ++n;
    }
    return n;
  };
  EXPECT_EQ(claims(rig.poll()), 0) << "tentative: probes only";
  rig.now += DadTable::kRetransMs;
  EXPECT_EQ(claims(rig.poll()), 1) << "claimed as it passes";
  EXPECT_EQ(rig.count(Counter::ha_nd_claims_sent), 1u);
  for (const uint32_t step : {300u, 700u, 1500u}) {
    rig.now += step;
    EXPECT_EQ(claims(rig.poll()), 1) << "again " << step << " ms later";
  }
  rig.now += 5000;
  EXPECT_EQ(claims(rig.poll()), 0) << "the schedule is done";
  EXPECT_EQ(rig.count(Counter::ha_nd_claims_sent), 4u);
}

// Not holding our addresses (the peer holds them until we resynced): nothing is claimed.
TEST(ControlNd, AnHaNodeNotHoldingItsAddressesClaimsNoneAsTheyPassDad) {
  ControlRig rig(v6_config(), /*settle=*/false);
  rig.r1.shared().ha.enabled = true;
  rig.r1.shared().ha.own_held.store(false);
  rig.poll();
  rig.now += DadTable::kRetransMs;
  rig.poll();
  EXPECT_EQ(rig.count(Counter::nd_dad_passed), 2u);
  EXPECT_EQ(rig.count(Counter::ha_nd_claims_sent), 0u);
}

}  // namespace
}  // namespace wp
