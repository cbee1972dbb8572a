// Multicast Listener Discovery version 2 (RFC 3810), the listener's side:
// what the control thread needs so that an MLD-snooping switch keeps
// delivering what the router must hear (docs/ipv6.md § Multicast Listener
// Discovery): Neighbor Solicitations to our solicited-node groups (RFC 4861
// § 7.2.1) and Router Solicitations to all-routers (RFC 4291 § 2.8).
//
// Reports (§ 5.2) go to all-MLDv2-routers (ff02::16) with hop limit 1 and a
// Router Alert hop-by-hop option (RFC 2711, value 0: MLD), as § 5 requires;
// each record names one group with no sources (EXCLUDE {}: "all of it").
// Queries (§ 5.1) are checked as § 5.1.14 says a listener must: from a
// link-local source, hop limit 1, with the Router Alert option; the rest is
// silently dropped (and counted). Both query formats are read: MLDv1's
// 24-byte one (RFC 2710 § 3.4, Maximum Response Delay in ms) and MLDv2's
// (at least 28 bytes, the Maximum Response Code's exponential form,
// § 5.1.3). Unit-tested on its own (tests/unit/ipv6_mld_test.cc).
#pragma once

#include <cstdint>
#include <span>

#include "dataplane/ip/ipv6.h"
#include "dataplane/ip/ndp.h"
#include "dataplane/ip/packet.h"  // kEthHdrLen

namespace wp {

inline const Ipv6 kAllMldv2Routers{0xff02000000000000ULL, 0x16};

// Multicast address record types (RFC 3810 § 5.2.12).
enum class MldRecordType : uint8_t {
  mode_is_include = 1,
  mode_is_exclude = 2,
  change_to_include = 3,
  change_to_exclude = 4,
};

struct MldRecord {
  MldRecordType type = MldRecordType::mode_is_exclude;
  Ipv6 group;
};

// Hop-by-hop header with the Router Alert option (8 bytes), the Report's
// fixed part (8) and 20 bytes per record (no sources, no auxiliary data).
inline constexpr uint16_t kMldHbhLen = 8;
inline constexpr uint16_t kMld2ReportFixedLen = 8;
inline constexpr uint16_t kMld2RecordLen = 20;
// Records per Report: the frame stays well inside the IPv6 minimum MTU (1280).
inline constexpr size_t kMld2MaxRecords = 32;
inline constexpr uint16_t kMld2MaxFrameLen =
    kEthHdrLen + kIpv6HdrLen + kMldHbhLen + kMld2ReportFixedLen + kMld2RecordLen * kMld2MaxRecords;
inline constexpr uint16_t kMld1QueryLen = 24;
inline constexpr uint16_t kMld2QueryMinLen = 28;

// A whole MLDv2 Report frame (Ethernet to 33:33:00:00:00:16, IPv6 with the
// hop-by-hop Router Alert, ICMPv6 type 143) from `src` (our link-local
// address, or :: while it is tentative: RFC 3590 § 4) with `records` (at
// most kMld2MaxRecords) at `frame` (kMld2MaxFrameLen bytes). Returns its length.
uint16_t write_mld2_report(uint8_t* frame, const uint8_t our_mac[6], const Ipv6& src,
                           std::span<const MldRecord> records);

// Whether the datagram's first extension header is a hop-by-hop header with
// a Router Alert option of value 0 (MLD, RFC 2711 § 2.1). `ip6`/`len`: the
// IPv6 header and what follows it.
bool has_mld_router_alert(const uint8_t* ip6, uint32_t len);

enum class MldQueryStatus : uint8_t {
  ok,
  bad_source,       // not link-local (§ 5.1.14)
  bad_hop_limit,    // not 1
  no_router_alert,  // no hop-by-hop Router Alert option
  malformed,        // neither 24 bytes nor 28 + 16 per source, or the group is neither :: nor multicast
};

struct MldQuery {
  Ipv6 group;                 // :: for a General Query
  uint32_t max_delay_ms = 0;  // the Maximum Response Delay
  bool v1 = false;            // MLDv1's 24-byte query
};

// The Multicast Listener Query at `icmp` (`len` bytes, type 130, checksum
// already verified) in the datagram at `ip6` (`ip6_len` bytes).
MldQueryStatus parse_mld_query(const uint8_t* ip6, uint32_t ip6_len, const uint8_t* icmp, uint32_t len,
                               MldQuery& out);

// The Maximum Response Delay in ms of an MLDv2 Maximum Response Code (§ 5.1.3).
uint32_t mld2_max_response_delay_ms(uint16_t code);

}  // namespace wp
