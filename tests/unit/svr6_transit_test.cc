// IPv6 sessions between IPv4 waypoints through a transit router (dataplane/svr/svr6_lan.h
// bind_transit, docs/ipv6.md § IPv6 sessions between IPv4 waypoints, **Transit**): real
// workers of three routers, frames carried between them by the test.
//
//   client 2001:db8:71::5 - [r1] 172.16.0.1 ==WAN== 172.16.0.2 [r2] ==WAN== 172.16.0.3 [r3] - server 2001:db8:72::10
//
// r2's services point at r3 (next_peer): it checks its own tenant -> service policy, re-NATs
// the session to its waypoint pair with r3 (ports of the IPv6 tuple's class), keeps TLV 3 / 5
// and signs each leg with that leg's pair key.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/ip/icmp.h"
#include "dataplane/svr/metadata.h"
#include "tests/unit/icmp4_error_check.h"
#include "tests/unit/icmp6_error_check.h"
#include "tests/unit/pkt6_builder.h"
#include "tests/unit/route6_test_config.h"
#include "tests/unit/svr6_export_check.h"
#include "tests/unit/svr6_frames.h"
#include "tests/unit/svr_harness.h"

namespace wp {
namespace {

using namespace test;

constexpr const char* kClient6 = "2001:db8:71::5";
constexpr const char* kServer6 = "2001:db8:72::10";
constexpr Mac kServer6Mac = {2, 0, 0, 0, 0x72, 0x10};

constexpr const char* kBeyond6 = "2001:db8:99::1";  // a router past r3, toward the server
const Ipv4 kBeyond4 = ip("10.2.0.254");

constexpr const char* kWan6[] = {"", "2001:db8:70::1", "2001:db8:70::2", "2001:db8:70::3"};

// r1 -> r2 -> r3; at r2 the policy for dns6 is missing (denied at the transit hop) and ssh6
// points at r4, whose waypoint no route reaches. IPv4 service "echo" (UDP 5201 to 10.2.0.0/24)
// takes the same path. `wan6`: every WAN interface also has an IPv6 waypoint and the peers list
// only their IPv6 waypoints, so IPv4 and IPv6 sessions both ride IPv6 waypoints on both legs.
config::Config transit6_config(int r, bool wan6 = false) {
  const char* name = r == 1 ? "r1" : r == 2 ? "r2" : "r3";
  const char* wan = r == 1 ? "172.16.0.1/24" : r == 2 ? "172.16.0.2/24" : "172.16.0.3/24";
  const char* lan = r == 1 ? "10.1.0.1/24" : r == 2 ? "10.3.0.1/24" : "10.2.0.1/24";
  config::Config c = router_base(name, lan, {{"wan0", wan}});
  if (wan6) c.mutable_router()->mutable_wan(0)->add_ipv6_addresses(std::string(kWan6[r]) + "/64");
  const auto wp = [wan6](int n, const char* v4) { return wan6 ? kWan6[n] : v4; };
  c.mutable_router()->mutable_lan()->add_ipv6_addresses(r == 1   ? "2001:db8:71::1/64"
                                                        : r == 2 ? "2001:db8:73::1/64"
                                                                 : "2001:db8:72::1/64");
  add_v6_tenants(c);
  const char* next = r == 1 ? "r2" : r == 2 ? "r3" : "";
  add_service(c, {"web6", "2001:db8:72::/64", "tcp", "80", next});
  add_service(c, {"dns6", "2001:db8:72::/64", "udp", "53", next});
  add_policy(c, "v6", "web6", "");
  if (r != 2) add_policy(c, "v6", "dns6", "");
  if (r != 3) {
    add_service(c, {"ssh6", "2001:db8:72::/64", "tcp", "22", r == 1 ? "r2" : "r4"});
    add_policy(c, "v6", "ssh6", "");
  }
  add_tenant(c, "branch", "10.1.0.0/25");
  add_service(c, {"echo", "10.2.0.0/24", "udp", "5201", next});
  add_policy(c, "branch", "echo", "");
  if (r == 1) add_peer(c, "r2", {wp(2, "172.16.0.2")}, kKey12);
  if (r == 2) {
    add_peer(c, "r1", {wp(1, "172.16.0.1")}, kKey12);
    add_peer(c, "r3", {wp(3, "172.16.0.3")}, kKey23);
    add_peer(c, "r4", {"192.0.2.4"}, kKey23);  // no route to it
  }
  if (r == 3) add_peer(c, "r2", {wp(2, "172.16.0.2")}, kKey23);
  return c;
}

class Svr6Transit : public ::testing::Test {
 protected:
  void SetUp() override { make(false); }
  void make(bool wan6) {
    r1 = std::make_unique<Router>(transit6_config(1, wan6));
    r2 = std::make_unique<Router>(transit6_config(2, wan6));
    r3 = std::make_unique<Router>(transit6_config(3, wan6));
    r1->neighbor(1, kR2Wan, kR2Mac);
    r2->neighbor(1, kR1Wan, kR1Mac);
    r2->neighbor(1, kR3Wan, kR3Mac);
    r3->neighbor(1, kR2Wan, kR2Mac);
    r1->neighbor(0, kClient, kClientMac);
    r3->neighbor(0, kServer, kServerMac);
    learn6_on(*r1, 0, ip6(kClient6), kRouteClientMac);
    learn6_on(*r3, 0, ip6(kServer6), kServer6Mac);
    if (!wan6) return;
    learn6_on(*r1, 1, ip6(kWan6[2]), kR2Mac);
    learn6_on(*r2, 1, ip6(kWan6[1]), kR1Mac);
    learn6_on(*r2, 1, ip6(kWan6[3]), kR3Mac);
    learn6_on(*r3, 1, ip6(kWan6[2]), kR2Mac);
  }
  std::vector<uint8_t> client_frame(const Pkt6& p) const { return lan_frame6(*r1, kRouteClientMac, p); }
  std::vector<uint8_t> server_frame(const Pkt6& p) const { return lan_frame6(*r3, kServer6Mac, p); }
  // SYN and SYN-ACK of web6 through r1 -> r2 -> r3 and back.
  void open_web6() {
    const auto syn = client_frame(Pkt6().ipv6(kClient6, kServer6, 64).tcp(40000, 80, 0x02));
    EXPECT_EQ(restored_at_r3(syn).port, kLan);
    const auto synack = server_frame(Pkt6().ipv6(kServer6, kClient6, 64).tcp(80, 40000, 0x12));
    EXPECT_EQ(r1->send_one(kWan, r2->send_one(kWan, r3->send_one(kLan, synack).raw).raw).port, kLan);
  }
  // What r3 put on its LAN for the client's `sent`, through r2.
  Frame restored_at_r3(const std::vector<uint8_t>& sent) {
    const Frame lan = r3->send_one(kWan, r2->send_one(kWan, r1->send_one(kLan, sent).raw).raw);
    EXPECT_EQ(lan.port, kLan);
    return lan;
  }
  // An ICMP error about a session's packet into r3's LAN: r3's carrier to r2, and what r2 sends
  // on toward r1 (returned).
  Frame carried_to_r1(const std::vector<uint8_t>& error) {
    const Frame c3 = r3->send_one(kLan, error);
    EXPECT_EQ(c3.port, kWan) << r3->drops();
    const Frame c2 = r2->send_one(kWan, c3.raw);
    EXPECT_EQ(c2.port, kWan) << r2->drops();
    return c2;
  }
  // web6 opened, the client's `seg` restored at r3, and a router past r3's Packet Too Big (MTU
  // 1300) about it, as it reaches r3's LAN.
  std::vector<uint8_t> packet_too_big_at_r3(const std::vector<uint8_t>& seg) {
    open_web6();
    const Frame restored = restored_at_r3(seg);
    const std::vector<uint8_t> h = {kIcmp6PacketTooBig, 0, 0, 0, 0, 0, 0x05, 0x14};
    std::vector<uint8_t> quote(restored.raw.begin() + 14, restored.raw.end());
    quote.resize(std::min<size_t>(quote.size(), kIcmp6ErrorMax - 48));
    return server_frame(Pkt6().ipv6(kBeyond6, kClient6, 62).l4(kProtoIcmpv6, h).payload(quote));
  }
  // The same error: r2's carrier toward r1.
  Frame packet_too_big_through_r2(const std::vector<uint8_t>& seg) { return carried_to_r1(packet_too_big_at_r3(seg)); }
  // One carrier from r3 (`carried`), sent on by r2 (`transited`), one error to the client at
  // r1 (`relayed`), no drops.
  void expect_carried_once(Counter carried, Counter transited, Counter relayed) const {
    EXPECT_EQ(r3->count(carried), 1u);
    EXPECT_EQ(r2->count(transited), 1u) << "sent on by the transit hop";
    EXPECT_EQ(r2->count(carried), 0u) << "not r2's own";
    EXPECT_EQ(r1->count(relayed), 1u);
    EXPECT_EQ(r1->total_drops() + r2->total_drops() + r3->total_drops(), 0u)
        << r1->drops() << " / " << r2->drops() << " / " << r3->drops();
  }
  std::vector<uint8_t> client_segment() const {
    return client_frame(Pkt6().ipv6(kClient6, kServer6, 64).tcp(40000, 80, 0x18).payload(std::string(1200, 'd')));
  }
  std::unique_ptr<Router> r1, r2, r3;
};

// A WAN frame: IPv4 between two waypoints, valid checksums, its metadata decoded.
MetadataStatus wan_md(const Frame& f, Metadata& md) {
  EXPECT_EQ(f.port, kWan);
  EXPECT_EQ(get16(f.raw.data() + 12), kEtherTypeIpv4) << "no IPv6 header on the WAN";
  expect_valid(f);
  return decode_metadata(f.data(), f.data_len(), md);
}

// expect_restored6 across three routers: one more hop taken off.
void expect_restored6_3(std::vector<uint8_t> sent, const Frame& got) {
  sent[14 + 7] = static_cast<uint8_t>(sent[14 + 7] - 1);
  expect_restored6(sent, got);
}

TEST_F(Svr6Transit, TransitHopForwardsResignsAndKeepsTheIpv6Contexts) {
  const FiveTuple6 t{ip6(kClient6), ip6(kServer6), 40000, 80, kProtoTcp};
  const auto syn = client_frame(Pkt6().ipv6(kClient6, kServer6, 64).tcp(40000, 80, 0x02).payload("GET /"));
  Frame w1 = r1->send_one(kLan, syn);
  EXPECT_EQ(w1.dst(), kR2Wan);
  Metadata md1;
  ASSERT_EQ(wan_md(w1, md1), MetadataStatus::ok);

  // r2: the leg to r3, from its waypoint to r3's, ports of the IPv6 tuple's class, signed with r2-r3's key.
  Frame w2 = r2->send_one(kWan, w1.raw);
  EXPECT_EQ(0, std::memcmp(w2.dst_mac(), kR3Mac.data(), 6));
  EXPECT_EQ(w2.src(), kR2Wan);
  EXPECT_EQ(w2.dst(), kR3Wan);
  EXPECT_EQ(class_of_port(w2.sport()), affinity_class6(t)) << "same owner class on every hop";
  EXPECT_EQ(class_of_port(w2.dport()), affinity_class6(t));
  EXPECT_NE(w2.sport(), 0);
  EXPECT_EQ(w2.ttl(), w1.ttl() - 1);
  Metadata md2;
  ASSERT_EQ(wan_md(w2, md2), MetadataStatus::ok);
  ASSERT_TRUE(md2.has_forward_context6) << "TLV 3 kept";
  EXPECT_FALSE(md2.has_forward_context) << "no TLV 2 (no internal tuple on the wire)";
  EXPECT_EQ(md2.forward_context6, t);
  EXPECT_EQ(md2.uuid, md1.uuid) << "one global session id on every hop";
  EXPECT_EQ(md2.tenant, "v6");
  EXPECT_EQ(md2.service, "web6");
  EXPECT_EQ(md2.source_router, "r2");
  EXPECT_EQ(md2.destination_router, "r3");
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(w2.data()) + md2.block_len(), 5), "GET /");
  EXPECT_TRUE(hmac_ok(w2, kKey23)) << "re-signed with the r2-r3 pair key";
  EXPECT_FALSE(hmac_ok(w2, kKey12));
  EXPECT_EQ(r2->count(Counter::svr6_transit_sessions), 1u);
  EXPECT_EQ(r2->count(Counter::svr6_sessions_created), 0u) << "no IPv6 side at the transit router";
  EXPECT_EQ(r2->worker().counters().sessions6_active.load(), 1u) << "the Session6 that holds the IPv6 tuple";

