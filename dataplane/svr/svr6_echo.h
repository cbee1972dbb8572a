// ICMPv6 echo through IPv6 sessions over SVR (issue #19; docs/ipv6.md §
// ICMPv6 over SVR; docs/svr-wire-format.md § ICMPv6 echo between waypoints),
// both waypoint kinds (svr/svr6_lan.h).
//
// An echo request from the LAN starts a session as a UDP datagram does
// (tenant, a service that takes any protocol and names no ports, policy),
// its identifier as both ports of the IPv6 tuple (TLV 3 says protocol 58).
// On the IPv4 path and the WAN it rides as UDP, so that waypoint ports, the
// owner rule, metadata at offset 0 of the data, HMAC and encryption stay
// UDP's: a UDP header (the identifier as both ports) goes in front of the
// echo message, which travels whole (type, code, checksum, identifier,
// sequence, data). The other router takes the header off again and checks
// that what it restores is an echo request (forward) or reply (reverse) of
// the session's identifier. The client's ICMPv6 checksum stays valid: the
// IPv6 tuple is restored unchanged.
//
// ICMPv6 errors about an echo of such a session travel as any other's
// (svr/svr6_lan.h, Svr6Lan::error_from_lan).
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "dataplane/ip/ipv6.h"
#include "dataplane/ip/packet.h"
#include "dataplane/session/session.h"

namespace wp {

inline constexpr uint16_t kSvr6EchoUdpLen = 8;  // the UDP header an echo rides behind

// The protocol a session of IPv6 protocol `proto6` has on the IPv4 path and the WAN.
constexpr uint8_t svr6_carried_proto(uint8_t proto6) { return proto6 == kProtoIcmpv6 ? kProtoUdp : proto6; }

// The ICMPv6 echo of `v` (parsed from `m`, no extension header) behind a UDP
// header, next header UDP (the checksum is left to the translator); `v`
// parsed again. False: no headroom (`m` unchanged).
bool wrap_svr6_echo(rte_mbuf* m, Ipv6View& v);

// The IPv6 UDP datagram in `m` (no extension header) back into the echo it
// carries, which must be a request (`dir` forward) or reply (reverse) with
// identifier `id`. False: it is not (`m` unchanged, the caller drops it).
bool unwrap_svr6_echo(rte_mbuf* m, Dir dir, uint16_t id);

}  // namespace wp
