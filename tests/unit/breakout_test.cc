// Internet breakout with source NAT (docs/operations.md § Breakout): the
// per-worker port pools under the owner rule, exhaustion and reuse, and whole
// sessions through real workers: TCP, UDP and ICMP echo out of the WAN with
// the source translated, replies restored to the client, checksums checked
// by a full recompute here (the dataplane updates them incrementally).
//
//   client 10.1.0.5 - [r1] 172.16.0.1 (wan0) -- gateway 172.16.0.254 -- internet 198.51.100.10
#include <gtest/gtest.h>

#include <random>
#include <map>
#include <set>
#include <vector>

#include "dataplane/ip/packet_edit.h"
#include "dataplane/session/nat_ports.h"
#include "dataplane/session/owner.h"
#include "mgmt/config_load.h"
#include "mgmt/session_feed.h"
#include "tests/unit/svr_harness.h"

namespace wp {
namespace {

using namespace test;

const Ipv4 kInternet = ip("198.51.100.10");
const Ipv4 kGateway = ip("172.16.0.254");
const Ipv4 kGuest = ip("10.1.0.200");
constexpr Mac kGatewayMac = {2, 0, 0, 0, 0xfe, 1};
constexpr uint32_t kRangePorts = kWaypointPortMax - kWaypointPortMin + 1;

// `address`: the breakout address ("" = wan0's own).
config::Config breakout_config(const char* address = "") {
  config::Config c = router_base("r1", "10.1.0.1/24", {{"wan0", "172.16.0.1/24"}});
  add_tenant(c, "branch", "10.1.0.0/25");
  add_tenant(c, "guest", "10.1.0.128/25");
  add_route(c, "0.0.0.0/0", "172.16.0.254", "wan0");
  config::Service* s = add_service(c, {"internet", "0.0.0.0/0", "any", "", ""});
  s->mutable_breakout()->set_interface("wan0");
  s->mutable_breakout()->set_address(address);
  add_policy(c, "branch", "internet", "");  // none for guest: denied
  return c;
}

std::unique_ptr<Router> make_router(RouterOptions opts = {}, const char* address = "") {
  auto r = std::make_unique<Router>(breakout_config(address), std::move(opts));
  r->neighbor(0, kClient, kClientMac);
  r->neighbor(0, kGuest, kClientMac);
  r->neighbor(1, kGateway, kGatewayMac);
  return r;
}

bool icmp_checksum_ok(const Frame& f) { return ones_fold(ones_sum(f.l4(), f.l4_len())) == 0xffff; }

// --- configuration --------------------------------------------------------------

bool has_error(const config::Config& c, const std::string& path, const std::string& text) {
  for (const auto& e : mgmt::validate_config(c))
    if (e.path == path && e.message.find(text) != std::string::npos) return true;
  return false;
}

TEST(BreakoutConfig, ValidatedWithPaths) {
  EXPECT_TRUE(mgmt::validate_config(breakout_config()).empty());
  EXPECT_TRUE(mgmt::validate_config(breakout_config("172.16.0.9")).empty());
  auto with = [](auto edit) {
    config::Config c = breakout_config();
    edit(*c.mutable_services(0));
    return c;
  };
  EXPECT_TRUE(has_error(with([](config::Service& s) { s.mutable_breakout()->set_interface("lan"); }),
                        "services[0].breakout.interface", "\"lan\" is not a WAN interface name"));
  EXPECT_TRUE(has_error(with([](config::Service& s) { s.mutable_breakout()->clear_interface(); }),
                        "services[0].breakout.interface", "required"));
  EXPECT_TRUE(has_error(with([](config::Service& s) { s.mutable_breakout()->set_address("172.17.0.9"); }),
                        "services[0].breakout.address", "not in wan0's subnet"));
  EXPECT_TRUE(has_error(with([](config::Service& s) { s.mutable_breakout()->set_address("172.16.0.255"); }),
                        "services[0].breakout.address", "broadcast"));
  EXPECT_TRUE(has_error(with([](config::Service& s) { s.mutable_breakout()->set_address("172.16.0"); }),
                        "services[0].breakout.address", "not an IPv4 address"));
  EXPECT_TRUE(
      has_error(with([](config::Service& s) { s.set_next_peer("r2"); }), "services[0].breakout", "not to a peer"));
}

// --- the port pools ---------------------------------------------------------

TEST(NatPorts, EachWorkerOwnsTheClassesOfItsPorts) {
  for (uint32_t workers : {1u, 2u, 3u, 4u, 6u, 64u}) {
    std::set<uint16_t> all;
    for (uint32_t w = 0; w < workers; ++w) {
      NatPorts pool(w, workers);
      for (uint32_t i = 0; i < pool.capacity(); ++i) {
        uint16_t p = pool.take(kProtoUdp);
        ASSERT_TRUE(is_waypoint_port(p));
        // A reply to this port dispatches (worker.cc owner_of) to worker w.
        ASSERT_EQ(owner_of_class(class_of_port(p), workers), w) << p << " of " << workers;
        ASSERT_TRUE(all.insert(p).second) << p << " given to two workers, or twice in one rotation";
      }
      EXPECT_EQ(pool.available(kProtoUdp), 0u);
    }
    EXPECT_EQ(all.size(), kRangePorts) << workers << " workers";
  }
}

TEST(NatPorts, RotationSharesPortsBetweenRemoteEnds) {
  NatPorts pool(0, 64);  // class 0 only: 768 ports
  const uint32_t cap = pool.capacity();
  ASSERT_EQ(cap, 768u);
  std::vector<uint16_t> taken;
  for (uint32_t i = 0; i < cap; ++i) taken.push_back(pool.take(kProtoTcp));
  EXPECT_EQ(pool.available(kProtoTcp), 0u);
  EXPECT_EQ(pool.available(kProtoUdp), cap) << "protocols have pools of their own";
  // Every port in use once: the rotation comes round and shares them.
  EXPECT_EQ(pool.take(kProtoTcp), taken[0]);
  EXPECT_EQ(pool.uses(kProtoTcp, taken[0]), 2u);
  pool.give(kProtoTcp, taken[0]);
  pool.give(kProtoTcp, taken[0]);
  pool.give(kProtoTcp, taken[0]);  // a third time: ignored, the count stays at 0
  pool.give(kProtoTcp, 3);         // not ours: ignored
  EXPECT_EQ(pool.uses(kProtoTcp, taken[0]), 0u);
  EXPECT_EQ(pool.available(kProtoTcp), 1u);
  // A freed port comes back only when the rotation reaches it again.
  NatPorts fifo(0, 1);
  uint16_t first = fifo.take(kProtoUdp);
  fifo.give(kProtoUdp, first);
  EXPECT_NE(fifo.take(kProtoUdp), first);
  EXPECT_EQ(fifo.take(kProtoIcmp), kWaypointPortMin);
  EXPECT_EQ(fifo.take(47), 0) << "GRE is not translated";
}

// --- checksums: incremental vs a full recompute -------------------------------

TEST(BreakoutChecksum, IcmpEchoRewriteMatchesFullRecompute) {
  std::mt19937 rng(7);
  rte_mempool* pool = test_pool();
  for (int i = 0; i < 200; ++i) {
    std::string data(rng() % 64, '\0');
    for (char& ch : data) ch = static_cast<char>(rng());
    auto id = static_cast<uint16_t>(rng()), to_id = static_cast<uint16_t>(rng());
    auto raw = Pkt().ipv4(kClient, kInternet).icmp_echo(id, static_cast<uint16_t>(rng())).payload(data).bytes();
    rte_mbuf* m = Pkt::to_mbuf(pool, raw, 0);
    ASSERT_NE(m, nullptr);
    ParsedPacket pp = parse_packet(pkt_data(m), m->data_len);
    ASSERT_EQ(pp.sport, id);
    rewrite_tuple(m, pp, {ip("172.16.0.1"), kInternet, to_id, to_id, kProtoIcmp});
    Frame f = frame_of(m);
    rte_pktmbuf_free(m);
    EXPECT_EQ(get16(f.l4() + 4), to_id);
    EXPECT_EQ(f.src(), ip("172.16.0.1"));
    EXPECT_TRUE(f.ip_checksum_ok());
    EXPECT_TRUE(icmp_checksum_ok(f)) << "id " << id << " -> " << to_id;
  }
}

// --- sessions through a worker -----------------------------------------------

TEST(Breakout, TcpLeavesFromTheWanAddressAndRepliesAreRestored) {
  auto r = make_router();
  auto syn = Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, kInternet).tcp(40000, 443, kTcpSyn).payload("hello").bytes();
  Frame out = r->send_one(kLan, syn);
  EXPECT_EQ(out.port, kWan);
  EXPECT_EQ(out.src(), kR1Wan);
  EXPECT_EQ(out.dst(), kInternet);
  EXPECT_EQ(out.dport(), 443);
  EXPECT_TRUE(is_waypoint_port(out.sport()));
  EXPECT_EQ(std::vector<uint8_t>(out.dst_mac(), out.dst_mac() + 6),
            std::vector<uint8_t>(kGatewayMac.begin(), kGatewayMac.end()));
  EXPECT_EQ(out.ttl(), 63);
  EXPECT_EQ(out.payload_string(), "hello");
  expect_valid(out);
  EXPECT_EQ(r->count(Counter::breakout_sessions_created), 1u);

