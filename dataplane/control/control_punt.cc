// The control thread's side of the punt path (docs/operations.md § Punt path;
// control/linux_cp/punt_interfaces.h for the kernel interfaces).
//
// Up: what a worker handed us for one of our addresses and the control
// thread does not answer itself (ARP, ICMP echo, our own BFD and probes) is
// written to that interface's tap; workers already metered it per protocol
// class. Down: IPv4 the kernel sends out of a tap leaves on the port's
// control tx queue as the kernel framed it, IPv6 too (#19). ARP stays ours
// (RFC 826 is answered from the dataplane's neighbor table): the kernel's
// requests never reach the wire; a known neighbor is answered into the tap,
// an unknown one is resolved on the port and announced into the tap when it
// answers, so the kernel's next hops (BGP peers, OSPF neighbors) resolve to
// what we use. IPv6's Neighbor Discovery likewise (RFC 4861): the kernel's
// solicitations are answered from the IPv6 neighbor cache or resolved on the
// port, its advertisements, router solicitations and MLD reports stay in the
// tap (the dataplane answers for the addresses and the ports are promiscuous).
#include <rte_arp.h>

#include <algorithm>
#include <cstring>

#include "dataplane/control/arp_frame.h"
#include "dataplane/control/control_thread.h"
#include "dataplane/control/linux_cp/punt_interfaces.h"
#include "dataplane/ip/ndp.h"
#include "dataplane/ip/packet_edit.h"
#include "dataplane/ipsec/esp_sa.h"

namespace wp {

void Control::punt_up(rte_mbuf* m, int iface) {
  if (!punt_->to_kernel(iface, m)) return drop(m, DropReason::punt_kernel_full);
  counters().add(Counter::punt_to_kernel);
}

// A tunnel's tap is a TUN device: the decrypted frame loses its Ethernet
// header (the worker put a blank one there) on the way up.
void Control::punt_tunnel_up(rte_mbuf* m, int tunnel) {
  if (!punt_ || !punt_->has_tunnel(tunnel)) return drop(m, DropReason::esp_inner_to_us);
  if (m->data_len <= kEthHdrLen) return drop(m, DropReason::esp_inner_malformed);
  rte_pktmbuf_adj(m, kEthHdrLen);
  if (!punt_->tunnel_to_kernel(tunnel, m)) return drop(m, DropReason::punt_kernel_full);
  counters().add(Counter::punt_to_kernel);
}

void Control::set_punt(PuntInterfaces* p) {
  punt_ = p;
  tunnel_links_ = TunnelLinks(p ? p->tunnels() : 0);
}

uint32_t Control::punt_poll() {
  uint32_t handled = 0;
  // A tunnel's kernel interface is down while the tunnel has no outbound SA
  // (one pointer compare unless the IKE service published a new table).
  tunnel_links_.follow(
      shared_.esp.load(std::memory_order_acquire), [this](int t) { return punt_->has_tunnel(t); },
      [this](int t, bool up) { return punt_->set_tunnel_link(t, up); });
  rte_mbuf* pkts[kMaxBurst];
  for (size_t i = 0; i < punt_->size(); ++i) {
    const int iface = static_cast<int>(i);
    uint16_t n = punt_->from_kernel(iface, pkts, kMaxBurst);
    for (uint16_t k = 0; k < n; ++k) kernel_frame(pkts[k], iface);
    handled += n;
  }
  for (size_t i = 0; i < punt_->tunnels(); ++i) {
    const int tunnel = static_cast<int>(i);
    if (!punt_->has_tunnel(tunnel)) continue;
    uint16_t n = punt_->tunnel_from_kernel(tunnel, pkts, kMaxBurst);
    for (uint16_t k = 0; k < n; ++k) kernel_tunnel_packet(pkts[k], tunnel);
    handled += n;
  }
  return handled;
}

// IPv4 or IPv6 the kernel sent into a tunnel: a frame again (the workers
// parse frames), then through the dispatcher to the tunnel's owner for
// sealing. A TUN is point to point: the kernel's Neighbor Discovery and MLD
// on it (it joins groups with IPv6 on) mean nothing to the site and stay.
void Control::kernel_tunnel_packet(rte_mbuf* m, int tunnel) {
  if (!dispatcher_) return drop(m, DropReason::punt_kernel_unsent);
  if (m->nb_segs != 1 && rte_pktmbuf_linearize(m) != 0) return drop(m, DropReason::punt_kernel_unsent);
  const bool ipv6 = m->data_len > 0 && (rte_pktmbuf_mtod(m, const uint8_t*)[0] >> 4) == 6;
  auto* eth = reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(m, kEthHdrLen));
  if (!eth) return drop(m, DropReason::punt_kernel_unsent);
  std::memset(eth, 0, 12);
  store_be16(eth + 12, ipv6 ? kEtherTypeIpv6 : kEtherTypeIpv4);
  if (ipv6) {
    const Ipv6View v = parse_ipv6_packet(pkt_data(m), m->data_len, kEthHdrLen);
    if (v.status == Ipv6Status::ok && v.proto == kProtoIcmpv6 && is_nd_or_mld(pkt_data(m)[v.l4])) {
      counters().add(Counter::punt_nd_absorbed);
      return rte_pktmbuf_free(m);
    }
  }
  dispatcher_->tunnel_output(m, static_cast<uint32_t>(tunnel));
}

