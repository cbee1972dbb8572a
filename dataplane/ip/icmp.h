// ICMP errors the router originates (RFC 792): "fragmentation needed and DF
// set" (type 3 code 4) with the next-hop MTU of RFC 1191, and "time
// exceeded in transit" (type 11 code 0), quoting the offending datagram's
// IP header and first 64 bits of data. And ICMPv6
// errors (RFC 4443): Time Exceeded, Packet Too Big, quoting as much of the
// offending packet as fits the IPv6 minimum MTU.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "dataplane/ip/ipv4.h"
#include "dataplane/ip/ipv6.h"

namespace wp {

inline constexpr uint8_t kIcmpEchoReply = 0, kIcmpEchoRequest = 8;
inline constexpr uint8_t kIcmpDestUnreachable = 3, kIcmpTimeExceeded = 11;
inline constexpr uint8_t kIcmpCodeFragNeeded = 4;  // of kIcmpDestUnreachable

// An Ethernet frame (addresses left to the transmitter) with an ICMPv4
// error `type`/`code` from `src` to `dst`, bytes 4-7 of the message `rest`
// (RFC 1191: the next-hop MTU in the low 16 bits of a Fragmentation
// Needed), quoting `ip` (the IPv4 header of the datagram refused, `quote`
// bytes of it and its data). TTL 64. nullptr when `pool` has no mbuf.
rte_mbuf* build_icmp4_error(rte_mempool* pool, const uint8_t* ip, uint16_t quote, Ipv4 src, Ipv4 dst, uint8_t type,
                            uint8_t code, uint32_t rest);
inline rte_mbuf* build_icmp_frag_needed(rte_mempool* pool, const uint8_t* ip, uint16_t quote, Ipv4 src, Ipv4 dst,
                                        uint16_t mtu) {
  return build_icmp4_error(pool, ip, quote, src, dst, kIcmpDestUnreachable, kIcmpCodeFragNeeded, mtu);
}

inline constexpr uint8_t kIcmp6DestUnreachable = 1, kIcmp6PacketTooBig = 2, kIcmp6TimeExceeded = 3,
                         kIcmp6ParamProblem = 4;
inline constexpr uint8_t kIcmp6ErrorHopLimit = 64;  // the error's own hop limit
inline constexpr uint32_t kIcmp6ErrorMax = 1280;    // IPv6 bytes of an error at most (RFC 4443 § 2.4 (c))
inline constexpr uint32_t kIpv6MinMtu = 1280;       // every IPv6 link carries this (RFC 8200 § 5)

// Whether RFC 4443 § 2.4 (e) lets us answer the parsed IPv6 packet in
// `frame` with an error: not about an ICMPv6 error (types 0-127) or a
// Redirect, not about a packet to a multicast address, not to a source that
// is unspecified or multicast. (Frames to a link-layer multicast or
// broadcast address are the caller's to refuse.)
bool icmp6_error_allowed(const uint8_t* frame, const Ipv6View& v);

// An Ethernet frame (addresses left to the transmitter; ethertype IPv6)
// with an ICMPv6 error `type`/`code` from `src` to `dst`, bytes 4-7 of the
// message `rest` (the MTU of a Packet Too Big, a Parameter Problem's
// pointer), quoting the first bytes of the offending IPv6 packet `ip` (`len`
// bytes from its IPv6 header): as many as keep the error within 1280 bytes.
// Hop limit kIcmp6ErrorHopLimit, checksum over the IPv6 pseudo-header.
// nullptr when `pool` has no mbuf.
rte_mbuf* build_icmp6_error(rte_mempool* pool, const uint8_t* ip, uint32_t len, const Ipv6& src, const Ipv6& dst,
                            uint8_t type, uint8_t code, uint32_t rest);

}  // namespace wp
