// Path migration of an IPv6 session between IPv4 waypoints (docs/ipv6.md § IPv6 sessions
// between IPv4 waypoints; svr/migration.h): the session moves to the other path with ports
// of its IPv6 tuple's affinity class (not its internal tuple's), and the egress re-binds it by
// its TLV 3 context and UUID instead of taking it for a new session.
// Paths over IPv6 waypoints (docs/ipv6.md § Paths over IPv6 waypoints): the path table's
// IPv6 waypoints' paths, ranked apart from IPv4's; v6-in-v6 and v4-in-v6 sessions moving
// between them and re-bound at the egress by UUID.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>

#include "dataplane/control/waypoint6_addr.h"
#include "dataplane/ip/nat64_packet.h"
#include "dataplane/paths/path_monitor.h"
#include "dataplane/paths/path_table.h"
#include "dataplane/session/owner.h"
#include "dataplane/svr/metadata.h"
#include "tests/unit/out6_frame.h"
#include "tests/unit/route6_test_config.h"
#include "tests/unit/svr6_frames.h"
#include "tests/unit/two_path_config.h"

namespace wp {
namespace {

using namespace test;

constexpr const char* kClient6 = "2001:db8:71::5";
constexpr const char* kServer6 = "2001:db8:72::10";
constexpr Mac kServer6Mac = {2, 0, 0, 0, 0x72, 0x10};

// two_path_config with an IPv6 service over r2 that prefers mpls, as web does.
config::Config two_path_config6(bool r1) {
  config::Config c = two_path_config(r1);
  c.mutable_router()->mutable_lan()->add_ipv6_addresses(r1 ? "2001:db8:71::1/64" : "2001:db8:72::1/64");
  add_v6_tenants(c);
  config::Service* s = add_service(c, {"web6", "2001:db8:72::/64", "tcp", "80", r1 ? "r2" : ""});
  if (r1) s->add_paths("mpls"), s->add_paths("internet");
  add_policy(c, "v6", "web6", "");
  return c;
}

// The IPv6 client behind r1 and the server behind r2 (TCP 40000 -> 80), both known to their router.
struct Hosts6 {
  Router &r1, &r2;
  Hosts6(Router& a, Router& b) : r1(a), r2(b) {
    learn6_on(r1, kLan, ip6(kClient6), kRouteClientMac);
    learn6_on(r2, kLan, ip6(kServer6), kServer6Mac);
  }
  static uint32_t cls() { return affinity_class6(FiveTuple6{ip6(kClient6), ip6(kServer6), 40000, 80, kProtoTcp}); }
  std::vector<uint8_t> client(uint8_t flags, const char* data) const {
    return lan_frame6(r1, kRouteClientMac, Pkt6().ipv6(kClient6, kServer6, 64).tcp(40000, 80, flags).payload(data));
  }
  std::vector<uint8_t> server(uint8_t flags, const char* data) const {
    return lan_frame6(r2, kServer6Mac, Pkt6().ipv6(kServer6, kClient6, 64).tcp(80, 40000, flags).payload(data));
  }
};

TEST(Svr6Paths, Ipv6SessionMovesInItsOwnClassAndIsReboundAtTheEgress) {
  Router r1(two_path_config6(true), RouterOptions().with_monitored_paths());
  Router r2(two_path_config6(false), RouterOptions().with_monitored_paths());
  for (uint16_t w : {kWanA, kWanB}) {
    r1.neighbor(w, ip(w == kWanA ? "172.16.0.2" : "172.17.0.2"), kR2Mac);
    r2.neighbor(w, ip(w == kWanA ? "172.16.0.1" : "172.17.0.1"), kR1Mac);
  }
  const Hosts6 h(r1, r2);
  const uint32_t cls = Hosts6::cls();

  // Set-up on mpls: TLV 3, ports of the IPv6 tuple's class.
  Frame syn = r1.send_one(kLan, h.client(0x02, "GET /"));
  ASSERT_EQ(syn.port, kWanA);
  Metadata first;
  ASSERT_EQ(decode_metadata(syn.data(), syn.data_len(), first), MetadataStatus::ok);
  ASSERT_TRUE(first.has_forward_context6);
  EXPECT_EQ(class_of_port(syn.sport()), cls);
  EXPECT_EQ(Out6(r2.send_one(kWanA, syn.raw)).payload_string(), "GET /");
  Frame synack = r2.send_one(kLan, h.server(0x12, "200 OK"));
  ASSERT_EQ(synack.port, kWanA);
  EXPECT_EQ(Out6(r1.send_one(kWanA, synack.raw)).payload_string(), "200 OK");
  Frame steady = r1.send_one(kLan, h.client(0x10, "hello"));
  EXPECT_EQ(Out6(r2.send_one(kWanA, steady.raw)).payload_string(), "hello");

  // mpls goes down: the next packet leaves on internet with metadata, same UUID, same class.
  r1.set_usable("mpls", false);
  Frame moved = r1.send_one(kLan, h.client(0x10, "again"));
  ASSERT_EQ(moved.port, kWanB);
  EXPECT_EQ(moved.src(), ip("172.17.0.1"));
  EXPECT_EQ(class_of_port(moved.sport()), cls) << "the IPv6 tuple's class, not the internal tuple's";
  EXPECT_EQ(class_of_port(moved.dport()), cls);
  Metadata md;
  ASSERT_EQ(decode_metadata(moved.data(), moved.data_len(), md), MetadataStatus::ok);
  EXPECT_TRUE(md.has_forward_context6);
  EXPECT_EQ(md.uuid, first.uuid);
  EXPECT_EQ(r1.count(Counter::path_migrations), 1u);

  // r2 re-binds the session it has (no new one) and delivers; its answer goes back on internet.
  const uint64_t created = r2.count(Counter::sessions_created);
  Out6 delivered(r2.send_one(kWanB, moved.raw));
  EXPECT_EQ(delivered.v.src, ip6(kClient6));
  EXPECT_EQ(delivered.payload_string(), "again");
  EXPECT_TRUE(delivered.checksum_ok());
  EXPECT_EQ(r2.count(Counter::sessions_created), created);
  EXPECT_EQ(r2.count(Counter::path_rebinds), 1u);
  Frame back = r2.send_one(kLan, h.server(0x10, "ok"));
  EXPECT_EQ(back.port, kWanB);
  Out6 got(r1.send_one(kWanB, back.raw));
  EXPECT_EQ(got.v.src, ip6(kServer6));
  EXPECT_EQ(got.payload_string(), "ok");
  EXPECT_EQ(r1.total_drops(), 0u) << r1.drops();
  EXPECT_EQ(r2.total_drops(), 0u) << r2.drops();
}


// --- paths over IPv6 waypoints ---------------------------------------------------

// two_path_config6 with IPv6 waypoints on both WAN links (mpls 2001:db8:70::/64, internet
// 2001:db8:80::/64); `only6`: the peer lists its IPv6 waypoints only (IPv4 sessions ride them).
config::Config two_path_config6w(bool r1, bool only6) {
  config::Config c = two_path_config6(r1);
  c.mutable_router()->mutable_wan(0)->add_ipv6_addresses(r1 ? "2001:db8:70::1/64" : "2001:db8:70::2/64");
  c.mutable_router()->mutable_wan(1)->add_ipv6_addresses(r1 ? "2001:db8:80::1/64" : "2001:db8:80::2/64");
  config::Peer* p = c.mutable_peers(0);
  if (only6) p->clear_waypoints();
  p->add_waypoints(r1 ? "2001:db8:70::2" : "2001:db8:70::1");
  p->add_waypoints(r1 ? "2001:db8:80::2" : "2001:db8:80::1");
  return c;
}

// The path over the IPv6 (v6) or IPv4 waypoints on WAN interface `name`.
int path_of(Router& r, const char* name, bool v6) {
  for (size_t i = 0; i < r.paths().size(); ++i)
    if (r.paths().path(i).name == name && r.paths().path(i).v6 == v6) return static_cast<int>(i);
  return -1;
}

void set_usable6(Router& r, const char* name, bool up) {
  r.paths().live(static_cast<size_t>(path_of(r, name, true))).usable.store(up);
  r.paths().recompute();
}

// The IPv6 WAN frame `f` between waypoints `src` and `dst`: its metadata (`v4` holds the IPv4 form).
MetadataStatus wan6_md(const Frame& f, const char* src, const char* dst, Metadata& md, Frame& v4) {
  const Ipv6View v = parse_ipv6_packet(f.raw.data(), static_cast<uint32_t>(f.raw.size()), 14);
  EXPECT_EQ(v.status, Ipv6Status::ok);
  EXPECT_EQ(v.src, ip6(src));
  EXPECT_EQ(v.dst, ip6(dst));
  v4 = l4_as_v4(f);
  return decode_metadata(v4.data(), v4.data_len(), md);
}

// Two routers with IPv6 waypoints on both links, every path usable, both neighbours known.
struct TwoPaths6 {
  Router r1, r2;
  explicit TwoPaths6(bool only6)
      : r1(two_path_config6w(true, only6), RouterOptions().with_monitored_paths()),
        r2(two_path_config6w(false, only6), RouterOptions().with_monitored_paths()) {
    for (uint16_t w : {kWanA, kWanB}) {
      const char* net = w == kWanA ? "2001:db8:70::" : "2001:db8:80::";
      learn6_on(r1, w, ip6((std::string(net) + "2").c_str()), kR2Mac);
      learn6_on(r2, w, ip6((std::string(net) + "1").c_str()), kR1Mac);
      r1.neighbor(w, ip(w == kWanA ? "172.16.0.2" : "172.17.0.2"), kR2Mac);
      r2.neighbor(w, ip(w == kWanA ? "172.16.0.1" : "172.17.0.1"), kR1Mac);
    }
  }
};

TEST(Svr6Paths, TheIpv6WaypointsPathsAreRankedApartFromIpv4s) {
  TwoPaths6 t(false);
  PathTable& pt = t.r1.paths();
  ASSERT_EQ(pt.size(), 4u) << "mpls and internet over IPv4 waypoints, then over IPv6 ones";
  const int m4 = path_of(t.r1, "mpls", false), m6 = path_of(t.r1, "mpls", true), i6 = path_of(t.r1, "internet", true);
  ASSERT_GE(m6, 0);
  ASSERT_GE(i6, 0);
  EXPECT_EQ(pt.find(0, kWanA, true), m6);
  EXPECT_EQ(pt.find(0, kWanA), m4);
  EXPECT_EQ(pt.path(m6).remote6, ip6("2001:db8:70::2"));
  EXPECT_EQ(pt.path(m6).local6, ip6("2001:db8:70::1"));
  EXPECT_EQ(pt.path(i6).remote6, ip6("2001:db8:80::2"));
  EXPECT_TRUE(is_waypoint6_standin(pt.path(m6).remote));
  EXPECT_TRUE(pt.has_paths6(0));
  size_t web6 = 0;
  while (t.r1.model().services[web6].name != "web6") ++web6;
  EXPECT_EQ(pt.pick(web6, 0, true), m6) << "mpls preferred";
  EXPECT_EQ(pt.pick(web6, 0, false), m4);
  // mpls's IPv6 path down: IPv6 sessions leave it for internet's, IPv4 ones stay on mpls.
  set_usable6(t.r1, "mpls", false);
  EXPECT_TRUE(pt.should_leave(web6, m6));
  EXPECT_FALSE(pt.should_leave(web6, m4));
  EXPECT_EQ(pt.pick(web6, 0, true), i6);
  EXPECT_EQ(pt.pick(web6, 0, false), m4);
  set_usable6(t.r1, "internet", false);
  EXPECT_EQ(pt.pick(web6, 0, true), -1) << "never an IPv4 waypoint's path for a session on IPv6 ones";
}

TEST(Svr6Paths, SessionBetweenIpv6WaypointsMovesAndIsReboundAtTheEgress) {
  TwoPaths6 t(false);
  Router &r1 = t.r1, &r2 = t.r2;
  const Hosts6 h(r1, r2);
  const uint32_t cls = Hosts6::cls();

  Frame syn = r1.send_one(kLan, h.client(0x02, "GET /"));
  ASSERT_EQ(syn.port, kWanA) << "mpls's IPv6 waypoints, preferred";
  Metadata first;
  Frame v4;
  ASSERT_EQ(wan6_md(syn, "2001:db8:70::1", "2001:db8:70::2", first, v4), MetadataStatus::ok);
  ASSERT_TRUE(first.has_forward_context6);
  EXPECT_EQ(Out6(r2.send_one(kWanA, syn.raw)).payload_string(), "GET /");
  Frame synack = r2.send_one(kLan, h.server(0x12, "200 OK"));
  ASSERT_EQ(synack.port, kWanA);
  EXPECT_EQ(Out6(r1.send_one(kWanA, synack.raw)).payload_string(), "200 OK");

  // mpls's IPv6 path goes down: the next packet leaves on internet's IPv6 waypoints with TLV 3.
  set_usable6(r1, "mpls", false);
  Frame moved = r1.send_one(kLan, h.client(0x10, "again"));
  ASSERT_EQ(moved.port, kWanB);
  Metadata md;
  ASSERT_EQ(wan6_md(moved, "2001:db8:80::1", "2001:db8:80::2", md, v4), MetadataStatus::ok);
  EXPECT_TRUE(md.has_forward_context6);
  EXPECT_EQ(md.uuid, first.uuid);
  EXPECT_EQ(class_of_port(v4.sport()), cls) << "the IPv6 tuple's class";
  EXPECT_EQ(class_of_port(v4.dport()), cls);
  EXPECT_EQ(r1.count(Counter::path_migrations), 1u);
  EXPECT_EQ(r1.paths().counters(0, static_cast<size_t>(path_of(r1, "internet", true))).migrated_in.load(), 1u);

  // r2 re-binds the session it has and delivers; its answer goes back on internet's IPv6 waypoints.
  const uint64_t created = r2.count(Counter::sessions_created);
  Out6 delivered(r2.send_one(kWanB, moved.raw));
  EXPECT_EQ(delivered.v.src, ip6(kClient6));
  EXPECT_EQ(delivered.payload_string(), "again");
  EXPECT_TRUE(delivered.checksum_ok());
  EXPECT_EQ(r2.count(Counter::sessions_created), created) << "no new session";
  EXPECT_EQ(r2.count(Counter::path_rebinds), 1u);
  Frame back = r2.send_one(kLan, h.server(0x10, "ok"));
  ASSERT_EQ(back.port, kWanB);
  Metadata rmd;
  EXPECT_EQ(wan6_md(back, "2001:db8:80::2", "2001:db8:80::1", rmd, v4), MetadataStatus::ok) << "TLV 5 and the ack";
  Out6 got(r1.send_one(kWanB, back.raw));
  EXPECT_EQ(got.v.src, ip6(kServer6));
  EXPECT_EQ(got.payload_string(), "ok");
  EXPECT_EQ(r1.total_drops(), 0u) << r1.drops();
  EXPECT_EQ(r2.total_drops(), 0u) << r2.drops();
}

TEST(Svr6Paths, Ipv4SessionOverIpv6WaypointsMovesAndIsReboundAtTheEgress) {
  TwoPaths6 t(true);
  Router &r1 = t.r1, &r2 = t.r2;
  r1.neighbor(kLan, kClient, kClientMac);
  r2.neighbor(kLan, kServer, kServerMac);
  auto client = [](uint8_t flags, uint32_t seq, const char* data) {
    return Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, kServer).tcp(40001, 80, flags, seq, 1).payload(data).bytes();
  };
  auto server = [](uint8_t flags, uint32_t seq, const char* data) {
    return Pkt().eth(kR2Mac, kServerMac).ipv4(kServer, kClient).tcp(80, 40001, flags, seq, 1).payload(data).bytes();
  };
  const uint32_t cls = affinity_class(FiveTuple{kClient, kServer, 40001, 80, kProtoTcp});

