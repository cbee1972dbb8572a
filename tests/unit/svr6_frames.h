// Frame helpers the IPv6-over-SVR tests share (svr6_test.cc: IPv6 sessions
// between IPv4 waypoints; svr6v6_test.cc: between IPv6 waypoints;
// svr4v6_test.cc: IPv4 sessions between IPv6 waypoints).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "dataplane/ip/nat64_packet.h"
#include "dataplane/ip/ndp.h"
#include "dataplane/session/owner.h"
#include "dataplane/svr/metadata.h"
#include "tests/unit/eal_env.h"
#include "tests/unit/pkt6_builder.h"
#include "tests/unit/svr_harness.h"

namespace wp::test {

// `a` reachable at `mac` on interface `iface` (the neighbor cache, as after ND).
inline void learn6_on(Router& r, uint16_t iface, const Ipv6& a, const Mac& mac) {
  r.shared().neighbors6.begin(iface, a, 0);
  r.shared().neighbors6.advert(iface, a, mac.data(), kNaSolicited | kNaOverride, 0);
}

// An IPv4 frame a router put on its LAN: the sender's datagram byte for byte
// but the TTL (one less at each router), the header checksum, and the two
// fields the IPv6 header has no place for: the identification (0) and DF
// (set above 1260 bytes), as RFC 7915 § 5.1 translation sets them; between
// IPv4 waypoints (`over6` false) those two as the client sent them.
inline void expect_restored4(const std::vector<uint8_t>& sent, const Frame& got, bool over6 = true) {
  ASSERT_EQ(got.port, kLan);
  const Frame orig{sent};
  ASSERT_EQ(got.raw.size(), sent.size());
  EXPECT_EQ(got.ttl(), orig.ttl() - 2) << "one less at each router";
  EXPECT_TRUE(got.ip_checksum_ok());
  EXPECT_EQ(got.src(), orig.src());
  EXPECT_EQ(got.dst(), orig.dst());
  EXPECT_EQ(std::memcmp(got.ip4(), orig.ip4(), 4), 0) << "version, header length, TOS, total length";
  EXPECT_EQ(get16(got.ip4() + 4), over6 ? 0 : get16(orig.ip4() + 4)) << "identification";
  EXPECT_EQ(get16(got.ip4() + 6), !over6 ? get16(orig.ip4() + 6) : got.ip_total() > 1260 ? 0x4000 : 0)
      << "flags: DF above 1260 bytes between IPv6 waypoints";
  EXPECT_EQ(got.proto(), orig.proto());
  EXPECT_EQ(std::memcmp(got.l4(), orig.l4(), orig.l4_len()), 0) << "L4 header and data, checksum included";
}

// An IPv6 frame a router put on its LAN: the header from `sent` but the hop
// limit (one less at each router), the L4 header and data byte-exact, the checksum valid.
inline void expect_restored6(const std::vector<uint8_t>& sent, const Frame& got) {
  ASSERT_EQ(got.port, kLan);
  ASSERT_EQ(got.raw.size(), sent.size());
  const Ipv6View v = parse_ipv6_packet(got.raw.data(), static_cast<uint32_t>(got.raw.size()), 14);
  ASSERT_EQ(v.status, Ipv6Status::ok);
  EXPECT_EQ(v.hop_limit, sent[14 + 7] - 2) << "one less at each router";
  for (size_t i = 22; i < sent.size(); ++i)
    if (got.raw[i] != sent[i]) {
      ADD_FAILURE() << "first difference at byte " << i << " (addresses at 22, L4 at 54)";
      break;
    }
  const uint8_t* l4 = got.raw.data() + v.l4;
  std::vector<uint8_t> copy(l4, got.raw.data() + v.end);
  const uint16_t csum_at = v.proto == kProtoTcp ? 16 : v.proto == kProtoUdp ? 6 : 2;  // ICMPv6: 2
  copy[csum_at] = copy[csum_at + 1] = 0;
  EXPECT_EQ(get16(l4 + csum_at), l4_checksum6(v.src, v.dst, v.proto, copy.data(), static_cast<uint32_t>(copy.size())))
      << "L4 checksum";
}

// --- frames between IPv6 waypoints (svr6v6_test.cc, svr4v6_test.cc) ---

// The IPv6 WAN frame's L4 part behind an IPv4 header: what the harness's
// metadata and HMAC checks read (the HMAC never covers the IP header).
inline Frame l4_as_v4(const Frame& f6) {
  const Ipv6View v = parse_ipv6_packet(f6.raw.data(), static_cast<uint32_t>(f6.raw.size()), 14);
  const size_t l4_len = v.end - v.l4;
  Frame f;
  f.port = f6.port;
  f.raw.resize(14 + 20 + l4_len);
  uint8_t* d = f.raw.data();
  std::memcpy(d, f6.raw.data(), 12);
  put16(d + 12, kEtherTypeIpv4);
  d[14] = 0x45;
  put16(d + 16, static_cast<uint16_t>(20 + l4_len));
  d[14 + 8] = v.hop_limit;
  d[14 + 9] = v.proto;
  std::memcpy(d + 34, f6.raw.data() + v.l4, l4_len);
  return f;
}

// A WAN frame between the IPv6 waypoints: IPv6, no extension header, valid L4 checksum.
// `v4` receives the IPv4 form that `md`'s names and views point into: keep it
// while `md` is read.
inline MetadataStatus wan6_metadata(const Frame& f, const char* src, const char* dst, Metadata& md, Frame& v4) {
  EXPECT_EQ(f.port, kWan);
  EXPECT_EQ(get16(f.raw.data() + 12), kEtherTypeIpv6) << "IPv6 on the WAN";
  const Ipv6View v = parse_ipv6_packet(f.raw.data(), static_cast<uint32_t>(f.raw.size()), 14);
  EXPECT_EQ(v.status, Ipv6Status::ok);
  EXPECT_EQ(v.ext_headers, 0);
  EXPECT_EQ(v.src, ip6(src));
  EXPECT_EQ(v.dst, ip6(dst));
  EXPECT_TRUE(is_waypoint_port(v.sport) && is_waypoint_port(v.dport)) << v.sport << " -> " << v.dport;
  std::vector<uint8_t> l4(f.raw.data() + v.l4, f.raw.data() + v.end);
  const uint16_t at = v.proto == kProtoTcp ? 16 : 6;
  const uint16_t sent = get16(l4.data() + at);
  l4[at] = l4[at + 1] = 0;
  EXPECT_EQ(sent, l4_checksum6(v.src, v.dst, v.proto, l4.data(), static_cast<uint32_t>(l4.size()))) << "L4 checksum";
  v4 = l4_as_v4(f);
  return decode_metadata(v4.data(), v4.data_len(), md);
}

// `f6` with the L4 part of `f4` (edited and re-signed as IPv4), its IPv6 checksum recomputed.
inline Frame with_l4_of(const Frame& f6, const Frame& f4) {
  Frame out = f6;
  const Ipv6View v = parse_ipv6_packet(out.raw.data(), static_cast<uint32_t>(out.raw.size()), 14);
  std::memcpy(out.raw.data() + v.l4, f4.l4(), f4.l4_len());
  uint8_t* l4 = out.raw.data() + v.l4;
  const uint16_t at = v.proto == kProtoTcp ? 16 : 6;
  l4[at] = l4[at + 1] = 0;
  put16(l4 + at, l4_checksum6(v.src, v.dst, v.proto, l4, static_cast<uint32_t>(v.end - v.l4)));
  return out;
}

// --- IPv6 fragments between IPv6 waypoints (svr/fragments.h) ---

// `frags` are one datagram's IPv6 fragments from `src` to `dst` on the WAN, in
// order: each within `mtu`, no other extension header, one identification,
// offsets back to back, M on all but the last. Returns the datagram's payload length.
inline uint32_t expect_wan6_fragments(const std::vector<Frame>& frags, const char* src, const char* dst, uint32_t mtu) {
  uint32_t next = 0;
  for (size_t i = 0; i < frags.size(); ++i) {
    const Frame& f = frags[i];
    EXPECT_EQ(f.port, kWan);
    EXPECT_LE(f.raw.size() - 14, mtu) << "fragment " << i << " within the WAN MTU";
    const Ipv6View v = parse_ipv6_packet(f.raw.data(), static_cast<uint32_t>(f.raw.size()), 14);
    EXPECT_EQ(v.status, Ipv6Status::fragment) << "fragment " << i;
    EXPECT_EQ(v.ext_headers, 1) << "the Fragment header alone";
    EXPECT_EQ(v.src, ip6(src));
    EXPECT_EQ(v.dst, ip6(dst));
    EXPECT_EQ(v.frag.offset, next) << "fragment " << i;
    EXPECT_EQ(v.frag.more, i + 1 < frags.size()) << "fragment " << i;
    if (i + 1 < frags.size()) {
      EXPECT_EQ((v.end - v.frag.header - 8u) % 8u, 0u) << "8-byte multiples";
    }
    const Ipv6View first = parse_ipv6_packet(frags[0].raw.data(), static_cast<uint32_t>(frags[0].raw.size()), 14);
    EXPECT_EQ(v.frag.id, first.frag.id) << "one identification";
    next += v.end - v.frag.header - 8u;
  }
  return next;
}

// An IPv6 frame that a host with MAC `from` sends to `r`'s LAN port (interface 0), its
// upper-layer checksum valid.
inline std::vector<uint8_t> lan_frame6(const Router& r, const Mac& from, const Pkt6& p) {
  std::vector<uint8_t> f = v6_checksummed(p.bytes());
  std::memcpy(f.data(), r.model().interfaces[0].mac, 6);
  std::memcpy(f.data() + 6, from.data(), 6);
  return f;
}

// The sum of counter `c` over all of `r`'s workers.
inline uint64_t count_all(Router& r, Counter c) {
  uint64_t n = 0;
  for (size_t w = 0; w < r.workers(); ++w) n += r.worker(w).counters().get(c);
  return n;
}
inline uint64_t drops_all(Router& r, DropReason why) {
  uint64_t n = 0;
  for (size_t w = 0; w < r.workers(); ++w) n += r.worker(w).counters().get(why);
  return n;
}

// `f` received by worker `w` of `r`; then every worker drains its handoff rings
// twice (the datagram's worker, then the session's) and flushes.
inline void receive_on(Router& r, const Frame& f, uint32_t w) {
  rte_mbuf* m = Pkt::to_mbuf(test_pool(), f.raw, f.port);
  ASSERT_NE(m, nullptr);
  r.worker(w).receive(&m, 1);
  r.worker(w).flush();
  for (int round = 0; round < 2; ++round)
    for (size_t k = 0; k < r.workers(); ++k) {
      r.worker(k).drain_handoff();
      r.worker(k).flush();
    }
}

}  // namespace wp::test
