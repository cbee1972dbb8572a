// Issue the offload manager with real workers in one process. Two
// routers (r1 branch, r2 headend) as in svr_test.cc; r1 has a software NIC
// model and an offload manager. Checked: an established session gets one rule
// per direction and the NIC's output equals the worker's software output byte
// for byte; NIC counters come back into the worker's session; closing removes
// the rules; AGE ends an idle session; the rule budget evicts the least active
// session; policies that need per-packet work stay in software; a real PMD
// that cannot offload (net_null) fails the probe.
#include "offload/offload_manager.h"

#include <gtest/gtest.h>
#include <rte_bus_vdev.h>
#include <rte_ethdev.h>

#include <cstring>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "dataplane/worker/shared.h"
#include "dataplane/control/router_model.h"
#include "dataplane/control/waypoint6_addr.h"
#include "dataplane/worker/worker.h"
#include "offload/flow_port_ethdev.h"
#include "offload/flow_probe.h"
#include "offload/nic_model.h"
#include "ha/ha_status.h"
#include "mgmt/metrics.h"
#include "mgmt/rest_api.h"
#include "tests/unit/nic_offload.h"
#include "tests/unit/promtool.h"
#include "tests/unit/svr_harness.h"

namespace wp::offload {
namespace {

using namespace test;  // the router harness, topology and packet builder

config::Config router_config(const char* name, const char* lan, const char* wan, const char* next_peer,
                             const char* peer, const char* peer_addr) {
  config::Config c = router_base(name, lan, {{"wan0", wan}});
  add_tenant(c, "branch", "10.1.0.0/24");
  struct {
    const char *svc, *proto, *port, *sec;
  } services[] = {{"echo", "udp", "5201", "plain"},
                  {"strict", "udp", "5300", "per-packet"},
                  {"secret", "udp", "5400", "encrypted"},
                  {"opaque", "udp", "5500", "plain"}};  // no port nDPI names (5201 is iperf's)
  for (auto& s : services) {
    add_service(c, {s.svc, "10.2.0.0/24", s.proto, s.port, next_peer});
    add_policy(c, "branch", s.svc, s.sec);
  }
  add_security(c, "plain", "none", "metadata-only", false);
  add_security(c, "per-packet", "none", "every-packet", false);
  add_security(c, "encrypted", "aes256-cbc", "metadata-only", true);
  add_peer(c, peer, {peer_addr}, kKey12);
  return c;
}

// Key slots for the encrypting/HMAC-every-packet sessions below.
const RouterOptions kRouterOptions = RouterOptions().with_key_slots(64).with_udp_timeout_ms(5000);

class Offload : public ::testing::Test {
 protected:
  void SetUp() override { start(64); }
  void start(uint32_t max_rules) {
    r1 = std::make_unique<Router>(router_config("r1", "10.1.0.1/24", "172.16.0.1/24", "r2", "r2", "172.16.0.2"),
                                  options);
    r2 = std::make_unique<Router>(router_config("r2", "10.2.0.1/24", "172.16.0.2/24", "", "r1", "172.16.0.1"),
                                  options);
    if (client_resolved) r1->neighbor(0, kClient, kClientMac);
    r1->neighbor(1, kR2Wan, kR2Mac);
    r2->neighbor(0, kServer, kServerMac);
    r2->neighbor(1, kR1Wan, kR1Mac);
    nic = std::make_unique<NicModel>(max_rules + 4);
    mgr = std::make_unique<OffloadManager>(r1->shared(), *nic, OffloadOptions{max_rules, 100});
    std::string err;
    ASSERT_TRUE(mgr->init(64, SOCKET_ID_ANY, err)) << err;
    ASSERT_TRUE(mgr->install_port_rules(err)) << err;
    r1->worker().offload().set_ring(mgr->feedback_ring(0));
    tick(1000);
  }
  void TearDown() override {
    if (mgr) mgr->shutdown();
    mgr.reset();
    nic.reset();
    r1.reset();
    r2.reset();
  }
  // Moves every clock to `ms`, lets the manager and the NIC work, and the
  // worker take the manager's feedback.
  void tick(uint32_t ms) {
    now = ms;
    r1->worker().set_now_ms(ms);
    r2->worker().set_now_ms(ms);
    for (int i = 0; i < 2; ++i) {
      mgr->poll(ms);
      nic->service(ms);
      r1->worker().offload().drain();
    }
  }
  static std::vector<uint8_t> client_udp(uint16_t sport, uint16_t dport, std::string_view data) {
    return Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, kServer).udp(sport, dport).payload(data).bytes();
  }
  static std::vector<uint8_t> server_udp(uint16_t dport, uint16_t sport, std::string_view data) {
    return Pkt().eth(kR2Mac, kServerMac).ipv4(kServer, kClient).udp(sport, dport).payload(data).bytes();
  }
  // Full UDP handshake through r1 and r2; returns r1's WAN frame of the last
  // forward packet (to learn the waypoint ports).
  Frame handshake(uint16_t sport, uint16_t dport = 5201) {
    Frame w = r1->send_one(kLan, client_udp(sport, dport, "one"));
    r2->send_one(kWan, w.raw);
    Frame back = r2->send_one(kLan, server_udp(sport, dport, "two"));
    if (client_resolved)
      r1->send_one(kWan, back.raw);
    else
      EXPECT_TRUE(r1->send(kWan, back.raw).empty()) << "held until the client's MAC is resolved";
    Frame w2 = r1->send_one(kLan, client_udp(sport, dport, "three"));
    r2->send_one(kWan, w2.raw);
    return w2;
  }
  // Through r1's NIC: the frames it forwarded (port in Frame::port); packets
  // it sent up to software are handed to r1's worker.
  std::vector<Frame> nic_send(uint16_t port, const std::vector<uint8_t>& frame) {
    return nic_pass(*nic, *r1, port, frame, now);
  }
  Session* r1_session(uint16_t sport, uint16_t dport = 5201) {
    SessionRef ref = r1->worker().table().lookup({kClient, kServer, sport, dport, kProtoUdp});
    return ref.session;
  }

