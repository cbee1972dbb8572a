// The offload manager with routed IPv6 sessions (issue #19), through a real
// worker (route6_test_config.h's router) and the software NIC model: an
// established IPv6 session gets one rule per direction whose output equals
// the worker's byte for byte, the NIC's counts come back into the Session6,
// AGE ends it, the closed record says IPv6; a next hop still in Neighbor
// Discovery delays the rules; echo sessions stay in software; a session whose
// route moves gets rules to its new next hop (and back), also when that next
// hop is still in Neighbor Discovery.
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

namespace wp::offload {
namespace {

using namespace test;

class Offload6 : public ::testing::Test {
 protected:
  void start(std::unique_ptr<Router> router) {
    r = std::move(router);
    nic = std::make_unique<NicModel>(16);
    mgr = std::make_unique<OffloadManager>(r->shared(), *nic, OffloadOptions{8, 100});
    std::string err;
    ASSERT_TRUE(mgr->init(64, SOCKET_ID_ANY, err)) << err;
    ASSERT_TRUE(mgr->install_port_rules(err)) << err;
    ASSERT_NE(mgr->feedback6_ring(0), nullptr) << "the router routes IPv6";
    r->worker().offload().set_ring(mgr->feedback_ring(0));
    r->worker().offload().set_ring6(mgr->feedback6_ring(0));
    tick(1000);
  }
  void TearDown() override {
    if (mgr) mgr->shutdown();
    mgr.reset();
    nic.reset();
    r.reset();
  }
  void tick(uint32_t ms) {
    now = ms;
    r->worker().set_now_ms(ms);
    for (int i = 0; i < 2; ++i) {
      mgr->poll(ms);
      nic->service(ms);
      r->worker().offload().drain();
    }
  }
  std::vector<Frame> nic_send(uint16_t port, const std::vector<uint8_t>& frame) {
    return nic_pass(*nic, *r, port, frame, now);
  }
  std::vector<uint8_t> client(uint8_t proto, std::string_view data, uint8_t flags = kTcpAck) {
    Pkt6 p = Pkt6().ipv6(kRouteClient, kRouteServer, 64);
    if (proto == kProtoTcp)
      p.tcp(40000, 443, flags);
    else
      p.udp(40000, 5201);
    return from_lan(*r, p.payload(data));
  }
  std::vector<uint8_t> server(uint8_t proto, std::string_view data, uint8_t flags = kTcpAck) {
    Pkt6 p = Pkt6().ipv6(kRouteServer, kRouteClient, 60);
    if (proto == kProtoTcp)
      p.tcp(443, 40000, flags);
    else
      p.udp(5201, 40000);
    return from_wan(*r, p.payload(data));
  }
  Session6* session(uint8_t proto) {
    const FiveTuple6 t{ip6(kRouteClient), ip6(kRouteServer), 40000, uint16_t(proto == kProtoTcp ? 443 : 5201), proto};
    const SessionTable6* table = r->worker().route6().table();
    return table ? table->lookup(t).session : nullptr;
  }

