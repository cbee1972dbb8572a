// IPv6 reassembly (ip/ipv6_reassembly.h) over the shared DatagramStore:
// whole datagrams back byte for byte (per-fragment headers kept, the fragment
// header gone), overlaps dropping the datagram (RFC 5722), duplicates alone,
// atomic fragments left out (RFC 6946), tiny first fragments refused before
// the table (RFC 7112), the key, the /64 source bound, limits and timeouts.
#include "dataplane/ip/ipv6_reassembly.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "dataplane/ip/packet.h"
#include "tests/unit/pkt6_builder.h"

namespace wp {
namespace {

using test::Pkt6;

constexpr const char* kSrc = "2001:db8:1::5";
constexpr const char* kDst = "2001:db8:2::10";

// The datagram the fragments are cut from: a hop-by-hop header (per-fragment),
// then UDP with `payload` bytes (byte i = i * 7).
std::vector<uint8_t> original(uint32_t payload, const char* src = kSrc) {
  std::vector<uint8_t> data(payload);
  for (uint32_t i = 0; i < payload; ++i) data[i] = static_cast<uint8_t>(i * 7);
  return Pkt6().ipv6(src, kDst).hop_by_hop().udp(4000, 53).payload(data).datagram();
}

// One fragment frame of `whole` (from original()): fragmentable bytes [off, off + len).
struct Frag {
  std::vector<uint8_t> frame;
  Ipv6View view;
};
Frag cut(const std::vector<uint8_t>& whole, uint32_t id, uint32_t off, uint32_t len, const char* src = kSrc) {
  const uint32_t part = 40 + 8;  // IPv6 header + hop-by-hop
  std::vector<uint8_t> bytes(whole.begin() + part + off, whole.begin() + part + off + len);
  bool more = part + off + len < whole.size();
  Frag f;
  f.frame = Pkt6().ipv6(src, kDst).hop_by_hop().fragment(static_cast<uint16_t>(off), more, id).l4(kProtoUdp, bytes)
                .bytes();
  f.view = parse_ipv6_packet(f.frame.data(), static_cast<uint32_t>(f.frame.size()), kEthHdrLen);
  return f;
}
ReassemblyResult add(Ipv6ReassemblyTable& t, const Frag& f, uint32_t now = 0) {
  return t.add(f.frame.data(), f.view, now);
}
void expect_whole(Ipv6ReassemblyTable& t, const std::vector<uint8_t>& whole, uint32_t left = 0) {
  std::vector<uint8_t> out(8192);
  size_t n = t.take(out.data(), out.size());
  out.resize(n);
  EXPECT_EQ(out, whole);
  EXPECT_EQ(t.in_use(), left);
  Ipv6View v = parse_ipv6_packet(out.data(), static_cast<uint32_t>(out.size()), 0);
  EXPECT_EQ(v.status, Ipv6Status::ok);
  EXPECT_EQ(v.proto, kProtoUdp);
}

TEST(Ipv6Reassembly, InOrderGivesTheOriginalBack) {
  auto whole = original(2992);  // 3000 fragmentable bytes with the UDP header
  Ipv6ReassemblyTable t(16);
  ASSERT_EQ(cut(whole, 1, 0, 1448).view.status, Ipv6Status::fragment);
  EXPECT_EQ(add(t, cut(whole, 1, 0, 1448)), ReassemblyResult::pending);
  EXPECT_EQ(add(t, cut(whole, 1, 1448, 1448)), ReassemblyResult::pending);
  EXPECT_EQ(add(t, cut(whole, 1, 2896, 104)), ReassemblyResult::complete);
  expect_whole(t, whole);
  EXPECT_EQ(t.last_largest_fragment(), 40 + 8 + 8 + 1448);
}

TEST(Ipv6Reassembly, ReversedAndInterleaved) {
  auto a = original(1000), b = original(200);
  Ipv6ReassemblyTable t(16);
  EXPECT_EQ(add(t, cut(a, 7, 504, 504)), ReassemblyResult::pending);  // the last first
  EXPECT_EQ(add(t, cut(b, 8, 104, 104)), ReassemblyResult::pending);
  EXPECT_EQ(add(t, cut(a, 7, 0, 504)), ReassemblyResult::complete);
  expect_whole(t, a, 1);
  EXPECT_EQ(add(t, cut(b, 8, 0, 104)), ReassemblyResult::complete);
  expect_whole(t, b);
}

TEST(Ipv6Reassembly, OverlapDropsTheWholeDatagram) {
  auto whole = original(200);  // 208 fragmentable bytes
  Ipv6ReassemblyTable t(16);
  EXPECT_EQ(add(t, cut(whole, 1, 0, 104)), ReassemblyResult::pending);
  EXPECT_EQ(add(t, cut(whole, 1, 96, 112)), ReassemblyResult::overlap);  // RFC 5722
  EXPECT_EQ(t.in_use(), 0u);
  // What comes after the overlap starts afresh; it cannot complete from the dropped data.
  EXPECT_EQ(add(t, cut(whole, 1, 104, 104)), ReassemblyResult::pending);
  EXPECT_EQ(t.in_use(), 1u);
}

TEST(Ipv6Reassembly, DuplicateIsDroppedAlone) {
  auto whole = original(200);
  Ipv6ReassemblyTable t(16);
  EXPECT_EQ(add(t, cut(whole, 1, 0, 104)), ReassemblyResult::pending);
  EXPECT_EQ(add(t, cut(whole, 1, 0, 104)), ReassemblyResult::duplicate);
  EXPECT_EQ(add(t, cut(whole, 1, 104, 104)), ReassemblyResult::complete);
  expect_whole(t, whole);
}

TEST(Ipv6Reassembly, AtomicFragmentNeverJoinsADatagram) {
  auto whole = original(200);
  Ipv6ReassemblyTable t(16);
  EXPECT_EQ(add(t, cut(whole, 9, 0, 104)), ReassemblyResult::pending);
  // Same id, offset 0, M clear: a whole packet of its own (RFC 6946).
  auto atomic = Pkt6().ipv6(kSrc, kDst).fragment(0, false, 9).udp(1, 2).payload("x").bytes();
  Ipv6View v = parse_ipv6_packet(atomic.data(), static_cast<uint32_t>(atomic.size()), kEthHdrLen);
  ASSERT_EQ(v.status, Ipv6Status::ok);
  EXPECT_EQ(t.add(atomic.data(), v, 0), ReassemblyResult::not_fragment);
  EXPECT_EQ(add(t, cut(whole, 9, 104, 104)), ReassemblyResult::complete);
  expect_whole(t, whole);
  // Neither is a packet without a fragment header.
  auto plain = Pkt6().udp(1, 2).bytes();
  Ipv6View pv = parse_ipv6_packet(plain.data(), static_cast<uint32_t>(plain.size()), kEthHdrLen);
  EXPECT_EQ(t.add(plain.data(), pv, 0), ReassemblyResult::not_fragment);
}

// RFC 7112: the walk refuses a first fragment without the upper-layer header,
// so the table never sees it and the rest of the datagram times out.
TEST(Ipv6Reassembly, TinyFirstFragmentIsRefusedAndTheRestTimesOut) {
  auto whole = original(200);
  Frag tiny = cut(whole, 3, 0, 8);
  tiny.frame.resize(tiny.frame.size() - 4);  // 4 bytes of UDP header
  tiny.frame[19] = static_cast<uint8_t>(tiny.frame[19] - 4);
  Ipv6View v = parse_ipv6_packet(tiny.frame.data(), static_cast<uint32_t>(tiny.frame.size()), kEthHdrLen);
  EXPECT_EQ(v.status, Ipv6Status::first_fragment_short);
  Ipv6ReassemblyTable t(16, 1000);
  EXPECT_EQ(t.add(tiny.frame.data(), v, 0), ReassemblyResult::not_fragment);
  EXPECT_EQ(add(t, cut(whole, 3, 8, 200), 0), ReassemblyResult::pending);
  EXPECT_EQ(t.expire(999, t.capacity()), 0u);
  EXPECT_EQ(t.expire(1000, t.capacity()), 1u);
  EXPECT_EQ(t.in_use(), 0u);
}

TEST(Ipv6Reassembly, MalformedTooBigAndTooMany) {
  auto whole = original(4200);
  Ipv6ReassemblyTable t(16);
  EXPECT_EQ(add(t, cut(whole, 1, 0, 100)), ReassemblyResult::malformed);  // M set, not a multiple of 8
  EXPECT_EQ(add(t, cut(whole, 2, 4000, 200)), ReassemblyResult::too_big);
  uint32_t n = Ipv6ReassemblyTable::kMaxFragments;
  for (uint32_t i = 0; i < n; ++i) ASSERT_EQ(add(t, cut(whole, 3, 8 * i, 8)), ReassemblyResult::pending) << i;
  EXPECT_EQ(add(t, cut(whole, 3, 8 * n, 8)), ReassemblyResult::too_many);
  EXPECT_EQ(t.in_use(), 0u);
  // Whole but larger than the caller's buffer: refused, slot freed.
  auto small = original(200);
  add(t, cut(small, 4, 0, 104));
  ASSERT_EQ(add(t, cut(small, 4, 104, 104)), ReassemblyResult::complete);
  std::vector<uint8_t> out(100);
  EXPECT_EQ(t.take(out.data(), out.size()), 0u);
  EXPECT_EQ(t.in_use(), 0u);
}

TEST(Ipv6Reassembly, KeyIsSourceDestinationAndId) {
  auto a = original(200), b = original(200, "2001:db8:1::6");
  Ipv6ReassemblyTable t(16);
  EXPECT_EQ(add(t, cut(a, 5, 0, 104)), ReassemblyResult::pending);
  EXPECT_EQ(add(t, cut(b, 5, 104, 104, "2001:db8:1::6")), ReassemblyResult::pending);  // another source
  EXPECT_EQ(add(t, cut(a, 6, 104, 104)), ReassemblyResult::pending);                  // another id
  EXPECT_EQ(t.in_use(), 3u);
  EXPECT_EQ(add(t, cut(a, 5, 104, 104)), ReassemblyResult::complete);
  expect_whole(t, a, 2);
}

// One host holds a whole /64: a flood from any of its addresses shares one
// bound, and another /64 still reassembles.
TEST(Ipv6Reassembly, FloodFromOneSlash64IsBoundedAsOneSource) {
  Ipv6ReassemblyTable t(256, 2000, 0, HashSecret{11, 12});
  auto whole = original(200);
  uint32_t held = 0, limited = 0;
  for (uint32_t i = 0; i < 2000; ++i) {
    std::string src = "2001:db8:bad:1:" + std::to_string(i % 9000 + 1) + "::1";
    ReassemblyResult r = add(t, cut(whole, i, 0, 104, src.c_str()));
    held += r == ReassemblyResult::pending;
    limited += r == ReassemblyResult::source_limit;
  }
  EXPECT_EQ(held, t.per_source());
  EXPECT_GT(limited, 1900u);
  // Other /64s, each with a datagram in two fragments, out of order. Sources
  // are counted in keyed-hash cells (256 here), so one in a few dozen may share
  // the flooder's cell and be refused with it; none finds the table full.
  uint32_t completed = 0;
  for (uint32_t host = 1; host <= 64; ++host) {
    std::string src = "2001:db8:" + std::to_string(host) + "::1";
    auto w = original(200, src.c_str());
    ReassemblyResult r = add(t, cut(w, host, 104, 104, src.c_str()));
    if (r == ReassemblyResult::source_limit) continue;
    ASSERT_EQ(r, ReassemblyResult::pending) << host;
    ASSERT_EQ(add(t, cut(w, host, 0, 104, src.c_str())), ReassemblyResult::complete) << host;
    expect_whole(t, w, held);
    ++completed;
  }
  EXPECT_GE(completed, 60u);
}

TEST(Ipv6Reassembly, TimeoutOnReuseIsCounted) {
  auto whole = original(200);
  Ipv6ReassemblyTable t(4, 1000);  // one bucket
  EXPECT_EQ(add(t, cut(whole, 1, 0, 104), 0), ReassemblyResult::pending);
  EXPECT_EQ(add(t, cut(whole, 1, 104, 104), 1500), ReassemblyResult::pending);  // the old half was reclaimed
  EXPECT_EQ(t.take_timeouts(), 1u);
  EXPECT_EQ(t.in_use(), 1u);
}

}  // namespace
}  // namespace wp