  bool client_resolved = true;  // r1 knows the client's MAC from the start
  RouterOptions options = kRouterOptions;
  std::unique_ptr<Router> r1, r2;
  std::unique_ptr<NicModel> nic;
  std::unique_ptr<OffloadManager> mgr;
  uint32_t now = 0;
};

TEST_F(Offload, EstablishedSessionGetsTwoRulesAndTheNicMatchesSoftwareByteForByte) {
  Frame w = handshake(40000);
  tick(1010);
  EXPECT_EQ(mgr->sessions(), 1u);
  EXPECT_EQ(mgr->rules(), 2u);
  EXPECT_EQ(nic->rules_active(), 2u + 2u) << "two session rules + the UDP and TCP cookie punt rules of r1's WAN";
  // Forward: what the NIC emits equals what the worker emits for the same packet.
  auto pkt = client_udp(40000, 5201, "steady state");
  auto hw = nic_send(kLan, pkt);
  ASSERT_EQ(hw.size(), 1u);
  Frame sw = r1->send_one(kLan, pkt);
  EXPECT_EQ(hw[0].raw, sw.raw);
  EXPECT_EQ(hw[0].port, kWan);
  // Reverse: r2's plain reply (its handshake is done too) through r1's NIC.
  Frame reply = r2->send_one(kLan, server_udp(40000, 5201, "reply"));
  auto hw2 = nic_send(kWan, reply.raw);
  ASSERT_EQ(hw2.size(), 1u);
  Frame sw2 = r1->send_one(kWan, reply.raw);
  EXPECT_EQ(hw2[0].raw, sw2.raw);
  EXPECT_EQ(hw2[0].port, kLan);
  (void)w;
  const std::string m = mgr->metrics("router=\"r1\"");
  EXPECT_NE(m.find("waypoint_offload_rules_active{router=\"r1\"} 2\n"), std::string::npos) << m;
  EXPECT_NE(m.find("waypoint_offload_sessions_active{router=\"r1\"} 1\n"), std::string::npos) << m;
  if (test::have_promtool()) {
    EXPECT_EQ(test::promtool_complaints(m), std::nullopt);
  }
}

// Every /metrics section a router can serve (workers, drops, paths, HA,
// offload, REST refusals) passes promtool, and the Grafana dashboard
// (packaging/grafana/waypoint.json) names only metrics among them.
TEST_F(Offload, EveryMetricsSectionPassesPromtoolAndTheDashboardNamesOnlyThem) {
  handshake(40000);
  tick(1010);
  DataplaneShared& sh = r1->shared();
  PathTable paths(*sh.model.load(), router_config("r1", "10.1.0.1/24", "172.16.0.1/24", "r2", "r2", "172.16.0.2"), 1,
                  true);
  ASSERT_GT(paths.size(), 0u);
  paths.live(0).measured = true;
  paths.live(0).rtt_us = 20000;
  sh.paths = &paths;
  std::string text = mgmt::metrics_text(sh, "r1", nullptr, 1, 1);
  sh.paths = nullptr;
  const std::string labels = "router=\"r1\"";
  ha::HaStatus ha;
  mgmt::RestCounters rest;
  text += ha.metrics(labels) + mgr->metrics(labels) + mgmt::rest_metrics(rest, "r1");
  EXPECT_NE(text.find("waypoint_path_rtt_seconds{router=\"r1\",path=\"wan0\",peer=\"r2\"} 0.02\n"), std::string::npos)
      << text;
  if (test::have_promtool()) {
    EXPECT_EQ(test::promtool_complaints(text), std::nullopt);
  }
  const std::string file = "/tmp/wp-metrics-all-" + std::to_string(getpid()) + ".txt";
  std::ofstream(file) << text;
  const std::string dash = std::string(WP_SOURCE_DIR) + "/packaging/grafana/";
  const std::string cmd =
      "python3 " + dash + "check_dashboard.py " + dash + "waypoint.json --metrics " + file + " 2>&1";
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  char buf[512];
  while (p && fgets(buf, sizeof buf, p)) out += buf;
  EXPECT_EQ(p ? pclose(p) : -1, 0) << out;
  unlink(file.c_str());
}

// A session handed back to the HA peer while the NIC still had its rules (its `closed`
// handed_over not yet read by the manager): the NIC's aged report must not end it here, since
// the peer carries it now and ending it would tell nobody.
TEST_F(Offload, AnAgedReportForTheHaPeersSessionLeavesItAlone) {
  handshake(40011);
  tick(1010);
  Session* s = r1_session(40011);
  ASSERT_NE(s, nullptr);
  ASSERT_GT(mgr->rules(), 0u);
  s->flags |= kPeerSession;  // the hand-back's sweep re-flagged it
  tick(1010 + 5000);
  tick(1010 + 5100);
  EXPECT_EQ(r1_session(40011), s) << "the peer's to end";
  EXPECT_EQ(r1->worker().counters().get(Counter::offload_aged), 0u);
  EXPECT_EQ(mgr->rules(), 0u) << "the NIC aged its rules all the same";
}

TEST_F(Offload, NicCountersComeBackIntoTheSessionAndCloseRemovesTheRules) {
  handshake(40001);
  tick(1010);
  Session* s = r1_session(40001);
  ASSERT_NE(s, nullptr);
  uint64_t sw_fwd = s->packets[0], sw_rev = s->packets[1];
  for (int i = 0; i < 7; ++i) ASSERT_EQ(nic_send(kLan, client_udp(40001, 5201, "abcd")).size(), 1u);
  Frame reply = r2->send_one(kLan, server_udp(40001, 5201, "xy"));
  for (int i = 0; i < 3; ++i) ASSERT_EQ(nic_send(kWan, reply.raw).size(), 1u);
  EXPECT_EQ(s->packets[0], sw_fwd) << "not yet read back";
  tick(1200);  // a poll period later
  EXPECT_EQ(s->packets[0], sw_fwd + 7);
  EXPECT_EQ(s->packets[1], sw_rev + 3);
  EXPECT_EQ(s->last_ms, 1200u) << "NIC traffic keeps the session alive";
  uint64_t fwd_bytes = s->bytes[0];
  // Idle past the UDP timeout: the NIC ages the rules first, the worker ends the session.
  tick(1200 + 5000);
  tick(1200 + 5100);  // the manager reads AGE reports once per poll period
  EXPECT_EQ(r1_session(40001), nullptr);
  EXPECT_EQ(r1->worker().counters().get(Counter::offload_aged), 1u);
  EXPECT_EQ(mgr->rules(), 0u);
  EXPECT_EQ(nic->rules_active(), 2u) << "only the punt rules remain";
  auto recs = mgr->recent_closed();
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].packets[0], sw_fwd + 7);
  EXPECT_EQ(recs[0].nic_packets[0], 7u);
  EXPECT_EQ(recs[0].nic_packets[1], 3u);
  EXPECT_EQ(recs[0].bytes[0], fwd_bytes);
  EXPECT_EQ(recs[0].nic_bytes[0], 7u * (20 + 8 + 4)) << "NIC frame bytes counted as IP bytes";
  EXPECT_EQ(recs[0].reason, SessionEndReason::idle_timeout);
}

