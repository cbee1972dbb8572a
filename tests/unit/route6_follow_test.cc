// Routed IPv6 sessions after route changes and commits, through a real worker
// (dataplane/worker/route6_follow.h, docs/ipv6.md § IPv6 routing and
// sessions): a more specific FRR route moves a live flow to its gateway and
// its withdrawal moves it back to the config's route; a withdrawn route (or a
// blackhole) closes the session; a commit that drops its policy or takes its
// destination out of its service closes it (sessions_policy_closed), one that
// renumbers services keeps it under its service's name; both walks take at
// most a slice of the table per loop iteration, and a packet of a session the
// commit's walk has not reached yet is re-checked first.
#include <gtest/gtest.h>
#include <rte_ring_elem.h>

#include <cstring>

#include "dataplane/session/events6.h"
#include "dataplane/worker/route6_follow.h"
#include "tests/unit/pkt6_builder.h"
#include "tests/unit/route6_test_config.h"

namespace wp {
namespace {

using namespace test;

bool to_mac(const Frame& f, const Mac& mac) { return std::memcmp(f.raw.data(), mac.data(), 6) == 0; }

std::vector<uint8_t> client_udp(const Router& r, uint16_t sport, const char* dst = kRouteServer) {
  return from_lan(r, Pkt6().ipv6(kRouteClient, dst).udp(sport, 53).payload("q"));
}

std::vector<Session6Event> drain_events6(DataplaneShared& shared) {
  std::vector<Session6Event> out;
  Session6Event ev;
  while (rte_ring_sc_dequeue_elem(shared.event6_ring(0), &ev, sizeof ev) == 0) out.push_back(ev);
  return out;
}

TEST(Route6Follow, AMoreSpecificRouteMovesALiveFlowAndItsWithdrawalMovesItBack) {
  auto r = route6_router();
  learn_link_local_gw(*r);
  std::string err;
  ASSERT_TRUE(r->shared().enable_events6(64, SOCKET_ID_ANY, err)) << err;
  EXPECT_TRUE(to_mac(r->send_one(kLan, client_udp(*r, 5000)), kGateway6Mac)) << "the config's /64";
  drain_events6(r->shared());

  FibTable6 fib({frr_route("2001:db8:72::/96", 20, {{kLinkLocalGw, 1}})});
  r->shared().fib6.store(&fib, std::memory_order_release);
  r->idle();
  EXPECT_EQ(r->count(Counter::sessions6_route_moved), 1u);
  auto evs = drain_events6(r->shared());
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0].kind, SessionEventKind::update);
  EXPECT_EQ(evs[0].session.next_hop[0], kLinkLocalGw) << "the event carries the new next hop";
  EXPECT_TRUE(to_mac(r->send_one(kLan, client_udp(*r, 5000)), kLinkLocalMac)) << "FRR's longer prefix";
  // The reply still goes to the client (its connected route did not change).
  Frame back = r->send_one(kWan, from_wan(*r, Pkt6().ipv6(kRouteServer, kRouteClient).udp(53, 5000)));
  EXPECT_TRUE(to_mac(back, kRouteClientMac));
  EXPECT_EQ(r->count(Counter::sessions6_route_moved), 1u) << "the reverse direction stayed";

  r->shared().fib6.store(nullptr, std::memory_order_release);  // FRR withdrew it
  r->idle();
  EXPECT_EQ(r->count(Counter::sessions6_route_moved), 2u);
  EXPECT_TRUE(to_mac(r->send_one(kLan, client_udp(*r, 5000)), kGateway6Mac)) << "back on the config's route";
  EXPECT_EQ(r->count(Counter::sessions6_created), 1u) << "the same session all along";
  EXPECT_EQ(r->count(Counter::sessions6_route_closed), 0u);
  EXPECT_EQ(r->total_drops(), 0u) << r->drops();
}

