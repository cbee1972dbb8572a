// In-place packet edits (packet_edit.h) on real single-segment mbufs:
// metadata insert through headroom and through tailroom, strip, the HMAC
// trailer, Ethernet padding, and lengths/checksums after each edit.
#include "dataplane/crypto/packet_hmac.h"
#include "dataplane/ip/packet_edit.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>

#include "dataplane/ip/checksum.h"
#include "tests/unit/eal_env.h"
#include "tests/unit/pkt_builder.h"

namespace wp {
namespace {

using test::Frame;
using test::Pkt;

rte_mbuf* make(const std::vector<uint8_t>& frame, uint16_t headroom = RTE_PKTMBUF_HEADROOM) {
  rte_mbuf* m = rte_pktmbuf_alloc(test::test_pool());
  m->data_off = headroom;
  std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(frame.size())), frame.data(), frame.size());
  return m;
}

void expect_valid(const Frame& f) {
  EXPECT_TRUE(f.ip_checksum_ok());
  EXPECT_TRUE(f.l4_checksum_ok());
  EXPECT_TRUE(f.lengths_ok());
  EXPECT_EQ(f.raw.size(), 14 + f.ip_total());
}

class PacketEdit : public ::testing::TestWithParam<uint16_t> {};  // headroom

TEST_P(PacketEdit, InsertThenStripRoundTrips) {
  for (bool tcp : {false, true}) {
    Pkt p;
    p.ipv4("10.1.0.5", "10.2.0.10").payload("original data");
    if (tcp)
      p.tcp(40000, 80, kTcpAck | 0x08, 77);
    else
      p.udp(40000, 5201);
    auto bytes = p.bytes();
    rte_mbuf* m = make(bytes, GetParam());
    ParsedPacket pp = parse_packet(pkt_data(m), m->data_len);
    ASSERT_EQ(pp.status, ParseStatus::ipv4);
    const uint16_t payload_off = pp.payload;

    uint8_t* gap = insert_at_payload(m, pp, 40);
    ASSERT_NE(gap, nullptr) << "headroom " << GetParam();
    EXPECT_EQ(gap, pkt_data(m) + pp.payload);
    for (int i = 0; i < 40; ++i) EXPECT_EQ(gap[i], 0) << "gap is zero-filled";
    std::memset(gap, 0xab, 40);
    finish_checksums(m, pp);
    EXPECT_EQ(pp.payload, payload_off) << "offsets stay valid";
    EXPECT_EQ(pp.end, bytes.size() + 40);
    Frame f = test::frame_of(m);
    expect_valid(f);
    EXPECT_EQ(f.data_len(), 40u + 13);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(f.data()) + 40, 13), "original data");
    EXPECT_EQ(0, std::memcmp(f.raw.data(), bytes.data(), 14)) << "Ethernet header moved intact";

    strip_at_payload(m, pp, 40, 0);
    Frame back = test::frame_of(m);
    EXPECT_EQ(back.raw, bytes) << "tcp=" << tcp;
    rte_pktmbuf_free(m);
  }
}

TEST_P(PacketEdit, HmacTrailerSignsAndVerifies) {
  HmacEngine hmac;
  HmacKey key = hmac.make_key(std::vector<uint8_t>(32, 0x42));
  HmacKey other = hmac.make_key(std::vector<uint8_t>(32, 0x43));
  for (bool tcp : {false, true}) {
    Pkt p;
    p.ipv4("172.16.0.1", "172.16.0.2").payload("block+data");
    if (tcp)
      p.tcp(16384, 16385, kTcpSyn);
    else
      p.udp(16384, 16385);
    rte_mbuf* m = make(p.bytes(), GetParam());
    ParsedPacket pp = parse_packet(pkt_data(m), m->data_len);
    ASSERT_TRUE(append_hmac(m, pp, hmac, key));
    finish_checksums(m, pp);
    Frame f = test::frame_of(m);
    expect_valid(f);
    EXPECT_EQ(f.data_len(), 10 + kHmacTagLen);

    ParsedPacket rx = parse_packet(pkt_data(m), m->data_len);
    ASSERT_EQ(rx.status, ParseStatus::ipv4);
    EXPECT_TRUE(verify_hmac(m, rx, hmac, key));
    EXPECT_FALSE(verify_hmac(m, rx, hmac, other));
    EXPECT_EQ(test::frame_of(m).raw, f.raw) << "verify leaves the checksum as it was";
    // The checksum field is not covered (routers rewrite it); everything else is.
    pkt_data(m)[rx.l4 + (tcp ? 16 : 6)] ^= 0xff;
    EXPECT_TRUE(verify_hmac(m, rx, hmac, key));
    for (uint16_t off : {uint16_t(rx.l4), uint16_t(rx.l4 + 4), uint16_t(rx.payload), uint16_t(rx.end - 1)}) {
      pkt_data(m)[off] ^= 0x01;
      EXPECT_FALSE(verify_hmac(m, rx, hmac, key)) << "byte " << off;
      pkt_data(m)[off] ^= 0x01;
    }
    rte_pktmbuf_free(m);
  }
}

INSTANTIATE_TEST_SUITE_P(Headroom, PacketEdit,
                         ::testing::Values(uint16_t{RTE_PKTMBUF_HEADROOM}, uint16_t{0}, uint16_t{20}));

