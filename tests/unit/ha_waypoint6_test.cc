// HA of sessions between IPv6 waypoints (#19; docs/ipv6.md § HA of sessions
// between IPv6 waypoints): the packed record carries the IPv6 waypoints its
// stand-ins name (ha/packed_ops.h byte 75, PackedOps.waypoints6) and the
// receiver maps them onto its own stand-ins (ours, the HA peer node's
// 0.255.254.j, a peer's: control/waypoint6_addr.h); the validation of IPv6
// entries in ha.peer_waypoints; and a pair of in-process hubs (real Workers
// and HaNodes on the loopback bus) where the survivor carries an IPv4 session
// that rode the dead node's IPv6 waypoint, both ways, byte-exact.
//
//   client 10.1.0.5 - [r1] 2001:db8:70::1 ==IPv6 WAN== 2001:db8:70::2 [hub-a]
//                                                      2001:db8:70::3 [hub-b] - server 10.2.0.10
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <memory>
#include <string>

#include "dataplane/control/waypoint6_addr.h"
#include "dataplane/worker/worker.h"
#include "ha/ha_node.h"
#include "ha/ha_thread.h"
#include "ha/packed_ops.h"
#include "mgmt/config_load.h"
#include "tests/unit/ha_pair6.h"
#include "tests/unit/svr6_frames.h"

