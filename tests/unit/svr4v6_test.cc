// IPv4 sessions between IPv6 waypoints (v4 in v6; dataplane/svr/waypoint6.h,
// svr/session_setup.h bind_wan_side; docs/ipv6.md § IPv4 sessions between
// IPv6 waypoints): real workers of r1 and r2, frames carried between them by
// the test. The peers list each other's IPv6 waypoint only, so the WAN is
// IPv6-only for SVR.
//
//   client 10.1.0.5 - [r1] 2001:db8:70::1 ==IPv6 WAN== 2001:db8:70::2 [r2] - server 10.2.0.10
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "dataplane/crypto/session_data.h"
#include "dataplane/session/owner.h"
#include "dataplane/svr/metadata.h"
#include "mgmt/live_commit.h"
#include "mgmt/mgmt_runtime.h"
#include "mgmt/rest_api.h"
#include "tests/unit/nat64_test_config.h"
#include "tests/unit/svr6_export_check.h"
#include "tests/unit/svr6_frames.h"

namespace wp {
namespace {

using namespace test;

constexpr const char* kR1Wan6 = "2001:db8:70::1";
constexpr const char* kR2Wan6 = "2001:db8:70::2";
const Ipv4 kGuest = ip("10.1.0.200");  // 10.1.0.128/25: no policy

// `dual`: the peer lists its IPv4 waypoint too (then IPv4 sessions ride IPv4 waypoints).
config::Config v4in6_config(bool r1, bool dual = false) {
  config::Config c = router_base(r1 ? "r1" : "r2", r1 ? "10.1.0.1/24" : "10.2.0.1/24",
                                 {{"wan0", r1 ? "172.16.0.1/24" : "172.16.0.2/24"}});
  c.mutable_router()->mutable_wan(0)->add_ipv6_addresses(r1 ? "2001:db8:70::1/64" : "2001:db8:70::2/64");
  add_tenant(c, "branch", "10.1.0.0/25");
  add_tenant(c, "guests", "10.1.0.128/25");
  add_service(c, {"web", "10.2.0.0/24", "tcp", "80", r1 ? "r2" : ""});
  add_service(c, {"dns", "10.2.0.0/24", "udp", "53", r1 ? "r2" : ""});
  add_policy(c, "branch", "web", "");
  add_policy(c, "branch", "dns", "");
  if (dual)
    add_peer(c, r1 ? "r2" : "r1", {r1 ? "172.16.0.2" : "172.16.0.1", r1 ? kR2Wan6 : kR1Wan6}, kKey12);
  else
    add_peer(c, r1 ? "r2" : "r1", {r1 ? kR2Wan6 : kR1Wan6}, kKey12);
  return c;
}

class Svr4v6 : public ::testing::Test {
 protected:
  void SetUp() override { make(v4in6_config(true), v4in6_config(false)); }
  void make(const config::Config& c1, const config::Config& c2, const RouterOptions& o = RouterOptions()) {
    r1 = std::make_unique<Router>(c1, o);
    r2 = std::make_unique<Router>(c2, o);
    r1->neighbor(0, kClient, kClientMac);
    r1->neighbor(0, kGuest, kClientMac);
    r1->neighbor(1, kR2Wan, kR2Mac);
    r2->neighbor(0, kServer, kServerMac);
    r2->neighbor(1, kR1Wan, kR1Mac);
    learn6_on(*r1, 1, ip6(kR2Wan6), kR2Mac);
    learn6_on(*r2, 1, ip6(kR1Wan6), kR1Mac);
  }
  std::vector<uint8_t> client(Pkt p) const { return p.eth(mac_of(*r1), kClientMac).bytes(); }
  std::vector<uint8_t> server(Pkt p) const { return p.eth(mac_of(*r2), kServerMac).bytes(); }
  static Mac mac_of(const Router& r) {
    Mac m;
    std::memcpy(m.data(), r.model().interfaces[0].mac, 6);
    return m;
  }
  std::unique_ptr<Router> r1, r2;
};

TEST_F(Svr4v6, TcpSessionAcrossIpv6Waypoints) {
  const auto syn = client(Pkt().ipv4(kClient, kServer).tcp(40000, 80, 0x02, 1000).payload("GET /"));
  Frame w1 = r1->send_one(kLan, syn);
  Metadata md;
  Frame w1v4;
  ASSERT_EQ(wan6_metadata(w1, kR1Wan6, kR2Wan6, md, w1v4), MetadataStatus::ok);
  EXPECT_TRUE(hmac_ok(w1v4, kKey12));
  ASSERT_TRUE(md.has_forward_context) << "TLV 2";
  EXPECT_FALSE(md.has_forward_context6) << "no TLV 3";
  const FiveTuple orig{kClient, kServer, 40000, 80, kProtoTcp};
  EXPECT_EQ(md.forward_context, orig);
  EXPECT_EQ(md.tenant, "branch");
  EXPECT_EQ(md.service, "web");
  EXPECT_EQ(class_of_port(w1v4.sport()), affinity_class(orig)) << "port-encoded owner";
  EXPECT_EQ(class_of_port(w1v4.dport()), affinity_class(orig));
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(w1v4.data()) + md.block_len(), 5), "GET /");
  EXPECT_EQ(r1->count(Counter::waypoint6_sent), 1u);
  EXPECT_EQ(std::memcmp(w1.dst_mac(), kR2Mac.data(), 6), 0) << "the peer waypoint's MAC (Neighbor Discovery)";
  EXPECT_EQ(r1->count(Counter::svr6_sessions_created), 0u) << "an IPv4 session, no Session6";

