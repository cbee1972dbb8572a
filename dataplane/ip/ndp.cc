// ICMPv6 / Neighbor Discovery messages; see ndp.h.
#include "dataplane/ip/ndp.h"

#include <cstring>

#include "dataplane/ip/checksum.h"
#include "dataplane/ip/packet.h"

namespace wp {
namespace {

constexpr uint32_t kNdBodyLen = 24;  // type, code, checksum, flags/reserved, target

}  // namespace

uint16_t write_nd_headers(uint8_t* f, const uint8_t dst_mac[6], const uint8_t src_mac[6], const Ipv6& src,
                          const Ipv6& dst, uint16_t payload_len) {
  std::memcpy(f, dst_mac, 6);
  std::memcpy(f + 6, src_mac, 6);
  store_be16(f + 12, kEtherTypeIpv6);
  uint8_t* ip = f + kEthHdrLen;
  store_be32(ip, 0x60000000);
  store_be16(ip + 4, payload_len);
  ip[6] = kProtoIcmpv6;
  ip[7] = kNdHopLimit;
  store_ipv6(ip + 8, src);
  store_ipv6(ip + 24, dst);
  return kEthHdrLen + kIpv6HdrLen;
}

namespace {

// The message with one 8-byte option: `opt` carrying 6 bytes (a MAC or a nonce).
uint16_t write_nd(uint8_t* f, uint8_t type, uint8_t flags, const Ipv6& target, uint8_t opt, const uint8_t data[6],
                  const Ipv6& src, const Ipv6& dst) {
  uint8_t* icmp = f + kEthHdrLen + kIpv6HdrLen;
  std::memset(icmp, 0, kNdBodyLen + 8);
  icmp[0] = type;
  icmp[4] = flags;
  store_ipv6(icmp + 8, target);
  icmp[24] = opt;
  icmp[25] = 1;  // in units of 8 bytes
  std::memcpy(icmp + 26, data, 6);
  store_be16(icmp + 2, icmpv6_checksum(src, dst, icmp, kNdBodyLen + 8));
  return kNdFrameLen;
}

}  // namespace

// § 7.1.1/7.1.2 (and § 6.1.1 for solicitations): "all included options have a
// length that is greater than zero".
bool read_nd_options(const uint8_t* opt, uint32_t len, uint8_t want, NdMessage& out) {
  while (len > 0) {
    if (len < 8 || opt[1] == 0 || opt[1] * 8u > len) return false;
    if (opt[0] == want && opt[1] == 1) {
      out.has_lla = true;
      std::memcpy(out.lla, opt + 2, 6);
    } else if (opt[0] == kNdOptNonce && opt[1] == 1) {
      out.has_nonce = true;
      std::memcpy(out.nonce, opt + 2, kNdNonceLen);
    }
    len -= opt[1] * 8u;
    opt += opt[1] * 8u;
  }
  return true;
}

Ipv6 link_local_of(const uint8_t mac[6]) {
  uint64_t iid = uint64_t{static_cast<uint8_t>(mac[0] ^ 0x02)} << 56 | uint64_t{mac[1]} << 48 | uint64_t{mac[2]} << 40 |
                 uint64_t{0xfffe} << 24 | uint64_t{mac[3]} << 16 | uint64_t{mac[4]} << 8 | mac[5];
  return Ipv6{0xfe80000000000000ULL, iid};
}

Ipv6 solicited_node_of(const Ipv6& a) { return Ipv6{0xff02000000000000ULL, 0x00000001ff000000ULL | (a.lo & 0xffffff)}; }

bool is_solicited_node(const Ipv6& a) {
  return a.hi == 0xff02000000000000ULL && (a.lo & 0xffffffffff000000ULL) == 0x00000001ff000000ULL;
}

void multicast_mac_of(const Ipv6& a, uint8_t mac[6]) {
  mac[0] = 0x33;
  mac[1] = 0x33;
  for (int i = 0; i < 4; ++i) mac[2 + i] = static_cast<uint8_t>(a.lo >> (24 - 8 * i));
}

uint16_t icmpv6_checksum(const Ipv6& src, const Ipv6& dst, const uint8_t* icmp, uint32_t len) {
  uint8_t pseudo[40] = {};
  store_ipv6(pseudo, src);
  store_ipv6(pseudo + 16, dst);
  store_be32(pseudo + 32, len);
  pseudo[39] = kProtoIcmpv6;
  return csum_fold(csum_partial(icmp, len, csum_partial(pseudo, sizeof pseudo)));
}

NdStatus parse_nd(const uint8_t* icmp, uint32_t len, const Ipv6& src, const Ipv6& dst, uint8_t hop_limit,
                  NdMessage& out) {
  if (hop_limit != kNdHopLimit) return NdStatus::bad_hop_limit;
  if (icmp[1] != 0 || len < kNdBodyLen) return NdStatus::malformed;
  out.type = icmp[0];
  out.flags = icmp[4] & (kNaRouter | kNaSolicited | kNaOverride);
  out.target = load_ipv6(icmp + 8);
  if (out.target.is_multicast()) return NdStatus::malformed;
  const bool ns = out.type == kNdNeighborSolicit;
  if (!read_nd_options(icmp + kNdBodyLen, len - kNdBodyLen, ns ? kNdOptSourceLla : kNdOptTargetLla, out))
    return NdStatus::malformed;
  if (ns && src.is_unspecified() && (!is_solicited_node(dst) || out.has_lla)) return NdStatus::bad_dad;
  if (!ns && (out.flags & kNaSolicited) && dst.is_multicast()) return NdStatus::bad_solicited;
  return NdStatus::ok;
}

uint16_t write_solicit(uint8_t* frame, const uint8_t our_mac[6], const Ipv6& src, const Ipv6& target,
                       const uint8_t* unicast_mac) {
  Ipv6 dst = unicast_mac ? target : solicited_node_of(target);
  uint8_t dst_mac[6];
  if (unicast_mac)
    std::memcpy(dst_mac, unicast_mac, 6);
  else
    multicast_mac_of(dst, dst_mac);
  write_nd_headers(frame, dst_mac, our_mac, src, dst, kNdBodyLen + 8);
  return write_nd(frame, kNdNeighborSolicit, 0, target, kNdOptSourceLla, our_mac, src, dst);
}

uint16_t write_dad_solicit(uint8_t* frame, const uint8_t our_mac[6], const Ipv6& target,
                           const uint8_t nonce[kNdNonceLen]) {
  const Ipv6 dst = solicited_node_of(target);
  uint8_t dst_mac[6];
  multicast_mac_of(dst, dst_mac);
  write_nd_headers(frame, dst_mac, our_mac, Ipv6{}, dst, kNdBodyLen + 8);
  return write_nd(frame, kNdNeighborSolicit, 0, target, kNdOptNonce, nonce, Ipv6{}, dst);
}

uint16_t write_advert(uint8_t* frame, const uint8_t our_mac[6], const Ipv6& target, const Ipv6& dst,
                      const uint8_t dst_mac[6], uint8_t flags) {
  write_nd_headers(frame, dst_mac, our_mac, target, dst, kNdBodyLen + 8);
  return write_nd(frame, kNdNeighborAdvert, flags, target, kNdOptTargetLla, our_mac, target, dst);
}

void echo6_reply_in_place(uint8_t* ip6, uint8_t* icmp, uint32_t len, const Ipv6& from) {
  Ipv6 to = load_ipv6(ip6 + 8);
  store_ipv6(ip6 + 8, from);
  store_ipv6(ip6 + 24, to);
  ip6[7] = 64;
  icmp[0] = kIcmp6EchoReply;
  store_be16(icmp + 2, 0);
  store_be16(icmp + 2, icmpv6_checksum(from, to, icmp, len));
}

}  // namespace wp