void Control::kernel_frame(rte_mbuf* m, int iface) {
  if (m->nb_segs != 1 && rte_pktmbuf_linearize(m) != 0) return drop(m, DropReason::punt_kernel_unsent);
  ParsedPacket pp = parse_packet(pkt_data(m), m->data_len);
  if (pp.status == ParseStatus::arp) return kernel_arp(m, pp, iface);
  if (pp.status == ParseStatus::not_ipv4 && m->data_len >= kEthHdrLen &&
      load_be16(pkt_data(m) + 12) == kEtherTypeIpv6) {
    const Ipv6View v = parse_ipv6_packet(pkt_data(m), m->data_len, kEthHdrLen);
    if (v.status != Ipv6Status::ok && v.status != Ipv6Status::fragment) return drop(m, DropReason::punt_kernel_unsent);
    if (v.status == Ipv6Status::ok && v.proto == kProtoIcmpv6 && kernel_icmp6(m, v, iface)) return;
  } else if (pp.status != ParseStatus::ipv4 && pp.status != ParseStatus::fragment) {
    return drop(m, DropReason::punt_kernel_unsent);
  }
  counters().add(Counter::punt_from_kernel);
  const InterfaceModel& out = model().interfaces[iface];
  if (tx_(tx_ctx_, out.port_id, tx_queue_, &m, 1) != 1) return drop(m, DropReason::tx_full);
  counters().add(Counter::tx_packets);
}

// The kernel asks who has an address: answer from our table, or resolve it
// on the wire (neighbor_learned() tells the kernel once it answers). Its
// gratuitous ARP and address probes are ours to send, not its.
void Control::kernel_arp(rte_mbuf* m, const ParsedPacket& pp, int iface) {
  const ArpFields& a = pp.arp;
  rte_pktmbuf_free(m);
  if (a.op != RTE_ARP_OP_REQUEST || a.spa == 0 || a.spa == a.tpa) return;
  if (!model().interfaces[iface].subnet.contains(a.tpa)) return;
  uint8_t mac[6];
  if (shared_.neighbors.lookup(iface, a.tpa, mac)) return kernel_arp_reply(iface, a.tpa, mac);
  if (resolving(iface, a.tpa)) return;
  // The kernel's own resolutions (no packet of ours waits) take a bounded
  // share of the pending list: SYN-ACKs to a spoofed SYN flood's sources
  // must not crowd out the next hops that forwarded traffic waits for.
  auto kernel_only = [](const Pending& p) { return p.packets.empty(); };
  if (pending_.size() >= kMaxPendingNeighbors ||
      static_cast<size_t>(std::count_if(pending_.begin(), pending_.end(), kernel_only)) >= kMaxKernelResolving)
    return counters().add(Counter::punt_arp_deferred);
  pending_.push_back({iface, a.tpa, now_ms_, 1, {}});
  send_arp(iface, RTE_ARP_OP_REQUEST, kZeroMacAddr, a.tpa);
}