  expect_restored4(syn, r2->send_one(kWan, w1.raw));
  EXPECT_EQ(r2->count(Counter::waypoint6_received), 1u);
  EXPECT_EQ(r2->count(Counter::sessions_created), 1u);

  // The reply: reverse metadata with TLV 4 and the ack, restored at r1.
  const auto synack = server(Pkt().ipv4(kServer, kClient).tcp(80, 40000, 0x12, 5000, 1006).payload("200 OK"));
  Frame w2 = r2->send_one(kLan, synack);
  Metadata rmd;
  Frame w2v4;
  ASSERT_EQ(wan6_metadata(w2, kR2Wan6, kR1Wan6, rmd, w2v4), MetadataStatus::ok);
  EXPECT_TRUE(hmac_ok(w2v4, kKey12));
  EXPECT_TRUE(rmd.has_reverse_context) << "TLV 4";
  EXPECT_EQ(rmd.reverse_context, (FiveTuple{kServer, kClient, 80, 40000, kProtoTcp}));
  EXPECT_TRUE(rmd.disable_forward_metadata) << "TLV 18";
  expect_restored4(synack, r1->send_one(kWan, w2.raw));

  // Later packets: no metadata either way.
  for (int i = 0; i < 2; ++i) {
    const auto ack = client(Pkt().ipv4(kClient, kServer).tcp(40000, 80, 0x10, 1006, 5007).payload("more data"));
    Frame w = r1->send_one(kLan, ack);
    Metadata none;
    Frame scratch;
    EXPECT_EQ(wan6_metadata(w, kR1Wan6, kR2Wan6, none, scratch), MetadataStatus::absent);
    expect_restored4(ack, r2->send_one(kWan, w.raw));
    const auto back = server(Pkt().ipv4(kServer, kClient).tcp(80, 40000, 0x10, 5007, 1015).payload("body"));
    Frame wb = r2->send_one(kLan, back);
    if (i == 1) {
      EXPECT_EQ(wan6_metadata(wb, kR2Wan6, kR1Wan6, none, scratch), MetadataStatus::absent)
          << "r2 stopped reverse metadata";
    }
    expect_restored4(back, r1->send_one(kWan, wb.raw));
  }
  EXPECT_EQ(r1->count(Counter::waypoint6_sent), 3u);
  EXPECT_EQ(r1->count(Counter::waypoint6_received), 3u);
  EXPECT_EQ(r1->total_drops(), 0u) << r1->drops();
  EXPECT_EQ(r2->total_drops(), 0u) << r2->drops();
}

TEST_F(Svr4v6, UdpFirstPacketCarriesTlv2) {
  const auto q = client(Pkt().ipv4(kClient, kServer).udp(5353, 53).payload("query"));
  Frame w1 = r1->send_one(kLan, q);
  Metadata md;
  Frame w1v4;
  ASSERT_EQ(wan6_metadata(w1, kR1Wan6, kR2Wan6, md, w1v4), MetadataStatus::ok);
  EXPECT_TRUE(hmac_ok(w1v4, kKey12));
  ASSERT_TRUE(md.has_forward_context);
  EXPECT_EQ(md.forward_context, (FiveTuple{kClient, kServer, 5353, 53, kProtoUdp}));
  expect_restored4(q, r2->send_one(kWan, w1.raw));
  const auto a = server(Pkt().ipv4(kServer, kClient).udp(53, 5353).payload("answer"));
  Frame w2 = r2->send_one(kLan, a);
  expect_restored4(a, r1->send_one(kWan, w2.raw));
  const auto q2 = client(Pkt().ipv4(kClient, kServer).udp(5353, 53).payload("query 2"));
  Frame w3 = r1->send_one(kLan, q2);
  Metadata none;
  Frame scratch;
  EXPECT_EQ(wan6_metadata(w3, kR1Wan6, kR2Wan6, none, scratch), MetadataStatus::absent);
  expect_restored4(q2, r2->send_one(kWan, w3.raw));
  EXPECT_EQ(r1->total_drops(), 0u) << r1->drops();
  EXPECT_EQ(r2->total_drops(), 0u) << r2->drops();
}

