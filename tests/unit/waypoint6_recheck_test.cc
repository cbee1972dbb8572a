// Stand-ins after a live config commit (dataplane/svr/policy_recheck.h,
// control/waypoint6_addr.h waypoint6_renumber; docs/ipv6.md § Stand-ins across
// a live commit): sessions between IPv6 waypoints hold 0.255.p.k stand-ins
// numbered from the config, so a commit that reorders peers or a peer's
// waypoints renumbers them and re-keys the table, and one that removes the
// waypoint closes the session. Real workers of r1, r2 (and r3), frames carried
// between them by the test.
//
//   client 10.1.0.5 - [r1] 2001:db8:70::1 ==IPv6 WAN== 2001:db8:70::2 [r2] - server 10.2.0.10
//   client 10.1.0.6 - [r3] 2001:db8:70::3 ========//
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/control/waypoint6_addr.h"
#include "dataplane/session/owner.h"
#include "dataplane/svr/metadata.h"
#include "dataplane/svr/policy_recheck.h"
#include "mgmt/svr6_view.h"
#include "tests/unit/pkt6_builder.h"
#include "tests/unit/route6_test_config.h"
#include "tests/unit/svr6_export_check.h"
#include "tests/unit/svr6_frames.h"

namespace wp {
namespace {

using namespace test;

constexpr const char* kR1Wan6 = "2001:db8:70::1";
constexpr const char* kR2Wan6 = "2001:db8:70::2";
constexpr const char* kR3Wan6 = "2001:db8:70::3";
constexpr const char* kOther6 = "2001:db8:70::9";  // r0's IPv6 waypoint, and a second one of r2's
constexpr const char* kKey0 = "0f0e0d0c0b0a09080706050403020100f0e0d0c0b0a090807060504030201000";
constexpr Mac kOtherMac = {2, 0, 0, 0xaa, 0, 9};
const Ipv4 kClient3 = ip("10.1.0.6");

// A site (r1, r3) whose peer r2 lists its IPv6 waypoint only, so IPv4 sessions ride IPv6 waypoints
// (docs/ipv6.md § IPv4 sessions between IPv6 waypoints). `r0_first`: a peer r0 listed before r2.
config::Config site_config(const std::string& name, int n, bool r0_first = false) {
  config::Config c = router_base(name, "10.1.0.1/24", {{"wan0", "172.16.0." + std::to_string(n) + "/24"}});
  c.mutable_router()->mutable_wan(0)->add_ipv6_addresses("2001:db8:70::" + std::to_string(n) + "/64");
  add_tenant(c, "branch", "10.1.0.0/25");
  add_service(c, {"web", "10.2.0.0/24", "tcp", "80", "r2"});
  add_policy(c, "branch", "web", "");
  if (r0_first) add_peer(c, "r0", {kOther6}, kKey0);
  add_peer(c, "r2", {kR2Wan6}, n == 1 ? kKey12 : kKey23);
  return c;
}

// The hub r2, its peers in the order given ("r0", "r1", "r3").
config::Config hub_config(const std::vector<std::string>& peers) {
  config::Config c = router_base("r2", "10.2.0.1/24", {{"wan0", "172.16.0.2/24"}});
  c.mutable_router()->mutable_wan(0)->add_ipv6_addresses("2001:db8:70::2/64");
  add_tenant(c, "branch", "10.1.0.0/25");
  add_service(c, {"web", "10.2.0.0/24", "tcp", "80", ""});
  add_policy(c, "branch", "web", "");
  for (const std::string& p : peers) {
    if (p == "r0") add_peer(c, "r0", {kOther6}, kKey0);
    if (p == "r1") add_peer(c, "r1", {kR1Wan6}, kKey12);
    if (p == "r3") add_peer(c, "r3", {kR3Wan6}, kKey23);
  }
  return c;
}

// Routers with room for three re-check slices: a session made after `hold_first_slice`
// sits beyond the first one, so the loop iteration that adopts a commit does not reach it.
RouterOptions big() { return RouterOptions().with_max_sessions(3 * PolicyRecheck::kSlice).with_events(EventConsumer::ipfix, 64); }

class Standin : public ::testing::Test {
 protected:
  void SetUp() override { make(); }
  void make(bool big_r1 = false, bool big_r2 = false, bool with_r3 = false) {
    const RouterOptions small = RouterOptions().with_events(EventConsumer::ipfix, 64);
    r1 = std::make_unique<Router>(site_config("r1", 1), big_r1 ? big() : small);
    r2 = std::make_unique<Router>(hub_config(with_r3 ? std::vector<std::string>{"r1", "r3"}
                                                     : std::vector<std::string>{"r1"}),
                                  big_r2 ? big() : small);
    r1->neighbor(0, kClient, kClientMac);
    r2->neighbor(0, kServer, kServerMac);
    learn6_on(*r1, 1, ip6(kR2Wan6), kR2Mac);
    learn6_on(*r1, 1, ip6(kOther6), kOtherMac);
    learn6_on(*r2, 1, ip6(kR1Wan6), kR1Mac);
    learn6_on(*r2, 1, ip6(kR3Wan6), kR3Mac);
    if (with_r3) {
      r3 = std::make_unique<Router>(site_config("r3", 3), small);
      r3->neighbor(0, kClient3, kClientMac);
      learn6_on(*r3, 1, ip6(kR2Wan6), kR2Mac);
    }
  }
  // Allocates the first slice of `r`'s table (given back by release_slice()).
  void hold_first_slice(Router& r) {
    for (uint32_t i = 0; i < PolicyRecheck::kSlice + 5; ++i) held_.push_back({&r, r.worker().table().allocate()});
  }
  void release_slice() {
    for (auto& [r, s] : held_) r->worker().table().release(s);
    held_.clear();
  }
  // A commit whose re-check has run one loop iteration: the first slice only.
  void publish(Router& r, const config::Config& cfg) {
    std::string err;
    auto m = RouterModel::build(cfg, nullptr, nullptr, test_hmac(), err);
    ASSERT_TRUE(m) << err;
    models_.push_back(m);
    r.shared().model.store(m.get(), std::memory_order_release);
    r.idle();
    EXPECT_NE(r.worker().counters().model_settled.load(), reinterpret_cast<uintptr_t>(m.get()))
        << "one iteration re-checked one slice, not the table";
  }
  const RouterModel& published(Router& r) const {
    return *reinterpret_cast<const RouterModel*>(r.shared().model.load());
  }

