// Router Advertisements on LAN interfaces (RFC 4861 § 6.2, router side;
// docs/ipv6.md § Router Advertisements): what hosts need to take us as their
// default router, learn the on-link prefixes and, for /64 prefixes, form
// SLAAC addresses (RFC 4862 § 5.5.3) without static configuration.
//
// parse_router_solicit() applies § 6.1.1's validity checks (hop limit 255,
// code 0, ICMP length >= 8, options of non-zero length within the message, no
// source link-layer option from the unspecified address); the checksum is the
// caller's (icmpv6_checksum). write_router_advert() writes the whole frame
// (§ 4.2): from our link-local address to all-nodes, hop limit 255, Cur Hop
// Limit 64, M/O flags, Router Lifetime, our source link-layer option (§
// 4.6.1), the MTU option (§ 4.6.4) and one Prefix Information option (§
// 4.6.2) per prefix, L=1, A=1 only for /64 (RFC 4862 § 5.5.3 d).
// RaSchedule decides when an interface advertises (§ 6.2.4, § 6.2.6):
// unsolicited at a random interval in [MinRtrAdvInterval,
// MaxRtrAdvInterval], the first MAX_INITIAL_RTR_ADVERTISEMENTS (3) at most
// MAX_INITIAL_RTR_ADVERT_INTERVAL (16 s) apart; a solicitation moves the next
// one to within MAX_RA_DELAY_TIME (0.5 s), and no two leave less than
// MIN_DELAY_BETWEEN_RAS (3 s) apart. Every advertisement goes to all-nodes,
// so each resets the unsolicited timer.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/ip/ndp.h"

namespace wp {

inline const Ipv6 kAllRouters{0xff02000000000000ULL, 2};
inline constexpr uint8_t kNdOptPrefixInfo = 3;
inline constexpr uint8_t kNdOptMtu = 5;
inline constexpr uint8_t kNdOptRouteInfo = 24;  // RFC 4191 § 2.3
inline constexpr uint8_t kNdOptRdnss = 25;      // RFC 8106 § 5.1
inline constexpr uint8_t kNdOptDnssl = 31;      // RFC 8106 § 5.2
inline constexpr uint8_t kRaManaged = 0x80;  // M (§ 4.2)
inline constexpr uint8_t kRaOther = 0x40;    // O
inline constexpr uint8_t kPrefixOnLink = 0x80;      // L (§ 4.6.2)
inline constexpr uint8_t kPrefixAutonomous = 0x40;  // A
inline constexpr uint8_t kRaCurHopLimit = 64;
inline constexpr size_t kRaMaxPrefixes = 16;  // one frame; the config's prefixes of one interface past it are not advertised
inline constexpr uint16_t kRaHeaderLen = 16;  // type .. retrans timer
inline constexpr uint16_t kRaPrefixOptLen = 32;
inline constexpr size_t kRaMaxDnsServers = 3;
// The IPv6 packet of an RA at most (RFC 8200 § 5's minimum MTU: every link
// with ipv6_ra carries it, validation refuses mtu below 1280), and its frame.
inline constexpr uint16_t kRaMaxIpv6Len = 1280;
inline constexpr uint16_t kRaMaxFrameLen = 14 + kRaMaxIpv6Len;

// RFC 4191 § 2.1's Prf values (2 bits): high 01, medium 00, low 11.
enum class RoutePreference : uint8_t { medium = 0, high = 1, low = 3 };

// RFC 4861 § 6.2.1's variables of one interface (router.lan.ipv6_ra), defaults applied.
struct RaSettings {
  bool enabled = false;
  uint32_t max_interval_ms = 600'000;
  uint32_t min_interval_ms = 198'000;  // 0.33 × max (§ 6.2.1's default)
  uint16_t router_lifetime_s = 1800;
  bool managed = false, other = false;
  uint32_t valid_lifetime_s = 2'592'000, preferred_lifetime_s = 604'800;
  bool mtu_option = true;
  // RFC 8106: RDNSS and DNSSL, left out while empty; dns_search holds the
  // names already encoded (encode_dns_name), concatenated.
  std::vector<Ipv6> dns_servers;
  std::vector<uint8_t> dns_search;
  uint32_t dns_lifetime_s = 1800;
  // RFC 4191: one Route Information option per prefix.
  std::vector<Ipv6Prefix> routes;
  RoutePreference route_preference = RoutePreference::medium;
  uint32_t route_lifetime_s = 1800;
  bool operator==(const RaSettings&) const = default;
};