  // The same flow again: the same translation (the session, not a new one).
  Frame again = r->send_one(kLan, Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, kInternet).tcp(40000, 443).bytes());
  EXPECT_EQ(again.sport(), out.sport());
  EXPECT_EQ(r->count(Counter::sessions_created), 1u);

  auto reply = Pkt()
                   .eth(kR1Mac, kGatewayMac)
                   .ipv4(kInternet, kR1Wan)
                   .tcp(443, out.sport(), kTcpSyn | kTcpAck)
                   .payload("world")
                   .bytes();
  Frame back = r->send_one(kWan, reply);
  EXPECT_EQ(back.port, kLan);
  EXPECT_EQ(back.src(), kInternet);
  EXPECT_EQ(back.dst(), kClient);
  EXPECT_EQ(back.sport(), 443);
  EXPECT_EQ(back.dport(), 40000);
  EXPECT_EQ(back.payload_string(), "world");
  expect_valid(back);

  // A reply to a port no session holds is dropped, counted.
  auto stray = Pkt().eth(kR1Mac, kGatewayMac).ipv4(kInternet, kR1Wan).tcp(443, out.sport() ^ 2, kTcpAck).bytes();
  EXPECT_TRUE(r->send(kWan, stray).empty());
  EXPECT_EQ(r->drop_count(DropReason::no_session), 1u);
}

