// The model's sorted index of peer waypoints (router_model.h: peer_waypoints_,
// peer_waypoints6_): peer_by_waypoint and waypoint6_standin_of answer from it
// for a built model, exactly as the scans over every peer did, at headend scale.
#include <gtest/gtest.h>

#include <string>

#include "dataplane/control/router_model.h"
#include "dataplane/control/waypoint6_addr.h"
#include "mgmt/config_load.h"
#include "tests/unit/svr_harness.h"

namespace wp {
namespace {

using namespace test;

constexpr int kPeers = 3000;

// Peer p: IPv4 waypoints 100.64.x.y and 100.65.x.y; the first 200 peers also
// an IPv6 waypoint 2001:db8:f::p (and peer 7 a second one).
// Appended piece by piece: GCC 12's -Wrestrict misreads "literal" + std::to_string(n).
std::string join(std::initializer_list<std::string> parts) {
  std::string s;
  for (const auto& p : parts) s += p;
  return s;
}
std::string v4(int net, int p) {
  return join({"100.", std::to_string(net), ".", std::to_string(p / 256), ".", std::to_string(p % 256)});
}
std::string v6(int p) { return join({"2001:db8:f::", std::to_string(p + 1)}); }

config::Config many_peers() {
  config::Config c = router_base("r1", "10.1.0.1/24", {{"wan0", "100.64.255.1/16"}});
  for (int p = 0; p < kPeers; ++p) {
    auto* pc = c.add_peers();
    pc->set_name(join({"site", std::to_string(p)}));
    pc->add_waypoints(v4(64, p + 2));
    pc->add_waypoints(v4(65, p + 2));
    if (p < 200 || p == kPeers - 2) pc->add_waypoints(v6(p));  // and one far past 255
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
  // By name, from the model's index (a live commit's re-check and HA sync ask per session).
  for (int p : {0, 1, 1500, kPeers - 1}) EXPECT_EQ(m->peer_by_name(join({"site", std::to_string(p)})), p);
  EXPECT_EQ(m->peer_by_name("site"), kNone);
  EXPECT_EQ(m->peer_by_name(""), kNone);
}

TEST(PeerIndex, Ipv6WaypointsMapToTheirStandIns) {
  auto m = build(many_peers());
  ASSERT_TRUE(m);
  for (int p = 0; p < 200; ++p) {
    const Ipv4 s = waypoint6_standin_of(*m, *parse_ipv6(v6(p)));
    EXPECT_EQ(s, waypoint6_peer_standin(p, 0)) << p;
    EXPECT_EQ(m->peer_by_waypoint(s), p);  // a stand-in names its peer too
  }
  const Ipv4 far = waypoint6_standin_of(*m, *parse_ipv6(v6(kPeers - 2)));
  EXPECT_EQ(far, waypoint6_peer_standin(kPeers - 2, 0));
  EXPECT_EQ(m->peer_by_waypoint(far), kPeers - 2);
  ASSERT_NE(waypoint6_peer(*m, far), nullptr);
  EXPECT_EQ(*waypoint6_peer(*m, far), *parse_ipv6(v6(kPeers - 2)));
  EXPECT_EQ(waypoint6_standin_of(*m, *parse_ipv6("2001:db8:e::7")), waypoint6_peer_standin(7, 1));
  EXPECT_EQ(*waypoint6_peer(*m, waypoint6_peer_standin(7, 1)), *parse_ipv6("2001:db8:e::7"));
  EXPECT_EQ(waypoint6_peer(*m, waypoint6_peer_standin(7, 2)), nullptr);  // peer 7 has two
  EXPECT_EQ(waypoint6_standin_peer(*m, waypoint6_own_standin(0)), kNone);  // ours, never a peer's
  EXPECT_EQ(waypoint6_standin_of(*m, *parse_ipv6("2001:db8:f::ffff")), 0u);
  EXPECT_EQ(waypoint6_standin_of(*m, *parse_ipv6("::")), 0u);
}

// Stand-ins: 0.255.255.i ours, 0.255.254.j the HA peer node's; 4p + k below them, for every peer index that fits.
TEST(PeerIndex, StandInsOfPeersAndOursNeverCollide) {
  EXPECT_EQ(waypoint6_peer_standin(0, 0), ip("0.255.0.0"));
  EXPECT_EQ(waypoint6_peer_standin(1, 3), ip("0.255.0.7"));
  EXPECT_EQ(waypoint6_peer_standin(static_cast<int>(kWaypoint6MaxPeers) - 1, kWaypoint6MaxPerPeer - 1),
            ip("0.255.253.255"));
  EXPECT_EQ(waypoint6_own_standin(0), ip("0.255.255.0"));
  EXPECT_TRUE(is_waypoint6_standin(waypoint6_peer_standin(16000, 3)));
  EXPECT_EQ(waypoint6_standin_index(waypoint6_peer_standin(16000, 3)), 3u);
}

bool has_error(const config::Config& c, const std::string& path, const std::string& text) {
  for (const auto& e : mgmt::validate_config(c))
    if (e.path == path && e.message.find(text) != std::string::npos) return true;
  return false;
}

TEST(PeerIndex, TheValidationRefusesWhatTheStandInsCannotName) {
  config::Config c = many_peers();
  for (const char* w : {"2001:db8:e::8", "2001:db8:e::9", "2001:db8:e::a"}) c.mutable_peers(7)->add_waypoints(w);
  EXPECT_TRUE(has_error(c, "peers[7].waypoints", "at most 4 IPv6 waypoints per peer (5 listed)"));
  EXPECT_FALSE(has_error(c, "peers[8].waypoints", "IPv6 waypoints"));
  config::Config big = router_base("r1", "10.1.0.1/24", {{"wan0", "100.64.255.1/16"}});
  for (size_t p = 0; p <= kWaypoint6MaxPeers; ++p) {
    auto* pc = big.add_peers();
    pc->set_name(join({"s", std::to_string(p)}));
    pc->add_waypoints(p == kWaypoint6MaxPeers ? "2001:db8:f::1" : "100.64.0.2");
    pc->set_key(kKey12);
  }
  const std::string last = join({"peers[", std::to_string(kWaypoint6MaxPeers), "].waypoints"});
  EXPECT_TRUE(has_error(big, last, "supported on the first 16256 peers only"));
}

// A session keeps its peer's index in SideOut::peer. Peers past index 127
// (an 8-bit index wrapped negative, or onto another peer's key) carry a
// session both ways: r1 knows r2 as peer 300 and r2 knows r1 as peer 200,
// every other peer holding another key, so a wrong index fails the HMAC.
config::Config with_fillers(const char* name, const char* lan, const char* wan, int fillers, const char* peer,
                            const char* peer_addr) {
  config::Config c = router_base(name, lan, {{"wan0", wan}});
  add_tenant(c, "branch", "10.1.0.0/24");
  add_service(c, {"echo", "10.2.0.0/24", "udp", "5201", std::string_view(name) == "r1" ? "r2" : ""});
  add_policy(c, "branch", "echo", "");
  for (int p = 0; p < fillers; ++p) {
    const std::string addr = join({"172.16.", std::to_string(10 + p / 250), ".", std::to_string(1 + p % 250)});
    add_peer(c, join({"site", std::to_string(p)}), {addr.c_str()}, kKey23);
  }
  add_peer(c, peer, {peer_addr}, kKey12);
  return c;
}

TEST(PeerIndex, SessionsToPeersPastIndex127CarryTheirKeys) {
  Router r1(with_fillers("r1", "10.1.0.1/24", "172.16.0.1/16", 300, "r2", "172.16.0.2"));
  Router r2(with_fillers("r2", "10.2.0.1/24", "172.16.0.2/16", 200, "r1", "172.16.0.1"));
  ASSERT_EQ(r1.model().peer_by_waypoint(kR2Wan), 300);
  ASSERT_EQ(r2.model().peer_by_waypoint(kR1Wan), 200);
  r1.neighbor(0, kClient, kClientMac);
  r1.neighbor(1, kR2Wan, kR2Mac);
  r2.neighbor(0, kServer, kServerMac);
  r2.neighbor(1, kR1Wan, kR1Mac);
  auto client = [](std::string_view data) {
    return Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, kServer).udp(40000, 5201).payload(data).bytes();
  };
  auto server = [](std::string_view data) {
    return Pkt().eth(kR2Mac, kServerMac).ipv4(kServer, kClient).udp(5201, 40000).payload(data).bytes();
  };
  Frame w = r1.send_one(kLan, client("one"));
  ASSERT_EQ(w.port, kWan);
  EXPECT_TRUE(hmac_ok(w, kKey12)) << "r1 signed with peer 300's key";
  Frame lan = r2.send_one(kWan, w.raw);
  ASSERT_EQ(lan.port, kLan) << r2.drops();
  EXPECT_EQ(lan.payload_string(), "one");
  Frame back = r2.send_one(kLan, server("two"));
  ASSERT_EQ(back.port, kWan) << r2.drops();
  EXPECT_TRUE(hmac_ok(back, kKey12)) << "r2 signed its reverse metadata with peer 200's key";
  Frame home = r1.send_one(kWan, back.raw);
  ASSERT_EQ(home.port, kLan) << r1.drops();
  EXPECT_EQ(home.payload_string(), "two");
  EXPECT_EQ(r1.total_drops(), 0u) << r1.drops();
  EXPECT_EQ(r2.total_drops(), 0u) << r2.drops();
  const Session* s1 = r1.worker().table().lookup(FiveTuple{kClient, kServer, 40000, 5201, kProtoUdp}).session;
  ASSERT_NE(s1, nullptr);
  EXPECT_EQ(s1->out_fwd.peer, 300);
}

TEST(PeerIndex, AHandMadeModelStillScans) {
  RouterModel hand;
  PeerModel a, b;
  a.name = "a", b.name = "b";
  a.waypoints = {ip("192.0.2.1")};
  b.waypoints = {ip("192.0.2.2"), ip("192.0.2.1")};
  b.waypoints6 = {*parse_ipv6("2001:db8::2")};
  hand.peers = {a, b};
  EXPECT_EQ(hand.peer_by_waypoint(ip("192.0.2.1")), 0);
  EXPECT_EQ(hand.peer_by_waypoint(ip("192.0.2.2")), 1);
  EXPECT_EQ(hand.peer_by_waypoint(ip("192.0.2.3")), kNone);
  EXPECT_EQ(waypoint6_standin_of(hand, *parse_ipv6("2001:db8::2")), waypoint6_peer_standin(1, 0));
  EXPECT_EQ(hand.peer_by_name("b"), 1);
  EXPECT_EQ(hand.peer_by_name("c"), kNone);
}

}  // namespace
}  // namespace wp
