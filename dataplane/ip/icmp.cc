// ICMP errors; see icmp.h.
#include "dataplane/ip/icmp.h"

#include <algorithm>
#include <cstring>

#include "dataplane/ip/checksum.h"
#include "dataplane/ip/nat64_packet.h"
#include "dataplane/ip/packet.h"

namespace wp {

rte_mbuf* build_icmp4_error(rte_mempool* pool, const uint8_t* ip, uint16_t quote, Ipv4 src, Ipv4 dst, uint8_t type,
                            uint8_t code, uint32_t rest) {
  rte_mbuf* c = rte_pktmbuf_alloc(pool);
  auto* f = c ? reinterpret_cast<uint8_t*>(rte_pktmbuf_append(c, kEthHdrLen + 20 + 8 + quote)) : nullptr;
  if (f == nullptr) {
    if (c) rte_pktmbuf_free(c);
    return nullptr;
  }
  c->hash.sched = {};  // a recycled mbuf keeps its last packet's QoS class: none (worker/qos_tx.h)
  std::memset(f, 0, kEthHdrLen + 20 + 8);
  store_be16(f + 12, kEtherTypeIpv4);  // a frame that parses as IPv4 before Tx writes its L2 (into a tunnel)
  uint8_t* rip = f + kEthHdrLen;
  rip[0] = 0x45;
  store_be16(rip + 2, static_cast<uint16_t>(20 + 8 + quote));
  rip[8] = 64;
  rip[9] = kProtoIcmp;
  store_be32(rip + 12, src);
  store_be32(rip + 16, dst);
  store_be16(rip + 10, ipv4_header_checksum(rip));
  uint8_t* icmp = rip + 20;
  icmp[0] = type;
  icmp[1] = code;
  store_be32(icmp + 4, rest);
  std::memcpy(icmp + 8, ip, quote);
  store_be16(icmp + 2, csum_fold(csum_partial(icmp, 8u + quote)));
  return c;
}

bool icmp6_error_allowed(const uint8_t* frame, const Ipv6View& v) {
  if (v.dst.is_multicast() || v.src.is_multicast() || v.src.is_unspecified()) return false;
  if (v.proto != kProtoIcmpv6) return true;
  // A fragment other than the first has no ICMPv6 header to look at: not an error we can tell, so none.
  if (v.frag.present && v.frag.offset != 0) return false;
  if (v.end < v.l4 + 1) return false;
  const uint8_t type = frame[v.l4];
  return type >= 128 && type != 137;  // 0-127: errors; 137: Redirect (RFC 4443 § 2.4 (e.2))
}

rte_mbuf* build_icmp6_error(rte_mempool* pool, const uint8_t* ip, uint32_t len, const Ipv6& src, const Ipv6& dst,
                            uint8_t type, uint8_t code, uint32_t rest) {
  const uint32_t quote = std::min<uint32_t>(len, kIcmp6ErrorMax - kIpv6HdrLen - 8);
  const uint32_t payload = 8 + quote;
  rte_mbuf* c = rte_pktmbuf_alloc(pool);
  auto* f =
      c ? reinterpret_cast<uint8_t*>(rte_pktmbuf_append(c, static_cast<uint16_t>(kEthHdrLen + kIpv6HdrLen + payload)))
        : nullptr;
  if (f == nullptr) {
    if (c) rte_pktmbuf_free(c);
    return nullptr;
  }
  c->hash.sched = {};  // as build_icmp4_error
  std::memset(f, 0, kEthHdrLen + kIpv6HdrLen + 8);
  store_be16(f + 12, kEtherTypeIpv6);
  uint8_t* h = f + kEthHdrLen;
  store_be32(h, 0x60000000u);
  store_be16(h + 4, static_cast<uint16_t>(payload));
  h[6] = kProtoIcmpv6;
  h[7] = kIcmp6ErrorHopLimit;
  store_ipv6(h + 8, src);
  store_ipv6(h + 24, dst);
  uint8_t* icmp = h + kIpv6HdrLen;
  icmp[0] = type;
  icmp[1] = code;
  store_be32(icmp + 4, rest);
  std::memcpy(icmp + 8, ip, quote);
  store_be16(icmp + 2, l4_checksum6(src, dst, kProtoIcmpv6, icmp, payload));
  return c;
}

}  // namespace wp
