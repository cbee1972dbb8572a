// HA of IPv6 sessions that an IPv4 SVR session carries (#19; docs/ipv6.md
// § HA of sessions between IPv6 waypoints; ha/packed_svr6.h): one record holds
// both halves (the IPv4 record of packed_ops.h, the Session6 as its tail); the
// receiver maps the WAN leg's stand-ins onto its own, routes the IPv6 LAN side
// itself and binds the halves in the owning worker; malformed records are
// rejected with their reasons; and a pair of in-process hubs (real Workers and
// HaNodes on the loopback bus) where the survivor carries an IPv6 client's
// TCP session that rode the dead node, both ways, byte-exact; the same with
// the pair as a transit hop between r1 and r3 (both legs and the held Session6).
//
//   client 2001:db8:71::5 - [r1] 2001:db8:70::1 ==IPv6 WAN== 2001:db8:70::2 [hub-a]
//                                                             2001:db8:70::3 [hub-b] - server 2001:db8:72::10
#include <gtest/gtest.h>
#include <rte_ring_elem.h>

#include <cstring>
#include <functional>
#include <memory>
#include <string>

#include "dataplane/control/waypoint6_addr.h"
#include "dataplane/svr/svr6_lan.h"
#include "dataplane/worker/worker.h"
#include "ha/ha_node.h"
#include "ha/ha_thread.h"
#include "ha/packed_svr6.h"
#include "mgmt/config_load.h"
#include "tests/unit/ha_pair6.h"
#include "tests/unit/nic_offload.h"
#include "tests/unit/pkt6_builder.h"
#include "tests/unit/route6_test_config.h"
#include "tests/unit/svr6_frames.h"

