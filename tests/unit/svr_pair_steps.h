// What the tests of sessions between the r1/r2 pair (svr_harness.h) share, IPv4
// (svr_icmp_error_test.cc) and IPv6 (svr6_pair.h, svr6_test.cc,
// svr6_icmp_error_test.cc): r2's web and dns services, a frame carried from one
// router's LAN across the WAN to the other, a carrier edited and signed again
// (a peer that builds them wrongly), a metadata block that no longer tiles.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "tests/unit/svr_harness.h"

namespace wp::test {

// r2's services "web<suffix>" (TCP 80) and "dns<suffix>" (UDP 53) on `prefix`, r1
// reaching them through r2, both allowed for `tenant`.
inline void add_web_and_dns(config::Config& c, bool r1, const char* prefix, const std::string& tenant,
                            const std::string& suffix = "") {
  const std::string web = "web" + suffix, dns = "dns" + suffix;
  add_service(c, {web.c_str(), prefix, "tcp", "80", r1 ? "r2" : ""});
  add_service(c, {dns.c_str(), prefix, "udp", "53", r1 ? "r2" : ""});
  add_policy(c, tenant, web, "");
  add_policy(c, tenant, dns, "");
}

// `frame` into `from`'s LAN: the one frame `to` sends for what `from` put on its WAN.
inline Frame via_wan(Router& from, Router& to, const std::vector<uint8_t>& frame) {
  const Frame wan = from.send_one(kLan, frame);
  EXPECT_EQ(wan.port, kWan) << from.drops();
  return to.send_one(kWan, wan.raw);
}

// `carrier` with byte `at` set to `value`, signed again with the pair key.
inline std::vector<uint8_t> edited_and_signed(const Frame& carrier, size_t at, uint8_t value) {
  Frame f = carrier;
  f.raw[at] = value;
  resign(f, kKey12);
  return f.raw;
}

// In the metadata block `md` (a WAN frame's UDP data: its header, then TLVs from byte 12),
// TLV `type` claims one byte less, so the block no longer tiles. False: no TLV `type`.
inline bool shorten_tlv(uint8_t* md, uint16_t type) {
  const size_t end = (get16(md + 8) & 0x0fffu) + get16(md + 10);
  for (size_t pos = 12; pos + 4 <= end; pos += 4 + get16(md + pos + 2))
    if (get16(md + pos) == type) {
      put16(md + pos + 2, static_cast<uint16_t>(get16(md + pos + 2) - 1));
      return true;
    }
  return false;
}

}  // namespace wp::test
