// NAT64 address mapping (RFC 6052) and ICMP translation tables (RFC 7915):
// the RFC 6052 § 2.4 example table both ways, bad prefixes and u octets, the
// Well-Known Prefix's global-only rule, every ICMP type/code row, MTU and
// Parameter Problem pointer adjustments; the in-place header translation of
// TCP, UDP and ICMP echo both ways (nat64_packet.h, RFC 7915 § 4.1/§ 5.1);
// a worker's bindings (session/nat64_bindings.h, RFC 6146).
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "dataplane/ip/checksum.h"
#include "dataplane/ip/nat64.h"
#include "dataplane/ip/nat64_packet.h"
#include "dataplane/session/nat64_bindings.h"
#include "dataplane/session/owner.h"
#include "tests/unit/pkt6_builder.h"
#include "tests/unit/pkt_builder.h"

namespace wp {
namespace {

Ipv6Bytes v6(const char* text) {
  Ipv6Bytes b{};
  EXPECT_EQ(inet_pton(AF_INET6, text, b.data()), 1) << text;
  return b;
}
Ipv4 v4(const char* text) { return parse_ipv4(text).value(); }

struct Row {
  const char* prefix;
  uint8_t len;
  const char* embedded;
};

// RFC 6052 § 2.4, Table 2 (192.0.2.33 under each prefix) and the Well-Known Prefix line.
const Row kRfc6052[] = {
    {"2001:db8::", 32, "2001:db8:c000:221::"},
    {"2001:db8:100::", 40, "2001:db8:1c0:2:21::"},
    {"2001:db8:122::", 48, "2001:db8:122:c000:2:2100::"},
    {"2001:db8:122:300::", 56, "2001:db8:122:3c0:0:221::"},
    {"2001:db8:122:344::", 64, "2001:db8:122:344:c0:2:2100:0"},
    {"2001:db8:122:344::", 96, "2001:db8:122:344::192.0.2.33"},
    {"64:ff9b::", 96, "64:ff9b::192.0.2.33"},
};

TEST(Nat64, Rfc6052ExamplesEmbedAndExtract) {
  for (const Row& r : kRfc6052) {
    SCOPED_TRACE(std::string(r.prefix) + "/" + std::to_string(r.len));
    EXPECT_EQ(nat64_embed(v6(r.prefix), r.len, v4("192.0.2.33")), v6(r.embedded));
    EXPECT_EQ(nat64_extract(v6(r.prefix), r.len, v6(r.embedded)), v4("192.0.2.33"));
  }
  EXPECT_EQ(nat64_embed(kNat64WellKnownPrefix, 96, v4("10.2.0.10")), v6("64:ff9b::a02:a"));
}

TEST(Nat64, ExtractRefusesOtherPrefixesLengthsAndAUOctet) {
  const Ipv6Bytes p = v6("2001:db8:122::");
  EXPECT_EQ(nat64_extract(p, 48, v6("2001:db8:123:c000:2:2100::")), std::nullopt);  // not under the prefix
  EXPECT_EQ(nat64_extract(p, 44, v6("2001:db8:122:c000:2:2100::")), std::nullopt);  // not an RFC 6052 length
  EXPECT_EQ(nat64_extract(p, 48, v6("2001:db8:122:c000:ff02:2100::")), std::nullopt);  // u octet set
  for (uint8_t len = 0; len <= 128; ++len)
    EXPECT_EQ(nat64_prefix_len_ok(len), len == 32 || len == 40 || len == 48 || len == 56 || len == 64 || len == 96);
}

TEST(Nat64, EmbedKeepsTheUOctetZeroAndIgnoresPrefixHostBits) {
  Ipv6Bytes p = v6("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff");
  for (uint8_t len : {32, 40, 48, 56, 64}) {
    const Ipv6Bytes a = nat64_embed(p, len, v4("255.255.255.255"));
    EXPECT_EQ(a[8], 0) << int(len);
    EXPECT_EQ(nat64_extract(p, len, a), v4("255.255.255.255")) << int(len);
  }
}

TEST(Nat64, WellKnownPrefixOnlyForGlobalAddresses) {
  for (const char* a : {"10.1.2.3", "172.16.0.1", "192.168.1.1", "127.0.0.1", "169.254.1.1", "100.64.0.1",
                        "192.0.2.33", "198.51.100.1", "203.0.113.9", "224.0.0.1", "255.255.255.255", "0.1.2.3"})
    EXPECT_FALSE(nat64_wkp_allows(v4(a))) << a;
  for (const char* a : {"8.8.8.8", "1.1.1.1", "93.184.216.34", "172.32.0.1", "100.128.0.1"})
    EXPECT_TRUE(nat64_wkp_allows(v4(a))) << a;
}

TEST(Nat64, Icmpv6ToIcmpv4Rows) {
  auto x = [](uint8_t t, uint8_t c) { return icmp6_to_icmp4(t, c); };
  EXPECT_EQ((std::pair{x(128, 0).type, x(128, 0).code}), (std::pair<uint8_t, uint8_t>{8, 0}));
  EXPECT_EQ(x(129, 0).type, 0);
  EXPECT_FALSE(x(128, 0).inner_packet);
  for (uint8_t c : {0, 2, 3}) EXPECT_EQ((std::pair{x(1, c).type, x(1, c).code}), (std::pair<uint8_t, uint8_t>{3, 1}));
  EXPECT_EQ(x(1, 1).code, 10);
  EXPECT_EQ(x(1, 4).code, 3);
  EXPECT_TRUE(x(1, 5).drop);
  EXPECT_EQ((std::pair{x(2, 0).type, x(2, 0).code}), (std::pair<uint8_t, uint8_t>{3, 4}));
  EXPECT_TRUE(x(2, 0).mtu_adjust);
  EXPECT_TRUE(x(2, 0).inner_packet);
  EXPECT_EQ(x(3, 1).type, 11);
  EXPECT_EQ(x(3, 1).code, 1);
  EXPECT_TRUE(x(4, 0).pointer_adjust);
  EXPECT_EQ(x(4, 0).type, 12);
  EXPECT_EQ((std::pair{x(4, 1).type, x(4, 1).code}), (std::pair<uint8_t, uint8_t>{3, 2}));
  EXPECT_TRUE(x(4, 2).drop);
  for (uint8_t t : {130, 131, 132, 133, 134, 135, 136, 137, 200, 100}) EXPECT_TRUE(x(t, 0).drop) << int(t);
}

TEST(Nat64, Icmpv4ToIcmpv6Rows) {
  auto x = [](uint8_t t, uint8_t c) { return icmp4_to_icmp6(t, c); };
  EXPECT_EQ(x(8, 0).type, 128);
  EXPECT_EQ(x(0, 0).type, 129);
  for (uint8_t c : {0, 1, 5, 6, 7, 8, 11, 12}) EXPECT_EQ((std::pair{x(3, c).type, x(3, c).code}), (std::pair<uint8_t, uint8_t>{1, 0})) << int(c);
  EXPECT_EQ((std::pair{x(3, 2).type, x(3, 2).code}), (std::pair<uint8_t, uint8_t>{4, 1}));
  EXPECT_TRUE(x(3, 2).pointer_adjust);
  EXPECT_EQ(x(3, 3).code, 4);
  EXPECT_EQ(x(3, 4).type, 2);
  EXPECT_TRUE(x(3, 4).mtu_adjust);
  for (uint8_t c : {9, 10, 13, 15}) EXPECT_EQ((std::pair{x(3, c).type, x(3, c).code}), (std::pair<uint8_t, uint8_t>{1, 1})) << int(c);
  EXPECT_TRUE(x(3, 14).drop);
  EXPECT_EQ(x(11, 0).type, 3);
  EXPECT_EQ(x(12, 0).type, 4);
  EXPECT_EQ(x(12, 2).type, 4);
  EXPECT_TRUE(x(12, 1).drop);
  for (uint8_t t : {4, 5, 6, 9, 10, 13, 14, 15, 16, 17, 18, 99}) EXPECT_TRUE(x(t, 0).drop) << int(t);
}

TEST(Nat64, MtuAndPointerAdjustments) {
  EXPECT_EQ(nat64_mtu_6to4(1400, 1500), 1380u);
  EXPECT_EQ(nat64_mtu_6to4(1500, 1400), 1400u);  // the IPv4 link is smaller
  EXPECT_EQ(nat64_mtu_4to6(1400, 1500), 1420u);
  EXPECT_EQ(nat64_mtu_4to6(1000, 1500), 1280u);  // never below the IPv6 minimum
  EXPECT_EQ(nat64_mtu_4to6(0, 1500), 1280u);     // an old router's zero MTU
  EXPECT_EQ(nat64_mtu_4to6(9000, 1500), 1500u);
  EXPECT_EQ(nat64_pointer_6to4(6), 9);
  EXPECT_EQ(nat64_pointer_6to4(7), 8);
  EXPECT_EQ(nat64_pointer_6to4(4), 2);
  EXPECT_EQ(nat64_pointer_6to4(20), 12);
  EXPECT_EQ(nat64_pointer_6to4(30), 16);
  EXPECT_EQ(nat64_pointer_6to4(2), std::nullopt);  // flow label
  EXPECT_EQ(nat64_pointer_6to4(40), std::nullopt);
  EXPECT_EQ(nat64_pointer_4to6(9), 6u);
  EXPECT_EQ(nat64_pointer_4to6(8), 7u);
  EXPECT_EQ(nat64_pointer_4to6(3), 4u);
  EXPECT_EQ(nat64_pointer_4to6(14), 8u);
  EXPECT_EQ(nat64_pointer_4to6(17), 24u);
  EXPECT_EQ(nat64_pointer_4to6(4), std::nullopt);  // identification
  EXPECT_EQ(nat64_pointer_4to6(10), std::nullopt);  // header checksum
  // The pointer maps round trip where both sides have the field.
  for (uint32_t p : {0u, 1u, 4u, 6u, 7u, 8u, 24u}) EXPECT_EQ(nat64_pointer_4to6(nat64_pointer_6to4(p).value()), p);
}

// The Packet Too Big that NAT64 and NAT46 send when a translated packet is above the IPv4 link.
TEST(Nat64, TooBigReportsTheIpv6SizeOrNothing) {
  EXPECT_EQ(nat64_ipv6_mtu_for(1400), 1420u);
  EXPECT_EQ(nat64_ipv6_mtu_for(1000), 1280u);        // never below the IPv6 minimum
  EXPECT_EQ(nat64_too_big_report(1400, 1500), 1420u);
  EXPECT_EQ(nat64_too_big_report(1400, 1421), 1420u);
  EXPECT_EQ(nat64_too_big_report(1400, 1420), 0u);   // already within what it would say
  EXPECT_EQ(nat64_too_big_report(1000, 1280), 0u);   // an IPv4 MTU below 1260: it cannot go smaller
  EXPECT_EQ(nat64_too_big_report(1000, 1281), 1280u);
}


// --- packet translation -----------------------------------------------------------

constexpr uint16_t kHeadroom = 64;

// A frame with headroom in front, as an mbuf has.
struct Buf {
  std::vector<uint8_t> b;
  explicit Buf(const std::vector<uint8_t>& frame) : b(kHeadroom + frame.size(), 0) {
    std::copy(frame.begin(), frame.end(), b.begin() + kHeadroom);
  }
  uint8_t* frame() { return b.data() + kHeadroom; }
};

// A translated IPv4 frame parses, and its header and transport checksums verify.
ParsedPacket checked_v4(const uint8_t* f, uint16_t len) {
  ParsedPacket pp = parse_packet(f, len);
  EXPECT_EQ(pp.status, ParseStatus::ipv4);
  EXPECT_TRUE(ipv4_header_checksum_ok(f + pp.l3));
  const uint8_t* l4 = f + pp.l4;
  const uint16_t l4_len = static_cast<uint16_t>(pp.end - pp.l4);
  if (pp.proto == kProtoIcmp)
    EXPECT_EQ(csum_fold(csum_partial(l4, l4_len)), 0);
  else
    EXPECT_EQ(l4_checksum(f + pp.l3, l4, l4_len), load_be16(l4 + (pp.proto == kProtoTcp ? 16 : 6)));
  return pp;
}

TEST(Nat64Packet, TcpFromIpv6BecomesIpv4FromThePoolPort) {
  auto f6 = test::Pkt6().ipv6("2001:db8:1::10", "64:ff9b::a02:a", 64).tcp(40000, 80, 0x02).payload("GET / HTTP/1.1").bytes();
  f6[kEthHdrLen] = 0x6b;  // traffic class 0xbb: the low nibble of byte 0, the high one of byte 1
  f6[kEthHdrLen + 1] = 0xb0;
  Buf b(f6);
  Ipv6View v = parse_ipv6_packet(b.frame(), static_cast<uint32_t>(f6.size()), kEthHdrLen);
  ASSERT_EQ(v.status, Ipv6Status::ok);
  Nat64Result r = nat64_6to4(b.frame(), v, v4("10.1.0.200"), v4("10.2.0.10"), 61000, 7);
  ASSERT_EQ(r.verdict, Nat64Verdict::ok);
  EXPECT_EQ(r.shift, 20);
  const uint8_t* f = b.frame() + r.shift;
  EXPECT_EQ(std::memcmp(f, f6.data(), 12), 0);  // the Ethernet addresses stay
  ParsedPacket pp = checked_v4(f, r.len);
  EXPECT_EQ(pp.src, v4("10.1.0.200"));
  EXPECT_EQ(pp.dst, v4("10.2.0.10"));
  EXPECT_EQ(pp.sport, 61000);
  EXPECT_EQ(pp.dport, 80);
  EXPECT_EQ(pp.ttl, 63);  // the translator forwards
  EXPECT_EQ(pp.proto, kProtoTcp);
  EXPECT_EQ(f[kEthHdrLen + 1], 0xbb);  // traffic class -> TOS
  EXPECT_EQ(load_be16(f + kEthHdrLen + 6), 0);  // small: DF clear (RFC 7915 § 5.1)
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(f + pp.payload), pp.payload_len()), "GET / HTTP/1.1");
}

