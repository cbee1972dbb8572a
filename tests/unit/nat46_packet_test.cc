// NAT46 ICMP error translation (docs/ipv6.md § NAT46, ip/nat64_packet.h
// nat46_icmp6_error_to4): an ICMPv6 error about a packet translated from an
// IPv4 client becomes the ICMPv4 error about the client's packet, with the
// checksums of both the message and its inner packet verifying.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "dataplane/ip/checksum.h"
#include "dataplane/ip/nat64_packet.h"
#include "dataplane/ip/packet.h"
#include "tests/unit/pkt6_builder.h"

namespace wp {
namespace {

using test::ip6;
using test::Pkt6;

Ipv4 v4(const char* text) { return parse_ipv4(text).value(); }

const char* const kClient6 = "2001:db8:4646::a01:5";  // 10.1.0.5 under the source prefix
const char* const kServer6 = "2001:db8:46::a2e:a";    // 10.46.0.10 under the server prefix
const char* const kRouter6 = "2001:db8:46::fe";       // an IPv6 router on the way, no IPv4 form

// The packet the translator sent (the client's, as IPv6), with a valid
// transport checksum, as an ICMPv6 error quotes it.
std::vector<uint8_t> inner(Pkt6 p) {
  std::vector<uint8_t> d = p.datagram();
  const uint8_t proto = d[6];
  const uint32_t len = static_cast<uint32_t>(d.size() - 40);
  const uint16_t at = proto == kProtoTcp ? 16 : proto == kProtoUdp ? 6 : 2;
  store_be16(d.data() + 40 + at, l4_checksum6(ip6(kClient6), ip6(kServer6), proto, d.data() + 40, len));
  return d;
}

// An ICMPv6 error of type/code with `word` in bytes 4-7, from `from` to the client.
std::vector<uint8_t> error6(uint8_t type, uint8_t code, uint32_t word, const std::vector<uint8_t>& quoted,
                            const char* from = kRouter6, uint8_t hops = 60) {
  std::vector<uint8_t> h(8, 0);
  h[0] = type;
  h[1] = code;
  store_be32(h.data() + 4, word);
  return Pkt6().ipv6(from, kClient6, hops).l4(kProtoIcmpv6, h).payload(quoted).bytes();
}

constexpr uint16_t kHeadroom = 64;

struct Out {
  Nat64Result r;
  std::vector<uint8_t> buf;
  const uint8_t* frame() const { return buf.data() + kHeadroom + r.shift; }
};

Out translate(const std::vector<uint8_t>& f6, uint32_t link_mtu = 1500) {
  Out o;
  o.buf.assign(kHeadroom + f6.size(), 0);
  std::copy(f6.begin(), f6.end(), o.buf.begin() + kHeadroom);
  uint8_t* frame = o.buf.data() + kHeadroom;
  Ipv6View v = parse_ipv6_packet(frame, static_cast<uint32_t>(f6.size()), kEthHdrLen);
  EXPECT_EQ(v.status, Ipv6Status::ok);
  o.r = nat46_icmp6_error_to4(frame, v, v4("172.16.0.1"), v4("10.1.0.5"), v4("10.46.0.10"), link_mtu, 77);
  return o;
}

// The outer ICMPv4 error parses and verifies; its inner IPv4 header is the
// client's packet's, whose header checksum verifies. Returns the ICMP offset.
uint32_t checked(const Out& o, uint8_t type, uint8_t code) {
  const uint8_t* f = o.frame();
  ParsedPacket pp = parse_packet(f, o.r.len);
  EXPECT_EQ(pp.status, ParseStatus::ipv4);
  EXPECT_TRUE(ipv4_header_checksum_ok(f + pp.l3));
  EXPECT_EQ(pp.src, v4("172.16.0.1"));
  EXPECT_EQ(pp.dst, v4("10.1.0.5"));
  EXPECT_EQ(pp.proto, kProtoIcmp);
  EXPECT_EQ(pp.ttl, 59);  // hop limit - 1
  EXPECT_EQ(load_be16(f + pp.l3 + 4), 77);
  EXPECT_EQ(load_be16(f + pp.l3 + 2), o.r.len - kEthHdrLen);
  const uint8_t* icmp = f + pp.l4;
  EXPECT_EQ(icmp[0], type);
  EXPECT_EQ(icmp[1], code);
  EXPECT_EQ(csum_fold(csum_partial(icmp, pp.end - pp.l4)), 0) << "ICMPv4 checksum";
  const uint8_t* in = icmp + 8;
  EXPECT_EQ(in[0], 0x45);
  EXPECT_TRUE(ipv4_header_checksum_ok(in));
  EXPECT_EQ(load_be32(in + 12), v4("10.1.0.5"));
  EXPECT_EQ(load_be32(in + 16), v4("10.46.0.10"));
  return pp.l4;
}

TEST(Nat46Packet, PacketTooBigBecomesFragmentationNeededWithTheMtuLess20) {
  auto q = inner(Pkt6().ipv6(kClient6, kServer6, 63).tcp(40000, 80, 0x10).payload(std::string(100, 'x')));
  Out o = translate(error6(2, 0, 1400, q));
  ASSERT_EQ(o.r.verdict, Nat64Verdict::ok);
  EXPECT_EQ(o.r.shift, 40);  // 20 bytes less in each IP header
  const uint32_t at = checked(o, 3, 4);
  const uint8_t* icmp = o.frame() + at;
  EXPECT_EQ(load_be16(icmp + 4), 0);
  EXPECT_EQ(load_be16(icmp + 6), 1380);  // RFC 7915 § 5.2: MTU - 20
  const uint8_t* in = icmp + 8;
  EXPECT_EQ(in[9], kProtoTcp);
  EXPECT_EQ(in[8], 63);                         // the inner hop limit as it was
  EXPECT_EQ(load_be16(in + 2), 20 + 20 + 100);  // the client's packet's length
  EXPECT_EQ(load_be16(in + 20), 40000);         // ports unchanged
  EXPECT_EQ(load_be16(in + 22), 80);
  // The whole inner packet is there: its TCP checksum verifies over IPv4.
  EXPECT_EQ(l4_checksum(in, in + 20, 120), load_be16(in + 20 + 16));
  EXPECT_EQ(o.r.len, kEthHdrLen + 20 + 8 + 20 + 120);

  // The IPv4 side's link bounds the MTU reported.
  Out small = translate(error6(2, 0, 9000, q), 1500);
  ASSERT_EQ(small.r.verdict, Nat64Verdict::ok);
  EXPECT_EQ(load_be16(small.frame() + checked(small, 3, 4) + 6), 1500);
}

TEST(Nat46Packet, TimeExceededAboutAnEchoRequest) {
  auto q = inner(Pkt6().ipv6(kClient6, kServer6, 1).icmp6_echo(0x1234).payload("ping"));
  Out o = translate(error6(3, 0, 0, q));
  ASSERT_EQ(o.r.verdict, Nat64Verdict::ok);
  const uint8_t* in = o.frame() + checked(o, 11, 0) + 8;
  EXPECT_EQ(in[9], kProtoIcmp);
  EXPECT_EQ(in[20], 8) << "the inner echo request is ICMPv4's again";
  EXPECT_EQ(load_be16(in + 24), 0x1234);
  EXPECT_EQ(csum_fold(csum_partial(in + 20, 12)), 0) << "inner ICMP checksum, no pseudo-header";
}

TEST(Nat46Packet, UnreachableAndParameterProblemAboutUdp) {
  auto q = inner(Pkt6().ipv6(kClient6, kServer6, 63).udp(5353, 53).payload("query"));
  Out port = translate(error6(1, 4, 0, q, kServer6));
  ASSERT_EQ(port.r.verdict, Nat64Verdict::ok);
  const uint8_t* in = port.frame() + checked(port, 3, 3) + 8;
  EXPECT_EQ(in[9], kProtoUdp);
  EXPECT_EQ(l4_checksum(in, in + 20, 13), load_be16(in + 26));
  Out prohibited = translate(error6(1, 1, 0, q));
  ASSERT_EQ(prohibited.r.verdict, Nat64Verdict::ok);
  checked(prohibited, 3, 10);
  // Parameter Problem at the destination address (byte 24) names byte 16 of IPv4.
  Out pp = translate(error6(4, 0, 24, q));
  ASSERT_EQ(pp.r.verdict, Nat64Verdict::ok);
  EXPECT_EQ(pp.frame()[checked(pp, 12, 0) + 4], 16);
  // A UDP checksum of zero stays zero (nothing to adjust).
  auto zero = Pkt6().ipv6(kClient6, kServer6, 63).udp(5353, 53).payload("query").datagram();
  Out z = translate(error6(1, 4, 0, zero));
  ASSERT_EQ(z.r.verdict, Nat64Verdict::ok);
  EXPECT_EQ(load_be16(z.frame() + checked(z, 3, 3) + 8 + 26), 0);
}

TEST(Nat46Packet, TheErrorIsAtMost576Bytes) {
  auto q = inner(Pkt6().ipv6(kClient6, kServer6, 63).tcp(40000, 80, 0x10).payload(std::string(1200, 'y')));
  Out o = translate(error6(2, 0, 1280, q));
  ASSERT_EQ(o.r.verdict, Nat64Verdict::ok);
  EXPECT_EQ(o.r.len, kEthHdrLen + kNat46IcmpMax);
  const uint8_t* in = o.frame() + checked(o, 3, 4) + 8;
  EXPECT_EQ(load_be16(in + 2), 20 + 20 + 1200) << "the inner header keeps the length the client sent";
  EXPECT_EQ(load_be16(o.frame() + checked(o, 3, 4) + 6), 1260);
}

TEST(Nat46Packet, RefusesWhatHasNoTranslation) {
  auto q = inner(Pkt6().ipv6(kClient6, kServer6, 63).udp(5353, 53).payload("query"));
  // Informational, or an error RFC 7915 drops (Parameter Problem code 2, a pointer with no IPv4 field).
  EXPECT_EQ(translate(error6(128, 0, 0, q)).r.verdict, Nat64Verdict::unsupported);
  EXPECT_EQ(translate(error6(4, 2, 0, q)).r.verdict, Nat64Verdict::unsupported);
  EXPECT_EQ(translate(error6(4, 0, 3, q)).r.verdict, Nat64Verdict::unsupported);  // flow label
  EXPECT_EQ(translate(error6(1, 7, 0, q)).r.verdict, Nat64Verdict::unsupported);
  // The error itself at its last hop.
  EXPECT_EQ(translate(error6(1, 4, 0, q, kRouter6, 1)).r.verdict, Nat64Verdict::hop_limit_exceeded);
  // Inner packets we never sent: extension headers, an echo reply, too short.
  auto ext = Pkt6().ipv6(kClient6, kServer6, 63).dest_opts().udp(5353, 53).payload("query").datagram();
  EXPECT_EQ(translate(error6(1, 4, 0, ext)).r.verdict, Nat64Verdict::unsupported);
  auto reply = inner(Pkt6().ipv6(kClient6, kServer6, 63).icmp6_echo(1, 129));
  EXPECT_EQ(translate(error6(3, 0, 0, reply)).r.verdict, Nat64Verdict::unsupported);
  std::vector<uint8_t> cut(q.begin(), q.begin() + 44);
  EXPECT_EQ(translate(error6(1, 4, 0, cut)).r.verdict, Nat64Verdict::unsupported);
}

}  // namespace
}  // namespace wp