namespace wp::ha {
namespace {

using namespace wp::test;
using namespace wp::ha::pair6;
using C = HaStatus::Counter;


config::Config r1_config() {
  config::Config c = router_base("r1", "10.1.0.1/24", {{"wan0", "172.16.0.1/24"}});
  c.mutable_router()->mutable_wan(0)->add_ipv6_addresses("2001:db8:70::1/64");
  add_tenant(c, "branch", "10.1.0.0/25");
  add_service(c, {"web", "10.2.0.0/24", "tcp", "80", "hub"});
  add_policy(c, "branch", "web", "");
  add_peer(c, "hub", {kHubAWan6}, kKey12);  // the sites know the pair by hub-a's waypoint
  return c;
}

// The headend pair (ha_pair6.h).
config::Config hub_config(bool a) {
  config::Config c = hub_base(a);
  add_tenant(c, "branch", "10.1.0.0/25");
  add_service(c, {"web", "10.2.0.0/24", "tcp", "80", ""});
  add_policy(c, "branch", "web", "");
  return c;
}

bool has_error(const config::Config& c, const std::string& path, const std::string& text) {
  for (const auto& e : mgmt::validate_config(c))
    if (e.path == path && e.message.find(text) != std::string::npos) return true;
  return false;
}

// --- the stand-ins and the config ------------------------------------------------

TEST(HaWaypoint6, ThePeerNodesIpv6WaypointsHaveStandInsOfTheirOwn) {
  EXPECT_EQ(waypoint6_ha_standin(0), ip("0.255.254.0"));
  EXPECT_TRUE(is_waypoint6_ha_standin(waypoint6_ha_standin(255)));
  EXPECT_FALSE(is_waypoint6_ha_standin(waypoint6_own_standin(1)));
  EXPECT_FALSE(is_waypoint6_ha_standin(waypoint6_peer_standin(static_cast<int>(kWaypoint6MaxPeers) - 1, 3)))
      << "the last peer stand-in stays below 0.255.254.0";
  HmacEngine hmac;
  std::string err;
  auto b = RouterModel::build(hub_config(false), nullptr, nullptr, hmac, err);
  ASSERT_TRUE(b) << err;
  ASSERT_EQ(b->ha_waypoints6.size(), 1u);
  EXPECT_EQ(b->ha_waypoints6[0].addr, ip6(kHubAWan6));
  EXPECT_EQ(b->ha_waypoints6[0].iface, 1) << "on the WAN interface whose prefix holds it";
  EXPECT_EQ(*waypoint6_of(*b, waypoint6_ha_standin(0)), ip6(kHubAWan6));
  EXPECT_EQ(waypoint6_of(*b, waypoint6_ha_standin(1)), nullptr);
  EXPECT_EQ(waypoint6_standin_by_address(*b, ip6(kHubAWan6)), waypoint6_ha_standin(0));
  EXPECT_EQ(waypoint6_standin_by_address(*b, ip6(kHubBWan6)), waypoint6_own_standin(1));
  EXPECT_EQ(waypoint6_standin_by_address(*b, ip6(kR1Wan6)), waypoint6_peer_standin(1, 0));
  EXPECT_EQ(waypoint6_standin_by_address(*b, ip6("2001:db8:70::77")), 0u);
  EXPECT_EQ(waypoint6_ha_standin_of(*b, ip6(kHubAWan6), 0), 0u) << "not on the LAN";
  // The source of a WAN packet: the peer node's waypoint only on its own interface.
  EXPECT_EQ(*waypoint6_source(*b, waypoint6_ha_standin(0), 1), ip6(kHubAWan6));
  EXPECT_EQ(waypoint6_source(*b, waypoint6_ha_standin(0), 0), nullptr);
  EXPECT_EQ(*waypoint6_source(*b, waypoint6_own_standin(1), 1), ip6(kHubBWan6));
  // The dataplane's view: the peer's sessions on that stand-in are the peer's.
  HaDataplane ha;
  take_peer_waypoints6(*b, ha);
  EXPECT_TRUE(ha.is_peer_address(waypoint6_ha_standin(0)));
  EXPECT_FALSE(ha.is_peer_address(waypoint6_ha_standin(1)));
  ASSERT_EQ(ha.peer_addresses6.size(), 1u) << "claimed with the Neighbor Advertisements of peer_addresses6";
  EXPECT_EQ(ha.peer_addresses6[0].iface, 1);
}

TEST(HaWaypoint6, TheValidationPlacesIpv6PeerWaypointsOnAWanLink) {
  config::Config c = hub_config(false);
  EXPECT_FALSE(has_error(c, "ha.peer_waypoints[1]", "")) << "2001:db8:70::2 is on wan0's prefix";
  c.mutable_ha()->set_peer_waypoints(1, "2001:db8:99::2");
  EXPECT_TRUE(has_error(c, "ha.peer_waypoints[1]", "is not inside the IPv6 prefix of any WAN interface"));
  c.mutable_ha()->set_peer_waypoints(1, "fe80::2");
  EXPECT_TRUE(has_error(c, "ha.peer_waypoints[1]", "must be a global unicast IPv6 address"));
  c.mutable_ha()->set_peer_waypoints(1, "172.16.9.2");
  EXPECT_TRUE(has_error(c, "ha.peer_waypoints[1]", "is not inside the connected prefix of any WAN interface"))
      << "IPv4 entries as before";
  c.mutable_ha()->set_peer_waypoints(1, "2001:db8:71::2");
  c.mutable_router()->mutable_lan()->add_ipv6_addresses("2001:db8:71::1/64");
  EXPECT_TRUE(has_error(c, "ha.peer_waypoints[1]", "of any WAN interface")) << "a LAN prefix is no waypoint's";
}

// --- the record --------------------------------------------------------------------

struct Models {
  Models() {
    std::string err;
    a = RouterModel::build(hub_config(true), nullptr, nullptr, hmac, err);
    b = RouterModel::build(hub_config(false), nullptr, nullptr, hmac, err);
    config::Config lone = hub_config(false);
    lone.clear_ha();
    b_without_ha = RouterModel::build(lone, nullptr, nullptr, hmac, err);
    EXPECT_TRUE(a && b && b_without_ha) << err;
  }
  HmacEngine hmac;
  std::shared_ptr<const RouterModel> a, b, b_without_ha;
};

// Hub-a's egress session from r1: the client's tuple, the LAN leg to the
// server, the WAN leg from hub-a's IPv6 waypoint to r1's (its stand-ins).
Session egress_session(const RouterModel& rm) {
  Session s;
  s.original = {kClient, kServer, 40000, 80, kProtoTcp};
  for (int i = 0; i < 16; ++i) s.uuid[static_cast<size_t>(i)] = static_cast<uint8_t>(7 * i + 1);
  s.out_fwd = SideOut{{kClient, kServer, 40000, 80, kProtoTcp}, kServer, 0, -1};
  const Ipv4 r1 = waypoint6_standin_of(rm, ip6(kR1Wan6));
  s.out_rev = SideOut{{waypoint6_own_standin(1), r1, 20001, 20003, kProtoTcp}, r1, 1,
                      static_cast<int>(rm.peers.size() - 1)};
  s.tenant = static_cast<int16_t>(rm.tenant_by_name("branch"));
  s.service = static_cast<int16_t>(rm.service_by_name("web"));
  s.security = static_cast<int16_t>(rm.policy(s.tenant, s.service));
  s.flags = kReverseSeen;
  s.in_use = 1;
  return s;
}

bool round_trip(const Session& s, const RouterModel& from, const RouterModel& to, Session& out, std::string& err,
                const std::function<void(pb::PackedOps&)>& edit = {}, const FibTable6* fib6 = nullptr) {
  DataplaneClock clock = DataplaneClock::now();
  PackedOpsWriter w;
  w.add(PackedKind::upsert, s, from, clock);
  pb::PackedOps body;
  w.write_to(body);
  if (edit) edit(body);
  pb::PackedOps wire;
  if (!wire.ParseFromString(body.SerializeAsString())) return err = "parse", false;
  PackedOpsReader r;
  PackedKind kind;
  return r.open(wire, err) && r.decode(0, to, clock, nullptr, kind, out, err, -1, fib6);
}

TEST(HaWaypoint6Packed, StandInsTravelAsAddressesAndLandOnTheReceiversOwn) {
  Models m;
  ASSERT_TRUE(m.a && m.b);
  const Session s = egress_session(*m.a);
  ASSERT_EQ(s.out_rev.tuple.dst, waypoint6_peer_standin(0, 0)) << "r1 is hub-a's peer 0";
  DataplaneClock clock = DataplaneClock::now();
  PackedOpsWriter w;
  w.add(PackedKind::upsert, s, *m.a, clock);
  pb::PackedOps body;
  w.write_to(body);
  ASSERT_EQ(body.waypoints6().size(), 32u) << "hub-a's waypoint and r1's, once each";
  EXPECT_EQ(body.records()[75], 1) << "byte 75: the record's stand-ins index the table";

  Session d;
  std::string err;
  ASSERT_TRUE(round_trip(s, *m.a, *m.b, d, err)) << err;
  EXPECT_EQ(d.original, s.original) << "the client's tuple, no stand-in";
  EXPECT_EQ(d.out_rev.tuple.src, waypoint6_ha_standin(0)) << "hub-a's waypoint is hub-b's 0.255.254.0";
  EXPECT_EQ(d.out_rev.tuple.dst, waypoint6_peer_standin(1, 0)) << "r1 is hub-b's peer 1";
  EXPECT_EQ(d.out_rev.tuple.sport, 20001);
  EXPECT_EQ(d.out_rev.tuple.dport, 20003);
  EXPECT_EQ(d.out_rev.next_hop, waypoint6_peer_standin(1, 0)) << "the WAN leg resolves the IPv6 next hop itself";
  EXPECT_EQ(d.out_rev.iface, 1);
  EXPECT_EQ(d.out_rev.peer, 1);
  EXPECT_EQ(d.out_fwd.iface, 0);
  EXPECT_EQ(d.out_fwd.next_hop, kServer);

  // Hub-b carried it (a takeover) and hands it back in its resync: hub-a's own stand-ins again.
  Session home;
  ASSERT_TRUE(round_trip(d, *m.b, *m.a, home, err)) << err;
  EXPECT_EQ(home.out_rev.tuple, s.out_rev.tuple);
  EXPECT_EQ(home.out_rev.peer, s.out_rev.peer);

  // A session of hub-b's own waypoint reaches hub-a as hub-a's 0.255.254.0 (hub-b's waypoint there).
  Session own_b = egress_session(*m.b);
  ASSERT_TRUE(round_trip(own_b, *m.b, *m.a, d, err)) << err;
  EXPECT_EQ(d.out_rev.tuple.src, waypoint6_ha_standin(0));
  EXPECT_EQ(d.out_rev.tuple.dst, waypoint6_peer_standin(0, 0));
}

TEST(HaWaypoint6Packed, WaypointsTheReceiverDoesNotKnowAreRejectedWithAReason) {
  Models m;
  ASSERT_TRUE(m.a && m.b_without_ha);
  const Session s = egress_session(*m.a);
  Session d;
  std::string err;
  EXPECT_FALSE(round_trip(s, *m.a, *m.b_without_ha, d, err));
  EXPECT_NE(err.find("IPv6 waypoint 2001:db8:70::2 is not configured here"), std::string::npos) << err;
  EXPECT_FALSE(round_trip(s, *m.a, *m.b, d, err, [](pb::PackedOps& b) { (*b.mutable_records())[75] = 0; }));
  EXPECT_NE(err.find("without the sender's waypoint table"), std::string::npos) << err;
  EXPECT_FALSE(round_trip(s, *m.a, *m.b, d, err, [](pb::PackedOps& b) { (*b.mutable_records())[75] = 2; }));
  EXPECT_NE(err.find("waypoint6: 2 unknown"), std::string::npos) << err;
  EXPECT_FALSE(round_trip(s, *m.a, *m.b, d, err, [](pb::PackedOps& b) { b.mutable_waypoints6()->resize(16); }));
  EXPECT_NE(err.find("past the 1 waypoints"), std::string::npos) << err;
  EXPECT_FALSE(round_trip(s, *m.a, *m.b, d, err, [](pb::PackedOps& b) { b.mutable_waypoints6()->resize(31); }));
  EXPECT_NE(err.find("whole 16-byte addresses"), std::string::npos) << err;
  // The table names r1's waypoint where hub-a's should be: the WAN leg's source is no waypoint of ours there.
  EXPECT_FALSE(round_trip(s, *m.a, *m.b, d, err, [](pb::PackedOps& b) {
    std::string& t = *b.mutable_waypoints6();
    t = t.substr(16, 16) + t.substr(16, 16);
  }));
  EXPECT_NE(err.find("not on the interface"), std::string::npos) << err;
  // ... and hub-a's where r1's should be: no peer's waypoint for the leg's peer.
  EXPECT_FALSE(round_trip(s, *m.a, *m.b, d, err, [](pb::PackedOps& b) {
    std::string& t = *b.mutable_waypoints6();
    t = t.substr(0, 16) + t.substr(0, 16);
  }));
  EXPECT_NE(err.find("IPv6 waypoint 2001:db8:70::2 is not the leg's peer's here"), std::string::npos) << err;
}

// The receiver routes the WAN leg to r1's waypoint with FRR's IPv6 routes beside the config's,
// as a session made there (control/waypoint6_addr.h waypoint6_route): FRR's blackhole, or a
// longer FRR route out of the LAN (no IPv6 waypoint of ours there), rejects the record that the
// config's connected route alone accepts.
TEST(HaWaypoint6Packed, TheWaypointLegIsRoutedWithFrrsRoutesToo) {
  Models m;
  ASSERT_TRUE(m.a && m.b);
  const Session s = egress_session(*m.a);
  Session d;
  std::string err;
  const FibNextHop6 lan_gw{ip6("fe80::5"), 0}, wan_gw{ip6("fe80::99"), 1};
  const auto prefix = [](const char* p, std::initializer_list<FibNextHop6> hops) {
    FibRoute6 r{*parse_prefix6(p), 186, 20, 0, {}};
    for (const FibNextHop6& h : hops) r.hops[r.paths++] = h;
    return r;
  };
  const FibTable6 blackhole({prefix("2001:db8:70::1/128", {})});
  EXPECT_FALSE(round_trip(s, *m.a, *m.b, d, err, {}, &blackhole));
  EXPECT_NE(err.find("out_rev: no IPv6 route to the peer's waypoint"), std::string::npos) << err;
  const FibTable6 via_lan({prefix("2001:db8:70::/112", {lan_gw})});
  EXPECT_FALSE(round_trip(s, *m.a, *m.b, d, err, {}, &via_lan));
  EXPECT_NE(err.find("no IPv6 route to the peer's waypoint"), std::string::npos) << err;
  const FibTable6 shorter({prefix("2001:db8::/32", {lan_gw})});
  ASSERT_TRUE(round_trip(s, *m.a, *m.b, d, err, {}, &shorter)) << "the connected /64 wins: " << err;
  const FibTable6 via_wan({prefix("2001:db8:70::1/128", {wan_gw})});
  ASSERT_TRUE(round_trip(s, *m.a, *m.b, d, err, {}, &via_wan)) << err;
  EXPECT_EQ(d.out_rev.iface, 1);
  EXPECT_EQ(d.out_rev.next_hop, waypoint6_peer_standin(1, 0));
  ASSERT_TRUE(round_trip(s, *m.a, *m.b, d, err)) << "the config's alone: " << err;
}

// --- the pair ----------------------------------------------------------------------

// A frame from the server at `hub`'s LAN port.
std::vector<uint8_t> from_server(const Hub& hub, Pkt p) {
  Mac lan;
  std::memcpy(lan.data(), hub.router.model().interfaces[0].mac, 6);
  return p.eth(lan, kServerMac).bytes();
}

class HaWaypoint6Pair : public PairTest {
 protected:
  void SetUp() override {
    start(
        r1_config(), [](Router& r) { r.neighbor(0, kClient, kClientMac); }, hub_config, false,
        [](Router& r) { r.neighbor(0, kServer, kServerMac); });
  }
  std::vector<uint8_t> client(Pkt p) const {
    Mac lan;
    std::memcpy(lan.data(), r1->model().interfaces[0].mac, 6);
    return p.eth(lan, kClientMac).bytes();
  }
};

TEST_F(HaWaypoint6Pair, TheSurvivorCarriesASessionOnThePeersIpv6WaypointBothWays) {
  ASSERT_TRUE(a->node->peer_present());
  // The connection's setup through hub-a, over IPv6 waypoints.
  const auto syn = client(Pkt().ipv4(kClient, kServer).tcp(40000, 80, 0x02, 1000).payload("GET /"));
  const Frame w1 = r1->send_one(kLan, syn);
  expect_restored4(syn, a->router.send_one(kWan, w1.raw));
  const auto synack = from_server(*a, Pkt().ipv4(kServer, kClient).tcp(80, 40000, 0x12, 5000, 1006).payload("200 OK"));
  const Frame w2 = a->router.send_one(kLan, synack);
  expect_restored4(synack, r1->send_one(kWan, w2.raw));
  run();
  EXPECT_GE(b->node->status().get(C::sessions_received), 1u);
  EXPECT_EQ(b->node->status().get(C::sessions_rejected), 0u);
  EXPECT_EQ(b->router.worker().table().size(), 1u) << "hub-b holds the copy";

  // While hub-a lives, hub-b does not take packets to hub-a's waypoint.
  const auto early = client(Pkt().ipv4(kClient, kServer).tcp(40000, 80, 0x10, 1006, 5007).payload("early"));
  const Frame we = r1->send_one(kLan, early);
  for (const Frame& f : b->router.send(kWan, we.raw)) EXPECT_NE(f.port, kLan) << "not restored before the takeover";
  EXPECT_EQ(b->router.count(Counter::waypoint6_received), 0u);

  bus.leave({1, 101});  // hub-a's process dies
  a.reset();
  run(10);
  ASSERT_TRUE(b->shared.ha.holds_peer_address6(ip6(kHubAWan6), 1)) << "claimed like peer_addresses6";

  // The client's next segment, to hub-a's IPv6 waypoint, reaches the server through hub-b.
  const auto ack = client(Pkt().ipv4(kClient, kServer).tcp(40000, 80, 0x10, 1011, 5007).payload("more data"));
  const Frame w3 = r1->send_one(kLan, ack);
  expect_restored4(ack, b->router.send_one(kWan, w3.raw));
  EXPECT_EQ(b->router.count(Counter::waypoint6_received), 1u);

  // The server's answer leaves hub-b from hub-a's IPv6 waypoint, to r1's, and is restored there.
  const auto back = from_server(*b, Pkt().ipv4(kServer, kClient).tcp(80, 40000, 0x10, 5007, 1020).payload("body"));
  const Frame w4 = b->router.send_one(kLan, back);
  ASSERT_EQ(w4.port, kWan);
  const Ipv6View v = parse_ipv6_packet(w4.raw.data(), static_cast<uint32_t>(w4.raw.size()), 14);
  ASSERT_EQ(v.status, Ipv6Status::ok);
  EXPECT_EQ(v.src, ip6(kHubAWan6)) << "from the waypoint the session rides";
  EXPECT_EQ(v.dst, ip6(kR1Wan6));
  EXPECT_EQ(std::memcmp(w4.dst_mac(), kR1Mac.data(), 6), 0);
  expect_restored4(back, r1->send_one(kWan, w4.raw));
  EXPECT_EQ(b->router.count(Counter::waypoint6_sent), 1u);
}

}  // namespace
}  // namespace wp::ha
