// NAT64 header translation of one packet (RFC 7915 § 4.1 IPv4 -> IPv6 and
// § 5.1 IPv6 -> IPv4), in place on a frame: the building block a stateful
// NAT64 (RFC 6146) calls once it has a binding (the addresses and the port
// or ICMP echo identifier to use). TCP, UDP and ICMP echo; the upper-layer
// header is kept where it is and the IP header (with the Ethernet header in
// front of it) rewritten just before it, so an IPv6 -> IPv4 frame starts
// 20 bytes (plus the extension headers) later and an IPv4 -> IPv6 one 20
// bytes earlier (the caller's headroom). Transport checksums are recomputed
// over the new pseudo-header; ICMPv4 has none, ICMPv6 does (RFC 4443 § 2.3).
//
// As § 5.1 says: TTL = hop limit - 1 (the translator forwards), DF set only
// above 1260 bytes, the traffic class copied to the TOS and back. Extension
// headers are dropped (§ 5.1: they have no IPv4 counterpart). Fragments (a
// fragment header that is not atomic, or an IPv4 fragment) and ICMP other
// than echo are refused here: ICMP errors need their inner packet translated
// too (nat64.h has the type tables).
#pragma once

#include <cstdint>

#include "dataplane/ip/icmp.h"  // kIpv6MinMtu
#include "dataplane/ip/ipv4.h"
#include "dataplane/ip/ipv6.h"
#include "dataplane/ip/packet.h"

namespace wp {

enum class Nat64Verdict : uint8_t {
  ok,
  hop_limit_exceeded,  // hop limit / TTL 1 or 0: the caller answers Time Exceeded or drops
  fragment,            // a fragment: not translated here
  unsupported,         // not TCP, UDP or ICMP echo
};

struct Nat64Result {
  Nat64Verdict verdict = Nat64Verdict::unsupported;
  int32_t shift = 0;  // the translated frame starts at frame + shift
  uint16_t len = 0;   // its length (Ethernet header included, no padding)
};

inline constexpr uint16_t kNat64DfAbove = 1260;  // RFC 7915 § 5.1

// The MTU a Packet Too Big reports to an IPv6 sender whose packets are translated onto an
// IPv4 link of MTU `mtu4` (RFC 7915 § 5.1, § 6): that MTU + 20, never below the IPv6 minimum.
// A packet already within it (an IPv4 MTU below 1260) cannot be made smaller by its sender.
inline constexpr uint32_t nat64_ipv6_mtu_for(uint32_t mtu4) {
  const uint32_t mtu6 = mtu4 + (kIpv6HdrLen - 20);  // an IPv6 header for an IPv4 one without options
  return mtu6 > kIpv6MinMtu ? mtu6 : kIpv6MinMtu;
}

// The MTU a Packet Too Big tells the sender of an IPv6 packet of `len6` bytes that is too big for
// an IPv4 link of MTU `mtu4` once translated (RFC 7915 § 5.1, § 6), or 0 when the packet is
// already within what it would say (no error to send: its sender cannot go smaller).
inline constexpr uint32_t nat64_too_big_report(uint32_t mtu4, uint32_t len6) {
  const uint32_t report = nat64_ipv6_mtu_for(mtu4);
  return len6 > report ? report : 0;
}

// IPv6 `v` (parsed from `frame`) -> IPv4 from src:sport to dst; sport is the
// source port, or the echo identifier, of the binding; `ip_id` the IPv4
// identification to use.
Nat64Result nat64_6to4(uint8_t* frame, const Ipv6View& v, Ipv4 src, Ipv4 dst, uint16_t sport, uint16_t ip_id);
// IPv4 `pp` (parsed from `frame`, with pp.l4 - kEthHdrLen - 40 bytes of
// headroom before frame when that is negative) -> IPv6 from src to dst:dport;
// dport is the destination port, or the echo identifier, of the binding.
Nat64Result nat64_4to6(uint8_t* frame, const ParsedPacket& pp, const Ipv6& src, const Ipv6& dst, uint16_t dport);

// NAT46 (docs/ipv6.md § NAT46; RFC 7915 § 5.2-5.3): an ICMPv6 error `v`
// (parsed from `frame`) about a packet this router translated from IPv4 (the
// inner IPv6 packet went from the client's IPv6 source to the server) ->
// the ICMPv4 error about the IPv4 packet the client sent: outer header from
// `from4` to `client4` (TTL = hop limit - 1), inner IPv4 header from
// `client4` to `server4` with the inner hop limit as TTL (ports unchanged:
// NAT46 does not translate them), the inner transport checksum moved from
// the IPv6 pseudo-header to the IPv4 one (an inner ICMPv6 echo request
// becomes an ICMP one, whose checksum has no pseudo-header), Packet Too Big
// -> Fragmentation Needed with the MTU - 20 (at most `v4_link_mtu`), a
// Parameter Problem's pointer mapped; the whole at most kNat46IcmpMax bytes
// of IPv4. In place: the result starts later in the frame. `unsupported`:
// no translation (an informational or untranslatable type, an inner packet
// that is not TCP, UDP or an echo request without extension headers, or
// shorter than its IPv6 header and 8 bytes).
inline constexpr uint16_t kNat46IcmpMax = 576;  // RFC 1812 § 4.3.2.3
Nat64Result nat46_icmp6_error_to4(uint8_t* frame, const Ipv6View& v, Ipv4 from4, Ipv4 client4, Ipv4 server4,
                                  uint32_t v4_link_mtu, uint16_t ip_id);

// TCP/UDP/ICMPv6 checksum with the IPv6 pseudo-header (checksum field taken as zero).
uint16_t l4_checksum6(const Ipv6& src, const Ipv6& dst, uint8_t proto, const uint8_t* l4, uint32_t len);

}  // namespace wp