  Frame syn = r1.send_one(kLan, client(0x02, 100, "GET /"));
  ASSERT_EQ(syn.port, kWanA);
  Metadata first;
  Frame v4;
  ASSERT_EQ(wan6_md(syn, "2001:db8:70::1", "2001:db8:70::2", first, v4), MetadataStatus::ok);
  ASSERT_TRUE(first.has_forward_context) << "TLV 2";
  EXPECT_EQ(r2.send_one(kWanA, syn.raw).payload_string(), "GET /");
  Frame synack = r2.send_one(kLan, server(0x12, 500, "200 OK"));
  ASSERT_EQ(synack.port, kWanA);
  EXPECT_EQ(r1.send_one(kWanA, synack.raw).payload_string(), "200 OK");

  set_usable6(r1, "mpls", false);
  Frame moved = r1.send_one(kLan, client(0x10, 106, "again"));
  ASSERT_EQ(moved.port, kWanB);
  Metadata md;
  ASSERT_EQ(wan6_md(moved, "2001:db8:80::1", "2001:db8:80::2", md, v4), MetadataStatus::ok);
  EXPECT_TRUE(md.has_forward_context) << "TLV 2 again, for the re-bind";
  EXPECT_EQ(md.uuid, first.uuid);
  EXPECT_EQ(class_of_port(v4.sport()), cls);
  EXPECT_EQ(class_of_port(v4.dport()), cls);
  EXPECT_EQ(r1.count(Counter::path_migrations), 1u);