  expect_restored6_3(syn, r3->send_one(kWan, w2.raw));
  EXPECT_EQ(r3->count(Counter::svr6_sessions_created), 1u);

  // The reply retraces the path: TLV 5 and the ack on both legs, each signed with its own key.
  const auto synack = server_frame(Pkt6().ipv6(kServer6, kClient6, 64).tcp(80, 40000, 0x12).payload("200 OK"));
  Frame b3 = r3->send_one(kLan, synack);
  EXPECT_EQ(b3.dst(), kR2Wan);
  EXPECT_EQ(b3.dport(), w2.sport());
  EXPECT_TRUE(hmac_ok(b3, kKey23));
  Frame b2 = r2->send_one(kWan, b3.raw);
  EXPECT_EQ(b2.src(), kR2Wan);
  EXPECT_EQ(b2.dst(), kR1Wan);
  EXPECT_EQ(b2.sport(), w1.dport());
  EXPECT_EQ(b2.dport(), w1.sport());
  Metadata rmd;
  ASSERT_EQ(wan_md(b2, rmd), MetadataStatus::ok);
  ASSERT_TRUE(rmd.has_reverse_context6) << "TLV 5";
  EXPECT_FALSE(rmd.has_reverse_context);
  EXPECT_EQ(rmd.reverse_context6, t.reversed());
  EXPECT_TRUE(rmd.disable_forward_metadata);
  EXPECT_EQ(rmd.uuid, md1.uuid);
  EXPECT_TRUE(hmac_ok(b2, kKey12));
  expect_restored6_3(synack, r1->send_one(kWan, b2.raw));
  EXPECT_EQ(r1->count(Counter::handshakes_completed), 1u) << "r2 acked r1's leg";
  EXPECT_EQ(r2->count(Counter::handshakes_completed), 1u) << "r3 acked r2's leg";

