// The staged burst lookup of IPv6 packets in a worker's dispatch
// (worker/staged_lookup.h, Route6Step::classify/process): a burst mixing IPv4
// and IPv6 packets of established sessions, new sessions (one of them with its
// second packet in the same burst) and misses is forwarded exactly as the same
// packets one at a time: the same frames on each port, IPv6 ones first and in
// order, then IPv4 ones in order (as before the staging: IPv6 packets were
// routed the moment they were parsed), and the same counters.
//
// Also the IPv6 next-hop hints of Tx::transmit6 (Neighbor6Table::Hint): a hint
// is checked against its slot every time.
//
//   clients 10.1.0.5, 2001:db8:71::5 - [r1] - wan0 gateways 172.16.0.254, 2001:db8:70::2
//     internet 198.51.100.10 (breakout), server 2001:db8:72::10 (routed)
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "dataplane/ip/ndp.h"
#include "mgmt/config_load.h"
#include "tests/unit/eal_env.h"
#include "tests/unit/pkt6_builder.h"
#include "tests/unit/route6_test_config.h"

namespace wp {
namespace {

using namespace test;

const Ipv4 kInternet = ip("198.51.100.10");
const Ipv4 kGateway4 = ip("172.16.0.254");
constexpr Mac kGateway4Mac = {2, 0, 0, 0, 0xfe, 1};

config::Config mixed_config() {
  config::Config c = route6_config();
  add_tenant(c, "branch", "10.1.0.0/25");
  add_route(c, "0.0.0.0/0", "172.16.0.254", "wan0");
  config::Service* s = add_service(c, {"internet", "198.51.100.0/24", "any", "", ""});
  s->mutable_breakout()->set_interface("wan0");
  add_policy(c, "branch", "internet", "");
  return c;
}

std::unique_ptr<Router> mixed_router() {
  auto r = route6_router({}, mixed_config());
  r->neighbor(0, kClient, kClientMac);
  r->neighbor(1, kGateway4, kGateway4Mac);
  return r;
}

struct In {
  uint16_t port;
  std::vector<uint8_t> frame;
  bool operator==(const In&) const = default;
};

// Two established sessions of each family (TCP and UDP) on router `r`; the
// breakout's translated source ports are returned for the replies.
std::vector<uint16_t> establish(Router& r) {
  std::vector<uint16_t> nat;
  Frame t = r.send_one(kLan, Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, kInternet).tcp(40000, 443, kTcpSyn).bytes());
  nat.push_back(t.sport());
  r.send_one(kWan, Pkt().eth(kR1Mac, kGateway4Mac).ipv4(kInternet, kR1Wan).tcp(443, t.sport(), kTcpSyn | kTcpAck).bytes());
  Frame u = r.send_one(kLan, Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, kInternet).udp(5000, 53).payload("q").bytes());
  nat.push_back(u.sport());
  r.send_one(kWan, Pkt().eth(kR1Mac, kGateway4Mac).ipv4(kInternet, kR1Wan).udp(53, u.sport()).payload("a").bytes());
  r.send_one(kLan, from_lan(r, Pkt6().ipv6(kRouteClient, kRouteServer).tcp(41000, 80, kTcpSyn)));
  r.send_one(kWan, from_wan(r, Pkt6().ipv6(kRouteServer, kRouteClient).tcp(80, 41000, kTcpSyn | kTcpAck)));
  r.send_one(kLan, from_lan(r, Pkt6().ipv6(kRouteClient, kRouteServer).udp(6000, 5201).payload("q")));
  r.send_one(kWan, from_wan(r, Pkt6().ipv6(kRouteServer, kRouteClient).udp(5201, 6000).payload("a")));
  return nat;
}

