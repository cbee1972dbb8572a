// Several waypoint addresses per WAN interface (router.wan[].waypoint_addresses,
// docs/operations.md § Waypoint addresses): validated with paths, owned like the
// interface address, and new sessions spread over every (own address, peer
// waypoint) pair of the link, each pair with a port space of its own.
//
//   client 10.1.0.5 - [r1] 172.16.0.1 + .11 ==WAN== 172.16.0.2 + .12 [r2] - server 10.2.0.10
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <utility>

#include "dataplane/svr/session_setup.h"
#include "mgmt/config_load.h"
#include "tests/unit/svr_harness.h"

namespace wp {
namespace {

using namespace test;

const Ipv4 kR1Wan2 = ip("172.16.0.11");
const Ipv4 kR2Wan2 = ip("172.16.0.12");

config::Config pair_config(const char* name, const char* lan, const char* wan, const char* extra, const char* peer,
                           std::initializer_list<const char*> peer_waypoints, const char* next_peer) {
  config::Config c = router_base(name, lan, {{"wan0", wan}});
  if (extra) c.mutable_router()->mutable_wan(0)->add_waypoint_addresses(extra);
  add_tenant(c, "branch", "10.1.0.0/25");
  add_service(c, {"echo", "10.2.0.0/24", "udp", "5201", next_peer});
  add_policy(c, "branch", "echo", "");
  add_peer(c, peer, peer_waypoints, kKey12);
  return c;
}
config::Config r1_config(const char* extra = "172.16.0.11") {
  return pair_config("r1", "10.1.0.1/24", "172.16.0.1/24", extra, "r2", {"172.16.0.2", "172.16.0.12"}, "r2");
}
config::Config r2_config() {
  return pair_config("r2", "10.2.0.1/24", "172.16.0.2/24", "172.16.0.12", "r1", {"172.16.0.1", "172.16.0.11"}, "");
}

bool has_error(const config::Config& c, const std::string& path, const std::string& text) {
  for (const auto& e : mgmt::validate_config(c))
    if (e.path == path && e.message.find(text) != std::string::npos) return true;
  return false;
}

TEST(WaypointAddresses, ValidatedWithPaths) {
  EXPECT_TRUE(mgmt::validate_config(r1_config()).empty());
  EXPECT_TRUE(mgmt::validate_config(r2_config()).empty());
  auto with = [](const char* addr) {
    config::Config c = r1_config();
    c.mutable_router()->mutable_wan(0)->add_waypoint_addresses(addr);
    return c;
  };
  const std::string at = "router.wan[0].waypoint_addresses[1]";
  EXPECT_TRUE(has_error(with("172.17.0.9"), at, "not in 172.16.0.0/24"));
  EXPECT_TRUE(has_error(with("172.16.0.255"), at, "broadcast"));
  EXPECT_TRUE(has_error(with("172.16.0.1"), at, "own address"));
  EXPECT_TRUE(has_error(with("172.16.0.11"), at, "listed twice"));
  EXPECT_TRUE(has_error(with("172.16.0"), at, "not an IPv4 address"));
  config::Config lan = r1_config();
  lan.mutable_router()->mutable_lan()->add_waypoint_addresses("10.1.0.9");
  EXPECT_TRUE(has_error(lan, "router.lan.waypoint_addresses", "only WAN interfaces"));
}

TEST(WaypointAddresses, TheRouterOwnsThem) {
  Router r2(r2_config());
  EXPECT_EQ(r2.model().own_address_iface(kR2Wan2), 1);
  EXPECT_EQ(r2.model().own_address_iface(kR2Wan), 1);
  EXPECT_EQ(r2.model().own_address_iface(ip("172.16.0.13")), kNone);
}

class WaypointPairs : public ::testing::Test {
 protected:
  void SetUp() override {
    r1 = std::make_unique<Router>(r1_config());
    r2 = std::make_unique<Router>(r2_config());
    r1->neighbor(0, kClient, kClientMac);
    r1->neighbor(1, kR2Wan, kR2Mac);
    r1->neighbor(1, kR2Wan2, kR2Mac);
    r2->neighbor(0, kServer, kServerMac);
    r2->neighbor(1, kR1Wan, kR1Mac);
    r2->neighbor(1, kR1Wan2, kR1Mac);
  }
  static std::vector<uint8_t> client_udp(uint16_t sport) {
    return Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, kServer).udp(sport, 5201).payload("q").bytes();
  }
  static std::vector<uint8_t> server_udp(uint16_t dport) {
    return Pkt().eth(kR2Mac, kServerMac).ipv4(kServer, kClient).udp(5201, dport).payload("r").bytes();
  }
  std::unique_ptr<Router> r1, r2;
};

// Sessions use all four pairs, about evenly; the far end answers from the
// address each session came to, and the reply is restored at r1.
TEST_F(WaypointPairs, SessionsSpreadOverEveryPairAndRepliesComeBackOnIt) {
  std::map<std::pair<Ipv4, Ipv4>, int> per_pair;
  constexpr int kSessions = 400;
  for (int i = 0; i < kSessions; ++i) {
    const uint16_t sport = static_cast<uint16_t>(20000 + i);
    Frame w = r1->send_one(kLan, client_udp(sport));
    per_pair[{w.src(), w.dst()}]++;
    Frame lan = r2->send_one(kWan, w.raw);
    ASSERT_EQ(lan.dst(), kServer) << r2->drops();
    Frame back = r2->send_one(kLan, server_udp(sport));
    EXPECT_EQ(back.src(), w.dst()) << "r2 answers from the address the session came to";
    EXPECT_EQ(back.dst(), w.src());
    Frame home = r1->send_one(kWan, back.raw);
    EXPECT_EQ(home.dst(), kClient);
    EXPECT_EQ(home.dport(), sport);
  }
  ASSERT_EQ(per_pair.size(), 4u);
  for (const auto& [pair, n] : per_pair) {
    EXPECT_TRUE(pair.first == kR1Wan || pair.first == kR1Wan2);
    EXPECT_TRUE(pair.second == kR2Wan || pair.second == kR2Wan2);
    EXPECT_GT(n, kSessions / 4 / 2) << "roughly even";
  }
  EXPECT_EQ(r1->total_drops(), 0u) << r1->drops();
  EXPECT_EQ(r2->total_drops(), 0u) << r2->drops();
}

// #17: waypointd always builds a PathTable (without path_monitoring: one usable path
// per peer and WAN interface); sessions must still spread over every pair, which they
// did not (the path's interface address and first waypoint only) until 13:20 UTC 2026-12-04.
TEST(WaypointPairsUnmonitored, SessionsSpreadOverEveryPairWithThePathTableWaypointdBuilds) {
  Router a(r1_config(), RouterOptions{}.with_unmonitored_paths());
  ASSERT_EQ(a.paths().size(), 1u);
  ASSERT_FALSE(a.paths().monitored());
  a.neighbor(0, kClient, kClientMac);
  a.neighbor(1, kR2Wan, kR2Mac);
  a.neighbor(1, kR2Wan2, kR2Mac);
  std::map<std::pair<Ipv4, Ipv4>, int> per_pair;
  constexpr int kSessions = 400;
  for (int i = 0; i < kSessions; ++i) {
    const uint16_t sport = static_cast<uint16_t>(20000 + i);
    Frame w = a.send_one(kLan, Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, kServer).udp(sport, 5201).payload("q").bytes());
    per_pair[{w.src(), w.dst()}]++;
  }
  ASSERT_EQ(per_pair.size(), 4u);
  for (const auto& [pair, n] : per_pair) EXPECT_GT(n, kSessions / 4 / 2) << "roughly even";
  EXPECT_EQ(a.total_drops(), 0u) << a.drops();
}

