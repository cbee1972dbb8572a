// Decoding the FPM stream zebra's dplane_fpm_nl module sends (FRR 8.4,
// zebra/dplane_fpm_nl.c; the framing is FRR's fpm/fpm.h): each frame is a
// 4-byte header (version 1, type 1 = netlink, 16-bit big-endian length that
// counts the header) followed by netlink messages in the host's byte order
// (RFC 3549 § 2.3; linux/rtnetlink.h, linux/nexthop.h):
//   RTM_NEWROUTE / RTM_DELROUTE   rtmsg + RTA_DST, RTA_GATEWAY, RTA_OIF,
//                                 RTA_MULTIPATH (rtnexthop list), RTA_PRIORITY,
//                                 RTA_TABLE, RTA_NH_ID
//   RTM_NEWNEXTHOP / RTM_DELNEXTHOP  nhmsg + NHA_ID, NHA_GATEWAY, NHA_OIF,
//                                 NHA_GROUP, NHA_BLACKHOLE (`fpm use-next-hop-groups`)
// Everything is bounds-checked against the frame: a length that points past
// its container is an error with its reason, never a read past the end.
// IPv4 (AF_INET: 4-byte addresses) and IPv6 (AF_INET6: RTA_DST, RTA_GATEWAY
// and NHA_GATEWAY of 16 bytes, prefixes up to /128) decode; an address of the
// other family's length is bad_attr_len. Other families (MPLS, bridge...)
// decode as `ignored`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "dataplane/ip/ipv4.h"
#include "dataplane/ip/ipv6.h"

namespace wp::fpm {

inline constexpr size_t kFpmHeaderLen = 4;
inline constexpr uint8_t kFpmVersion = 1, kFpmTypeNetlink = 1;

#define WP_FPM_ERRORS(X)                                                                  \
  X(none) X(bad_header) X(netlink_truncated) X(netlink_error) X(attr_truncated) X(bad_attr_len) \
  X(bad_prefix_len) X(multipath_truncated) X(bad_group)

enum class FpmError : uint8_t {
#define WP_X(n) n,
  WP_FPM_ERRORS(WP_X)
#undef WP_X
      count
};
std::string_view fpm_error_name(FpmError e);

struct FpmNextHop {
  Ipv4 gateway = 0;      // host order; 0 = none (on-link)
  uint32_t ifindex = 0;  // 0 = none
  uint8_t weight = 1;    // rtnh_hops + 1 / group weight + 1
  // An IPv6 route's or next-hop object's gateway (last: the IPv4 aggregates
  // {gateway, ifindex, weight} stay as they were); unspecified = none (on-link).
  Ipv6 gateway6 = {};
};

enum class FpmKind : uint8_t { route_add, route_del, nexthop_add, nexthop_del, ignored };

struct FpmMessage {
  FpmKind kind = FpmKind::ignored;
  bool ipv6 = false;  // an AF_INET6 route (prefix6) or next-hop object (gateway6)
  // Routes
  Ipv4Prefix prefix;
  Ipv6Prefix prefix6;
  uint8_t protocol = 0;   // rtm_protocol (RTPROT_*)
  uint8_t type = 0;       // rtm_type: 1 unicast, 6 blackhole, 7 unreachable, 8 prohibit
  uint32_t table = 0;     // RTA_TABLE, else rtm_table
  uint32_t priority = 0;  // RTA_PRIORITY
  uint32_t nh_id = 0;     // RTA_NH_ID: next hops are that object's
  // Route next hops (RTA_GATEWAY/RTA_OIF or RTA_MULTIPATH) or a next-hop
  // object's own (NHA_GATEWAY/NHA_OIF).
  std::vector<FpmNextHop> hops;
  // Next-hop objects
  uint32_t id = 0;                  // NHA_ID
  std::vector<uint32_t> group;      // NHA_GROUP member ids
  bool blackhole = false;           // NHA_BLACKHOLE
};

// Splits a byte stream into frames. `data` holds what was received so far;
// returns the length of the first complete frame (0: need more bytes), or -1
// when the header is not an FPM netlink frame (the stream is lost: close it).
long fpm_frame_length(std::span<const uint8_t> data);

// Decodes every netlink message of one frame (header included) into `out`
// (cleared first). On error `out` holds the messages before the bad one.
FpmError decode_fpm_frame(std::span<const uint8_t> frame, std::vector<FpmMessage>& out);

// One netlink message (nlmsghdr included, exactly its nlmsg_len bytes).
FpmError decode_netlink(std::span<const uint8_t> msg, FpmMessage& out);

}  // namespace wp::fpm