std::vector<In> mixed_burst(const Router& r, const std::vector<uint16_t>& nat) {
  auto wan4 = [] { return Pkt().eth(kR1Mac, kGateway4Mac).ipv4(kInternet, kR1Wan); };
  return {
      {kLan, Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, kInternet).tcp(40000, 443, kTcpAck).payload("a1").bytes()},
      {kLan, from_lan(r, Pkt6().ipv6(kRouteClient, kRouteServer).tcp(41000, 80, kTcpAck).payload("b1"))},
      {kWan, wan4().tcp(443, nat[0], kTcpAck).payload("a2").bytes()},
      {kWan, from_wan(r, Pkt6().ipv6(kRouteServer, kRouteClient).tcp(80, 41000, kTcpAck).payload("b2"))},
      // A new IPv6 session, its second packet later in the same burst.
      {kLan, from_lan(r, Pkt6().ipv6(kRouteClient, kRouteServer).udp(7000, 5201).payload("n1"))},
      {kWan, wan4().tcp(443, nat[0] ^ 2, kTcpAck).bytes()},  // IPv4 miss: no_session
      {kWan, from_wan(r, Pkt6().ipv6(kRouteServer, kRouteClient).udp(5201, 7001))},  // IPv6 miss: ipv6_no_session
      {kLan, from_lan(r, Pkt6().ipv6(kRouteClient, kRouteServer).udp(6000, 5201).payload("b3"))},
      {kLan, Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, kInternet).udp(5000, 53).payload("a3").bytes()},
      {kLan, from_lan(r, Pkt6().ipv6(kRouteGuest, kRouteServer).tcp(42000, 80, kTcpSyn))},  // policy_deny
      {kLan, from_lan(r, Pkt6().ipv6(kRouteClient, kRouteServer).udp(7000, 5201).payload("n2"))},
      {kWan, from_wan(r, Pkt6().ipv6(kRouteServer, kRouteClient).udp(5201, 7000).payload("n3"))},
      {kLan, from_lan(r, Pkt6().ipv6(kRouteClient, kRouteServer, 1).udp(6000, 5201).payload("hl"))},  // hop limit 1
      {kLan, Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, kInternet).udp(5002, 53).payload("a4").bytes()},  // new
      {kWan, wan4().udp(53, nat[1]).payload("a5").bytes()},
  };
}

bool is_ipv6(const Frame& f) { return f.raw.size() > 14 && f.raw[12] == 0x86 && f.raw[13] == 0xdd; }

// Per port, in order; IPv6 frames before IPv4 ones (stable), the order a burst sends them in.
std::vector<std::vector<std::vector<uint8_t>>> by_port(std::vector<Frame> frames, bool v6_first) {
  if (v6_first) std::stable_partition(frames.begin(), frames.end(), is_ipv6);
  std::vector<std::vector<std::vector<uint8_t>>> out(2);
  for (const Frame& f : frames) {
    if (f.port >= out.size()) out.resize(f.port + 1u);
    out[f.port].push_back(f.raw);
  }
  return out;
}

TEST(Route6Burst, MixedBurstIsForwardedAsPacketByPacket) {
  ASSERT_EQ(config_errors(mixed_config()), "");
  auto burst = mixed_router();
  auto single = mixed_router();
  const std::vector<uint16_t> nat = establish(*burst);
  ASSERT_EQ(establish(*single), nat) << "the two routers translate alike";
  ASSERT_EQ(burst->total_drops(), 0u) << burst->drops();
  const std::vector<In> in = mixed_burst(*burst, nat);
  ASSERT_EQ(in, mixed_burst(*single, nat));

  // One burst through dispatch.
  const size_t before = burst->transmitted().size();
  std::vector<rte_mbuf*> mbufs;
  for (const In& p : in) mbufs.push_back(Pkt::to_mbuf(test_pool(), p.frame, p.port));
  burst->worker().receive(mbufs.data(), static_cast<uint16_t>(mbufs.size()));
  burst->worker().flush();
  const std::vector<Frame> burst_out(burst->transmitted().begin() + static_cast<ptrdiff_t>(before),
                                     burst->transmitted().end());
  // The same packets one at a time.
  std::vector<Frame> single_out;
  for (const In& p : in)
    for (Frame& f : single->send(p.port, p.frame)) single_out.push_back(std::move(f));

  // 15 in; 4 dropped (2 misses, a denied first packet, hop limit 1), 1 ICMPv6 Time Exceeded sent.
  EXPECT_EQ(single_out.size(), 12u) << single->drops();
  EXPECT_EQ(by_port(burst_out, false), by_port(single_out, true));
  for (size_t c = 0; c < kCounterCount; ++c)
    EXPECT_EQ(burst->count(static_cast<Counter>(c)), single->count(static_cast<Counter>(c))) << kCounterNames[c];
  for (size_t d = 0; d < kDropReasonCount; ++d)
    EXPECT_EQ(burst->drop_count(static_cast<DropReason>(d)), single->drop_count(static_cast<DropReason>(d)))
        << kDropReasonNames[d];
  EXPECT_EQ(burst->drop_count(DropReason::no_session), 1u);
  EXPECT_EQ(burst->drop_count(DropReason::ipv6_no_session), 1u);
  EXPECT_EQ(burst->drop_count(DropReason::policy_deny), 1u);
  EXPECT_EQ(burst->drop_count(DropReason::ipv6_hop_limit), 1u);
  EXPECT_EQ(burst->count(Counter::sessions6_created), 3u) << "the new flow's second packet found its session";
  EXPECT_EQ(burst->worker().route6().sessions(), single->worker().route6().sessions());
  EXPECT_EQ(burst->worker().counters().sessions6_active.load(), 3u);
}

