#include "dataplane/worker/icmp6_error_sender.h"

#include "dataplane/ip/icmp.h"
#include "dataplane/worker/esp_step.h"

namespace wp {

Ipv6 link_source6(const RouterModel& rm, int iface, const Ipv6& next_hop) {
  if (iface >= 0) return rm.interfaces[static_cast<size_t>(iface)].source6_for(next_hop);
  const uint32_t tunnel = iface == kRoute6Tunnel ? tunnel_of_hop6(next_hop) : UINT32_MAX;
  return tunnel < rm.tunnels.size() ? rm.tunnels[tunnel].addr6 : Ipv6{};
}

void Icmp6ErrorSender::send(const rte_mbuf* m, const Ipv6View& v, int iface, const Ipv6& next_hop, uint8_t type,
                            uint8_t code, uint32_t rest, Counter sent) {
  const uint8_t* d = rte_pktmbuf_mtod(m, const uint8_t*);
  if ((iface < 0 && iface != kRoute6Tunnel) || !icmp6_error_allowed(d, v)) return;
  const Ipv6 from = link_source6(ctx_.rm(), iface, next_hop);
  if (from.is_unspecified()) {  // no IPv6 address on the link: nothing to speak from
    if (iface == kRoute6Tunnel && type == kIcmp6PacketTooBig) ctx_.counters->add(Counter::tunnel_frag_needed_unsent);
    return;
  }
  relay(m->pool, d + v.l3, static_cast<uint32_t>(v.end - v.l3), from, v.src, iface, next_hop, type, code, rest, sent);
}

void Icmp6ErrorSender::relay(rte_mempool* pool, const uint8_t* quote, uint32_t len, const Ipv6& from, const Ipv6& to,
                             int iface, const Ipv6& next_hop, uint8_t type, uint8_t code, uint32_t rest, Counter sent) {
  if (iface < 0 && iface != kRoute6Tunnel) return;
  if (!rate_.take(ctx_.now_ms, kIcmpErrorRate, kIcmpErrorRateBurst)) {
    ctx_.counters->add(rate_limited_);
    return;
  }
  rte_mbuf* e = build_icmp6_error(pool, quote, len, from, to, type, code, rest);
  ctx_.counters->add(e ? sent : no_mbuf_);
  if (!e) return;
  if (iface != kRoute6Tunnel) return tx_.transmit6(e, iface, next_hop);
  // Sealed by the tunnel's owner, next header 41, as the session's own packets that way.
  if (!esp_) return ctx_.drop(e, DropReason::esp_no_sa);
  esp_->output6(e, parse_ipv6_packet(rte_pktmbuf_mtod(e, const uint8_t*), e->data_len, kEthHdrLen),
                tunnel_of_hop6(next_hop));
}

}  // namespace wp