// A SYN (or SYN-ACK) with an MSS option of `mss` and no data.
Pkt syn_pkt(Ipv4 src, Ipv4 dst, uint16_t sport, uint16_t dport, uint8_t flags) {
  return Pkt().ipv4(src, dst).tcp(sport, dport, flags).tcp_options(4);
}
std::vector<uint8_t> with_mss(std::vector<uint8_t> f, uint16_t mss) {
  uint8_t* opt = f.data() + 14 + 20 + 20;
  opt[0] = 2, opt[1] = 4;
  put16(opt + 2, mss);
  fix_checksums(f);
  return f;
}

uint16_t mss_of(const uint8_t* tcp) { return get16(tcp + 22); }

// Without encryption the outer header alone grows by 20 bytes (IPv6 40, IPv4
// 20): both SYNs are clamped, and a full-size segment of the clamped MSS fits
// the WAN while a larger one with DF is dropped (the host's PMTUD, as between
// IPv4 waypoints); without DF it leaves in IPv6 fragments.
TEST_F(Svr4v6, MssClampedForTheIpv6OuterHeader) {
  const uint32_t mtu = r1->model().interfaces[1].mtu;
  Frame w1 = r1->send_one(kLan, with_mss(client(syn_pkt(kClient, kServer, 40010, 80, kTcpSyn)), 1460));
  const Ipv6View v = parse_ipv6_packet(w1.raw.data(), static_cast<uint32_t>(w1.raw.size()), 14);
  ASSERT_EQ(v.status, Ipv6Status::ok);
  EXPECT_EQ(mss_of(w1.raw.data() + v.l4), mtu - 40 - 20) << "1500 - IPv6 40 - TCP 20";
  EXPECT_EQ(r1->count(Counter::mss_clamped), 1u);
  Frame lan = r2->send_one(kWan, w1.raw);
  EXPECT_EQ(mss_of(lan.l4()), mtu - 40 - 20) << "the server sees the clamped MSS";
  Frame w2 = r2->send_one(kLan, with_mss(server(syn_pkt(kServer, kClient, 80, 40010, kTcpSyn | kTcpAck)), 1460));
  const Ipv6View v2 = parse_ipv6_packet(w2.raw.data(), static_cast<uint32_t>(w2.raw.size()), 14);
  EXPECT_EQ(mss_of(w2.raw.data() + v2.l4), mtu - 40 - 20) << "and the SYN-ACK at r2";
  EXPECT_EQ(r2->count(Counter::mss_clamped), 1u) << "the SYN-ACK (the SYN it restored was small enough)";
  r1->send_one(kWan, w2.raw);
  // Steady state: a segment of the clamped MSS is exactly the WAN MTU in IPv6.
  const std::string full(mtu - 40 - 20, 'x');
  Frame w3 = r1->send_one(kLan, client(Pkt().ipv4(kClient, kServer).tcp(40010, 80, 0x10).payload(full)));
  EXPECT_EQ(w3.raw.size(), 14 + mtu);
  expect_restored4(client(Pkt().ipv4(kClient, kServer).tcp(40010, 80, 0x10).payload(full)),
                   r2->send_one(kWan, w3.raw));
  // A host that ignores the MSS: 20 bytes more do not fit.
  const auto over = [&](uint16_t flags) {
    return client(Pkt().ipv4(kClient, kServer).frag(flags).tcp(40010, 80, 0x10).payload(full + std::string(20, 'y')));
  };
  EXPECT_TRUE(r1->send(kLan, over(0x4000)).empty());
  EXPECT_EQ(r1->drop_count(DropReason::waypoint6_too_big), 1u);
  const std::vector<Frame> frags = r1->send(kLan, over(0));
  ASSERT_EQ(frags.size(), 2u) << r1->drops();
  expect_wan6_fragments(frags, kR1Wan6, kR2Wan6, mtu);
  EXPECT_TRUE(r2->send(kWan, frags[0].raw).empty());
  expect_restored4(over(0), r2->send_one(kWan, frags[1].raw));
}

