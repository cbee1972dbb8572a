// HA of routed IPv6 sessions (#19; docs/ipv6.md § HA): the packed6 record
// (ha/packed_ops6.h), a pair of in-process hubs (real Workers and HaNodes on
// the loopback bus of ha_loop_bus.h) syncing a session a real packet made, its
// delete, a malformed body, the takeover, and the Neighbor Advertisement that
// claims an IPv6 address (control/ha_na_claim.h).
//
//   client 2001:db8:71::5 - LAN 2001:db8:71::/64 - hub-a ::1 / hub-b ::2
//     hub-a 2001:db8:70::1 / hub-b 2001:db8:70::3 - WAN - gateway 2001:db8:70::2 - server 2001:db8:72::10
#include <gtest/gtest.h>
#include <rte_ring_elem.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/session/offload_events6.h"
#include "dataplane/control/ha_na_claim.h"
#include "dataplane/session/owner.h"
#include "dataplane/worker/worker.h"
#include "ha/ha_node.h"
#include "ha/packed_ops6.h"
#include "tests/unit/ha_loop_bus.h"
#include "tests/unit/pkt6_builder.h"
#include "tests/unit/route6_test_config.h"
#include "tests/unit/svr_harness.h"

namespace wp::ha {
namespace {

using test::ip6;
using test::Pkt6;
using C = HaStatus::Counter;

const Ipv6 kHubALan = ip6("2001:db8:71::1"), kHubBLan = ip6("2001:db8:71::2");
const Ipv6 kHubAWan = ip6("2001:db8:70::1"), kHubBWan = ip6("2001:db8:70::3");

config::Config hub6_config(const char* name, const char* lan4, const char* wan4, const char* lan6, const char* wan6,
                           bool guest_first = false) {
  config::Config c = test::router_base(name, lan4, {{"wan0", wan4}});
  c.mutable_router()->mutable_lan()->add_ipv6_addresses(lan6);
  c.mutable_router()->mutable_wan(0)->add_ipv6_addresses(wan6);
  test::add_route(c, "2001:db8:72::/64", "2001:db8:70::2", "wan0");
  auto* t = c.add_tenants();
  if (guest_first) {  // another entity order on hub-b: records carry names
    t->set_name("guest6");
    t->add_ipv6_prefixes("2001:db8:71:0:1::/80");
    t = c.add_tenants();
  }
  t->set_name("v6");
  t->add_ipv6_prefixes("2001:db8:71::/80");
  test::add_service(c, {"srv6", "2001:db8:72::/64", "any", "", ""});
  test::add_policy(c, "v6", "srv6", "");
  return c;
}
config::Config hub_a6() { return hub6_config("hub-a", "10.2.0.2/24", "172.16.0.2/24", "2001:db8:71::1/64", "2001:db8:70::1/64"); }
config::Config hub_b6() {
  return hub6_config("hub-b", "10.2.0.3/24", "172.16.0.3/24", "2001:db8:71::2/64", "2001:db8:70::3/64", true);
}

Session6 client_session(uint16_t sport) {
  Session6 s;
  s.original = {ip6(test::kRouteClient), ip6(test::kRouteServer), sport, 80, 6};
  for (int i = 0; i < 16; ++i) s.uuid[i] = static_cast<uint8_t>(sport + 3 * i);
  s.flags = kReverseSeen | kFinFwd;
  s.packets[0] = 11;
  s.packets[1] = 9;
  s.bytes[0] = 1500;
  s.bytes[1] = 64000;
  s.in_use = 1;
  return s;
}

struct Models {
  Models() {
    std::string err;
    a = RouterModel::build(hub_a6(), nullptr, nullptr, hmac, err);
    b = RouterModel::build(hub_b6(), nullptr, nullptr, hmac, err);
    EXPECT_TRUE(a && b) << err;
  }
  HmacEngine hmac;
  std::shared_ptr<const RouterModel> a, b;
};

// --- the record ---------------------------------------------------------------

TEST(Ha6Packed, RecordRoundTripsByNameIntoAModelWithAnotherOrderAndItsRoutes) {
  Models m;
  ASSERT_TRUE(m.a && m.b);
  DataplaneClock clock = DataplaneClock::now();
  Session6 s = client_session(40000);
  s.tenant = static_cast<int16_t>(m.a->tenant_by_name("v6"));
  s.service = static_cast<int16_t>(m.a->service_by_name("srv6"));
  s.created_ms = clock.base_ms - 500;
  s.last_ms = clock.base_ms - 20;
  Packed6Writer w;
  w.add(PackedKind::upsert, s, *m.a, clock);
  pb::PackedOps body;
  w.write_to(body);
  EXPECT_EQ(body.records().size(), kPacked6RecordBytes);
  EXPECT_EQ(body.names_size(), 2);
  pb::PackedOps wire;
  ASSERT_TRUE(wire.ParseFromString(body.SerializeAsString()));
  Packed6Reader r;
  std::string err;
  ASSERT_TRUE(r.open(wire, err)) << err;
  ASSERT_EQ(r.size(), 1u);
  PackedKind kind;
  Session6 d;
  ASSERT_TRUE(r.decode(0, *m.b, clock, kind, d, err)) << err;
  EXPECT_EQ(kind, PackedKind::upsert);
  EXPECT_EQ(d.original, s.original);
  EXPECT_EQ(d.uuid, s.uuid);
  EXPECT_EQ(d.tenant, m.b->tenant_by_name("v6"));
  EXPECT_NE(d.tenant, s.tenant) << "indexes differ between the hubs; the name decides";
  EXPECT_EQ(d.service, m.b->service_by_name("srv6"));
  EXPECT_EQ(d.created_ms, s.created_ms);
  EXPECT_EQ(d.last_ms, s.last_ms);
  EXPECT_EQ(d.flags, s.flags | kPeer6Copy) << "a copy of the sender's own session";
  EXPECT_EQ(d.packets[0], 11u);
  EXPECT_EQ(d.packets[1], 9u);
  EXPECT_EQ(d.bytes[0], 1500u);
  EXPECT_EQ(d.bytes[1], 64000u);
  // Routed with the receiver's own table: toward the gateway on wan0, the client on the LAN.
  EXPECT_EQ(d.iface[static_cast<size_t>(Dir::forward)], 1);
  EXPECT_EQ(d.next_hop[static_cast<size_t>(Dir::forward)], ip6("2001:db8:70::2"));
  EXPECT_EQ(d.iface[static_cast<size_t>(Dir::reverse)], 0);
  EXPECT_EQ(d.next_hop[static_cast<size_t>(Dir::reverse)], ip6(test::kRouteClient));

  // A session of the receiver's that the sender carried after a takeover goes home as the receiver's own.
  w.clear();
  Session6 carried = s;
  carried.flags |= kPeer6Copy;
  w.add(PackedKind::upsert, carried, *m.a, clock);
  pb::PackedOps back;
  w.write_to(back);
  ASSERT_TRUE(r.open(back, err)) << err;
  ASSERT_TRUE(r.decode(0, *m.b, clock, kind, d, err)) << err;
  EXPECT_EQ(d.flags & kPeer6Copy, 0) << "ours again";
  // A delete needs only the tuple and the UUID.
  w.clear();
  w.add(PackedKind::remove, s, *m.a, clock);
  pb::PackedOps del;
  w.write_to(del);
  ASSERT_TRUE(r.open(del, err)) << err;
  ASSERT_TRUE(r.decode(0, *m.b, clock, kind, d, err)) << err;
  EXPECT_EQ(kind, PackedKind::remove);
  EXPECT_EQ(d.uuid, s.uuid);
  EXPECT_EQ(d.original, s.original);
}

// #19: the receiver routes a copy with FRR's IPv6 routes too (DataplaneShared::fib6), as
// route6_step routes a session made there: a longer FRR prefix wins over the config's
// static route, a blackhole is no route; without FRR's table, the config's.
TEST(Ha6Packed, RecordRoutesThroughFrrsRoutesAsASessionMadeHere) {
  Models m;
  ASSERT_TRUE(m.a && m.b);
  DataplaneClock clock = DataplaneClock::now();
  Session6 s = client_session(40100);
  s.tenant = static_cast<int16_t>(m.a->tenant_by_name("v6"));
  s.service = static_cast<int16_t>(m.a->service_by_name("srv6"));
  s.created_ms = s.last_ms = clock.base_ms;
  Packed6Writer w;
  w.add(PackedKind::upsert, s, *m.a, clock);
  pb::PackedOps body;
  w.write_to(body);
  Packed6Reader r;
  std::string err;
  ASSERT_TRUE(r.open(body, err)) << err;
  PackedKind kind;
  Session6 d;
  constexpr auto fw = static_cast<size_t>(Dir::forward), rv = static_cast<size_t>(Dir::reverse);
  const FibTable6 frr({test::frr_route("2001:db8:72::/96", 20, {{test::kLinkLocalGw, 1}})});
  ASSERT_TRUE(r.decode(0, *m.b, clock, kind, d, err, &frr)) << err;
  EXPECT_EQ(d.iface[fw], 1);
  EXPECT_EQ(d.next_hop[fw], test::kLinkLocalGw) << "FRR's longer prefix, its link-local gateway";
  EXPECT_EQ(d.iface[rv], 0);
  EXPECT_EQ(d.next_hop[rv], ip6(test::kRouteClient)) << "the connected LAN (no FRR route to it)";
  ASSERT_TRUE(r.decode(0, *m.b, clock, kind, d, err)) << err;
  EXPECT_EQ(d.next_hop[fw], ip6("2001:db8:70::2")) << "the config's static route without FRR's table";
  const FibTable6 hole({test::frr_route("2001:db8:72::/100", 1, {})});
  err.clear();
  EXPECT_FALSE(r.decode(0, *m.b, clock, kind, d, err, &hole));
  EXPECT_NE(err.find("route: none here to the server"), std::string::npos) << err;
}

TEST(Ha6Packed, BadBodiesAreRefusedAndBadRecordsRejected) {
  Models m;
  ASSERT_TRUE(m.a && m.b);
  DataplaneClock clock = DataplaneClock::now();
  Session6 s = client_session(40001);
  s.tenant = static_cast<int16_t>(m.a->tenant_by_name("v6"));
  s.service = static_cast<int16_t>(m.a->service_by_name("srv6"));
  Packed6Writer w;
  w.add(PackedKind::upsert, s, *m.a, clock);
  pb::PackedOps good;
  w.write_to(good);
  Packed6Reader r;
  std::string err;
  auto refused = [&](auto edit) {
    pb::PackedOps bad = good;
    edit(bad);
    return !r.open(bad, err);
  };
  EXPECT_TRUE(refused([](pb::PackedOps& b) { b.set_format(2); }));
  EXPECT_TRUE(refused([](pb::PackedOps& b) { b.set_record_bytes(128); })) << "an IPv4 body is no IPv6 body";
  EXPECT_TRUE(refused([](pb::PackedOps& b) { b.mutable_records()->resize(kPacked6RecordBytes - 1); })) << "truncated";
  EXPECT_TRUE(refused([](pb::PackedOps& b) { b.mutable_records()->append(7, '\xff'); })) << "trailing garbage";
  // Whole records with bad bytes: each rejected with a reason, never read past the body.
  auto rejected = [&](size_t off, uint8_t v, const RouterModel& rm) {
    pb::PackedOps bad = good;
    (*bad.mutable_records())[off] = static_cast<char>(v);
    PackedKind kind;
    Session6 d;
    err.clear();
    EXPECT_TRUE(r.open(bad, err)) << err;
    return !r.decode(0, rm, clock, kind, d, err) && !err.empty();
  };
  EXPECT_TRUE(rejected(0, 9, *m.b)) << "kind";
  EXPECT_TRUE(rejected(6, 2, *m.b)) << "home";
  EXPECT_TRUE(rejected(7, 1, *m.b)) << "reserved";
  EXPECT_TRUE(rejected(62, 1, *m.b)) << "padding";
  EXPECT_TRUE(rejected(2, 0x40, *m.b)) << "tenant name index past the name table";
  EXPECT_TRUE(rejected(60, 0, *m.b)) << "protocol 0";
  EXPECT_TRUE(rejected(24, 0xff, *m.b)) << "multicast source";
  PackedKind kind;
  Session6 d;
  EXPECT_FALSE(r.decode(1, *m.b, clock, kind, d, err)) << "no record 1";
  // A guest6 session: hub-b's policy does not allow guest6 -> srv6 (zero trust across the pair).
  pb::PackedOps guest = good;
  ASSERT_TRUE(r.open(guest, err));
  guest.set_names(0, "guest6");
  ASSERT_TRUE(r.open(guest, err));
  EXPECT_FALSE(r.decode(0, *m.b, clock, kind, d, err));
  EXPECT_NE(err.find("policy"), std::string::npos) << err;
  guest.set_names(0, "nobody");
  ASSERT_TRUE(r.open(guest, err));
  EXPECT_FALSE(r.decode(0, *m.b, clock, kind, d, err));
  EXPECT_NE(err.find("not configured"), std::string::npos) << err;
}

// --- the pair ----------------------------------------------------------------------

using loopback::Bus;
using loopback::LoopTransport;

// One hub routing IPv6, with HA rings for both families.
struct Hub6 {
  Hub6(Bus& bus, const config::Config& cfg, uint32_t workers, uint32_t node_id, Ipv6 peer_lan, Ipv6 peer_wan)
      : node_id(node_id),
        router(cfg, test::RouterOptions()
                        .with_workers(workers)
                        .with_events(EventConsumer::ha, 4096)
                        .with_prepare([&](DataplaneShared& sh) {
                          sh.ha.peer_addresses6.push_back({peer_lan, 0});
                          sh.ha.peer_addresses6.push_back({peer_wan, 1});
                          std::string err;
                          if (!sh.ha.create(workers, 4096, SOCKET_ID_ANY, err) ||
                              !sh.ha.create6(workers, 1024, SOCKET_ID_ANY, err))
                            throw std::runtime_error(err);
                        })),
        shared(router.shared()) {
    Neighbor6Table& n6 = shared.neighbors6;
    n6.begin(1, test::kGateway6, 0);
    n6.advert(1, test::kGateway6, test::kGateway6Mac.data(), kNaSolicited | kNaOverride, 0);
    n6.begin(0, ip6(test::kRouteClient), 0);
    n6.advert(0, ip6(test::kRouteClient), test::kRouteClientMac.data(), kNaSolicited | kNaOverride, 0);
    HaSettings s;
    s.node_id = node_id;
    s.limits.max_ops = 8;
    node = std::make_unique<HaNode>(shared, s, [this, &bus](std::string&) -> std::unique_ptr<Transport> {
      return std::make_unique<LoopTransport>(bus, Member{this->node_id, 100 + this->node_id});
    });
  }
  void step(uint64_t now_ms) {
    for (size_t i = 0; i < router.workers(); ++i) {
      router.worker(i).set_now_ms(static_cast<uint32_t>(now_ms));
      router.worker(i).ha().poll();
    }
    node->poll(now_ms);
  }
  uint32_t owner_of(const FiveTuple6& t) const {
    return owner_of_class(affinity_class6(t), static_cast<uint32_t>(router.workers()));
  }
  const Session6* find(const FiveTuple6& t, size_t worker) {
    const SessionTable6* table = router.worker(worker).route6().table();
    if (!table) return nullptr;
    Session6Ref r = table->lookup(t);
    return r ? r.session : nullptr;
  }
  uint64_t count(Counter c) {
    uint64_t n = 0;
    for (size_t i = 0; i < router.workers(); ++i) n += router.worker(i).counters().get(c);
    return n;
  }
  uint32_t node_id;
  test::Router router;
  DataplaneShared& shared;
  std::unique_ptr<HaNode> node;
};

// What a worker posted on `ring` (elements of type T).
template <class T>
std::vector<T> drain_ring(rte_ring* ring) {
  std::vector<T> out;
  T ev;
  while (rte_ring_sc_dequeue_elem(ring, &ev, sizeof ev) == 0) out.push_back(ev);
  return out;
}

class Ha6Pair : public ::testing::Test {
 protected:
  void SetUp() override {
    a = std::make_unique<Hub6>(bus, hub_a6(), 1, 1, kHubBLan, kHubBWan);
    b = std::make_unique<Hub6>(bus, hub_b6(), 2, 2, kHubALan, kHubAWan);
    run(30);
  }
  void run(int steps = 20) {
    for (int i = 0; i < steps; ++i) {
      now += 2;
      if (a) a->step(now);
      b->step(now);
    }
  }
  // A TCP connection's SYN and SYN-ACK through hub-a: a routed IPv6 session there.
  FiveTuple6 connect_through_a(uint16_t sport) {
    a->router.worker(0).set_now_ms(static_cast<uint32_t>(now));
    a->router.send_one(test::kLan, test::from_lan(a->router, Pkt6().ipv6(test::kRouteClient, test::kRouteServer).tcp(sport, 80, kTcpSyn)));
    a->router.send_one(test::kWan, test::from_wan(a->router, Pkt6().ipv6(test::kRouteServer, test::kRouteClient).tcp(80, sport, kTcpSyn | kTcpAck)));
    return {ip6(test::kRouteClient), ip6(test::kRouteServer), sport, 80, 6};
  }
  Bus bus;
  uint64_t now = 1'000'000;
  std::unique_ptr<Hub6> a, b;
};

TEST_F(Ha6Pair, ARoutedSessionReachesThePeersOwnerAsACopyAndItsDeleteFollows) {
  ASSERT_TRUE(a->node->peer_present());
  const FiveTuple6 t = connect_through_a(41000);
  const Session6* mine = a->find(t, 0);
  ASSERT_NE(mine, nullptr);
  run();
  const uint32_t owner = b->owner_of(t);
  const Session6* copy = b->find(t, owner);  // by affinity_class6 over hub-b's 2 workers
  ASSERT_NE(copy, nullptr);
  EXPECT_EQ(b->find(t, 1 - owner), nullptr) << "only the owner holds it";
  EXPECT_EQ(copy->uuid, mine->uuid);
  EXPECT_TRUE(copy->flags & kPeerSession) << "hub-a ages it";
  EXPECT_TRUE(copy->flags & kPeer6Copy);
  EXPECT_TRUE(copy->flags & kReverseSeen) << "the established update came too";
  EXPECT_NE(b->find(t.reversed(), owner), nullptr) << "indexed both ways";
  EXPECT_GE(b->node->status().get(C::sessions6_received), 2u) << "created, established";
  EXPECT_GE(b->count(Counter::ha6_sessions_applied), 2u);
  EXPECT_EQ(b->node->status().get(C::sessions6_rejected), 0u);
  EXPECT_EQ(a->count(Counter::ha6_events_dropped), 0u);

  // hub-b's aging leaves the peer's copy alone, however idle it looks here.
  b->router.worker(owner).set_now_ms(static_cast<uint32_t>(now + 3'600'000));
  b->router.worker(owner).poll_once();
  EXPECT_NE(b->find(t, owner), nullptr);

  // The connection ends on hub-a (RST, then its aging): the delete reaches hub-b.
  a->router.send_one(test::kLan, test::from_lan(a->router, Pkt6().ipv6(test::kRouteClient, test::kRouteServer).tcp(41000, 80, kTcpRst)));
  a->router.worker(0).set_now_ms(static_cast<uint32_t>(now + 600'000));
  for (int i = 0; i < 64 && a->find(t, 0); ++i) a->router.idle();
  ASSERT_EQ(a->find(t, 0), nullptr) << "hub-a expired it";
  run();
  EXPECT_EQ(b->find(t, owner), nullptr);
  EXPECT_EQ(b->count(Counter::ha6_sessions_removed), 1u);
}

TEST_F(Ha6Pair, AMalformedPacked6BodyIsRefusedAndCountedAndAGoodOneApplied) {
  Models m;
  DataplaneClock clock = DataplaneClock::now();
  Session6 s = client_session(42000);
  s.tenant = static_cast<int16_t>(m.a->tenant_by_name("v6"));
  s.service = static_cast<int16_t>(m.a->service_by_name("srv6"));
  s.created_ms = s.last_ms = clock.base_ms;
  Packed6Writer w;
  w.add(PackedKind::upsert, s, *m.a, clock);
  pb::HaMessage msg;
  w.write_to(*msg.mutable_batch()->mutable_packed6());
  msg.set_protocol(kHaProtocol);
  msg.set_node_id(1);
  msg.set_incarnation(UINT64_MAX / 2);
  msg.set_seq(1);
  msg.mutable_batch()->mutable_packed6()->mutable_records()->resize(kPacked6RecordBytes + 3);
  std::string cut = msg.SerializeAsString();
  b->node->on_message({1, 101}, cut.data(), cut.size());
  EXPECT_EQ(b->node->status().get(C::packed6_bad), 1u);
  // A whole body with one garbage record beside a good one: the bad one rejected, the good one applied.
  msg.clear_batch();
  w.add(PackedKind::upsert, client_session(42001), *m.a, clock);  // no tenant or service: rejected
  w.write_to(*msg.mutable_batch()->mutable_packed6());
  msg.set_seq(2);
  std::string two = msg.SerializeAsString();
  b->node->on_message({1, 101}, two.data(), two.size());
  run();
  EXPECT_EQ(b->node->status().get(C::sessions6_rejected), 1u);
  EXPECT_EQ(b->node->status().get(C::sessions6_received), 1u);
  EXPECT_NE(b->find(s.original, b->owner_of(s.original)), nullptr);
}

TEST_F(Ha6Pair, TheSurvivorCarriesThePeersIPv6SessionsAndHoldsItsAddresses) {
  const FiveTuple6 t = connect_through_a(43000);
  run();
  const uint32_t owner = b->owner_of(t);
  ASSERT_NE(b->find(t, owner), nullptr);
  EXPECT_FALSE(b->shared.ha.holds_peer_address6(kHubALan, 0));
  const uint32_t announced = b->shared.ha.announce_gen.load();
  // REST and IPFIX (the mgmt feed) learn the peer's copy only once it is ours.
  std::string err;
  ASSERT_TRUE(b->shared.enable_events(EventConsumer::ipfix, 4096, SOCKET_ID_ANY, err)) << err;
  ASSERT_TRUE(b->shared.enable_events6(4096, SOCKET_ID_ANY, err)) << err;
  auto drain6 = [&] { return drain_ring<Session6Event>(b->shared.event6_ring(owner)); };
  run();
  EXPECT_TRUE(drain6().empty()) << "no event for the peer's copy";

  const uint64_t left_at = now;
  bus.leave({1, 101});  // hub-a's process dies
  a.reset();
  run(10);
  EXPECT_TRUE(b->shared.ha.holds_peer_address6(kHubALan, 0));
  EXPECT_TRUE(b->shared.ha.holds_peer_address6(kHubAWan, 1));
  EXPECT_FALSE(b->shared.ha.holds_peer_address6(kHubAWan, 0)) << "on its own link only";
  EXPECT_EQ(b->shared.ha.announce_gen.load(), announced + 1) << "one claim round (ARP and NA) for the takeover";
  const Session6* s = b->find(t, owner);
  ASSERT_NE(s, nullptr);
  EXPECT_FALSE(s->flags & kPeerSession) << "now ours to age";
  EXPECT_TRUE(s->flags & kPeer6Copy) << "still the peer's to give back";
  // Posted to the mgmt feed as it became ours, not at its next periodic update (10 s away).
  const std::vector<Session6Event> taken = drain6();
  ASSERT_EQ(taken.size(), 1u);
  EXPECT_EQ(taken[0].kind, SessionEventKind::update);
  EXPECT_EQ(taken[0].session.uuid, s->uuid);
  EXPECT_EQ(taken[0].session.original, t);
  EXPECT_EQ(taken[0].svr.role, Svr6Role::none) << "routed";
  EXPECT_GT(s->updated_ms, static_cast<uint32_t>(left_at)) << "the periodic clock restarts at the takeover";
  SessionEvent ev4;
  EXPECT_NE(rte_ring_sc_dequeue_elem(b->shared.event_ring(EventConsumer::ipfix, owner), &ev4, sizeof ev4), 0)
      << "nothing on the IPv4 ring for a routed IPv6 session";

  // The client's next segment, now sent to hub-b's MAC, leaves toward the server.
  auto frame = test::from_lan(b->router, Pkt6().ipv6(test::kRouteClient, test::kRouteServer).tcp(43000, 80, kTcpAck).payload("more"));
  rte_mbuf* m = test::Pkt::to_mbuf(test::test_pool(), frame, 0);
  Worker& w = b->router.worker(owner);
  w.receive(&m, 1);
  w.flush();
  ASSERT_EQ(b->router.transmitted().size(), 1u) << b->router.drops();
  const std::vector<uint8_t>& out = b->router.transmitted()[0].raw;
  EXPECT_EQ(std::memcmp(out.data(), test::kGateway6Mac.data(), 6), 0) << "to the gateway";
  EXPECT_EQ(s->packets[static_cast<size_t>(Dir::forward)], 2u) << "the synced counters went on";
}

// A hand-back that finds the mgmt feed's IPv6 ring without room waits for it, as IPv4's
// (HaFollowerSweep.AHandBackWaitsForRoomOnTheMgmtFeedThenGoesOnCounted): REST would list the
// session until the process ends. Past AnnounceWait::kWaitMs it goes on, counted.
TEST_F(Ha6Pair, AHandBackWaitsForRoomOnTheMgmtFeedsIpv6Ring) {
  const FiveTuple6 t = connect_through_a(43100);
  run();
  const uint32_t owner = b->owner_of(t);
  std::string err;
  ASSERT_TRUE(b->shared.enable_events(EventConsumer::ipfix, 64, SOCKET_ID_ANY, err)) << err;
  ASSERT_TRUE(b->shared.enable_events6(64, SOCKET_ID_ANY, err)) << err;
  rte_ring* ring6 = b->shared.event6_ring(owner);
  auto drain6 = [&] { return drain_ring<Session6Event>(ring6); };
  auto fill6 = [&] {
    Session6Event filler{};
    filler.kind = SessionEventKind::update;
    while (announce_room(ring6)) ASSERT_EQ(rte_ring_sp_enqueue_elem(ring6, &filler, sizeof filler), 0);
  };
  bus.leave({1, 101});
  a.reset();
  run(10);
  const Session6* s = b->find(t, owner);
  ASSERT_NE(s, nullptr);
  ASSERT_FALSE(s->flags & kPeerSession);
  drain6();

  Worker& w = b->router.worker(owner);
  HaDataplane& ha = b->shared.ha;
  auto sweep = [&] {  // past the IPv4 table (HaFollower::kSlice a poll) to the IPv6 one
    for (int i = 0; i < 16; ++i) w.ha().poll();
  };
  fill6();
  ha.adopt_peer.store(false);  // the peer is back and takes its sessions
  ha.ownership_gen.fetch_add(1);
  w.set_now_ms(2'000'000);
  sweep();
  EXPECT_FALSE(s->flags & kPeerSession) << "waits for room to say so";
  drain6();  // the mgmt thread reads
  sweep();
  EXPECT_TRUE(s->flags & kPeerSession);
  std::vector<Session6Event> got = drain6();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].kind, SessionEventKind::closed);
  EXPECT_EQ(got[0].reason, SessionEndReason::handed_over);
  EXPECT_EQ(got[0].session.uuid, s->uuid);

  // Taken over and handed back again, with a mgmt thread that stopped reading.
  ha.adopt_peer.store(true);
  ha.ownership_gen.fetch_add(1);
  sweep();
  ASSERT_FALSE(s->flags & kPeerSession);
  drain6();
  fill6();
  ha.adopt_peer.store(false);
  ha.ownership_gen.fetch_add(1);
  sweep();
  EXPECT_FALSE(s->flags & kPeerSession);
  EXPECT_EQ(w.counters().get(Counter::ha_announce_skipped), 0u);
  w.set_now_ms(2'000'000 + AnnounceWait::kWaitMs);
  sweep();
  EXPECT_TRUE(s->flags & kPeerSession) << "the wait is bounded";
  EXPECT_EQ(w.counters().get(Counter::ha_announce_skipped), 1u);
}

// After the takeover's sweep the survivor's offload manager gets the routed sessions it took
// over that are established (HaFollower6::reoffload), as if just established; at the hand-back
// their rules go (`closed`, handed_over).
TEST_F(Ha6Pair, TheSurvivorOffloadsTheRoutedSessionsItTookOverAndDropsTheirRulesAtTheHandBack) {
  const FiveTuple6 t = connect_through_a(43200);  // SYN and SYN-ACK: established
  run();
  const uint32_t owner = b->owner_of(t);
  std::string err;
  const uint8_t kinds = kAllEventKinds & ~event_bit(SessionEventKind::created);  // as OffloadManager::init
  ASSERT_TRUE(b->shared.enable_events(EventConsumer::offload, 64, SOCKET_ID_ANY, err, kinds)) << err;
  ASSERT_TRUE(b->shared.enable_offload_events6(64, SOCKET_ID_ANY, err)) << err;
  rte_ring* ring6 = b->shared.offload_event6_ring(owner);
  auto drain6 = [&] { return drain_ring<Offload6Event>(ring6); };
  run();
  EXPECT_TRUE(drain6().empty()) << "the peer's: its NIC has it";

  bus.leave({1, 101});
  a.reset();
  run(10);
  const Session6* s = b->find(t, owner);
  ASSERT_NE(s, nullptr);
  ASSERT_FALSE(s->flags & kPeerSession);
  std::vector<Offload6Event> got = drain6();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].ev.kind, SessionEventKind::established);
  EXPECT_EQ(got[0].ev.session.uuid, s->uuid);
  EXPECT_EQ(got[0].ev.session.original, t);
  EXPECT_EQ(b->count(Counter::ha_sessions_reoffloaded), 1u);
  run();
  EXPECT_TRUE(drain6().empty()) << "once";