TEST(Nat64Packet, ExtensionHeadersGoAndBigPacketsGetDf) {
  std::string big(1300, 'x');
  auto f6 = test::Pkt6().ipv6("2001:db8:1::10", "64:ff9b::a02:a").dest_opts().udp(5000, 53).payload(big).bytes();
  Buf b(f6);
  Ipv6View v = parse_ipv6_packet(b.frame(), static_cast<uint32_t>(f6.size()), kEthHdrLen);
  Nat64Result r = nat64_6to4(b.frame(), v, v4("10.1.0.200"), v4("10.2.0.10"), 61001, 8);
  ASSERT_EQ(r.verdict, Nat64Verdict::ok);
  EXPECT_EQ(r.shift, 28);  // 20 + the 8-byte destination options header
  ParsedPacket pp = checked_v4(b.frame() + r.shift, r.len);
  EXPECT_EQ(pp.sport, 61001);
  EXPECT_EQ(pp.payload_len(), 1300);
  EXPECT_EQ(load_be16(b.frame() + r.shift + kEthHdrLen + 6), 0x4000);
}

TEST(Nat64Packet, UdpFromIpv4BecomesIpv6ToTheClient) {
  auto f4 = test::Pkt().eth().ipv4("10.2.0.10", "10.1.0.200", 60).udp(53, 61001).payload("answer").bytes();
  Buf b(f4);
  ParsedPacket pp = parse_packet(b.frame(), static_cast<uint32_t>(f4.size()));
  const Ipv6 from = test::ip6("64:ff9b::a02:a"), to = test::ip6("2001:db8:1::10");
  Nat64Result r = nat64_4to6(b.frame(), pp, from, to, 5000);
  ASSERT_EQ(r.verdict, Nat64Verdict::ok);
  EXPECT_EQ(r.shift, -20);
  uint8_t* f = b.frame() + r.shift;
  Ipv6View v = parse_ipv6_packet(f, r.len, kEthHdrLen);
  ASSERT_EQ(v.status, Ipv6Status::ok);
  EXPECT_EQ(load_be16(f + 12), kEtherTypeIpv6);
  EXPECT_EQ(v.src, from);
  EXPECT_EQ(v.dst, to);
  EXPECT_EQ(v.sport, 53);
  EXPECT_EQ(v.dport, 5000);
  EXPECT_EQ(v.hop_limit, 59);
  EXPECT_EQ(v.proto, kProtoUdp);
  EXPECT_EQ(l4_checksum6(from, to, kProtoUdp, f + v.l4, v.end - v.l4), load_be16(f + v.l4 + 6));
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(f + v.payload), v.payload_len()), "answer");
}

