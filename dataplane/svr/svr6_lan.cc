// IPv6 sessions between IPv4 waypoints; see svr6_lan.h.
#include "dataplane/svr/svr6_lan.h"

#include <algorithm>
#include <cstring>

#include "dataplane/control/waypoint6_addr.h"
#include "dataplane/crypto/hmac.h"
#include "dataplane/ip/checksum.h"
#include "dataplane/ip/icmp.h"
#include "dataplane/ip/nat64_packet.h"
#include "dataplane/ip/ndp.h"  // kIcmp6EchoRequest, kIcmp6EchoReply
#include "dataplane/ip/packet_edit.h"
#include "dataplane/session/events6.h"
#include "dataplane/session/offload_events6.h"
#include "dataplane/session/owner.h"
#include "dataplane/session/svr_leg.h"
#include "dataplane/svr/emit.h"
#include "dataplane/svr/fragments.h"
#include "dataplane/svr/metadata.h"
#include "dataplane/svr/metadata_only.h"
#include "dataplane/svr/migration.h"
#include "dataplane/svr/policy_recheck.h"
#include "dataplane/svr/session_setup.h"
#include "dataplane/svr/session_tlvs.h"
#include "dataplane/svr/svr6_echo.h"
#include "dataplane/svr/waypoint6.h"
#include "dataplane/worker/esp_step.h"
#include "dataplane/worker/frag6_tx.h"