TEST_F(Offload, SteadyTrafficForTwiceTheTimeoutIsNeverAged) {
  handshake(40002);
  tick(1010);
  for (uint32_t t = 1100; t < 1100 + 3 * 5000; t += 250) {
    ASSERT_EQ(nic_send(kLan, client_udp(40002, 5201, "x")).size(), 1u)
        << "at " << t << ": " << mgr->status_json() << " aged " << nic->counters().rules_aged.load();
    tick(t);
  }
  EXPECT_EQ(mgr->counters().aged.load(), 0u);
  EXPECT_EQ(mgr->sessions(), 1u);
  ASSERT_NE(r1_session(40002), nullptr);
  EXPECT_EQ(r1_session(40002)->packets[0], 2u + 60u) << "2 by the worker, 60 by the NIC";
}

TEST_F(Offload, WorkerExpiryClosesTheSessionAndRemovesBothRules) {
  handshake(40003);
  tick(1010);
  ASSERT_EQ(mgr->rules(), 2u);
  // The worker's own sweep ends it (e.g. the AGE report was lost).
  r1->worker().set_now_ms(1010 + 6000);
  EXPECT_EQ(r1->worker().expire(4096), 1u);
  mgr->poll(1010 + 6000);
  EXPECT_EQ(mgr->rules(), 0u);
  EXPECT_EQ(mgr->counters().closed.load(), 1u);
}

