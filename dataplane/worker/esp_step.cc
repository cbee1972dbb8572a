// ESP in the worker loop; see esp_step.h.
#include "dataplane/worker/esp_step.h"

#include <cstring>

#include "dataplane/crypto/session_data.h"
#include "dataplane/ip/packet_edit.h"
#include "dataplane/ipsec/esp_input.h"
#include "dataplane/ipsec/esp_output.h"

namespace wp {

static_assert(kEspCounterTunnels == kMaxEspTunnels);
static_assert(kMaxEspTunnels <= 0x3fff, "the tunnel index must fit the mbuf port marker");

uint32_t esp_spi_of(const rte_mbuf* m, const ParsedPacket& pp) {
  if (pp.status != ParseStatus::ipv4) return 0;
  if (pp.proto != kIpProtoEsp && !(pp.proto == kProtoUdp && pp.dport == kIkeNattPort)) return 0;
  return esp_spi(pkt_data(const_cast<rte_mbuf*>(m)) + pp.l3, pp.end - pp.l3);
}

uint32_t EspStep::spi6_of(const rte_mbuf* m, int iface) const {
  if (iface < 0 || !enabled()) return 0;
  const InterfaceModel& itf = ctx_.rm().interfaces[static_cast<size_t>(iface)];
  const uint8_t* d = pkt_data(const_cast<rte_mbuf*>(m));
  if (!itf.wan || m->data_len < kEthHdrLen + kIpv6HdrLen || load_be16(d + 12) != kEtherTypeIpv6) return 0;
  const uint32_t spi = esp_spi(d + kEthHdrLen, m->data_len - kEthHdrLen);
  if (!spi) return 0;
  // To one of ours, or to the HA peer's IPv6 address we hold after a takeover (docs/ipsec.md § HA).
  const Ipv6 dst = load_ipv6(d + kEthHdrLen + 24);
  return itf.holds6(dst) || ctx_.shared.ha.holds_peer_address6(dst, iface) ? spi : 0;
}

EspStep::EspStep(WorkerContext& ctx, Tx& tx, Handoff& handoff)
    : ctx_(ctx), tx_(tx), handoff_(handoff), state_(std::make_unique<EspWorkerState>()) {
  state_->set_marks(ctx.shared.esp_seq_marks.get());
  if (ctx.shared.esp_sa_counters) state_->set_counters(&ctx.shared.esp_sa_counters[size_t{ctx.id} * kMaxEspSas]);
}

EspStep::~EspStep() = default;

void EspStep::input(rte_mbuf* m, const ParsedPacket& pp) {
  // Opened at the end of every burst (Worker::process_owned), so never full.
  if (n_in_ == kMaxBurst) return ctx_.drop(m, DropReason::esp_no_room);
  rte_pktmbuf_adj(m, pp.l3);  // esp_input_burst takes the outer IPv4 header first
  in_[n_in_++] = m;
}

void EspStep::input6(rte_mbuf* m) {
  if (n_in_ == kMaxBurst) return ctx_.drop(m, DropReason::esp_no_room);
  rte_pktmbuf_adj(m, kEthHdrLen);  // esp_input_burst takes the outer IPv6 header first
  in_[n_in_++] = m;
}

uint16_t EspStep::open_pending(rte_mbuf** inner) {
  if (n_in_ == 0) return 0;
  const uint16_t n = n_in_;
  n_in_ = 0;
  const EspSaTable* table = ctx_.shared.esp.load(std::memory_order_acquire);
  if (!table) {
    for (uint16_t i = 0; i < n; ++i) ctx_.drop(in_[i], DropReason::esp_unknown_spi);
    return 0;
  }
  uint32_t spi[kMaxBurst];
  for (uint16_t i = 0; i < n; ++i) spi[i] = esp_spi(rte_pktmbuf_mtod(in_[i], const uint8_t*), in_[i]->data_len);
  EspResult res[kMaxBurst];
  esp_input_burst(eng_, *table, *state_, in_, n, res);
  uint16_t k = 0;
  for (uint16_t i = 0; i < n; ++i) {
    rte_mbuf* m = in_[i];
    if (!res[i].ok) {
      if (const EspSa* sa = table->inbound(spi[i])) EspTunnelCounters::bump(counters(sa->tunnel)->in_drops);
      ctx_.drop(m, res[i].drop);
      continue;
    }
    EspTunnelCounters* c = counters(res[i].tunnel);
    EspTunnelCounters::bump(c->in_packets);
    EspTunnelCounters::bump(c->in_bytes, m->data_len);
    // A frame again (the session path parses frames); the MACs are never read.
    uint8_t* eth = reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(m, kEthHdrLen));
    if (!eth) {
      ctx_.drop(m, DropReason::esp_no_room);
      continue;
    }
    std::memset(eth, 0, 12);
    store_be16(eth + 12, res[i].ipv6 ? kEtherTypeIpv6 : kEtherTypeIpv4);
    m->port = from_tunnel_port(res[i].tunnel);
    inner[k++] = m;
  }
  return k;
}