  // Later packets: no metadata on either leg, both directions.
  for (int i = 0; i < 2; ++i) {
    const auto ack = client_frame(Pkt6().ipv6(kClient6, kServer6, 64).tcp(40000, 80, 0x10).payload("more data"));
    Frame s1 = r1->send_one(kLan, ack);
    Metadata none;
    EXPECT_EQ(wan_md(s1, none), MetadataStatus::absent);
    Frame s2 = r2->send_one(kWan, s1.raw);
    EXPECT_EQ(wan_md(s2, none), MetadataStatus::absent);
    EXPECT_EQ(s2.sport(), w2.sport());
    EXPECT_EQ(s2.dport(), w2.dport());
    expect_restored6_3(ack, r3->send_one(kWan, s2.raw));
    const auto back = server_frame(Pkt6().ipv6(kServer6, kClient6, 64).tcp(80, 40000, 0x10).payload("body"));
    Frame c3 = r3->send_one(kLan, back);
    Frame c2 = r2->send_one(kWan, c3.raw);
    if (i == 1) {
      EXPECT_EQ(wan_md(c3, none), MetadataStatus::absent) << "r3 stopped reverse metadata";
      EXPECT_EQ(wan_md(c2, none), MetadataStatus::absent) << "r2 stopped reverse metadata";
    }
    expect_restored6_3(back, r1->send_one(kWan, c2.raw));
  }
  EXPECT_EQ(r1->total_drops() + r2->total_drops() + r3->total_drops(), 0u)
      << r1->drops() << " / " << r2->drops() << " / " << r3->drops();
}