TEST(Breakout, UdpWithAndWithoutChecksumAndAConfiguredAddress) {
  auto r = make_router({}, "172.16.0.9");
  Frame out =
      r->send_one(kLan, Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, kInternet).udp(5000, 53).payload("q").bytes());
  EXPECT_EQ(out.src(), ip("172.16.0.9"));
  expect_valid(out);
  Frame bare = r->send_one(
      kLan,
      Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, kInternet).udp(5001, 53).no_udp_checksum().payload("q").bytes());
  EXPECT_EQ(get16(bare.l4() + 6), 0) << "no checksum stays none";
  // The configured address is ours: replies to it are taken, ARP for it answered (model).
  EXPECT_NE(r->model().own_address_iface(ip("172.16.0.9")), kNone);
  Frame back = r->send_one(
      kWan, Pkt().eth(kR1Mac, kGatewayMac).ipv4(kInternet, ip("172.16.0.9")).udp(53, out.sport()).payload("a").bytes());
  EXPECT_EQ(back.dst(), kClient);
  EXPECT_EQ(back.dport(), 5000);
  expect_valid(back);
}

// Internet data that begins with the SVR cookie is data: no peer signed it.
TEST(Breakout, ReplyDataStartingWithTheCookieIsDelivered) {
  auto r = make_router();
  Frame out =
      r->send_one(kLan, Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, kInternet).udp(5000, 443).payload("q").bytes());
  std::vector<uint8_t> data = unhex("4c48dbc6ddf6670c0102030405060708090a0b0c0d0e0f10");
  Frame back = r->send_one(
      kWan, Pkt().eth(kR1Mac, kGatewayMac).ipv4(kInternet, kR1Wan).udp(443, out.sport()).payload(data).bytes());
  EXPECT_EQ(back.dst(), kClient);
  EXPECT_EQ(back.payload(), data);
  expect_valid(back);
}

