// The model's sorted index of peer waypoints (router_model.h: peer_waypoints_,
// peer_waypoints6_): peer_by_waypoint and waypoint6_standin_of answer from it
// for a built model, exactly as the scans over every peer did, at headend scale.
#include <gtest/gtest.h>

#include <string>

#include "dataplane/control/router_model.h"
#include "dataplane/control/waypoint6_addr.h"
#include "tests/unit/svr_harness.h"

namespace wp {
namespace {

using namespace test;

constexpr int kPeers = 3000;

// Peer p: IPv4 waypoints 100.64.x.y and 100.65.x.y; the first 200 peers also
// an IPv6 waypoint 2001:db8:f::p (and peer 7 a second one).
std::string v4(int net, int p) { return "100." + std::to_string(net) + "." + std::to_string(p / 256) + "." + std::to_string(p % 256); }
std::string v6(int p) { return "2001:db8:f::" + std::to_string(p + 1); }

config::Config many_peers() {
  config::Config c = router_base("r1", "10.1.0.1/24", {{"wan0", "100.64.255.1/16"}});
  for (int p = 0; p < kPeers; ++p) {
    auto* pc = c.add_peers();
    pc->set_name("site" + std::to_string(p));
    pc->add_waypoints(v4(64, p + 2));
    pc->add_waypoints(v4(65, p + 2));
    if (p < 200) pc->add_waypoints(v6(p));
    if (p == 7) pc->add_waypoints("2001:db8:e::7");
    pc->set_key(kKey12);
  }
  // Listed by two peers: the first one named keeps it, as the scan did.
  c.mutable_peers(kPeers - 1)->add_waypoints(v4(64, 2 + 5));
  return c;
}

std::shared_ptr<const RouterModel> build(const config::Config& c) {
  HmacEngine hmac;
  std::string err;
  auto m = RouterModel::build(c, nullptr, nullptr, hmac, err);
  EXPECT_TRUE(m) << err;
  return m;
}

TEST(PeerIndex, EveryIpv4WaypointFindsItsPeer) {
  auto m = build(many_peers());
  ASSERT_TRUE(m);
  ASSERT_EQ(m->peers.size(), static_cast<size_t>(kPeers));
  for (int p = 0; p < kPeers; ++p) {
    EXPECT_EQ(m->peer_by_waypoint(ip(v4(64, p + 2).c_str())), p);
    EXPECT_EQ(m->peer_by_waypoint(ip(v4(65, p + 2).c_str())), p);
  }
  EXPECT_EQ(m->peer_by_waypoint(ip("100.66.0.2")), kNone);
  EXPECT_EQ(m->peer_by_waypoint(ip("100.64.0.1")), kNone);  // below the first
  EXPECT_EQ(m->peer_by_waypoint(ip("255.255.255.255")), kNone);  // past the last
  EXPECT_EQ(m->peer_by_waypoint(ip(v4(64, 2 + 5).c_str())), 5);   // the first peer listing it
}

TEST(PeerIndex, Ipv6WaypointsMapToTheirStandIns) {
  auto m = build(many_peers());
  ASSERT_TRUE(m);
  for (int p = 0; p < 200; ++p) {
    const Ipv4 s = waypoint6_standin_of(*m, *parse_ipv6(v6(p)));
    EXPECT_EQ(s, waypoint6_peer_standin(p, 0)) << p;
    EXPECT_EQ(m->peer_by_waypoint(s), p);  // a stand-in names its peer too
  }
  EXPECT_EQ(waypoint6_standin_of(*m, *parse_ipv6("2001:db8:e::7")), waypoint6_peer_standin(7, 1));
  EXPECT_EQ(waypoint6_standin_of(*m, *parse_ipv6("2001:db8:f::ffff")), 0u);
  EXPECT_EQ(waypoint6_standin_of(*m, *parse_ipv6("::")), 0u);
}

TEST(PeerIndex, AHandMadeModelStillScans) {
  RouterModel hand;
  PeerModel a, b;
  a.waypoints = {ip("192.0.2.1")};
  b.waypoints = {ip("192.0.2.2"), ip("192.0.2.1")};
  b.waypoints6 = {*parse_ipv6("2001:db8::2")};
  hand.peers = {a, b};
  EXPECT_EQ(hand.peer_by_waypoint(ip("192.0.2.1")), 0);
  EXPECT_EQ(hand.peer_by_waypoint(ip("192.0.2.2")), 1);
  EXPECT_EQ(hand.peer_by_waypoint(ip("192.0.2.3")), kNone);
  EXPECT_EQ(waypoint6_standin_of(hand, *parse_ipv6("2001:db8::2")), waypoint6_peer_standin(1, 0));
}

}  // namespace
}  // namespace wp