  std::vector<uint8_t> client(Pkt p, Router& site) const {
    Mac m;
    std::memcpy(m.data(), site.model().interfaces[0].mac, 6);
    return p.eth(m, kClientMac).bytes();
  }
  std::vector<uint8_t> server(Pkt p) const {
    Mac m;
    std::memcpy(m.data(), r2->model().interfaces[0].mac, 6);
    return p.eth(m, kServerMac).bytes();
  }
  std::vector<uint8_t> to_server(Ipv4 from, uint16_t sport, uint8_t flags, const std::string& data, Router& site) const {
    return client(Pkt().ipv4(from, kServer).tcp(sport, 80, flags).payload(data), site);
  }
  std::vector<uint8_t> to_client(Ipv4 to, uint16_t dport, uint8_t flags, const std::string& data) const {
    return server(Pkt().ipv4(kServer, to).tcp(80, dport, flags).payload(data));
  }

  // One packet from the site's client to the server: on the WAN from `site6` to r2's IPv6
  // waypoint, restored at r2. Returns the WAN frame.
  Frame forward(Router& site, const char* site6, Ipv4 from, uint16_t sport, const std::string& data) {
    const auto f = to_server(from, sport, 0x10, data, site);
    Frame w = site.send_one(kLan, f);
    const Ipv6View v = parse_ipv6_packet(w.raw.data(), static_cast<uint32_t>(w.raw.size()), 14);
    EXPECT_EQ(v.src, ip6(site6));
    EXPECT_EQ(v.dst, ip6(kR2Wan6)) << "to the peer's IPv6 waypoint it set up on";
    expect_restored4(f, r2->send_one(kWan, w.raw));
    return w;
  }
  // The server's answer: from r2's IPv6 waypoint to `site6`, restored at the site.
  void back(Router& site, const char* site6, Ipv4 to, uint16_t dport, const std::string& data) {
    const auto f = to_client(to, dport, 0x10, data);
    Frame w = r2->send_one(kLan, f);
    const Ipv6View v = parse_ipv6_packet(w.raw.data(), static_cast<uint32_t>(w.raw.size()), 14);
    EXPECT_EQ(v.src, ip6(kR2Wan6));
    EXPECT_EQ(v.dst, ip6(site6)) << "back to the site's IPv6 waypoint";
    expect_restored4(f, site.send_one(kWan, w.raw));
  }
  // SYN, SYN-ACK and an ACK: a session at both routers, past the handshake. Returns the SYN's WAN frame.
  Frame establish(Router& site, Ipv4 from, uint16_t sport) {
    Frame syn = site.send_one(kLan, to_server(from, sport, 0x02, "", site));
    r2->send_one(kWan, syn.raw);
    site.send_one(kWan, r2->send_one(kLan, to_client(from, sport, 0x12, "")).raw);
    return syn;
  }

