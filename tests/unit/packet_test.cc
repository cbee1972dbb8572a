// Header parsing (packet.h): valid Ethernet/ARP/IPv4/TCP/UDP/ICMP, and every
// way a frame can lie about its lengths. Each truncation is parsed from an
// exact-size heap copy, so a read past `len` is an ASan error, not luck.
#include "dataplane/ip/packet.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <ostream>
#include <random>
#include <string>

#include "tests/unit/pkt_builder.h"

namespace wp {

// Readable statuses in failure messages.
void PrintTo(ParseStatus s, std::ostream* os) {
  static const char* const kNames[] = {"ipv4", "arp", "not_ipv4", "fragment", "malformed"};
  *os << kNames[static_cast<int>(s)];
}

namespace {

using test::ip;
using test::Pkt;

ParsedPacket parse(const std::vector<uint8_t>& f, size_t len) {
  auto copy = std::make_unique<uint8_t[]>(len ? len : 1);
  if (len) std::memcpy(copy.get(), f.data(), len);
  return parse_packet(copy.get(), static_cast<uint32_t>(len));
}
ParsedPacket parse(const std::vector<uint8_t>& f) { return parse(f, f.size()); }

TEST(ParsePacket, Udp) {
  auto f = Pkt().ipv4("10.1.0.5", "10.2.0.10", 33).udp(40000, 53).payload("query").bytes();
  ParsedPacket pp = parse(f);
  ASSERT_EQ(pp.status, ParseStatus::ipv4);
  EXPECT_EQ(pp.l3, 14);
  EXPECT_EQ(pp.l4, 34);
  EXPECT_EQ(pp.payload, 42);
  EXPECT_EQ(pp.end, f.size());
  EXPECT_EQ(pp.payload_len(), 5);
  EXPECT_EQ(pp.proto, kProtoUdp);
  EXPECT_EQ(pp.ttl, 33);
  EXPECT_EQ(pp.src, ip("10.1.0.5"));
  EXPECT_EQ(pp.dst, ip("10.2.0.10"));
  EXPECT_EQ(pp.sport, 40000);
  EXPECT_EQ(pp.dport, 53);
}

TEST(ParsePacket, TcpWithOptions) {
  auto f = Pkt().ipv4("10.1.0.5", "10.2.0.10").tcp(40000, 80, kTcpSyn | kTcpAck).tcp_options(12).payload("hi").bytes();
  ParsedPacket pp = parse(f);
  ASSERT_EQ(pp.status, ParseStatus::ipv4);
  EXPECT_EQ(pp.l4, 34);
  EXPECT_EQ(pp.payload, 34 + 32);
  EXPECT_EQ(pp.payload_len(), 2);
  EXPECT_EQ(pp.tcp_flags, kTcpSyn | kTcpAck);
  EXPECT_EQ(pp.sport, 40000);
  EXPECT_EQ(pp.dport, 80);
}

TEST(ParsePacket, IpOptionsMoveL4) {
  auto f = Pkt().ipv4("1.2.3.4", "5.6.7.8").ip_options(40).udp(1, 2).payload("x").bytes();
  ParsedPacket pp = parse(f);
  ASSERT_EQ(pp.status, ParseStatus::ipv4);
  EXPECT_EQ(pp.l4, 14 + 60);
  EXPECT_EQ(pp.payload, 14 + 60 + 8);
}

TEST(ParsePacket, IcmpEchoUsesIdentifierAsPorts) {
  auto f = Pkt().ipv4("10.1.0.5", "10.1.0.1").icmp_echo(0x4242, 7).payload("ping").bytes();
  ParsedPacket pp = parse(f);
  ASSERT_EQ(pp.status, ParseStatus::ipv4);
  EXPECT_EQ(pp.proto, kProtoIcmp);
  EXPECT_EQ(pp.sport, 0x4242);
  EXPECT_EQ(pp.dport, 0x4242);
  EXPECT_EQ(pp.payload, 42);
}

TEST(ParsePacket, OtherProtocolHasNoL4Header) {
  auto f = Pkt().ipv4("10.1.0.5", "10.2.0.10").proto(47).payload("gre").bytes();
  ParsedPacket pp = parse(f);
  ASSERT_EQ(pp.status, ParseStatus::ipv4);
  EXPECT_EQ(pp.proto, 47);
  EXPECT_EQ(pp.payload, pp.l4);
  EXPECT_EQ(pp.payload_len(), 3);
}

TEST(ParsePacket, Arp) {
  test::Mac sha = {2, 1, 2, 3, 4, 5};
  auto f = Pkt::arp(1, sha, ip("10.1.0.5"), {}, ip("10.1.0.1"));
  ParsedPacket pp = parse(f);
  ASSERT_EQ(pp.status, ParseStatus::arp);
  EXPECT_EQ(pp.arp.op, 1);
  EXPECT_EQ(0, std::memcmp(pp.arp.sha, sha.data(), 6));
  EXPECT_EQ(pp.arp.spa, ip("10.1.0.5"));
  EXPECT_EQ(pp.arp.tpa, ip("10.1.0.1"));
  // Ethernet minimum frames pad ARP to 60 bytes.
  f.resize(60, 0);
  EXPECT_EQ(parse(f).status, ParseStatus::arp);
  // Wrong hardware type / address sizes.
  auto bad = Pkt::arp(1, sha, 1, {}, 2);
  bad[14 + 1] = 6;  // htype 6 (IEEE 802)
  EXPECT_EQ(parse(bad).status, ParseStatus::malformed);
  bad = Pkt::arp(1, sha, 1, {}, 2);
  bad[14 + 4] = 8;
  EXPECT_EQ(parse(bad).status, ParseStatus::malformed);
}

TEST(ParsePacket, NotIpv4) {
  auto f = Pkt().eth(test::kMacB, test::kMacA, 0x86dd).ipv4("1.1.1.1", "2.2.2.2").udp(1, 2).bytes();
  EXPECT_EQ(parse(f).status, ParseStatus::not_ipv4);
  f = Pkt().eth(test::kMacB, test::kMacA, 0x8100).bytes();
  EXPECT_EQ(parse(f).status, ParseStatus::not_ipv4);
}

TEST(ParsePacket, NullAndEmpty) {
  EXPECT_EQ(parse_packet(nullptr, 100).status, ParseStatus::malformed);
  EXPECT_EQ(parse({}, 0).status, ParseStatus::malformed);
}

// Every prefix of a valid frame shorter than its IP datagram is malformed.
void expect_every_truncation_malformed(const std::vector<uint8_t>& f, const char* what) {
  ASSERT_EQ(parse(f).status, ParseStatus::ipv4) << what;
  for (size_t n = 0; n < f.size(); ++n) EXPECT_EQ(parse(f, n).status, ParseStatus::malformed) << what << " len " << n;
}

TEST(ParsePacket, EveryTruncationIsMalformed) {
  expect_every_truncation_malformed(Pkt().ipv4("10.1.0.5", "10.2.0.10").udp(1, 2).payload("data").bytes(), "udp");
  expect_every_truncation_malformed(Pkt().ipv4("10.1.0.5", "10.2.0.10").udp(1, 2).bytes(), "udp empty");
  expect_every_truncation_malformed(Pkt().ipv4("10.1.0.5", "10.2.0.10").tcp(1, 2).payload("data").bytes(), "tcp");
  expect_every_truncation_malformed(Pkt().ipv4("10.1.0.5", "10.2.0.10").tcp(1, 2).tcp_options(20).bytes(), "tcp opts");
  expect_every_truncation_malformed(Pkt().ipv4("10.1.0.5", "10.2.0.10").icmp_echo(1, 2).payload("p").bytes(), "icmp");
  expect_every_truncation_malformed(Pkt().ipv4("10.1.0.5", "10.2.0.10").ip_options(8).udp(1, 2).payload("x").bytes(),
                                    "ip opts");
  auto arp = Pkt::arp(2, test::kMacA, 1, test::kMacB, 2);
  for (size_t n = 0; n < arp.size(); ++n) EXPECT_EQ(parse(arp, n).status, ParseStatus::malformed) << "arp " << n;
}

TEST(ParsePacket, HeaderFieldsThatLie) {
  auto base = Pkt().ipv4("10.1.0.5", "10.2.0.10").udp(1, 2).payload("payload").bytes();
  auto with = [&](auto edit) {
    auto f = base;
    edit(f.data() + 14);
    return parse(f).status;
  };
  for (uint8_t ihl = 0; ihl < 5; ++ihl)
    EXPECT_EQ(with([&](uint8_t* p) { p[0] = static_cast<uint8_t>(0x40 | ihl); }), ParseStatus::malformed) << int{ihl};
  EXPECT_EQ(with([](uint8_t* p) { p[0] = 0x4f; }), ParseStatus::malformed);  // IHL 60 > datagram
  EXPECT_EQ(with([](uint8_t* p) { p[0] = 0x65; }), ParseStatus::malformed);  // version 6
  // Total length larger than the frame, or smaller than the header.
  EXPECT_EQ(with([](uint8_t* p) { store_be16(p + 2, static_cast<uint16_t>(load_be16(p + 2) + 1)); }),
            ParseStatus::malformed);
  EXPECT_EQ(with([](uint8_t* p) { store_be16(p + 2, 0xffff); }), ParseStatus::malformed);
  EXPECT_EQ(with([](uint8_t* p) { store_be16(p + 2, 19); }), ParseStatus::malformed);
  EXPECT_EQ(with([](uint8_t* p) { store_be16(p + 2, 0); }), ParseStatus::malformed);
  // Total length that cuts into the UDP header.
  EXPECT_EQ(with([](uint8_t* p) { store_be16(p + 2, 27); }), ParseStatus::malformed);
  // UDP length must equal the IP payload length exactly.
  EXPECT_EQ(with([](uint8_t* p) { store_be16(p + 24, static_cast<uint16_t>(load_be16(p + 24) + 1)); }),
            ParseStatus::malformed);
  EXPECT_EQ(with([](uint8_t* p) { store_be16(p + 24, static_cast<uint16_t>(load_be16(p + 24) - 1)); }),
            ParseStatus::malformed);
  EXPECT_EQ(with([](uint8_t* p) { store_be16(p + 24, 7); }), ParseStatus::malformed);
  EXPECT_EQ(with([](uint8_t* p) { store_be16(p + 24, 0xffff); }), ParseStatus::malformed);
}

TEST(ParsePacket, TcpDataOffset) {
  auto base = Pkt().ipv4("10.1.0.5", "10.2.0.10").tcp(1, 2).payload("12345678").bytes();
  auto with_offset = [&](uint8_t words) {
    auto f = base;
    f[14 + 20 + 12] = static_cast<uint8_t>(words << 4);
    return parse(f);
  };
  for (uint8_t w = 0; w < 5; ++w) EXPECT_EQ(with_offset(w).status, ParseStatus::malformed) << int{w};
  EXPECT_EQ(with_offset(5).status, ParseStatus::ipv4);
  EXPECT_EQ(with_offset(6).payload, 34 + 24);  // options eat into the data: still inside
  EXPECT_EQ(with_offset(7).status, ParseStatus::ipv4);
  EXPECT_EQ(with_offset(7).payload_len(), 0);
  EXPECT_EQ(with_offset(8).status, ParseStatus::malformed);  // past the end of the datagram
  EXPECT_EQ(with_offset(15).status, ParseStatus::malformed);
}

TEST(ParsePacket, DataOffsetPastTheDatagramButInsidePadding) {
  // The header would fit in the frame only by counting Ethernet padding.
  auto f = Pkt().ipv4("10.1.0.5", "10.2.0.10").tcp(1, 2).pad(40).bytes();
  f[14 + 20 + 12] = 6 << 4;
  EXPECT_EQ(parse(f).status, ParseStatus::malformed);
}

TEST(ParsePacket, Fragments) {
  auto mf = Pkt().ipv4("10.1.0.5", "10.2.0.10").frag(0x2000).udp(1, 2).payload("first").bytes();
  ParsedPacket pp = parse(mf);
  EXPECT_EQ(pp.status, ParseStatus::fragment);
  EXPECT_EQ(pp.src, ip("10.1.0.5"));
  EXPECT_EQ(pp.proto, kProtoUdp);
  EXPECT_EQ(parse(Pkt().ipv4("1.1.1.1", "2.2.2.2").frag(0x0001).proto(17).payload("later").bytes()).status,
            ParseStatus::fragment);
  EXPECT_EQ(parse(Pkt().ipv4("1.1.1.1", "2.2.2.2").frag(0x1fff).proto(17).bytes()).status, ParseStatus::fragment);
  // DF alone is not a fragment.
  EXPECT_EQ(parse(Pkt().ipv4("1.1.1.1", "2.2.2.2").frag(0x4000).udp(1, 2).bytes()).status, ParseStatus::ipv4);
  // A later fragment need not carry an L4 header at all: still a fragment, not malformed.
  EXPECT_EQ(parse(Pkt().ipv4("1.1.1.1", "2.2.2.2").frag(0x0010).proto(6).payload("x").bytes()).status,
            ParseStatus::fragment);
}

TEST(ParsePacket, EthernetPaddingIsNotPayload) {
  // A 1-byte UDP payload in a 60-byte minimum frame: 17 bytes of padding.
  auto f = Pkt().ipv4("10.1.0.5", "10.2.0.10").udp(1, 2).payload("x").pad(17).bytes();
  ASSERT_EQ(f.size(), 60u);
  ParsedPacket pp = parse(f);
  ASSERT_EQ(pp.status, ParseStatus::ipv4);
  EXPECT_EQ(pp.end, 14 + 29);
  EXPECT_LT(pp.end, f.size());
  EXPECT_EQ(pp.payload_len(), 1);
  auto t = Pkt().ipv4("10.1.0.5", "10.2.0.10").tcp(1, 2, kTcpAck).pad(6).bytes();
  pp = parse(t);
  ASSERT_EQ(pp.status, ParseStatus::ipv4);
  EXPECT_EQ(pp.end, 54);
  EXPECT_EQ(pp.payload_len(), 0);
}

TEST(ParsePacket, OffsetsNeverWrap) {
  // Offsets are 16-bit. A maximal datagram (total length 65535) behind the
  // Ethernet header ends at 65549: it cannot be described, so it must be
  // refused rather than reported with a wrapped `end` before `payload`.
  for (bool tcp : {true, false}) {
    Pkt p;
    p.ipv4("10.1.0.5", "10.2.0.10").payload(std::string(65535 - 20 - (tcp ? 20 : 8), 'x'));
    if (tcp)
      p.tcp(1, 2);
    else
      p.udp(1, 2);
    auto f = p.bytes();
    ASSERT_EQ(f.size(), 14u + 65535);
    ParsedPacket pp = parse(f);
    if (pp.status == ParseStatus::ipv4) {
      EXPECT_LE(pp.payload, pp.end);
      EXPECT_LE(pp.end, f.size());
    }
    EXPECT_EQ(pp.status, ParseStatus::malformed) << "tcp=" << tcp;
  }
  // The largest datagram whose end still fits is fine.
  auto f = Pkt().ipv4("10.1.0.5", "10.2.0.10").udp(1, 2).payload(std::string(65535 - 14 - 28, 'x')).bytes();
  ASSERT_EQ(f.size(), 65535u);
  ParsedPacket pp = parse(f);
  EXPECT_EQ(pp.status, ParseStatus::ipv4);
  EXPECT_EQ(pp.end, 65535);
}

TEST(ParsePacket, RandomBytesNeverCrash) {
  // A cheap in-test fuzz pass (the real one is tests/fuzz/fuzz_packet.cc):
  // mutate valid frames at random and check the offsets stay inside.
  std::mt19937 rng(7);
  std::vector<std::vector<uint8_t>> seeds = {
      Pkt().ipv4("10.1.0.5", "10.2.0.10").udp(1, 2).payload("data").bytes(),
      Pkt().ipv4("10.1.0.5", "10.2.0.10").tcp(1, 2).tcp_options(8).payload("data").bytes(),
      Pkt().ipv4("10.1.0.5", "10.2.0.10").icmp_echo(1, 2).bytes(),
      Pkt::arp(1, test::kMacA, 1, test::kMacB, 2),
  };
  for (int iter = 0; iter < 20000; ++iter) {
    auto f = seeds[iter % seeds.size()];
    for (int k = 0, n = 1 + static_cast<int>(rng() % 4); k < n; ++k) f[rng() % f.size()] = static_cast<uint8_t>(rng());
    f.resize(rng() % (f.size() + 1));
    ParsedPacket pp = parse(f);
    if (pp.status == ParseStatus::ipv4) {
      ASSERT_LE(pp.end, f.size());
      ASSERT_LE(pp.l4, pp.end);
      ASSERT_LE(pp.payload, pp.end);
      ASSERT_LE(pp.l4, pp.payload);
    }
  }
}

}  // namespace
}  // namespace wp
