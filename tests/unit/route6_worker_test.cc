// IPv6 routed with sessions through a real worker (dataplane/worker/route6_step.h,
// docs/ipv6.md § IPv6 routing and sessions): a permitted first packet from the
// LAN creates a session and leaves wan0 to the gateway's MAC with its hop limit
// less one, the reply comes back to the client, refusals are counted by their
// reasons, hop limit 1 and too-big packets are answered with ICMPv6 errors.
// Also the IPv6 session table itself (session/table6.h).
#include <gtest/gtest.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "dataplane/ip/icmp.h"
#include "dataplane/session/owner.h"
#include "dataplane/session/table6.h"
#include "mgmt/metrics.h"
#include "mgmt/stats.h"
#include "tests/unit/out6_frame.h"
#include "tests/unit/pkt6_builder.h"
#include "tests/unit/route6_test_config.h"

namespace wp {
namespace {

using namespace test;

// What a router sends on: the same bytes from the IPv6 header on, but the hop limit.
void expect_forwarded(const std::vector<uint8_t>& sent, const Out6& out) {
  ASSERT_EQ(out.raw.size(), sent.size());
  EXPECT_EQ(out.raw[14 + 7], sent[14 + 7] - 1) << "hop limit - 1";
  EXPECT_EQ(std::memcmp(out.raw.data() + 14, sent.data() + 14, 7), 0);
  EXPECT_EQ(std::memcmp(out.raw.data() + 22, sent.data() + 22, sent.size() - 22), 0) << "addresses, L4, payload";
}

TEST(Route6Worker, TcpSessionForwardedBothWays) {
  auto r = route6_router();
  const auto syn = from_lan(*r, Pkt6().ipv6(kRouteClient, kRouteServer, 64).tcp(40000, 80, 0x02).payload("GET /"));
  Frame out_f = r->send_one(kLan, syn);
  EXPECT_EQ(out_f.port, kWan);
  Out6 out(out_f);
  ASSERT_EQ(out.v.status, Ipv6Status::ok);
  EXPECT_EQ(std::memcmp(out.raw.data(), kGateway6Mac.data(), 6), 0) << "to the gateway's MAC, not the server's";
  EXPECT_EQ(std::memcmp(out.raw.data() + 6, r->model().interfaces[1].mac, 6), 0);
  EXPECT_EQ(out.v.hop_limit, 63);
  expect_forwarded(syn, out);
  EXPECT_EQ(r->count(Counter::sessions6_created), 1u);
  EXPECT_EQ(r->worker().route6().sessions(), 1u);
  EXPECT_EQ(r->worker().counters().sessions6_active.load(), 1u);
  EXPECT_EQ(r->worker().route6().table()->size(), 1u);
  EXPECT_EQ(r->count(Counter::sessions_created), 0u) << "no IPv4 session";

  const auto synack = from_wan(*r, Pkt6().ipv6(kRouteServer, kRouteClient, 60).tcp(80, 40000, 0x12).payload("200"));
  Frame back_f = r->send_one(kWan, synack);
  EXPECT_EQ(back_f.port, kLan);
  Out6 back(back_f);
  EXPECT_EQ(std::memcmp(back.raw.data(), kRouteClientMac.data(), 6), 0) << "to the on-link client";
  EXPECT_EQ(back.v.hop_limit, 59);
  expect_forwarded(synack, back);
  // More packets of the session: no second session.
  r->send_one(kLan, from_lan(*r, Pkt6().ipv6(kRouteClient, kRouteServer).tcp(40000, 80, 0x10)));
  EXPECT_EQ(r->count(Counter::sessions6_created), 1u);
  EXPECT_EQ(r->count(Counter::ipv6_forwarded), 3u);
  EXPECT_EQ(r->total_drops(), 0u) << r->drops();
}

// Path MTU discovery through the router: a Packet Too Big from a router down the path,
// about the client's packet, reaches the client; one about no session is dropped.
TEST(Route6Worker, IcmpErrorsAboutASessionReachItsSender) {
  auto r = route6_router(RouterOptions().with_workers(2));
  const auto syn = from_lan(*r, Pkt6().ipv6(kRouteClient, kRouteServer).tcp(40000, 80, 0x02).payload("data"));
  const FiveTuple6 t{ip6(kRouteClient), ip6(kRouteServer), 40000, 80, kProtoTcp};
  const uint32_t owner = owner_of_class(affinity_class6(t), 2);
  rte_mempool* pool = test_pool();
  auto run = [&](const std::vector<uint8_t>& f, uint16_t port) {
    rte_mbuf* m = Pkt::to_mbuf(pool, f, port);
    r->worker(1 - owner).receive(&m, 1);  // received by the other worker: handed to the owner
    r->worker(1 - owner).flush();
    r->worker(owner).drain_handoff();
    r->worker(owner).flush();
  };
  run(syn, kLan);
  ASSERT_EQ(r->transmitted().size(), 1u) << r->drops();
  r->idle();
  auto ptb = [&](const char* about_dst) {
    std::vector<uint8_t> icmp = {kIcmp6PacketTooBig, 0, 0, 0, 0, 0, 0x05, 0x00};  // MTU 1280
    auto quoted = from_lan(*r, Pkt6().ipv6(kRouteClient, about_dst, 63).tcp(40000, 80, 0x10).payload("data"));
    icmp.insert(icmp.end(), quoted.begin() + 14, quoted.end());
    return from_wan(*r, Pkt6().ipv6("2001:db8:70::2", kRouteClient, 64).l4(kProtoIcmpv6, icmp));
  };
  const auto err = ptb(kRouteServer);
  run(err, kWan);
  ASSERT_EQ(r->transmitted().size(), 1u) << r->drops();
  const Frame& f = r->transmitted()[0];
  EXPECT_EQ(f.port, kLan);
  Out6 o(f);
  EXPECT_EQ(std::memcmp(o.raw.data(), kRouteClientMac.data(), 6), 0);
  EXPECT_EQ(o.v.hop_limit, 63);
  EXPECT_EQ(o.l4()[0], kIcmp6PacketTooBig);
  EXPECT_EQ(get32(o.l4() + 4), 1280u);
  EXPECT_EQ(r->worker(owner).counters().get(Counter::ipv6_icmp6_errors_forwarded), 1u);
  r->idle();
  run(ptb("2001:db8:72::99"), kWan);  // about a packet of no session
  EXPECT_TRUE(r->transmitted().empty());
  EXPECT_EQ(r->worker(owner).counters().get(DropReason::ipv6_no_session) +
                r->worker(1 - owner).counters().get(DropReason::ipv6_no_session),
            1u);
}

TEST(Route6Worker, UdpAndEchoSessions) {
  auto r = route6_router();
  r->send_one(kLan, from_lan(*r, Pkt6().ipv6(kRouteClient, kRouteServer).udp(5000, 53).payload("q")));
  r->send_one(kWan, from_wan(*r, Pkt6().ipv6(kRouteServer, kRouteClient).udp(53, 5000).payload("a")));
  Frame e = r->send_one(kLan, from_lan(*r, Pkt6().ipv6(kRouteClient, kRouteServer).icmp6_echo(0x42).payload("p")));
  EXPECT_EQ(Out6(e).l4()[0], 128);
  Frame er = r->send_one(kWan, from_wan(*r, Pkt6().ipv6(kRouteServer, kRouteClient).icmp6_echo(0x42, 129).payload("p")));
  EXPECT_EQ(er.port, kLan);
  EXPECT_EQ(r->count(Counter::sessions6_created), 2u);
  // An echo reply with no session, and a server's unsolicited packet, start nothing.
  EXPECT_TRUE(r->send(kLan, from_lan(*r, Pkt6().ipv6(kRouteClient, kRouteServer).icmp6_echo(0x43, 129))).empty());
  EXPECT_EQ(r->drop_count(DropReason::unsupported_proto), 1u);
  EXPECT_TRUE(r->send(kWan, from_wan(*r, Pkt6().ipv6(kRouteServer, kRouteClient).udp(53, 5001))).empty());
  EXPECT_EQ(r->drop_count(DropReason::ipv6_no_session), 1u);
  EXPECT_EQ(r->count(Counter::sessions6_created), 2u);
}

TEST(Route6Worker, RefusalsAreCountedByTheirReasons) {
  auto r = route6_router();
  EXPECT_TRUE(r->send(kLan, from_lan(*r, Pkt6().ipv6(kRouteGuest, kRouteServer).tcp(40000, 80, 0x02))).empty());
  EXPECT_EQ(r->drop_count(DropReason::policy_deny), 1u) << "guest6 has no policy: deny by default";
  EXPECT_TRUE(r->send(kLan, from_lan(*r, Pkt6().ipv6("2001:db8:71:1::5", kRouteServer).tcp(1, 80, 2))).empty());
  EXPECT_EQ(r->drop_count(DropReason::no_tenant), 1u);
  EXPECT_TRUE(r->send(kLan, from_lan(*r, Pkt6().ipv6(kRouteClient, "2001:db8:73::1").tcp(1, 80, 2))).empty());
  EXPECT_EQ(r->drop_count(DropReason::no_service), 1u);
  EXPECT_TRUE(r->send(kLan, from_lan(*r, Pkt6().ipv6(kRouteClient, "fe80::9").tcp(1, 80, 2))).empty());
  EXPECT_EQ(r->drop_count(DropReason::ipv6_not_routable), 1u);
  EXPECT_EQ(r->count(Counter::sessions6_created), 0u);
  EXPECT_EQ(r->worker().route6().sessions(), 0u);
}

TEST(Route6Worker, NoRouteIsCounted) {
  config::Config c = route6_config();
  c.mutable_services(0)->add_prefixes("2001:db8:99::/64");  // served, but not routed anywhere
  auto r = route6_router({}, c);
  EXPECT_TRUE(r->send(kLan, from_lan(*r, Pkt6().ipv6(kRouteClient, "2001:db8:99::1").udp(1, 2))).empty());
  EXPECT_EQ(r->drop_count(DropReason::ipv6_no_route), 1u);
}

void expect_error_to_client(const Router& r, const Frame& f, const std::vector<uint8_t>& sent, uint8_t type,
                            uint32_t rest) {
  EXPECT_EQ(f.port, kLan);
  Out6 e(f);
  ASSERT_EQ(e.v.status, Ipv6Status::ok);
  EXPECT_EQ(std::memcmp(e.raw.data(), kRouteClientMac.data(), 6), 0);
  EXPECT_EQ(e.v.src, ip6("2001:db8:71::1")) << "our address on the client's link";
  EXPECT_EQ(e.v.dst, ip6(kRouteClient));
  EXPECT_EQ(e.v.proto, kProtoIcmpv6);
  EXPECT_EQ(e.l4()[0], type);
  EXPECT_EQ(get32(e.l4() + 4), rest);
  const size_t quoted = std::min<size_t>(sent.size() - 14, 1280 - 48);
  EXPECT_EQ(std::memcmp(e.l4() + 8, sent.data() + 14, quoted), 0) << "the offending packet, as received";
  EXPECT_EQ(r.model().interfaces[0].mtu, 1500);
}

TEST(Route6Worker, HopLimitOneIsAnsweredWithTimeExceeded) {
  auto r = route6_router();
  const auto sent = from_lan(*r, Pkt6().ipv6(kRouteClient, kRouteServer, 1).udp(33434, 33435).payload("trace"));
  expect_error_to_client(*r, r->send_one(kLan, sent), sent, kIcmp6TimeExceeded, 0);
  EXPECT_EQ(r->count(Counter::ipv6_icmp6_time_exceeded), 1u);
  EXPECT_EQ(r->drop_count(DropReason::ipv6_hop_limit), 1u);
  EXPECT_EQ(r->count(Counter::sessions6_created), 0u) << "no session for a packet that cannot leave";
  // Hop limit 2 passes with 1 left.
  Frame ok = r->send_one(kLan, from_lan(*r, Pkt6().ipv6(kRouteClient, kRouteServer, 2).udp(33434, 33436)));
  EXPECT_EQ(Out6(ok).v.hop_limit, 1);
}

TEST(Route6Worker, TooBigIsAnsweredWithPacketTooBig) {
  config::Config c = route6_config();
  c.mutable_router()->mutable_wan(0)->set_mtu(1400);
  auto r = route6_router({}, c);
  // 1448 bytes of IPv6 > 1400: Packet Too Big with the egress MTU.
  const auto sent = from_lan(*r, Pkt6().ipv6(kRouteClient, kRouteServer).udp(6000, 9000).payload(std::string(1400, 'b')));
  expect_error_to_client(*r, r->send_one(kLan, sent), sent, kIcmp6PacketTooBig, 1400);
  EXPECT_EQ(r->count(Counter::ipv6_icmp6_too_big), 1u);
  EXPECT_EQ(r->drop_count(DropReason::ipv6_too_big), 1u);
  // Exactly the MTU passes.
  Frame ok = r->send_one(kLan, from_lan(*r, Pkt6().ipv6(kRouteClient, kRouteServer).udp(6000, 9000).payload(
                                                std::string(1400 - 48, 'c'))));
  EXPECT_EQ(ok.port, kWan);
}

TEST(Route6Worker, UnresolvedGatewayWaitsForTheControlThread) {
  auto r = std::make_unique<Router>(route6_config());  // no neighbors resolved
  EXPECT_TRUE(r->send(kLan, from_lan(*r, Pkt6().ipv6(kRouteClient, kRouteServer).udp(1, 2))).empty());
  rte_mbuf* m = nullptr;
  ASSERT_EQ(rte_ring_sc_dequeue(r->shared().resolve[0], reinterpret_cast<void**>(&m)), 0);
  EXPECT_EQ(m->hash.usr, kResolveIpv6Via);
  EXPECT_EQ(m->port, 1);
  EXPECT_EQ(resolve6_target(m, ip6(kRouteServer)), kGateway6) << "the gateway is resolved, not the server";
  rte_pktmbuf_free(m);
}

TEST(Route6Worker, SessionsExpireWhenIdle) {
  auto r = route6_router(RouterOptions().with_udp_timeout_ms(1000));
  r->send_one(kLan, from_lan(*r, Pkt6().ipv6(kRouteClient, kRouteServer).udp(5000, 53)));
  EXPECT_EQ(r->worker().route6().sessions(), 1u);
  r->worker().set_now_ms(r->worker().now_ms() + 500);
  r->idle();
  EXPECT_EQ(r->worker().route6().sessions(), 1u);
  // The sweep is clock-paced (a full pass per Aging::period_ms, 2 s at least):
  // the clock moves on 100 ms a loop iteration, so the pass completes within 10 s.
  for (int i = 0; i < 100 && r->worker().route6().sessions() != 0; ++i) {
    r->worker().set_now_ms(r->worker().now_ms() + (i == 0 ? 1000 : 100));
    r->idle();
  }
  EXPECT_EQ(r->worker().route6().sessions(), 0u);
  EXPECT_EQ(r->count(Counter::sessions6_expired), 1u);
  EXPECT_EQ(r->worker().counters().sessions6_active.load(), 0u);
}

// The packets of one session meet it whichever worker receives them.
TEST(Route6Worker, OwnerRuleAcrossWorkers) {
  constexpr uint32_t kWorkers = 3;
  auto r = route6_router(RouterOptions().with_workers(kWorkers));
  rte_mempool* pool = test_pool();
  for (uint16_t sport = 41000; sport < 41010; ++sport) {
    const FiveTuple6 t{ip6(kRouteClient), ip6(kRouteServer), sport, 80, kProtoTcp};
    const uint32_t owner = owner_of_class(affinity_class6(t), kWorkers);
    for (uint32_t w = 0; w < kWorkers; ++w) {
      rte_mbuf* m = Pkt::to_mbuf(pool, from_lan(*r, Pkt6().ipv6(kRouteClient, kRouteServer).tcp(sport, 80, 0x10)), kLan);
      r->worker(w).receive(&m, 1);
      r->worker(w).flush();
      for (uint32_t k = 0; k < kWorkers; ++k) {
        r->worker(k).drain_handoff();
        r->worker(k).flush();
      }
      ASSERT_EQ(r->transmitted().size(), 1u) << "via worker " << w << ": " << r->drops();
      r->idle();
    }
    // The reply, received by any worker, reaches the same session.
    rte_mbuf* m = Pkt::to_mbuf(pool, from_wan(*r, Pkt6().ipv6(kRouteServer, kRouteClient).tcp(80, sport, 0x10)), kWan);
    r->worker((owner + 1) % kWorkers).receive(&m, 1);
    r->worker((owner + 1) % kWorkers).flush();
    r->worker(owner).drain_handoff();
    r->worker(owner).flush();
    ASSERT_EQ(r->transmitted().size(), 1u) << r->drops();
    r->idle();
  }
  uint64_t sessions = 0, created = 0;
  for (uint32_t w = 0; w < kWorkers; ++w) {
    sessions += r->worker(w).route6().sessions();
    created += r->worker(w).counters().get(Counter::sessions6_created);
  }
  EXPECT_EQ(sessions, 10u);
  EXPECT_EQ(created, 10u);
}

// REST stats and /metrics count the IPv6 sessions (docs/operations.md § Counters and drop reasons).
TEST(Route6Worker, StatsCountIpv6Sessions) {
  auto r = route6_router();
  r->send_one(kLan, from_lan(*r, Pkt6().ipv6(kRouteClient, kRouteServer).udp(5000, 53)));
  r->send_one(kLan, from_lan(*r, Pkt6().ipv6(kRouteClient, kRouteServer).udp(5001, 53)));
  const auto st = nlohmann::json::parse(mgmt::stats_json(r->shared(), "r1"));
  EXPECT_EQ(st["sessions6"]["active"], 2);
  EXPECT_EQ(st["sessions6"]["created"], 2);
  EXPECT_EQ(st["sessions6"]["expired"], 0);
  EXPECT_EQ(st["per_worker"][0]["sessions6"], 2);
  EXPECT_EQ(st["sessions"]["active"], 0) << "IPv4 sessions apart";
  const std::string m = mgmt::metrics_text(r->shared(), "r1", nullptr, 1, 0);
  EXPECT_NE(m.find("waypoint_sessions6_active{router=\"r1\"} 2"), std::string::npos) << m;
}

// No IPv6 service at start: no table, IPv6 is not routed (as before this feature).
TEST(Route6Worker, TableOnlyWhenAServiceHasIpv6Prefixes) {
  config::Config c = route6_config();
  c.mutable_services(0)->set_prefixes(0, "10.8.0.0/24");
  auto r = route6_router({}, c);
  EXPECT_FALSE(r->worker().route6().has_table());
  EXPECT_TRUE(r->send(kLan, from_lan(*r, Pkt6().ipv6(kRouteClient, kRouteServer).udp(1, 2))).empty());
  EXPECT_EQ(r->drop_count(DropReason::not_ipv4), 1u);
}

TEST(SessionTable6, InsertLookupReverseRemoveFull) {
  SessionTable6 t(4);
  const FiveTuple6 a{ip6("2001:db8::1"), ip6("2001:db8::2"), 1000, 80, kProtoTcp};
  SessionTable6::Refused why;
  Session6* s = t.insert(a, why);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(t.lookup(a).session, s);
  EXPECT_EQ(t.lookup(a).dir, Dir::forward);
  EXPECT_EQ(t.lookup(a.reversed()).session, s);
  EXPECT_EQ(t.lookup(a.reversed()).dir, Dir::reverse);
  EXPECT_FALSE(t.lookup({a.src, a.dst, 1001, 80, kProtoTcp}));
  EXPECT_EQ(t.insert(a, why), nullptr);
  EXPECT_EQ(why, SessionTable6::Refused::exists);
  EXPECT_EQ(t.insert(a.reversed(), why), nullptr);
  EXPECT_EQ(why, SessionTable6::Refused::exists);
  for (uint16_t p = 1; p < 4; ++p) ASSERT_NE(t.insert({a.src, a.dst, static_cast<uint16_t>(1000 + p), 80, kProtoTcp}, why), nullptr);
  EXPECT_EQ(t.size(), 4u);
  EXPECT_EQ(t.insert({a.src, a.dst, 2000, 80, kProtoTcp}, why), nullptr);
  EXPECT_EQ(why, SessionTable6::Refused::full);
  t.remove(s);
  EXPECT_FALSE(t.lookup(a));
  EXPECT_FALSE(t.lookup(a.reversed()));
  for (uint16_t p = 1; p < 4; ++p) EXPECT_TRUE(t.lookup({a.src, a.dst, static_cast<uint16_t>(1000 + p), 80, kProtoTcp}));
  EXPECT_NE(t.insert({a.src, a.dst, 2000, 80, kProtoTcp}, why), nullptr);
}

TEST(SessionTable6, ExpiresByProtocolTimeouts) {
  SessionTable6 t(8);
  SessionTable6::Refused why;
  Session6* tcp = t.insert({ip6("2001:db8::1"), ip6("2001:db8::2"), 1, 2, kProtoTcp}, why);
  Session6* udp = t.insert({ip6("2001:db8::1"), ip6("2001:db8::2"), 1, 2, kProtoUdp}, why);
  tcp->flags = kReverseSeen;  // established
  Timeouts to{10000, 1000, 2000};
  EXPECT_EQ(t.expire_some(1500, 8, to), 0u);
  EXPECT_EQ(t.expire_some(2500, 8, to), 1u) << "UDP after 2 s";
  EXPECT_EQ(t.size(), 1u);
  tcp->flags |= kFinFwd | kFinRev;  // closing: the transitory timeout
  EXPECT_EQ(t.expire_some(2500, 8, to), 1u);
  EXPECT_EQ(t.size(), 0u);
  (void)udp;
}

TEST(SessionTable6, ManyKeysSurviveRemovals) {
  SessionTable6 t(1024);
  SessionTable6::Refused why;
  std::vector<Session6*> all;
  for (uint16_t p = 0; p < 1024; ++p) all.push_back(t.insert({ip6("2001:db8::1"), ip6("2001:db8::2"), p, 443, kProtoTcp}, why));
  for (uint16_t p = 0; p < 1024; p += 2) t.remove(all[p]);
  for (uint16_t p = 0; p < 1024; ++p) {
    const FiveTuple6 k{ip6("2001:db8::1"), ip6("2001:db8::2"), p, 443, kProtoTcp};
    EXPECT_EQ(static_cast<bool>(t.lookup(k)), p % 2 == 1) << p;
    EXPECT_EQ(static_cast<bool>(t.lookup(k.reversed())), p % 2 == 1) << p;
  }
}

}  // namespace
}  // namespace wp