namespace wp::ha {
namespace {

using namespace wp::test;
using namespace wp::ha::pair6;
using C = HaStatus::Counter;

constexpr const char* kV6Client = "2001:db8:71::5";
constexpr const char* kV6Server = "2001:db8:72::10";
constexpr Mac kV6ServerMac = {2, 0, 0, 0, 0x72, 0x10};

config::Config r1_config() {
  config::Config c = router_base("r1", "10.1.0.1/24", {{"wan0", "172.16.0.1/24"}});
  c.mutable_router()->mutable_lan()->add_ipv6_addresses("2001:db8:71::1/64");
  c.mutable_router()->mutable_wan(0)->add_ipv6_addresses("2001:db8:70::1/64");
  add_v6_tenants(c);
  add_service(c, {"web6", "2001:db8:72::/64", "tcp", "80", "hub"});
  add_policy(c, "v6", "web6", "");
  add_peer(c, "hub", {kHubAWan6}, kKey12);  // the site knows the pair by hub-a's waypoint
  return c;
}

// The headend pair (the egress role; ha_pair6.h).
config::Config hub_config(bool a) {
  config::Config c = hub_base(a);
  c.mutable_router()->mutable_lan()->add_ipv6_addresses(a ? "2001:db8:72::1/64" : "2001:db8:72::3/64");
  add_v6_tenants(c);
  add_service(c, {"web6", "2001:db8:72::/64", "tcp", "80", ""});
  add_policy(c, "v6", "web6", "");
  return c;
}

// --- the record --------------------------------------------------------------------

struct Models {
  Models() {
    std::string err;
    a = RouterModel::build(hub_config(true), nullptr, nullptr, hmac, err);
    b = RouterModel::build(hub_config(false), nullptr, nullptr, hmac, err);
    EXPECT_TRUE(a && b) << err;
  }
  HmacEngine hmac;
  std::shared_ptr<const RouterModel> a, b;
};

// Hub-a's egress session from r1 as a worker holds it: Session6 slot 3, its internal tuple.
struct Pair {
  Session carrier;
  Session6 s6;
};
Pair egress_pair(const RouterModel& rm) {
  Pair p;
  p.s6.original = {ip6(kV6Client), ip6(kV6Server), 40000, 80, kProtoTcp};
  const FiveTuple inner = Svr6Lan::internal_tuple(3, p.s6.original);
  Session& s = p.carrier;
  s.original = inner;
  for (int i = 0; i < 16; ++i) s.uuid[static_cast<size_t>(i)] = static_cast<uint8_t>(5 * i + 3);
  p.s6.uuid = s.uuid;
  s.out_fwd = SideOut{inner, 3, static_cast<int8_t>(kIfaceSvr6), -1};
  const Ipv4 r1 = waypoint6_standin_of(rm, ip6(kR1Wan6));
  s.out_rev =
      SideOut{{waypoint6_own_standin(1), r1, 20001, 20003, kProtoTcp}, r1, 1, static_cast<int>(rm.peers.size() - 1)};
  s.tenant = static_cast<int16_t>(rm.tenant_by_name("v6"));
  s.service = static_cast<int16_t>(rm.service_by_name("web6"));
  s.security = static_cast<int16_t>(rm.policy(s.tenant, s.service));
  s.flags = kReverseSeen;
  s.in_use = 1;
  p.s6.packets[0] = 3, p.s6.packets[1] = 2, p.s6.bytes[0] = 300, p.s6.bytes[1] = 1200;
  return p;
}

bool round_trip(const Pair& in, const RouterModel& from, const RouterModel& to, PeerSession6Op& out, std::string& err,
                const std::function<void(pb::PackedOps&)>& edit = {}) {
  DataplaneClock clock = DataplaneClock::now();
  PackedOpsWriter w{kPackedSvr6RecordBytes, kPackedSvr6Format};
  write_svr6_tail(w.add(PackedKind::upsert, in.carrier, from, clock), in.s6, Svr6Role::egress);
  pb::PackedOps body;
  w.write_to(body);
  if (edit) edit(body);
  pb::PackedOps wire;
  if (!wire.ParseFromString(body.SerializeAsString())) return err = "parse", false;
  PackedOpsReader r{kPackedSvr6RecordBytes, kPackedSvr6Format, "packed svr6 ops"};
  PackedKind kind;
  return r.open(wire, err) && svr6_role(r.record(0), out.role, err) &&
         r.decode(0, to, clock, nullptr, kind, out.carrier, err, svr6_lan_side(out.role)) &&
         decode_svr6_tail(r.record(0), kind, to, out.carrier, out.session, err);
}

TEST(HaSvr6Packed, BothHalvesTravelInOneRecordAndLandInTheReceiversTerms) {
  Models m;
  ASSERT_TRUE(m.a && m.b);
  const Pair in = egress_pair(*m.a);
  PeerSession6Op d{};
  std::string err;
  ASSERT_TRUE(round_trip(in, *m.a, *m.b, d, err)) << err;
  EXPECT_EQ(d.role, Svr6Role::egress);
  EXPECT_EQ(d.carrier.uuid, in.carrier.uuid);
  EXPECT_EQ(d.session.uuid, in.carrier.uuid) << "one UUID for both halves";
  EXPECT_EQ(d.carrier.out_fwd.iface, kIfaceSvr6) << "the LAN side is left for the worker to bind";
  EXPECT_EQ(d.carrier.out_rev.tuple.src, waypoint6_ha_standin(0)) << "hub-a's waypoint is hub-b's 0.255.254.0";
  EXPECT_EQ(d.carrier.out_rev.tuple.dst, waypoint6_peer_standin(1, 0)) << "r1 is hub-b's peer 1";
  EXPECT_EQ(d.carrier.out_rev.peer, 1);
  EXPECT_EQ(d.session.original, in.s6.original);
  EXPECT_EQ(d.session.next_hop[0], ip6(kV6Server)) << "on hub-b's LAN link";
  EXPECT_EQ(d.session.iface[0], 0);
  EXPECT_EQ(d.session.bytes[1], 1200u);
  EXPECT_EQ(d.session.tenant, d.carrier.tenant);
  EXPECT_EQ(d.session.svr_ref, 0u) << "the worker links the halves";
}

// The ingress role (the client's LAN side is out_rev): a client on the hubs' own LAN here.
TEST(HaSvr6Packed, TheIngressRoleBindsTheClientsSide) {
  Models m;
  ASSERT_TRUE(m.a && m.b);
  Pair in;
  in.s6.original = {ip6("2001:db8:72::20"), ip6(kV6Server), 40001, 80, kProtoTcp};
  const FiveTuple inner = Svr6Lan::internal_tuple(5, in.s6.original);
  Session& s = in.carrier;
  s.original = inner;
  s.uuid[0] = 9;
  s.out_rev = SideOut{inner.reversed(), 5, static_cast<int8_t>(kIfaceSvr6), -1};
  const Ipv4 r1 = waypoint6_standin_of(*m.a, ip6(kR1Wan6));
  s.out_fwd =
      SideOut{{waypoint6_own_standin(1), r1, 20005, 20007, kProtoTcp}, r1, 1, static_cast<int>(m.a->peers.size() - 1)};
  s.tenant = static_cast<int16_t>(m.a->tenant_by_name("v6"));
  s.service = static_cast<int16_t>(m.a->service_by_name("web6"));
  s.security = static_cast<int16_t>(m.a->policy(s.tenant, s.service));
  s.in_use = 1;
  DataplaneClock clock = DataplaneClock::now();
  PackedOpsWriter w{kPackedSvr6RecordBytes, kPackedSvr6Format};
  write_svr6_tail(w.add(PackedKind::upsert, s, *m.a, clock), in.s6, Svr6Role::ingress);
  pb::PackedOps body;
  w.write_to(body);
  PackedOpsReader r{kPackedSvr6RecordBytes, kPackedSvr6Format, "packed svr6 ops"};
  std::string err;
  PeerSession6Op d{};
  PackedKind kind;
  ASSERT_TRUE(r.open(body, err) && svr6_role(r.record(0), d.role, err)) << err;
  EXPECT_EQ(d.role, Svr6Role::ingress);
  ASSERT_TRUE(r.decode(0, *m.b, clock, nullptr, kind, d.carrier, err, 0)) << err;
  ASSERT_TRUE(decode_svr6_tail(r.record(0), kind, *m.b, d.carrier, d.session, err)) << err;
  EXPECT_EQ(d.carrier.out_rev.iface, kIfaceSvr6);
  EXPECT_EQ(d.carrier.out_fwd.tuple.src, waypoint6_ha_standin(0));
  EXPECT_EQ(d.session.next_hop[1], ip6("2001:db8:72::20")) << "toward the client, on hub-b's LAN";
  EXPECT_EQ(d.session.iface[1], 0);
  EXPECT_EQ(d.session.iface[0], -1) << "the server's side is the SVR session's";
  // #19: FRR's IPv6 routes too (DataplaneShared::fib6), as for a session made here: a longer
  // FRR prefix toward the client wins over the connected /64; an FRR blackhole is no route.
  const FibTable6 frr({test::frr_route("2001:db8:72::/120", 20, {{test::kLinkLocalGw, 0}})});
  ASSERT_TRUE(decode_svr6_tail(r.record(0), kind, *m.b, d.carrier, d.session, err, &frr)) << err;
  EXPECT_EQ(d.session.next_hop[1], test::kLinkLocalGw) << "FRR's gateway on hub-b's LAN";
  EXPECT_EQ(d.session.iface[1], 0);
  const FibTable6 hole({test::frr_route("2001:db8:72::/120", 1, {})});
  err.clear();
  EXPECT_FALSE(decode_svr6_tail(r.record(0), kind, *m.b, d.carrier, d.session, err, &hole));
  EXPECT_NE(err.find("no IPv6 route here to 2001:db8:72::20"), std::string::npos) << err;
}

TEST(HaSvr6Packed, MalformedRecordsAreRejectedWithAReason) {
  Models m;
  ASSERT_TRUE(m.a && m.b);
  const Pair in = egress_pair(*m.a);
  PeerSession6Op d{};
  std::string err;
  auto byte = [](size_t at, char v) { return [at, v](pb::PackedOps& b) { (*b.mutable_records())[at] = v; }; };
  EXPECT_FALSE(round_trip(in, *m.a, *m.b, d, err, byte(165, 4)));
  EXPECT_NE(err.find("svr6 role: 4 unknown"), std::string::npos) << err;
  // Transit: both sides must be waypoint legs; this record's out_fwd is the server's LAN side.
  EXPECT_FALSE(round_trip(in, *m.a, *m.b, d, err, byte(165, 3)));
  EXPECT_NE(err.find("out_fwd"), std::string::npos) << err;
  EXPECT_FALSE(round_trip(in, *m.a, *m.b, d, err, byte(166, 1)));
  EXPECT_NE(err.find("reserved bytes"), std::string::npos) << err;
  EXPECT_FALSE(round_trip(in, *m.a, *m.b, d, err, byte(160, 7)));  // the IPv6 source port
  EXPECT_NE(err.find("differ from the IPv4 half's"), std::string::npos) << err;
  EXPECT_FALSE(round_trip(in, *m.a, *m.b, d, err, byte(145, 0x0d)));  // 2001:d0d:: ... no service here
  EXPECT_NE(err.find("is not web6"), std::string::npos) << err;
  // The role says ingress: out_fwd, the server's LAN side here, would be a waypoint leg to an internal address.
  EXPECT_FALSE(round_trip(in, *m.a, *m.b, d, err, byte(165, 1)));
  EXPECT_NE(err.find("out_fwd: no route to 0.0.0.9"), std::string::npos) << err;
  EXPECT_FALSE(round_trip(in, *m.a, *m.b, d, err, [](pb::PackedOps& b) { b.set_record_bytes(128); }));
  EXPECT_NE(err.find("records of 128 bytes"), std::string::npos) << err;
  EXPECT_FALSE(round_trip(in, *m.a, *m.b, d, err, [](pb::PackedOps& b) { b.mutable_records()->resize(199); }));
  EXPECT_NE(err.find("not whole records"), std::string::npos) << err;
}

// --- the pair ----------------------------------------------------------------------

// A frame from the server at `hub`'s LAN port.
std::vector<uint8_t> from_server(const Hub& hub, const Pkt6& p) { return lan_frame6(hub.router, kV6ServerMac, p); }

// A WAN frame from IPv6 waypoint `src` to `dst`.
void expect_leg(const Frame& f, const char* src, const char* dst) {
  ASSERT_EQ(f.port, kWan);
  const Ipv6View v = parse_ipv6_packet(f.raw.data(), static_cast<uint32_t>(f.raw.size()), 14);
  ASSERT_EQ(v.status, Ipv6Status::ok);
  EXPECT_EQ(v.src, ip6(src)) << "from the waypoint the session rides";
  EXPECT_EQ(v.dst, ip6(dst));
}

class HaSvr6Pair : public PairTest {
 protected:
  void SetUp() override {
    start(
        r1_config(), [](Router& r) { learn6_on(r, 0, ip6(kV6Client), kRouteClientMac); }, hub_config, true,
        [](Router& r) { learn6_on(r, 0, ip6(kV6Server), kV6ServerMac); });
  }
  std::vector<uint8_t> client(const Pkt6& p) const { return lan_frame6(*r1, kRouteClientMac, p); }
};

TEST_F(HaSvr6Pair, TheSurvivorCarriesAnIpv6SessionOverSvrBothWays) {
  ASSERT_TRUE(a->node->peer_present());
  // The connection's setup through hub-a: an IPv6 session over IPv6 waypoints.
  const auto syn = client(Pkt6().ipv6(kV6Client, kV6Server, 64).tcp(40000, 80, 0x02).payload("GET /"));
  const Frame w1 = r1->send_one(kLan, syn);
  expect_restored6(syn, a->router.send_one(kWan, w1.raw));
  const auto synack = from_server(*a, Pkt6().ipv6(kV6Server, kV6Client, 64).tcp(80, 40000, 0x12).payload("200 OK"));
  const Frame w2 = a->router.send_one(kLan, synack);
  expect_restored6(synack, r1->send_one(kWan, w2.raw));
  run();
  EXPECT_GE(b->node->status().get(C::svr6_sessions_received), 1u);
  EXPECT_EQ(b->node->status().get(C::sessions6_rejected), 0u);
  EXPECT_EQ(a->node->status().get(C::svr6_sessions_unsynced), 0u);
  EXPECT_EQ(b->router.worker().table().size(), 1u) << "hub-b holds the carrying session";
  EXPECT_GE(b->router.count(Counter::ha6_sessions_applied), 1u);
  EXPECT_EQ(b->router.worker().counters().sessions6_active.load(), 1u) << "and its Session6";
  // REST and IPFIX (the mgmt feed) learn the peer's session only once it is ours.
  std::string err;
  ASSERT_TRUE(b->shared.enable_events(EventConsumer::ipfix, 4096, SOCKET_ID_ANY, err)) << err;
  ASSERT_TRUE(b->shared.enable_events6(4096, SOCKET_ID_ANY, err)) << err;
  SessionEvent ev4;
  Session6Event ev6;
  rte_ring* ring4 = b->shared.event_ring(EventConsumer::ipfix, 0);
  rte_ring* ring6 = b->shared.event6_ring(0);
  run();
  EXPECT_NE(rte_ring_sc_dequeue_elem(ring4, &ev4, sizeof ev4), 0) << "no event for the peer's session";
  EXPECT_NE(rte_ring_sc_dequeue_elem(ring6, &ev6, sizeof ev6), 0);

  bus.leave({1, 101});  // hub-a's process dies
  a.reset();
  run(10);
  ASSERT_TRUE(b->shared.ha.holds_peer_address6(ip6(kHubAWan6), 1));
  // Both views posted as it became ours, not at its next periodic update (10 s away).
  ASSERT_EQ(rte_ring_sc_dequeue_elem(ring4, &ev4, sizeof ev4), 0);
  EXPECT_EQ(ev4.kind, SessionEventKind::update);
  EXPECT_FALSE(ev4.session.flags & kPeerSession);
  ASSERT_EQ(rte_ring_sc_dequeue_elem(ring6, &ev6, sizeof ev6), 0) << "the IPv6 view REST and IPFIX show";
  EXPECT_EQ(ev6.kind, SessionEventKind::update);
  EXPECT_EQ(ev6.session.uuid, ev4.session.uuid);
  EXPECT_EQ(ev6.session.original, (FiveTuple6{ip6(kV6Client), ip6(kV6Server), 40000, 80, kProtoTcp}));
  EXPECT_EQ(ev6.svr.role, Svr6Role::egress);
  EXPECT_NE(rte_ring_sc_dequeue_elem(ring4, &ev4, sizeof ev4), 0) << "once";

  // The client's next segment, to hub-a's IPv6 waypoint, reaches the IPv6 server through hub-b.
  const auto ack = client(Pkt6().ipv6(kV6Client, kV6Server, 64).tcp(40000, 80, 0x10).payload("more"));
  const Frame w3 = r1->send_one(kLan, ack);
  const Frame got = b->router.send_one(kWan, w3.raw);
  expect_restored6(ack, got);
  EXPECT_EQ(std::memcmp(got.dst_mac(), kV6ServerMac.data(), 6), 0);

  // The server's answer leaves hub-b from hub-a's IPv6 waypoint to r1's, restored there byte-exact.
  const auto back = from_server(*b, Pkt6().ipv6(kV6Server, kV6Client, 64).tcp(80, 40000, 0x10).payload("body"));
  const Frame w4 = b->router.send_one(kLan, back);
  expect_leg(w4, kHubAWan6, kR1Wan6);
  expect_restored6(back, r1->send_one(kWan, w4.raw));
}

// --- an offloaded session (#19; docs/ipv6.md § Offload of IPv6 sessions between IPv6 waypoints) ---------

// Both hubs with their offload manager and the NIC model.
class HaSvr6Offload : public HaSvr6Pair {
 protected:
  void SetUp() override {
    HaSvr6Pair::SetUp();
    oa.start(a->router);
    ob.start(b->router);
  }
  void TearDown() override {
    oa.stop();
    ob.stop();
  }
  void tick() {
    if (a) oa.tick(ms());
    ob.tick(ms());
  }
  uint32_t ms() const { return static_cast<uint32_t>(now); }
  offload::Offloaded oa, ob;
};

// Hub-a's NIC carries the session; its copy at hub-b stays in software (a peer's session is
// posted to no manager). After hub-a dies, with its rules, hub-b's worker makes the session
// its own, HA claims hub-a's addresses, and then (HaFollower::reoffload) hub-b's manager gets
// the session as if it had just been established: hub-b's NIC carries it both ways from hub-a's
// waypoint.
TEST_F(HaSvr6Offload, TheSurvivorOffloadsTheSessionItTookOver) {
  ASSERT_TRUE(a->node->peer_present());
  const auto syn = client(Pkt6().ipv6(kV6Client, kV6Server, 64).tcp(40000, 80, 0x02).payload("GET /"));
  expect_restored6(syn, a->router.send_one(kWan, r1->send_one(kLan, syn).raw));
  const auto synack = from_server(*a, Pkt6().ipv6(kV6Server, kV6Client, 64).tcp(80, 40000, 0x12).payload("200 OK"));
  expect_restored6(synack, r1->send_one(kWan, a->router.send_one(kLan, synack).raw));
  const auto ack = client(Pkt6().ipv6(kV6Client, kV6Server, 64).tcp(40000, 80, 0x10).payload("ack"));
  expect_restored6(ack, a->router.send_one(kWan, r1->send_one(kLan, ack).raw));
  run();
  tick();
  ASSERT_EQ(oa.mgr->sessions(), 1u) << "hub-a offloaded the established session";
  EXPECT_EQ(oa.mgr->counters().waypoint6_offloaded.load(), 1u);
  const auto seg = client(Pkt6().ipv6(kV6Client, kV6Server, 64).tcp(40000, 80, 0x10).payload("by hub-a's NIC"));
  const auto hw = oa.send(kWan, r1->send_one(kLan, seg).raw, ms());
  ASSERT_EQ(hw.size(), 1u);
  expect_restored6(seg, hw[0]);
  tick();
  run();
  EXPECT_GE(b->node->status().get(C::svr6_sessions_received), 1u);
  EXPECT_EQ(b->router.worker().counters().sessions6_active.load(), 1u) << "hub-b holds the copy";
  EXPECT_EQ(ob.mgr->counters().events6.load(), 0u) << "a peer's session is posted to no manager";
  EXPECT_EQ(ob.mgr->sessions(), 0u);

  bus.leave({1, 101});  // hub-a's process dies, its NIC's rules with it
  oa.stop();
  a.reset();
  run(10);
  tick();
  ASSERT_TRUE(b->shared.ha.holds_peer_address6(ip6(kHubAWan6), 1));

  EXPECT_EQ(b->router.count(Counter::ha_sessions_reoffloaded), 1u);
  EXPECT_EQ(ob.mgr->sessions(), 1u) << "hub-b's NIC has its rules now";
  EXPECT_EQ(ob.mgr->counters().waypoint6_offloaded.load(), 1u);

  const auto more = client(Pkt6().ipv6(kV6Client, kV6Server, 64).tcp(40000, 80, 0x10).payload("after the takeover"));
  const auto in = ob.send(kWan, r1->send_one(kLan, more).raw, ms());
  ASSERT_EQ(in.size(), 1u) << "by hub-b's NIC";
  expect_restored6(more, in[0]);
  const auto back = from_server(*b, Pkt6().ipv6(kV6Server, kV6Client, 64).tcp(80, 40000, 0x10).payload("body"));
  const auto out = ob.send(kLan, back, ms());
  ASSERT_EQ(out.size(), 1u);
  expect_leg(out[0], kHubAWan6, kR1Wan6);
  expect_restored6(back, r1->send_one(kWan, out[0].raw));
  EXPECT_TRUE(b->router.idle().empty()) << "nothing through the worker";
  EXPECT_EQ(b->router.total_drops(), 0u) << b->router.drops();
}

// --- the pair as a transit hop (#19; docs/ipv6.md § IPv6 sessions between IPv4 waypoints, **Transit**) --

constexpr const char* kR3Wan6 = "2001:db8:70::4";
constexpr Mac kR3Mac6 = {2, 0, 0, 0xaa, 0, 4};

// The pair between r1 and r3, the server behind r3: web6 points on at r3 (r2-r3's key here).
config::Config transit_hub_config(bool a) {
  config::Config c = hub_base(a);
  add_v6_tenants(c);
  add_service(c, {"web6", "2001:db8:72::/64", "tcp", "80", "r3"});
  add_policy(c, "v6", "web6", "");
  add_peer(c, "r3", {kR3Wan6}, kKey23);
  return c;
}

config::Config r3_config() {
  config::Config c = router_base("r3", "10.2.0.1/24", {{"wan0", "172.16.0.4/24"}});
  c.mutable_router()->mutable_lan()->add_ipv6_addresses("2001:db8:72::1/64");
  c.mutable_router()->mutable_wan(0)->add_ipv6_addresses("2001:db8:70::4/64");
  add_v6_tenants(c);
  add_service(c, {"web6", "2001:db8:72::/64", "tcp", "80", ""});
  add_policy(c, "v6", "web6", "");
  add_peer(c, "hub", {kHubAWan6}, kKey23);  // r3 knows the pair by hub-a's waypoint too
  return c;
}

// expect_restored6 across three routers: one more hop taken off.
void expect_restored6_3(std::vector<uint8_t> sent, const Frame& got) {
  sent[14 + 7] = static_cast<uint8_t>(sent[14 + 7] - 1);
  expect_restored6(sent, got);
}

class HaSvr6Transit : public PairTest {
 protected:
  void SetUp() override {
    start(
        r1_config(), [](Router& r) { learn6_on(r, 0, ip6(kV6Client), kRouteClientMac); }, transit_hub_config, true,
        [](Router& r) { learn6_on(r, 1, ip6(kR3Wan6), kR3Mac6); });
    r3 = std::make_unique<Router>(r3_config());
    learn6_on(*r3, 0, ip6(kV6Server), kV6ServerMac);
    learn6_on(*r3, 1, ip6(kHubAWan6), kHubAMac);
  }
  std::vector<uint8_t> client(const Pkt6& p) const { return lan_frame6(*r1, kRouteClientMac, p); }
  std::vector<uint8_t> server(const Pkt6& p) const { return lan_frame6(*r3, kV6ServerMac, p); }
  std::unique_ptr<Router> r3;
};

// Both legs and the held Session6 of a transit session reach hub-b in one record; after hub-a
// dies hub-b carries the session on both legs from hub-a's waypoint, byte-exact end to end.
TEST_F(HaSvr6Transit, TheSurvivorCarriesATransitSessionOnBothLegs) {
  ASSERT_TRUE(a->node->peer_present());
  const auto syn = client(Pkt6().ipv6(kV6Client, kV6Server, 64).tcp(40000, 80, 0x02).payload("GET /"));
  const Frame w2 = a->router.send_one(kWan, r1->send_one(kLan, syn).raw);
  expect_leg(w2, kHubAWan6, kR3Wan6);
  expect_restored6_3(syn, r3->send_one(kWan, w2.raw));
  const auto synack = server(Pkt6().ipv6(kV6Server, kV6Client, 64).tcp(80, 40000, 0x12).payload("200 OK"));
  const Frame b1 = a->router.send_one(kWan, r3->send_one(kLan, synack).raw);
  expect_leg(b1, kHubAWan6, kR1Wan6);
  expect_restored6_3(synack, r1->send_one(kWan, b1.raw));
  EXPECT_EQ(a->router.count(Counter::svr6_transit_sessions), 1u);
  run();
  EXPECT_GE(b->node->status().get(C::svr6_sessions_received), 1u) << "the transit session was synced";
  EXPECT_EQ(b->node->status().get(C::sessions6_rejected), 0u);
  EXPECT_EQ(b->router.worker().table().size(), 1u) << "hub-b holds the carrying session";
  EXPECT_EQ(b->router.worker().counters().sessions6_active.load(), 1u) << "and its held Session6";
  EXPECT_GE(b->router.count(Counter::ha6_sessions_applied), 1u);

  bus.leave({1, 101});  // hub-a's process dies
  a.reset();
  run(10);
  ASSERT_TRUE(b->shared.ha.holds_peer_address6(ip6(kHubAWan6), 1));

  // The client's next segment, to hub-a's waypoint, goes on to r3 from there through hub-b.
  const auto ack = client(Pkt6().ipv6(kV6Client, kV6Server, 64).tcp(40000, 80, 0x10).payload("more"));
  const Frame w4 = b->router.send_one(kWan, r1->send_one(kLan, ack).raw);
  expect_leg(w4, kHubAWan6, kR3Wan6);
  EXPECT_EQ(std::memcmp(w4.dst_mac(), kR3Mac6.data(), 6), 0);
  expect_restored6_3(ack, r3->send_one(kWan, w4.raw));
  // The server's answer back to r1 the same way.
  const auto back = server(Pkt6().ipv6(kV6Server, kV6Client, 64).tcp(80, 40000, 0x10).payload("body"));
  const Frame b4 = b->router.send_one(kWan, r3->send_one(kLan, back).raw);
  expect_leg(b4, kHubAWan6, kR1Wan6);
  expect_restored6_3(back, r1->send_one(kWan, b4.raw));
  EXPECT_EQ(b->router.count(Counter::svr6_transit_sessions), 0u) << "carried, not set up again";
  EXPECT_EQ(b->router.total_drops(), 0u) << b->router.drops();
}

}  // namespace
}  // namespace wp::ha