TEST(Nat64Packet, IcmpEchoBothWays) {
  auto f6 = test::Pkt6().ipv6("2001:db8:1::10", "64:ff9b::a02:a").icmp6_echo(0x1234).payload("ping").bytes();
  Buf b(f6);
  Ipv6View v = parse_ipv6_packet(b.frame(), static_cast<uint32_t>(f6.size()), kEthHdrLen);
  Nat64Result r = nat64_6to4(b.frame(), v, v4("10.1.0.200"), v4("10.2.0.10"), 0x4321, 9);
  ASSERT_EQ(r.verdict, Nat64Verdict::ok);
  ParsedPacket pp = checked_v4(b.frame() + r.shift, r.len);
  EXPECT_EQ(pp.proto, kProtoIcmp);
  EXPECT_EQ(b.frame()[r.shift + pp.l4], 8);  // echo request
  EXPECT_EQ(pp.sport, 0x4321);               // the identifier of the binding
  // The reply, back.
  auto f4 = test::Pkt().eth().ipv4("10.2.0.10", "10.1.0.200").icmp_echo(0x4321, 1, 0).payload("ping").bytes();
  Buf b4(f4);
  ParsedPacket p4 = parse_packet(b4.frame(), static_cast<uint32_t>(f4.size()));
  const Ipv6 from = test::ip6("64:ff9b::a02:a"), to = test::ip6("2001:db8:1::10");
  Nat64Result r4 = nat64_4to6(b4.frame(), p4, from, to, 0x1234);
  ASSERT_EQ(r4.verdict, Nat64Verdict::ok);
  uint8_t* f = b4.frame() + r4.shift;
  Ipv6View v6 = parse_ipv6_packet(f, r4.len, kEthHdrLen);
  ASSERT_EQ(v6.proto, kProtoIcmpv6);
  EXPECT_EQ(f[v6.l4], 129);
  EXPECT_EQ(v6.dport, 0x1234);
  EXPECT_EQ(l4_checksum6(from, to, kProtoIcmpv6, f + v6.l4, v6.end - v6.l4), load_be16(f + v6.l4 + 2));
}