TEST(PacketEditRoom, NoRoomReturnsNull) {
  // A frame that fills the buffer: neither 64 bytes of headroom nor tailroom.
  rte_mbuf* probe = rte_pktmbuf_alloc(test::test_pool());
  const uint16_t room = static_cast<uint16_t>(rte_pktmbuf_tailroom(probe) + rte_pktmbuf_headroom(probe));
  rte_pktmbuf_free(probe);
  std::string data(room - 14 - 20 - 8 - 10, 'x');
  auto bytes = Pkt().ipv4("10.1.0.5", "10.2.0.10").udp(1, 2).payload(data).bytes();
  rte_mbuf* m = make(bytes, 0);
  ParsedPacket pp = parse_packet(pkt_data(m), m->data_len);
  ASSERT_EQ(pp.status, ParseStatus::ipv4);
  EXPECT_EQ(insert_at_payload(m, pp, 64), nullptr);
  EXPECT_EQ(test::frame_of(m).raw, bytes) << "a refused insert leaves the packet alone";
  HmacEngine hmac;
  HmacKey key = hmac.make_key(std::vector<uint8_t>(32, 1));
  EXPECT_FALSE(append_hmac(m, pp, hmac, key));
  rte_pktmbuf_free(m);
}

TEST(PacketEditRoom, VerifyRefusesPayloadShorterThanATag) {
  HmacEngine hmac;
  HmacKey key = hmac.make_key(std::vector<uint8_t>(32, 1));
  rte_mbuf* m = make(Pkt().ipv4("10.1.0.5", "10.2.0.10").udp(1, 2).payload("short").bytes());
  ParsedPacket pp = parse_packet(pkt_data(m), m->data_len);
  EXPECT_FALSE(verify_hmac(m, pp, hmac, key));
  rte_pktmbuf_free(m);
}

TEST(PacketEditPadding, InsertAndHmacDropEthernetPadding) {
  // A TCP SYN without options is 54 bytes; on the wire it is padded to 60.
  auto bytes = Pkt().ipv4("10.1.0.5", "10.2.0.10").tcp(40000, 80, kTcpSyn).pad(6).bytes();
  ASSERT_EQ(bytes.size(), 60u);
  rte_mbuf* m = make(bytes);
  ParsedPacket pp = parse_packet(pkt_data(m), m->data_len);
  uint8_t* gap = insert_at_payload(m, pp, 20);
  ASSERT_NE(gap, nullptr);
  std::memset(gap, 0x5a, 20);
  HmacEngine hmac;
  HmacKey key = hmac.make_key(std::vector<uint8_t>(32, 7));
  ASSERT_TRUE(append_hmac(m, pp, hmac, key));
  finish_checksums(m, pp);
  Frame f = test::frame_of(m);
  expect_valid(f);
  EXPECT_EQ(f.data_len(), 20 + kHmacTagLen) << "padding is gone, not signed as data";
  ParsedPacket rx = parse_packet(pkt_data(m), m->data_len);
  EXPECT_TRUE(verify_hmac(m, rx, hmac, key));
  strip_at_payload(m, rx, 20, kHmacTagLen);
  Frame back = test::frame_of(m);
  EXPECT_EQ(back.raw, std::vector<uint8_t>(bytes.begin(), bytes.begin() + 54));
  rte_pktmbuf_free(m);
}

TEST(PacketEditPadding, TrimPadding) {
  auto bytes = Pkt().ipv4("10.1.0.5", "10.2.0.10").udp(1, 2).payload("x").pad(17).bytes();
  rte_mbuf* m = make(bytes);
  ParsedPacket pp = parse_packet(pkt_data(m), m->data_len);
  trim_padding(m, pp);
  EXPECT_EQ(m->data_len, 43);
  EXPECT_EQ(m->pkt_len, 43u);
  trim_padding(m, pp);  // idempotent
  EXPECT_EQ(m->data_len, 43);
  rte_pktmbuf_free(m);
}

TEST(PacketEditRandom, InsertStripKeepsEverythingElse) {
  std::mt19937 rng(15);
  for (int iter = 0; iter < 2000; ++iter) {
    std::string data(rng() % 300, '\0');
    for (auto& c : data) c = static_cast<char>(rng());
    Pkt p;
    p.ipv4(static_cast<Ipv4>(rng()), static_cast<Ipv4>(rng())).payload(data);
    if (rng() % 2)
      p.tcp(static_cast<uint16_t>(rng()), static_cast<uint16_t>(rng()), 0x18).tcp_options(4 * (rng() % 4));
    else
      p.udp(static_cast<uint16_t>(rng()), static_cast<uint16_t>(rng()));
    if (rng() % 4 == 0) p.pad(rng() % 30);
    auto bytes = p.bytes();
    rte_mbuf* m = make(bytes, static_cast<uint16_t>(rng() % (RTE_PKTMBUF_HEADROOM + 1)));
    ParsedPacket pp = parse_packet(pkt_data(m), m->data_len);
    ASSERT_EQ(pp.status, ParseStatus::ipv4);
    const uint16_t end = pp.end;
    uint16_t n = static_cast<uint16_t>(1 + rng() % 200);
    uint8_t* gap = insert_at_payload(m, pp, n);
    ASSERT_NE(gap, nullptr);
    for (uint16_t i = 0; i < n; ++i) gap[i] = static_cast<uint8_t>(rng());
    finish_checksums(m, pp);
    expect_valid(test::frame_of(m));
    strip_at_payload(m, pp, n, 0);
    Frame back = test::frame_of(m);
    ASSERT_EQ(back.raw, std::vector<uint8_t>(bytes.begin(), bytes.begin() + end)) << iter;
    rte_pktmbuf_free(m);
  }
}

}  // namespace
}  // namespace wp
