// Routes from FRR in the workers (WorkerContext::route, svr/route_follow.h):
// r1 (branch) -> r2 (headend) where r2 reaches the servers of 10.200.0.0/16
// only through a FIB built from FPM frames (dataplane/control/fpm/), with two
// equal-cost LAN next hops. New sessions spread over both members and keep
// theirs; a withdrawn member moves its sessions to the other; a withdrawn
// route closes them and new sessions drop with no_route; a config route of
// the same prefix wins by administrative distance, a longer FRR prefix by length.
#include <gtest/gtest.h>
#include <rte_ring.h>

#include <cstring>
#include <map>
#include <memory>
#include <span>
#include <vector>

#include "dataplane/control/fpm/fpm_encoder.h"
#include "dataplane/control/fpm/route_table.h"
#include "dataplane/ip/fib.h"
#include "tests/unit/fpm_stream.h"
#include "tests/unit/svr_harness.h"

namespace wp {
namespace {

using namespace test;

const Ipv4 kGwA = ip("10.2.0.7"), kGwB = ip("10.2.0.8"), kGwStatic = ip("10.2.0.9");
constexpr Mac kGwAMac = {2, 0, 0, 0, 2, 7}, kGwBMac = {2, 0, 0, 0, 2, 8}, kGwStaticMac = {2, 0, 0, 0, 2, 9};
const Ipv4 kFarServer = ip("10.200.1.1");
constexpr uint8_t kBgp = 186;

config::Config branch(const char* name, const char* lan, const char* wan, const char* next_peer, const char* peer,
                      const char* peer_wan) {
  config::Config c = router_base(name, lan, {{"wan0", wan}});
  add_tenant(c, "branch", "10.1.0.0/25");
  add_service(c, {"dc", "10.200.0.0/16", "udp", "", next_peer});
  add_policy(c, "branch", "dc", "");
  add_peer(c, peer, {peer_wan}, kKey12);
  return c;
}

class FibRoutes : public ::testing::Test {
 protected:
  void SetUp() override { start(branch("r2", "10.2.0.1/24", "172.16.0.2/24", "", "r1", "172.16.0.1")); }
  void start(const config::Config& r2cfg) {
    r1 = std::make_unique<Router>(branch("r1", "10.1.0.1/24", "172.16.0.1/24", "r2", "r2", "172.16.0.2"));
    r2 = std::make_unique<Router>(r2cfg, r2_options);
    r1->neighbor(0, kClient, kClientMac);
    r1->neighbor(1, kR2Wan, kR2Mac);
    r2->neighbor(1, kR1Wan, kR1Mac);
    r2->neighbor(0, kGwA, kGwAMac);
    r2->neighbor(0, kGwB, kGwBMac);
    r2->neighbor(0, kGwStatic, kGwStaticMac);
  }
  void TearDown() override { r2->shared().fib.store(nullptr); }

  // Publishes r2's FIB from `w`'s frames, as the FPM listener would.
  void publish(const fpm::FpmWriter& w) {
    apply_stream(table_, w);
    fibs_.push_back(table_.build());
    r2->shared().fib.store(fibs_.back().get());
  }
  // A client datagram through r1 to r2; what r2 sent on its LAN (nothing: an empty frame list).
  std::vector<Frame> through(uint16_t sport, Ipv4 dst = kFarServer) {
    auto pkt = Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, dst).udp(sport, 5201).payload("x").bytes();
    Frame w = r1->send_one(kLan, pkt);
    return r2->send(kWan, w.raw);
  }
  static std::string mac_of(const Frame& f) { return std::string(reinterpret_cast<const char*>(f.dst_mac()), 6); }
  static std::string mac(const Mac& m) { return std::string(reinterpret_cast<const char*>(m.data()), 6); }

