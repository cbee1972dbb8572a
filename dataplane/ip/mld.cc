// MLDv2 Reports and Queries (RFC 3810; see mld.h).
#include "dataplane/ip/mld.h"

#include <cstring>

#include "dataplane/ip/packet.h"

namespace wp {
namespace {

constexpr uint8_t kNextHopByHop = 0;
constexpr uint8_t kOptPad1 = 0, kOptPadN = 1, kOptRouterAlert = 5;
constexpr uint16_t kRouterAlertMld = 0;

}  // namespace

uint16_t write_mld2_report(uint8_t* f, const uint8_t our_mac[6], const Ipv6& src, std::span<const MldRecord> records) {
  const size_t n = records.size() < kMld2MaxRecords ? records.size() : kMld2MaxRecords;
  const uint16_t icmp_len = static_cast<uint16_t>(kMld2ReportFixedLen + kMld2RecordLen * n);
  uint8_t dst_mac[6];
  multicast_mac_of(kAllMldv2Routers, dst_mac);
  write_nd_headers(f, dst_mac, our_mac, src, kAllMldv2Routers, static_cast<uint16_t>(kMldHbhLen + icmp_len));
  uint8_t* ip = f + kEthHdrLen;
  ip[6] = kNextHopByHop;
  ip[7] = 1;  // link-local only (RFC 3810 § 5)
  uint8_t* hbh = ip + kIpv6HdrLen;
  // Next header ICMPv6, length 0 (8 bytes), Router Alert (MLD), PadN of no data.
  const uint8_t hbh_bytes[kMldHbhLen] = {kProtoIcmpv6, 0, kOptRouterAlert, 2, 0, 0, kOptPadN, 0};
  std::memcpy(hbh, hbh_bytes, kMldHbhLen);
  uint8_t* icmp = hbh + kMldHbhLen;
  std::memset(icmp, 0, icmp_len);
  icmp[0] = kMld2Report;
  store_be16(icmp + 6, static_cast<uint16_t>(n));
  for (size_t i = 0; i < n; ++i) {
    uint8_t* r = icmp + kMld2ReportFixedLen + kMld2RecordLen * i;
    r[0] = static_cast<uint8_t>(records[i].type);  // aux data length and source count stay 0
    store_ipv6(r + 4, records[i].group);
  }
  store_be16(icmp + 2, icmpv6_checksum(src, kAllMldv2Routers, icmp, icmp_len));
  return static_cast<uint16_t>(kEthHdrLen + kIpv6HdrLen + kMldHbhLen + icmp_len);
}

bool has_mld_router_alert(const uint8_t* ip6, uint32_t len) {
  if (len < kIpv6HdrLen + 8 || ip6[6] != kNextHopByHop) return false;
  const uint8_t* h = ip6 + kIpv6HdrLen;
  const uint32_t hlen = (h[1] + 1u) * 8u;
  if (kIpv6HdrLen + hlen > len) return false;
  for (uint32_t i = 2; i < hlen;) {
    if (h[i] == kOptPad1) {
      ++i;
      continue;
    }
    if (i + 2 > hlen || i + 2 + h[i + 1] > hlen) return false;
    if (h[i] == kOptRouterAlert && h[i + 1] == 2 && load_be16(h + i + 2) == kRouterAlertMld) return true;
    i += 2 + h[i + 1];
  }
  return false;
}

uint32_t mld2_max_response_delay_ms(uint16_t code) {
  if (code < 0x8000) return code;
  const uint32_t mant = code & 0x0fff, exp = (code >> 12) & 0x7;
  return (mant | 0x1000) << (exp + 3);
}

MldQueryStatus parse_mld_query(const uint8_t* ip6, uint32_t ip6_len, const uint8_t* icmp, uint32_t len,
                               MldQuery& out) {
  if (!load_ipv6(ip6 + 8).is_link_local()) return MldQueryStatus::bad_source;
  if (ip6[7] != 1) return MldQueryStatus::bad_hop_limit;
  if (!has_mld_router_alert(ip6, ip6_len)) return MldQueryStatus::no_router_alert;
  if (len < kMld1QueryLen || (len > kMld1QueryLen && len < kMld2QueryMinLen)) return MldQueryStatus::malformed;
  out.v1 = len == kMld1QueryLen;
  if (!out.v1 && len < kMld2QueryMinLen + 16u * load_be16(icmp + 26)) return MldQueryStatus::malformed;
  out.group = load_ipv6(icmp + 8);
  if (!out.group.is_unspecified() && !out.group.is_multicast()) return MldQueryStatus::malformed;
  const uint16_t code = load_be16(icmp + 4);
  out.max_delay_ms = out.v1 ? code : mld2_max_response_delay_ms(code);
  return MldQueryStatus::ok;
}

}  // namespace wp