// An encrypted session: the data crosses the IPv6 WAN encrypted and is
// restored byte-exact; the MSS leaves room for the IPv6 header and the crypto.
TEST_F(Svr4v6, EncryptedSessionRestoresAndClamps) {
  config::Config c1 = v4in6_config(true), c2 = v4in6_config(false);
  for (config::Config* c : {&c1, &c2}) {
    add_security(*c, "encrypt", "aes256-cbc", "every-packet", false);
    for (auto& p : *c->mutable_policies()) p.set_security("encrypt");
  }
  make(c1, c2, RouterOptions().with_key_slots(64));
  const uint32_t mtu = r1->model().interfaces[1].mtu;
  Frame w1 = r1->send_one(kLan, with_mss(client(syn_pkt(kClient, kServer, 40020, 80, kTcpSyn)), 1460));
  const Ipv6View v = parse_ipv6_packet(w1.raw.data(), static_cast<uint32_t>(w1.raw.size()), 14);
  ASSERT_EQ(v.status, Ipv6Status::ok);
  EXPECT_LE(mss_of(w1.raw.data() + v.l4), mtu - 40 - 20 - kCryptoOverhead);
  EXPECT_GT(mss_of(w1.raw.data() + v.l4), 1300u);
  ASSERT_EQ(r2->send(kWan, w1.raw).size(), 1u);
  Frame w2 = r2->send_one(kLan, server(Pkt().ipv4(kServer, kClient).tcp(80, 40020, 0x12)));
  ASSERT_EQ(r1->send(kWan, w2.raw).size(), 1u);
  const std::string secret = "a secret request line";
  const auto data = client(Pkt().ipv4(kClient, kServer).tcp(40020, 80, 0x18).payload(secret));
  Frame w3 = r1->send_one(kLan, data);
  ASSERT_EQ(get16(w3.raw.data() + 12), kEtherTypeIpv6);
  EXPECT_EQ(std::search(w3.raw.begin(), w3.raw.end(), secret.begin(), secret.end()), w3.raw.end())
      << "not in clear on the WAN";
  EXPECT_GE(r1->count(Counter::packets_encrypted), 1u);
  expect_restored4(data, r2->send_one(kWan, w3.raw));
  const auto reply = server(Pkt().ipv4(kServer, kClient).tcp(80, 40020, 0x18).payload("a secret answer"));
  Frame w4 = r2->send_one(kLan, reply);
  expect_restored4(reply, r1->send_one(kWan, w4.raw));
  EXPECT_EQ(r1->total_drops(), 0u) << r1->drops();
  EXPECT_EQ(r2->total_drops(), 0u) << r2->drops();
  // A segment with DF from a host ignoring the MSS, one byte over what fits once sealed and in
  // IPv6: the host learns the MTU it may use (ICMP frag-needed, the IPv6 header's 20 bytes
  // counted; Fragments::refuse_oversize_tcp), the segment is dropped.
  const std::string over(mtu - kCryptoOverhead - 20 - 40 + 1, 'o');
  const auto big = client(Pkt().ipv4(kClient, kServer).frag(0x4000).tcp(40020, 80, 0x18).payload(over));
  Frame icmp = r1->send_one(kLan, big);
  EXPECT_EQ(icmp.port, kLan);
  EXPECT_EQ(icmp.dst(), kClient);
  ASSERT_EQ(icmp.proto(), 1);
  EXPECT_EQ(icmp.l4()[0], 3);
  EXPECT_EQ(icmp.l4()[1], 4);
  EXPECT_EQ(get16(icmp.l4() + 6), mtu - kCryptoOverhead - 20) << "next-hop MTU less the crypto and the IPv6 header";
  EXPECT_EQ(r1->drop_count(DropReason::mtu_exceeded), 1u);
  EXPECT_EQ(r1->drop_count(DropReason::waypoint6_too_big), 0u);
}

TEST_F(Svr4v6, APeerWithAnIpv4WaypointKeepsIpv4SessionsOnIt) {
  make(v4in6_config(true, true), v4in6_config(false, true));
  const auto syn = client(Pkt().ipv4(kClient, kServer).tcp(40030, 80, 0x02));
  Frame w1 = r1->send_one(kLan, syn);
  EXPECT_EQ(get16(w1.raw.data() + 12), kEtherTypeIpv4) << "v4 over v4: the session's own family first";
  EXPECT_EQ(w1.dst(), kR2Wan);
  expect_restored4(syn, r2->send_one(kWan, w1.raw), false);
  EXPECT_EQ(r1->count(Counter::waypoint6_sent), 0u);
}