TEST_F(Offload, PoliciesNeedingPerPacketWorkStayInSoftware) {
  handshake(40004, 5300);  // hmac every packet
  handshake(40005, 5400);  // encrypted
  tick(1010);
  EXPECT_EQ(mgr->sessions(), 0u);
  EXPECT_EQ(mgr->counters().ineligible_policy.load(), 2u);
  // Adaptive encryption skipping this session's data still leaves the
  // per-packet HMAC trailer and sequence number : still software.
  Session s = *r1_session(40005, 5400);
  s.crypto |= kCryptoAdaptiveSkip;
  r1->worker().post_event(SessionEventKind::established, s);
  tick(1020);
  EXPECT_EQ(mgr->sessions(), 0u);
  EXPECT_EQ(mgr->counters().ineligible_policy.load(), 3u);
}

// An IPv4 session on IPv6 waypoints (svr/waypoint6.h) changes family on its WAN
// leg (its WAN side holds stand-ins in 0.255.0.0/16 that a rule would put on
// the wire): never offloaded, counted as such (docs/ipv6.md § Offload of
// routed IPv6 sessions; IPv6 sessions between IPv6 waypoints are offloaded:
// offload_waypoint6_test.cc).
TEST_F(Offload, SessionsOnIpv6WaypointsStayInSoftware) {
  handshake(40006);
  tick(1010);
  ASSERT_EQ(mgr->rules(), 2u);
  const uint64_t before = mgr->counters().ineligible_translated.load();
  Session s = *r1_session(40006);
  s.out_fwd.tuple.src = waypoint6_own_standin(1);
  s.out_fwd.tuple.dst = s.out_fwd.next_hop = waypoint6_peer_standin(0, 0);
  s.out_fwd.tuple.sport = static_cast<uint16_t>(s.out_fwd.tuple.sport + 2);  // another session of the class
  s.original.sport = 40007;
  s.uuid[0] ^= 1;
  r1->worker().post_event(SessionEventKind::established, s);
  tick(1020);
  EXPECT_EQ(mgr->counters().ineligible_translated.load(), before + 1);
  EXPECT_EQ(mgr->rules(), 2u) << "the first session's rules only";
}

