// Transmit buffers; see tx.h.
#include "dataplane/worker/tx.h"

#include <rte_ethdev.h>

#include <cstring>

#include "dataplane/ip/ipv6.h"
#include "dataplane/ip/packet.h"
#include "dataplane/ip/packet_edit.h"
#include "dataplane/worker/eth_tx_burst.h"

namespace wp {

Tx::Tx(WorkerContext& ctx, QosTx* qos) : ctx_(ctx), qos_(qos), fn_(eth_tx_burst_fn) {
  if (ctx.model) buffers_.resize(ctx.model->interfaces.size());
}

inline void Tx::write_l2(uint8_t* eth, int iface, uint16_t ethertype) const {
  std::memcpy(eth + 6, ctx_.rm().interfaces[iface].mac, 6);
  store_be16(eth + 12, ethertype);
}

inline void Tx::queue(rte_mbuf* m, int iface) {
  Buffer& buf = buffers_[static_cast<size_t>(iface)];
  buf.pkts[buf.count++] = m;
  if (buf.count == kMaxBurst) send(static_cast<size_t>(iface));
}

inline void Tx::queue_or_shape(rte_mbuf* m, int iface) {
  if (qos_) {
    if (const int q = qos_->port_of(iface); q >= 0) [[unlikely]]
      return qos_->submit(m, q);  // a shaped WAN port, either family: its scheduler decides when
  }
  queue(m, iface);
}

void Tx::transmit(rte_mbuf* m, int iface, Ipv4 next_hop) {
  // Byte access, not rte_ether_hdr: a metadata block of odd length prepended
  // through the headroom leaves the frame at an odd address.
  uint8_t* eth = pkt_data(m);
  if (!ctx_.shared.neighbors.use(iface, next_hop, eth, ctx_.now_ms, hint_for(iface, next_hop))) {
    mark_resolve(m, iface, next_hop);
    if (rte_ring_sp_enqueue(ctx_.shared.resolve[ctx_.id], m) != 0) ctx_.drop(m, DropReason::control_full);
    return;
  }
  write_l2(eth, iface, kEtherTypeIpv4);
  queue_or_shape(m, iface);
}

void Tx::transmit6(rte_mbuf* m, int iface) {
  uint8_t* eth = pkt_data(m);
  if (!ctx_.shared.neighbors6.use(iface, load_ipv6(eth + kEthHdrLen + 24), eth, ctx_.now_ms)) {
    mark_resolve6(m, iface);
    if (rte_ring_sp_enqueue(ctx_.shared.resolve[ctx_.id], m) != 0) ctx_.drop(m, DropReason::control_full);
    return;
  }
  write_l2(eth, iface, kEtherTypeIpv6);
  queue_or_shape(m, iface);
}

void Tx::transmit6(rte_mbuf* m, int iface, const Ipv6& next_hop) {
  uint8_t* eth = pkt_data(m);
  if (!ctx_.shared.neighbors6.use(iface, next_hop, eth, ctx_.now_ms, hint6_for(iface, next_hop))) {
    // An on-link next hop (a peer's IPv6 waypoint on the WAN's link) is the header's own
    // destination: nothing to keep. A gateway's address goes in the headroom, which a first
    // packet's metadata block may have used up (open_gap prefers it): the frame moves
    // toward the tail first. Dropping it instead sent no solicitation, and every
    // retransmission carries the block again (#19, test_ha6.sh).
    if (next_hop == load_ipv6(eth + kEthHdrLen + 24))
      mark_resolve6(m, iface);
    else if (!make_headroom(m, kResolveIpv6ViaBytes) || !mark_resolve6_via(m, iface, next_hop))
      return ctx_.drop(m, DropReason::nd_unresolved);
    if (rte_ring_sp_enqueue(ctx_.shared.resolve[ctx_.id], m) != 0) ctx_.drop(m, DropReason::control_full);
    return;
  }
  write_l2(eth, iface, kEtherTypeIpv6);
  queue_or_shape(m, iface);
}

void Tx::flush() {
  for (size_t i = 0; i < buffers_.size(); ++i)
    if (buffers_[i].count) send(i);
}

void Tx::send(size_t iface) {
  Buffer& buf = buffers_[iface];
  uint16_t sent = fn_(io_ctx_, ctx_.rm().interfaces[iface].port_id, queue_, buf.pkts, buf.count);
  ctx_.counters->add(Counter::tx_packets, sent);
  for (uint16_t k = sent; k < buf.count; ++k) ctx_.drop(buf.pkts[k], DropReason::tx_full);
  buf.count = 0;
}

}  // namespace wp