  static Session* session_at(Router& r, Ipv4 from, uint16_t sport, bool ingress) {
    const FiveTuple lan = ingress ? FiveTuple{from, kServer, sport, 80, kProtoTcp}
                                  : FiveTuple{kServer, from, 80, sport, kProtoTcp};
    return r.worker().table().lookup(lan).session;
  }
  static FiveTuple wan_key(const Session& s) { return s.side_b_wan() ? s.key_b() : s.key_a(); }

  // Before the routers: destroyed after them (their workers point at the last one published).
  std::vector<std::shared_ptr<const RouterModel>> models_;
  std::unique_ptr<Router> r1, r2, r3;
  std::vector<std::pair<Router*, Session*>> held_;
};

// The mgmt feed's view of `s` (REST, IPFIX) with `model`: the IPv6 waypoints, forward direction.
mgmt::Svr6Waypoints leg_of(const Session& s, const RouterModel& model) {
  return mgmt::svr6_waypoints(model, mgmt::waypoint6_leg(s));
}

// r1 lists a new peer r0 before r2: r2's IPv6 waypoint was 0.255.0.0 (peer 0) and is
// 0.255.0.4 (peer 1) now, while 0.255.0.0 names r0's. The session is re-keyed under
// 0.255.0.4 and goes on both ways; its old key finds nothing.
TEST_F(Standin, ReorderedPeersAtTheIngress) {
  establish(*r1, kClient, 40000);
  forward(*r1, kR1Wan6, kClient, 40000, "before");
  const FiveTuple was = wan_key(*session_at(*r1, kClient, 40000, true));
  EXPECT_EQ(was.src, waypoint6_peer_standin(0, 0));

  r1->commit(site_config("r1", 1, true));
  Session* s = session_at(*r1, kClient, 40000, true);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->out_fwd.peer, 1) << "r2 by name";
  EXPECT_EQ(s->out_fwd.tuple.dst, waypoint6_peer_standin(1, 0)) << "r2's waypoint, renumbered";
  EXPECT_EQ(s->out_fwd.next_hop, waypoint6_peer_standin(1, 0));
  FiveTuple now = was;
  now.src = waypoint6_peer_standin(1, 0);
  EXPECT_EQ(r1->worker().table().lookup(now).session, s) << "re-keyed";
  EXPECT_FALSE(r1->worker().table().lookup(was)) << "the old key (r0's waypoint now) names nothing";
  const mgmt::Svr6Waypoints w = leg_of(*s, r1->model());
  ASSERT_TRUE(w.known);
  EXPECT_EQ(w.src6, ip6(kR1Wan6));
  EXPECT_EQ(w.dst6, ip6(kR2Wan6)) << "the mgmt view with the new config: r2's waypoint, not r0's";