// A FIB change moves a session's LAN next hop (svr/route_follow.h posts an
// update): its rules are re-programmed for the new next hop, not left sending
// to the old one. An update that changes nothing leaves the rules alone.
TEST_F(Offload, ASessionWhoseNextHopMovedGetsRulesForTheNewOne) {
  const Ipv4 other_gw = ip("10.1.0.9");
  constexpr Mac kOtherGwMac = {2, 0, 0, 0, 1, 9};
  r1->neighbor(0, other_gw, kOtherGwMac);
  handshake(40006);
  tick(1010);
  ASSERT_EQ(mgr->rules(), 2u);
  Session* s = r1_session(40006);
  ASSERT_NE(s, nullptr);
  r1->worker().post_event(SessionEventKind::update, *s);
  tick(1020);
  EXPECT_EQ(mgr->counters().rerouted.load(), 0u);
  EXPECT_EQ(mgr->counters().rules_installed.load(), 2u) << "an update with the same legs keeps the rules";
  s->out_rev.next_hop = other_gw;  // what RouteFollow does when the client's route moves
  r1->worker().post_event(SessionEventKind::update, *s);
  tick(1030);
  EXPECT_EQ(mgr->counters().rerouted.load(), 1u);
  EXPECT_EQ(mgr->rules(), 2u);
  EXPECT_EQ(mgr->sessions(), 1u);
  EXPECT_NE(mgr->metrics("r=\"1\"").find("waypoint_offload_sessions_active{r=\"1\"} 1\n"), std::string::npos);
  Frame reply = r2->send_one(kLan, server_udp(40006, 5201, "reply"));
  auto hw = nic_send(kWan, reply.raw);
  ASSERT_EQ(hw.size(), 1u);
  EXPECT_EQ(std::memcmp(hw[0].dst_mac(), kOtherGwMac.data(), 6), 0) << "the NIC sends to the new next hop";
  EXPECT_EQ(hw[0].raw, r1->send_one(kWan, reply.raw).raw) << "as the worker does";
}

class OffloadBudget : public Offload {
 protected:
  void SetUp() override { start(4); }  // two sessions
};