TEST_F(Svr4v6, GuestDeniedAtTheIngressAndPolicyCheckedAtTheEgress) {
  EXPECT_TRUE(r1->send(kLan, client(Pkt().ipv4(kGuest, kServer).tcp(40040, 80, 0x02))).empty());
  EXPECT_EQ(r1->drop_count(DropReason::policy_deny), 1u);
  EXPECT_EQ(r1->count(Counter::waypoint6_sent), 0u);
  config::Config c = v4in6_config(false);
  c.clear_policies();
  make(v4in6_config(true), c);
  Frame w1 = r1->send_one(kLan, client(Pkt().ipv4(kClient, kServer).tcp(40041, 80, 0x02)));
  EXPECT_TRUE(r2->send(kWan, w1.raw).empty());
  EXPECT_EQ(r2->drop_count(DropReason::policy_deny), 1u);
  EXPECT_EQ(r2->count(Counter::sessions_created), 0u);
}

// 1500 bytes of IPv4 on the LAN are 1520 in IPv6 even without the metadata:
// the first datagram (metadata on) and a later one (none) leave in IPv6
// fragments, DF or not (UDP: the overhead is ours), and r2 restores them.
TEST_F(Svr4v6, FullSizeUdpIsFragmentedAndRestored) {
  const uint32_t mtu = r1->model().interfaces[1].mtu;
  const std::string data(mtu - 20 - 8, 'x');
  const std::string other(mtu - 20 - 8, 'z');
  const auto first = client(Pkt().ipv4(kClient, kServer).frag(0x4000).udp(5354, 53).payload(data));
  std::vector<Frame> frags = r1->send(kLan, first);
  ASSERT_EQ(frags.size(), 2u) << r1->drops();
  expect_wan6_fragments(frags, kR1Wan6, kR2Wan6, mtu);
  EXPECT_EQ(r1->count(Counter::fragment_tlv_sent), 0u) << "no TLV 1 between IPv6 waypoints";
  EXPECT_TRUE(r2->send(kWan, frags[0].raw).empty());
  expect_restored4(first, r2->send_one(kWan, frags[1].raw));
  const auto answer = server(Pkt().ipv4(kServer, kClient).udp(53, 5354).payload(other));
  std::vector<Frame> back = r2->send(kLan, answer);
  ASSERT_EQ(back.size(), 2u) << r2->drops();
  EXPECT_TRUE(r1->send(kWan, back[0].raw).empty());
  expect_restored4(answer, r1->send_one(kWan, back[1].raw));
  const auto later = client(Pkt().ipv4(kClient, kServer).udp(5354, 53).payload(other));
  frags = r1->send(kLan, later);
  ASSERT_EQ(frags.size(), 2u) << r1->drops();
  EXPECT_TRUE(r2->send(kWan, frags[1].raw).empty());
  expect_restored4(later, r2->send_one(kWan, frags[0].raw));
  EXPECT_EQ(r1->count(Counter::waypoint6_fragmented), 2u);
  EXPECT_EQ(r2->count(Counter::waypoint6_reassembled), 2u);
  EXPECT_EQ(r1->total_drops(), 0u) << r1->drops();
  EXPECT_EQ(r2->total_drops(), 0u) << r2->drops();
}

TEST_F(Svr4v6, WithoutAnIpv6WaypointOfOursThePeerIsUnreachable) {
  config::Config c = v4in6_config(true);
  c.mutable_router()->mutable_wan(0)->clear_ipv6_addresses();
  Router r(c);
  r.neighbor(0, kClient, kClientMac);
  EXPECT_TRUE(r.send(kLan, Pkt().eth(mac_of(r), kClientMac).ipv4(kClient, kServer).tcp(40050, 80, 0x02).bytes()).empty());
  EXPECT_EQ(r.drop_count(DropReason::no_peer), 1u);
}

// --- REST and IPFIX --------------------------------------------------------------

// GET `path` through the real REST routes, over a snapshot the events `evs`
// built with model `m` (as the mgmt feed applies them): the reply's JSON body.
nlohmann::json rest_get(Router& r, const std::vector<SessionEvent>& evs, const RouterModel& m,
                        const std::string& path) {
  mgmt::SessionSnapshot snap(16);
  for (const SessionEvent& ev : evs) snap.apply(ev, m, kExportClock);
  mgmt::ConfigStore store(r.shared(), config::Config{}, std::shared_ptr<const RouterModel>(std::shared_ptr<void>{}, &m),
                          nullptr, nullptr);
  mgmt::RestContext ctx;
  ctx.shared = &r.shared();
  ctx.store = &store;
  ctx.sessions = &snap;
  mgmt::RestServer server;
  std::string err;
  EXPECT_TRUE(server.prepare(ctx, err)) << err;
  const std::string reply = server.serve_text("GET " + path + " HTTP/1.1\r\nHost: r\r\n\r\n");
  EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << reply;
  const size_t body = reply.find("\r\n\r\n");
  return body == std::string::npos ? nlohmann::json() : nlohmann::json::parse(reply.substr(body + 4));
}

