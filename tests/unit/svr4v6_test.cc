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
#include <string>
#include <vector>

#include "dataplane/crypto/session_data.h"
#include "dataplane/session/owner.h"
#include "dataplane/svr/metadata.h"
#include "tests/unit/nat64_test_config.h"
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
// the WAN while a larger one is dropped (never fragmented).
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
  EXPECT_TRUE(r1->send(kLan, client(Pkt().ipv4(kClient, kServer).tcp(40010, 80, 0x10).payload(full + std::string(20, 'y'))))
                  .empty());
  EXPECT_EQ(r1->drop_count(DropReason::waypoint6_too_big), 1u);
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

TEST_F(Svr4v6, FullSizeUdpIsDroppedNotFragmented) {
  const uint32_t mtu = r1->model().interfaces[1].mtu;
  // 1500 bytes of IPv4 on the LAN: 1520 in IPv6 even without the metadata.
  const std::string data(mtu - 20 - 8, 'x');
  EXPECT_TRUE(r1->send(kLan, client(Pkt().ipv4(kClient, kServer).udp(5354, 53).payload(data))).empty());
  EXPECT_EQ(r1->drop_count(DropReason::waypoint6_too_big), 1u);
  EXPECT_EQ(r1->count(Counter::waypoint6_sent), 0u);
}

TEST_F(Svr4v6, WithoutAnIpv6WaypointOfOursThePeerIsUnreachable) {
  config::Config c = v4in6_config(true);
  c.mutable_router()->mutable_wan(0)->clear_ipv6_addresses();
  Router r(c);
  r.neighbor(0, kClient, kClientMac);
  EXPECT_TRUE(r.send(kLan, Pkt().eth(mac_of(r), kClientMac).ipv4(kClient, kServer).tcp(40050, 80, 0x02).bytes()).empty());
  EXPECT_EQ(r.drop_count(DropReason::no_peer), 1u);
}

// --- configuration --------------------------------------------------------------

TEST(Waypoint6V4Config, IPv6OnlyPeersValidateButHaveNoPaths) {
  EXPECT_EQ(config_errors(v4in6_config(true)), "");
  config::Config c = v4in6_config(true);
  c.mutable_services(0)->add_paths("wan0");
  EXPECT_TRUE(has_config_error(c, "services[0]", "peer \"r2\" lists IPv6 waypoints only"));
  config::Config d = v4in6_config(true, true);
  d.mutable_services(0)->add_paths("wan0");
  EXPECT_EQ(config_errors(d), "") << "a dual-stack peer has IPv4 paths";
}

}  // namespace
}  // namespace wp
