// NAT64 header translation; see nat64_packet.h.
#include "dataplane/ip/nat64_packet.h"

#include <cstring>

#include "dataplane/ip/checksum.h"

namespace wp {
namespace {

constexpr uint8_t kIcmpEchoRequest = 8, kIcmpEchoReply = 0;
constexpr uint8_t kIcmp6EchoRequest = 128, kIcmp6EchoReply = 129;
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

}  // namespace wp