class Svr4v6View : public Svr4v6 {
 protected:
  // An IPv4 TCP session r1 -> r2 over the IPv6 waypoints (SYN, SYN-ACK), then an
  // update of it at each router: the IPv4 session events (created ... update) by router.
  void run_session() {
    enable_session_events(*r1);
    enable_session_events(*r2);
    const auto syn = client(Pkt().ipv4(kClient, kServer).tcp(40000, 80, 0x02, 1000).payload("GET /"));
    Frame w1 = r1->send_one(kLan, syn);
    const Ipv6View wv = parse_ipv6_packet(w1.raw.data(), static_cast<uint32_t>(w1.raw.size()), 14);
    ASSERT_EQ(wv.status, Ipv6Status::ok);
    sport = wv.sport, dport = wv.dport;
    expect_restored4(syn, r2->send_one(kWan, w1.raw));
    const auto synack = server(Pkt().ipv4(kServer, kClient).tcp(80, 40000, 0x12, 5000, 1006).payload("200 OK"));
    expect_restored4(synack, r1->send_one(kWan, r2->send_one(kLan, synack).raw));
    Router* rs[2] = {r1.get(), r2.get()};
    for (int i = 0; i < 2; ++i) {
      post_updates(*rs[i]);
      evs[i] = drain_events(rs[i]->shared());
      ASSERT_GE(evs[i].size(), 2u) << "created and an update at least";
      EXPECT_EQ(evs[i].back().kind, SessionEventKind::update);
      EXPECT_TRUE(drain_events6(rs[i]->shared()).empty()) << "an IPv4 session: no IPv6 view is posted";
      EXPECT_EQ(rs[i]->count(Counter::ipfix_events_dropped), 0u);
    }
    const Session& s1 = evs[0].back().session;
    const Session& s2 = evs[1].back().session;
    ASSERT_EQ(s1.uuid, s2.uuid) << "one global session id at both routers";
    // The WAN side as the workers keep it: what REST and IPFIX must never show.
    standins = {s1.out_fwd.tuple.src, s1.out_fwd.tuple.dst, s2.out_rev.tuple.src, s2.out_rev.tuple.dst};
    for (Ipv4 a : standins) ASSERT_TRUE(is_waypoint6_standin(a)) << format_ipv4(a);
  }
  Router& router(int i) { return i == 0 ? *r1 : *r2; }
  std::vector<SessionEvent> evs[2];
  uint16_t sport = 0, dport = 0;  // the waypoint ports on the wire (forward)
  std::vector<Ipv4> standins;
};