TEST(Breakout, IcmpEchoIdentifierIsTranslated) {
  auto r = make_router();
  auto ping = Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, kInternet).icmp_echo(0x4242, 1).payload("ping!").bytes();
  Frame out = r->send_one(kLan, ping);
  EXPECT_EQ(out.proto(), kProtoIcmp);
  EXPECT_EQ(out.src(), kR1Wan);
  const uint16_t nat_id = get16(out.l4() + 4);
  EXPECT_TRUE(is_waypoint_port(nat_id));
  EXPECT_TRUE(out.ip_checksum_ok());
  EXPECT_TRUE(icmp_checksum_ok(out));
  auto pong = Pkt().eth(kR1Mac, kGatewayMac).ipv4(kInternet, kR1Wan).icmp_echo(nat_id, 1, 0).payload("ping!").bytes();
  Frame back = r->send_one(kWan, pong);
  EXPECT_EQ(back.dst(), kClient);
  EXPECT_EQ(back.l4()[0], 0);
  EXPECT_EQ(get16(back.l4() + 4), 0x4242);
  EXPECT_TRUE(back.ip_checksum_ok());
  EXPECT_TRUE(icmp_checksum_ok(back));
  // An echo request to our WAN address is still the control thread's to answer.
  r->send(kWan, Pkt().eth(kR1Mac, kGatewayMac).ipv4(kInternet, kR1Wan).icmp_echo(nat_id, 2, 8).bytes());
  EXPECT_EQ(r->count(Counter::to_control), 1u);
}

std::vector<SessionEvent> drain_ipfix(Router& r) {
  std::vector<SessionEvent> out;
  SessionEvent ev;
  while (rte_ring_sc_dequeue_elem(r.shared().event_ring(EventConsumer::ipfix, 0), &ev, sizeof(ev)) == 0)
    out.push_back(ev);
  return out;
}

// IPFIX carries the translation as postNAT fields; aging gives the port back.
TEST(Breakout, IpfixShowsThePostNatTupleAndAgingFreesThePort) {
  auto r = make_router(RouterOptions().with_events(EventConsumer::ipfix, 64));
  r->worker().set_now_ms(1000);
  const uint32_t free_before = r->worker().nat_ports().available(kProtoUdp);
  Frame out =
      r->send_one(kLan, Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, kInternet).udp(5000, 53).payload("q").bytes());
  EXPECT_EQ(r->worker().nat_ports().available(kProtoUdp), free_before - 1);
  auto ev = drain_ipfix(*r);
  ASSERT_EQ(ev.size(), 1u);
  DataplaneClock clock{1000, 1700000000000};
  mgmt::IpfixRecord rec = mgmt::ipfix_record(ev[0], r->model(), clock);
  EXPECT_EQ(rec.pre, (FiveTuple{kClient, kInternet, 5000, 53, kProtoUdp}));
  EXPECT_EQ(rec.post, (FiveTuple{kR1Wan, kInternet, out.sport(), 53, kProtoUdp}));
  EXPECT_EQ(rec.egress_if, 2u);          // wan0
  r->worker().set_now_ms(1000 + 61000);  // past the 60 s UDP timeout
  EXPECT_EQ(r->worker().expire(1024), 1u);
  EXPECT_EQ(r->worker().nat_ports().available(kProtoUdp), free_before);
  ev = drain_ipfix(*r);
  ASSERT_FALSE(ev.empty());
  EXPECT_EQ(ev.back().kind, SessionEventKind::closed);
}

TEST(Breakout, GuestTenantIsDeniedByDefault) {
  auto r = make_router();
  EXPECT_TRUE(
      r->send(kLan, Pkt().eth(kR1Mac, kClientMac).ipv4(kGuest, kInternet).tcp(40000, 80, kTcpSyn).bytes()).empty());
  EXPECT_EQ(r->drop_count(DropReason::policy_deny), 1u);
  EXPECT_TRUE(r->send(kLan, Pkt().eth(kR1Mac, kClientMac).ipv4(kGuest, kInternet).icmp_echo(1, 1).bytes()).empty());
  EXPECT_EQ(r->drop_count(DropReason::policy_deny), 2u);
}

TEST(Breakout, RepliesReachTheOwningWorkerWithoutHandoff) {
  constexpr uint32_t kWorkers = 3;
  auto r = make_router(RouterOptions().with_workers(kWorkers));
  rte_mempool* pool = test_pool();
  for (uint16_t sport = 30000; sport < 30030; ++sport) {
    FiveTuple t{kClient, kInternet, sport, 80, kProtoTcp};
    uint32_t owner = owner_of_class(affinity_class(t), kWorkers);
    Worker& w = r->worker(owner);
    rte_mbuf* m = Pkt::to_mbuf(
        pool, Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, kInternet).tcp(sport, 80, kTcpSyn).bytes(), kLan);
    w.receive(&m, 1);
    w.flush();
    ASSERT_EQ(r->transmitted().size(), 1u) << "sport " << sport << " drops " << r->drops();
    Frame out = r->transmitted().back();
    EXPECT_EQ(owner_of_class(class_of_port(out.sport()), kWorkers), owner) << "NAT port " << out.sport();
    // The reply, received by the owner, is handled there (not handed off).
    m = Pkt::to_mbuf(pool, Pkt().eth(kR1Mac, kGatewayMac).ipv4(kInternet, kR1Wan).tcp(80, out.sport(), kTcpAck).bytes(),
                     kWan);
    w.receive(&m, 1);
    w.flush();
    ASSERT_EQ(r->transmitted().size(), 2u) << "reply not restored by worker " << owner;
    EXPECT_EQ(r->transmitted().back().dport(), sport);
    r->idle();  // clears what was transmitted
  }
}