  for (int i = 0; i < 2; ++i) {
    forward(*r1, kR1Wan6, kClient, 40000, "after " + std::to_string(i));
    back(*r1, kR1Wan6, kClient, 40000, "answer " + std::to_string(i));
  }
  EXPECT_EQ(r1->count(Counter::sessions_policy_closed), 0u);
  EXPECT_EQ(r1->count(Counter::sessions_waypoint6_closed), 0u);
  EXPECT_EQ(r1->worker().table().size(), 1u);
  EXPECT_EQ(r1->total_drops(), 0u) << r1->drops();
  EXPECT_EQ(r2->total_drops(), 0u) << r2->drops();
}

// The invariant of the sliced re-check: a packet that arrives before the sweep reached its
// session finds it. The answer from r2 arrives first, already in the new numbering
// (waypoint6_input reads the new model): found under the previous numbering, re-keyed,
// restored; then the client's packet leaves to r2's waypoint.
TEST_F(Standin, ReorderedPeersMidSweepAtTheIngress) {
  make(true, false);
  hold_first_slice(*r1);
  establish(*r1, kClient, 40000);
  release_slice();
  publish(*r1, site_config("r1", 1, true));
  EXPECT_EQ(r1->count(Counter::sessions_rechecked), 0u) << "not reached yet";
  back(*r1, kR1Wan6, kClient, 40000, "answer first");
  EXPECT_EQ(r1->count(Counter::sessions_rechecked), 1u) << "re-checked when its packet came";
  forward(*r1, kR1Wan6, kClient, 40000, "then the client");
  EXPECT_EQ(session_at(*r1, kClient, 40000, true)->out_fwd.tuple.dst, waypoint6_peer_standin(1, 0));
  for (int i = 0; i < 3; ++i) r1->idle();
  EXPECT_EQ(r1->worker().counters().model_settled.load(), reinterpret_cast<uintptr_t>(&published(*r1)));
  EXPECT_EQ(r1->count(Counter::sessions_rechecked), 1u) << "the sweep did not re-check it twice";
  back(*r1, kR1Wan6, kClient, 40000, "after the sweep");
  EXPECT_EQ(r1->total_drops(), 0u) << r1->drops();
}

// The same at the egress: r2 lists r0 before r1, and r1's next packet, in the new numbering,
// arrives before the sweep reached the session.
TEST_F(Standin, ReorderedPeersMidSweepAtTheEgress) {
  make(false, true);
  hold_first_slice(*r2);
  establish(*r1, kClient, 40000);
  release_slice();
  publish(*r2, hub_config({"r0", "r1"}));
  forward(*r1, kR1Wan6, kClient, 40000, "from r1 first");
  const Session* s = session_at(*r2, kClient, 40000, false);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->out_rev.tuple.dst, waypoint6_peer_standin(1, 0)) << "r1's waypoint, renumbered at r2";
  EXPECT_EQ(s->out_rev.peer, 1);
  back(*r1, kR1Wan6, kClient, 40000, "the answer");
  EXPECT_EQ(r2->count(Counter::sessions_policy_closed), 0u);
  EXPECT_EQ(r2->total_drops(), 0u) << r2->drops();
  EXPECT_EQ(r2->count(Counter::sessions_created), 1u) << "no second session";
}

// r1 lists a second IPv6 waypoint of r2 before the one the session rides: the session's
// stand-in goes from 0.255.0.0 (k 0) to 0.255.0.1 (k 1) and it stays on 2001:db8:70::2;
// a new session takes the first one, 2001:db8:70::9.
TEST_F(Standin, ReorderedWaypointsOfAPeer) {
  establish(*r1, kClient, 40000);
  config::Config next = site_config("r1", 1);
  next.mutable_peers(0)->clear_waypoints();
  next.mutable_peers(0)->add_waypoints(kOther6);
  next.mutable_peers(0)->add_waypoints(kR2Wan6);
  r1->commit(next);
  EXPECT_EQ(session_at(*r1, kClient, 40000, true)->out_fwd.tuple.dst, waypoint6_peer_standin(0, 1));
  forward(*r1, kR1Wan6, kClient, 40000, "still to ::2");
  back(*r1, kR1Wan6, kClient, 40000, "and back");
  Frame fresh = r1->send_one(kLan, to_server(kClient, 40001, 0x02, "", *r1));
  const Ipv6View v = parse_ipv6_packet(fresh.raw.data(), static_cast<uint32_t>(fresh.raw.size()), 14);
  EXPECT_EQ(v.dst, ip6(kOther6)) << "a new session: the first routed IPv6 waypoint in config order";
  EXPECT_EQ(r1->count(Counter::sessions_waypoint6_closed), 0u);
  EXPECT_EQ(r1->total_drops(), 0u) << r1->drops();
}