  std::unique_ptr<Router> r;
  std::unique_ptr<NicModel> nic;
  std::unique_ptr<OffloadManager> mgr;
  uint32_t now = 0;
};

TEST_F(Offload6, UdpSessionOffloadedCountersFoldBackAndAgeEndsIt) {
  start(route6_router(RouterOptions().with_udp_timeout_ms(5000)));
  r->send_one(kLan, client(kProtoUdp, "one"));
  tick(1005);
  EXPECT_EQ(mgr->sessions(), 0u) << "created is not established";
  r->send_one(kWan, server(kProtoUdp, "two"));  // established
  tick(1010);
  EXPECT_EQ(mgr->sessions(), 1u);
  EXPECT_EQ(mgr->rules(), 2u);
  EXPECT_EQ(mgr->counters().sessions6_offloaded.load(), 1u);
  EXPECT_EQ(mgr->counters().events6.load(), 1u) << "established (created is not posted)";
  // The NIC's frames equal the worker's for the same packets, both ways.
  const auto out = client(kProtoUdp, "steady state"), back = server(kProtoUdp, "reply");
  auto hw = nic_send(kLan, out);
  ASSERT_EQ(hw.size(), 1u);
  EXPECT_EQ(hw[0].port, kWan);
  EXPECT_EQ(hw[0].raw, r->send_one(kLan, out).raw);
  auto hw2 = nic_send(kWan, back);
  ASSERT_EQ(hw2.size(), 1u);
  EXPECT_EQ(hw2[0].port, kLan);
  EXPECT_EQ(hw2[0].raw, r->send_one(kWan, back).raw);
  Session6* s = session(kProtoUdp);
  ASSERT_NE(s, nullptr);
  const uint64_t sw[2] = {s->packets[0], s->packets[1]}, sw_bytes = s->bytes[0];
  for (int i = 0; i < 4; ++i) ASSERT_EQ(nic_send(kLan, out).size(), 1u);
  tick(1200);
  // The NIC's 5 forward packets (one above, four here) and its reply come back into the session.
  EXPECT_EQ(s->packets[0], sw[0] + 5);
  EXPECT_EQ(s->packets[1], sw[1] + 1);
  EXPECT_EQ(s->bytes[0], sw_bytes + 5 * (out.size() - 14)) << "IP bytes, as the worker counts them";
  EXPECT_EQ(s->last_ms, 1200u) << "NIC traffic keeps the session alive";
  const uint64_t total_fwd = s->packets[0];
  // Idle past the UDP timeout: the NIC ages the rules, the worker ends the session.
  tick(1200 + 5000);
  tick(1200 + 5100);
  EXPECT_EQ(session(kProtoUdp), nullptr);
  EXPECT_EQ(r->count(Counter::offload_aged), 1u);
  EXPECT_EQ(r->count(Counter::sessions6_expired), 1u);
  EXPECT_EQ(mgr->rules(), 0u);
  EXPECT_EQ(nic->rules_active(), 2u) << "only the cookie punt rules of the WAN remain";
  auto recs = mgr->recent_closed();
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_TRUE(recs[0].ipv6);
  EXPECT_EQ(recs[0].original6.src, ip6(kRouteClient));
  EXPECT_EQ(recs[0].packets[0], total_fwd);
  EXPECT_EQ(recs[0].nic_packets[0], 5u);
  EXPECT_EQ(recs[0].nic_packets[1], 1u);
  EXPECT_EQ(recs[0].reason, SessionEndReason::idle_timeout);
  auto j = nlohmann::json::parse(mgr->status_json());
  ASSERT_EQ(j["closed"].size(), 1u);
  EXPECT_EQ(j["closed"][0]["family"], "ipv6");
  EXPECT_EQ(j["closed"][0]["src"], kRouteClient);
  EXPECT_EQ(j["closed"][0]["dst"], kRouteServer);
  EXPECT_EQ(j["closed"][0]["nic_packets"][0], 5);
  EXPECT_EQ(j["counters"]["sessions6_offloaded"], 1);
}

TEST_F(Offload6, TcpControlSegmentsStayWithTheWorkerAndTheEndRemovesTheRules) {
  start(route6_router(RouterOptions()));
  r->send_one(kLan, client(kProtoTcp, "", kTcpSyn));
  r->send_one(kWan, server(kProtoTcp, "", kTcpSyn | kTcpAck));
  tick(1010);
  ASSERT_EQ(mgr->rules(), 2u);
  EXPECT_EQ(nic_send(kLan, client(kProtoTcp, "GET /")).size(), 1u);
  EXPECT_EQ(nic_send(kWan, server(kProtoTcp, "200 OK")).size(), 1u);
  // FIN and RST reach the worker, which forwards them and notes the end.
  EXPECT_TRUE(nic_send(kLan, client(kProtoTcp, "", kTcpFin | kTcpAck)).empty());
  EXPECT_TRUE(nic_send(kWan, server(kProtoTcp, "", kTcpRst)).empty());
  EXPECT_EQ(r->count(Counter::ipv6_forwarded), 4u) << "SYN, SYN-ACK, FIN, RST by the worker; the data by the NIC";
  Session6* s = session(kProtoTcp);
  ASSERT_NE(s, nullptr);
  EXPECT_TRUE(s->flags & kRst);
  // The worker's sweep ends it (transitory timeout) and posts closed: the rules go.
  for (int i = 0; i < 600 && session(kProtoTcp); ++i) {
    r->worker().set_now_ms(r->worker().now_ms() + 100);
    r->idle();
  }
  ASSERT_EQ(session(kProtoTcp), nullptr);
  mgr->poll(r->worker().now_ms());
  EXPECT_EQ(mgr->rules(), 0u);
  EXPECT_EQ(mgr->counters().closed.load(), 1u);
  auto recs = mgr->recent_closed();
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].reason, SessionEndReason::end_of_flow);
  EXPECT_EQ(recs[0].nic_packets[0], 1u);
  EXPECT_EQ(recs[0].nic_packets[1], 1u);
}

