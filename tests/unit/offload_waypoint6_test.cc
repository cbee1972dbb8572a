// The offload of IPv6 sessions between IPv6 waypoints (docs/ipv6.md § Offload
// of IPv6 sessions between IPv6 waypoints): r1 and r2 as real workers
// (svr6_pair.h), each with its offload manager and the software NIC model.
// Once established, a session's rules at both routers rewrite the client's
// tuple to the waypoint pair and back: the NIC's frames equal the workers'
// byte for byte, both directions at both routers, flow label zeroed as the
// workers do, checksums valid; metadata packets still reach the workers; the
// NIC's counts come back into the Session6 and its SVR session; the end
// removes the rules; a route change toward the peer's waypoint moves them; a
// session that changes family on one leg stays in software.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "dataplane/worker/shared.h"
#include "dataplane/worker/worker.h"
#include "offload/nic_model.h"
#include "offload/offload_manager.h"
#include "tests/unit/nic_offload.h"
#include "tests/unit/pkt6_builder.h"
#include "tests/unit/route6_test_config.h"
#include "tests/unit/svr6_frames.h"
#include "tests/unit/svr6_pair.h"

namespace wp::offload {
namespace {

using namespace test;

class OffloadWaypoint6 : public Svr6Pair {
 protected:
  void SetUp() override { Svr6Pair::SetUp(); }
  void start() {
    o1.start(*r1);
    o2.start(*r2);
    tick(1000);
  }
  void TearDown() override {
    o1.stop();
    o2.stop();
    r1.reset();
    r2.reset();
  }
  void tick(uint32_t ms) {
    now = ms;
    for (Offloaded* o : {&o1, &o2}) {
      o->r->worker().set_now_ms(ms);
      o->tick(ms);
    }
  }
  std::vector<Frame> nic_send(Offloaded& o, uint16_t port, const std::vector<uint8_t>& frame) {
    return o.send(port, frame, now);
  }
  // A client or server frame with traffic class 0xb8 and a flow label, as Linux sends them.
  static std::vector<uint8_t> labelled(std::vector<uint8_t> f) {
    f[14] = 0x6b, f[15] = 0x8a, f[16] = 0xbc, f[17] = 0xde;
    return f;
  }
  std::vector<uint8_t> client(uint16_t sport, std::string_view data, uint8_t flags = kTcpAck) const {
    return labelled(client_frame(Pkt6().ipv6(kV6Client, kV6Server, 64).tcp(sport, 80, flags).payload(data)));
  }
  std::vector<uint8_t> server(uint16_t sport, std::string_view data, uint8_t flags = kTcpAck) const {
    return labelled(server_frame(Pkt6().ipv6(kV6Server, kV6Client, 64).tcp(80, sport, flags).payload(data)));
  }
  // SYN, SYN-ACK (r2's ack of the metadata), an ACK without metadata: established at both routers.
  void handshake(uint16_t sport) {
    r2->send_one(kWan, r1->send_one(kLan, client(sport, "", kTcpSyn)).raw);
    r1->send_one(kWan, r2->send_one(kLan, server(sport, "", kTcpSyn | kTcpAck)).raw);
    r2->send_one(kWan, r1->send_one(kLan, client(sport, "")).raw);
  }
  Session6* session6(Router& r, uint16_t sport) {
    const FiveTuple6 t{ip6(kV6Client), ip6(kV6Server), sport, 80, kProtoTcp};
    SessionTable6* table = r.worker().route6().table();
    return table ? table->lookup(t).session : nullptr;
  }