// 16 workers: worker 0 owns 4 classes, 4 x 768 ports per protocol.
TEST(Breakout, PortExhaustionIsCountedAndEndedSessionsGiveTheirPortsBack) {
  constexpr uint32_t kWorkers = 16, kPorts = 4 * 768;
  auto r = make_router(RouterOptions().with_workers(kWorkers).with_max_sessions(4096));
  std::vector<uint16_t> client_ports;
  for (uint32_t sport = 1024; client_ports.size() < kPorts + 1; ++sport) {
    FiveTuple t{kClient, kInternet, static_cast<uint16_t>(sport), 53, kProtoUdp};
    if (owner_of_class(affinity_class(t), kWorkers) == 0) client_ports.push_back(static_cast<uint16_t>(sport));
  }
  std::set<uint16_t> nat_ports;
  for (uint16_t sport : client_ports) {
    auto out = r->send(kLan, Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, kInternet).udp(sport, 53).bytes());
    if (out.size() == 1) nat_ports.insert(out[0].sport());
  }
  EXPECT_EQ(nat_ports.size(), kPorts) << "every port once";
  EXPECT_EQ(r->drop_count(DropReason::breakout_ports_exhausted), 1u);
  // Taking the service away closes its sessions; their ports come back.
  config::Config none = breakout_config();
  none.clear_policies();
  r->commit(none);
  r->commit(breakout_config());
  auto out = r->send(kLan, Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, kInternet).udp(client_ports.back(), 53).bytes());
  ASSERT_EQ(out.size(), 1u) << r->drops();
  EXPECT_TRUE(nat_ports.count(out[0].sport()));
}

// Ports are per remote end: two destinations each get the whole port space.
TEST(Breakout, PortsAreSharedBetweenRemoteEnds) {
  constexpr uint32_t kWorkers = 16, kPorts = 4 * 768;
  auto r = make_router(RouterOptions().with_workers(kWorkers).with_max_sessions(8192));
  // Client ports whose sessions worker 0 owns (the one send() drives), per destination port.
  auto owned_by_0 = [&](uint16_t dport) {
    std::vector<uint16_t> ports;
    for (uint32_t sport = 1024; ports.size() < kPorts; ++sport) {
      FiveTuple t{kClient, kInternet, static_cast<uint16_t>(sport), dport, kProtoUdp};
      if (owner_of_class(affinity_class(t), kWorkers) == 0) ports.push_back(static_cast<uint16_t>(sport));
    }
    return ports;
  };
  std::map<uint16_t, int> per_port;
  for (uint16_t dport : {53, 123}) {
    for (uint16_t sport : owned_by_0(dport)) {
      auto out = r->send(kLan, Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, kInternet).udp(sport, dport).bytes());
      ASSERT_EQ(out.size(), 1u) << "dport " << dport << " sport " << sport << ": " << r->drops();
      per_port[out[0].sport()]++;
    }
  }
  EXPECT_EQ(r->drop_count(DropReason::breakout_ports_exhausted), 0u);
  EXPECT_EQ(per_port.size(), kPorts);
  for (const auto& [port, n] : per_port) EXPECT_EQ(n, 2) << "port " << port << " carries one session per remote end";
  // A reply to a shared port reaches the session of its own remote end.
  const uint16_t shared = per_port.begin()->first;
  auto back = r->send(kWan, Pkt().eth(kR1Mac, kGatewayMac).ipv4(kInternet, kR1Wan).udp(123, shared).payload("a").bytes());
  ASSERT_EQ(back.size(), 1u) << r->drops();
  EXPECT_EQ(back[0].sport(), 123);
  EXPECT_EQ(back[0].dst(), kClient);
}

}  // namespace
}  // namespace wp