void EspStep::clamp(rte_mbuf* m, const ParsedPacket& pp, uint32_t tunnel) {
  if (pp.proto != kProtoTcp || !(pp.tcp_flags & kTcpSyn)) return;
  const uint16_t mtu = ctx_.tunnel_mtu(tunnel);  // less while a learned path MTU holds
  if (mtu == 0) return;
  if (clamp_mss(m, pp, static_cast<uint16_t>(mtu - 40))) ctx_.counters->add(Counter::mss_clamped);
}

void EspStep::clamp6(rte_mbuf* m, const Ipv6View& v, uint32_t tunnel) {
  if (v.proto != kProtoTcp || !(v.tcp_flags & kTcpSyn)) return;
  const uint16_t mtu = ctx_.tunnel_mtu(tunnel, kIpv6MinMtu);
  if (mtu == 0) return;
  // The tunnel MTU less the IPv6 and TCP headers (RFC 8200 § 3, RFC 9293 § 3.7.1).
  if (clamp_mss6(m, v, static_cast<uint16_t>(mtu - 60))) ctx_.counters->add(Counter::mss_clamped);
}

// esp_output_burst takes the inner IPv4 or IPv6 packet alone: no Ethernet header,
// no Ethernet padding after it (a short frame's would be sealed with it).
void EspStep::inner_only(rte_mbuf* m, uint32_t l3, uint32_t end) {
  rte_pktmbuf_trim(m, static_cast<uint16_t>(m->data_len - end));
  rte_pktmbuf_adj(m, static_cast<uint16_t>(l3));
}

void EspStep::output(rte_mbuf* m, const ParsedPacket& pp, uint32_t tunnel) {
  if (tunnel >= ctx_.rm().tunnels.size() || tunnel >= kMaxEspTunnels) return ctx_.drop(m, DropReason::esp_no_sa);
  clamp(m, pp, tunnel);
  const uint32_t owner = owner_of_tunnel(tunnel, ctx_.shared.workers);
  if (owner != ctx_.id) {
    m->port = to_tunnel_port(tunnel);
    return handoff_.stage(m, owner);
  }
  inner_only(m, pp.l3, pp.end);
  queue_out(m, static_cast<uint16_t>(tunnel));
}

void EspStep::output6(rte_mbuf* m, const Ipv6View& v, uint32_t tunnel) {
  if (tunnel >= ctx_.rm().tunnels.size() || tunnel >= kMaxEspTunnels) return ctx_.drop(m, DropReason::esp_no_sa);
  clamp6(m, v, tunnel);
  const uint32_t owner = owner_of_tunnel(tunnel, ctx_.shared.workers);
  if (owner != ctx_.id) {
    m->port = to_tunnel_port(tunnel);
    return handoff_.stage(m, owner);
  }
  inner_only(m, v.l3, v.end);
  queue_out(m, static_cast<uint16_t>(tunnel));
}