// With BFD the path is the interface address and the peer waypoint it probes, as documented.
TEST(WaypointPairsUnmonitored, MonitoredPathsKeepTheirOwnPair) {
  Router a(r1_config(), RouterOptions{}.with_monitored_paths());
  a.neighbor(0, kClient, kClientMac);
  a.neighbor(1, kR2Wan, kR2Mac);
  a.neighbor(1, kR2Wan2, kR2Mac);
  for (uint16_t sport = 30000; sport < 30050; ++sport) {
    Frame w = a.send_one(kLan, Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, kServer).udp(sport, 5201).payload("q").bytes());
    EXPECT_EQ(w.src(), kR1Wan);
    EXPECT_EQ(w.dst(), kR2Wan);
  }
}

// One address on each side is one pair: the peer's first waypoint, as before.
TEST_F(WaypointPairs, OneAddressEachSideIsOnePair) {
  config::Config c = pair_config("r1", "10.1.0.1/24", "172.16.0.1/24", nullptr, "r2", {"172.16.0.2"}, "r2");
  Router one(c);
  one.neighbor(0, kClient, kClientMac);
  one.neighbor(1, kR2Wan, kR2Mac);
  for (uint16_t sport = 30000; sport < 30050; ++sport) {
    Frame w = one.send_one(kLan, client_udp(sport));
    EXPECT_EQ(w.src(), kR1Wan);
    EXPECT_EQ(w.dst(), kR2Wan);
  }
}

}  // namespace
}  // namespace wp