// Option lengths (router_advert_len.cc): RFC 4191 § 2.3's 8, 16 or 24 bytes
// (the prefix's bytes past its length left out); RDNSS 8 + 16 per server;
// DNSSL 8 + the names, padded to 8; all of s's routes and DNS options.
inline uint32_t ra_route_option_len(const Ipv6Prefix& p) { return p.len == 0 ? 8 : p.len <= 64 ? 16 : 24; }
inline uint32_t ra_rdnss_len(const RaSettings& s) {
  return s.dns_servers.empty() ? 0 : 8 + 16 * static_cast<uint32_t>(s.dns_servers.size());
}
inline uint32_t ra_dnssl_len(const RaSettings& s) {
  return s.dns_search.empty() ? 0 : (8 + static_cast<uint32_t>(s.dns_search.size()) + 7) / 8 * 8;
}
uint32_t ra_options_len(const RaSettings& s);

// The ICMPv6 length of an RA with `s`'s options and the first kRaMaxPrefixes of
// `prefixes` prefixes: what write_router_advert writes, what validation bounds.
uint32_t router_advert_len(const RaSettings& s, size_t prefixes);

// A domain name of the search list (RFC 1035 § 2.3.1 labels: letters, digits
// and hyphens, 1..63 bytes, no hyphen first or last; 255 bytes encoded at
// most; one trailing dot allowed): appended to `out` as RFC 1035 § 3.1 labels
// with the root's zero byte. Returns what is wrong with `name`, empty if nothing.
std::string encode_dns_name(std::string_view name, std::vector<uint8_t>& out);

enum class RsStatus : uint8_t {
  ok,
  bad_hop_limit,  // not 255: it crossed a router
  malformed,      // code not 0, shorter than 8 bytes, a zero-length or truncated option
  bad_source,     // from the unspecified address with a source link-layer option
};

// `icmp` holds `len` bytes of a Router Solicitation (type already known);
// `out` gets its source link-layer option when it has one.
RsStatus parse_router_solicit(const uint8_t* icmp, uint32_t len, const Ipv6& src, uint8_t hop_limit,
                              NdMessage& out);

// An RA from `link_local` at `our_mac` to all-nodes with `router_lifetime_s`
// (0 in the final advertisements, § 6.2.5), `mtu` when s.mtu_option, the
// first kRaMaxPrefixes of `prefixes` and s's routes and DNS options. `frame`
// holds kRaMaxFrameLen bytes, enough for any validated `s`; returns the
// frame's length.
uint16_t write_router_advert(uint8_t* frame, const uint8_t our_mac[6], const Ipv6& link_local, const RaSettings& s,
                             uint16_t router_lifetime_s, uint32_t mtu, std::span<const Ipv6Prefix> prefixes);

class RaSchedule {
 public:
  static constexpr uint32_t kMaxInitialAdverts = 3;         // MAX_INITIAL_RTR_ADVERTISEMENTS
  static constexpr uint32_t kMaxInitialIntervalMs = 16'000;  // MAX_INITIAL_RTR_ADVERT_INTERVAL
  static constexpr uint32_t kMinDelayBetweenMs = 3'000;      // MIN_DELAY_BETWEEN_RAS
  static constexpr uint32_t kMaxDelayMs = 500;               // MAX_RA_DELAY_TIME

  // The interface becomes an advertising one at `now_ms`: its first
  // advertisement is due at once (after the last one sent before, if any,
  // plus the 3 s), then the initial ones.
  void start(uint32_t now_ms, uint32_t min_interval_ms, uint32_t max_interval_ms, uint64_t seed);
  bool due(uint32_t now_ms) const { return static_cast<int32_t>(now_ms - next_ms_) >= 0; }
  // Due but not sent (the link-local address is still in DAD): due again at `now_ms`, so
  // that however long the wait, `due` never sees the due time as weeks ahead.
  void hold(uint32_t now_ms) { next_ms_ = now_ms; }
  // An advertisement left at `now_ms`: the next one at a random interval.
  void sent(uint32_t now_ms);
  // A valid solicitation at `now_ms`: the next advertisement within
  // kMaxDelayMs, unless one is due sooner, not before 3 s after the last.
  void solicited(uint32_t now_ms);
  uint32_t next_ms() const { return next_ms_; }
  uint32_t adverts_sent() const { return sent_; }  // since start()
  bool advertised() const { return ever_sent_; }   // ever: a final RA has something to withdraw

 private:
  uint32_t random_below(uint32_t n);  // uniform enough in [0, n)
  uint32_t not_before(uint32_t t) const;  // t, or 3 s after the last advertisement when that is later

  uint32_t min_ms_ = 0, max_ms_ = 0;
  uint32_t next_ms_ = 0;
  uint32_t last_ms_ = 0;
  uint32_t sent_ = 0;        // since start()
  bool ever_sent_ = false;   // last_ms_ holds a time
  uint64_t rng_ = 1;
};

}  // namespace wp
