// #4 fragments: the reassembly table (in order, out of order, duplicates,
// overlaps, timeout, table full, too many / too big), fragmentation of an
// mbuf and its reassembly back to the same bytes, and the TLV 1 round trip.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <vector>

#include "dataplane/checksum.h"
#include "dataplane/ip_fragment.h"
#include "dataplane/ip_reassembly.h"
#include "dataplane/metadata.h"
#include "dataplane/packet.h"
#include "tests/unit/eal_env.h"
#include "tests/unit/pkt_builder.h"

namespace wp {
namespace {

using test::get16;
using test::Pkt;

// One fragment of a datagram with `total` payload bytes (byte i = i * 7),
// covering [off, off + len); MF unless it reaches the end.
struct Frag {
  uint8_t ip[20];
  std::vector<uint8_t> data;
};
Frag make_frag(uint16_t id, uint32_t total, uint32_t off, uint32_t len, uint16_t df = 0) {
  Frag f{};
  f.ip[0] = 0x45;
  test::put16(f.ip + 2, static_cast<uint16_t>(20 + len));
  test::put16(f.ip + 4, id);
  bool more = off + len < total;
  test::put16(f.ip + 6, static_cast<uint16_t>(df | (more ? 0x2000 : 0) | off / 8));
  f.ip[8] = 64;
  f.ip[9] = 17;
  test::put32(f.ip + 12, test::ip("172.16.0.1"));
  test::put32(f.ip + 16, test::ip("172.16.0.2"));
  for (uint32_t i = off; i < off + len; ++i) f.data.push_back(static_cast<uint8_t>(i * 7));
  return f;
}
ReassemblyResult add(ReassemblyTable& t, const Frag& f, uint32_t now = 0) {
  return t.add(f.ip, f.data.data(), static_cast<uint16_t>(f.data.size()), now);
}
void expect_whole(ReassemblyTable& t, uint32_t total, uint16_t id, uint32_t left = 0) {
  std::vector<uint8_t> out(4096);
  size_t n = t.take(out.data(), out.size());
  ASSERT_EQ(n, 20 + total);
  EXPECT_EQ(get16(out.data() + 2), 20 + total);
  EXPECT_EQ(get16(out.data() + 4), id);
  EXPECT_EQ(get16(out.data() + 6) & 0x3fff, 0);  // no MF, no offset
  EXPECT_EQ(ipv4_header_checksum(out.data()), get16(out.data() + 10));
  for (uint32_t i = 0; i < total; ++i) ASSERT_EQ(out[20 + i], static_cast<uint8_t>(i * 7)) << i;
  EXPECT_EQ(t.in_use(), left);  // the slot is free again
}

TEST(Reassembly, InOrder) {
  ReassemblyTable t(16);
  EXPECT_EQ(add(t, make_frag(1, 3000, 0, 1480)), ReassemblyResult::pending);
  EXPECT_EQ(add(t, make_frag(1, 3000, 1480, 1480)), ReassemblyResult::pending);
  EXPECT_EQ(add(t, make_frag(1, 3000, 2960, 40)), ReassemblyResult::complete);
  expect_whole(t, 3000, 1);
  EXPECT_EQ(t.last_largest_fragment(), 1500);
}

TEST(Reassembly, OutOfOrderAndInterleaved) {
  ReassemblyTable t(16);
  EXPECT_EQ(add(t, make_frag(7, 2000, 1480, 520)), ReassemblyResult::pending);  // last first
  EXPECT_EQ(add(t, make_frag(8, 100, 0, 48)), ReassemblyResult::pending);       // another datagram
  EXPECT_EQ(t.in_use(), 2u);
  EXPECT_EQ(add(t, make_frag(7, 2000, 0, 1480)), ReassemblyResult::complete);
  expect_whole(t, 2000, 7, 1);
  EXPECT_EQ(add(t, make_frag(8, 100, 48, 52)), ReassemblyResult::complete);
  expect_whole(t, 100, 8);
}

TEST(Reassembly, KeepsDfOfTheFirstFragment) {
  ReassemblyTable t(16);
  add(t, make_frag(3, 64, 32, 32));
  ASSERT_EQ(add(t, make_frag(3, 64, 0, 32, 0x4000)), ReassemblyResult::complete);
  std::vector<uint8_t> out(128);
  ASSERT_EQ(t.take(out.data(), out.size()), 84u);
  EXPECT_EQ(get16(out.data() + 6), 0x4000);
}

TEST(Reassembly, DuplicateIsDroppedAloneAndTheDatagramCompletes) {
  ReassemblyTable t(16);
  add(t, make_frag(1, 96, 0, 48));
  EXPECT_EQ(add(t, make_frag(1, 96, 0, 48)), ReassemblyResult::duplicate);
  EXPECT_EQ(add(t, make_frag(1, 96, 48, 48)), ReassemblyResult::complete);
  expect_whole(t, 96, 1);
}

TEST(Reassembly, OverlapDropsTheDatagram) {
  ReassemblyTable t(16);
  add(t, make_frag(1, 96, 0, 48));
  EXPECT_EQ(add(t, make_frag(1, 96, 40, 56)), ReassemblyResult::overlap);
  EXPECT_EQ(t.in_use(), 0u);
  // The rest of it then starts a new datagram that never completes by itself.
  EXPECT_EQ(add(t, make_frag(1, 96, 48, 48)), ReassemblyResult::pending);
}

TEST(Reassembly, TwoDifferentEndsOrDataPastTheEndAreOverlaps) {
  ReassemblyTable t(16);
  add(t, make_frag(1, 96, 48, 48));  // end = 96
  EXPECT_EQ(add(t, make_frag(1, 200, 96, 104)), ReassemblyResult::overlap);
  add(t, make_frag(2, 400, 200, 56));                                       // data up to 256 (MF)
  EXPECT_EQ(add(t, make_frag(2, 104, 0, 104)), ReassemblyResult::overlap);  // says the end is 104
}

TEST(Reassembly, MalformedFragments) {
  ReassemblyTable t(16);
  EXPECT_EQ(add(t, make_frag(1, 100, 0, 44)), ReassemblyResult::malformed);  // MF and not 8-aligned
  Frag empty = make_frag(1, 8, 0, 8);
  EXPECT_EQ(t.add(empty.ip, empty.data.data(), 0, 0), ReassemblyResult::malformed);
}

TEST(Reassembly, TimeoutBySweepAndOnReuse) {
  ReassemblyTable t(16, 1000);
  add(t, make_frag(1, 96, 0, 48), 100);
  add(t, make_frag(2, 96, 0, 48), 900);
  EXPECT_EQ(t.expire(1099, 64), 0u);
  EXPECT_EQ(t.expire(1100, 64), 1u);  // id 1 is 1000 ms old
  EXPECT_EQ(t.in_use(), 1u);
  // The late half of id 1 cannot complete the discarded datagram.
  EXPECT_EQ(add(t, make_frag(1, 96, 48, 48), 1100), ReassemblyResult::pending);
  // id 2 expires when its bucket is visited after the timeout.
  EXPECT_EQ(add(t, make_frag(2, 96, 48, 48), 1950), ReassemblyResult::pending);
  EXPECT_EQ(t.take_timeouts(), 1u);
}

TEST(Reassembly, TableFullRefusesNewDatagramsUntilOneCompletes) {
  ReassemblyTable t(4);  // one bucket of 4 ways
  for (uint16_t id = 1; id <= 4; ++id) ASSERT_EQ(add(t, make_frag(id, 96, 0, 48)), ReassemblyResult::pending);
  EXPECT_EQ(add(t, make_frag(5, 96, 0, 48)), ReassemblyResult::table_full);
  EXPECT_EQ(add(t, make_frag(3, 96, 48, 48)), ReassemblyResult::complete);
  expect_whole(t, 96, 3, 3);
  EXPECT_EQ(add(t, make_frag(5, 96, 0, 48)), ReassemblyResult::pending);
}

TEST(Reassembly, TooManyAndTooBig) {
  ReassemblyTable t(16);
  uint32_t n = ReassemblyTable::kMaxFragments;
  for (uint32_t i = 0; i < n; ++i) ASSERT_EQ(add(t, make_frag(1, 8 * (n + 2), 8 * i, 8)), ReassemblyResult::pending);
  EXPECT_EQ(add(t, make_frag(1, 8 * (n + 2), 8 * n, 8)), ReassemblyResult::too_many);
  EXPECT_EQ(t.in_use(), 0u);
  EXPECT_EQ(add(t, make_frag(2, 8192, ReassemblyTable::kMaxDatagram - 8, 16)), ReassemblyResult::too_big);
  // A datagram that fits the table but not the caller's buffer.
  add(t, make_frag(3, 1000, 0, 504));
  ASSERT_EQ(add(t, make_frag(3, 1000, 504, 496)), ReassemblyResult::complete);
  std::vector<uint8_t> small(600);
  EXPECT_EQ(t.take(small.data(), small.size()), 0u);
  EXPECT_EQ(t.in_use(), 0u);
}

TEST(Reassembly, FragmentsOfOneDatagramShareAClassWhateverTheirOffset) {
  Frag a = make_frag(77, 3000, 0, 1480), b = make_frag(77, 3000, 1480, 1480), c = make_frag(78, 3000, 0, 1480);
  EXPECT_EQ(fragment_class(fragment_key(a.ip)), fragment_class(fragment_key(b.ip)));
  std::vector<uint32_t> seen(64);
  for (uint16_t id = 0; id < 4096; ++id) {
    Frag f = make_frag(id, 16, 0, 16);
    seen[fragment_class(fragment_key(f.ip))]++;
  }
  // Consecutive ids of one peer pair spread over every class.
  EXPECT_GT(*std::min_element(seen.begin(), seen.end()), 20u);
  (void)c;
}

TEST(Fragment, SplitsAnMbufAndReassemblesToTheSameBytes) {
  std::vector<uint8_t> data(1690);
  std::iota(data.begin(), data.end(), uint8_t{0});
  auto frame = Pkt().ipv4("172.16.0.1", "172.16.0.2").udp(16386, 16387).payload(data).bytes();
  rte_mbuf* m = Pkt::to_mbuf(test::test_pool(), frame);
  ASSERT_NE(m, nullptr);
  ParsedPacket pp = parse_packet(rte_pktmbuf_mtod(m, uint8_t*), m->data_len);
  ASSERT_EQ(pp.status, ParseStatus::ipv4);
  rte_mbuf* out[kMaxTxFragments];
  ASSERT_EQ(fragment_ipv4(m, pp, 1500, 0xbeef, out, 1), 0u);  // needs 2: refused, m untouched
  ASSERT_EQ(m->data_len, frame.size());
  uint32_t n = fragment_ipv4(m, pp, 1500, 0xbeef, out, kMaxTxFragments);
  ASSERT_EQ(n, 2u);
  ReassemblyTable t(16);
  ReassemblyResult last = ReassemblyResult::pending;
  for (int i = static_cast<int>(n) - 1; i >= 0; --i) {  // out of order
    uint8_t* d = rte_pktmbuf_mtod(out[i], uint8_t*);
    ParsedPacket fp = parse_packet(d, out[i]->data_len);
    ASSERT_EQ(fp.status, ParseStatus::fragment);
    EXPECT_LE(fp.end - fp.l3, 1500);
    EXPECT_EQ(get16(d + 14 + 4), 0xbeef);
    EXPECT_EQ(ipv4_header_checksum(d + 14), get16(d + 14 + 10));
    if (i == 0) {
      EXPECT_EQ(get16(d + 14 + 6), 0x2000);  // MF, offset 0, DF clear
    }
    last = t.add(d + fp.l3, d + fp.l4, static_cast<uint16_t>(fp.end - fp.l4), 0);
    rte_pktmbuf_free(out[i]);
  }
  ASSERT_EQ(last, ReassemblyResult::complete);
  std::vector<uint8_t> whole(2048);
  size_t len = t.take(whole.data(), whole.size());
  ASSERT_EQ(len, frame.size() - 14);
  // Same datagram except the IP id (ours) and the header checksum.
  EXPECT_TRUE(std::equal(whole.begin() + 20, whole.begin() + len, frame.begin() + 34));
  EXPECT_EQ(get16(whole.data() + 4), 0xbeef);
}

TEST(FragmentTlv, RoundTripInTheHeaderSection) {
  uint8_t block[kMaxMetadataLen];
  MetadataWriter w(block, sizeof block);
  FragmentInfo f{0x01020304, 0xabcd, 0x4000, 1500};
  w.fragment(f);
  SessionUuid id{};
  id[0] = 9;
  w.uuid(id);
  size_t len = w.finish();
  ASSERT_GT(len, 0u);
  Metadata md;
  ASSERT_EQ(decode_metadata(block, len, md), MetadataStatus::ok);
  EXPECT_EQ(md.header_len, kMetadataHeaderLen + kFragmentTlvLen);
  ASSERT_TRUE(md.has_fragment);
  EXPECT_EQ(md.fragment.extended_id, 0x01020304u);
  EXPECT_EQ(md.fragment.original_ip_id, 0xabcd);
  EXPECT_EQ(md.fragment.flags_offset, 0x4000);
  EXPECT_EQ(md.fragment.largest_fragment, 1500);
  EXPECT_TRUE(md.has_uuid);
  // TLV 1 in the payload section is in the wrong section: malformed.
  MetadataWriter w2(block, sizeof block);
  w2.uuid(id);
  uint8_t v[10] = {};
  w2.raw_tlv(Tlv::fragment, v, 10, false);
  len = w2.finish();
  EXPECT_EQ(decode_metadata(block, len, md), MetadataStatus::malformed);
}

}  // namespace
}  // namespace wp