TEST_F(OffloadBudget, FullBudgetKeepsNewSessionsInSoftwareUntilOneIsIdle) {
  handshake(41000);
  handshake(41001);
  tick(1010);
  ASSERT_EQ(mgr->sessions(), 2u);
  handshake(41002);
  tick(1020);
  EXPECT_EQ(mgr->sessions(), 2u);
  EXPECT_EQ(mgr->counters().budget_full.load(), 1u) << "both offloaded sessions were active";
  // 41002 forwards correctly in software.
  Frame sw = r1->send_one(kLan, client_udp(41002, 5201, "software"));
  EXPECT_EQ(sw.port, kWan);
  // 41000 sends one packet through the NIC, then goes quiet; 41001 keeps sending.
  ASSERT_EQ(nic_send(kLan, client_udp(41000, 5201, "once")).size(), 1u);
  for (uint32_t t = 1100; t <= 1400; t += 100) {
    ASSERT_EQ(nic_send(kLan, client_udp(41001, 5201, "x")).size(), 1u);
    tick(t);
  }
  handshake(41003);
  tick(1410);
  EXPECT_EQ(mgr->counters().evicted.load(), 1u);
  EXPECT_EQ(mgr->sessions(), 2u);
  EXPECT_TRUE(nic_send(kLan, client_udp(41000, 5201, "x")).empty()) << "evicted: back to software";
  EXPECT_EQ(nic_send(kLan, client_udp(41001, 5201, "x")).size(), 1u) << "the active one stays";
  EXPECT_EQ(nic_send(kLan, client_udp(41003, 5201, "x")).size(), 1u) << "the newcomer got the room";
  // The evicted session's NIC packet is in its totals, and it goes on in software.
  EXPECT_EQ(r1_session(41000)->packets[0], 2u + 1u + 1u) << "handshake 2 + NIC 1 + software 1";
}

// r1 learns a LAN host's MAC only from the answer to its own request, which
// the host's first reply triggers: the session is established before its
// next hop is resolved and must be offloaded once it is.
class OffloadUnresolved : public Offload {
 protected:
  void SetUp() override {
    client_resolved = false;
    start(64);
  }
};

TEST_F(OffloadUnresolved, ASessionEstablishedBeforeItsNeighborIsResolvedIsOffloadedOnceItIs) {
  handshake(42000);
  tick(1010);
  EXPECT_EQ(mgr->sessions(), 0u);
  EXPECT_EQ(mgr->counters().neighbor_missing.load(), 1u);
  tick(1200);
  EXPECT_EQ(mgr->sessions(), 0u) << "still unresolved: still waiting";
  r1->neighbor(0, kClient, kClientMac);
  tick(1400);
  EXPECT_EQ(mgr->sessions(), 1u);
  EXPECT_EQ(mgr->counters().neighbor_waited.load(), 1u);
  EXPECT_EQ(mgr->counters().neighbor_wait_expired.load(), 0u);
  EXPECT_EQ(nic_send(kLan, client_udp(42000, 5201, "now in hardware")).size(), 1u);
}

TEST_F(OffloadUnresolved, ANeighborThatNeverResolvesEndsTheWait) {
  handshake(42001);
  tick(1010);
  tick(1010 + 5000 + 200);
  EXPECT_EQ(mgr->counters().neighbor_wait_expired.load(), 1u);
  r1->neighbor(0, kClient, kClientMac);
  tick(6400);
  EXPECT_EQ(mgr->sessions(), 0u) << "given up: the session stays in software";
}

// The wait list is bounded: past OffloadManager::kMaxWaiting sessions a new
// one is given up at once (counted), the ones waiting are still offloaded
// when their neighbor resolves.
class OffloadUnresolvedMany : public Offload {
 protected:
  void SetUp() override {
    client_resolved = false;
    options.max_sessions = 4096;
    start(4096);  // rules for 2048 sessions: room for every waiting one
  }
};