TEST(Route6Follow, EcmpSessionsOnAWithdrawnMemberMoveTheOthersStay) {
  const Ipv6 gw2 = ip6("fe80::98");
  constexpr Mac kGw2Mac = {2, 0, 0, 0, 0x70, 0x98};
  auto r = route6_router();
  learn_link_local_gw(*r);
  r->shared().neighbors6.begin(1, gw2, 0);
  r->shared().neighbors6.advert(1, gw2, kGw2Mac.data(), kNaSolicited | kNaOverride, 0);
  FibTable6 both({frr_route("2001:db8:72::/96", 20, {{kLinkLocalGw, 1}, {gw2, 1}})});
  r->shared().fib6.store(&both, std::memory_order_release);
  int on_first = 0;
  for (uint16_t sport = 6000; sport < 6020; ++sport)
    on_first += to_mac(r->send_one(kLan, client_udp(*r, sport)), kLinkLocalMac);
  ASSERT_GT(on_first, 0);
  ASSERT_LT(on_first, 20);
  FibTable6 second({frr_route("2001:db8:72::/96", 20, {{gw2, 1}})});
  r->shared().fib6.store(&second, std::memory_order_release);
  r->idle();
  EXPECT_EQ(r->count(Counter::sessions6_route_moved), static_cast<uint64_t>(on_first));
  for (uint16_t sport = 6000; sport < 6020; ++sport)
    EXPECT_TRUE(to_mac(r->send_one(kLan, client_udp(*r, sport)), kGw2Mac));
  EXPECT_EQ(r->count(Counter::sessions6_created), 20u);
  r->shared().fib6.store(nullptr, std::memory_order_release);
}

TEST(Route6Follow, AWithdrawnRouteOrABlackholeClosesTheSession) {
  config::Config c = route6_config();
  c.mutable_services(0)->add_prefixes("2001:db8:99::/64");  // routed by FRR alone
  auto r = route6_router({}, c);
  learn_link_local_gw(*r);
  std::string err;
  ASSERT_TRUE(r->shared().enable_events6(64, SOCKET_ID_ANY, err)) << err;
  FibTable6 fib({frr_route("2001:db8:99::/64", 20, {{kLinkLocalGw, 1}})});
  r->shared().fib6.store(&fib, std::memory_order_release);
  r->idle();  // the worker's loop passes between two publications (the listener retires a table only then)
  r->send_one(kLan, client_udp(*r, 5000, "2001:db8:99::1"));
  r->send_one(kLan, client_udp(*r, 5001));  // to the config's route: untouched
  ASSERT_EQ(r->worker().route6().sessions(), 2u);
  drain_events6(r->shared());

  r->shared().fib6.store(nullptr, std::memory_order_release);
  r->idle();
  EXPECT_EQ(r->count(Counter::sessions6_route_closed), 1u);
  EXPECT_EQ(r->worker().route6().sessions(), 1u);
  EXPECT_EQ(r->worker().counters().sessions6_active.load(), 1u);
  auto evs = drain_events6(r->shared());
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0].kind, SessionEventKind::closed);
  EXPECT_EQ(evs[0].reason, SessionEndReason::forced_end);
  EXPECT_EQ(evs[0].session.original.dst, ip6("2001:db8:99::1"));
  // Its next packet is a first packet again, which has no route.
  EXPECT_TRUE(r->send(kLan, client_udp(*r, 5000, "2001:db8:99::1")).empty());
  EXPECT_EQ(r->drop_count(DropReason::ipv6_no_route), 1u);

  // A blackhole is no route too.
  r->shared().fib6.store(&fib, std::memory_order_release);
  r->idle();
  r->send_one(kLan, client_udp(*r, 5002, "2001:db8:99::1"));
  FibTable6 hole({frr_route("2001:db8:99::/64", 20, {})});
  r->shared().fib6.store(&hole, std::memory_order_release);
  r->idle();
  EXPECT_EQ(r->count(Counter::sessions6_route_closed), 2u);
  EXPECT_EQ(r->count(Counter::sessions6_route_moved), 0u);
  EXPECT_EQ(r->worker().route6().sessions(), 1u);
  r->shared().fib6.store(nullptr, std::memory_order_release);
}

TEST(Route6Follow, AStaticRouteChangedByACommitMovesTheSession) {
  auto r = route6_router();
  EXPECT_TRUE(to_mac(r->send_one(kLan, client_udp(*r, 5000)), kGateway6Mac));
  const Ipv6 gw3 = ip6("2001:db8:70::3");
  constexpr Mac kGw3Mac = {2, 0, 0, 0, 0x70, 3};
  r->shared().neighbors6.begin(1, gw3, 0);
  r->shared().neighbors6.advert(1, gw3, kGw3Mac.data(), kNaSolicited | kNaOverride, 0);
  config::Config next = route6_config();
  next.mutable_routes(0)->set_next_hop("2001:db8:70::3");
  r->commit(next);
  r->idle();
  EXPECT_EQ(r->count(Counter::sessions6_route_moved), 1u);
  EXPECT_EQ(r->count(Counter::sessions_policy_closed), 0u);
  EXPECT_TRUE(to_mac(r->send_one(kLan, client_udp(*r, 5000)), kGw3Mac));
  EXPECT_EQ(r->count(Counter::sessions6_created), 1u);
}

