// NAT64 header translation; see nat64_packet.h.
#include "dataplane/ip/nat64_packet.h"

#include <algorithm>
#include <cstring>

#include "dataplane/ip/checksum.h"
#include "dataplane/ip/icmp.h"  // kIcmpEchoRequest, kIcmpEchoReply
#include "dataplane/ip/nat64.h"
#include "dataplane/ip/ndp.h"  // kIcmp6EchoRequest, kIcmp6EchoReply

namespace wp {
namespace {

constexpr uint16_t kIpv4HdrLen = 20;

uint16_t checksum_offset(uint8_t proto) { return proto == kProtoTcp ? 16 : proto == kProtoUdp ? 6 : 2; }

// The port (or echo identifier) the binding rewrites, and the ICMP type.
bool rewrite_l4(uint8_t* l4, uint8_t proto, uint16_t port, bool source, bool to_v4) {
  if (proto == kProtoTcp || proto == kProtoUdp) {
    store_be16(l4 + (source ? 0 : 2), port);
    return true;
  }
  const uint8_t req = to_v4 ? kIcmp6EchoRequest : kIcmpEchoRequest;
  const uint8_t rep = to_v4 ? kIcmp6EchoReply : kIcmpEchoReply;
  if (l4[0] != req && l4[0] != rep) return false;
  l4[0] = l4[0] == req ? (to_v4 ? kIcmpEchoRequest : kIcmp6EchoRequest) : (to_v4 ? kIcmpEchoReply : kIcmp6EchoReply);
  l4[1] = 0;
  store_be16(l4 + 4, port);
  return true;
}

void write_ipv4_header(uint8_t* ip, uint8_t tos, uint16_t l4_len, uint16_t id, uint8_t ttl, uint8_t proto, Ipv4 src,
                       Ipv4 dst) {
  const uint16_t total = static_cast<uint16_t>(kIpv4HdrLen + l4_len);
  ip[0] = 0x45;
  ip[1] = tos;
  store_be16(ip + 2, total);
  store_be16(ip + 4, id);
  store_be16(ip + 6, total > kNat64DfAbove ? 0x4000 : 0);
  ip[8] = ttl;
  ip[9] = proto;
  store_be32(ip + 12, src);
  store_be32(ip + 16, dst);
  store_be16(ip + 10, 0);
  store_be16(ip + 10, ipv4_header_checksum(ip));
}

void write_ipv6_header(uint8_t* ip, uint8_t tclass, uint16_t l4_len, uint8_t hop_limit, uint8_t proto, const Ipv6& src,
                       const Ipv6& dst) {
  store_be32(ip, 0x60000000u | uint32_t{tclass} << 20);
  store_be16(ip + 4, l4_len);
  ip[6] = proto;
  ip[7] = hop_limit;
  store_ipv6(ip + 8, src);
  store_ipv6(ip + 24, dst);
}

// The one's-complement sum (not complemented) of `n` bytes, as a 16-bit word.
uint16_t sum16(const uint8_t* p, size_t n) { return static_cast<uint16_t>(~csum_fold(csum_partial(p, n))); }

}  // namespace

uint16_t l4_checksum6(const Ipv6& src, const Ipv6& dst, uint8_t proto, const uint8_t* l4, uint32_t len) {
  uint8_t pseudo[40] = {};
  store_ipv6(pseudo, src);
  store_ipv6(pseudo + 16, dst);
  store_be32(pseudo + 32, len);
  pseudo[39] = proto;
  const uint16_t at = checksum_offset(proto == kProtoIcmpv6 ? kProtoIcmp : proto);
  uint32_t sum = csum_partial(pseudo, sizeof pseudo);
  sum = csum_partial(l4, at, sum);
  sum = csum_partial(l4 + at + 2, len - at - 2, sum);
  uint16_t c = csum_fold(sum);
  return proto == kProtoUdp && c == 0 ? 0xffff : c;
}

Nat64Result nat64_6to4(uint8_t* frame, const Ipv6View& v, Ipv4 src, Ipv4 dst, uint16_t sport, uint16_t ip_id) {
  Nat64Result r;
  if (v.frag.present && !v.frag.atomic) return r.verdict = Nat64Verdict::fragment, r;
  if (v.hop_limit <= 1) return r.verdict = Nat64Verdict::hop_limit_exceeded, r;
  if (v.proto != kProtoTcp && v.proto != kProtoUdp && v.proto != kProtoIcmpv6) return r;
  uint8_t* l4 = frame + v.l4;
  if (v.end - v.l4 > 0xffff - kIpv4HdrLen) return r;  // a jumbo payload has no IPv4 form
  const uint16_t l4_len = static_cast<uint16_t>(v.end - v.l4);
  if (!rewrite_l4(l4, v.proto, sport, true, true)) return r;
  const uint8_t tclass = static_cast<uint8_t>(load_be32(frame + v.l3) >> 20);
  const uint8_t proto = v.proto == kProtoIcmpv6 ? kProtoIcmp : v.proto;
  uint8_t macs[12];
  std::memcpy(macs, frame, sizeof macs);
  uint8_t* ip = l4 - kIpv4HdrLen;
  write_ipv4_header(ip, tclass, l4_len, ip_id, static_cast<uint8_t>(v.hop_limit - 1), proto, src, dst);
  uint8_t* eth = ip - kEthHdrLen;
  std::memcpy(eth, macs, sizeof macs);
  store_be16(eth + 12, kEtherTypeIpv4);
  const uint16_t at = checksum_offset(proto);
  store_be16(l4 + at, 0);
  store_be16(l4 + at, proto == kProtoIcmp ? csum_fold(csum_partial(l4, l4_len)) : l4_checksum(ip, l4, l4_len));
  r.verdict = Nat64Verdict::ok;
  r.shift = static_cast<int32_t>(eth - frame);
  r.len = static_cast<uint16_t>(kEthHdrLen + kIpv4HdrLen + l4_len);
  return r;
}

Nat64Result nat64_4to6(uint8_t* frame, const ParsedPacket& pp, const Ipv6& src, const Ipv6& dst, uint16_t dport) {
  Nat64Result r;
  const uint8_t* ip4 = frame + pp.l3;
  if ((load_be16(ip4 + 6) & 0x3fff) != 0) return r.verdict = Nat64Verdict::fragment, r;  // MF or an offset
  if (pp.ttl <= 1) return r.verdict = Nat64Verdict::hop_limit_exceeded, r;
  if (pp.proto != kProtoTcp && pp.proto != kProtoUdp && pp.proto != kProtoIcmp) return r;
  uint8_t* l4 = frame + pp.l4;
  const uint16_t l4_len = static_cast<uint16_t>(pp.end - pp.l4);
  if (!rewrite_l4(l4, pp.proto, dport, false, false)) return r;
  const uint8_t tos = ip4[1];
  const uint8_t proto = pp.proto == kProtoIcmp ? kProtoIcmpv6 : pp.proto;
  uint8_t macs[12];
  std::memcpy(macs, frame, sizeof macs);
  uint8_t* ip = l4 - kIpv6HdrLen;
  write_ipv6_header(ip, tos, l4_len, static_cast<uint8_t>(pp.ttl - 1), proto, src, dst);
  uint8_t* eth = ip - kEthHdrLen;
  std::memcpy(eth, macs, sizeof macs);
  store_be16(eth + 12, kEtherTypeIpv6);
  const uint16_t at = checksum_offset(pp.proto);
  store_be16(l4 + at, 0);
  store_be16(l4 + at, l4_checksum6(src, dst, proto, l4, l4_len));
  r.verdict = Nat64Verdict::ok;
  r.shift = static_cast<int32_t>(eth - frame);
  r.len = static_cast<uint16_t>(kEthHdrLen + kIpv6HdrLen + l4_len);
  return r;
}

Nat64Result nat46_icmp6_error_to4(uint8_t* frame, const Ipv6View& v, Ipv4 from4, Ipv4 client4, Ipv4 server4,
                                  uint32_t v4_link_mtu, uint16_t ip_id) {
  Nat64Result r;
  if (v.proto != kProtoIcmpv6 || v.end < v.l4 + 8u) return r;
  if (v.frag.present && !v.frag.atomic) return r.verdict = Nat64Verdict::fragment, r;
  if (v.hop_limit <= 1) return r.verdict = Nat64Verdict::hop_limit_exceeded, r;
  const uint8_t* icmp6 = frame + v.l4;
  const IcmpXlat x = icmp6_to_icmp4(icmp6[0], icmp6[1]);
  if (x.drop || !x.inner_packet) return r;
  uint32_t rest = 0;  // bytes 4..7 of the ICMPv4 message
  if (x.mtu_adjust) {
    rest = nat64_mtu_6to4(load_be32(icmp6 + 4), v4_link_mtu) & 0xffffu;  // next-hop MTU in bytes 6-7
  } else if (x.pointer_adjust) {
    auto p = nat64_pointer_6to4(load_be32(icmp6 + 4));
    if (!p) return r;
    rest = uint32_t{*p} << 24;
  }
  // The inner packet: our translation of the client's, so no extension headers.
  const uint32_t in = v.l4 + 8u, il4 = in + kIpv6HdrLen;
  if (v.end < il4 + 8u || (frame[in] >> 4) != 6) return r;
  const uint8_t inner6 = frame[in + 6];
  uint8_t* l4 = frame + il4;
  if (inner6 != kProtoTcp && inner6 != kProtoUdp && !(inner6 == kProtoIcmpv6 && l4[0] == kIcmp6EchoRequest)) return r;
  const uint8_t inner_proto = inner6 == kProtoIcmpv6 ? kProtoIcmp : inner6;
  const uint8_t tclass = static_cast<uint8_t>(load_be32(frame + v.l3) >> 20);
  const uint8_t inner_tclass = static_cast<uint8_t>(load_be32(frame + in) >> 20);
  const uint8_t inner_hops = frame[in + 7];
  const uint16_t inner_claimed = load_be16(frame + in + 4);  // the inner packet's upper-layer length
  if (inner_claimed > 0xffff - kIpv4HdrLen) return r;
  const uint32_t room = kNat46IcmpMax - kIpv4HdrLen - 8u - kIpv4HdrLen;
  const uint16_t inner_len = static_cast<uint16_t>(std::min<uint32_t>(v.end - il4, room));

  // The inner checksum: the IPv6 addresses of its pseudo-header become the
  // IPv4 ones (the length and protocol words sum the same); ICMPv6's
  // pseudo-header goes entirely, and its type 128 becomes 8.
  const uint16_t check_at = checksum_offset(inner_proto);
  uint8_t old_words[40 + 2], new_words[8 + 2];
  std::memcpy(old_words, frame + in + 8, 32);  // inner source and destination
  size_t old_n = 32, new_n = 8;
  store_be32(new_words, client4);
  store_be32(new_words + 4, server4);
  if (inner6 == kProtoIcmpv6) {
    store_be32(old_words, inner_claimed);
    store_be32(old_words + 4, kProtoIcmpv6);
    store_be16(old_words + 8, uint16_t{kIcmp6EchoRequest} << 8 | l4[1]);
    std::memmove(old_words + 10, frame + in + 8, 32);
    old_n = 42;
    store_be16(new_words, uint16_t{kIcmpEchoRequest} << 8 | l4[1]);
    new_n = 2;
    l4[0] = kIcmpEchoRequest;
  }
  const bool no_udp_check = inner_proto == kProtoUdp && load_be16(l4 + check_at) == 0;
  if (!no_udp_check)
    store_be16(l4 + check_at, csum_update16(load_be16(l4 + check_at), sum16(old_words, old_n), sum16(new_words, new_n)));

  // Headers, written backwards from the inner upper layer (every field read above).
  uint8_t macs[12];
  std::memcpy(macs, frame, sizeof macs);
  uint8_t* inner_ip = l4 - kIpv4HdrLen;
  write_ipv4_header(inner_ip, inner_tclass, inner_claimed, 0, inner_hops, inner_proto, client4, server4);
  uint8_t* icmp = inner_ip - 8;
  const uint16_t icmp_len = static_cast<uint16_t>(8 + kIpv4HdrLen + inner_len);
  icmp[0] = x.type;
  icmp[1] = x.code;
  store_be16(icmp + 2, 0);
  store_be32(icmp + 4, rest);
  store_be16(icmp + 2, csum_fold(csum_partial(icmp, icmp_len)));
  uint8_t* ip = icmp - kIpv4HdrLen;
  write_ipv4_header(ip, tclass, icmp_len, ip_id, static_cast<uint8_t>(v.hop_limit - 1), kProtoIcmp, from4, client4);
  uint8_t* eth = ip - kEthHdrLen;
  std::memcpy(eth, macs, sizeof macs);
  store_be16(eth + 12, kEtherTypeIpv4);
  r.verdict = Nat64Verdict::ok;
  r.shift = static_cast<int32_t>(eth - frame);
  r.len = static_cast<uint16_t>(kEthHdrLen + kIpv4HdrLen + icmp_len);
  return r;
}

}  // namespace wp
