// ICMPv6 and Neighbor Discovery messages (RFC 4443, RFC 4861): what the
// control thread needs to answer Neighbor Solicitations for our addresses,
// resolve neighbors with its own, learn from Neighbor Advertisements and
// answer echo requests.
//
// parse_nd() applies RFC 4861 § 7.1.1/§ 7.1.2's validity checks (hop limit
// 255, code 0, length, target not multicast, options of non-zero length, an
// unspecified source only for DAD to a solicited-node address and without a
// link-layer option, a solicited NA not to a multicast address); a message
// that fails one is silently discarded, as the RFC requires, and counted by
// its reason. The ICMPv6 checksum (RFC 4443 § 2.3) covers the RFC 8200 § 8.1
// pseudo-header. Link-local addresses are the modified EUI-64 of the MAC
// (RFC 4291 § 2.5.1, appendix A); multicast MACs are 33:33 + the low 32 bits
// (RFC 2464 § 7). Frames are written whole (Ethernet, IPv6, ICMPv6) into a
// caller's buffer of at least kNdFrameLen bytes.
#pragma once

#include <cstdint>

#include "dataplane/ip/ipv6.h"

namespace wp {

inline constexpr uint8_t kIcmp6EchoRequest = 128;
inline constexpr uint8_t kIcmp6EchoReply = 129;
inline constexpr uint8_t kNdRouterSolicit = 133;
inline constexpr uint8_t kNdRouterAdvert = 134;
inline constexpr uint8_t kNdNeighborSolicit = 135;
inline constexpr uint8_t kNdNeighborAdvert = 136;
inline constexpr uint8_t kNdRedirect = 137;
// Multicast Listener Discovery (RFC 2710 § 3.6; RFC 3810 § 5.2 for v2 reports).
inline constexpr uint8_t kMldQuery = 130, kMldReport = 131, kMldDone = 132, kMld2Report = 143;
// Neighbor Discovery (RFC 4861: router and neighbor solicitations and
// advertisements, redirects) or MLD (RFC 2710, RFC 3810): link-local
// machinery that a punt interface's kernel sends and the dataplane keeps.
inline bool is_nd_or_mld(uint8_t icmp6_type) {
  return (icmp6_type >= kMldQuery && icmp6_type <= kNdRedirect) || icmp6_type == kMld2Report;
}
// A listener's MLD message (v1 report or done, v2 report), not a query.
inline bool is_mld_report(uint8_t icmp6_type) {
  return icmp6_type == kMldReport || icmp6_type == kMldDone || icmp6_type == kMld2Report;
}
inline constexpr uint8_t kNdHopLimit = 255;
inline constexpr uint8_t kNdOptSourceLla = 1;
inline constexpr uint8_t kNdOptTargetLla = 2;
// RFC 3971 § 5.3.2, as RFC 7527 uses it in DAD solicitations: a node that
// sees its own nonce knows the solicitation is its own, looped back.
inline constexpr uint8_t kNdOptNonce = 14;
inline constexpr size_t kNdNonceLen = 6;
// Ethernet + IPv6 + NS/NA (24) + one link-layer address option (8).
inline constexpr uint16_t kNdFrameLen = 14 + kIpv6HdrLen + 24 + 8;

// NA flags (RFC 4861 § 4.4).
inline constexpr uint8_t kNaRouter = 0x80;
inline constexpr uint8_t kNaSolicited = 0x40;
inline constexpr uint8_t kNaOverride = 0x20;

inline const Ipv6 kAllNodes{0xff02000000000000ULL, 1};

// fe80::/64 with the modified EUI-64 interface identifier of `mac`.
Ipv6 link_local_of(const uint8_t mac[6]);
// ff02::1:ffXX:XXXX, the solicited-node multicast group of `a`.
Ipv6 solicited_node_of(const Ipv6& a);
bool is_solicited_node(const Ipv6& a);
// 33:33 and the address's low 32 bits.
void multicast_mac_of(const Ipv6& a, uint8_t mac[6]);

// The ICMPv6 checksum of `len` bytes at `icmp` (its checksum field taken as
// stored) with the pseudo-header of src/dst: 0 when a received message verifies.
uint16_t icmpv6_checksum(const Ipv6& src, const Ipv6& dst, const uint8_t* icmp, uint32_t len);

enum class NdStatus : uint8_t {
  ok,
  bad_hop_limit,  // not 255: the message crossed a router
  malformed,      // code not 0, short, multicast target, zero-length or truncated option
  bad_dad,        // unspecified source: not to a solicited-node group, or with a link-layer option
  bad_solicited,  // a solicited advertisement to a multicast address
};

struct NdMessage {
  uint8_t type = 0;
  uint8_t flags = 0;  // NA: kNaRouter | kNaSolicited | kNaOverride
  Ipv6 target;
  bool has_lla = false;  // NS: the source's, NA: the target's link-layer address
  uint8_t lla[6] = {};
  bool has_nonce = false;  // a 6-byte nonce option (DAD solicitations)
  uint8_t nonce[kNdNonceLen] = {};
};

// `icmp` holds `len` bytes of an NS or NA (type already known to be one).
NdStatus parse_nd(const uint8_t* icmp, uint32_t len, const Ipv6& src, const Ipv6& dst, uint8_t hop_limit,
                  NdMessage& out);

// The Ethernet and IPv6 headers of an ND message (hop limit 255, ICMPv6) of
// `payload_len` bytes; returns their length.
uint16_t write_nd_headers(uint8_t* frame, const uint8_t dst_mac[6], const uint8_t src_mac[6], const Ipv6& src,
                          const Ipv6& dst, uint16_t payload_len);
// The options at `opt` (`len` bytes): false when one is shorter than 8 bytes
// or runs past the end (§ 7.1.1, § 6.1.1); a link-layer option of type
// `want_lla` and a nonce option are copied to `out`.
bool read_nd_options(const uint8_t* opt, uint32_t len, uint8_t want_lla, NdMessage& out);

// An NS for `target` from `src` (our address on the link) with our MAC as the
// source link-layer option: to the solicited-node group when `unicast_mac` is
// null (resolution), else to `target` at that MAC (a reachability probe).
// Returns the frame length (kNdFrameLen).
uint16_t write_solicit(uint8_t* frame, const uint8_t our_mac[6], const Ipv6& src, const Ipv6& target,
                       const uint8_t* unicast_mac);
// A DAD solicitation for our tentative `target` (RFC 4862 § 5.4.2): from the
// unspecified address to its solicited-node group, no link-layer option,
// `nonce` in a nonce option. Returns the frame length (kNdFrameLen).
uint16_t write_dad_solicit(uint8_t* frame, const uint8_t our_mac[6], const Ipv6& target,
                           const uint8_t nonce[kNdNonceLen]);
// An NA for `target` (ours) to `dst` at `dst_mac`, with our MAC as the target
// link-layer option and `flags`.
uint16_t write_advert(uint8_t* frame, const uint8_t our_mac[6], const Ipv6& target, const Ipv6& dst,
                      const uint8_t dst_mac[6], uint8_t flags);

// Turns the echo request at `icmp` (`len` bytes, in an IPv6 header at `ip6`
// with no extension headers between) into its reply in place: addresses
// swapped, `from` as source, hop limit 64, type 129, checksum recomputed.
void echo6_reply_in_place(uint8_t* ip6, uint8_t* icmp, uint32_t len, const Ipv6& from);

}  // namespace wp