// Two services, so that a commit that swaps them must re-map the survivor's index by name.
config::Config two_services() {
  config::Config c = route6_config();
  add_service(c, {"dns6", "2001:db8:72::53/128", "udp", "53", ""});
  add_policy(c, "v6", "dns6", "");
  return c;
}

TEST(Route6Follow, ACommitThatDropsThePolicyClosesTheSessionAndCountsIt) {
  auto r = route6_router({}, two_services());
  std::string err;
  ASSERT_TRUE(r->shared().enable_events6(64, SOCKET_ID_ANY, err)) << err;
  r->send_one(kLan, client_udp(*r, 5000));                       // srv6
  r->send_one(kLan, client_udp(*r, 5001, "2001:db8:72::53"));  // dns6
  ASSERT_EQ(r->worker().route6().sessions(), 2u);
  drain_events6(r->shared());

  config::Config next = two_services();
  next.mutable_policies()->DeleteSubrange(0, 1);              // v6 -> srv6 is gone
  std::swap(*next.mutable_services(0), *next.mutable_services(1));  // dns6 is service 0 now
  r->commit(next);
  EXPECT_EQ(r->count(Counter::sessions_policy_closed), 1u);
  EXPECT_EQ(r->worker().route6().sessions(), 1u);
  auto evs = drain_events6(r->shared());
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0].kind, SessionEventKind::closed);
  EXPECT_EQ(evs[0].reason, SessionEndReason::forced_end);
  EXPECT_EQ(evs[0].session.original.dst, ip6(kRouteServer));
  // The survivor is dns6's under its new index, and still forwarded.
  const Session6Ref dns =
      r->worker().route6().table()->lookup({ip6(kRouteClient), ip6("2001:db8:72::53"), 5001, 53, kProtoUdp});
  ASSERT_TRUE(dns);
  EXPECT_EQ(r->model().services[static_cast<size_t>(dns.session->service)].name, "dns6");
  r->send_one(kLan, client_udp(*r, 5001, "2001:db8:72::53"));
  // The closed one's next packet is refused as any new one would be.
  EXPECT_TRUE(r->send(kLan, client_udp(*r, 5000)).empty());
  EXPECT_EQ(r->drop_count(DropReason::policy_deny), 1u);
  EXPECT_EQ(r->count(Counter::sessions6_created), 2u);
}

TEST(Route6Follow, ACommitThatTakesTheDestinationOutOfItsServiceClosesTheSession) {
  auto r = route6_router();
  r->send_one(kLan, client_udp(*r, 5000));
  r->send_one(kLan, client_udp(*r, 5001, "2001:db8:72::20"));
  config::Config next = route6_config();
  next.mutable_services(0)->clear_prefixes();
  next.mutable_services(0)->add_prefixes("2001:db8:72::20/128");  // the route stays: only the service changed
  r->commit(next);
  EXPECT_EQ(r->count(Counter::sessions_policy_closed), 1u);
  EXPECT_EQ(r->count(Counter::sessions6_route_closed), 0u);
  EXPECT_EQ(r->worker().route6().sessions(), 1u);
  r->send_one(kLan, client_udp(*r, 5001, "2001:db8:72::20"));
  EXPECT_EQ(r->count(Counter::sessions6_created), 2u);
}