// r1's peer r2 lists another IPv6 waypoint instead: the session's is gone, so the session is
// closed (forced_end, counted twice: sessions_policy_closed and sessions_waypoint6_closed).
// Its closed event shows no stand-in the new config names otherwise (IPFIX: :: -> ::), and the
// client's next packet starts a new session toward the new waypoint.
TEST_F(Standin, RemovedWaypointClosesTheSession) {
  establish(*r1, kClient, 40000);
  drain_events(r1->shared());
  config::Config next = site_config("r1", 1);
  next.mutable_peers(0)->clear_waypoints();
  next.mutable_peers(0)->add_waypoints(kOther6);
  r1->commit(next);
  EXPECT_EQ(r1->count(Counter::sessions_policy_closed), 1u);
  EXPECT_EQ(r1->count(Counter::sessions_waypoint6_closed), 1u);
  EXPECT_EQ(r1->worker().table().size(), 0u);
  const std::vector<SessionEvent> evs = drain_events(r1->shared());
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0].kind, SessionEventKind::closed);
  EXPECT_EQ(evs[0].reason, SessionEndReason::forced_end);
  EXPECT_EQ(evs[0].session.out_fwd.tuple.dst, kWaypoint6Gone);
  EXPECT_FALSE(leg_of(evs[0].session, r1->model()).known) << "not 2001:db8:70::9, which 0.255.0.0 names now";
  const DecodedRecord d = ipfix_round_trip(mgmt::ipfix_record(evs[0], r1->model(), kExportClock));
  EXPECT_TRUE(d.rec.post_dst6.is_unspecified());

  Frame fresh = r1->send_one(kLan, to_server(kClient, 40000, 0x10, "next", *r1));
  const Ipv6View v = parse_ipv6_packet(fresh.raw.data(), static_cast<uint32_t>(fresh.raw.size()), 14);
  EXPECT_EQ(v.dst, ip6(kOther6));
  EXPECT_EQ(r1->count(Counter::sessions_created), 2u);
}

// A commit that reorders the peers and denies the session's service: the session is closed by
// the policy, and its closed event names r2's waypoint in the new numbering, so IPFIX (which
// reads the config of the moment) exports 2001:db8:70::2, not r0's.
TEST_F(Standin, AClosedSessionsEventIsInTheNewNumbering) {
  establish(*r1, kClient, 40000);
  drain_events(r1->shared());
  config::Config next = site_config("r1", 1, true);
  next.clear_policies();
  r1->commit(next);
  EXPECT_EQ(r1->count(Counter::sessions_policy_closed), 1u);
  EXPECT_EQ(r1->count(Counter::sessions_waypoint6_closed), 0u) << "the policy closed it, not its waypoint";
  const std::vector<SessionEvent> evs = drain_events(r1->shared());
  ASSERT_EQ(evs.size(), 1u);
  const DecodedRecord d = ipfix_round_trip(mgmt::ipfix_record(evs[0], r1->model(), kExportClock));
  EXPECT_EQ(d.rec.post_src6, ip6(kR1Wan6));
  EXPECT_EQ(d.rec.post_dst6, ip6(kR2Wan6));
  EXPECT_EQ(std::string(d.rec.tenant, d.rec.tenant_len), "branch");
}

// Two sites' sessions at r2 with the same waypoint port pair; r2's commit swaps the two
// peers, so each session's new key is the other's old one. The re-check moves them along
// the chain (the second out of the way first), after the sweep or (`mid_sweep`) when the
// first packet of either arrives before it.
class StandinSwap : public Standin, public ::testing::WithParamInterface<bool> {};

