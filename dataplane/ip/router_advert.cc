// Router Advertisements and Solicitations; see router_advert.h.
#include "dataplane/ip/router_advert.h"

#include <algorithm>
#include <cstring>

#include "dataplane/ip/packet.h"

namespace wp {

RsStatus parse_router_solicit(const uint8_t* icmp, uint32_t len, const Ipv6& src, uint8_t hop_limit,
                              NdMessage& out) {
  constexpr uint32_t kRsBodyLen = 8;  // type, code, checksum, reserved
  if (hop_limit != kNdHopLimit) return RsStatus::bad_hop_limit;
  if (len < kRsBodyLen || icmp[1] != 0) return RsStatus::malformed;
  out.type = icmp[0];
  if (!read_nd_options(icmp + kRsBodyLen, len - kRsBodyLen, kNdOptSourceLla, out)) return RsStatus::malformed;
  if (src.is_unspecified() && out.has_lla) return RsStatus::bad_source;
  return RsStatus::ok;
}

uint16_t write_router_advert(uint8_t* frame, const uint8_t our_mac[6], const Ipv6& link_local, const RaSettings& s,
                             uint16_t router_lifetime_s, uint32_t mtu, std::span<const Ipv6Prefix> prefixes) {
  const size_t n = std::min(prefixes.size(), kRaMaxPrefixes);
  const uint16_t len = static_cast<uint16_t>(kRaHeaderLen + 8 + (s.mtu_option ? 8 : 0) + n * kRaPrefixOptLen);
  uint8_t dst_mac[6];
  multicast_mac_of(kAllNodes, dst_mac);
  uint8_t* icmp = frame + write_nd_headers(frame, dst_mac, our_mac, link_local, kAllNodes, len);
  std::memset(icmp, 0, len);
  icmp[0] = kNdRouterAdvert;
  icmp[4] = kRaCurHopLimit;
  icmp[5] = static_cast<uint8_t>((s.managed ? kRaManaged : 0) | (s.other ? kRaOther : 0));
  store_be16(icmp + 6, router_lifetime_s);
  // Reachable Time and Retrans Timer stay 0: unspecified by this router (§ 6.2.1).
  uint8_t* o = icmp + kRaHeaderLen;
  o[0] = kNdOptSourceLla;
  o[1] = 1;
  std::memcpy(o + 2, our_mac, 6);
  o += 8;
  if (s.mtu_option) {
    o[0] = kNdOptMtu;
    o[1] = 1;
    store_be32(o + 4, mtu);
    o += 8;
  }
  for (size_t i = 0; i < n; ++i, o += kRaPrefixOptLen) {
    o[0] = kNdOptPrefixInfo;
    o[1] = kRaPrefixOptLen / 8;
    o[2] = prefixes[i].len;
    o[3] = static_cast<uint8_t>(kPrefixOnLink | (prefixes[i].len == 64 ? kPrefixAutonomous : 0));
    store_be32(o + 4, s.valid_lifetime_s);
    store_be32(o + 8, s.preferred_lifetime_s);
    store_ipv6(o + 16, prefixes[i].addr);
  }
  store_be16(icmp + 2, icmpv6_checksum(link_local, kAllNodes, icmp, len));
  return static_cast<uint16_t>(kEthHdrLen + kIpv6HdrLen + len);
}

uint32_t RaSchedule::random_below(uint32_t n) {
  rng_ ^= rng_ << 13;  // xorshift64
  rng_ ^= rng_ >> 7;
  rng_ ^= rng_ << 17;
  return n ? static_cast<uint32_t>(rng_ % n) : 0;
}

uint32_t RaSchedule::not_before(uint32_t t) const {
  // `t` is never before the last RA: the unsigned distance stays right however long ago it
  // was (a signed one would call an RA of 25 days ago "in the future" and hold the next for weeks).
  if (!ever_sent_ || t - last_ms_ >= kMinDelayBetweenMs) return t;
  return last_ms_ + kMinDelayBetweenMs;
}

void RaSchedule::start(uint32_t now_ms, uint32_t min_interval_ms, uint32_t max_interval_ms, uint64_t seed) {
  min_ms_ = min_interval_ms;
  max_ms_ = std::max(max_interval_ms, min_interval_ms);
  rng_ = seed | 1;
  sent_ = 0;
  next_ms_ = not_before(now_ms);
}

void RaSchedule::sent(uint32_t now_ms) {
  last_ms_ = now_ms;
  ever_sent_ = true;
  ++sent_;
  uint32_t interval = min_ms_ + random_below(max_ms_ - min_ms_ + 1);
  if (sent_ < kMaxInitialAdverts) interval = std::min(interval, kMaxInitialIntervalMs);  // § 6.2.4
  next_ms_ = not_before(now_ms + interval);
}

void RaSchedule::solicited(uint32_t now_ms) {
  const uint32_t soon = not_before(now_ms + random_below(kMaxDelayMs + 1));
  if (static_cast<int32_t>(soon - next_ms_) < 0) next_ms_ = soon;  // § 6.2.6: unless one is due sooner
}

}  // namespace wp