// A table of three slices with sessions in every slice (inserted as the
// worker's first packet inserts them): each loop iteration moves or closes at
// most one slice's worth, and all of them by the third.
TEST(Route6Follow, TheWalkTakesASliceAtATime) {
  constexpr uint32_t kSlice = Route6Follow::kSlice;
  auto r = route6_router(RouterOptions().with_prepare([](DataplaneShared& s) { s.sessions6_per_worker = 3 * kSlice; }));
  learn_link_local_gw(*r);
  SessionTable6& t = *r->worker().route6().table();
  ASSERT_EQ(t.capacity(), 3 * kSlice);
  FibTable6 fib({frr_route("2001:db8:72::/96", 20, {{kLinkLocalGw, 1}})});
  r->shared().fib6.store(&fib, std::memory_order_release);
  const uint32_t n = 2 * kSlice + 100;
  for (uint32_t i = 0; i < n; ++i) {
    SessionTable6::Refused why;
    Session6* s = t.insert({ip6(kRouteClient), ip6(kRouteServer), static_cast<uint16_t>(i), 53, kProtoUdp}, why);
    ASSERT_NE(s, nullptr);
    s->next_hop[0] = kLinkLocalGw;
    s->iface[0] = 1;
    s->next_hop[1] = ip6(kRouteClient);
    s->iface[1] = 0;
    s->tenant = 0;
    s->service = 0;
    set_model6(*s, 0);  // the generation of a worker that adopted no commit
  }
  r->idle();  // notices nothing: the FIB was there when they were made
  EXPECT_EQ(r->count(Counter::sessions6_route_closed), 0u);
  r->shared().fib6.store(nullptr, std::memory_order_release);
  r->idle();
  EXPECT_EQ(r->count(Counter::sessions6_route_moved), kSlice) << "the first slice";
  r->idle();
  EXPECT_EQ(r->count(Counter::sessions6_route_moved), 2 * kSlice);
  r->idle();
  EXPECT_EQ(r->count(Counter::sessions6_route_moved), n);
  r->idle();
  EXPECT_EQ(r->count(Counter::sessions6_route_moved), n) << "done: nothing walked twice";
  EXPECT_TRUE(to_mac(r->send_one(kLan, client_udp(*r, 7)), kGateway6Mac));
}

// The commit's walk visits the IPv6 table after the IPv4 one, kSlice sessions
// of both per iteration; a packet of a session it has not reached is
// re-checked before it is used (forwarded, it would come out: the walk reaches
// the session only iterations later).
TEST(Route6Follow, ACommitsWalkIsSlicedAndAPacketIsRecheckedFirst) {
  constexpr uint32_t kSlice = PolicyRecheck::kSlice;
  auto r = route6_router(RouterOptions().with_prepare([](DataplaneShared& s) { s.sessions6_per_worker = 3 * kSlice; }));
  SessionTable6& t = *r->worker().route6().table();
  std::vector<Session6*> placeholders;
  for (uint32_t i = 0; i < 2 * kSlice + 5; ++i) {
    SessionTable6::Refused why;
    placeholders.push_back(t.insert({ip6(kRouteGuest), ip6(kRouteServer), static_cast<uint16_t>(i), 9, kProtoUdp}, why));
    ASSERT_NE(placeholders.back(), nullptr);
  }
  r->send_one(kLan, client_udp(*r, 5000));
  const Session6Ref live = t.lookup({ip6(kRouteClient), ip6(kRouteServer), 5000, 53, kProtoUdp});
  ASSERT_TRUE(live);
  ASSERT_GE(t.index_of(live.session), 2 * kSlice) << "beyond what two iterations walk";
  for (Session6* p : placeholders) t.remove(p);

  config::Config next = route6_config();
  next.mutable_policies()->Clear();
  std::string err;
  auto model = RouterModel::build(next, nullptr, nullptr, test_hmac(), err);
  ASSERT_TRUE(model) << err;
  r->shared().model.store(model.get());
  r->idle();  // adopted; the walk took one slice (the packet's iteration takes one more)
  EXPECT_EQ(r->count(Counter::sessions_policy_closed), 0u);
  EXPECT_NE(r->worker().counters().model_settled.load(), reinterpret_cast<uintptr_t>(model.get()));
  EXPECT_TRUE(r->send(kLan, client_udp(*r, 5000)).empty()) << "re-checked on arrival: closed, then denied";
  EXPECT_EQ(r->count(Counter::sessions_policy_closed), 1u);
  EXPECT_EQ(r->drop_count(DropReason::policy_deny), 1u);
  for (int i = 0; i < 8 && r->worker().counters().model_settled.load() != reinterpret_cast<uintptr_t>(model.get()); ++i)
    r->idle();
  EXPECT_EQ(r->worker().counters().model_settled.load(), reinterpret_cast<uintptr_t>(model.get()));
  EXPECT_EQ(r->count(Counter::sessions_policy_closed), 1u);
  r->shared().model.store(&r->model());  // the fixture's model outlives `model`
  for (int i = 0; i < 8; ++i) r->idle();
}

}  // namespace
}  // namespace wp