TEST_P(StandinSwap, SwappedPeersTradeKeys) {
  const bool mid_sweep = GetParam();
  make(false, mid_sweep, true);
  if (mid_sweep) hold_first_slice(*r2);
  const FiveTuple a{kClient, kServer, 40000, 80, kProtoTcp};
  const Frame syn1 = establish(*r1, kClient, 40000);
  // r3's client: a port of the same class, and r1's port pair on the WAN (re-signed).
  uint16_t sport3 = 40000;
  while (affinity_class(FiveTuple{kClient3, kServer, sport3, 80, kProtoTcp}) != affinity_class(a)) ++sport3;
  Frame syn3 = r3->send_one(kLan, to_server(kClient3, sport3, 0x02, "", *r3));
  const Frame syn1v4 = l4_as_v4(syn1);
  Frame v4 = l4_as_v4(syn3);
  put16(v4.raw.data() + 34, syn1v4.sport());
  put16(v4.raw.data() + 36, syn1v4.dport());
  resign(v4, kKey23);
  r2->send_one(kWan, with_l4_of(syn3, v4).raw);
  ASSERT_EQ(r2->count(Counter::sessions_created), 2u) << r2->drops();
  if (mid_sweep) release_slice();
  Session* s1 = session_at(*r2, kClient, 40000, false);
  Session* s3 = session_at(*r2, kClient3, sport3, false);
  ASSERT_TRUE(s1 && s3);
  ASSERT_EQ(s1->out_rev.tuple.sport, s3->out_rev.tuple.sport);
  ASSERT_EQ(s1->out_rev.tuple.dport, s3->out_rev.tuple.dport);
  EXPECT_EQ(s1->out_rev.tuple.dst, waypoint6_peer_standin(0, 0));
  EXPECT_EQ(s3->out_rev.tuple.dst, waypoint6_peer_standin(1, 0));

  if (mid_sweep)
    publish(*r2, hub_config({"r3", "r1"}));
  else
    r2->commit(hub_config({"r3", "r1"}));
  // r3's answer leaves with r1's port pair: r3 knows its session by the pair it sent.
  const auto answer3 = to_client(kClient3, sport3, 0x12, "");
  Frame w3 = r2->send_one(kLan, answer3);
  const Ipv6View v3 = parse_ipv6_packet(w3.raw.data(), static_cast<uint32_t>(w3.raw.size()), 14);
  EXPECT_EQ(v3.dst, ip6(kR3Wan6)) << "client 10.1.0.6's session still answers to r3";
  EXPECT_EQ(s3->out_rev.tuple.dst, waypoint6_peer_standin(0, 0)) << "r3 is peer 0 now";
  EXPECT_EQ(s1->out_rev.tuple.dst, waypoint6_peer_standin(1, 0)) << "r1 is peer 1 now";
  EXPECT_EQ(r2->worker().table().lookup(wan_key(*s1)).session, s1);
  EXPECT_EQ(r2->worker().table().lookup(wan_key(*s3)).session, s3);
  forward(*r1, kR1Wan6, kClient, 40000, "r1's session");
  back(*r1, kR1Wan6, kClient, 40000, "r1's answer");
  EXPECT_EQ(r2->count(Counter::sessions_policy_closed), 0u);
  EXPECT_EQ(r2->count(Counter::sessions_created), 2u);
  EXPECT_EQ(r2->worker().table().size(), 2u);
  EXPECT_EQ(r2->total_drops(), 0u) << r2->drops();
}

INSTANTIATE_TEST_SUITE_P(AfterOrMidSweep, StandinSwap, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "MidSweep" : "AfterSweep"; });

// --- IPv6 sessions between IPv6 waypoints -----------------------------------------------

constexpr const char* kV6Client = "2001:db8:71::5";
constexpr const char* kV6Server = "2001:db8:72::10";
constexpr Mac kV6ServerMac = {2, 0, 0, 0, 0x72, 0x10};

config::Config v6_config(bool r1, bool r0_first = false) {
  config::Config c = router_base(r1 ? "r1" : "r2", r1 ? "10.1.0.1/24" : "10.2.0.1/24",
                                 {{"wan0", r1 ? "172.16.0.1/24" : "172.16.0.2/24"}});
  c.mutable_router()->mutable_lan()->add_ipv6_addresses(r1 ? "2001:db8:71::1/64" : "2001:db8:72::1/64");
  c.mutable_router()->mutable_wan(0)->add_ipv6_addresses(r1 ? "2001:db8:70::1/64" : "2001:db8:70::2/64");
  add_v6_tenants(c);
  add_service(c, {"web6", "2001:db8:72::/64", "tcp", "80", r1 ? "r2" : ""});
  add_policy(c, "v6", "web6", "");
  if (r0_first) add_peer(c, "r0", {kOther6}, kKey0);
  add_peer(c, r1 ? "r2" : "r1", {r1 ? kR2Wan6 : kR1Wan6}, kKey12);
  return c;
}