// Zero trust at every hop: r2 has no policy for dns6, so the session stops there.
TEST_F(Svr6Transit, TransitHopDeniesByItsOwnPolicy) {
  const auto q = client_frame(Pkt6().ipv6(kClient6, kServer6, 64).udp(40001, 53).payload("query"));
  Frame w1 = r1->send_one(kLan, q);
  EXPECT_TRUE(r2->send(kWan, w1.raw).empty());
  EXPECT_EQ(r2->drop_count(DropReason::policy_deny), 1u) << r2->drops();
  EXPECT_EQ(r2->count(Counter::svr6_transit_sessions), 0u);
  EXPECT_EQ(r2->count(Counter::sessions_created), 0u);
  EXPECT_EQ(r2->worker().counters().sessions6_active.load(), 0u);
}

// The next peer's waypoint is routed nowhere: refused (no_peer), the held IPv6 tuple given back.
TEST_F(Svr6Transit, NoRouteToTheNextPeerIsCounted) {
  const auto syn = client_frame(Pkt6().ipv6(kClient6, kServer6, 64).tcp(40002, 22, 0x02));
  Frame w1 = r1->send_one(kLan, syn);
  EXPECT_TRUE(r2->send(kWan, w1.raw).empty());
  EXPECT_EQ(r2->drop_count(DropReason::no_peer), 1u) << r2->drops();
  EXPECT_EQ(r2->count(Counter::svr6_transit_sessions), 0u);
  EXPECT_EQ(r2->worker().counters().sessions6_active.load(), 0u) << "the Session6 went with the refusal";
  // Then a session that can go on still gets one (nothing leaked).
  const auto web = client_frame(Pkt6().ipv6(kClient6, kServer6, 64).tcp(40003, 80, 0x02));
  Frame w = r2->send_one(kWan, r1->send_one(kLan, web).raw);
  EXPECT_EQ(w.dst(), kR3Wan);
  EXPECT_EQ(r2->worker().counters().sessions6_active.load(), 1u);
}