// An ARP reply from `addr` at `mac` to the kernel interface: it fills the
// kernel's entry (incomplete, stale or probing) for `addr` with our answer.
void Control::kernel_arp_reply(int iface, Ipv4 addr, const uint8_t* mac) {
  const InterfaceModel& in = model().interfaces[iface];
  rte_mbuf* m = rte_pktmbuf_alloc(pool_);
  if (!m) return;
  auto* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, kArpFrameLen));
  if (!p) return rte_pktmbuf_free(m);
  std::memset(p, 0, kArpFrameLen);
  std::memcpy(p, in.mac, 6);
  std::memcpy(p + 6, mac, 6);
  write_arp(p, RTE_ARP_OP_REPLY, mac, addr, in.mac, in.addr);
  if (!punt_->to_kernel(iface, m)) return drop(m, DropReason::punt_kernel_full);
  counters().add(Counter::punt_arp_answered);
}

// ICMPv6 the kernel sent: Neighbor Discovery and MLD are consumed here (true),
// the rest (echo, errors) leaves like any IPv6 (false).
bool Control::kernel_icmp6(rte_mbuf* m, const Ipv6View& v, int iface) {
  const uint8_t* icmp = pkt_data(m) + v.l4;
  if (!is_nd_or_mld(icmp[0])) return false;
  NdMessage nd;
  if (icmp[0] == kNdNeighborSolicit && parse_nd(icmp, v.end - v.l4, v.src, v.dst, v.hop_limit, nd) == NdStatus::ok &&
      !v.src.is_unspecified())
    kernel_solicit(v, nd, iface);
  else  // its DAD (off: accept_dad 0), a malformed solicitation, advertisements, MLD
    counters().add(Counter::punt_nd_absorbed);
  rte_pktmbuf_free(m);
  return true;
}

// The kernel resolves (or probes) an on-link neighbor: answered from our
// cache, else resolved on the port (neighbor6_learned() tells the kernel),
// within the share of resolutions only the kernel asked for.
void Control::kernel_solicit(const Ipv6View& v, const NdMessage& nd, int iface) {
  const InterfaceModel& in = model().interfaces[iface];
  if (in.holds6(nd.target) || !in.on_link6(nd.target)) return counters().add(Counter::punt_nd_absorbed);
  uint8_t mac[6];
  if (shared_.neighbors6.lookup(iface, nd.target, mac)) return kernel_advert(iface, nd.target, mac, v.src);
  auto same = [&](const Pending6& p) { return p.iface == iface && p.addr == nd.target; };
  if (std::any_of(pending6_.begin(), pending6_.end(), same)) return;
  auto kernel_only = [](const Pending6& p) { return p.packets.empty(); };
  if (pending6_.size() >= kMaxPendingNeighbors ||
      static_cast<size_t>(std::count_if(pending6_.begin(), pending6_.end(), kernel_only)) >= kMaxKernelResolving)
    return counters().add(Counter::punt_nd_deferred);
  switch (shared_.neighbors6.begin(iface, nd.target, now_ms_)) {
    case Neighbor6Table::Begun::full: return counters().add(Counter::punt_nd_deferred);
    case Neighbor6Table::Begun::started: send_solicit(iface, nd.target, nullptr); break;
    case Neighbor6Table::Begun::known: break;  // INCOMPLETE already: its solicitations run
  }
  pending6_.push_back({iface, nd.target, {}});
}

// An advertisement of neighbor `addr` at `mac` into the kernel interface: to
// `to` (solicited), or to all-nodes (unsolicited, Override: the kernel takes
// it for an entry it holds, incomplete or stale, RFC 4861 § 7.2.5).
void Control::kernel_advert(int iface, const Ipv6& addr, const uint8_t* mac, const Ipv6& to) {
  const InterfaceModel& in = model().interfaces[iface];
  rte_mbuf* m = rte_pktmbuf_alloc(pool_);
  if (!m) return;
  auto* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, kNdFrameLen));
  if (!p) return rte_pktmbuf_free(m);
  uint8_t to_mac[6];
  if (to.is_multicast())
    multicast_mac_of(to, to_mac);
  else
    std::memcpy(to_mac, in.mac, 6);
  write_advert(p, mac, addr, to, to_mac, to.is_multicast() ? kNaOverride : kNaSolicited | kNaOverride);
  if (!punt_->to_kernel(iface, m)) return drop(m, DropReason::punt_kernel_full);
  counters().add(Counter::punt_nd_answered);
}

}  // namespace wp