  Offloaded o1, o2;
  uint32_t now = 0;
};

bool l4_checksum_ok(const Frame& f) {
  const Ipv6View v = parse_ipv6_packet(f.raw.data(), static_cast<uint32_t>(f.raw.size()), 14);
  if (v.status != Ipv6Status::ok) return false;
  std::vector<uint8_t> l4(f.raw.data() + v.l4, f.raw.data() + v.end);
  const size_t at = v.proto == kProtoTcp ? 16 : 6;
  const uint16_t sent = get16(l4.data() + at);
  l4[at] = l4[at + 1] = 0;
  return sent == l4_checksum6(v.src, v.dst, v.proto, l4.data(), static_cast<uint32_t>(l4.size()));
}

bool to_mac(const Frame& f, const Mac& mac) { return std::memcmp(f.raw.data(), mac.data(), 6) == 0; }

TEST_F(OffloadWaypoint6, BothRoutersRulesForwardAsTheirWorkersDoByteForByte) {
  start();
  handshake(40000);
  tick(1010);
  for (Offloaded* o : {&o1, &o2}) {
    EXPECT_EQ(o->mgr->sessions(), 1u);
    EXPECT_EQ(o->mgr->rules(), 2u);
    EXPECT_EQ(o->mgr->counters().waypoint6_offloaded.load(), 1u);
    EXPECT_EQ(o->mgr->counters().sessions6_offloaded.load(), 1u);
    EXPECT_EQ(o->mgr->counters().ineligible_state.load(), 0u);
    EXPECT_EQ(o->nic->rules_active(), 6u) << "the two rules, IPv4's and IPv6's cookie punt rules of the WAN";
  }
  // r1: the client's segment leaves for r2's waypoint, the server's comes back to the client.
  const auto out = client(40000, "steady state"), back = server(40000, "reply");
  const Frame sw_out = r1->send_one(kLan, out);
  auto hw = nic_send(o1, kLan, out);
  ASSERT_EQ(hw.size(), 1u);
  EXPECT_EQ(hw[0].port, kWan);
  EXPECT_EQ(hw[0].raw, sw_out.raw) << "addresses, ports, hop limit, flow label 0, traffic class, checksum";
  EXPECT_TRUE(l4_checksum_ok(hw[0]));
  EXPECT_EQ(hw[0].raw[15] & 0x0f, 0) << "flow label zeroed";
  EXPECT_EQ(hw[0].raw[16] | hw[0].raw[17], 0);
  // r2: that WAN frame arrives and goes to the server; the server's reply leaves for r1.
  const Frame sw_in = r2->send_one(kWan, sw_out.raw);
  auto hw2 = nic_send(o2, kWan, sw_out.raw);
  ASSERT_EQ(hw2.size(), 1u);
  EXPECT_EQ(hw2[0].port, kLan);
  EXPECT_EQ(hw2[0].raw, sw_in.raw);
  EXPECT_TRUE(l4_checksum_ok(hw2[0]));
  expect_restored6(out, hw2[0]);
  const Frame sw_back = r2->send_one(kLan, back);
  auto hw3 = nic_send(o2, kLan, back);
  ASSERT_EQ(hw3.size(), 1u);
  EXPECT_EQ(hw3[0].port, kWan);
  EXPECT_EQ(hw3[0].raw, sw_back.raw);
  EXPECT_TRUE(l4_checksum_ok(hw3[0]));
  const Frame sw_home = r1->send_one(kWan, sw_back.raw);
  auto hw4 = nic_send(o1, kWan, sw_back.raw);
  ASSERT_EQ(hw4.size(), 1u);
  EXPECT_EQ(hw4[0].port, kLan);
  EXPECT_EQ(hw4[0].raw, sw_home.raw);
  EXPECT_TRUE(l4_checksum_ok(hw4[0]));
  expect_restored6(back, hw4[0]);
  EXPECT_EQ(r1->total_drops(), 0u) << r1->drops();
  EXPECT_EQ(r2->total_drops(), 0u) << r2->drops();
}

TEST_F(OffloadWaypoint6, CountsComeBackMetadataReachesTheWorkerAndTheEndRemovesTheRules) {
  start();
  handshake(40001);
  tick(1010);
  ASSERT_EQ(o1.mgr->sessions(), 1u);
  Session6* s6 = session6(*r1, 40001);
  ASSERT_NE(s6, nullptr);
  ASSERT_NE(s6->svr_ref, 0u);
  Session* carrier = r1->worker().table().at(s6->svr_ref - 1);
  const uint64_t fwd6 = s6->packets[0], fwd4 = carrier->packets[0], bytes6 = s6->bytes[0], bytes4 = carrier->bytes[0];
  const auto out = client(40001, "by the NIC");
  for (int i = 0; i < 3; ++i) ASSERT_EQ(nic_send(o1, kLan, out).size(), 1u);
  tick(1200);
  EXPECT_EQ(s6->packets[0], fwd6 + 3) << "the Session6: REST and IPFIX";
  EXPECT_EQ(s6->bytes[0], bytes6 + 3 * (out.size() - 14)) << "IPv6 bytes";
  EXPECT_EQ(carrier->packets[0], fwd4 + 3) << "its SVR session: aging and HA";
  EXPECT_EQ(carrier->bytes[0], bytes4 + 3 * (out.size() - 14 - 20)) << "as it carries them, an IPv4 header";
  EXPECT_EQ(carrier->last_ms, 1200u) << "NIC traffic keeps the session alive";
  EXPECT_EQ(r1->count(Counter::offload_feedback), 1u);

  // A packet with metadata (the cookie) from r2's waypoint is the worker's, whatever the rules.
  const Frame first = r1->send_one(kLan, client(40099, "", kTcpSyn));  // a new session's SYN carries metadata
  const Frame md = r2->send_one(kWan, first.raw);
  const Frame md_back = r2->send_one(kLan, server(40099, "", kTcpSyn | kTcpAck));
  const uint64_t punted = o1.nic->counters().punted.load();
  EXPECT_TRUE(nic_send(o1, kWan, md_back.raw).empty()) << "punted to the host";
  EXPECT_EQ(o1.nic->counters().punted.load(), punted + 1);
  (void)md;

  // RST: the worker's; its sweep ends the session and the closed event removes both rules.
  EXPECT_TRUE(nic_send(o1, kLan, client(40001, "", kTcpRst)).empty());
  for (int i = 0; i < 600 && session6(*r1, 40001); ++i) {
    r1->worker().set_now_ms(r1->worker().now_ms() + 100);
    r1->idle();
  }
  ASSERT_EQ(session6(*r1, 40001), nullptr);
  o1.mgr->poll(r1->worker().now_ms());
  EXPECT_EQ(o1.mgr->counters().closed.load(), 1u);
  auto recs = o1.mgr->recent_closed();
  ASSERT_FALSE(recs.empty());
  EXPECT_TRUE(recs[0].ipv6);
  EXPECT_EQ(recs[0].original6.src, ip6(kV6Client));
  EXPECT_EQ(recs[0].original6.dport, 80);
  EXPECT_EQ(recs[0].nic_packets[0], 3u);
  auto j = nlohmann::json::parse(o1.mgr->status_json());
  EXPECT_EQ(j["closed"][0]["family"], "ipv6");
  EXPECT_EQ(j["closed"][0]["src"], kV6Client);
  EXPECT_EQ(j["counters"]["waypoint6_offloaded"], 2) << "and 40099's, established once its SYN-ACK reached r1";
  EXPECT_EQ(o1.mgr->sessions(), 1u) << "40099's";
  EXPECT_EQ(o1.nic->rules_active(), 6u) << "40099's two rules and the four cookie punt rules";
}

// A more specific route to r2's waypoint through FRR's link-local gateway: r1's worker takes it
// for every packet; its sweep posts the session's update and the manager moves the rules there.
TEST_F(OffloadWaypoint6, ARouteChangeTowardThePeersWaypointMovesTheRules) {
  start();
  learn_link_local_gw(*r1);
  handshake(40002);
  tick(1010);
  ASSERT_EQ(o1.mgr->sessions(), 1u);
  const auto out = client(40002, "moving");
  auto hw = nic_send(o1, kLan, out);
  ASSERT_EQ(hw.size(), 1u);
  EXPECT_TRUE(to_mac(hw[0], kR2Mac)) << "on-link";
  FibTable6 fib({frr_route("2001:db8:70::2/128", 20, {{kLinkLocalGw, 1}})});
  r1->shared().fib6.store(&fib, std::memory_order_release);
  r1->idle();  // the sweep: the session's update
  tick(1020);
  EXPECT_EQ(o1.mgr->counters().waypoint6_rerouted.load(), 1u);
  EXPECT_EQ(o1.mgr->counters().waypoint6_offloaded.load(), 2u) << "offloaded again at once";
  hw = nic_send(o1, kLan, out);
  ASSERT_EQ(hw.size(), 1u);
  EXPECT_TRUE(to_mac(hw[0], kLinkLocalMac)) << "to FRR's gateway";
  EXPECT_EQ(hw[0].raw, r1->send_one(kLan, out).raw) << "as the worker does";
  r1->shared().fib6.store(nullptr, std::memory_order_release);
  r1->idle();
  tick(1030);
  EXPECT_EQ(o1.mgr->counters().waypoint6_rerouted.load(), 2u);
  hw = nic_send(o1, kLan, out);
  ASSERT_EQ(hw.size(), 1u);
  EXPECT_TRUE(to_mac(hw[0], kR2Mac)) << "back on-link";
}

// v6 over v4 (r1 has no IPv6 WAN address): the family changes on the WAN leg, no rule can do it.
TEST_F(OffloadWaypoint6, ASessionThatChangesFamilyOnOneLegStaysInSoftware) {
  make(v6wp_config(true, false), v6wp_config(false));
  start();
  r2->send_one(kWan, r1->send_one(kLan, client(40003, "", kTcpSyn)).raw);
  r1->send_one(kWan, r2->send_one(kLan, server(40003, "", kTcpSyn | kTcpAck)).raw);
  r2->send_one(kWan, r1->send_one(kLan, client(40003, "")).raw);
  tick(1010);
  for (Offloaded* o : {&o1, &o2}) {
    EXPECT_EQ(o->mgr->sessions(), 0u);
    EXPECT_EQ(o->mgr->counters().ineligible_translated.load(), 1u);
    EXPECT_EQ(o->mgr->counters().events6.load(), 0u) << "nothing posted in IPv6 form";
  }
}

// The WAN's MTU is smaller than the LAN's: the worker answers the largest packets with Packet
// Too Big, which no rule can; the session stays in software.
TEST_F(OffloadWaypoint6, AWanSmallerThanTheLanKeepsTheSessionInSoftware) {
  config::Config c1 = v6wp_config(true);
  c1.mutable_router()->mutable_wan(0)->set_mtu(1400);
  make(c1, v6wp_config(false));
  start();
  handshake(40004);
  tick(1010);
  EXPECT_EQ(o1.mgr->sessions(), 0u);
  EXPECT_EQ(o1.mgr->counters().ineligible_state.load(), 1u);
  EXPECT_EQ(o2.mgr->sessions(), 1u) << "r2's ports have one MTU";
}

}  // namespace
}  // namespace wp::offload