// A burst of only IPv6 packets of many sessions, each packet's session found
// (nothing created twice), through the staged lookup.
TEST(Route6Burst, FullBurstOfEstablishedIpv6Sessions) {
  auto r = mixed_router();
  constexpr uint16_t kFlows = kMaxBurst;
  for (uint16_t i = 0; i < kFlows; ++i)
    r->send_one(kLan, from_lan(*r, Pkt6().ipv6(kRouteClient, kRouteServer).udp(static_cast<uint16_t>(10000 + i), 53)));
  ASSERT_EQ(r->count(Counter::sessions6_created), kFlows);
  std::vector<rte_mbuf*> mbufs;
  for (uint16_t i = 0; i < kFlows; ++i) {
    const bool back = i & 1;
    const auto port = static_cast<uint16_t>(10000 + i);
    mbufs.push_back(Pkt::to_mbuf(test_pool(),
                                 back ? from_wan(*r, Pkt6().ipv6(kRouteServer, kRouteClient).udp(53, port))
                                      : from_lan(*r, Pkt6().ipv6(kRouteClient, kRouteServer).udp(port, 53)),
                                 back ? kWan : kLan));
  }
  const size_t before = r->transmitted().size();
  r->worker().receive(mbufs.data(), kFlows);
  r->worker().flush();
  ASSERT_EQ(r->transmitted().size() - before, kFlows) << r->drops();
  // Each port's tx burst in arrival order: the client's ports, from the LAN's packets
  // (source port) and the server's replies (destination port).
  std::vector<uint16_t> to_wan, to_lan;
  for (size_t i = before; i < r->transmitted().size(); ++i) {
    const Frame& f = r->transmitted()[i];
    if (f.port == kWan) to_wan.push_back(get16(f.raw.data() + 54));
    else to_lan.push_back(get16(f.raw.data() + 56));
  }
  std::vector<uint16_t> want_wan, want_lan;
  for (uint16_t i = 0; i < kFlows; ++i) ((i & 1) ? want_lan : want_wan).push_back(static_cast<uint16_t>(10000 + i));
  EXPECT_EQ(to_wan, want_wan);
  EXPECT_EQ(to_lan, want_lan);
  EXPECT_EQ(r->count(Counter::sessions6_created), kFlows);
  EXPECT_EQ(r->total_drops(), 0u) << r->drops();
}