  std::unique_ptr<Router> r1, r2;
  RouterOptions r2_options;
  fpm::RouteTable table_{
      {{"lan", *parse_prefix("10.2.0.0/24"), -1, ""}, {"wan0", *parse_prefix("172.16.0.0/24"), -1, ""}}, nullptr};
  std::vector<std::unique_ptr<const FibTable>> fibs_;  // kept alive: the worker may hold any of them
};

TEST_F(FibRoutes, WithoutARouteTheServerIsNoRoute) {
  EXPECT_TRUE(through(40000).empty());
  EXPECT_EQ(r2->drop_count(DropReason::no_route), 1u);
}

TEST_F(FibRoutes, SessionsSpreadOverEcmpMembersAndKeepTheirs) {
  fpm::FpmWriter w;
  w.route(true, *parse_prefix("10.200.0.0/16"), kBgp, {{kGwA, 0, 1}, {kGwB, 0, 1}});
  publish(w);
  std::map<uint16_t, std::string> first;
  int on_a = 0;
  for (uint16_t sport = 40000; sport < 40040; ++sport) {
    auto out = through(sport);
    ASSERT_EQ(out.size(), 1u) << r2->drops();
    EXPECT_EQ(out[0].dst(), kFarServer);
    first[sport] = mac_of(out[0]);
    on_a += first[sport] == mac(kGwAMac);
  }
  EXPECT_GT(on_a, 5);
  EXPECT_LT(on_a, 35);
  for (uint16_t sport = 40000; sport < 40040; ++sport) EXPECT_EQ(mac_of(through(sport).at(0)), first[sport]);
}

TEST_F(FibRoutes, WithdrawnMemberMovesItsSessionsAndAWithdrawnRouteClosesThem) {
  fpm::FpmWriter w;
  w.route(true, *parse_prefix("10.200.0.0/16"), kBgp, {{kGwA, 0, 1}, {kGwB, 0, 1}});
  publish(w);
  int on_a = 0;
  for (uint16_t sport = 40000; sport < 40020; ++sport) on_a += mac_of(through(sport).at(0)) == mac(kGwAMac);
  ASSERT_GT(on_a, 0);
  w.clear();
  w.route(true, *parse_prefix("10.200.0.0/16"), kBgp, {{kGwB, 0, 1}});
  publish(w);
  r2->idle();
  EXPECT_EQ(r2->count(Counter::sessions_route_moved), static_cast<uint64_t>(on_a));
  for (uint16_t sport = 40000; sport < 40020; ++sport) EXPECT_EQ(mac_of(through(sport).at(0)), mac(kGwBMac));
  const uint64_t created = r2->count(Counter::sessions_created);
  w.clear();
  w.route(false, *parse_prefix("10.200.0.0/16"), kBgp, {});
  publish(w);
  r2->idle();
  EXPECT_EQ(r2->count(Counter::sessions_route_closed), 20u);
  EXPECT_TRUE(through(40100).empty());
  EXPECT_EQ(r2->drop_count(DropReason::no_route), 1u);
  EXPECT_EQ(r2->count(Counter::sessions_created), created);
}

// Every moved session is announced (an update event with its new next hop):
// the offload manager re-programs its rules, the HA peer's copy follows.
class FibRoutesEvents : public FibRoutes {
 protected:
  void SetUp() override {
    r2_options.with_events(EventConsumer::offload, 4096);
    FibRoutes::SetUp();
  }
  // Update events in r2's offload ring (worker 0) whose forward next hop is `hop`; empties the ring.
  int updates_to(Ipv4 hop) {
    rte_ring* ring = r2->shared().events[static_cast<size_t>(EventConsumer::offload)][0];
    SessionEvent ev;
    int n = 0;
    while (rte_ring_dequeue_elem(ring, &ev, sizeof ev) == 0)
      n += ev.kind == SessionEventKind::update && ev.session.out_fwd.next_hop == hop;
    return n;
  }
};

TEST_F(FibRoutesEvents, AMovedSessionIsAnnouncedWithItsNewNextHop) {
  fpm::FpmWriter w;
  w.route(true, *parse_prefix("10.200.0.0/16"), kBgp, {{kGwA, 0, 1}, {kGwB, 0, 1}});
  publish(w);
  int on_a = 0;
  for (uint16_t sport = 40000; sport < 40020; ++sport) on_a += mac_of(through(sport).at(0)) == mac(kGwAMac);
  ASSERT_GT(on_a, 0);
  updates_to(kGwB);
  w.clear();
  w.route(true, *parse_prefix("10.200.0.0/16"), kBgp, {{kGwB, 0, 1}});
  publish(w);
  r2->idle();
  EXPECT_EQ(updates_to(kGwB), on_a);
}

TEST(FibRoutesDistance, ConfigRouteWinsTheSamePrefixALongerFrrPrefixWinsByLength) {
  config::Config c = branch("r2", "10.2.0.1/24", "172.16.0.2/24", "", "r1", "172.16.0.1");
  auto* r = c.add_routes();
  r->set_prefix("10.200.0.0/16");
  r->set_next_hop("10.2.0.9");
  r->set_interface("lan");
  Router r1(branch("r1", "10.1.0.1/24", "172.16.0.1/24", "r2", "r2", "172.16.0.2"));
  Router r2(c);
  r1.neighbor(0, kClient, kClientMac);
  r1.neighbor(1, kR2Wan, kR2Mac);
  r2.neighbor(1, kR1Wan, kR1Mac);
  r2.neighbor(0, kGwA, kGwAMac);
  r2.neighbor(0, kGwStatic, kGwStaticMac);
  fpm::RouteTable t({{"lan", *parse_prefix("10.2.0.0/24"), -1, ""}}, nullptr);
  fpm::FpmWriter w;
  w.route(true, *parse_prefix("10.200.0.0/16"), kBgp, {{kGwA, 0, 1}});
  w.route(true, *parse_prefix("10.200.7.0/24"), kBgp, {{kGwA, 0, 1}});
  apply_stream(t, w);
  auto fib = t.build();
  r2.shared().fib.store(fib.get());
  auto send = [&](Ipv4 dst) {
    auto pkt = Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, dst).udp(40000, 5201).payload("x").bytes();
    return r2.send_one(kWan, r1.send_one(kLan, pkt).raw);
  };
  EXPECT_EQ(std::memcmp(send(kFarServer).dst_mac(), kGwStaticMac.data(), 6), 0) << "static (1) beats BGP (20)";
  EXPECT_EQ(std::memcmp(send(ip("10.200.7.7")).dst_mac(), kGwAMac.data(), 6), 0) << "a /24 beats a /16";
  r2.shared().fib.store(nullptr);
}

}  // namespace
}  // namespace wp
