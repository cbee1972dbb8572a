// Stateless pieces of NAT64 / NAT46 (RFC 6052 address mapping, RFC 7915
// ICMP translation), the parts a NAT64 session setup and its packet
// translation are built from. Pure functions on wire bytes: no DPDK, no
// allocation, usable by workers and by the control path (config checks).
//
// Addresses (RFC 6052 § 2.2): the IPv4 address is embedded in the IPv6
// address after a prefix of 32, 40, 48, 56, 64 or 96 bits; bits 64..71 (the
// "u" octet) are always zero, so for prefixes shorter than 96 the IPv4
// bytes straddle it, and the suffix after them is zero. The Well-Known
// Prefix 64:ff9b::/96 must not carry non-global IPv4 addresses (§ 3.1:
// RFC 1918, loopback, link-local ...), which nat64_wkp_allows says.
//
// ICMP (RFC 7915 § 4.2 and § 5.2): the type/code pairs that have a
// translation, the ones that are silently dropped, and the Packet Too Big /
// Fragmentation Needed MTU adjustment (the 20-byte header difference).
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "dataplane/ip/ipv4.h"

namespace wp {

using Ipv6Bytes = std::array<uint8_t, 16>;

inline constexpr bool nat64_prefix_len_ok(uint8_t len) {
  return len == 32 || len == 40 || len == 48 || len == 56 || len == 64 || len == 96;
}

// The IPv4-embedded IPv6 address of `v4` under `prefix`/`len` (len one of
// nat64_prefix_len_ok; the prefix's bits past len are ignored).
Ipv6Bytes nat64_embed(const Ipv6Bytes& prefix, uint8_t len, Ipv4 v4);
// The IPv4 address embedded in `addr` under a /len prefix; nullopt when the
// length is not allowed, `addr` is not under `prefix`, or the u octet is not
// zero.
std::optional<Ipv4> nat64_extract(const Ipv6Bytes& prefix, uint8_t len, const Ipv6Bytes& addr);
// The Well-Known Prefix 64:ff9b::/96.
inline constexpr Ipv6Bytes kNat64WellKnownPrefix = {0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
// Whether `v4` may be represented under the Well-Known Prefix (global only).
bool nat64_wkp_allows(Ipv4 v4);

// ICMP translation (RFC 7915). A result with `drop` set has no translation
// (the packet is dropped silently, as the RFC says); `mtu_adjust` tells the
// caller to rewrite the MTU field (Packet Too Big <-> Fragmentation Needed).
struct IcmpXlat {
  bool drop = true;
  uint8_t type = 0, code = 0;
  bool mtu_adjust = false;   // PTB/FN: rewrite the MTU (nat64_mtu_* below)
  bool pointer_adjust = false;  // Parameter Problem: map the pointer (nat64_pointer_6to4/4to6)
  bool inner_packet = false;  // an error that carries the offending packet (translate it too)
};
// ICMPv6 (type, code) -> ICMPv4 (§ 5.2).
IcmpXlat icmp6_to_icmp4(uint8_t type, uint8_t code);
// ICMPv4 (type, code) -> ICMPv6 (§ 4.2).
IcmpXlat icmp4_to_icmp6(uint8_t type, uint8_t code);

// MTU of a translated Packet Too Big (IPv6 -> IPv4): the IPv6 MTU - 20, and
// at most what the IPv4 side's link allows (§ 5.2: min of the two);
// Fragmentation Needed (IPv4 -> IPv6): the IPv4 MTU + 20, at least 1280, at
// most the IPv6 side's link MTU (§ 4.2; a zero MTU from an old router means
// the plateau below the packet's length, here the IPv6 minimum 1280).
uint32_t nat64_mtu_6to4(uint32_t ptb_mtu, uint32_t v4_link_mtu);
uint32_t nat64_mtu_4to6(uint32_t fn_mtu, uint32_t v6_link_mtu);

// Parameter Problem pointers (§ 4.2 Figure 3 and § 5.2 Figure 6): the byte of
// the IPv4 header the IPv6 pointer names and the reverse; nullopt where the
// field has no counterpart (the packet is then dropped).
std::optional<uint8_t> nat64_pointer_6to4(uint32_t ptr6);
std::optional<uint32_t> nat64_pointer_4to6(uint8_t ptr4);

}  // namespace wp
