// IPv6 sessions between IPv6 waypoints; see waypoint6.h.
#include "dataplane/svr/waypoint6.h"

#include "dataplane/control/waypoint6_addr.h"
#include "dataplane/ip/checksum.h"
#include "dataplane/ip/ipv6.h"
#include "dataplane/ip/nat64_packet.h"
#include "dataplane/ip/packet_edit.h"
#include "dataplane/paths/path_table.h"
#include "dataplane/session/owner.h"
#include "dataplane/svr/session_setup.h"

namespace wp {

bool bind_waypoint6(WorkerContext& ctx, Session& s, int peer, uint32_t cls, DropReason& why) {
  const RouterModel& rm = ctx.rm();
  const FibTable6* fib6 = ctx.shared.fib6.load(std::memory_order_acquire);  // FRR's IPv6 routes beside the config's
  const PeerModel& pm = rm.peers[static_cast<size_t>(peer)];
  // Under path monitoring the path table ranks the IPv6 waypoints' paths (BFD, SLA,
  // preference), as pick_wan_side does IPv4's; without it the first routed one.
  if (const PathTable* pt = ctx.shared.paths; pt && pt->monitored() && pt->has_paths6(peer)) {
    const int path = pt->pick(static_cast<size_t>(s.service), symmetric_hash(s.original), true);
    if (path < 0 || pt->path(static_cast<size_t>(path)).peer != peer) {
      why = DropReason::no_path;
      return false;
    }
    return bind_path(ctx, s, path, cls, why);
  }
  why = DropReason::no_peer;
  for (size_t k = 0; k < pm.waypoints6.size() && k < kWaypoint6MaxPerPeer; ++k) {
    const Ipv4 remote = waypoint6_peer_standin(peer, k);
    const auto nh = waypoint6_route(rm, fib6, remote);
    if (!nh) continue;
    FiveTuple out{waypoint6_own_standin(nh->iface), remote, 0, 0, s.original.proto};
    if (pick_port_pair(ctx.table, ctx.rng, out, cls, ctx.recheck)) {
      s.out_fwd = SideOut{out, remote, static_cast<int8_t>(nh->iface), static_cast<int>(peer)};
      return true;
    }
    why = DropReason::ports_exhausted;
  }
  return false;
}

std::optional<Waypoint6Hop> waypoint6_hop(const WorkerContext& ctx, int iface, Ipv4 src, Ipv4 dst) {
  const RouterModel& rm = ctx.rm();
  // Our waypoint, or the HA peer node's for a session we carry on it.
  const Ipv6* from = waypoint6_source(rm, src, iface);
  const Ipv6* to = waypoint6_peer(rm, dst);
  const std::optional<Route6> r =
      to ? waypoint6_route6(rm, ctx.shared.fib6.load(std::memory_order_acquire), *to) : std::nullopt;
  if (!from || !r || r->iface != iface) return std::nullopt;
  return Waypoint6Hop{*from, *to, route6_via(*r, *to)};  // a gateway from FRR may be link-local, on `iface`
}

bool waypoint6_encap(WorkerContext& ctx, rte_mbuf* m, const ParsedPacket& pp, int iface, Ipv4 standin,
                     Ipv6& next_hop) {
  // The session's stand-in source is the packet's.
  const std::optional<Waypoint6Hop> hop = waypoint6_hop(ctx, iface, load_be32(pkt_data(m) + pp.l3 + 12), standin);
  if (!hop) return ctx.drop(m, DropReason::ipv6_no_route), false;
  if (pp.proto != kProtoTcp && pp.proto != kProtoUdp) return ctx.drop(m, DropReason::svr6_untranslatable), false;
  // The IPv6 header is 20 bytes longer, written in front of the frame: an encrypted first
  // packet's metadata block and IV may have taken that headroom (open_gap).
  if (!make_headroom(m, kIpv6HdrLen - 20 /* the IPv4 header it replaces */)) return ctx.drop(m, DropReason::no_buffer_room), false;
  uint8_t* d = pkt_data(m);
  const uint8_t ttl = d[pp.l3 + 8];  // decremented once already (rewrite_tuple)
  const Nat64Result res = nat64_4to6(d, pp, hop->src, hop->dst, pp.dport);
  if (res.verdict != Nat64Verdict::ok) return ctx.drop(m, DropReason::svr6_untranslatable), false;
  if (!rte_pktmbuf_prepend(m, static_cast<uint16_t>(-res.shift))) return ctx.drop(m, DropReason::no_buffer_room), false;
  rte_pktmbuf_trim(m, static_cast<uint16_t>(m->data_len - res.len));
  // The outer hop limit carries the session's (the egress restores it from there): no second decrement.
  pkt_data(m)[kEthHdrLen + 7] = ttl;
  next_hop = hop->next_hop;
  return true;
}

namespace {

// The stand-in of the waypoint a frame is addressed to, 0 when none: ours on `iface` (by our
// address, as IPv4 waypoint traffic: not by MAC, the address is ours alone), or the HA peer
// node's while we hold it (its sessions' stand-in 0.255.254.j).
Ipv4 to_own_waypoint(const WorkerContext& ctx, const uint8_t* d, uint32_t len, int iface) {
  const RouterModel& rm = ctx.rm();
  const Ipv6* own = waypoint6_own(rm, iface);
  if (!own || len < kEthHdrLen + kIpv6HdrLen || load_be16(d + 12) != kEtherTypeIpv6) return 0;
  const Ipv6 dst = load_ipv6(d + kEthHdrLen + 24);
  if (dst == *own) return waypoint6_own_standin(iface);
  if (rm.ha_waypoints6.empty()) [[likely]]
    return 0;
  const Ipv4 to = waypoint6_ha_standin_of(rm, dst, iface);
  return to != 0 && ctx.shared.ha.holds_peer_address6(dst, iface) ? to : 0;
}

// A peer's fragments are made whole first (ports or not); a stranger's are the IPv6 input's.
bool from_peer_fragment(const RouterModel& rm, const Ipv6View& v) {
  return v.status == Ipv6Status::fragment && waypoint6_standin_of(rm, v.src) != 0;
}

}  // namespace

bool waypoint6_fragment(const WorkerContext& ctx, const rte_mbuf* m, int iface) {
  const auto* d = rte_pktmbuf_mtod(m, const uint8_t*);
  return to_own_waypoint(ctx, d, m->data_len, iface) != 0 &&
         from_peer_fragment(ctx.rm(), parse_ipv6_packet(d, m->data_len, kEthHdrLen));
}

Waypoint6In waypoint6_input(WorkerContext& ctx, rte_mbuf* m, int iface, ParsedPacket& pp) {
  const RouterModel& rm = ctx.rm();
  uint8_t* d = pkt_data(m);
  const Ipv4 to = to_own_waypoint(ctx, d, m->data_len, iface);
  if (to == 0) return Waypoint6In::not_ours;
  const Ipv6View v = parse_ipv6_packet(d, m->data_len, kEthHdrLen);
  if (v.status == Ipv6Status::fragment)
    return from_peer_fragment(rm, v) ? Waypoint6In::fragment : Waypoint6In::not_ours;
  // Malformed IPv6 and ICMPv6 (ND, echo) are the IPv6 input's; so are other ports (not routed there).
  if (v.status != Ipv6Status::ok || (v.proto != kProtoTcp && v.proto != kProtoUdp) || !is_waypoint_port(v.dport))
    return Waypoint6In::not_ours;
  if (v.ext_headers != 0) return ctx.drop(m, DropReason::svr6_untranslatable), Waypoint6In::consumed;
  const Ipv4 peer = waypoint6_standin_of(rm, v.src);
  if (peer == 0) return ctx.drop(m, DropReason::unknown_peer), Waypoint6In::consumed;
  const Nat64Result r = nat64_6to4(d, v, peer, to, v.sport, 0);
  if (r.verdict != Nat64Verdict::ok) return ctx.drop(m, DropReason::svr6_untranslatable), Waypoint6In::consumed;
  rte_pktmbuf_adj(m, static_cast<uint16_t>(r.shift));
  rte_pktmbuf_trim(m, static_cast<uint16_t>(m->data_len - r.len));
  uint8_t* ip = pkt_data(m) + kEthHdrLen;
  ip[8] = v.hop_limit;  // the translator decremented it: the outer header only carries the session's
  store_be16(ip + 10, 0);
  store_be16(ip + 10, ipv4_header_checksum(ip));
  pp = parse_packet(pkt_data(m), m->data_len);
  if (pp.status != ParseStatus::ipv4) return ctx.drop(m, DropReason::svr6_untranslatable), Waypoint6In::consumed;
  ctx.counters->add(Counter::waypoint6_received);
  return Waypoint6In::translated;
}

}  // namespace wp