// IPFIX: template 259, the client's IPv4 tuple in 8/12 and the IPv6 waypoint
// leg in 281/282 (227/228: the waypoint ports) at both routers, the same
// session id, the IPv4 session's counts; no stand-in anywhere in the message.
TEST_F(Svr4v6View, IpfixShowsTheIpv4TupleAndTheIpv6Waypoints) {
  run_session();
  const FiveTuple orig{kClient, kServer, 40000, 80, kProtoTcp};
  for (int i = 0; i < 2; ++i) {
    SCOPED_TRACE(i == 0 ? "r1 (ingress)" : "r2 (egress)");
    const SessionEvent& u = evs[i].back();
    const DecodedRecord d = ipfix_round_trip(mgmt::ipfix_record(u, router(i).model(), kExportClock));
    const mgmt::IpfixRecord& r = d.rec;
    EXPECT_EQ(d.template_id, mgmt::kSession4Post6TemplateId);
    EXPECT_FALSE(r.ipv6);
    EXPECT_TRUE(r.post_ipv6);
    EXPECT_EQ(r.pre, orig) << "the client -> server tuple at both routers";
    EXPECT_EQ(r.post_src6, ip6(kR1Wan6)) << "the ingress router's IPv6 waypoint";
    EXPECT_EQ(r.post_dst6, ip6(kR2Wan6)) << "the egress router's";
    EXPECT_EQ(r.post.sport, sport);
    EXPECT_EQ(r.post.dport, dport);
    EXPECT_EQ(r.post.src, 0u) << "no IPv4 post-NAT address in template 259";
    EXPECT_EQ(r.post.dst, 0u);
    EXPECT_EQ(r.session_id, evs[0].back().session.uuid);
    EXPECT_EQ(r.initiator_packets, 1u);
    EXPECT_EQ(r.responder_packets, 1u);
    EXPECT_EQ(r.initiator_octets, u.session.bytes[0]);
    EXPECT_EQ(r.responder_octets, u.session.bytes[1]);
    EXPECT_GT(r.initiator_octets, 0u);
    EXPECT_GT(r.responder_octets, 0u);
    EXPECT_EQ(r.nat_event, mgmt::kNatEventSessionCreate);
    EXPECT_EQ(std::string(r.tenant, r.tenant_len), "branch");
    EXPECT_EQ(std::string(r.service, r.service_len), "web");
    // Interfaces: config order + 1 (LAN 1, wan0 2): LAN -> WAN at r1, WAN -> LAN at r2.
    EXPECT_EQ(r.ingress_if, i == 0 ? 1u : 2u);
    EXPECT_EQ(r.egress_if, i == 0 ? 2u : 1u);
    for (Ipv4 a : standins) {
      const uint8_t be[4] = {static_cast<uint8_t>(a >> 24), static_cast<uint8_t>(a >> 16), static_cast<uint8_t>(a >> 8),
                             static_cast<uint8_t>(a)};
      EXPECT_EQ(std::search(d.wire.begin(), d.wire.end(), be, be + 4), d.wire.end())
          << "stand-in " << format_ipv4(a) << " in the IPFIX message";
    }
  }
  // A plain IPv4 session keeps template 256 (pre: as it arrived, post: as it left).
  make(v4in6_config(true, true), v4in6_config(false, true));
  enable_session_events(*r1);
  r1->send_one(kLan, client(Pkt().ipv4(kClient, kServer).tcp(40001, 80, 0x02)));
  const std::vector<SessionEvent> plain = drain_events(r1->shared());
  ASSERT_FALSE(plain.empty());
  const DecodedRecord d = ipfix_round_trip(mgmt::ipfix_record(plain.back(), r1->model(), kExportClock));
  EXPECT_EQ(d.template_id, mgmt::kSessionTemplateId);
  EXPECT_FALSE(d.rec.post_ipv6);
  EXPECT_EQ(d.rec.post.src, kR1Wan) << "the IPv4 waypoints";
  EXPECT_EQ(d.rec.post.dst, kR2Wan);
}

// The exporter sends template 259 (with 257 and 258) to a router that routes no IPv6 but has
// an IPv6 waypoint, whose IPv4 sessions may ride it; not to one without either.
TEST_F(Svr4v6View, TheIpv6TemplatesGoWhereThereIsAnIpv6Waypoint) {
  EXPECT_FALSE(r1->model().ipv6_routing) << "no IPv6 service in this config";
  EXPECT_TRUE(mgmt::ipfix_ipv6_templates(r1->model()));
  config::Config c = v4in6_config(true, true);
  c.mutable_router()->mutable_wan(0)->clear_ipv6_addresses();
  c.mutable_peers(0)->clear_waypoints();
  c.mutable_peers(0)->add_waypoints("172.16.0.2");
  EXPECT_FALSE(mgmt::ipfix_ipv6_templates(Router(c).model()));
}

// REST (GET /api/v1/sessions, /sessions/{uuid}, addr= filters): family ipv4,
// the client's IPv4 tuple on the LAN side, the IPv6 waypoints on the WAN side
// (left at r1, arrived at r2), the peer and role; no 0.255.0.0/16 address.
TEST_F(Svr4v6View, RestShowsTheIpv4TupleAndTheIpv6Waypoints) {
  run_session();
  const std::string uuid = mgmt::format_session_id(evs[0].back().session.uuid);
  for (int i = 0; i < 2; ++i) {
    SCOPED_TRACE(i == 0 ? "r1 (ingress)" : "r2 (egress)");
    const bool ingress = i == 0;
    const RouterModel& m = router(i).model();
    const nlohmann::json list = rest_get(router(i), evs[i], m, "/api/v1/sessions");
    ASSERT_EQ(list["sessions"].size(), 1u) << list.dump();
    const nlohmann::json& j = list["sessions"][0];
    SCOPED_TRACE(j.dump());
    EXPECT_EQ(j["uuid"], uuid);
    EXPECT_EQ(j["family"], "ipv4");
    EXPECT_EQ(j["svr_role"], ingress ? "ingress" : "egress");
    EXPECT_EQ(j["peer"], ingress ? "r2" : "r1");
    EXPECT_EQ(j["tenant"], "branch");
    EXPECT_EQ(j["service"], "web");
    EXPECT_EQ(j["original"]["src"], "10.1.0.5");
    EXPECT_EQ(j["original"]["dst"], "10.2.0.10");
    const nlohmann::json& lan = ingress ? j["arrived"] : j["left"];
    const nlohmann::json& wan = ingress ? j["left"] : j["arrived"];
    EXPECT_EQ(lan, j["original"]);
    EXPECT_EQ(wan["src"], kR1Wan6);
    EXPECT_EQ(wan["dst"], kR2Wan6);
    EXPECT_EQ(wan["sport"], sport);
    EXPECT_EQ(wan["dport"], dport);
    EXPECT_EQ(wan["protocol"], "tcp");
    EXPECT_EQ(j["ingress"], m.interfaces[ingress ? 0 : 1].name);
    EXPECT_EQ(j["egress"], m.interfaces[ingress ? 1 : 0].name);
    EXPECT_EQ(j["next_hop"], ingress ? "" : "10.2.0.10") << "no stand-in next hop";
    EXPECT_EQ(list.dump().find("\"0."), std::string::npos) << "no 0.255.0.0/16 address";
    EXPECT_EQ(rest_get(router(i), evs[i], m, "/api/v1/sessions/" + uuid), j) << "found by its UUID alike";
    // addr=: the IPv4 tuple and the IPv6 waypoints match; a stand-in and other addresses do not.
    auto count = [&](const std::string& addr) {
      return rest_get(router(i), evs[i], m, "/api/v1/sessions?addr=" + addr)["sessions"].size();
    };
    EXPECT_EQ(count("10.1.0.5"), 1u);
    EXPECT_EQ(count(kR1Wan6), 1u);
    EXPECT_EQ(count(kR2Wan6), 1u);
    EXPECT_EQ(count("2001:db8:70::9"), 0u);
    for (Ipv4 a : standins) EXPECT_EQ(count(format_ipv4(a)), 0u) << format_ipv4(a);
  }
}

