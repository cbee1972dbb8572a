// Checks of an ICMPv6 error a router originated (ip/icmp.h build_icmp6_error;
// nat64_worker_test.cc, svr6_ptb_test.cc; relayed ones: svr6_icmp_error_test.cc, svr6_icmp6_test.cc): RFC 4443 § 2.2 addresses, its type,
// code and bytes 4-7, a valid checksum, the whole within 1280 bytes, quoting
// the start of the offending packet as it was received.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "dataplane/ip/icmp.h"
#include "dataplane/ip/ipv6.h"
#include "tests/unit/pkt6_builder.h"
#include "tests/unit/svr_harness.h"

namespace wp::test {

// `f` is an ICMPv6 error `type` (code 0, bytes 4-7 `rest`) from `from` to `to` about `sent`
// (a frame: 14 bytes of Ethernet, then the offending IPv6 packet).
inline void expect_icmp6_error(const Frame& f, const std::vector<uint8_t>& sent, const Ipv6& from, const Ipv6& to,
                               uint8_t type, uint32_t rest) {
  const Ipv6View v = parse_ipv6_packet(f.raw.data(), static_cast<uint32_t>(f.raw.size()), 14);
  ASSERT_EQ(v.status, Ipv6Status::ok);
  EXPECT_EQ(v.src, from);
  EXPECT_EQ(v.dst, to);
  ASSERT_EQ(v.proto, kProtoIcmpv6);
  EXPECT_EQ(v.hop_limit, kIcmp6ErrorHopLimit);
  const uint8_t* icmp = f.raw.data() + v.l4;
  const uint32_t len = v.end - v.l4;
  EXPECT_EQ(icmp[0], type);
  EXPECT_EQ(icmp[1], 0);
  EXPECT_EQ(get32(icmp + 4), rest);
  std::vector<uint8_t> zeroed(icmp, icmp + len);
  zeroed[2] = zeroed[3] = 0;
  EXPECT_EQ(get16(icmp + 2), l4_checksum6(v.src, v.dst, kProtoIcmpv6, zeroed.data(), len)) << "ICMPv6 checksum";
  EXPECT_LE(f.raw.size() - 14, kIcmp6ErrorMax);
  const size_t quoted = std::min<size_t>(sent.size() - 14, kIcmp6ErrorMax - 48);
  ASSERT_EQ(len, 8 + quoted);
  EXPECT_EQ(std::memcmp(icmp + 8, sent.data() + 14, quoted), 0) << "the offending packet, as received";
}

// `f` is an ICMPv6 error that an SVR session carried (svr6_icmp_error_test.cc): `type`/`code`
// (bytes 4-7 `rest`) from `from` to `to`, its checksum valid, quoting the IPv6 header of `sent`
// (a frame; the hop limit as any router saw it) and its first `l4_quoted` bytes of L4 header,
// nothing more.
inline void expect_relayed(const Frame& f, const std::vector<uint8_t>& sent, const Ipv6& from, const Ipv6& to, uint8_t type,
                    uint8_t code, uint32_t rest, uint32_t l4_quoted) {
  const Ipv6View v = parse_ipv6_packet(f.raw.data(), static_cast<uint32_t>(f.raw.size()), 14);
  ASSERT_EQ(v.status, Ipv6Status::ok);
  EXPECT_EQ(v.src, from);
  EXPECT_EQ(v.dst, to);
  ASSERT_EQ(v.proto, kProtoIcmpv6);
  const uint8_t* icmp = f.raw.data() + v.l4;
  const uint32_t len = v.end - v.l4;
  EXPECT_EQ(icmp[0], type);
  EXPECT_EQ(icmp[1], code);
  EXPECT_EQ(get32(icmp + 4), rest);
  std::vector<uint8_t> zeroed(icmp, icmp + len);
  zeroed[2] = zeroed[3] = 0;
  EXPECT_EQ(get16(icmp + 2), l4_checksum6(v.src, v.dst, kProtoIcmpv6, zeroed.data(), len)) << "ICMPv6 checksum";
  ASSERT_EQ(len, 8 + 40 + l4_quoted) << "the headers of the packet, no data";
  EXPECT_EQ(std::memcmp(icmp + 8, sent.data() + 14, 7), 0) << "version, class, flow, length, next header";
  EXPECT_EQ(std::memcmp(icmp + 16, sent.data() + 22, 32 + l4_quoted), 0) << "the host's addresses and L4 header";
}

}  // namespace wp::test
