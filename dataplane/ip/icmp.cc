// ICMP errors; see icmp.h.
#include "dataplane/ip/icmp.h"

#include <cstring>

#include "dataplane/ip/checksum.h"
#include "dataplane/ip/packet.h"

namespace wp {

rte_mbuf* build_icmp_frag_needed(rte_mempool* pool, const uint8_t* ip, uint16_t quote, Ipv4 src, Ipv4 dst,
                                 uint16_t mtu) {
  rte_mbuf* c = rte_pktmbuf_alloc(pool);
  auto* f = c ? reinterpret_cast<uint8_t*>(rte_pktmbuf_append(c, kEthHdrLen + 20 + 8 + quote)) : nullptr;
  if (f == nullptr) {
    if (c) rte_pktmbuf_free(c);
    return nullptr;
  }
  std::memset(f, 0, kEthHdrLen + 20 + 8);
  uint8_t* rip = f + kEthHdrLen;
  rip[0] = 0x45;
  store_be16(rip + 2, static_cast<uint16_t>(20 + 8 + quote));
  rip[8] = 64;
  rip[9] = kProtoIcmp;
  store_be32(rip + 12, src);
  store_be32(rip + 16, dst);
  store_be16(rip + 10, ipv4_header_checksum(rip));
  uint8_t* icmp = rip + 20;
  icmp[0] = 3;  // destination unreachable
  icmp[1] = 4;  // fragmentation needed and DF set
  store_be16(icmp + 6, mtu);
  std::memcpy(icmp + 8, ip, quote);
  store_be16(icmp + 2, csum_fold(csum_partial(icmp, 8u + quote)));
  return c;
}

}  // namespace wp
