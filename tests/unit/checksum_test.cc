// Internet checksum (RFC 1071) and the incremental update NAT uses (RFC 1624):
// every incremental result must equal a full recompute, over many random
// packets and rewrites, for TCP and UDP; UDP "no checksum" (0) stays 0.
#include "dataplane/ip/checksum.h"

#include <gtest/gtest.h>

#include <random>

#include "dataplane/ip/packet.h"
#include "dataplane/ip/packet_edit.h"
#include "tests/unit/eal_env.h"
#include "tests/unit/pkt_builder.h"

namespace wp {
namespace {

using test::Frame;
using test::ip;
using test::Pkt;

std::vector<uint8_t> hex(std::initializer_list<int> v) { return {v.begin(), v.end()}; }

TEST(Ipv4HeaderChecksum, KnownVectors) {
  // Wikipedia "IPv4 header checksum" example.
  auto a = hex({0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7});
  EXPECT_EQ(ipv4_header_checksum(a.data()), 0xb861);
  // A TCP SYN 172.16.10.99 -> 172.16.10.12.
  auto b = hex({0x45, 0x00, 0x00, 0x3c, 0x1c, 0x46, 0x40, 0x00, 0x40, 0x06,
                0xb1, 0xe6, 0xac, 0x10, 0x0a, 0x63, 0xac, 0x10, 0x0a, 0x0c});
  EXPECT_EQ(ipv4_header_checksum(b.data()), 0xb1e6);
  // The stored checksum field is ignored, whatever it holds.
  b[10] = 0xde;
  b[11] = 0xad;
  EXPECT_EQ(ipv4_header_checksum(b.data()), 0xb1e6);
}

TEST(Ipv4HeaderChecksum, VerifiesAStoredChecksumAndCatchesAnyOneBitFlip) {
  auto a = hex({0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7});
  EXPECT_TRUE(ipv4_header_checksum_ok(a.data()));
  for (size_t bit = 0; bit < 8 * a.size(); ++bit) {
    if (bit < 8) continue;  // version/IHL: another length, another header
    auto b = a;
    b[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    EXPECT_FALSE(ipv4_header_checksum_ok(b.data())) << "bit " << bit;
  }
  for (uint8_t opts : {4, 40}) {  // options are covered too
    auto f = Pkt().ipv4(ip("10.0.0.1"), ip("10.0.0.2")).ip_options(opts).udp(1, 2).payload("x").bytes();
    EXPECT_TRUE(ipv4_header_checksum_ok(f.data() + 14));
    f[14 + 20 + opts - 1] ^= 0x40;
    EXPECT_FALSE(ipv4_header_checksum_ok(f.data() + 14));
  }
}

TEST(Ipv4HeaderChecksum, WithOptionsMatchesOracle) {
  for (uint8_t opts : {0, 4, 8, 40}) {
    Frame f{Pkt().ipv4("10.0.0.1", "192.168.255.254").ip_options(opts).udp(1, 2).payload("abc").bytes()};
    EXPECT_EQ(ipv4_header_checksum(f.ip4()), test::get16(f.ip4() + 10)) << int{opts};
  }
}

TEST(CsumPartial, MatchesOracleForOddAndEvenLengths) {
  std::mt19937 rng(1);
  for (size_t len = 0; len < 300; ++len) {
    std::vector<uint8_t> b(len);
    for (auto& x : b) x = static_cast<uint8_t>(rng());
    EXPECT_EQ(csum_fold(csum_partial(b.data(), len)),
              static_cast<uint16_t>(~test::ones_fold(test::ones_sum(b.data(), len))))
        << len;
  }
  // Large buffers of 0xff must not lose carries.
  std::vector<uint8_t> ff(65535, 0xff);
  EXPECT_EQ(csum_fold(csum_partial(ff.data(), ff.size())),
            static_cast<uint16_t>(~test::ones_fold(test::ones_sum(ff.data(), ff.size()))));
}

// csum_partial sums 8 bytes a step as native words: any start alignment, any
// length and any running sum passed in must give the byte-pair oracle's result.
TEST(CsumPartial, AnyAlignmentAndRunningSumMatchOracle) {
  std::mt19937 rng(7);
  std::vector<uint8_t> b(96);
  for (int iter = 0; iter < 20000; ++iter) {
    for (auto& x : b) x = static_cast<uint8_t>(iter % 9 == 0 ? 0xff : rng());
    const size_t off = rng() % 8, len = rng() % (b.size() - off);
    const uint32_t sum = iter % 3 == 0 ? 0 : rng() % 0x3ffff;  // up to 18 bits, as callers chain
    ASSERT_EQ(csum_fold(csum_partial(b.data() + off, len, sum)),
              static_cast<uint16_t>(~test::ones_fold(test::ones_sum(b.data() + off, len, sum))))
        << "iter " << iter << " off " << off << " len " << len << " sum " << sum;
  }
}

TEST(CsumUpdate, EqualsFullRecomputeOnRandomBuffers) {
  std::mt19937 rng(2);
  for (int iter = 0; iter < 20000; ++iter) {
    size_t words = 2 + rng() % 40;
    std::vector<uint8_t> b(words * 2);
    for (auto& x : b) x = static_cast<uint8_t>(rng());
    if (iter % 7 == 0) std::fill(b.begin(), b.end(), 0xff);  // carry-heavy corner
    uint16_t check = csum_fold(csum_partial(b.data(), b.size()));
    size_t w = rng() % words;
    uint16_t old_word = load_be16(&b[w * 2]);
    uint16_t new_word = static_cast<uint16_t>(iter % 5 == 0 ? 0 : rng());
    store_be16(&b[w * 2], new_word);
    uint16_t full = csum_fold(csum_partial(b.data(), b.size()));
    ASSERT_EQ(csum_update16(check, old_word, new_word), full) << "iter " << iter;

    if (words >= 4) {
      size_t p = (rng() % (words - 1)) * 2;
      uint32_t old32 = load_be32(&b[p]);
      uint32_t new32 = static_cast<uint32_t>(rng());
      store_be32(&b[p], new32);
      uint16_t full32 = csum_fold(csum_partial(b.data(), b.size()));
      ASSERT_EQ(csum_update32(full, old32, new32), full32) << "iter " << iter;
    }
  }
}

TEST(L4Checksum, MatchesBuilderOracle) {
  std::mt19937 rng(3);
  for (int iter = 0; iter < 500; ++iter) {
    std::string data(rng() % 200, '\0');
    for (auto& c : data) c = static_cast<char>(rng());
    Pkt p;
    p.ipv4(static_cast<Ipv4>(rng()), static_cast<Ipv4>(rng())).payload(data);
    if (iter % 2)
      p.tcp(static_cast<uint16_t>(rng()), static_cast<uint16_t>(rng()), 0x18, static_cast<uint32_t>(rng()));
    else
      p.udp(static_cast<uint16_t>(rng()), static_cast<uint16_t>(rng()));
    Frame f{p.bytes()};
    uint16_t stored = test::get16(f.l4() + (f.proto() == 6 ? 16 : 6));
    EXPECT_EQ(l4_checksum(f.ip4(), f.l4(), static_cast<uint16_t>(f.l4_len())), stored) << iter;
  }
}

TEST(L4Checksum, UdpComputedZeroIsSentAsAllOnes) {
  // Make the UDP sum come out as exactly 0: add the checksum into a data word.
  Frame f{Pkt().ipv4("10.0.0.1", "10.0.0.2").udp(1000, 2000).payload("ab").bytes()};
  uint8_t* l4 = f.raw.data() + 14 + 20;
  uint16_t c = l4_checksum(f.ip4(), l4, 10);
  uint32_t w = uint32_t{load_be16(l4 + 8)} + c;
  store_be16(l4 + 8, static_cast<uint16_t>((w & 0xffff) + (w >> 16)));
  EXPECT_EQ(l4_checksum(f.ip4(), l4, 10), 0xffff);
  store_be16(l4 + 6, 0xffff);
  EXPECT_TRUE(f.l4_checksum_ok());
}

// rewrite_tuple (NAT + TTL) on real mbufs against a full recompute.
class RewriteTuple : public ::testing::Test {
 protected:
  static rte_mempool* pool() { return test::test_pool(); }
};

TEST_F(RewriteTuple, IncrementalEqualsFullRecompute) {
  std::mt19937 rng(4);
  for (int iter = 0; iter < 3000; ++iter) {
    bool tcp = iter % 2 == 0;
    std::string data(rng() % 64, '\0');
    for (auto& c : data) c = static_cast<char>(rng());
    Pkt p;
    p.ipv4(static_cast<Ipv4>(rng()), static_cast<Ipv4>(rng()), static_cast<uint8_t>(2 + rng() % 254)).payload(data);
    if (iter % 11 == 0) p.ip_options(8);
    if (tcp)
      p.tcp(static_cast<uint16_t>(rng()), static_cast<uint16_t>(rng()), 0x12, static_cast<uint32_t>(rng()));
    else
      p.udp(static_cast<uint16_t>(rng()), static_cast<uint16_t>(rng()));
    rte_mbuf* m = p.mbuf(pool());
    ASSERT_NE(m, nullptr);
    ParsedPacket pp = parse_packet(pkt_data(m), m->data_len);
    ASSERT_EQ(pp.status, ParseStatus::ipv4);
    // Change a random subset of the four fields (sometimes none).
    FiveTuple to{pp.src, pp.dst, pp.sport, pp.dport, pp.proto};
    uint32_t which = rng() % 16;
    if (which & 1) to.src = static_cast<Ipv4>(rng());
    if (which & 2) to.dst = static_cast<Ipv4>(rng());
    if (which & 4) to.sport = static_cast<uint16_t>(rng());
    if (which & 8) to.dport = static_cast<uint16_t>(rng());
    uint8_t ttl = pp.ttl;
    rewrite_tuple(m, pp, to);

    Frame f = test::frame_of(m);
    EXPECT_EQ(f.src(), to.src);
    EXPECT_EQ(f.dst(), to.dst);
    EXPECT_EQ(f.sport(), to.sport);
    EXPECT_EQ(f.dport(), to.dport);
    EXPECT_EQ(f.ttl(), ttl - 1);
    EXPECT_EQ(pp.src, to.src);
    EXPECT_EQ(pp.ttl, ttl - 1);
    uint16_t stored_ip = test::get16(f.ip4() + 10);
    uint16_t stored_l4 = test::get16(f.l4() + (tcp ? 16 : 6));
    ASSERT_EQ(stored_ip, ipv4_header_checksum(f.ip4())) << "iter " << iter;
    ASSERT_EQ(stored_l4, l4_checksum(f.ip4(), f.l4(), static_cast<uint16_t>(f.l4_len()))) << "iter " << iter;
    EXPECT_TRUE(f.ip_checksum_ok());
    EXPECT_TRUE(f.l4_checksum_ok());
    rte_pktmbuf_free(m);
  }
}

TEST_F(RewriteTuple, UdpWithoutChecksumStaysZero) {
  std::mt19937 rng(5);
  for (int iter = 0; iter < 500; ++iter) {
    rte_mbuf* m = Pkt()
                      .ipv4(static_cast<Ipv4>(rng()), static_cast<Ipv4>(rng()))
                      .udp(static_cast<uint16_t>(rng()), static_cast<uint16_t>(rng()))
                      .no_udp_checksum()
                      .payload("hello")
                      .mbuf(pool());
    ParsedPacket pp = parse_packet(pkt_data(m), m->data_len);
    ASSERT_EQ(pp.status, ParseStatus::ipv4);
    rewrite_tuple(m, pp,
                  {static_cast<Ipv4>(rng()), static_cast<Ipv4>(rng()), static_cast<uint16_t>(rng()),
                   static_cast<uint16_t>(rng()), kProtoUdp});
    Frame f = test::frame_of(m);
    EXPECT_EQ(test::get16(f.l4() + 6), 0) << iter;
    EXPECT_TRUE(f.ip_checksum_ok());
    rte_pktmbuf_free(m);
  }
}

TEST_F(RewriteTuple, UdpChecksumThatBecomesZeroIsAllOnes) {
  // Find the source ports for which the rewritten UDP sum is exactly 0 (full
  // recompute on a copy): the rewrite must send 0xffff there, never 0.
  Frame in{Pkt().ipv4("10.1.0.5", "10.2.0.10").udp(1000, 2000).payload("zero-sum").bytes()};
  int hits = 0;
  for (uint32_t sport = 0; sport <= 0xffff; ++sport) {
    FiveTuple to{ip("172.16.0.1"), ip("172.16.0.2"), static_cast<uint16_t>(sport), 2001, kProtoUdp};
    std::vector<uint8_t> copy = in.raw;
    store_be32(copy.data() + 14 + 12, to.src);
    store_be32(copy.data() + 14 + 16, to.dst);
    store_be16(copy.data() + 34, to.sport);
    store_be16(copy.data() + 36, to.dport);
    store_be16(copy.data() + 40, 0);
    uint32_t sum = csum_partial(copy.data() + 26, 8) + kProtoUdp + 16;
    sum = csum_partial(copy.data() + 34, 16, sum);
    if (csum_fold(sum) != 0) continue;
    ++hits;
    rte_mbuf* m = Pkt::to_mbuf(pool(), in.raw);
    ParsedPacket pp = parse_packet(pkt_data(m), m->data_len);
    rewrite_tuple(m, pp, to);
    Frame f = test::frame_of(m);
    EXPECT_EQ(test::get16(f.l4() + 6), 0xffff) << sport;
    EXPECT_TRUE(f.l4_checksum_ok());
    rte_pktmbuf_free(m);
  }
  EXPECT_GT(hits, 0);
}

}  // namespace
}  // namespace wp
