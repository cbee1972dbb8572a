// IPv6 fragments from LAN hosts through IPv6 sessions over SVR (issue #19;
// docs/ipv6.md § Fragments through IPv6 sessions over SVR; dataplane/worker/svr6_reassembly.h,
// dataplane/svr/svr6_lan.h): a client's UDP datagram in three fragments is made whole at r1,
// carried (in WAN fragments, metadata on the first packet), and restored whole and
// byte-exact at r2, for both waypoint kinds; out of order, overlapping, timed out and
// flooding fragments are counted; the server's fragmented answer leaves r1 in IPv6
// fragments when it exceeds the client's LAN MTU; extension headers are refused and counted.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <map>

#include "dataplane/ip/nat64_packet.h"
#include "dataplane/worker/svr6_reassembly.h"
#include "tests/unit/svr6_pair.h"

namespace wp {
namespace {

using namespace test;

constexpr uint32_t kPayload = 1392;  // UDP payload: 1400 upper-layer bytes, three fragments of 472
constexpr uint32_t kPiece = 472;

// `whole` (Ethernet, a 40-byte IPv6 header, the upper layer) cut into fragments of `size`
// upper-layer bytes with identification `id`, in order.
std::vector<std::vector<uint8_t>> cut6(const std::vector<uint8_t>& whole, uint32_t size, uint32_t id) {
  constexpr size_t kHdr = 14 + kIpv6HdrLen;
  const uint32_t l4_len = static_cast<uint32_t>(whole.size() - kHdr);
  std::vector<std::vector<uint8_t>> out;
  for (uint32_t off = 0; off < l4_len; off += size) {
    const uint32_t n = std::min(size, l4_len - off);
    std::vector<uint8_t> f(whole.begin(), whole.begin() + kHdr);
    f[14 + 6] = kProtoFragment;
    put16(f.data() + 14 + 4, static_cast<uint16_t>(8 + n));
    uint8_t fh[8] = {whole[14 + 6], 0};
    put16(fh + 2, static_cast<uint16_t>(off | (off + n < l4_len ? 1 : 0)));
    store_be32(fh + 4, id);
    f.insert(f.end(), fh, fh + 8);
    f.insert(f.end(), whole.begin() + static_cast<long>(kHdr + off), whole.begin() + static_cast<long>(kHdr + off + n));
    out.push_back(std::move(f));
  }
  return out;
}

// Every frame of `frames` from `r` to `to` (in order), the frames the last one made.
std::vector<Frame> send_all(Router& r, uint16_t port, const std::vector<std::vector<uint8_t>>& frames) {
  std::vector<Frame> last;
  for (const auto& f : frames) last = r.send(port, f);
  return last;
}

// The WAN frames of `out` handed to `to`: what its LAN gets.
std::vector<Frame> across(Router& to, const std::vector<Frame>& out) {
  std::vector<Frame> got;
  for (const Frame& f : out) {
    EXPECT_EQ(f.port, kWan);
    got = to.send(kWan, f.raw);
  }
  return got;
}

std::vector<uint8_t> payload_of(uint32_t n, uint8_t seed) {
  std::vector<uint8_t> p(n);
  for (uint32_t i = 0; i < n; ++i) p[i] = static_cast<uint8_t>((i * 131 + seed) >> 3);
  return p;
}

class Svr6Frag : public Svr6Pair, public ::testing::WithParamInterface<bool> {
 protected:
  void SetUp() override { make(v6wp_config(true, GetParam()), v6wp_config(false, GetParam())); }
  std::vector<uint8_t> client_udp(uint32_t n, uint8_t seed = 1) const {
    return client_frame(Pkt6().ipv6(kV6Client, kV6Server, 64).udp(5354, 53).payload(payload_of(n, seed)));
  }
  std::vector<uint8_t> server_udp(uint32_t n, uint8_t seed = 2) const {
    return server_frame(Pkt6().ipv6(kV6Server, kV6Client, 64).udp(53, 5354).payload(payload_of(n, seed)));
  }
  // A small datagram each way: the session is set up at both routers, metadata acked.
  void open_session() {
    const auto q = client_udp(40);
    expect_restored6(q, r2->send_one(kWan, r1->send_one(kLan, q).raw));
    const auto a = server_udp(40);
    expect_restored6(a, r1->send_one(kWan, r2->send_one(kLan, a).raw));
  }
};

// The case: three fragments from the client, the whole datagram byte-exact at the
// server; the first packet of the session, so it carries the metadata and crosses the WAN in
// fragments; then a second datagram of the session the same way.
TEST_P(Svr6Frag, AThreeFragmentDatagramArrivesWholeAtTheServer) {
  const auto whole = client_udp(kPayload);
  const auto frags = cut6(whole, kPiece, 0x1234);
  ASSERT_EQ(frags.size(), 3u);
  EXPECT_TRUE(r1->send(kLan, frags[0]).empty()) << "held until whole";
  EXPECT_TRUE(r1->send(kLan, frags[1]).empty());
  const std::vector<Frame> wan = r1->send(kLan, frags[2]);
  ASSERT_GE(wan.size(), 2u) << "with its metadata it exceeds the WAN MTU: " << r1->drops();
  EXPECT_EQ(get16(wan[0].raw.data() + 12), GetParam() ? kEtherTypeIpv6 : kEtherTypeIpv4);
  const std::vector<Frame> lan = across(*r2, wan);
  ASSERT_EQ(lan.size(), 1u) << r2->drops();
  expect_restored6(whole, lan[0]);
  EXPECT_EQ(r1->count(Counter::ipv6_fragments_received), 3u);
  EXPECT_EQ(r1->count(Counter::ipv6_datagrams_reassembled), 1u);
  EXPECT_EQ(r1->count(Counter::svr6_sessions_created), 1u);

  // The answer opens the reverse leg; then a second fragmented datagram, without metadata.
  const auto a = server_udp(40);
  expect_restored6(a, r1->send_one(kWan, r2->send_one(kLan, a).raw));
  const auto again = client_udp(kPayload, 9);
  const std::vector<Frame> lan2 = across(*r2, send_all(*r1, kLan, cut6(again, kPiece, 0x1235)));
  ASSERT_EQ(lan2.size(), 1u) << r1->drops() << r2->drops();
  expect_restored6(again, lan2[0]);
  EXPECT_EQ(r1->count(Counter::svr6_sessions_created), 1u) << "one session";
  EXPECT_EQ(r1->total_drops(), 0u) << r1->drops();
  EXPECT_EQ(r2->total_drops(), 0u) << r2->drops();
}

// Last fragment first, the middle one twice (an exact duplicate: dropped alone).
TEST_P(Svr6Frag, OutOfOrderAndDuplicateFragments) {
  open_session();
  const auto whole = client_udp(kPayload, 3);
  const auto f = cut6(whole, kPiece, 77);
  EXPECT_TRUE(r1->send(kLan, f[2]).empty());
  EXPECT_TRUE(r1->send(kLan, f[1]).empty());
  EXPECT_TRUE(r1->send(kLan, f[1]).empty());
  const std::vector<Frame> lan = across(*r2, r1->send(kLan, f[0]));
  ASSERT_EQ(lan.size(), 1u) << r1->drops() << r2->drops();
  expect_restored6(whole, lan[0]);
  EXPECT_EQ(r1->drop_count(DropReason::ipv6_frag_duplicate), 1u);
}

// RFC 5722: a fragment overlapping held data drops the whole datagram; nothing leaves.
TEST_P(Svr6Frag, AnOverlapDropsTheDatagram) {
  open_session();
  const auto whole = client_udp(kPayload, 4);
  auto f = cut6(whole, kPiece, 78);
  auto overlap = cut6(whole, kPiece, 78)[1];
  put16(overlap.data() + 54 + 2, static_cast<uint16_t>((kPiece - 8) | 1));  // starts 8 bytes early
  EXPECT_TRUE(r1->send(kLan, f[0]).empty());
  EXPECT_TRUE(r1->send(kLan, overlap).empty());
  EXPECT_TRUE(r1->send(kLan, f[2]).empty());
  EXPECT_TRUE(r1->send(kLan, f[1]).empty()) << "the datagram is gone: a new one starts";
  EXPECT_EQ(r1->drop_count(DropReason::ipv6_frag_overlap), 1u);
  EXPECT_EQ(r1->count(Counter::ipv6_datagrams_reassembled), 0u);
}

// Not whole within the timeout: discarded by the sweep and counted; its late fragment starts over.
TEST_P(Svr6Frag, AnIncompleteDatagramTimesOut) {
  open_session();
  const auto f = cut6(client_udp(kPayload, 5), kPiece, 79);
  EXPECT_TRUE(r1->send(kLan, f[0]).empty());
  EXPECT_TRUE(r1->send(kLan, f[1]).empty());
  constexpr uint32_t kTurn = Svr6Reassembly::kSlots / Svr6Reassembly::kExpireBudget;
  r1->worker().set_now_ms(r1->worker().now_ms() + DatagramStore::kDefaultTimeoutMs - 1);
  for (uint32_t i = 0; i < kTurn; ++i) r1->idle();
  EXPECT_EQ(r1->drop_count(DropReason::ipv6_frag_timeout), 0u) << "not yet";
  r1->worker().set_now_ms(r1->worker().now_ms() + 1);
  for (uint32_t i = 0; i < kTurn; ++i) r1->idle();
  EXPECT_EQ(r1->drop_count(DropReason::ipv6_frag_timeout), 1u);
  EXPECT_TRUE(r1->send(kLan, f[2]).empty()) << "alone, it never completes";
}

// A flood of fragments that never complete takes the client /64's share of the table and no
// more; the session's packets go on, whole or (once the flood times out) in fragments.
TEST_P(Svr6Frag, AFragmentFloodDoesNotBreakAnEstablishedSession) {
  open_session();
  const auto bait = client_udp(kPayload, 6);
  for (uint32_t id = 1000; id < 1000 + Svr6Reassembly::kSlots; ++id)
    EXPECT_TRUE(r1->send(kLan, cut6(bait, kPiece, id)[0]).empty());
  // The client /64's share and no more (a datagram whose 4-way bucket is full is refused before its share ends).
  const uint64_t held = r1->count(Counter::ipv6_fragments_received);
  EXPECT_LE(held, Svr6Reassembly::kPerSource);
  EXPECT_GT(r1->drop_count(DropReason::ipv6_frag_source_limit), 0u);
  EXPECT_EQ(r1->drop_count(DropReason::ipv6_frag_source_limit) + r1->drop_count(DropReason::ipv6_frag_table_full),
            Svr6Reassembly::kSlots - held);
  const auto plain = client_udp(600, 7);
  expect_restored6(plain, r2->send_one(kWan, r1->send_one(kLan, plain).raw));
  const auto answer = server_udp(600, 8);
  expect_restored6(answer, r1->send_one(kWan, r2->send_one(kLan, answer).raw));
  // The flood's datagrams time out; a fragmented one gets through again.
  constexpr uint32_t kTurn = Svr6Reassembly::kSlots / Svr6Reassembly::kExpireBudget;
  r1->worker().set_now_ms(r1->worker().now_ms() + DatagramStore::kDefaultTimeoutMs);
  for (uint32_t i = 0; i < kTurn; ++i) r1->idle();
  EXPECT_EQ(r1->drop_count(DropReason::ipv6_frag_timeout), held);
  const auto whole = client_udp(kPayload, 10);
  const std::vector<Frame> lan = across(*r2, send_all(*r1, kLan, cut6(whole, kPiece, 5000)));
  ASSERT_EQ(lan.size(), 1u) << r1->drops() << r2->drops();
  expect_restored6(whole, lan[0]);
}

// Destination options (and the other extension headers) have no place in the carried form:
// refused at the ingress with their own reason, the session's other packets unaffected.
TEST_P(Svr6Frag, ExtensionHeadersAreRefusedAndCounted) {
  open_session();
  const auto opts =
      client_frame(Pkt6().ipv6(kV6Client, kV6Server, 64).dest_opts().udp(5354, 53).payload(payload_of(40, 11)));
  EXPECT_TRUE(r1->send(kLan, opts).empty());
  EXPECT_EQ(r1->drop_count(DropReason::svr6_ext_header), 1u);
  const auto hbh =
      client_frame(Pkt6().ipv6(kV6Client, kV6Server, 64).hop_by_hop().udp(5354, 53).payload(payload_of(40, 12)));
  EXPECT_TRUE(r1->send(kLan, hbh).empty());
  EXPECT_EQ(r1->drop_count(DropReason::svr6_ext_header), 2u);
  const auto plain = client_udp(40, 13);
  expect_restored6(plain, r2->send_one(kWan, r1->send_one(kLan, plain).raw));
}

INSTANTIATE_TEST_SUITE_P(BothWaypointKinds, Svr6Frag, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& i) { return i.param ? "Ipv6Waypoints" : "Ipv4Waypoints"; });

// The server's answer in fragments, larger than the client's LAN (MTU 1280): made whole at
// r2, carried, and sent to the client in IPv6 fragments by r1 (its sender fragmented it, so
// the egress may: RFC 7915 § 5.1.1's DF clear). Between IPv4 waypoints (docs/ipv6.md says
// why not yet between IPv6 waypoints).
class Svr6FragEgress : public Svr6Pair {
 protected:
  void SetUp() override {
    config::Config c1 = v6wp_config(true, false);
    c1.mutable_router()->mutable_lan()->set_mtu(kIpv6MinMtu);
    make(c1, v6wp_config(false, false));
  }
};

TEST_F(Svr6FragEgress, ALargerThanLanDatagramLeavesInIpv6Fragments) {
  const auto q = client_frame(Pkt6().ipv6(kV6Client, kV6Server, 64).udp(5354, 53).payload(payload_of(40, 1)));
  expect_restored6(q, r2->send_one(kWan, r1->send_one(kLan, q).raw));
  const auto whole = server_frame(Pkt6().ipv6(kV6Server, kV6Client, 64).udp(53, 5354).payload(payload_of(kPayload, 2)));
  const std::vector<Frame> out = across(*r1, send_all(*r2, kLan, cut6(whole, kPiece, 0x4242)));
  ASSERT_EQ(out.size(), 2u) << r1->drops() << r2->drops();
  std::map<uint32_t, std::vector<uint8_t>> parts;
  uint32_t id = 0;
  for (const Frame& f : out) {
    EXPECT_EQ(f.port, kLan);
    EXPECT_EQ(std::memcmp(f.raw.data(), kRouteClientMac.data(), 6), 0);
    EXPECT_LE(f.raw.size() - 14, kIpv6MinMtu) << "each within the LAN MTU";
    const Ipv6View v = parse_ipv6_packet(f.raw.data(), static_cast<uint32_t>(f.raw.size()), 14);
    ASSERT_EQ(v.status, Ipv6Status::fragment);
    EXPECT_EQ(v.src, ip6(kV6Server));
    EXPECT_EQ(v.dst, ip6(kV6Client));
    if (id == 0) id = v.frag.id;
    EXPECT_EQ(v.frag.id, id) << "one identification";
    parts[v.frag.offset].assign(f.raw.begin() + v.frag.header + 8, f.raw.begin() + v.end);
  }
  std::vector<uint8_t> l4;
  for (const auto& [off, bytes] : parts) {
    EXPECT_EQ(off, l4.size()) << "back to back";
    l4.insert(l4.end(), bytes.begin(), bytes.end());
  }
  EXPECT_TRUE(std::equal(l4.begin(), l4.end(), whole.begin() + 54, whole.end()) && l4.size() == whole.size() - 54)
      << "the server's UDP datagram byte-exact, its checksum with it";
  EXPECT_EQ(r1->count(Counter::svr6_fragments6_sent), 2u);
  EXPECT_EQ(r1->drop_count(DropReason::svr6_too_big), 0u);
  EXPECT_EQ(r2->count(Counter::ipv6_datagrams_reassembled), 1u);
}

}  // namespace
}  // namespace wp