TEST(Nat64Packet, RefusesWhatItDoesNotTranslate) {
  const Ipv4 a = v4("10.1.0.200"), d = v4("10.2.0.10");
  auto last_hop = test::Pkt6().ipv6("2001:db8:1::10", "64:ff9b::a02:a", 1).udp(1, 2).bytes();
  Ipv6View v = parse_ipv6_packet(last_hop.data(), static_cast<uint32_t>(last_hop.size()), kEthHdrLen);
  EXPECT_EQ(nat64_6to4(last_hop.data(), v, a, d, 1, 1).verdict, Nat64Verdict::hop_limit_exceeded);
  auto frag = test::Pkt6().ipv6("2001:db8:1::10", "64:ff9b::a02:a").fragment(0, true, 5).udp(1, 2).payload("x").bytes();
  v = parse_ipv6_packet(frag.data(), static_cast<uint32_t>(frag.size()), kEthHdrLen);
  EXPECT_EQ(nat64_6to4(frag.data(), v, a, d, 1, 1).verdict, Nat64Verdict::fragment);
  auto unreachable = test::Pkt6().ipv6("2001:db8:1::10", "64:ff9b::a02:a").icmp6_echo(1, 1).payload("x").bytes();
  v = parse_ipv6_packet(unreachable.data(), static_cast<uint32_t>(unreachable.size()), kEthHdrLen);
  EXPECT_EQ(nat64_6to4(unreachable.data(), v, a, d, 1, 1).verdict, Nat64Verdict::unsupported);  // an error: not here
  auto frag4 = test::Pkt().eth().ipv4("10.2.0.10", "10.1.0.200").frag(0x2000).udp(1, 2).payload("x").bytes();
  ParsedPacket pp = parse_packet(frag4.data(), static_cast<uint32_t>(frag4.size()));
  Buf b(frag4);
  EXPECT_EQ(nat64_4to6(b.frame(), pp, test::ip6("64:ff9b::1"), test::ip6("2001:db8::1"), 1).verdict,
            Nat64Verdict::fragment);
}