// REST and IPFIX at the transit router: the IPv6 tuple, role transit, the leg it arrived on
// and the leg it left on, the next router as peer; never the internal 0.0.0.0/8 tuple.
TEST_F(Svr6Transit, RestAndIpfixShowTheTransitSessionWithBothLegs) {
  enable_session_events(*r2);
  const auto syn = client_frame(Pkt6().ipv6(kClient6, kServer6, 64).tcp(40000, 80, 0x02).payload("GET /"));
  Frame w1 = r1->send_one(kLan, syn);
  Frame w2 = r2->send_one(kWan, w1.raw);
  r3->send_one(kWan, w2.raw);
  const auto synack = server_frame(Pkt6().ipv6(kServer6, kClient6, 64).tcp(80, 40000, 0x12).payload("200 OK"));
  Frame b2 = r2->send_one(kWan, r3->send_one(kLan, synack).raw);
  post_updates(*r2);
  const std::vector<Session6Event> evs6 = drain_events6(r2->shared());
  const std::vector<SessionEvent> evs4 = drain_events(r2->shared());
  ASSERT_GE(evs6.size(), 2u) << "created and an update at least";
  const Session6Event& u = evs6.back();
  EXPECT_EQ(u.svr.role, Svr6Role::transit);
  EXPECT_EQ(u.session.original, (FiveTuple6{ip6(kClient6), ip6(kServer6), 40000, 80, kProtoTcp}));
  EXPECT_EQ(u.session.packets[0], 1u);
  EXPECT_EQ(u.session.packets[1], 1u);
  EXPECT_TRUE(u.session.flags & kReverseSeen);
  EXPECT_EQ(u.svr.wan, (FiveTuple{kR1Wan, kR2Wan, w1.sport(), w1.dport(), kProtoTcp})) << "the leg it arrived on";
  EXPECT_EQ(u.svr.onward, (FiveTuple{kR2Wan, kR3Wan, w2.sport(), w2.dport(), kProtoTcp})) << "the leg it left on";

  const nlohmann::json j = rest_json(evs4, evs6, r2->model());
  EXPECT_EQ(j["family"], "ipv6");
  EXPECT_EQ(j["svr_role"], "transit");
  EXPECT_EQ(j["peer"], "r3") << "the next router, as for IPv4 transit sessions";
  EXPECT_EQ(j["original"]["src"], kClient6);
  EXPECT_EQ(j["original"]["dst"], kServer6);
  EXPECT_EQ(j["arrived"]["src"], "172.16.0.1");
  EXPECT_EQ(j["arrived"]["dst"], "172.16.0.2");
  EXPECT_EQ(j["arrived"]["dport"], w1.dport());
  EXPECT_EQ(j["left"]["src"], "172.16.0.2");
  EXPECT_EQ(j["left"]["dst"], "172.16.0.3");
  EXPECT_EQ(j["left"]["sport"], w2.sport());
  EXPECT_EQ(j["ingress"], "wan0");
  EXPECT_EQ(j["egress"], "wan0");
  EXPECT_EQ(j.dump().find("\"0."), std::string::npos) << j.dump();
  EXPECT_EQ(sessions_at(evs6, r2->model(), "172.16.0.3"), 1u) << "addr= finds the onward waypoint";
  EXPECT_EQ(sessions_at(evs6, r2->model(), "172.16.0.1"), 1u);
  EXPECT_EQ(sessions_at(evs6, r2->model(), kClient6), 1u);

  const DecodedRecord d = ipfix_round_trip(u, r2->model());
  EXPECT_EQ(d.template_id, mgmt::kSession6Post4TemplateId);
  EXPECT_EQ(d.rec.pre_src6, ip6(kClient6));
  EXPECT_EQ(d.rec.pre_dst6, ip6(kServer6));
  EXPECT_EQ(d.rec.post.src, kR2Wan) << "the onward leg";
  EXPECT_EQ(d.rec.post.dst, kR3Wan);
  EXPECT_EQ(d.rec.post.dport, w2.dport());
  EXPECT_EQ(d.rec.session_id, u.session.uuid);
  (void)b2;
}

// --- transit between IPv6 waypoints: both legs IPv6 from waypoint to waypoint ---

class Svr6TransitV6 : public Svr6Transit {
 protected:
  void SetUp() override { make(true); }
};