namespace wp {
namespace {

// The SideOut of `s` that is its IPv6 side, or null.
const SideOut* svr6_side(const Session& s) {
  if (s.out_rev.iface == kIfaceSvr6) return &s.out_rev;
  if (s.out_fwd.iface == kIfaceSvr6) return &s.out_fwd;
  return nullptr;
}

// The Session6 index `s` carries: its IPv6 side's, or, at a transit router, the one its internal
// original tuple names (bind_transit); UINT32_MAX: none.
uint32_t svr6_index(const Session& s) {
  if (const SideOut* side = svr6_side(s)) return side->next_hop;
  if (transit_ipv6(s)) return (s.original.src - Svr6Lan::kSvr6Base) / 2;
  return UINT32_MAX;
}

// The MTU of the LAN side `k` of `s6`: its port's, or its tunnel's (0 when a commit removed it).
uint16_t svr6_lan_mtu(const WorkerContext& ctx, const Session6& s6, size_t k) {
  if (s6.iface[k] != kRoute6Tunnel) return ctx.rm().interfaces[static_cast<size_t>(s6.iface[k])].mtu;
  return ctx.tunnel_mtu(tunnel_of_hop6(s6.next_hop[k]), kIpv6MinMtu);
}

// The IPv6 header and the L4 header of the packet at `ip` (`len` bytes): what a carried
// error quotes (the ports, TCP's sequence number; no data).
uint32_t headers_quoted(const uint8_t* ip, uint32_t len) {
  uint32_t l4 = 8;  // UDP, an ICMPv6 echo
  if (ip[6] == kProtoTcp && len >= kIpv6HdrLen + 20) l4 = std::max(20u, uint32_t{ip[kIpv6HdrLen + 12]} >> 4 << 2);
  return std::min(len, kIpv6HdrLen + l4);
}

// Whether the `len` bytes at `e` are an ICMPv6 error quoting a packet of tuple `t`.
bool quotes_packet_of(const uint8_t* e, uint32_t len, const FiveTuple6& t) {
  if (len < 8 + kIpv6HdrLen + 8 || e[0] < kIcmp6DestUnreachable || e[0] > kIcmp6ParamProblem) return false;
  const uint8_t* q = e + 8;
  const uint8_t* l4 = q + kIpv6HdrLen;
  if (q[0] >> 4 != 6 || q[6] != t.proto || load_ipv6(q + 8) != t.src || load_ipv6(q + 24) != t.dst) return false;
  if (t.proto == kProtoIcmpv6)  // an echo of the session's identifier (svr/svr6_echo.h)
    return (l4[0] == kIcmp6EchoRequest || l4[0] == kIcmp6EchoReply) && load_be16(l4 + 4) == t.sport;
  return load_be16(l4) == t.sport && load_be16(l4 + 2) == t.dport;
}

// Who may be named as an error's source on a LAN: a unicast address.
bool unicast(const Ipv6& a) { return !a.is_unspecified() && !a.is_multicast() && !(a.hi == 0 && a.lo == 1); }

Nat64Verdict svr6_refusal(DropReason& why, Nat64Verdict v) {
  why = v == Nat64Verdict::hop_limit_exceeded ? DropReason::ipv6_hop_limit : DropReason::svr6_untranslatable;
  return v;
}

}  // namespace

Svr6Lan::Svr6Lan(WorkerContext& ctx, Tx& tx, Emit& emit, CryptoBatch& crypto, MetadataOnly& metadata_only)
    : ctx_(ctx),
      tx_(tx),
      emit_(emit),
      crypto_(crypto),
      icmp6_errors_(ctx, tx, Counter::svr6_icmp6_rate_limited, Counter::svr6_icmp6_no_mbuf),
      carrier_(ctx, crypto, metadata_only, Counter::svr6_icmp6_errors_carried, Counter::svr6_icmp6_rate_limited),
      transit_(ctx, crypto, metadata_only, Counter::svr6_icmp6_errors_transited, Counter::svr6_icmp6_rate_limited) {
  ctx.svr6 = this;
  ctx.release_svr6 = &Svr6Lan::release;
  ctx.post_svr6 = &Svr6Lan::post;
}

FiveTuple Svr6Lan::internal_tuple(uint32_t idx, const FiveTuple6& t) {
  const Ipv4 a = kSvr6Base + 2 * idx;
  return FiveTuple{a, a + 1, t.sport, t.dport, svr6_carried_proto(t.proto)};
}

Session* Svr6Lan::carrier_of(const FiveTuple6& t) const {
  if (!table_) return nullptr;
  const Session6Ref ref = table_->lookup(t);
  if (!ref || ref.dir != Dir::forward || !ref.session->svr_ref) return nullptr;
  Session* s = ctx_.table.at(ref.session->svr_ref - 1);
  return s->in_use && session6_of(*s) == ref.session ? s : nullptr;
}

Session6* Svr6Lan::session6_of(const Session& s) const {
  const uint32_t idx = svr6_index(s);
  if (!table_ || idx >= table_->capacity()) return nullptr;
  Session6* s6 = table_->at(idx);
  // Only the Session6 that names `s` back (a transit session's index comes from its tuple).
  return s6->in_use && s6->svr_ref == ctx_.table.index_of(&s) + 1 ? s6 : nullptr;
}

const FiveTuple6* Svr6Lan::context_of(const Session& s) const {
  if (!carries_ipv6(s)) return nullptr;
  const Session6* s6 = session6_of(s);
  return s6 ? &s6->original : nullptr;
}

void Svr6Lan::release(Svr6Lan* self, const Session& s) {
  if (!self) return;
  Session6* s6 = self->session6_of(s);
  if (!s6) return;  // released already
  self->table_->remove(s6);
  self->ctx_.counters->sessions6_active.store(self->table_->size(), std::memory_order_relaxed);
}

// The IPv6 view of `s` (its Session6 with the SVR session's state and waypoint leg); false when
// `s` carries none (or its Session6 went already).
bool Svr6Lan::view(SessionEventKind kind, const Session& s, SessionEndReason reason, Session6Event& ev) const {
  const Session6* s6 = session6_of(s);
  if (!s6) return false;
  const SideOut* lan = svr6_side(s);
  ev.kind = kind;
  ev.reason = reason;
  ev.worker = static_cast<uint16_t>(ctx_.id);
  ev.now_ms = ctx_.now_ms;
  ev.session = *s6;
  // The SVR session's view of its state: a reply seen, FIN/RST, the last packet (metadata-only ones too).
  ev.session.flags = static_cast<uint8_t>(s.flags & (kReverseSeen | kFinFwd | kFinRev | kRst));
  ev.session.last_ms = s.last_ms;
  if (!lan) {  // transit: no IPv6 side here, so the packets and bytes are the carrying session's (IPv4, on the WAN)
    ev.svr = transit_leg(s);
    for (size_t k = 0; k < 2; ++k) ev.session.packets[k] = s.packets[k], ev.session.bytes[k] = s.bytes[k];
    return true;
  }
  // The LAN side is side A at the ingress (out_rev), side B at the egress (out_fwd).
  ev.svr = svr_leg(s, lan == &s.out_rev ? Svr6Role::ingress : Svr6Role::egress);
  return true;
}

void Svr6Lan::post(Svr6Lan* self, SessionEventKind kind, const Session& s, SessionEndReason reason) {
  if (!self || (s.flags & kPeerSession)) return;
  WorkerContext& ctx = self->ctx_;
  self->post_mgmt(kind, s, reason);
  if (ctx.shared.event_kinds[static_cast<size_t>(EventConsumer::ha)] & event_bit(kind)) self->post_ha(kind, s, reason);
  if (kOffload6EventKinds & event_bit(kind)) self->post_offload(kind, s, reason);
}

bool Svr6Lan::post_mgmt(SessionEventKind kind, const Session& s, SessionEndReason reason) {
  rte_ring* r = ctx_.shared.event6_ring(ctx_.id);
  if (!r || !(ctx_.shared.event_kinds[static_cast<size_t>(EventConsumer::ipfix)] & event_bit(kind))) return false;
  Session6Event ev;
  if (!view(kind, s, reason, ev)) return false;
  if (rte_ring_sp_enqueue_elem(r, &ev, sizeof(ev)) == 0) return true;
  ctx_.counters->add(Counter::ipfix_events_dropped);
  return false;
}

void Svr6Lan::route_changed(const Session6& s6) {
  const Session& s = *ctx_.table.at(s6.svr_ref - 1);
  if ((s.flags & (kEstablished | kPeerSession)) == kEstablished) post_offload(SessionEventKind::update, s, {});
}

void Svr6Lan::post_offload(SessionEventKind kind, const Session& s, SessionEndReason reason) {
  rte_ring* o = ctx_.shared.offload_event6_ring(ctx_.id);
  if (!o) return;
  Offload6Event oev;
  if (!view(kind, s, reason, oev.ev)) return;
  Session6& s6 = oev.ev.session;
  if (s6.iface[0] == kRoute6Tunnel || s6.iface[1] == kRoute6Tunnel) return;  // out of a tunnel: ESP per packet
  const bool ingress = oev.ev.svr.role == Svr6Role::ingress;
  const SideOut& wan = ingress ? s.out_fwd : s.out_rev;
  // v6 over v4 changes family on the WAN: the offload manager counts it from its IPv4 event.
  if (!is_waypoint6_standin(wan.next_hop)) return;
  if (const std::optional<Waypoint6Hop> hop = waypoint6_hop(ctx_, wan.iface, wan.tuple.src, wan.next_hop)) {
    const auto k = static_cast<size_t>(ingress ? Dir::forward : Dir::reverse);  // the direction leaving on the WAN
    s6.iface[k] = wan.iface;
    s6.next_hop[k] = hop->next_hop;
    oev.wan = FiveTuple6{hop->src, hop->dst, wan.tuple.sport, wan.tuple.dport, wan.tuple.proto};
  } else if (kind == SessionEventKind::established) {
    return;  // no route to the peer's waypoint now: the worker drops its packets (ipv6_no_route)
  }
  oev.security = s.security;
  oev.crypto = s.crypto;
  if (rte_ring_sp_enqueue_elem(o, &oev, sizeof oev) != 0) ctx_.counters->add(Counter::offload_events_dropped);
}

bool Svr6Lan::post_ha(SessionEventKind kind, const Session& s, SessionEndReason reason) {
  rte_ring* h = ctx_.shared.ha.event6_ring(ctx_.id);
  if (!h) return true;  // no HA, or no IPv6 rings: nobody to tell
  HaSession6Event hev;
  if (!view(kind, s, reason, hev.ev)) return true;  // transit too: its Session6 is held (docs/ipv6.md § HA of transit)
  // A tunnel as the LAN side: not synced, as no IPv6 session with a tunnel side is (docs/ipsec.md § HA).
  if (hev.ev.session.iface[0] == kRoute6Tunnel || hev.ev.session.iface[1] == kRoute6Tunnel) return true;
  hev.carrier = s;
  if (rte_ring_sp_enqueue_elem(h, &hev, sizeof(hev)) == 0) return true;
  ctx_.counters->add(Counter::ha6_events_dropped);
  ctx_.counters->add(Counter::ha_events_dropped);  // the HA thread asks this worker to republish
  return false;
}

bool Svr6Lan::to_internal(rte_mbuf*& m, const Ipv6View& in, const FiveTuple& to, ParsedPacket& pp) {
  Ipv6View v = in;
  // ICMPv6 here is an echo of the session's tuple (Route6Step sends errors by their quote): as UDP.
  const bool echo = v.proto == kProtoIcmpv6 && to.proto == kProtoUdp;
  const bool whole = svr6_whole_datagram(v);  // its sender fragmented it: no DF (svr6_lan.h)
  // Other extension headers have no place in the carried form (docs/ipv6.md § Fragments through
  // IPv6 sessions over SVR says why they are refused rather than stripped).
  if (v.ext_headers != 0 && (!whole || echo)) {
    ctx_.drop(m, DropReason::svr6_ext_header);
    return false;
  }
  if (v.proto != kProtoTcp && v.proto != kProtoUdp && !echo) {
    ctx_.drop(m, DropReason::svr6_untranslatable);
    return false;
  }
  if (echo && !wrap_svr6_echo(m, v)) {
    ctx_.drop(m, DropReason::no_buffer_room);
    return false;
  }
  uint8_t* d = pkt_data(m);
  const Nat64Result r = nat64_6to4(d, v, to.src, to.dst, to.sport, 0);
  DropReason why = DropReason::svr6_untranslatable;
  if (r.verdict != Nat64Verdict::ok) {
    svr6_refusal(why, r.verdict);
    ctx_.drop(m, why);
    return false;
  }
  rte_pktmbuf_adj(m, static_cast<uint16_t>(r.shift));
  rte_pktmbuf_trim(m, static_cast<uint16_t>(m->data_len - r.len));
  // The translator decremented the hop limit; the IPv4 path (rewrite_tuple) decrements
  // it again, so give the one back: the router counts once.
  uint8_t* ip = pkt_data(m) + kEthHdrLen;
  ip[8] = v.hop_limit;
  if (whole) store_be16(ip + 6, 0);  // DF clear: fragmented on the WAN if need be, never refused
  store_be16(ip + 10, 0);
  store_be16(ip + 10, ipv4_header_checksum(ip));
  pp = parse_packet(pkt_data(m), m->data_len);
  if (pp.status != ParseStatus::ipv4) {
    ctx_.drop(m, DropReason::svr6_untranslatable);
    return false;
  }
  ctx_.counters->add(Counter::svr6_to_waypoint);
  return true;
}

void Svr6Lan::first_packet(rte_mbuf* m, const Ipv6View& v, const FiveTuple6& t, int tenant, int service,
                           int security, int tunnel) {
  const RouterModel& rm = ctx_.rm();
  // Replies to a tunnel's packet go back into that tunnel, whatever the routes say (as IPv4's).
  const std::optional<Route6> back =
      tunnel == kNone ? ctx_.route6(t.src, symmetric_hash(t))
                      : std::optional<Route6>(Route6{{}, tunnel_hop6(static_cast<uint32_t>(tunnel)), kRoute6Tunnel});
  // From a port, the LAN leg is a port too: a route back into a tunnel is none (docs/ipv6.md).
  if (!back || (tunnel == kNone && back->tunnel())) return ctx_.drop(m, DropReason::ipv6_no_route);
  // The tenant's flood limits, as IPv4's LanInput asks them (the IPv4 session counts in its quota).
  if (DropReason limited{}; !ctx_.admit_session(t.src, tenant, limited)) return ctx_.drop(m, limited);
  SessionTable6::Refused refused;
  Session6* s6 = table_->insert(t, refused);
  if (!s6) return ctx_.drop(m, refused == SessionTable6::Refused::full ? DropReason::ipv6_table_full
                                                                       : DropReason::ipv6_not_routable);
  const uint32_t idx6 = table_->index_of(s6);
  const auto rv = static_cast<size_t>(Dir::reverse);
  s6->next_hop[rv] = route6_via(*back, t.src);
  s6->iface[rv] = static_cast<int8_t>(back->iface);
  s6->tenant = static_cast<int16_t>(tenant);
  s6->service = static_cast<int16_t>(service);
  s6->created_ms = s6->last_ms = ctx_.now_ms;
  const FiveTuple inner = internal_tuple(idx6, t);
  ParsedPacket pp;
  Session* s = ctx_.table.allocate();
  if (!s) {
    table_->remove(s6);
    return ctx_.drop(m, DropReason::table_full);
  }
  s6->svr_ref = ctx_.table.index_of(s) + 1;
  s6->uuid = ctx_.new_uuid();
  s->original = inner;
  s->uuid = s6->uuid;
  s->tenant = static_cast<int16_t>(tenant);
  s->service = static_cast<int16_t>(service);
  s->set_qos_class(static_cast<uint8_t>(rm.services[static_cast<size_t>(service)].qos_class));
  s->security = static_cast<int16_t>(security);
  s->created_ms = s->last_ms = ctx_.now_ms;
  s->out_rev = SideOut{inner.reversed(), idx6, static_cast<int8_t>(kIfaceSvr6), -1};
  DropReason why = DropReason::no_route;
  // Ports of the IPv6 tuple's class: its LAN packets dispatch by affinity_class6.
  // IPv6 waypoints when both sides have one (svr/waypoint6.h), else IPv4 waypoints.
  const int peer = rm.services[static_cast<size_t>(service)].next_peer;
  const bool bound = bind_wan_side(ctx_, *s, peer, affinity_class6(t), true, why);
  const uint32_t len6 = static_cast<uint32_t>(v.end - v.l3);
  if (!to_internal(m, v, inner, pp)) {
    ctx_.release_nat_port(*s);  // and the Session6
    ctx_.table.release(s);
    return;
  }
  ++s6->packets[static_cast<size_t>(Dir::forward)];  // the IPv6 bytes on the LAN side (REST, IPFIX)
  s6->bytes[static_cast<size_t>(Dir::forward)] += len6;
  if (!install_session(ctx_, crypto_, s, bound, why, pp, nullptr, m)) return;  // the Session6 went with it
  ctx_.counters->add(Counter::svr6_sessions_created);
  ctx_.counters->sessions6_active.store(table_->size(), std::memory_order_relaxed);
  ctx_.post_event(SessionEventKind::created, *s);
  emit_.send(m, pp, *s, Dir::forward);
}

bool Svr6Lan::from_lan(rte_mbuf* m, const Ipv6View& v, Session6& s6, Dir dir) {
  Session* s = ctx_.table.at(s6.svr_ref - 1);
  // Indexes and stand-ins into the current model before the packet uses them (svr/policy_recheck.h).
  if (ctx_.recheck && !ctx_.recheck->current(*s)) return false;
  s6.last_ms = ctx_.now_ms;
  if (refuse_too_big(m, v, *s, s6, dir)) return true;
  const uint32_t len6 = static_cast<uint32_t>(v.end - v.l3);
  ParsedPacket pp;
  // The internal tuple the IPv4 table knows this direction by.
  if (!to_internal(m, v, dir == Dir::forward ? s->key_a() : s->key_b(), pp)) return true;
  const auto k = static_cast<size_t>(dir);
  ++s6.packets[k];
  s6.bytes[k] += len6;
  if (dir == Dir::forward && migration_ && s->side_b_wan() && ctx_.shared.paths) migration_->follow(*s);
  emit_.send(m, pp, *s, dir);
  return true;
}

uint32_t Svr6Lan::wan_fit6(const Session& s, const SideOut& wan) const {
  const uint32_t mtu = ctx_.rm().interfaces[static_cast<size_t>(wan.iface)].mtu;
  // Between IPv6 waypoints the outer header is as long as the client's; an IPv4 one is 20 bytes shorter.
  const uint32_t header_saved = is_waypoint6_standin(wan.next_hop) ? 0 : kIpv6HdrLen - 20;
  const uint32_t sealed = sealed_overhead(s.crypto);
  return mtu + header_saved > sealed ? mtu + header_saved - sealed : 0;
}

bool Svr6Lan::refuse_too_big(rte_mbuf* m, const Ipv6View& v, const Session& s, const Session6& s6, Dir dir) {
  const SideOut& wan = dir == Dir::forward ? s.out_fwd : s.out_rev;
  // An echo carries a UDP header more on the WAN (svr/svr6_echo.h).
  const uint32_t len6 = static_cast<uint32_t>(v.end - v.l3) + (v.proto == kProtoIcmpv6 ? kSvr6EchoUdpLen : 0);
  if (len6 <= kIpv6MinMtu || wan.peer < 0 || wan.iface < 0) [[likely]]
    return false;  // the minimum MTU crosses any WAN, in fragments if need be; an IPsec tunnel's leg is ESP's
  if (svr6_whole_datagram(v)) return false;  // its sender fragmented it: so may the WAN leg
  const uint32_t fit = wan_fit6(s, wan);
  if (len6 <= fit) [[likely]]
    return false;
  // To the neighbor the session reaches the sender by (the link back, the other direction's), or
  // into the IPsec tunnel it is behind, from our address there (Icmp6ErrorSender::send).
  const auto back = static_cast<size_t>(dir == Dir::forward ? Dir::reverse : Dir::forward);
  icmp6_errors_.send(m, v, s6.iface[back], s6.next_hop[back], kIcmp6PacketTooBig, 0, std::max(fit, kIpv6MinMtu),
                     Counter::svr6_icmp6_too_big);
  ctx_.drop(m, DropReason::svr6_wan_too_big);
  return true;
}

void Svr6Lan::to_lan(rte_mbuf* m, ParsedPacket& pp, Session& s, Dir dir, const SideOut& out) {
  Session6& s6 = *table_->at(out.next_hop);
  const auto k = static_cast<size_t>(dir);
  const FiveTuple6& t = s6.original;
  uint8_t* d = pkt_data(m);
  if (pp.proto != kProtoTcp && pp.proto != kProtoUdp) return ctx_.drop(m, DropReason::svr6_untranslatable);
  // DF clear above 1260 bytes: its sender fragmented it (to_internal), so it may leave in fragments.
  const bool sender_fragmented = (load_be16(d + pp.l3 + 6) & 0x4000) == 0 && pp.end - pp.l3 > kNat64DfAbove;
  // The ports the IPv6 side knows (the translator recomputes the checksum whole).
  store_be16(d + pp.l4, out.tuple.sport);
  store_be16(d + pp.l4 + 2, out.tuple.dport);
  pp.sport = out.tuple.sport;
  pp.dport = out.tuple.dport;
  const bool fwd = dir == Dir::forward;
  const Nat64Result r = nat64_4to6(d, pp, fwd ? t.src : t.dst, fwd ? t.dst : t.src, out.tuple.dport);
  DropReason why = DropReason::svr6_untranslatable;
  if (r.verdict != Nat64Verdict::ok) return svr6_refusal(why, r.verdict), ctx_.drop(m, why);
  if (!rte_pktmbuf_prepend(m, static_cast<uint16_t>(-r.shift))) return ctx_.drop(m, DropReason::no_buffer_room);
  rte_pktmbuf_trim(m, static_cast<uint16_t>(m->data_len - r.len));
  if (t.proto == kProtoIcmpv6 && !unwrap_svr6_echo(m, dir, t.sport))
    return ctx_.drop(m, DropReason::svr6_untranslatable);
  const int iface = s6.iface[k];
  const uint32_t len6 = m->data_len - kEthHdrLen;
  const uint32_t mtu = svr6_lan_mtu(ctx_, s6, k);
  if (len6 > mtu && sender_fragmented && iface >= 0) [[unlikely]] {
    s6.last_ms = ctx_.now_ms;
    ++s6.packets[k];
    s6.bytes[k] += len6;
    return send_fragments(m, iface, s6.next_hop[k], mtu);
  }
  if (len6 > mtu) [[unlikely]] {
    // Its sender is across the WAN: our Packet Too Big goes back through the session, from our
    // address on this link (a port's or a tunnel's).
    // Not for a datagram its sender fragmented already (inner IPv6 fragments into a tunnel are
    // not built: docs/ipsec.md): smaller packets would not get it through.
    const Ipv6View v = parse_ipv6_packet(pkt_data(m), m->data_len, kEthHdrLen);
    if (v.status == Ipv6Status::ok && !sender_fragmented && icmp6_error_allowed(pkt_data(m), v))
      carry_error(carrier_, m->pool, s, dir, pkt_data(m) + v.l3, len6, link_source6(ctx_.rm(), iface, s6.next_hop[k]),
                  kIcmp6PacketTooBig, 0, std::max(mtu, kIpv6MinMtu));
    return ctx_.drop(m, DropReason::svr6_too_big);
  }
  s6.last_ms = ctx_.now_ms;
  ++s6.packets[k];
  s6.bytes[k] += len6;
  ctx_.counters->add(Counter::svr6_to_lan);
  if (iface == kRoute6Tunnel) return into_tunnel(m, tunnel_of_hop6(s6.next_hop[k]));
  tx_.transmit6(m, iface, s6.next_hop[k]);
}

void Svr6Lan::error_from_lan(rte_mbuf* m, const Ipv6View& v, Session6& s6, Dir about) {
  Session* s = ctx_.table.at(s6.svr_ref - 1);
  if (ctx_.recheck && !ctx_.recheck->current(*s)) return ctx_.drop(m, DropReason::ipv6_no_session);  // a commit closed it
  const uint8_t* e = pkt_data(m) + v.l4;  // Route6Step checked that it quotes 48 bytes at least
  const Ipv6 location = v.src;
  if (carry_error(carrier_, m->pool, *s, about, e + 8, static_cast<uint32_t>(v.end - v.l4 - 8), location, e[0], e[1],
                  load_be32(e + 4)))
    return rte_pktmbuf_free(m);  // it travels on in the session
  ctx_.drop(m, DropReason::svr6_icmp6_not_carried);
}

bool Svr6Lan::carry_error(IcmpErrorCarrier& via, rte_mempool* pool, Session& s, Dir about, const uint8_t* ip,
                          uint32_t len, const Ipv6& location, uint8_t type, uint8_t code, uint32_t rest) {
  if (location.is_unspecified()) return false;
  // The ICMPv6 message: type, code, checksum 0 (the receiver computes its own), bytes 4-7, the headers quoted.
  uint8_t msg[8 + kIpv6HdrLen + 60] = {type, code};
  store_be32(msg + 4, rest);
  const uint32_t quoted = headers_quoted(ip, len);
  std::memcpy(msg + 8, ip, quoted);
  uint8_t at[16];
  store_ipv6(at, location);
  return via.carry(pool, s, about, {Tlv::icmp_error_location_v6, at, 16}, msg, 8 + quoted);
}

void Svr6Lan::error_from_wan(rte_mbuf* m, const ParsedPacket& pp, Session& s, Dir dir, const Metadata& md) {
  const SideOut& lan = dir == Dir::forward ? s.out_fwd : s.out_rev;
  if (md.has_icmp_location6 && transit_ipv6(s) && table_) return transit_error(m, pp, s, dir, md);
  // Only to an IPv6 LAN side of ours: not an IPv4 session's (TLV 20).
  if (!md.has_icmp_location6 || lan.iface != kIfaceSvr6 || !table_)
    return ctx_.drop(m, DropReason::svr_icmp_error_unsupported);
  Session6& s6 = *table_->at(lan.next_hop);
  const auto k = static_cast<size_t>(dir);
  // It quotes a packet our LAN host sent: the session's tuple the other way.
  const FiveTuple6 sent = dir == Dir::reverse ? s6.original : s6.original.reversed();
  const auto [e, len] = carried_error(m, pp, md);
  if (len <= 0 || !quotes_packet_of(e, static_cast<uint32_t>(len), sent) || !unicast(md.icmp_location6))
    return ctx_.drop(m, DropReason::svr6_icmp6_error_invalid);
  // A Packet Too Big's MTU as it is: the IPv6 packet crossed the session unchanged, so it fitted our
  // own WAN leg (refuse_too_big) and what the far side reports is smaller.
  uint32_t rest = load_be32(e + 4);
  if (e[0] == kIcmp6PacketTooBig) rest = std::max(rest, kIpv6MinMtu);
  // Out of the port, or sealed into the tunnel as the session's own packets that way (to_lan).
  icmp6_errors_.relay(m->pool, e + 8, static_cast<uint32_t>(len - 8), md.icmp_location6, sent.src, s6.iface[k],
                      s6.next_hop[k], e[0], e[1], rest, Counter::svr6_icmp6_errors_relayed);
  rte_pktmbuf_free(m);
}

void Svr6Lan::transit_error(rte_mbuf* m, const ParsedPacket& pp, Session& s, Dir dir, const Metadata& md) {
  const Session6* s6 = session6_of(s);
  if (!s6) return ctx_.drop(m, DropReason::svr_icmp_error_unsupported);  // its Session6 released already
  // A packet of the session sent the other way (by the client for a carrier toward it), by the
  // IPv6 tuple: the same on every leg, so the quote goes on unchanged.
  const FiveTuple6 sent = dir == Dir::reverse ? s6->original : s6->original.reversed();
  const auto [e, len] = carried_error(m, pp, md);
  if (len <= 0 || !quotes_packet_of(e, static_cast<uint32_t>(len), sent) || !unicast(md.icmp_location6))
    return ctx_.drop(m, DropReason::svr_icmp_transit_invalid);
  // The MTU, type, code and location as they came; a fresh block signed with the other leg's key.
  if (carry_error(transit_, m->pool, s, other_dir(dir), e + 8, static_cast<uint32_t>(len - 8), md.icmp_location6, e[0],
                  e[1], load_be32(e + 4)))
    return rte_pktmbuf_free(m);
  ctx_.drop(m, DropReason::svr_icmp_not_transited);
}

void Svr6Lan::send_fragments(rte_mbuf* m, int iface, const Ipv6& next_hop, uint32_t mtu) {
  const uint32_t id = frag6_id_ += ctx_.shared.workers ? ctx_.shared.workers : 1;
  const Fragment6Result r = transmit6_fragments(tx_, m, iface, next_hop, mtu, id);
  switch (r.status) {
    case Fragment6Status::ok: break;
    case Fragment6Status::too_big: return ctx_.drop(m, DropReason::svr6_too_big);
    case Fragment6Status::no_room: return ctx_.drop(m, DropReason::no_buffer_room);
    case Fragment6Status::no_mbuf: return ctx_.drop(m, DropReason::ipv6_frag_no_mbuf);
  }
  ctx_.counters->add(Counter::svr6_to_lan);
  ctx_.counters->add(Counter::svr6_fragments6_sent, r.count);
}

// The LAN side is an IPsec tunnel (a session opened out of it): sealed by its owner, next header 41.
void Svr6Lan::into_tunnel(rte_mbuf* m, uint32_t tunnel) {
  if (!esp_) return ctx_.drop(m, DropReason::esp_no_sa);
  esp_->output6(m, parse_ipv6_packet(pkt_data(m), m->data_len, kEthHdrLen), tunnel);
}

bool Svr6Lan::bind_transit(Session& s, const FiveTuple6& t, int service, int peer, uint32_t cls,
                           DropReason& why) {
  if (!table_) {
    why = DropReason::svr6_no_table;
    return false;
  }
  // Held, not indexed: no IPv6 packet of ours reaches a session both of whose sides are WAN.
  Session6* s6 = table_->hold(t);
  if (!s6) {
    why = DropReason::ipv6_table_full;
    return false;
  }
  const uint32_t idx6 = table_->index_of(s6);
  s6->tenant = static_cast<int16_t>(s.tenant);
  s6->service = static_cast<int16_t>(service);
  s6->uuid = s.uuid;
  s6->created_ms = s6->last_ms = ctx_.now_ms;
  s6->svr_ref = ctx_.table.index_of(&s) + 1;
  // The internal tuple names the Session6 (transit_ipv6, svr6_index); the onward leg's ports
  // are of the IPv6 tuple's class, as both other routers', on the next peer's IPv6 waypoints
  // when usable, else its IPv4 ones (the ingress's rule), whichever the session arrived on.
  s.original = internal_tuple(idx6, t);
  if (!bind_wan_side(ctx_, s, peer, cls, true, why)) {
    table_->remove(s6);
    return false;
  }
  ctx_.counters->add(Counter::svr6_transit_sessions);
  ctx_.counters->sessions6_active.store(table_->size(), std::memory_order_relaxed);
  return true;
}

bool Svr6Lan::bind_lan(Session& s, const FiveTuple6& t, int service, DropReason& why) {
  if (!table_) {
    why = DropReason::svr6_no_table;
    return false;
  }
  const std::optional<Route6> fwd = ctx_.route6(t.dst, symmetric_hash(t));
  if (!fwd || fwd->tunnel()) {  // SVR's IPv6 LAN leg leaves by a port (docs/ipv6.md)
    why = DropReason::ipv6_no_route;
    return false;
  }
  // A stale session of the same tuple (its client side is gone): the new one wins.
  if (Session6Ref old = table_->lookup(t); old && old.session->svr_ref) {
    Session* prev = ctx_.table.at(old.session->svr_ref - 1);
    ctx_.post_event(SessionEventKind::closed, *prev, SessionEndReason::forced_end);
    ctx_.remove_session(prev);
    ctx_.counters->add(Counter::sessions_replaced);
  }
  SessionTable6::Refused refused;
  Session6* s6 = table_->insert(t, refused);
  if (!s6) {
    why = refused == SessionTable6::Refused::full ? DropReason::ipv6_table_full : DropReason::ipv6_not_routable;
    return false;
  }
  const uint32_t idx6 = table_->index_of(s6);
  const auto fw = static_cast<size_t>(Dir::forward);
  s6->next_hop[fw] = route6_via(*fwd, t.dst);
  s6->iface[fw] = static_cast<int8_t>(fwd->iface);
  s6->tenant = static_cast<int16_t>(s.tenant);
  s6->service = static_cast<int16_t>(service);
  s6->uuid = s.uuid;
  s6->created_ms = s6->last_ms = ctx_.now_ms;
  s6->svr_ref = ctx_.table.index_of(&s) + 1;
  s.out_fwd = SideOut{internal_tuple(idx6, t), idx6, static_cast<int8_t>(kIfaceSvr6), -1};
  ctx_.counters->add(Counter::svr6_sessions_created);
  ctx_.counters->sessions6_active.store(table_->size(), std::memory_order_relaxed);
  return true;
}

}  // namespace wp
