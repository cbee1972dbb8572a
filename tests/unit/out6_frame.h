// An IPv6 frame a router under test sent, read back (the IPv6 side of
// pkt_builder.h's Frame): its header walk, the upper layer, and the
// upper-layer checksum recomputed over the IPv6 pseudo-header
// (nat64_worker_test.cc, nat46_worker_test.cc, route6_worker_test.cc).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "dataplane/ip/ipv6.h"
#include "tests/unit/pkt_builder.h"

namespace wp::test {

struct Out6 {
  std::vector<uint8_t> raw;
  Ipv6View v;
  explicit Out6(const Frame& f) : raw(f.raw), v(parse_ipv6_packet(raw.data(), static_cast<uint32_t>(raw.size()), 14)) {}
  const uint8_t* l4() const { return raw.data() + v.l4; }
  uint32_t l4_len() const { return v.end - v.l4; }
  std::string payload_string() const {
    return {reinterpret_cast<const char*>(raw.data() + v.payload), v.payload_len()};
  }
  // The upper-layer checksum over the IPv6 pseudo-header, recomputed.
  bool checksum_ok() const {
    uint8_t pseudo[40] = {};
    std::memcpy(pseudo, raw.data() + 14 + 8, 32);
    put32(pseudo + 32, l4_len());
    pseudo[39] = v.proto;
    return ones_fold(ones_sum(pseudo, 40) + ones_sum(l4(), l4_len())) == 0xffff;
  }
};

}  // namespace wp::test