  Worker& w = b->router.worker(owner);
  b->shared.ha.adopt_peer.store(false);  // the peer is back and takes its sessions
  b->shared.ha.ownership_gen.fetch_add(1);
  for (int i = 0; i < 16; ++i) w.ha().poll();  // past the IPv4 table to the IPv6 one
  EXPECT_TRUE(s->flags & kPeerSession);
  got = drain6();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].ev.kind, SessionEventKind::closed);
  EXPECT_EQ(got[0].ev.reason, SessionEndReason::handed_over);
}

// --- the claim ---------------------------------------------------------------------

TEST(HaNaClaim, IsAnUnsolicitedOverrideAdvertToAllNodesFromTheClaimedAddress) {
  const uint8_t mac[6] = {0x02, 0x00, 0x00, 0x00, 0x0b, 0x02};
  const Ipv6 target = ip6("2001:db8:71::1");
  uint8_t f[kNdFrameLen] = {};
  ASSERT_EQ(write_ha_na_claim(f, mac, target), kNdFrameLen);
  const uint8_t eth[14] = {0x33, 0x33, 0, 0, 0, 1, 0x02, 0, 0, 0, 0x0b, 0x02, 0x86, 0xdd};
  EXPECT_EQ(std::memcmp(f, eth, 14), 0) << "all-nodes MAC, from ours, IPv6";
  const uint8_t* ip = f + 14;
  EXPECT_EQ(ip[0] >> 4, 6);
  EXPECT_EQ(ip[4] << 8 | ip[5], 32) << "NA 24 + one option 8";
  EXPECT_EQ(ip[6], 58) << "ICMPv6";
  EXPECT_EQ(ip[7], 255) << "hop limit 255 (RFC 4861 § 7.1.2)";
  EXPECT_EQ(load_ipv6(ip + 8), target) << "from the claimed address";
  EXPECT_EQ(load_ipv6(ip + 24), ip6("ff02::1"));
  const uint8_t* na = ip + 40;
  EXPECT_EQ(na[0], 136);
  EXPECT_EQ(na[1], 0);
  EXPECT_EQ(na[4], 0xa0) << "Router and Override, not Solicited";
  EXPECT_EQ(na[5] | na[6] | na[7], 0);
  EXPECT_EQ(load_ipv6(na + 8), target);
  const uint8_t opt[8] = {2, 1, 0x02, 0x00, 0x00, 0x00, 0x0b, 0x02};
  EXPECT_EQ(std::memcmp(na + 24, opt, 8), 0) << "target link-layer address: ours";
  EXPECT_EQ(icmpv6_checksum(target, ip6("ff02::1"), na, 32), 0) << "checksum verifies";
}

}  // namespace
}  // namespace wp::ha