// --- bindings ---------------------------------------------------------------------

using Made = Nat64Bindings::Made;

TEST(Nat64Bindings, OneBindingPerSourceAndPortFoundBothWays) {
  Nat64Bindings b(1024, 1, 2, HashSecret{3, 4});
  const std::array<Ipv4, 2> pool = {v4("192.0.2.1"), v4("192.0.2.2")};
  b.set_pool(pool);
  const Ipv6 host = test::ip6("2001:db8:1::10");
  Made how;
  const auto* a = b.outbound(host, 40000, kProtoTcp, 1000, how);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(how, Made::created);
  EXPECT_TRUE(a->v4 == pool[0] || a->v4 == pool[1]);
  EXPECT_TRUE(is_waypoint_port(a->v4_port));
  EXPECT_EQ(owner_of_class(class_of_port(a->v4_port), 2), 1u);  // replies dispatch to this worker
  EXPECT_EQ(b.outbound(host, 40000, kProtoTcp, 2000, how), a);
  EXPECT_EQ(how, Made::found);
  // The same host, another port: the same IPv4 address (paired), another port.
  const auto* c = b.outbound(host, 40001, kProtoTcp, 2000, how);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->v4, a->v4);
  EXPECT_NE(c->v4_port, a->v4_port);
  // Per protocol.
  const auto* u = b.outbound(host, 40000, kProtoUdp, 2000, how);
  ASSERT_NE(u, nullptr);
  EXPECT_NE(u, a);
  // Inbound maps back.
  const auto* back = b.inbound(a->v4, a->v4_port, kProtoTcp, 3000);
  ASSERT_NE(back, nullptr);
  EXPECT_EQ(back->v6, host);
  EXPECT_EQ(back->v6_port, 40000);
  EXPECT_EQ(b.inbound(a->v4, a->v4_port, kProtoUdp, 3000) == nullptr, u->v4_port != a->v4_port);
  EXPECT_EQ(b.inbound(a->v4, static_cast<uint16_t>(a->v4_port + 2), kProtoTcp, 3000), nullptr);
  EXPECT_EQ(b.size(), 3u);
}