// ICMP errors through the transit router
// (docs/svr-wire-format.md § ICMP errors through the session, **Transit**): a router past r3 answers the client's segment with a Packet Too Big;
// r3 carries it to r2 signed with the r2-r3 key, r2 checks it and sends it on to r1 re-signed
// with the r1-r2 key, and the client hears it from that router about its own segment.
TEST_F(Svr6Transit, PacketTooBigFromBeyondR3ReachesTheClientThroughR2) {
  const auto seg = client_segment();
  const Frame c2 = packet_too_big_through_r2(seg);
  EXPECT_EQ(c2.src(), kR2Wan);
  EXPECT_EQ(c2.dst(), kR1Wan);
  EXPECT_TRUE(hmac_ok(c2, kKey12)) << "re-signed with the r1-r2 pair key";
  EXPECT_FALSE(contains(c2, std::string(16, 'd'))) << "no session data in clear";
  Metadata md;
  ASSERT_EQ(wan_md(c2, md), MetadataStatus::ok);
  EXPECT_TRUE(md.has_icmp_location6);
  EXPECT_EQ(md.icmp_location6, ip6(kBeyond6)) << "the location as r3 said it";
  const Frame f = r1->send_one(kWan, c2.raw);
  EXPECT_EQ(std::memcmp(f.raw.data(), kRouteClientMac.data(), 6), 0) << "to the client's MAC";
  expect_relayed(f, seg, ip6(kBeyond6), ip6(kClient6), kIcmp6PacketTooBig, 0, 1300, 20);
  expect_carried_once(Counter::svr6_icmp6_errors_carried, Counter::svr6_icmp6_errors_transited,
                      Counter::svr6_icmp6_errors_relayed);
}

// The r2 -> r1 leg's HMAC covers the location and the error: a byte changed there and r1 drops
// the carrier (bad_hmac); the untouched one still reaches the client.
TEST_F(Svr6Transit, ACarrierTamperedOnTheR2R1LegIsDroppedAtR1) {
  const auto seg = client_segment();
  const Frame c2 = packet_too_big_through_r2(seg);
  uint8_t loc[16];
  store_ipv6(loc, ip6(kBeyond6));
  const auto at = static_cast<size_t>(std::search(c2.raw.begin(), c2.raw.end(), loc, loc + 16) - c2.raw.begin());
  ASSERT_LT(at, c2.raw.size()) << "TLV 21 holds the location";
  std::vector<uint8_t> forged = c2.raw;
  forged[at + 15] ^= 0x01;  // another location
  EXPECT_TRUE(r1->send(kWan, forged).empty());
  std::vector<uint8_t> mtu_changed = c2.raw;
  mtu_changed[mtu_changed.size() - 16 - (40 + 20) - 8 + 6] ^= 0x01;  // the carried MTU (error, quote, HMAC end it)
  EXPECT_TRUE(r1->send(kWan, mtu_changed).empty());
  EXPECT_EQ(r1->drop_count(DropReason::bad_hmac), 2u) << r1->drops();
  EXPECT_EQ(r1->count(Counter::svr6_icmp6_errors_relayed), 0u);
  expect_relayed(r1->send_one(kWan, c2.raw), seg, ip6(kBeyond6), ip6(kClient6), kIcmp6PacketTooBig, 0, 1300, 20);
}

// r2 checks what it sends on: a carrier signed with the r2-r3 key whose quote names another
// port of the client's is refused there (svr_icmp_transit_invalid), nothing goes toward r1.
TEST_F(Svr6Transit, ASignedCarrierAboutAnotherPacketIsRefusedAtR2) {
  Frame c3 = r3->send_one(kLan, packet_too_big_at_r3(client_segment()));
  ASSERT_EQ(c3.port, kWan) << r3->drops();
  c3.raw[c3.raw.size() - 16 - 20 + 3] ^= 0x01;  // the quoted TCP destination port (20 bytes, then the HMAC)
  resign(c3, kKey23);
  EXPECT_TRUE(r2->send(kWan, c3.raw).empty());
  EXPECT_EQ(r2->drop_count(DropReason::svr_icmp_transit_invalid), 1u) << r2->drops();
  EXPECT_EQ(r2->drop_count(DropReason::bad_hmac), 0u) << "signed";
  EXPECT_EQ(r2->count(Counter::svr6_icmp6_errors_transited), 0u);
}

// The IPv4 twin (TLV 20): a router past r3 says the client's DF datagram is too big; the client
// hears it from that router, quoting its own datagram (tuple, checksums valid), MTU as said.
TEST_F(Svr6Transit, FragNeededFromBeyondR3ReachesTheIpv4ClientThroughR2) {
  const auto q =
      Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, kServer).frag(0x4000).udp(40000, 5201).payload(std::string(1000, 'd'));
  const std::vector<uint8_t> sent = q.bytes();
  const Frame restored = restored_at_r3(sent);
  const Frame c2 = carried_to_r1(icmp4_error_frame(kR3Mac, kServerMac, kBeyond4, kClient, kIcmpDestUnreachable,
                                                   kIcmpCodeFragNeeded, 1280, restored));
  EXPECT_EQ(c2.dst(), kR1Wan);
  EXPECT_TRUE(hmac_ok(c2, kKey12)) << "re-signed with the r1-r2 pair key";
  Metadata md;
  ASSERT_EQ(wan_md(c2, md), MetadataStatus::ok);
  EXPECT_TRUE(md.has_icmp_location4);
  EXPECT_EQ(md.icmp_location4, kBeyond4);
  expect_icmp4_to_client(r1->send_one(kWan, c2.raw), sent, kBeyond4, kIcmpDestUnreachable, kIcmpCodeFragNeeded, 1280);
  expect_carried_once(Counter::svr_icmp4_errors_carried, Counter::svr_icmp4_errors_transited,
                      Counter::svr_icmp4_errors_relayed);
}

