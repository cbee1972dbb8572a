// Frame helpers the IPv6-over-SVR tests share (svr6_test.cc: IPv6 sessions
// between IPv4 waypoints; svr6v6_test.cc: between IPv6 waypoints).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "dataplane/ip/nat64_packet.h"
#include "tests/unit/pkt6_builder.h"
#include "tests/unit/svr_harness.h"

namespace wp::test {

// `a` reachable at `mac` on interface `iface` (the neighbor cache, as after ND).
inline void learn6_on(Router& r, uint16_t iface, const Ipv6& a, const Mac& mac) {
  r.shared().neighbors6.begin(iface, a, 0);
  r.shared().neighbors6.advert(iface, a, mac.data(), kNaSolicited | kNaOverride, 0);
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
  const uint16_t csum_at = v.proto == kProtoTcp ? 16 : 6;
  copy[csum_at] = copy[csum_at + 1] = 0;
  EXPECT_EQ(get16(l4 + csum_at), l4_checksum6(v.src, v.dst, v.proto, copy.data(), static_cast<uint32_t>(copy.size())))
      << "L4 checksum";
}

}  // namespace wp::test
