// IPv6 frames at a worker; see ipv6_input.h.
#include "dataplane/worker/ipv6_input.h"

#include <algorithm>
#include <cstring>
#include <new>

#include "dataplane/control/waypoint6_addr.h"
#include "dataplane/ip/icmp.h"  // kIcmp6PacketTooBig
#include "dataplane/ip/ndp.h"
#include "dataplane/ip/router_advert.h"
#include "dataplane/ip/packet.h"
#include "dataplane/ip/packet_edit.h"
#include "dataplane/ipsec/esp_sa.h"
#include "dataplane/paths/path_monitor.h"
#include "dataplane/worker/ipv6_drops.h"

namespace wp {
namespace {
constexpr uint16_t kIkeUdpPort = 500;  // RFC 7296 § 2 (4500: kIkeNattPort)
}  // namespace

void Ipv6Input::input(rte_mbuf* m, int iface) {
  BurstArray<Route6Step::Staged, 1> s;
  if (stage(m, iface, s[0])) route6_.process(s[0]);
}

bool Ipv6Input::stage(rte_mbuf* m, int iface, Route6Step::Staged& out) {
  // A reassembled NAT64 datagram another worker handed here: always a chain (Nat64Step::chain);
  // received chains were linearized (Worker::dispatch).
  if (m->nb_segs > 1) return nat64_.whole6(m, iface), false;
  const uint8_t* d = pkt_data(m);
  if (m->data_len < kEthHdrLen || load_be16(d + 12) != kEtherTypeIpv6) return ctx_.drop(m, DropReason::not_ipv4), false;
  // Parsed straight into the staged entry (no copy of the parse state, as Worker::dispatch's IPv4).
  Route6Step::Staged& s = *::new (&out) Route6Step::Staged{m, parse_ipv6_packet(d, m->data_len, kEthHdrLen), iface, 0};
  const Ipv6View& v = s.v;
  const InterfaceModel& in = ctx_.rm().interfaces[iface];
  if (v.status == Ipv6Status::fragment) {  // NAT64's and SVR sessions' are reassembled; others are not routed
    if (!in.wan && std::memcmp(d, in.mac, 6) == 0 && nat64_.fragment6(m, v, iface)) return false;
    if (std::memcmp(d, in.mac, 6) == 0 && nat46_.fragment6(m, v)) return false;
    if (in.wan || std::memcmp(d, in.mac, 6) != 0 || !svr6_fragments_.wants(v, iface))
      return ctx_.drop(m, DropReason::not_ipv4), false;
    if (!svr6_fragments_.take(m, v)) return false;  // handed to its datagram's worker, held or dropped
    d = pkt_data(m);  // whole, the frame rewritten from the headroom on: on as any packet
    s.v = parse_ipv6_packet(d, m->data_len, kEthHdrLen);
  }
  if (v.status != Ipv6Status::ok) return ctx_.drop(m, ipv6_drop_reason(v.status)), false;
  if (v.proto == kProtoIcmpv6 && for_control(d, v, in, iface)) return to_control(m, iface, d[v.l4]), false;
  // Other listeners' MLD reports and dones (snooping switches flood them to routers' ports):
  // we listen (control/mld_listener.h), we are not an MLD querier.
  if (v.proto == kProtoIcmpv6 && v.dst.is_multicast() && is_mld_report(d[v.l4]))
    return ctx_.drop(m, DropReason::mld_not_query), false;
  // IKE over IPv6 (docs/ipsec.md § IPv6 outer addresses): UDP 500/4500 to one of
  // this WAN interface's addresses (or the HA peer's we hold after a takeover: docs/ipsec.md
  // § HA), not ESP (EspStep took that), to the IKE service.
  if (v.proto == kProtoUdp && in.wan && (v.dport == kIkeUdpPort || v.dport == kIkeNattPort) &&
      (in.holds6(v.dst) || ctx_.shared.ha.holds_peer_address6(v.dst, iface)))
    return to_control_ring(m), false;
  // BFD and path probes between IPv6 waypoints (paths/path_monitor.h): the control thread's.
  if (v.proto == kProtoUdp && (v.dport == kBfdPort || v.dport == kPathProbePort) && in.wan) [[unlikely]] {
    if (const Ipv6* own = waypoint6_own(ctx_.rm(), iface); own && v.dst == *own) return to_control_ring(m), false;
  }
  // NAT64: from a LAN host to us as its router (ports are promiscuous: not another router's traffic).
  if (!in.wan && std::memcmp(d, in.mac, 6) == 0 && nat64_.input6(m, v, iface)) return false;
  // NAT46: a server's reply (or ICMPv6 error) to a client written under a source prefix.
  if (std::memcmp(d, in.mac, 6) == 0 && nat46_.input6(m, v)) return false;
  // Routed with sessions (route6_step.h), when a service has IPv6 prefixes.
  if (std::memcmp(d, in.mac, 6) == 0) {
    switch (route6_.classify(s)) {
      case Route6Step::Classified::not_routed: break;
      case Route6Step::Classified::done: return false;
      case Route6Step::Classified::staged: return true;
    }
  }
  // Not routed: the router's own (route6_ leaves our addresses alone) goes up the punt path
  // when it is on, after the routed traffic's checks so that those pay nothing for it.
  if (ctx_.rm().punt.enabled && for_kernel(v)) {
    if (punt_.admit(m, punt_class(v.proto, v.sport, v.dport, v.tcp_flags))) to_control_ring(m);
    return false;
  }
  ctx_.drop(m, DropReason::not_ipv4);
  return false;
}

bool Ipv6Input::for_control(const uint8_t* d, const Ipv6View& v, const InterfaceModel& in, int iface) {
  switch (d[v.l4]) {
    case kIcmp6EchoRequest: return in.holds6(v.dst);
    case kNdNeighborSolicit: {
      if (v.end - v.l4 < 24) return false;  // the control thread's rules would drop it; not worth the ring
      const Ipv6 target = load_ipv6(d + v.l4 + 8);
      // Another host's resolution, seen in promiscuous mode, unless it asks for an HA peer's
      // address we hold (#19: the control thread answers for it).
      if (!in.holds6(target) && !ctx_.shared.ha.holds_peer_address6(target, iface)) return false;
      return v.dst == target || v.dst == solicited_node_of(target);
    }
    case kNdNeighborAdvert: return in.holds6(v.dst) || v.dst == kAllNodes;
    // About our ESP over IPv6, perhaps (docs/ipsec.md § IPv6 outer addresses): the control
    // thread checks what it quotes (to any of our addresses, so that a forged one is counted).
    case kIcmp6PacketTooBig: return in.holds6(v.dst) || ctx_.shared.ha.holds_peer_address6(v.dst, iface);
    // Router Solicitations, on an interface that advertises (ip/router_advert.h).
    case kNdRouterSolicit: return in.ra.enabled && (v.dst == kAllRouters || in.holds6(v.dst));
    // MLD queries (RFC 3810 § 5.1.15: general ones to all-nodes, others to the group) on an
    // interface with IPv6: the control thread's listener answers (control/mld_listener.h).
    case kMldQuery: return in.addrs6.size() > 1 && (v.dst.is_multicast() || in.holds6(v.dst));
    default: return false;
  }
}

// Unicast to one of the router's addresses (any interface's, as IPv4's own
// addresses), or link-scope multicast other than ICMPv6.
bool Ipv6Input::for_kernel(const Ipv6View& v) const {
  if (v.dst.is_multicast()) return (v.dst.hi >> 48) == 0xff02 && v.proto != kProtoIcmpv6;
  const RouterModel& rm = ctx_.rm();
  return std::any_of(rm.interfaces.begin(), rm.interfaces.end(),
                     [&](const InterfaceModel& in) { return in.holds6(v.dst); });
}

void Ipv6Input::to_control(rte_mbuf* m, int iface, uint8_t type) {
  // Packet Too Big in a bucket of its own (rate_limit.h): a flood of them leaves NS/NA alone.
  if (type == kIcmp6PacketTooBig) {
    if (!ctx_.path_mtu_errors.admit(iface, ctx_.now_ms)) return ctx_.drop(m, DropReason::icmp_path_mtu_rate_limited);
    return to_control_ring(m);
  }
  if (!nd_rate_[static_cast<size_t>(iface) % kNdPorts].take(ctx_.now_ms, kNdPerSecond, kNdBurst))
    return ctx_.drop(m, DropReason::nd_rate_limited);
  to_control_ring(m);
}

void Ipv6Input::to_control_ring(rte_mbuf* m) {
  if (rte_ring_sp_enqueue(ctx_.shared.to_control[ctx_.id], m) != 0) return ctx_.drop(m, DropReason::control_full);
  ctx_.counters->add(Counter::to_control);
}

}  // namespace wp