// The same code with IPv6 waypoints on both legs.
TEST_F(Svr6TransitV6, PacketTooBigFromBeyondR3ReachesTheClientThroughR2) {
  const auto seg = client_segment();
  const Frame f = r1->send_one(kWan, packet_too_big_through_r2(seg).raw);
  expect_relayed(f, seg, ip6(kBeyond6), ip6(kClient6), kIcmp6PacketTooBig, 0, 1300, 20);
  expect_carried_once(Counter::svr6_icmp6_errors_carried, Counter::svr6_icmp6_errors_transited,
                      Counter::svr6_icmp6_errors_relayed);
}

TEST_F(Svr6TransitV6, Ipv6SessionArrivesAndLeavesOnIpv6Waypoints) {
  const FiveTuple6 t{ip6(kClient6), ip6(kServer6), 40000, 80, kProtoTcp};
  const auto syn = client_frame(Pkt6().ipv6(kClient6, kServer6, 64).tcp(40000, 80, 0x02).payload("GET /"));
  Frame w1 = r1->send_one(kLan, syn);
  Metadata md1, md2;
  Frame v1, v2;
  ASSERT_EQ(wan6_metadata(w1, kWan6[1], kWan6[2], md1, v1), MetadataStatus::ok);
  Frame w2 = r2->send_one(kWan, w1.raw);
  ASSERT_EQ(wan6_metadata(w2, kWan6[2], kWan6[3], md2, v2), MetadataStatus::ok);
  EXPECT_EQ(0, std::memcmp(w2.dst_mac(), kR3Mac.data(), 6)) << "r3's waypoint by Neighbor Discovery";
  EXPECT_TRUE(hmac_ok(v2, kKey23));
  ASSERT_TRUE(md2.has_forward_context6);
  EXPECT_EQ(md2.forward_context6, t);
  EXPECT_EQ(md2.uuid, md1.uuid);
  EXPECT_EQ(md2.destination_router, "r3");
  EXPECT_EQ(class_of_port(v2.sport()), affinity_class6(t));
  EXPECT_EQ(class_of_port(v2.dport()), affinity_class6(t));
  expect_restored6_3(syn, r3->send_one(kWan, w2.raw));

  const auto synack = server_frame(Pkt6().ipv6(kServer6, kClient6, 64).tcp(80, 40000, 0x12).payload("200 OK"));
  Frame b2 = r2->send_one(kWan, r3->send_one(kLan, synack).raw);
  Metadata rmd;
  Frame vb;
  ASSERT_EQ(wan6_metadata(b2, kWan6[2], kWan6[1], rmd, vb), MetadataStatus::ok);
  EXPECT_TRUE(hmac_ok(vb, kKey12));
  ASSERT_TRUE(rmd.has_reverse_context6);
  EXPECT_EQ(rmd.reverse_context6, t.reversed());
  EXPECT_TRUE(rmd.disable_forward_metadata);
  EXPECT_EQ(vb.sport(), v1.dport());
  EXPECT_EQ(vb.dport(), v1.sport());
  expect_restored6_3(synack, r1->send_one(kWan, b2.raw));

  const auto ack = client_frame(Pkt6().ipv6(kClient6, kServer6, 64).tcp(40000, 80, 0x10).payload("more data"));
  Frame s2 = r2->send_one(kWan, r1->send_one(kLan, ack).raw);
  Metadata none;
  Frame vs;
  EXPECT_EQ(wan6_metadata(s2, kWan6[2], kWan6[3], none, vs), MetadataStatus::absent);
  expect_restored6_3(ack, r3->send_one(kWan, s2.raw));
  EXPECT_EQ(r2->count(Counter::svr6_transit_sessions), 1u);
  EXPECT_EQ(r2->count(Counter::waypoint6_received), 3u);
  EXPECT_EQ(r2->count(Counter::waypoint6_sent), 3u);
  EXPECT_EQ(r1->total_drops() + r2->total_drops() + r3->total_drops(), 0u)
      << r1->drops() << " / " << r2->drops() << " / " << r3->drops();
}

