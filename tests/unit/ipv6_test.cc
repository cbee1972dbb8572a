// IPv6 (ip/ipv6.h): addresses and prefixes, the 5-tuple hash, and the header
// walk over every extension header, every limit and every truncation. Each
// frame is parsed from an exact-size heap copy, so a read past `len` is an
// ASan error, not luck.
#include "dataplane/ip/ipv6.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <ostream>
#include <set>

#include "dataplane/ip/packet.h"
#include "dataplane/ip/tuple.h"
#include "dataplane/worker/ipv6_drops.h"
#include "tests/unit/pkt6_builder.h"

namespace wp {

void PrintTo(Ipv6Status s, std::ostream* os) {
  static const char* const kNames[] = {"ok",        "fragment",  "malformed",           "ext_truncated",
                                       "ext_chain_too_long", "ext_too_long", "ext_order",
                                       "first_fragment_short", "l4_truncated"};
  *os << kNames[static_cast<int>(s)];
}

namespace {

using test::ip6;
using test::Pkt6;

Ipv6View parse(const std::vector<uint8_t>& f, size_t len) {
  auto copy = std::make_unique<uint8_t[]>(len ? len : 1);
  if (len) std::memcpy(copy.get(), f.data(), len);
  return parse_ipv6_packet(copy.get(), static_cast<uint32_t>(len), kEthHdrLen);
}
Ipv6View parse(const std::vector<uint8_t>& f) { return parse(f, f.size()); }

TEST(Ipv6Address, ParseFormatAndPrefixes) {
  Ipv6 a = ip6("2001:db8::1");
  EXPECT_EQ(a.hi, 0x20010db800000000ULL);
  EXPECT_EQ(a.lo, 1u);
  EXPECT_EQ(format_ipv6(a), "2001:db8::1");
  EXPECT_EQ(format_ipv6(ip6("2001:0DB8:0:0:0:0:0:0001")), "2001:db8::1");  // RFC 5952 form
  EXPECT_FALSE(parse_ipv6("2001:db8::1::2"));
  EXPECT_FALSE(parse_ipv6("10.0.0.1"));
  EXPECT_FALSE(parse_ipv6(""));
  EXPECT_TRUE(ip6("fe80::1").is_link_local());
  EXPECT_FALSE(ip6("fec0::1").is_link_local());
  EXPECT_TRUE(ip6("ff02::1:ff00:1").is_multicast());

  Ipv6 host;
  auto p = parse_prefix6("2001:db8:1:2:3::9/60", &host);
  ASSERT_TRUE(p);
  EXPECT_EQ(format_prefix6(*p), "2001:db8:1::/60");
  EXPECT_EQ(host, ip6("2001:db8:1:2:3::9"));
  EXPECT_TRUE(p->contains(ip6("2001:db8:1:f::1")));
  EXPECT_FALSE(p->contains(ip6("2001:db8:1:10::1")));
  EXPECT_EQ(format_prefix6(*parse_prefix6("2001:db8::ffff:1/100")), "2001:db8::f000:0/100");
  auto p100 = parse_prefix6("2001:db8::fff:1/100");
  ASSERT_TRUE(p100);
  EXPECT_EQ(format_prefix6(*p100), "2001:db8::/100");
  EXPECT_TRUE(p100->contains(ip6("2001:db8::fff:ffff")));
  EXPECT_FALSE(p100->contains(ip6("2001:db8::1000:0")));
  EXPECT_TRUE(parse_prefix6("::/0")->contains(ip6("ff02::1")));
  EXPECT_FALSE(parse_prefix6("2001:db8::/129"));
  EXPECT_FALSE(parse_prefix6("2001:db8::/"));
  EXPECT_FALSE(parse_prefix6("2001:db8::/+1"));
  EXPECT_FALSE(parse_prefix6("2001:db8::"));
}

TEST(Ipv6Tuple, SymmetricHashIsTheSameBothWaysAndSpreads) {
  FiveTuple6 t{ip6("2001:db8::1"), ip6("2001:db8::2"), 40000, 443, kProtoTcp};
  EXPECT_EQ(symmetric_hash(t), symmetric_hash(t.reversed()));
  EXPECT_EQ(t.reversed().reversed(), t);
  std::set<uint32_t> seen;
  for (uint16_t port = 1000; port < 2024; ++port) {
    t.sport = port;
    seen.insert(symmetric_hash(t) & 63);
  }
  EXPECT_EQ(seen.size(), 64u);  // every affinity class reachable from one host pair
  FiveTuple6 u = t;
  u.proto = kProtoUdp;
  EXPECT_NE(symmetric_hash(t), symmetric_hash(u));
}

TEST(ParseIpv6, UdpWithoutExtensions) {
  auto f = Pkt6().ipv6("2001:db8:1::5", "2001:db8:2::10", 33).udp(40000, 53).payload("query").bytes();
  Ipv6View v = parse(f);
  ASSERT_EQ(v.status, Ipv6Status::ok);
  EXPECT_EQ(v.l3, 14);
  EXPECT_EQ(v.l4, 54);
  EXPECT_EQ(v.payload, 62);
  EXPECT_EQ(v.end, f.size());
  EXPECT_EQ(v.payload_len(), 5);
  EXPECT_EQ(v.proto, kProtoUdp);
  EXPECT_EQ(v.next_at, 14 + 6);
  EXPECT_EQ(v.hop_limit, 33);
  EXPECT_EQ(v.src, ip6("2001:db8:1::5"));
  EXPECT_EQ(v.dst, ip6("2001:db8:2::10"));
  EXPECT_EQ(v.sport, 40000);
  EXPECT_EQ(v.dport, 53);
  EXPECT_EQ(v.ext_headers, 0);
  EXPECT_FALSE(v.frag.present);
}

TEST(ParseIpv6, TcpAndIcmpv6Echo) {
  Ipv6View t = parse(Pkt6().tcp(40000, 80, kTcpSyn).payload("hi").bytes());
  ASSERT_EQ(t.status, Ipv6Status::ok);
  EXPECT_EQ(t.tcp_flags, kTcpSyn);
  EXPECT_EQ(t.payload_len(), 2);
  Ipv6View e = parse(Pkt6().icmp6_echo(0x1234).payload("ping").bytes());
  ASSERT_EQ(e.status, Ipv6Status::ok);
  EXPECT_EQ(e.proto, kProtoIcmpv6);
  EXPECT_EQ(e.sport, 0x1234);
  EXPECT_EQ(e.dport, 0x1234);
  Ipv6View na = parse(Pkt6().icmp6_echo(0x1234, 136).payload(std::vector<uint8_t>(16)).bytes());
  ASSERT_EQ(na.status, Ipv6Status::ok);
  EXPECT_EQ(na.sport, 0);  // only echo carries an identifier
}

TEST(ParseIpv6, WalksEveryExtensionHeader) {
  auto f = Pkt6().hop_by_hop(8).dest_opts(16).routing().fragment(0, false, 9).dest_opts(8).udp(1, 2).payload("x")
               .bytes();
  Ipv6View v = parse(f);
  ASSERT_EQ(v.status, Ipv6Status::ok);  // an atomic fragment is a whole packet
  EXPECT_EQ(v.ext_headers, 5);
  EXPECT_EQ(v.ext_bytes, 8 + 16 + 24 + 8 + 8);
  EXPECT_EQ(v.l4, 54 + 64);
  EXPECT_EQ(v.next_at, 54 + 56);  // the last destination options header names UDP
  EXPECT_EQ(f[v.next_at], kProtoUdp);
  EXPECT_EQ(v.proto, kProtoUdp);
  EXPECT_EQ(v.sport, 1);
  EXPECT_EQ(v.dport, 2);
  EXPECT_TRUE(v.frag.present);
  EXPECT_TRUE(v.frag.atomic);
  EXPECT_EQ(v.frag.header, 54 + 48);
  EXPECT_EQ(v.frag.id, 9u);
}

TEST(ParseIpv6, AhEspAndNoNextHeaderEndTheWalk) {
  for (uint8_t proto : {kProtoAh, kProtoEsp, kProtoNoNext, uint8_t{135}}) {
    Ipv6View v = parse(Pkt6().hop_by_hop().l4(proto, std::vector<uint8_t>(12, 0x55)).bytes());
    ASSERT_EQ(v.status, Ipv6Status::ok) << int{proto};
    EXPECT_EQ(v.proto, proto);
    EXPECT_EQ(v.l4, 54 + 8);
    EXPECT_EQ(v.payload, v.l4);
    EXPECT_EQ(v.ext_headers, 1);
  }
  // Headers past AH are AH's business: a hop-by-hop there is not misplaced for us.
  std::vector<uint8_t> ah(16, 0);
  ah[0] = kProtoHopByHop;
  EXPECT_EQ(parse(Pkt6().l4(kProtoAh, ah).bytes()).status, Ipv6Status::ok);
}

TEST(ParseIpv6, HeaderOrderAndRepeats) {
  EXPECT_EQ(parse(Pkt6().dest_opts().hop_by_hop().udp(1, 2).bytes()).status, Ipv6Status::ext_order);
  EXPECT_EQ(parse(Pkt6().hop_by_hop().hop_by_hop().udp(1, 2).bytes()).status, Ipv6Status::ext_order);
  EXPECT_EQ(parse(Pkt6().fragment(0, false, 1).fragment(0, false, 2).udp(1, 2).bytes()).status,
            Ipv6Status::ext_order);
  EXPECT_EQ(parse(Pkt6().routing().routing().udp(1, 2).bytes()).status, Ipv6Status::ext_order);
  // Destination options may come twice (before routing and before the upper layer).
  EXPECT_EQ(parse(Pkt6().hop_by_hop().dest_opts().routing().dest_opts().udp(1, 2).bytes()).status,
            Ipv6Status::ok);
}

TEST(ParseIpv6, ChainLengthLimit) {
  Pkt6 p;
  for (uint32_t i = 0; i < Ipv6View::kMaxExtHeaders; ++i) p.dest_opts();
  Ipv6View at_limit = parse(p.udp(1, 2).bytes());
  EXPECT_EQ(at_limit.status, Ipv6Status::ok);
  EXPECT_EQ(at_limit.ext_headers, Ipv6View::kMaxExtHeaders);
  EXPECT_EQ(parse(p.dest_opts().udp(1, 2).bytes()).status, Ipv6Status::ext_chain_too_long);
}

TEST(ParseIpv6, HeaderBytesLimit) {
  EXPECT_EQ(parse(Pkt6().dest_opts(Ipv6View::kMaxExtBytes).udp(1, 2).bytes()).status, Ipv6Status::ok);
  EXPECT_EQ(parse(Pkt6().hop_by_hop(8).dest_opts(Ipv6View::kMaxExtBytes).udp(1, 2).bytes()).status,
            Ipv6Status::ext_too_long);
  EXPECT_EQ(parse(Pkt6().dest_opts(2048).udp(1, 2).bytes()).status, Ipv6Status::ext_too_long);
}

TEST(ParseIpv6, FixedHeaderLies) {
  auto good = Pkt6().udp(1, 2).payload("abc").bytes();
  auto v4 = good;
  v4[14] = 0x45;
  EXPECT_EQ(parse(v4).status, Ipv6Status::malformed);
  EXPECT_EQ(parse(Pkt6().udp(1, 2).payload("abc").payload_len(12).bytes()).status, Ipv6Status::malformed);
  for (size_t len = 0; len < 14 + 40; ++len) EXPECT_EQ(parse(good, len).status, Ipv6Status::malformed) << len;
  // Ethernet padding after the datagram is not part of it.
  Ipv6View padded = parse(Pkt6().udp(1, 2).payload("abc").padding(20).bytes());
  ASSERT_EQ(padded.status, Ipv6Status::ok);
  EXPECT_EQ(padded.end, 14 + 40 + 11);
  EXPECT_EQ(parse_ipv6_packet(nullptr, 100, 14).status, Ipv6Status::malformed);
  EXPECT_EQ(parse_ipv6_packet(good.data(), 10, 14).status, Ipv6Status::malformed);
}

// The payload length cut at every byte of a chain: each cut names the header it falls in.
TEST(ParseIpv6, EveryTruncationOfTheChain) {
  auto full = Pkt6().hop_by_hop(8).routing().dest_opts(16).udp(1, 2).bytes();  // 48 ext bytes, then UDP
  for (uint16_t plen = 0; plen < full.size() - 54; ++plen) {
    auto f = full;
    f[18] = static_cast<uint8_t>(plen >> 8);
    f[19] = static_cast<uint8_t>(plen);
    f.resize(54 + plen);
    Ipv6Status want = plen < 48 ? Ipv6Status::ext_truncated : Ipv6Status::l4_truncated;
    EXPECT_EQ(parse(f).status, want) << plen;
  }
  EXPECT_EQ(parse(full).status, Ipv6Status::ok);
  // A frame cut short of the payload length it claims.
  for (size_t len = 54; len < full.size(); ++len) EXPECT_EQ(parse(full, len).status, Ipv6Status::malformed) << len;
}

TEST(ParseIpv6, UpperLayerHeaders) {
  EXPECT_EQ(parse(Pkt6().udp(1, 2).payload("abc").udp_len(10).bytes()).status, Ipv6Status::l4_truncated);
  EXPECT_EQ(parse(Pkt6().l4(kProtoTcp, std::vector<uint8_t>(20, 0)).bytes()).status,
            Ipv6Status::l4_truncated);  // data offset 0
  EXPECT_EQ(parse(Pkt6().l4(kProtoIcmpv6, std::vector<uint8_t>(4, 0)).bytes()).status, Ipv6Status::l4_truncated);
  EXPECT_EQ(parse(Pkt6().l4(kProtoUdp, {}).bytes()).status, Ipv6Status::l4_truncated);
}

TEST(ParseIpv6, FirstFragment) {
  auto f = Pkt6().hop_by_hop().fragment(0, true, 0xabcdef01).udp(5000, 53).payload(std::vector<uint8_t>(40)).bytes();
  Ipv6View v = parse(f);
  ASSERT_EQ(v.status, Ipv6Status::fragment);
  EXPECT_TRUE(v.frag.present);
  EXPECT_TRUE(v.frag.more);
  EXPECT_FALSE(v.frag.atomic);
  EXPECT_EQ(v.frag.offset, 0);
  EXPECT_EQ(v.frag.id, 0xabcdef01u);
  EXPECT_EQ(v.frag.header, 54 + 8);
  EXPECT_EQ(v.frag.next, kProtoUdp);
  EXPECT_EQ(v.proto, kProtoUdp);
  EXPECT_EQ(v.l4, 54 + 16);
  EXPECT_EQ(v.sport, 5000);  // the ports of a first fragment are known
  EXPECT_EQ(v.dport, 53);
}

TEST(ParseIpv6, LaterFragmentStopsAtTheFragmentHeader) {
  // What follows a later fragment's header is data, even if it looks like a header.
  auto f = Pkt6().fragment(1232, false, 5).dest_opts(16).udp(1, 2).bytes();
  Ipv6View v = parse(f);
  ASSERT_EQ(v.status, Ipv6Status::fragment);
  EXPECT_EQ(v.frag.offset, 1232);
  EXPECT_FALSE(v.frag.more);
  EXPECT_FALSE(v.frag.atomic);
  EXPECT_EQ(v.proto, kProtoDestOpts);
  EXPECT_EQ(v.l4, 54 + 8);
  EXPECT_EQ(v.ext_headers, 1);
  EXPECT_EQ(v.sport, 0);
}

TEST(ParseIpv6, AtomicFragmentIsAWholePacket) {
  Ipv6View v = parse(Pkt6().fragment(0, false, 77).tcp(1, 443, kTcpAck).bytes());
  ASSERT_EQ(v.status, Ipv6Status::ok);
  EXPECT_TRUE(v.frag.atomic);
  EXPECT_EQ(v.dport, 443);
}

// RFC 7112: the first fragment must hold the whole chain and the upper-layer header.
TEST(ParseIpv6, TinyFirstFragmentsAreRefused) {
  // The destination options header after the fragment header ends past the first fragment.
  auto chain = Pkt6().fragment(0, true, 1).dest_opts(64).udp(1, 2).bytes();
  chain.resize(54 + 8 + 32);
  chain[18] = 0;
  chain[19] = 40;
  EXPECT_EQ(parse(chain).status, Ipv6Status::first_fragment_short);
  // Only four bytes of the UDP header.
  auto udp = Pkt6().fragment(0, true, 2).udp(1, 2).bytes();
  udp.resize(54 + 8 + 4);
  udp[19] = 12;
  EXPECT_EQ(parse(udp).status, Ipv6Status::first_fragment_short);
  // Eight bytes of a TCP header.
  auto tcp = Pkt6().fragment(0, true, 3).tcp(1, 2, kTcpSyn).bytes();
  tcp.resize(54 + 8 + 8);
  tcp[19] = 16;
  EXPECT_EQ(parse(tcp).status, Ipv6Status::first_fragment_short);
  // A fragment header itself cut short is a truncated chain, fragment or not.
  auto frag = Pkt6().fragment(0, true, 4).udp(1, 2).bytes();
  frag.resize(54 + 4);
  frag[19] = 4;
  EXPECT_EQ(parse(frag).status, Ipv6Status::ext_truncated);
}

TEST(Ipv6Drops, EveryRefusalHasItsOwnReason) {
  std::set<DropReason> seen;
  for (int s = static_cast<int>(Ipv6Status::malformed); s <= static_cast<int>(Ipv6Status::l4_truncated); ++s) {
    DropReason r = ipv6_drop_reason(static_cast<Ipv6Status>(s));
    EXPECT_NE(r, DropReason::not_ipv4) << s;
    EXPECT_TRUE(seen.insert(r).second) << s;
  }
  EXPECT_EQ(ipv6_drop_reason(Ipv6Status::ok), DropReason::not_ipv4);  // well formed, not routed yet
}

}  // namespace
}  // namespace wp