void EspStep::output_handed(rte_mbuf* m) {
  const int tunnel = tunnel_to(m->port);
  const uint8_t* d = pkt_data(m);
  if (m->data_len >= kEthHdrLen && load_be16(d + 12) == kEtherTypeIpv6) {  // IPv6 routed into the tunnel
    const Ipv6View v = parse_ipv6_packet(d, m->data_len, kEthHdrLen);
    if (tunnel == kNone || v.status != Ipv6Status::ok) return ctx_.drop(m, DropReason::parse_error);
    inner_only(m, v.l3, v.end);
    return queue_out(m, static_cast<uint16_t>(tunnel));
  }
  const ParsedPacket pp = parse_packet(d, m->data_len);
  // A fragment: a datagram above the tunnel's MTU cut before sealing (svr/fragments.h).
  if (tunnel == kNone || (pp.status != ParseStatus::ipv4 && pp.status != ParseStatus::fragment))
    return ctx_.drop(m, DropReason::parse_error);
  inner_only(m, pp.l3, pp.end);
  queue_out(m, static_cast<uint16_t>(tunnel));
}

// Tx fills in the MACs; the EtherType must be there already, since a frame
// that waits for ARP or Neighbor Discovery leaves from the control thread,
// which writes only the addresses.
bool EspStep::transmit_sealed(rte_mbuf* m, const EspSa& sa, DropReason& why) {
  why = DropReason::esp_no_route;
  if (sa.outer6) {
    const auto r = ctx_.route6(sa.peer6, static_cast<uint32_t>(sa.peer6.lo));
    if (!r || r->iface < 0) return false;
    uint8_t* eth = reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(m, kEthHdrLen));
    if (!eth) return why = DropReason::esp_no_room, false;
    store_be16(eth + 12, kEtherTypeIpv6);
    tx_.transmit6(m, r->iface, route6_via(*r, sa.peer6));
    return true;
  }
  const auto nh = ctx_.route(sa.peer, sa.peer);
  if (!nh || nh->iface < 0) return false;
  uint8_t* eth = reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(m, kEthHdrLen));
  if (!eth) return why = DropReason::esp_no_room, false;
  store_be16(eth + 12, kEtherTypeIpv4);
  tx_.transmit(m, nh->iface, nh->addr);
  return true;
}

bool EspStep::has_outbound(uint32_t tunnel) const {
  const EspSaTable* table = ctx_.shared.esp.load(std::memory_order_acquire);
  return table && table->outbound(tunnel) != nullptr;
}

void EspStep::queue_out(rte_mbuf* m, uint16_t tunnel) {
  out_[n_out_] = m;
  out_tunnel_[n_out_++] = tunnel;
  if (n_out_ == kMaxBurst) seal_pending();
}

void EspStep::seal_pending() {
  if (n_out_ == 0) return;
  const uint16_t n = n_out_;
  n_out_ = 0;
  const EspSaTable* table = ctx_.shared.esp.load(std::memory_order_acquire);
  uint32_t inner_len[kMaxBurst];
  for (uint16_t i = 0; i < n; ++i) inner_len[i] = rte_pktmbuf_pkt_len(out_[i]);
  EspResult res[kMaxBurst];
  if (table) {
    esp_output_burst(eng_, ivs_, *table, *state_, out_, out_tunnel_, n, res);
  } else {
    for (uint16_t i = 0; i < n; ++i) res[i] = EspResult{false, DropReason::esp_no_sa, 0};
  }
  for (uint16_t i = 0; i < n; ++i) {
    rte_mbuf* m = out_[i];
    EspTunnelCounters* c = counters(out_tunnel_[i]);
    if (!res[i].ok) {
      EspTunnelCounters::bump(c->out_drops);
      ctx_.drop(m, res[i].drop);
      continue;
    }
    if (DropReason why; !transmit_sealed(m, *state_->sealing(*table, out_tunnel_[i]), why)) {
      EspTunnelCounters::bump(c->out_drops);
      ctx_.drop(m, why);
      continue;
    }
    EspTunnelCounters::bump(c->out_packets);
    EspTunnelCounters::bump(c->out_bytes, inner_len[i]);
  }
}

}  // namespace wp
