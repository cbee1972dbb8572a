// wpgen: session plan, frame sizes, latency percentiles and the
// frames it puts on the wire, without DPDK.
#include <gtest/gtest.h>

#include <cstring>
#include <set>
#include <vector>

#include "dataplane/ip/checksum.h"
#include "dataplane/ip/packet.h"
#include "tools/wpgen/flow_plan.h"
#include "tools/wpgen/frames.h"
#include "tools/wpgen/latency.h"
#include "tools/wpgen/size_mix.h"

namespace wp::gen {
namespace {

FlowPlan plan(uint32_t clients, uint32_t services) {
  FlowPlan p;
  p.client_base = *parse_ipv4("10.1.0.16");
  p.clients = clients;
  p.service_base = *parse_ipv4("10.2.0.16");
  p.services = services;
  return p;
}

TEST(WpgenFlowPlan, EverySessionHasItsOwnTupleAndMapsBack) {
  FlowPlan p = plan(7, 3);
  std::set<std::tuple<Ipv4, Ipv4, uint16_t>> seen;
  for (uint32_t i = 0; i < 5000; ++i) {
    FlowTuple t = p.tuple(i);
    EXPECT_TRUE(seen.insert({t.client, t.service, t.sport}).second) << i;
    EXPECT_EQ(t.dport, 5201);
    ASSERT_EQ(p.index(t), i);
  }
}

TEST(WpgenFlowPlan, TenMillionFitInAThousandByTen) {
  FlowPlan p = plan(1000, 10);
  EXPECT_EQ(p.check(10'000'000), "");
  FlowTuple last = p.tuple(9'999'999);
  EXPECT_EQ(last.sport, 1024 + 999);
  EXPECT_EQ(p.index(last), 9'999'999u);
  EXPECT_NE(plan(1, 1).check(70'000), "");  // 64512 source ports only
}

TEST(WpgenFlowPlan, ForeignTuplesAreNotOurs) {
  FlowPlan p = plan(10, 2);
  FlowTuple t = p.tuple(3);
  FlowTuple wrong_port = t;
  wrong_port.dport = 80;
  EXPECT_FALSE(p.index(wrong_port));
  FlowTuple wrong_client = t;
  wrong_client.client = *parse_ipv4("10.1.0.15");
  EXPECT_FALSE(p.index(wrong_client));
  FlowTuple swapped{t.service, t.client, t.dport, t.sport};
  EXPECT_FALSE(p.index(swapped));
}

TEST(WpgenSizeMix, FixedAndImix) {
  auto f = SizeMix::parse("64");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->frame(0), 64);
  EXPECT_EQ(f->frame(99), 64);
  auto imix = SizeMix::parse("imix");
  ASSERT_TRUE(imix);
  int n64 = 0, n594 = 0, n1518 = 0;
  for (int i = 0; i < 120; ++i) {
    uint16_t s = imix->frame(static_cast<uint64_t>(i));
    n64 += s == 64;
    n594 += s == 594;
    n1518 += s == 1518;
  }
  EXPECT_EQ(n64, 70);
  EXPECT_EQ(n594, 40);
  EXPECT_EQ(n1518, 10);
  EXPECT_NEAR(imix->average(), 361.83, 0.01);
  EXPECT_FALSE(SizeMix::parse("63"));
  EXPECT_FALSE(SizeMix::parse("1519"));
  EXPECT_FALSE(SizeMix::parse("big"));
  EXPECT_FALSE(SizeMix::parse(""));
}

TEST(WpgenLatency, PercentilesWithinBucketPrecision) {
  LatencyHistogram h;
  EXPECT_EQ(h.percentile(0.5), 0u);
  for (uint64_t v = 1; v <= 100000; ++v) h.record(v * 10);  // 10 ns .. 1 ms, uniform
  EXPECT_EQ(h.count(), 100000u);
  EXPECT_EQ(h.max(), 1000000u);
  EXPECT_NEAR(static_cast<double>(h.percentile(0.5)), 500000.0, 500000.0 * 0.035);
  EXPECT_NEAR(static_cast<double>(h.percentile(0.99)), 990000.0, 990000.0 * 0.035);
  EXPECT_EQ(h.percentile(1.0), 1000000u);
  for (uint64_t v : {0ull, 63ull, 64ull, 1000ull, 123456789ull, ~0ull}) {
    int b = LatencyHistogram::bucket(v);
    ASSERT_LT(b, LatencyHistogram::kBuckets);
    EXPECT_GE(LatencyHistogram::upper(b), v);
    if (b > 0) {
      EXPECT_LT(LatencyHistogram::upper(b - 1), v);
    }
  }
}

Mac mac(uint8_t last) {
  Mac m;
  m.b[0] = 0x02;
  m.b[5] = last;
  return m;
}

TEST(WpgenFrames, RequestParsesBackWithValidChecksums) {
  FlowPlan p = plan(4, 2);
  FlowTuple t = p.tuple(11);
  for (uint16_t len : {uint16_t{60}, uint16_t{590}, uint16_t{1514}}) {
    std::vector<uint8_t> buf(len + 8, 0xaa);
    build_request(buf.data(), len, mac(1), mac(2), t, {11, 77, 0x0102030405060708ull});
    const uint8_t* ip = buf.data() + 14;
    EXPECT_EQ(load_be16(ip + 2), len - 14);
    EXPECT_EQ(ipv4_header_checksum(ip), load_be16(ip + 10));
    uint16_t stored = load_be16(ip + 26);
    EXPECT_EQ(stored, l4_checksum(ip, ip + 20, static_cast<uint16_t>(len - 34))) << len;
    auto f = parse_frame(buf.data(), len);
    ASSERT_TRUE(f);
    EXPECT_EQ(f->src, t.client);
    EXPECT_EQ(f->dst, t.service);
    EXPECT_EQ(f->sport, t.sport);
    EXPECT_EQ(f->dport, 5201);
    EXPECT_EQ(f->stamp.session, 11u);
    EXPECT_EQ(f->stamp.seq, 77u);
    EXPECT_EQ(f->stamp.tsc, 0x0102030405060708ull);
    EXPECT_EQ(buf[len], 0xaa);  // nothing written past the frame
  }
}

TEST(WpgenFrames, EchoSwapsEndsAndKeepsChecksumsValid) {
  FlowTuple t = plan(4, 2).tuple(5);
  std::vector<uint8_t> buf(100);
  build_request(buf.data(), 100, mac(1), mac(2), t, {5, 1, 9});
  echo_in_place(buf.data(), mac(3));
  EXPECT_EQ(buf[5], 1);   // back to the sender
  EXPECT_EQ(buf[11], 3);  // from us
  auto f = parse_frame(buf.data(), 100);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->src, t.service);
  EXPECT_EQ(f->dst, t.client);
  EXPECT_EQ(f->sport, 5201);
  EXPECT_EQ(f->dport, t.sport);
  EXPECT_EQ(ipv4_header_checksum(buf.data() + 14), load_be16(buf.data() + 24));
  EXPECT_EQ(load_be16(buf.data() + 40), l4_checksum(buf.data() + 14, buf.data() + 34, 66));
}

TEST(WpgenFrames, NotOursIsRejected) {
  std::vector<uint8_t> buf(100);
  build_request(buf.data(), 100, mac(1), mac(2), plan(1, 1).tuple(0), {0, 0, 0});
  EXPECT_FALSE(parse_frame(buf.data(), 59));
  std::vector<uint8_t> magic = buf;
  magic[42] ^= 1;
  EXPECT_FALSE(parse_frame(magic.data(), 100));
  std::vector<uint8_t> tcp = buf;
  tcp[14 + 9] = kProtoTcp;
  EXPECT_FALSE(parse_frame(tcp.data(), 100));
  std::vector<uint8_t> frag = buf;
  frag[14 + 6] |= 0x20;  // MF
  EXPECT_FALSE(parse_frame(frag.data(), 100));
}

TEST(WpgenFrames, ArpRequestAndReply) {
  uint8_t req[60];
  Ipv4 self = *parse_ipv4("10.1.0.16"), gw = *parse_ipv4("10.1.0.1");
  ASSERT_EQ(build_arp_request(req, mac(1), self, gw), 60);
  auto a = parse_arp(req, 60);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->op, 1);
  EXPECT_EQ(a->sender_ip, self);
  EXPECT_EQ(a->target_ip, gw);
  EXPECT_EQ(req[0], 0xff);
  uint8_t rep[60];
  build_arp_reply(rep, mac(9), *a);
  auto r = parse_arp(rep, 60);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->op, 2);
  EXPECT_EQ(r->sender_ip, gw);  // "gw is at mac 9": we answer for the asked address
  EXPECT_EQ(r->target_ip, self);
  EXPECT_EQ(r->sender_mac.b[5], 9);
  EXPECT_EQ(rep[5], 1);  // unicast back to the asker
  EXPECT_FALSE(parse_arp(rep, 41));
}

}  // namespace
}  // namespace wp::gen
