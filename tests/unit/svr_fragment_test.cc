// The reassembly table (in order, out of order, duplicates,
// overlaps, timeout, table full, too many / too big), fragmentation of an
// mbuf and its reassembly back to the same bytes, and the TLV 1 round trip.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <vector>

#include "dataplane/ip/checksum.h"
#include "dataplane/crypto/session_data.h"
#include "dataplane/ip/fragment.h"
#include "dataplane/ip/reassembly.h"
#include "dataplane/svr/fragments.h"
#include "dataplane/svr/metadata.h"
#include "dataplane/ip/packet.h"
#include "tests/unit/eal_env.h"
#include "tests/unit/pkt_builder.h"
#include "tests/unit/svr_harness.h"

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
Frag make_frag(uint16_t id, uint32_t total, uint32_t off, uint32_t len, uint16_t df = 0,
               Ipv4 src = test::ip("172.16.0.1")) {
  Frag f{};
  f.ip[0] = 0x45;
  test::put16(f.ip + 2, static_cast<uint16_t>(20 + len));
  test::put16(f.ip + 4, id);
  bool more = off + len < total;
  test::put16(f.ip + 6, static_cast<uint16_t>(df | (more ? 0x2000 : 0) | off / 8));
  f.ip[8] = 64;
  f.ip[9] = 17;
  test::put32(f.ip + 12, src);
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

// A flood of first fragments that never complete, from one source: old
// tables gave it every slot it asked for, so the next source's datagram
// found its bucket full. Now the flooder holds per_source slots and every
// other source still reassembles.
TEST(ReassemblyFlood, OneSourceCannotBlockAnotherSourcesDatagrams) {
  ReassemblyTable t(256, 2000, 0, HashSecret{0x0123456789abcdefULL, 0xfedcba9876543210ULL});
  const Ipv4 flooder = test::ip("198.51.100.7");
  uint32_t held = 0, limited = 0;
  for (uint32_t id = 0; id < 5000; ++id) {
    ReassemblyResult r = add(t, make_frag(static_cast<uint16_t>(id), 96, 0, 48, 0, flooder));
    held += r == ReassemblyResult::pending;
    limited += r == ReassemblyResult::source_limit;
  }
  EXPECT_EQ(held, t.per_source());
  EXPECT_EQ(held, 16u);
  EXPECT_GT(limited, 4900u);
  // Other sources, each with a datagram in two fragments, out of order.
  for (uint32_t host = 1; host <= 64; ++host) {
    Ipv4 src = test::ip("203.0.113.0") + host;
    uint16_t id = static_cast<uint16_t>(host * 13);
    ASSERT_EQ(add(t, make_frag(id, 96, 48, 48, 0, src)), ReassemblyResult::pending) << host;
    ASSERT_EQ(add(t, make_frag(id, 96, 0, 48, 0, src)), ReassemblyResult::complete) << host;
    expect_whole(t, 96, id, held);
  }
}

// A worker sees only the fragment classes it owns (a quarter of them with
// four workers); buckets come from the whole key, not the class, so those
// datagrams can still use every slot of the worker's table.
TEST(ReassemblyFlood, OneWorkersClassesReachEveryBucket) {
  ReassemblyTable t(256, 2000, 0, HashSecret{42, 4242});
  uint32_t accepted = 0;
  for (uint32_t host = 0; host < 4096 && accepted < 256; ++host) {
    Frag f = make_frag(static_cast<uint16_t>(host), 96, 0, 48, 0, test::ip("10.0.0.0") + host);
    if (fragment_class(fragment_key(f.ip)) % 4 != 0) continue;  // another worker's
    accepted += add(t, f) == ReassemblyResult::pending;
  }
  EXPECT_GE(t.in_use(), 240u) << "of " << t.capacity();
}

TEST(ReassemblyFlood, SourceLimitFreesAsDatagramsCompleteOrExpire) {
  ReassemblyTable t(64, 1000, 4, HashSecret{7, 8});
  const Ipv4 src = test::ip("198.51.100.9");
  for (uint16_t id = 0; id < 4; ++id) ASSERT_EQ(add(t, make_frag(id, 96, 0, 48, 0, src), 0), ReassemblyResult::pending);
  EXPECT_EQ(add(t, make_frag(9, 96, 0, 48, 0, src), 0), ReassemblyResult::source_limit);
  ASSERT_EQ(add(t, make_frag(0, 96, 48, 48, 0, src), 0), ReassemblyResult::complete);
  expect_whole(t, 96, 0, 3);
  EXPECT_EQ(add(t, make_frag(9, 96, 0, 48, 0, src), 0), ReassemblyResult::pending);
  EXPECT_EQ(t.expire(1000, 64), 4u);
  for (uint16_t id = 20; id < 24; ++id)
    EXPECT_EQ(add(t, make_frag(id, 96, 0, 48, 0, src), 1000), ReassemblyResult::pending);
}

TEST(KeyedHash, SipHashDependsOnKeyAndBothWords) {
  HashSecret a{1, 2}, b{1, 3};
  EXPECT_NE(siphash13(a, 10, 20), siphash13(b, 10, 20));
  EXPECT_NE(siphash13(a, 10, 20), siphash13(a, 11, 20));
  EXPECT_NE(siphash13(a, 10, 20), siphash13(a, 10, 21));
  EXPECT_EQ(siphash13(a, 10, 20), siphash13(a, 10, 20));
  HashSecret s1 = boot_secret(), s2 = boot_secret();
  EXPECT_EQ(s1.k0, s2.k0);
  EXPECT_NE(s1.k0 | s1.k1, 0u);
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

// --- through in-process routers (svr_harness.h) -------------------------------
namespace wp {
namespace {

using namespace test;

// r1 -> r2 with one UDP service whose policy encrypts data and metadata.
config::Config fragment_config(bool ingress) {
  config::Config c = router_base(ingress ? "r1" : "r2", ingress ? "10.1.0.1/24" : "10.2.0.1/24",
                                 {{"wan0", ingress ? "172.16.0.1/24" : "172.16.0.2/24"}});
  add_tenant(c, "branch", "10.1.0.0/24");
  add_service(c, {"echo", "10.2.0.0/24", "udp", "", ingress ? "r2" : ""});
  add_policy(c, "branch", "echo", "sealed");
  add_service(c, {"web", "10.2.0.0/24", "tcp", "80", ingress ? "r2" : ""});
  add_policy(c, "branch", "web", "sealed");
  add_security(c, "sealed", "aes256-cbc", "every-packet", false);
  c.mutable_security_policies(0)->set_metadata_encryption(true);
  add_peer(c, ingress ? "r2" : "r1", {ingress ? "172.16.0.2" : "172.16.0.1"}, kKey12);
  return c;
}

class FragmentedSvr : public ::testing::Test {
 protected:
  void make(uint32_t r2_workers) {
    r1 = std::make_unique<Router>(fragment_config(true), RouterOptions().with_key_slots(64));
    r2 = std::make_unique<Router>(fragment_config(false), RouterOptions().with_key_slots(64).with_workers(r2_workers));
    r1->neighbor(0, kClient, kClientMac);
    r1->neighbor(1, kR2Wan, kR2Mac);
    r2->neighbor(0, kServer, kServerMac);
    r2->neighbor(1, kR1Wan, kR1Mac);
  }
  static std::string data(size_t n, char seed) {
    std::string s(n, 0);
    for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + i * 13);
    return s;
  }
  static std::vector<uint8_t> client_udp(const std::string& d, uint16_t sport = 40000, uint16_t id = 0x1234) {
    // DF set, as Linux sends UDP.
    return Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, kServer).id(id).frag(0x4000).udp(sport, 5201).payload(d).bytes();
  }
  static std::vector<uint8_t> server_udp(const std::string& d, uint16_t dport = 40000) {
    return Pkt().eth(kR2Mac, kServerMac).ipv4(kServer, kClient).udp(5201, dport).payload(d).bytes();
  }
  // Frames into a router in the given order; everything it transmitted.
  static std::vector<Frame> feed(Router& r, uint16_t port, const std::vector<Frame>& in) {
    std::vector<Frame> out;
    for (const Frame& f : in)
      for (Frame& o : r.send(port, f.raw)) out.push_back(std::move(o));
    return out;
  }
  std::unique_ptr<Router> r1, r2;
};

TEST_F(FragmentedSvr, NearMtuUdpLeavesInFragmentsWithTlv1AndArrivesExactBothWays) {
  make(1);
  const std::string fwd = data(1472, 'a');
  std::vector<Frame> wan = r1->send(kLan, client_udp(fwd));
  ASSERT_EQ(wan.size(), 2u) << r1->drops();
  uint16_t wan_id = get16(wan[0].ip4() + 4);
  for (const Frame& f : wan) {
    EXPECT_LE(f.ip_total(), 1500u);
    EXPECT_EQ(get16(f.ip4() + 4), wan_id) << "one IP id per fragmented datagram";
    EXPECT_EQ(ipv4_header_checksum(f.ip4()), get16(f.ip4() + 10));
  }
  EXPECT_EQ(get16(wan[0].ip4() + 6), 0x2000) << "MF, offset 0, DF cleared for our own overhead";
  EXPECT_EQ(get16(wan[1].ip4() + 6), (wan[0].ip_total() - 20) / 8);
  EXPECT_NE(wan_id, 0x1234) << "our id, not the host's";
  // The metadata block sits in the first fragment: TLV 1 (clear header), payload encrypted.
  Metadata md;
  ASSERT_EQ(decode_metadata(wan[0].data(), wan[0].ip_total() - 28, md), MetadataStatus::ok);
  ASSERT_TRUE(md.has_fragment);
  EXPECT_EQ(md.fragment.original_ip_id, 0x1234);
  EXPECT_EQ(md.fragment.flags_offset, 0x4000);
  EXPECT_EQ(md.fragment.extended_id & 0xffff, wan_id);
  EXPECT_EQ(md.fragment.largest_fragment, 1500);
  EXPECT_TRUE(md.payload_encrypted);
  EXPECT_TRUE(md.has_security_id);
  EXPECT_FALSE(contains(wan[0], "branch"));
  EXPECT_EQ(r1->count(Counter::frag_df_cleared), 1u);

  // Out of order into r2: held, then whole, verified, decrypted, restored.
  EXPECT_TRUE(r2->send(kWan, wan[1].raw).empty());
  Frame lan = r2->send_one(kWan, wan[0].raw);
  EXPECT_EQ(lan.payload_string(), fwd);
  expect_valid(lan);
  EXPECT_EQ(get16(lan.ip4() + 4), 0x1234) << "TLV 1: the host's IP id back";
  EXPECT_EQ(get16(lan.ip4() + 6), 0x4000) << "TLV 1: DF back";
  EXPECT_EQ(r2->count(Counter::fragments_received), 2u);
  EXPECT_EQ(r2->count(Counter::datagrams_reassembled), 1u);
  EXPECT_EQ(r2->count(Counter::fragment_tlv_restored), 1u);
  EXPECT_EQ(r2->count(Counter::metadata_decrypted), 1u);

  // A full-size reply: r2 fragments it (its reverse metadata rides its own
  // packet); r1 reassembles and delivers it.
  const std::string rev = data(1472, 'z');
  std::vector<Frame> back = r2->send(kLan, server_udp(rev));
  ASSERT_GE(back.size(), 2u) << r2->drops();
  std::vector<Frame> to_client = feed(*r1, kWan, back);
  ASSERT_EQ(to_client.size(), 1u) << r1->drops();
  EXPECT_EQ(to_client[0].payload_string(), rev);
  expect_valid(to_client[0]);

  // Steady state (no metadata, sealed with a sequence number): still fragmented, still exact.
  const std::string again = data(1472, 'k');
  wan = r1->send(kLan, client_udp(again, 40000, 0x1235));
  ASSERT_EQ(wan.size(), 2u) << r1->drops();
  EXPECT_FALSE(has_cookie(wan[0].data(), wan[0].ip_total() - 28));
  EXPECT_NE(get16(wan[0].ip4() + 4), wan_id) << "a fresh id per datagram";
  // A duplicate of the first fragment is dropped alone.
  EXPECT_TRUE(r2->send(kWan, wan[0].raw).empty());
  EXPECT_TRUE(r2->send(kWan, wan[0].raw).empty());
  EXPECT_EQ(r2->drop_count(DropReason::frag_duplicate), 1u);
  lan = r2->send_one(kWan, wan[1].raw);
  EXPECT_EQ(lan.payload_string(), again);
  EXPECT_EQ(r2->count(Counter::datagrams_reassembled), 2u);
  EXPECT_EQ(r2->total_drops(), 1u) << r2->drops();
}

TEST_F(FragmentedSvr, FragmentsMeetOnOneWorkerThenTheSessionOwnerTakesTheDatagram) {
  make(4);
  // Eight sessions (different client ports): their fragments hash to
  // workers by IP id, their sessions to owners by port class.
  std::vector<std::string> sent;
  std::vector<Frame> frags;
  for (uint16_t k = 0; k < 8; ++k) {
    sent.push_back(data(1472, static_cast<char>('A' + k)));
    auto w = r1->send(kLan, client_udp(sent.back(), static_cast<uint16_t>(41000 + 7 * k)));
    ASSERT_EQ(w.size(), 2u) << r1->drops();
    frags.insert(frags.end(), w.begin(), w.end());
  }
  // Everything arrives on worker 0 (one rx queue); the others take their share from the rings.
  for (const Frame& f : frags) {
    rte_mbuf* m = Pkt::to_mbuf(test_pool(), f.raw, kWan);
    r2->worker(0).receive(&m, 1);
  }
  for (int round = 0; round < 3; ++round)
    for (size_t i = 0; i < r2->workers(); ++i) {
      r2->worker(i).drain_handoff();
      r2->worker(i).flush();
    }
  std::vector<std::string> got;
  for (const Frame& f : r2->transmitted()) got.push_back(f.payload_string());
  std::sort(got.begin(), got.end());
  std::sort(sent.begin(), sent.end());
  EXPECT_EQ(got, sent);
  uint64_t reassembled = 0, handed = 0, dropped = 0;
  std::vector<uint64_t> by_worker;
  for (size_t i = 0; i < r2->workers(); ++i) {
    WorkerCounters& c = r2->worker(i).counters();
    reassembled += c.get(Counter::datagrams_reassembled);
    by_worker.push_back(c.get(Counter::datagrams_reassembled));
    handed += c.get(Counter::handoff_out);
    for (size_t d = 0; d < kDropReasonCount; ++d) dropped += c.get(static_cast<DropReason>(d));
  }
  EXPECT_EQ(reassembled, 8u);
  EXPECT_GT(handed, 0u);
  EXPECT_GT(std::count_if(by_worker.begin(), by_worker.end(), [](uint64_t n) { return n > 0; }), 1)
      << "fragments spread over workers by IP id";
  EXPECT_EQ(dropped, 0u);
}

TEST_F(FragmentedSvr, OversizeTcpWithDfGetsIcmpFragNeededWithTheUsableMtu) {
  make(1);
  auto c_tcp = [](uint8_t flags, uint32_t seq, uint32_t ack, const std::string& d) {
    return Pkt()
        .eth(kR1Mac, kClientMac)
        .ipv4(kClient, kServer)
        .frag(0x4000)
        .tcp(40001, 80, flags, seq, ack)
        .payload(d)
        .bytes();
  };
  Frame syn = r1->send_one(kLan, c_tcp(kTcpSyn, 100, 0, ""));
  r2->send_one(kWan, syn.raw);
  auto synack =
      Pkt().eth(kR2Mac, kServerMac).ipv4(kServer, kClient).tcp(80, 40001, kTcpSyn | kTcpAck, 500, 101).bytes();
  r1->send_one(kWan, r2->send_one(kLan, synack).raw);
  r2->send_one(kWan, r1->send_one(kLan, c_tcp(kTcpAck, 101, 501, "")).raw);
  // A segment the host sent ignoring the clamped MSS: 1500 bytes IP with DF.
  std::vector<uint8_t> big = c_tcp(kTcpAck, 101, 501, data(1460, 'x'));
  Frame icmp = r1->send_one(kLan, big);
  EXPECT_EQ(icmp.port, kLan);
  EXPECT_EQ(icmp.proto(), 1);
  EXPECT_EQ(icmp.src(), ip("10.1.0.1"));
  EXPECT_EQ(icmp.dst(), kClient);
  const uint8_t* m = icmp.l4();
  EXPECT_EQ(m[0], 3);
  EXPECT_EQ(m[1], 4);
  EXPECT_EQ(get16(m + 6), 1500 - kCryptoOverhead) << "RFC 1191 next-hop MTU, less our overhead";
  EXPECT_TRUE(std::equal(m + 8, m + 8 + 28, big.begin() + 14)) << "quotes the original header + 8 bytes";
  EXPECT_EQ(ipv4_header_checksum(icmp.ip4()), get16(icmp.ip4() + 10));
  EXPECT_EQ(r1->count(Counter::icmp_frag_needed_sent), 1u);
  EXPECT_EQ(r1->drop_count(DropReason::mtu_exceeded), 1u);
  // One that fits the advertised MTU goes through.
  Frame ok = r1->send_one(kLan, c_tcp(kTcpAck, 101, 501, data(1500 - kCryptoOverhead - 40, 'y')));
  EXPECT_LE(ok.ip_total(), 1500u);
}

// A host that keeps ignoring it gets at most the worker's burst at once, then
// the rate (RFC 1812 § 4.3.2.8); every segment is still dropped and counted.
TEST_F(FragmentedSvr, IcmpFragNeededIsRateLimited) {
  make(1);
  auto c_tcp = [](uint8_t flags, uint32_t seq, uint32_t ack, const std::string& d) {
    return Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, kServer).frag(0x4000).tcp(40002, 80, flags, seq, ack).payload(d).bytes();
  };
  r2->send_one(kWan, r1->send_one(kLan, c_tcp(kTcpSyn, 100, 0, "")).raw);
  auto synack =
      Pkt().eth(kR2Mac, kServerMac).ipv4(kServer, kClient).tcp(80, 40002, kTcpSyn | kTcpAck, 500, 101).bytes();
  r1->send_one(kWan, r2->send_one(kLan, synack).raw);
  r2->send_one(kWan, r1->send_one(kLan, c_tcp(kTcpAck, 101, 501, "")).raw);
  const std::vector<uint8_t> big = c_tcp(kTcpAck, 101, 501, data(1460, 'x'));
  constexpr uint64_t kSent = 200;  // 200 in far less than the 1.8 s the rate would need to refill
  size_t icmp = 0;
  for (uint64_t i = 0; i < kSent; ++i)
    for (const Frame& f : r1->send(kLan, big)) icmp += f.proto() == 1;
  const uint64_t limited = r1->count(Counter::icmp_frag_needed_rate_limited);
  EXPECT_EQ(r1->count(Counter::icmp_frag_needed_sent), icmp);
  EXPECT_GE(icmp, Fragments::kIcmpErrorBurst);
  EXPECT_LT(icmp, kSent);
  EXPECT_EQ(icmp + limited, kSent);
  EXPECT_EQ(r1->drop_count(DropReason::mtu_exceeded), kSent);
}

TEST_F(FragmentedSvr, FragmentedUdpFromTheLanIsReassembledThenRouted) {
  make(1);
  const std::string d = data(600, 'q');
  auto whole = client_udp(d, 40100, 0x4242);
  // Split the client's datagram by hand: 8 + 296 bytes, then the rest.
  std::vector<uint8_t> a(whole.begin(), whole.begin() + 34 + 304);
  std::vector<uint8_t> b(whole.size() - 304);
  std::copy(whole.begin(), whole.begin() + 34, b.begin());
  std::copy(whole.begin() + 34 + 304, whole.end(), b.begin() + 34);
  put16(a.data() + 14 + 2, 20 + 304);
  put16(a.data() + 14 + 6, 0x2000);
  put16(b.data() + 14 + 2, static_cast<uint16_t>(b.size() - 14));
  put16(b.data() + 14 + 6, 304 / 8);
  for (auto* f : {&a, &b}) {
    put16(f->data() + 14 + 10, 0);
    put16(f->data() + 14 + 10, ipv4_header_checksum(f->data() + 14));
  }
  EXPECT_TRUE(r1->send(kLan, b).empty());
  Frame w = r1->send_one(kLan, a);
  EXPECT_TRUE(has_cookie(w.data(), w.data_len())) << "the reassembled datagram opened a session";
  Frame lan = r2->send_one(kWan, w.raw);
  EXPECT_EQ(lan.payload_string(), d);
  EXPECT_EQ(r1->count(Counter::datagrams_reassembled), 1u);
}

}  // namespace
}  // namespace wp