// The reply toward the client is what makes the router solicit the client's
// MAC: the reverse rule cannot be built at `established`, the session waits.
TEST_F(Offload6, AnUnresolvedNextHopDelaysTheRulesUntilNeighborDiscoveryAnswers) {
  auto router = std::make_unique<Router>(route6_config(), RouterOptions());
  Neighbor6Table& n6 = router->shared().neighbors6;
  n6.begin(1, kGateway6, 0);
  n6.advert(1, kGateway6, kGateway6Mac.data(), kNaSolicited | kNaOverride, 0);
  start(std::move(router));
  r->send_one(kLan, client(kProtoUdp, "one"));
  EXPECT_TRUE(r->send(kWan, server(kProtoUdp, "two")).empty()) << "held for ND at the control thread";
  tick(1010);
  EXPECT_EQ(mgr->sessions(), 0u);
  EXPECT_EQ(mgr->counters().neighbor_missing.load(), 1u);
  n6.begin(0, ip6(kRouteClient), 0);
  n6.advert(0, ip6(kRouteClient), kRouteClientMac.data(), kNaSolicited | kNaOverride, 0);
  tick(1011);
  EXPECT_EQ(mgr->sessions(), 1u);
  EXPECT_EQ(mgr->counters().neighbor_waited.load(), 1u);
}

bool to_mac(const Frame& f, const Mac& mac) { return std::memcmp(f.raw.data(), mac.data(), 6) == 0; }

// docs/ipv6.md § Offload of routed IPv6 sessions: the worker's Route6Follow moves the session
// (a more specific FRR route, then its withdrawal) and posts its update; the manager replaces
// both rules, so the NIC's output goes where the worker's does, and the session's end removes them.
TEST_F(Offload6, AMovedSessionsRulesFollowItsNextHopAndItsEndRemovesThem) {
  start(route6_router(RouterOptions()));
  learn_link_local_gw(*r);
  r->send_one(kLan, client(kProtoUdp, "one"));
  r->send_one(kWan, server(kProtoUdp, "two"));
  tick(1010);
  ASSERT_EQ(mgr->sessions(), 1u);
  const auto out = client(kProtoUdp, "steady state"), back = server(kProtoUdp, "reply");
  auto hw = nic_send(kLan, out);
  ASSERT_EQ(hw.size(), 1u);
  EXPECT_TRUE(to_mac(hw[0], kGateway6Mac)) << "the config's route";
  const uint64_t before = session(kProtoUdp)->packets[0];

  FibTable6 fib({frr_route("2001:db8:72::/96", 20, {{kLinkLocalGw, 1}})});
  r->shared().fib6.store(&fib, std::memory_order_release);
  r->idle();  // the worker moves the session and posts its update
  ASSERT_EQ(r->count(Counter::sessions6_route_moved), 1u);
  tick(1020);
  EXPECT_EQ(mgr->counters().rerouted.load(), 1u);
  EXPECT_EQ(mgr->counters().sessions6_rerouted.load(), 1u);
  EXPECT_EQ(mgr->counters().sessions6_offloaded.load(), 2u) << "offloaded again at once";
  EXPECT_EQ(mgr->sessions(), 1u);
  EXPECT_EQ(mgr->rules(), 2u);
  EXPECT_EQ(nic->rules_active(), 4u) << "the two new rules and the WAN's cookie punt rules: the old ones are gone";
  EXPECT_EQ(session(kProtoUdp)->packets[0], before + 1) << "the old rules' count was posted before they went";
  hw = nic_send(kLan, out);
  ASSERT_EQ(hw.size(), 1u) << "the NIC forwards it";
  EXPECT_EQ(hw[0].port, kWan);
  EXPECT_TRUE(to_mac(hw[0], kLinkLocalMac)) << "to the new next hop";
  EXPECT_EQ(hw[0].raw, r->send_one(kLan, out).raw) << "as the worker does";
  auto hw2 = nic_send(kWan, back);
  ASSERT_EQ(hw2.size(), 1u);
  EXPECT_EQ(hw2[0].raw, r->send_one(kWan, back).raw) << "the reverse rule is the same as before";

  r->shared().fib6.store(nullptr, std::memory_order_release);  // FRR withdrew it
  r->idle();
  tick(1030);
  EXPECT_EQ(mgr->counters().sessions6_rerouted.load(), 2u);
  hw = nic_send(kLan, out);
  ASSERT_EQ(hw.size(), 1u);
  EXPECT_TRUE(to_mac(hw[0], kGateway6Mac)) << "back on the config's route";
  EXPECT_EQ(mgr->counters().events6.load(), 3u) << "established and two moves (periodic updates are not posted)";

  // The session's end still removes the (new) rules, and its record has all the NIC's packets.
  ASSERT_NE(session(kProtoUdp), nullptr);
  r->worker().route6().end(*session(kProtoUdp), SessionEndReason::forced_end);
  tick(1050);
  EXPECT_EQ(mgr->rules(), 0u);
  EXPECT_EQ(nic->rules_active(), 2u) << "only the cookie punt rules of the WAN remain";
  EXPECT_EQ(mgr->counters().closed.load(), 1u);
  auto recs = mgr->recent_closed();
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_TRUE(recs[0].ipv6);
  EXPECT_EQ(recs[0].nic_packets[0], 1u) << "this set of rules' share; the earlier ones' went into the session";
  r->shared().fib6.store(nullptr, std::memory_order_release);
}