TEST(Nat64Bindings, IdleBindingsExpireAndGiveTheirPortBack) {
  Nat64Bindings b(64, 0, 1, HashSecret{5, 6});
  const std::array<Ipv4, 1> pool = {v4("192.0.2.1")};
  b.set_pool(pool);
  Made how;
  const auto* icmp = b.outbound(test::ip6("2001:db8:1::10"), 7, kProtoIcmp, 0, how);
  const auto* udp = b.outbound(test::ip6("2001:db8:1::10"), 5000, kProtoUdp, 0, how);
  ASSERT_NE(icmp, nullptr);
  ASSERT_NE(udp, nullptr);
  const uint16_t icmp_port = icmp->v4_port;
  const uint16_t udp_port = udp->v4_port;
  EXPECT_EQ(b.expire(Nat64Bindings::kIcmpMs - 1, 64), 0u);
  EXPECT_EQ(b.expire(Nat64Bindings::kIcmpMs, 64), 1u);  // ICMP's 60 s, not UDP's 5 min
  EXPECT_EQ(b.inbound(pool[0], icmp_port, kProtoIcmp, Nat64Bindings::kIcmpMs), nullptr);
  EXPECT_NE(b.inbound(pool[0], udp_port, kProtoUdp, Nat64Bindings::kIcmpMs), nullptr);  // and refreshed
  EXPECT_EQ(b.expire(Nat64Bindings::kUdpMs, 64), 0u);
  EXPECT_EQ(b.expire(Nat64Bindings::kIcmpMs + Nat64Bindings::kUdpMs, 64), 1u);
  EXPECT_EQ(b.size(), 0u);
}

TEST(Nat64Bindings, BoundedWithoutEviction) {
  Nat64Bindings b(8, 0, 1, HashSecret{7, 8});
  Made how;
  EXPECT_EQ(b.outbound(test::ip6("2001:db8:1::10"), 1, kProtoUdp, 0, how), nullptr);
  EXPECT_EQ(how, Made::no_pool);
  const std::array<Ipv4, 1> pool = {v4("192.0.2.1")};
  b.set_pool(pool);
  for (uint16_t p = 1; p <= 8; ++p) ASSERT_NE(b.outbound(test::ip6("2001:db8:1::10"), p, kProtoUdp, 0, how), nullptr);
  EXPECT_EQ(b.outbound(test::ip6("2001:db8:1::10"), 9, kProtoUdp, 0, how), nullptr);
  EXPECT_EQ(how, Made::full);
  EXPECT_NE(b.outbound(test::ip6("2001:db8:1::10"), 3, kProtoUdp, 0, how), nullptr);  // existing ones still work
  EXPECT_EQ(how, Made::found);
}

}  // namespace
}  // namespace wp
