// ICMPv4 errors carried through IPv4 SVR sessions, for tests (docs/svr-wire-format.md
// § ICMP errors through the session, TLV 20; svr_icmp_error_test.cc, svr6_transit_test.cc):
// the error a node on the egress's LAN sends about a restored packet, and the checks of what
// reaches the client at the end of the session.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "dataplane/ip/icmp.h"
#include "tests/unit/svr_harness.h"

namespace wp::test {

// An ICMPv4 error `type`/`code` (bytes 4-7 `rest`) from `from` to `to` about `restored` (the
// egress's LAN frame, quoted up to 548 bytes as RFC 1812 routers do), as it reaches the egress's
// LAN port: Ethernet `dst_mac` <- `src_mac`.
inline std::vector<uint8_t> icmp4_error_frame(const Mac& dst_mac, const Mac& src_mac, Ipv4 from, Ipv4 to, uint8_t type,
                                              uint8_t code, uint32_t rest, const Frame& restored) {
  std::vector<uint8_t> msg = {type, code, 0, 0, 0, 0, 0, 0};
  put32(msg.data() + 4, rest);
  const size_t quoted = std::min<size_t>(restored.raw.size() - 14, 548);
  msg.insert(msg.end(), restored.raw.begin() + 14, restored.raw.begin() + 14 + static_cast<long>(quoted));
  put16(msg.data() + 2, ones_fold(ones_sum(msg.data(), msg.size())) ^ 0xffff);
  // Built as another protocol (the builder would write an echo header), then made ICMP.
  std::vector<uint8_t> f = Pkt().eth(dst_mac, src_mac).ipv4(from, to).proto(253).payload(msg).bytes();
  f[14 + 9] = Pkt::kIcmp;
  put16(f.data() + 14 + 10, 0);
  put16(f.data() + 14 + 10, static_cast<uint16_t>(~ones_fold(ones_sum(f.data() + 14, 20))));
  return f;
}

// The ICMPv4 message at `icmp` (`len` bytes) is `type`/`code` with bytes 4-7 `rest`, checksums
// valid, quoting the IPv4 header at `sent_ip` (a 20-byte one: its addresses, protocol, length,
// the TTL as it was sent on) and its first 8 bytes of L4 header only.
inline void expect_icmp4_quote(const uint8_t* icmp, size_t len, const uint8_t* sent_ip, uint8_t type, uint8_t code,
                               uint32_t rest) {
  ASSERT_EQ(len, 8u + 20u + 8u) << "the IPv4 header and 8 bytes of L4 header, no data";
  EXPECT_EQ(ones_fold(ones_sum(icmp, len)), 0xffff) << "ICMP checksum";
  EXPECT_EQ(icmp[0], type);
  EXPECT_EQ(icmp[1], code);
  EXPECT_EQ(get32(icmp + 4), rest);
  const uint8_t* q = icmp + 8;
  EXPECT_EQ(ones_fold(ones_sum(q, 20)), 0xffff) << "quoted header checksum";
  EXPECT_EQ(std::memcmp(q + 12, sent_ip + 12, 8), 0) << "the sender's own addresses";
  EXPECT_EQ(q[9], sent_ip[9]);
  EXPECT_EQ(get16(q + 2), get16(sent_ip + 2)) << "its length";
  EXPECT_EQ(std::memcmp(q + 20, sent_ip + 20, 8), 0) << "its ports and (TCP) sequence number / (UDP) length, checksum";
}

// `f` is that error from `from` to the client, on the ingress's LAN to the client's MAC, about
// the client's `sent`.
inline void expect_icmp4_to_client(const Frame& f, const std::vector<uint8_t>& sent, Ipv4 from, uint8_t type,
                                   uint8_t code, uint32_t rest) {
  EXPECT_EQ(f.port, kLan);
  EXPECT_EQ(std::memcmp(f.dst_mac(), kClientMac.data(), 6), 0) << "to the client's MAC";
  EXPECT_EQ(f.src(), from);
  EXPECT_EQ(f.dst(), kClient);
  ASSERT_EQ(f.proto(), Pkt::kIcmp);
  EXPECT_TRUE(f.ip_checksum_ok());
  expect_icmp4_quote(f.l4(), f.l4_len(), sent.data() + 14, type, code, rest);
}

}  // namespace wp::test