// The new next hop's MAC is not known yet: the old rules go at once (the worker, already moved,
// forwards the packets meanwhile), and the new ones come when Neighbor Discovery answers.
TEST_F(Offload6, AMoveToAnUnresolvedNextHopLeavesTheSessionToTheWorkerUntilNdAnswers) {
  start(route6_router(RouterOptions()));
  r->send_one(kLan, client(kProtoUdp, "one"));
  r->send_one(kWan, server(kProtoUdp, "two"));
  tick(1010);
  ASSERT_EQ(mgr->sessions(), 1u);
  FibTable6 fib({frr_route("2001:db8:72::/96", 20, {{kLinkLocalGw, 1}})});
  r->shared().fib6.store(&fib, std::memory_order_release);
  r->idle();
  tick(1020);
  EXPECT_EQ(mgr->counters().sessions6_rerouted.load(), 1u);
  EXPECT_EQ(mgr->sessions(), 0u);
  EXPECT_EQ(mgr->counters().neighbor_missing.load(), 1u);
  EXPECT_EQ(nic->rules_active(), 2u) << "no rule sends it to the old next hop";
  EXPECT_TRUE(nic_send(kLan, client(kProtoUdp, "meanwhile")).empty()) << "to the worker, which holds it for ND";
  EXPECT_EQ(session(kProtoUdp)->packets[0], 2u) << "the worker counted it";
  learn_link_local_gw(*r);
  tick(1021);
  EXPECT_EQ(mgr->sessions(), 1u);
  EXPECT_EQ(mgr->counters().neighbor_waited.load(), 1u);
  auto hw = nic_send(kLan, client(kProtoUdp, "after"));
  ASSERT_EQ(hw.size(), 1u);
  EXPECT_TRUE(to_mac(hw[0], kLinkLocalMac));
  r->shared().fib6.store(nullptr, std::memory_order_release);
}

TEST_F(Offload6, EchoSessionsStayInSoftware) {
  start(route6_router(RouterOptions()));
  r->send_one(kLan, from_lan(*r, Pkt6().ipv6(kRouteClient, kRouteServer).icmp6_echo(7)));
  r->send_one(kWan, from_wan(*r, Pkt6().ipv6(kRouteServer, kRouteClient).icmp6_echo(7, 129)));
  tick(1010);
  EXPECT_EQ(mgr->sessions(), 0u);
  EXPECT_EQ(mgr->counters().ineligible_state.load(), 1u);
}

}  // namespace
}  // namespace wp::offload