// A commit removed the peer's IPv6 waypoint while the session lived: IPFIX
// exports :: for the leg it no longer knows, REST empty addresses; never a
// stand-in.
TEST_F(Svr4v6View, AWaypointTheConfigNoLongerNamesIsNotShown) {
  run_session();
  config::Config c = v4in6_config(true);
  c.mutable_peers(0)->clear_waypoints();
  c.mutable_peers(0)->add_waypoints("172.16.0.2");
  Router later(c);
  const DecodedRecord d = ipfix_round_trip(mgmt::ipfix_record(evs[0].back(), later.model(), kExportClock));
  EXPECT_EQ(d.template_id, mgmt::kSession4Post6TemplateId);
  EXPECT_TRUE(d.rec.post_src6.is_unspecified()) << "the leg is not known whole: :: -> ::, as svr6_view.h does";
  EXPECT_TRUE(d.rec.post_dst6.is_unspecified());
  EXPECT_EQ(d.rec.post.dport, dport) << "the ports stay";
  for (Ipv4 a : standins) {
    const uint8_t be[4] = {static_cast<uint8_t>(a >> 24), static_cast<uint8_t>(a >> 16), static_cast<uint8_t>(a >> 8),
                           static_cast<uint8_t>(a)};
    EXPECT_EQ(std::search(d.wire.begin(), d.wire.end(), be, be + 4), d.wire.end()) << format_ipv4(a);
  }
  const nlohmann::json list = rest_get(later, evs[0], later.model(), "/api/v1/sessions");
  ASSERT_EQ(list["sessions"].size(), 1u);
  EXPECT_EQ(list["sessions"][0]["left"]["src"], "");
  EXPECT_EQ(list["sessions"][0]["left"]["dst"], "");
  EXPECT_EQ(list["sessions"][0]["left"]["dport"], dport);
  EXPECT_EQ(list.dump().find("\"0."), std::string::npos) << list.dump();
}

// --- configuration --------------------------------------------------------------

TEST(Waypoint6V4Config, IPv6OnlyPeersHavePathsOverIpv6Waypoints) {
  EXPECT_EQ(config_errors(v4in6_config(true)), "");
  config::Config c = v4in6_config(true);
  c.mutable_services(0)->add_paths("wan0");
  c.mutable_services(0)->mutable_sla()->set_max_latency_ms(50);
  EXPECT_EQ(config_errors(c), "") << "paths and sla over the IPv6 waypoints (docs/ipv6.md § Paths over IPv6 waypoints)";
  config::Config e = v4in6_config(true);
  e.mutable_router()->mutable_wan(0)->clear_ipv6_addresses();
  e.mutable_services(0)->add_paths("wan0");
  EXPECT_TRUE(has_config_error(e, "services[0].paths[0]", "\"wan0\" has no IPv6 waypoint of ours"));
  config::Config d = v4in6_config(true, true);
  d.mutable_services(0)->add_paths("wan0");
  EXPECT_EQ(config_errors(d), "") << "a dual-stack peer has IPv4 paths";
}

}  // namespace
}  // namespace wp