// An IPv4 session over IPv6 waypoints on both legs; REST and IPFIX at r2 name the IPv6
// waypoints of both legs, never the 0.255.0.0/16 stand-ins the worker keeps them under.
TEST_F(Svr6TransitV6, Ipv4SessionThroughTheTransitRouterOnIpv6Waypoints) {
  enable_session_events(*r2);
  const FiveTuple orig{kClient, kServer, 40000, 5201, kProtoUdp};
  const auto q = Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, kServer).udp(40000, 5201).payload("far").bytes();
  Frame w1 = r1->send_one(kLan, q);
  Metadata md1, md2;
  Frame v1, v2;
  ASSERT_EQ(wan6_metadata(w1, kWan6[1], kWan6[2], md1, v1), MetadataStatus::ok);
  Frame w2 = r2->send_one(kWan, w1.raw);
  ASSERT_EQ(wan6_metadata(w2, kWan6[2], kWan6[3], md2, v2), MetadataStatus::ok);
  EXPECT_TRUE(hmac_ok(v2, kKey23));
  ASSERT_TRUE(md2.has_forward_context) << "TLV 2";
  EXPECT_EQ(md2.forward_context, orig);
  EXPECT_EQ(md2.uuid, md1.uuid);
  EXPECT_EQ(class_of_port(v2.dport()), affinity_class(orig));
  Frame lan = r3->send_one(kWan, w2.raw);
  EXPECT_EQ(lan.port, kLan);
  EXPECT_EQ(lan.src(), kClient);
  EXPECT_EQ(lan.dst(), kServer);
  EXPECT_EQ(lan.sport(), 40000);
  EXPECT_EQ(lan.dport(), 5201);
  EXPECT_EQ(lan.payload_string(), "far");
  EXPECT_EQ(lan.ttl(), 61);
  expect_valid(lan);

  const auto back = Pkt().eth(kR3Mac, kServerMac).ipv4(kServer, kClient).udp(5201, 40000).payload("back").bytes();
  Frame b2 = r2->send_one(kWan, r3->send_one(kLan, back).raw);
  Metadata rmd;
  Frame vb;
  ASSERT_EQ(wan6_metadata(b2, kWan6[2], kWan6[1], rmd, vb), MetadataStatus::ok);
  EXPECT_TRUE(hmac_ok(vb, kKey12));
  EXPECT_TRUE(rmd.disable_forward_metadata);
  Frame c = r1->send_one(kWan, b2.raw);
  EXPECT_EQ(c.src(), kServer);
  EXPECT_EQ(c.dst(), kClient);
  EXPECT_EQ(c.payload_string(), "back");
  expect_valid(c);
  EXPECT_EQ(r2->count(Counter::svr6_transit_sessions), 0u) << "an IPv4 session";
  EXPECT_EQ(r1->total_drops() + r2->total_drops() + r3->total_drops(), 0u)
      << r1->drops() << " / " << r2->drops() << " / " << r3->drops();

  post_updates(*r2);
  const std::vector<SessionEvent> evs = drain_events(r2->shared());
  ASSERT_FALSE(evs.empty());
  const mgmt::IpfixRecord rec = mgmt::ipfix_record(evs.back(), r2->model(), kExportClock);
  EXPECT_EQ(rec.pre, orig) << "the client's tuple, not the stand-ins of the leg it arrived on";
  EXPECT_TRUE(rec.post_ipv6);
  EXPECT_EQ(rec.post_src6, ip6(kWan6[2])) << "the onward leg";
  EXPECT_EQ(rec.post_dst6, ip6(kWan6[3]));
  EXPECT_EQ(rec.post.dport, v2.dport());
  mgmt::SessionSnapshot snap(16);
  for (const SessionEvent& ev : evs) snap.apply(ev, r2->model(), kExportClock);
  mgmt::SessionQuery qy;
  bool more = false;
  const auto page = snap.page(qy, more);
  ASSERT_EQ(page.size(), 1u);
  ASSERT_TRUE(page[0].waypoints6 && page[0].onward6);
  EXPECT_EQ(page[0].waypoints6->src6, ip6(kWan6[1]));
  EXPECT_EQ(page[0].waypoints6->dst6, ip6(kWan6[2]));
  EXPECT_EQ(page[0].waypoints6->dport, v1.dport());
  EXPECT_EQ(page[0].onward6->src6, ip6(kWan6[2]));
  EXPECT_EQ(page[0].onward6->dst6, ip6(kWan6[3]));
  EXPECT_EQ(page[0].onward6->sport, v2.sport());
  qy.addr6 = ip6(kWan6[3]);
  EXPECT_EQ(snap.page(qy, more).size(), 1u) << "addr= finds the onward IPv6 waypoint";
}

}  // namespace
}  // namespace wp