// The client's IPv6 packet reaches its IPv4 SVR session through its Session6 (Svr6Lan::from_lan),
// which re-checks it before use: after r1 listed r0 first, mid-sweep, it still leaves to r2.
TEST(Standin6, ReorderedPeersMidSweepForAnIpv6Session) {
  std::string err;
  auto m = RouterModel::build(v6_config(true, true), nullptr, nullptr, test_hmac(), err);
  ASSERT_TRUE(m) << err;
  Router r1(v6_config(true), big());
  Router r2(v6_config(false));
  learn6_on(r1, 1, ip6(kR2Wan6), kR2Mac);
  learn6_on(r1, 1, ip6(kOther6), kOtherMac);
  learn6_on(r2, 1, ip6(kR1Wan6), kR1Mac);
  learn6_on(r1, 0, ip6(kV6Client), kRouteClientMac);
  learn6_on(r2, 0, ip6(kV6Server), kV6ServerMac);
  const auto frame = [](Router& r, const Mac& from, const Pkt6& p) {
    std::vector<uint8_t> f = v6_checksummed(p.bytes());
    std::memcpy(f.data(), r.model().interfaces[0].mac, 6);
    std::memcpy(f.data() + 6, from.data(), 6);
    return f;
  };
  const auto to_server = [&](uint8_t flags, const char* data) {
    return frame(r1, kRouteClientMac, Pkt6().ipv6(kV6Client, kV6Server, 64).tcp(40000, 80, flags).payload(data));
  };
  std::vector<Session*> held;
  for (uint32_t i = 0; i < PolicyRecheck::kSlice + 5; ++i) held.push_back(r1.worker().table().allocate());
  r2.send_one(kWan, r1.send_one(kLan, to_server(0x02, "")).raw);
  const auto synack =
      frame(r2, kV6ServerMac, Pkt6().ipv6(kV6Server, kV6Client, 64).tcp(80, 40000, 0x12).payload(""));
  r1.send_one(kWan, r2.send_one(kLan, synack).raw);
  for (Session* s : held) r1.worker().table().release(s);

  r1.shared().model.store(m.get(), std::memory_order_release);
  r1.idle();
  const auto data = to_server(0x10, "after the commit");
  Frame w = r1.send_one(kLan, data);
  const Ipv6View v = parse_ipv6_packet(w.raw.data(), static_cast<uint32_t>(w.raw.size()), 14);
  EXPECT_EQ(v.dst, ip6(kR2Wan6)) << "r2's waypoint (0.255.0.0 is r0's now)";
  EXPECT_EQ(r1.count(Counter::sessions_rechecked), 1u) << "re-checked by its IPv6 packet";
  expect_restored6(data, r2.send_one(kWan, w.raw));
  const auto answer =
      frame(r2, kV6ServerMac, Pkt6().ipv6(kV6Server, kV6Client, 64).tcp(80, 40000, 0x10).payload("answer"));
  expect_restored6(answer, r1.send_one(kWan, r2.send_one(kLan, answer).raw));
  EXPECT_EQ(r1.total_drops(), 0u) << r1.drops();
  EXPECT_EQ(r2.total_drops(), 0u) << r2.drops();
  for (int i = 0; i < 3; ++i) r1.idle();
  EXPECT_EQ(r1.worker().counters().model_settled.load(), reinterpret_cast<uintptr_t>(m.get()));
}

// --- waypoint6_renumber, on models alone -------------------------------------------------

TEST(Waypoint6Renumber, ByPeerNameAndAddressOwnAndGone) {
  Router before(site_config("r1", 1));
  config::Config c = site_config("r1", 1, true);
  c.mutable_peers(1)->add_waypoints(kR3Wan6);  // r2: [::2, ::3]
  Router after(c);
  const RouterModel& a = before.model();
  const RouterModel& b = after.model();
  EXPECT_EQ(waypoint6_renumber(a, b, waypoint6_peer_standin(0, 0)), waypoint6_peer_standin(1, 0));
  EXPECT_EQ(waypoint6_renumber(b, a, waypoint6_peer_standin(1, 0)), waypoint6_peer_standin(0, 0)) << "and back";
  EXPECT_EQ(waypoint6_renumber(b, a, waypoint6_peer_standin(0, 0)), 0u) << "r0's: gone";
  EXPECT_EQ(waypoint6_renumber(b, a, waypoint6_peer_standin(1, 1)), 0u) << "r2's ::3: gone";
  EXPECT_EQ(waypoint6_renumber(a, b, waypoint6_peer_standin(0, 1)), 0u) << "named nothing";
  EXPECT_EQ(waypoint6_renumber(a, b, waypoint6_own_standin(1)), waypoint6_own_standin(1)) << "ours";
  EXPECT_EQ(waypoint6_renumber(a, b, waypoint6_own_standin(2)), 0u) << "no IPv6 waypoint on interface 2";
  // The same address under another peer's name is not the session's waypoint.
  config::Config moved = site_config("r1", 1);
  moved.mutable_peers(0)->set_name("r9");
  moved.mutable_services(0)->set_next_peer("r9");
  EXPECT_EQ(waypoint6_renumber(a, Router(moved).model(), waypoint6_peer_standin(0, 0)), 0u);
  EXPECT_EQ(waypoint6_of(a, kWaypoint6Gone), nullptr);
}

}  // namespace
}  // namespace wp
