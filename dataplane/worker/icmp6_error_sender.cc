#include "dataplane/worker/icmp6_error_sender.h"

#include "dataplane/ip/icmp.h"

namespace wp {

void Icmp6ErrorSender::send(const rte_mbuf* m, const Ipv6View& v, int iface, const Ipv6& next_hop, uint8_t type,
                            uint8_t code, uint32_t rest, Counter sent) {
  const uint8_t* d = rte_pktmbuf_mtod(m, const uint8_t*);
  if (iface < 0 || !icmp6_error_allowed(d, v)) return;
  const Ipv6 from = ctx_.rm().interfaces[static_cast<size_t>(iface)].source6_for(next_hop);
  if (from.is_unspecified()) return;  // no IPv6 address on the link: nothing to speak from
  relay(m->pool, d + v.l3, static_cast<uint32_t>(v.end - v.l3), from, v.src, iface, next_hop, type, code, rest, sent);
}

void Icmp6ErrorSender::relay(rte_mempool* pool, const uint8_t* quote, uint32_t len, const Ipv6& from, const Ipv6& to,
                             int iface, const Ipv6& next_hop, uint8_t type, uint8_t code, uint32_t rest, Counter sent) {
  if (iface < 0) return;
  if (rte_mbuf* e = relayed(pool, quote, len, from, to, type, code, rest, sent)) tx_.transmit6(e, iface, next_hop);
}

rte_mbuf* Icmp6ErrorSender::relayed(rte_mempool* pool, const uint8_t* quote, uint32_t len, const Ipv6& from,
                                    const Ipv6& to, uint8_t type, uint8_t code, uint32_t rest, Counter sent) {
  if (!rate_.take(ctx_.now_ms, kIcmpErrorRate, kIcmpErrorRateBurst)) {
    ctx_.counters->add(rate_limited_);
    return nullptr;
  }
  rte_mbuf* e = build_icmp6_error(pool, quote, len, from, to, type, code, rest);
  ctx_.counters->add(e ? sent : no_mbuf_);
  return e;
}

}  // namespace wp