  const uint64_t created = r2.count(Counter::sessions_created);
  Frame delivered = r2.send_one(kWanB, moved.raw);
  EXPECT_EQ(delivered.port, kLan);
  EXPECT_EQ(delivered.src(), kClient);
  EXPECT_EQ(delivered.payload_string(), "again");
  EXPECT_EQ(r2.count(Counter::sessions_created), created) << "no new session";
  EXPECT_EQ(r2.count(Counter::path_rebinds), 1u);
  Frame back = r2.send_one(kLan, server(0x10, 507, "ok"));
  ASSERT_EQ(back.port, kWanB);
  EXPECT_EQ(r1.send_one(kWanB, back.raw).payload_string(), "ok");
  EXPECT_EQ(r1.total_drops(), 0u) << r1.drops();
  EXPECT_EQ(r2.total_drops(), 0u) << r2.drops();
}

// What a PathMonitor sent: frames by interface, and their next hops.
struct Wire {
  std::vector<std::pair<int, rte_mbuf*>> frames;
  std::vector<Ipv6> hops;
  static void send4(void*, rte_mbuf* m, int, Ipv4) {
    rte_pktmbuf_free(m);
    ADD_FAILURE() << "IPv4 BFD on a path over IPv6 waypoints";
  }
  static void send6(void* ctx, rte_mbuf* m, int iface, const Ipv6& nh) {
    auto* w = static_cast<Wire*>(ctx);
    w->frames.emplace_back(iface, m);
    w->hops.push_back(nh);
  }
  void attach(PathMonitor& pm) {
    pm.set_sender(send4, this);
    pm.set_sender6(send6);
  }
  // Hands every frame to `to` but those on `cut`, which are lost.
  void deliver(PathMonitor& to, uint64_t now_us, int cut = -1) {
    for (auto [iface, m] : frames)
      if (iface == cut || !to.input6(m, iface, now_us)) rte_pktmbuf_free(m);
    frames.clear();
    hops.clear();
  }
  void clear() {
    for (auto [iface, m] : frames) rte_pktmbuf_free(m);
    frames.clear();
    hops.clear();
  }
};

TEST(Svr6Paths, BfdBetweenIpv6WaypointsDecidesThePaths) {
  TwoPaths6 t(true);  // the peer lists IPv6 waypoints only: its paths are over those
  PathTable &pt1 = t.r1.paths(), &pt2 = t.r2.paths();
  ASSERT_EQ(pt1.size(), 2u);
  for (size_t i = 0; i < 2; ++i) pt1.live(i).usable.store(false), pt2.live(i).usable.store(false);
  pt1.recompute();
  pt2.recompute();
  PathMonitor m1(pt1, PathMonitorConfig{}, test_pool(), 1), m2(pt2, PathMonitorConfig{}, test_pool(), 2);
  Wire w1, w2;
  w1.attach(m1);
  w2.attach(m2);
  const int mpls = path_of(t.r1, "mpls", true), inet = path_of(t.r1, "internet", true);
  uint64_t now = 1000000;
  m1.poll(now);
  ASSERT_FALSE(w1.frames.empty());
  {
    // The first control packet on mpls: IPv6 between the waypoints, hop limit 255, UDP 3784.
    auto [iface, m] = w1.frames[0];
    EXPECT_EQ(iface, kWanA);
    EXPECT_EQ(w1.hops[0], ip6("2001:db8:70::2")) << "on-link: the peer waypoint itself";
    uint8_t* d = rte_pktmbuf_mtod(m, uint8_t*);
    EXPECT_EQ(get16(d + 12), kEtherTypeIpv6);
    const Ipv6View v = parse_ipv6_packet(d, m->data_len, 14);
    ASSERT_EQ(v.status, Ipv6Status::ok);
    EXPECT_EQ(v.hop_limit, 255) << "RFC 5881 § 5";
    EXPECT_EQ(v.src, ip6("2001:db8:70::1"));
    EXPECT_EQ(v.dst, ip6("2001:db8:70::2"));
    EXPECT_EQ(v.proto, kProtoUdp);
    EXPECT_EQ(v.dport, kBfdPort);
    EXPECT_GE(v.sport, kBfdSourcePortMin);
    std::vector<uint8_t> udp(d + v.l4, d + v.end);
    const uint16_t sent = get16(udp.data() + 6);
    udp[6] = udp[7] = 0;
    EXPECT_EQ(sent, l4_checksum6(v.src, v.dst, kProtoUdp, udp.data(), static_cast<uint32_t>(udp.size())));
    // One hop further away (hop limit 254), or a bad checksum: discarded, no state moves.
    for (int bad = 0; bad < 2; ++bad) {
      rte_mbuf* c = rte_pktmbuf_copy(m, test_pool(), 0, UINT32_MAX);
      ASSERT_NE(c, nullptr);
      uint8_t* cd = rte_pktmbuf_mtod(c, uint8_t*);
      if (bad == 0) cd[14 + 7] = 254;
      else cd[v.l4 + 6] ^= 1;
      EXPECT_TRUE(m2.input6(c, kWanA, now));
    }
    EXPECT_EQ(pt2.live(static_cast<size_t>(path_of(t.r2, "mpls", true))).bfd_discards.load(), 2u);
    EXPECT_EQ(pt2.live(static_cast<size_t>(path_of(t.r2, "mpls", true))).bfd_rx.load(), 0u);
  }
  auto run = [&](uint64_t until, int cut) {
    for (; now < until; now += 10000) {
      m1.poll(now);
      m2.poll(now);
      w1.deliver(m2, now, cut);
      w2.deliver(m1, now, cut);
    }
  };
  run(6000000, -1);
  EXPECT_TRUE(pt1.live(static_cast<size_t>(mpls)).usable.load());
  EXPECT_TRUE(pt1.live(static_cast<size_t>(inet)).usable.load());
  EXPECT_EQ(pt1.live(static_cast<size_t>(mpls)).bfd_state.load(), static_cast<uint8_t>(BfdState::up));
  EXPECT_GT(pt1.live(static_cast<size_t>(inet)).probes_rx.load(), 0u) << "probes reflected over IPv6 too";
  size_t web = 0;
  while (t.r1.model().services[web].name != "web") ++web;
  EXPECT_EQ(pt1.pick(web, 0, true), mpls) << "preferred";
  // mpls loses everything: BFD takes it down, sessions go to internet.
  run(12000000, kWanA);
  EXPECT_FALSE(pt1.live(static_cast<size_t>(mpls)).usable.load());
  EXPECT_GE(pt1.live(static_cast<size_t>(mpls)).went_down.load(), 1u);
  EXPECT_TRUE(pt1.live(static_cast<size_t>(inet)).usable.load());
  EXPECT_TRUE(pt1.should_leave(web, mpls));
  EXPECT_EQ(pt1.pick(web, 0, true), inet);
  // mpls heals (back after the hold-down); then its route goes: down at once, BFD still Up.
  run(20000000, -1);
  ASSERT_TRUE(pt1.live(static_cast<size_t>(mpls)).usable.load());
  m1.set_route_check([](void*, const PathModel& p) { return p.iface != kWanA; });
  run(20300000, -1);
  EXPECT_EQ(pt1.live(static_cast<size_t>(mpls)).bfd_state.load(), static_cast<uint8_t>(BfdState::up));
  EXPECT_FALSE(pt1.live(static_cast<size_t>(mpls)).usable.load()) << "no route to the peer's IPv6 waypoint";
  EXPECT_TRUE(pt1.live(static_cast<size_t>(inet)).usable.load());
  EXPECT_EQ(pt1.pick(web, 0, true), inet);
  w1.clear();
  w2.clear();
}

}  // namespace
}  // namespace wp