TEST_F(OffloadUnresolvedMany, AtMostMaxWaitingSessionsWaitForTheirNeighbor) {
  constexpr uint32_t kExtra = 8;
  const uint32_t total = static_cast<uint32_t>(OffloadManager::kMaxWaiting) + kExtra;
  for (uint32_t i = 0; i < total; ++i) {
    handshake(static_cast<uint16_t>(20000 + i));
    if (i % 4 == 3) tick(1010);  // the manager drains the event ring as it fills
  }
  tick(1010);
  EXPECT_EQ(mgr->counters().neighbor_missing.load(), total);
  EXPECT_EQ(mgr->counters().neighbor_wait_expired.load(), kExtra) << "the wait list is full: given up at once";
  EXPECT_EQ(mgr->sessions(), 0u);
  r1->neighbor(0, kClient, kClientMac);
  tick(1500);
  EXPECT_EQ(mgr->counters().neighbor_waited.load(), OffloadManager::kMaxWaiting);
  EXPECT_EQ(mgr->sessions(), OffloadManager::kMaxWaiting);
  EXPECT_EQ(mgr->counters().neighbor_wait_expired.load(), kExtra);
}

// A session established while the ingress worker still classifies it (docs/applications.md)
// is not offloaded then (its later packets would never reach the classifier): it is once
// the worker's update brings the verdict. One refused for its application never is.
class OffloadApps : public Offload {
 protected:
  void SetUp() override {
    options.with_apps(5);
    start(64);
  }
};

TEST_F(OffloadApps, ASessionIsOffloadedOnlyOnceItsClassificationEnded) {
  handshake(43000, 5500);  // 3 packets fed, nDPI undecided on opaque UDP: still classifying
  tick(1010);
  ASSERT_NE(r1_session(43000, 5500), nullptr);
  ASSERT_LT(r1_session(43000, 5500)->app_slot, kAppDenied)
      << "the test needs a session still being classified; app " << r1_session(43000, 5500)->app << ", inspected "
      << r1->count(Counter::app_packets_inspected);
  EXPECT_TRUE(r1_session(43000, 5500)->flags & kEstablished);
  EXPECT_EQ(mgr->sessions(), 0u);
  EXPECT_EQ(mgr->counters().classifying.load(), 1u);
  r2->send_one(kWan, r1->send_one(kLan, client_udp(43000, 5500, "four")).raw);
  tick(1020);
  EXPECT_EQ(mgr->sessions(), 0u) << "4 of 5 packets: still classifying";
  r2->send_one(kWan, r1->send_one(kLan, client_udp(43000, 5500, "five")).raw);
  EXPECT_EQ(r1_session(43000, 5500)->app_slot, kAppDone) << "the bound reached: Unknown";
  EXPECT_EQ(r1->count(Counter::app_packets_inspected), 5u);
  tick(1030);
  EXPECT_EQ(mgr->sessions(), 1u);
  EXPECT_EQ(mgr->counters().classified_offloaded.load(), 1u);
  EXPECT_EQ(nic_send(kLan, client_udp(43000, 5500, "now in hardware")).size(), 1u);

  // Refused for its application: the verdict's update leaves it in software.
  handshake(43001, 5500);
  tick(1040);
  EXPECT_EQ(mgr->counters().classifying.load(), 2u);
  Session refused = *r1_session(43001, 5500);
  refused.app_slot = kAppDenied;
  r1->worker().post_event(SessionEventKind::update, refused);
  tick(1050);
  EXPECT_EQ(mgr->sessions(), 1u);
  EXPECT_EQ(mgr->counters().ineligible_policy.load(), 1u);
}

TEST(OffloadProbe, APmdWithoutFlowSupportCannotOffload) {
  test::test_pool();
  ASSERT_EQ(rte_vdev_init("net_null_offload0", nullptr), 0);
  uint16_t port;
  ASSERT_EQ(rte_eth_dev_get_port_by_name("net_null_offload0", &port), 0);
  EthdevFlowPort flows;
  PortProbe p = probe_port(flows, port, "net_null_offload0", port);
  EXPECT_FALSE(p.can_offload()) << p.summary();
  for (const ProbeResult& r : p.results) EXPECT_FALSE(r.accepted) << r.shape;
  EXPECT_NE(p.summary().find("session-udp ("), std::string::npos) << p.summary();
  rte_vdev_uninit("net_null_offload0");
}

}  // namespace
}  // namespace wp::offload