// The IPv4 side of the staged lookup (Worker::process_owned: the burst's home
// slots first, then each session prefetched kSessionsAhead packets before its
// own): a full burst of established IPv4 breakout sessions, both directions,
// with a miss and a flow twice, is forwarded in order with every session found.
TEST(Ipv4Burst, FullBurstOfEstablishedIpv4Sessions) {
  auto r = mixed_router();
  constexpr uint16_t kFlows = kMaxBurst / 2;
  std::vector<uint16_t> nat;
  for (uint16_t i = 0; i < kFlows; ++i) {
    const Frame f = r->send_one(
        kLan, Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, kInternet).udp(static_cast<uint16_t>(20000 + i), 53).bytes());
    nat.push_back(f.sport());
  }
  ASSERT_EQ(r->count(Counter::breakout_sessions_created), kFlows);
  // Out and back per flow, except: flow 3's reply to a port no session holds
  // (no_session), and the last flow's reply replaced by flow 5's second packet.
  uint16_t miss = static_cast<uint16_t>(nat[3] ^ 2);
  while (std::find(nat.begin(), nat.end(), miss) != nat.end()) miss = static_cast<uint16_t>(miss + 4);
  std::vector<rte_mbuf*> mbufs;
  std::vector<uint16_t> want_wan, want_lan;
  auto out = [&](uint16_t i) {
    mbufs.push_back(Pkt::to_mbuf(
        test_pool(), Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, kInternet).udp(static_cast<uint16_t>(20000 + i), 53).bytes(),
        kLan));
    want_wan.push_back(nat[i]);
  };
  for (uint16_t i = 0; i < kFlows; ++i) {
    out(i);
    if (i == kFlows - 1) {
      out(5);
      break;
    }
    mbufs.push_back(Pkt::to_mbuf(
        test_pool(), Pkt().eth(kR1Mac, kGateway4Mac).ipv4(kInternet, kR1Wan).udp(53, i == 3 ? miss : nat[i]).bytes(),
        kWan));
    if (i != 3) want_lan.push_back(static_cast<uint16_t>(20000 + i));
  }
  ASSERT_EQ(mbufs.size(), size_t{kMaxBurst});
  const size_t before = r->transmitted().size();
  r->worker().receive(mbufs.data(), static_cast<uint16_t>(mbufs.size()));
  r->worker().flush();
  std::vector<uint16_t> to_wan, to_lan;
  for (size_t i = before; i < r->transmitted().size(); ++i) {
    const Frame& f = r->transmitted()[i];
    if (f.port == kWan)
      to_wan.push_back(f.sport());
    else
      to_lan.push_back(f.dport());
  }
  EXPECT_EQ(to_wan, want_wan);
  EXPECT_EQ(to_lan, want_lan);
  EXPECT_EQ(r->count(Counter::breakout_sessions_created), kFlows) << "every packet found its session";
  EXPECT_EQ(r->drop_count(DropReason::no_session), 1u);
  EXPECT_EQ(r->total_drops(), 1u) << r->drops();
}

// Tx::transmit6's next-hop hint is only a memo: once the gateway's entry is
// gone (or re-keyed), the packet waits for resolution instead of taking the
// MAC the hinted slot held.
TEST(Neighbor6Hint, AHintIsCheckedAgainstTheSlotEveryTime) {
  Neighbor6Table n6;
  const Ipv6 a = ip6("2001:db8:70::2"), b = ip6("2001:db8:70::3");
  const uint8_t mac_a[6] = {2, 0, 0, 0, 0, 0xa}, mac_b[6] = {2, 0, 0, 0, 0, 0xb};
  n6.begin(1, a, 0);
  n6.advert(1, a, mac_a, kNaSolicited | kNaOverride, 0);
  Neighbor6Table::Hint hint;
  uint8_t mac[6] = {};
  ASSERT_TRUE(n6.use(1, a, mac, 0, hint));
  EXPECT_EQ(std::memcmp(mac, mac_a, 6), 0);
  EXPECT_EQ(hint.iface, 1);
  EXPECT_EQ(hint.addr, a);
  ASSERT_TRUE(n6.use(1, a, mac, 0, hint)) << "a hit through the hint";
  EXPECT_EQ(std::memcmp(mac, mac_a, 6), 0);
  EXPECT_FALSE(n6.use(0, a, mac, 0, hint)) << "another interface: not the hinted entry";
  EXPECT_FALSE(n6.use(1, b, mac, 0, hint)) << "another address: not the hinted entry";
  // The entry fails (unanswered probes): the slot no longer holds a; the hint must not answer.
  for (uint32_t t = Neighbor6Table::kReachableMs; t < Neighbor6Table::kReachableMs + 20 * Neighbor6Table::kRetransMs;
       t += Neighbor6Table::kRetransMs) {
    n6.use(1, a, mac, t, hint);
    n6.age(t, Neighbor6Table::kSlots, [](int, const Ipv6&, const uint8_t*) {}, [](int, const Ipv6&) {});
  }
  EXPECT_EQ(n6.state(1, a), Neighbor6Table::State::none);
  EXPECT_FALSE(n6.use(1, a, mac, 0, hint)) << "the hinted slot was emptied";
  // b takes a slot (perhaps a's): still no MAC for a through the hint.
  n6.begin(1, b, 0);
  n6.advert(1, b, mac_b, kNaSolicited | kNaOverride, 0);
  EXPECT_FALSE(n6.use(1, a, mac, 0, hint));
  ASSERT_TRUE(n6.use(1, b, mac, 0, hint));
  EXPECT_EQ(std::memcmp(mac, mac_b, 6), 0);
}

}  // namespace
}  // namespace wp
