// IPv6 routing with sessions; see route6_step.h.
#include "dataplane/worker/route6_step.h"

#include <rte_ring_elem.h>

#include <algorithm>

#include "dataplane/ip/icmp.h"
#include "dataplane/ip/ndp.h"  // kIcmp6EchoRequest, kIcmp6EchoReply
#include "dataplane/ip/packet.h"
#include "dataplane/ip/packet_edit.h"
#include "dataplane/session/events6.h"
#include "dataplane/session/offload_events6.h"
#include "dataplane/session/owner.h"
#include "dataplane/svr/svr6_lan.h"
#include "dataplane/worker/aging.h"
#include "dataplane/worker/esp_step.h"
#include "dataplane/worker/ipv6_drops.h"
#include "dataplane/worker/route6_follow.h"
#include "dataplane/worker/staged_lookup.h"

namespace wp {
namespace {

bool scoped_or_multicast(const Ipv6& a) { return a.is_multicast() || a.is_link_local() || a.is_unspecified(); }

// Whether packets of the session's direction that leaves by side `k` may
// arrive from `tunnel` (kNone: a port): a tunnel side takes its own tunnel's
// packets only, a port side no tunnel's (the IPv4 rule, svr/lan_input.cc).
bool arrives_as(const Session6& s, size_t k, int tunnel) {
  if (s.iface[k] != kRoute6Tunnel) return tunnel == kNone;
  return tunnel != kNone && tunnel_of_hop6(s.next_hop[k]) == static_cast<uint32_t>(tunnel);
}

bool has_tunnel_side(const Session6& s) { return s.iface[0] == kRoute6Tunnel || s.iface[1] == kRoute6Tunnel; }

// The worker that holds the session of `t` (either direction).
uint32_t owner6(const WorkerContext& ctx, const FiveTuple6& t) {
  return owner_of_class(affinity_class6(t), ctx.shared.workers);
}

}  // namespace

Route6Step::Route6Step(WorkerContext& ctx, Tx& tx, Handoff& handoff)
    : ctx_(ctx),
      tx_(tx),
      handoff_(handoff),
      icmp6_errors_(ctx, tx, Counter::ipv6_icmp6_rate_limited, Counter::ipv6_icmp6_no_mbuf) {
  const RouterModel* start = ctx.shared.model.load(std::memory_order_acquire);
  if (start && start->ipv6_routing) table_ = std::make_unique<SessionTable6>(ctx.shared.sessions6_per_worker);
  if (ctx.svr6 && table_ && table_->ok()) ctx.svr6->attach(table_.get());
}

bool Route6Step::input(rte_mbuf* m, const Ipv6View& v, int iface) {
  Staged s{m, v, iface, 0};
  switch (classify(s)) {
    case Classified::not_routed: return false;
    case Classified::done: return true;
    case Classified::staged: break;
  }
  process(s);
  return true;
}

Route6Step::Classified Route6Step::classify(Staged& s) {
  if (!table_) return Classified::not_routed;
  rte_mbuf* m = s.m;
  const Ipv6View& v = s.v;
  const RouterModel& rm = ctx_.rm();
  for (const InterfaceModel& in : rm.interfaces)
    if (in.holds6(v.dst)) return Classified::not_routed;  // ours: the control thread took what it answers
  // A tunnel's own IPv6 address (#19) out of a tunnel: the punt path took it
  // when on (Worker::tunnel_punt6), else it is refused, never routed.
  if (s.tunnel != kNone && rm.tunnel_by_address6(v.dst) != kNone) return Classified::not_routed;
  if (scoped_or_multicast(v.dst) || scoped_or_multicast(v.src))
    return ctx_.drop(m, DropReason::ipv6_not_routable), Classified::done;
  const uint8_t* d = pkt_data(m);
  const bool icmp = v.proto == kProtoIcmpv6;
  if (icmp && d[v.l4] >= kIcmp6DestUnreachable && d[v.l4] <= kIcmp6ParamProblem) {
    s.sig = 0;  // error_input() finds its owner and session by the quoted tuple, in order with the burst
    return Classified::staged;
  }
  if (v.proto != kProtoTcp && v.proto != kProtoUdp &&
      !(icmp && (d[v.l4] == kIcmp6EchoRequest || d[v.l4] == kIcmp6EchoReply)))
    return ctx_.drop(m, DropReason::unsupported_proto), Classified::done;
  const FiveTuple6 t{v.src, v.dst, v.sport, v.dport, v.proto};
  const uint32_t owner = owner6(ctx_, t);
  if (owner != ctx_.id) return handoff_.stage(m, owner), Classified::done;  // sent after the burst
  s.sig = SessionTable6::signature(t);  // its home slot is prefetched with the burst's (prefetch_sessions)
  return Classified::staged;
}

void Route6Step::from_tunnel(rte_mbuf* m, int tunnel) {
  if (!table_) return ctx_.drop(m, DropReason::esp_inner_unsupported);
  Staged s{m, parse_ipv6_packet(pkt_data(m), m->data_len, kEthHdrLen), kNone, 0, tunnel};
  if (s.v.status == Ipv6Status::fragment) return ctx_.drop(m, DropReason::esp_inner_fragment6);
  if (s.v.status != Ipv6Status::ok) return ctx_.drop(m, ipv6_drop_reason(s.v.status));
  if (esp_) esp_->clamp6(m, s.v, static_cast<uint32_t>(tunnel));  // the site's SYNs too, as IPv4's
  switch (classify(s)) {
    case Classified::not_routed: return ctx_.drop(m, DropReason::esp_inner_to_us);
    case Classified::done: return;
    case Classified::staged: return process(s);
  }
}

void Route6Step::prefetch_sessions(const Staged* s, uint32_t n) const {
  if (!table_) return;
  prefetch_slots(*table_, s, n);
  wp::prefetch_sessions(*table_, s, n);
}

void Route6Step::process(const Staged& s) {
  rte_mbuf* m = s.m;
  const Ipv6View& v = s.v;
  if (s.sig == 0) return error_input(m, v);
  const FiveTuple6 t{v.src, v.dst, v.sport, v.dport, v.proto};
  Session6Ref ref = table_->lookup(t, s.sig);
  if (ref && !ref.session->svr_ref && follow_ && !follow_->current(*ref.session)) ref = {};  // a commit closed it
  if (ref) {
    // A direction arrives where the other leaves.
    if (!arrives_as(*ref.session, ref.dir == Dir::forward ? 1 : 0, s.tunnel)) [[unlikely]]
      return ctx_.drop(m, DropReason::tunnel_mismatch);
    if (!ref.session->svr_ref) return forward(m, v, *ref.session, ref.dir);
    if (ctx_.svr6->from_lan(m, v, *ref.session, ref.dir)) return;  // SVR carries it
    // A config commit closed the SVR session that carried it: the packet starts a new one.
  }
  // A session starts on a LAN (or a tunnel), with a TCP or UDP packet or an echo request.
  if (s.tunnel == kNone && ctx_.rm().interfaces[static_cast<size_t>(s.iface)].wan)
    return ctx_.drop(m, DropReason::ipv6_no_session);
  if (v.proto == kProtoIcmpv6 && pkt_data(m)[v.l4] != kIcmp6EchoRequest)
    return ctx_.drop(m, DropReason::unsupported_proto);
  first_packet(m, v, t, s.iface, s.tunnel);
}

// RFC 4443 § 2.4 (and RFC 8201's path MTU discovery): an error about a
// packet of a session, from a router or host down the path, goes on to the
// sender of that packet, like the session's own packets in the other
// direction. The quoted packet's tuple finds the session (and its owner).
void Route6Step::error_input(rte_mbuf* m, const Ipv6View& v) {
  const uint8_t* d = pkt_data(m);
  const uint32_t in = v.l4 + 8u;  // the quoted IPv6 header
  if (v.end < in + kIpv6HdrLen + 8) return ctx_.drop(m, DropReason::ipv6_no_session);
  const uint8_t proto = d[in + 6];
  const uint8_t* l4 = d + in + kIpv6HdrLen;
  FiveTuple6 q{load_ipv6(d + in + 8), load_ipv6(d + in + 24), 0, 0, proto};
  if (proto == kProtoTcp || proto == kProtoUdp) {
    q.sport = load_be16(l4);
    q.dport = load_be16(l4 + 2);
  } else if (proto == kProtoIcmpv6 && (l4[0] == kIcmp6EchoRequest || l4[0] == kIcmp6EchoReply)) {
    q.sport = q.dport = load_be16(l4 + 4);
  } else {
    return ctx_.drop(m, DropReason::unsupported_proto);  // about a packet no session carries
  }
  const uint32_t owner = owner6(ctx_, q);
  if (owner != ctx_.id) return handoff_.stage(m, owner);
  const Session6Ref ref = table_->lookup(q);
  if (!ref || v.dst != q.src) return ctx_.drop(m, DropReason::ipv6_no_session);
  // Its sender is across the WAN: the SVR session carries the error back (svr/svr6_lan.h).
  if (ref.session->svr_ref) return ctx_.svr6->error_from_lan(m, v, *ref.session, ref.dir);
  // Back toward the quoted packet's sender: the other direction of the session.
  const Dir back = ref.dir == Dir::forward ? Dir::reverse : Dir::forward;
  const int out = ref.session->iface[static_cast<size_t>(back)];
  const Ipv6& hop = ref.session->next_hop[static_cast<size_t>(back)];
  if (v.hop_limit <= 1) return ctx_.drop(m, DropReason::ipv6_hop_limit);  // never an error about an error
  if (static_cast<uint32_t>(v.end - v.l3) > mtu_of(out, hop)) return ctx_.drop(m, DropReason::ipv6_too_big);
  --pkt_data(m)[v.l3 + 7];
  ctx_.counters->add(Counter::ipv6_icmp6_errors_forwarded);
  send(m, v, out, hop);
}

void Route6Step::first_packet(rte_mbuf* m, const Ipv6View& v, const FiveTuple6& t, int iface, int tunnel) {
  const RouterModel& rm = ctx_.rm();
  const int tenant = tunnel == kNone                                    ? rm.tenant_for6(t.src, iface)
                     : static_cast<size_t>(tunnel) < rm.tunnels.size() ? rm.tunnels[static_cast<size_t>(tunnel)].tenant
                                                                        : kNone;
  if (tenant == kNone) return ctx_.drop(m, DropReason::no_tenant);
  const int service = rm.service_for6(t.dst, t.proto, t.dport);
  if (service == kNone) return ctx_.drop(m, DropReason::no_service);
  const int security = rm.policy(tenant, service);
  if (security == kNone) return ctx_.drop(m, DropReason::policy_deny);
  // Toward a peer: an IPv6 session over SVR (svr/svr6_lan.h); out of a tunnel, the tunnel is its LAN side.
  if (rm.services[static_cast<size_t>(service)].next_peer != kNone) {
    if (!ctx_.svr6 || !ctx_.svr6->enabled()) return ctx_.drop(m, DropReason::svr6_no_table);
    return ctx_.svr6->first_packet(m, v, t, tenant, service, security, tunnel);
  }
  // The config's routes or FRR's (control/route_choice.h); the tuple's hash picks an ECMP member.
  const uint32_t hash = symmetric_hash(t);
  const std::optional<Route6> fwd = ctx_.route6(t.dst, hash);
  // Replies to a tunnel's packet go back into that tunnel, whatever the routes say.
  const std::optional<Route6> back =
      tunnel == kNone ? ctx_.route6(t.src, hash)
                      : std::optional<Route6>(Route6{{}, tunnel_hop6(static_cast<uint32_t>(tunnel)), kRoute6Tunnel});
  if (!fwd || !back) return ctx_.drop(m, DropReason::ipv6_no_route);
  if (!may_leave(m, v, fwd->iface, route6_via(*fwd, t.dst), tunnel)) return;  // no session for what cannot leave
  if (DropReason refused{}; !ctx_.admit_session(t.src, tenant, refused)) return ctx_.drop(m, refused);
  SessionTable6::Refused why;
  Session6* s = table_->insert(t, why);
  if (!s) return ctx_.drop(m, why == SessionTable6::Refused::full ? DropReason::ipv6_table_full
                                                                  : DropReason::ipv6_not_routable);
  ctx_.gate.created(tenant);
  const auto fw = static_cast<size_t>(Dir::forward), rv = static_cast<size_t>(Dir::reverse);
  s->next_hop[fw] = route6_via(*fwd, t.dst);
  s->iface[fw] = static_cast<int8_t>(fwd->iface);
  s->next_hop[rv] = route6_via(*back, t.src);
  s->iface[rv] = static_cast<int8_t>(back->iface);
  s->tenant = static_cast<int16_t>(tenant);
  s->service = static_cast<int16_t>(service);
  set_model6(*s, ctx_.model_gen);
  s->uuid = ctx_.new_uuid();
  s->created_ms = s->last_ms = ctx_.now_ms;
  ctx_.counters->add(Counter::sessions6_created);
  count_sessions();
  post(SessionEventKind::created, *s);
  forward(m, v, *s, Dir::forward);
}

uint32_t Route6Step::mtu_of(int out, const Ipv6& hop) const {
  if (out != kRoute6Tunnel) return ctx_.rm().interfaces[static_cast<size_t>(out)].mtu;
  return ctx_.tunnel_mtu(tunnel_of_hop6(hop), kIpv6MinMtu);
}

void Route6Step::send(rte_mbuf* m, const Ipv6View& v, int out, const Ipv6& hop) {
  if (out != kRoute6Tunnel) return tx_.transmit6(m, out, hop);
  if (!esp_) return ctx_.drop(m, DropReason::esp_no_sa);
  esp_->output6(m, v, tunnel_of_hop6(hop));  // sealed by the tunnel's owner, next header 41
}

bool Route6Step::may_leave(rte_mbuf* m, const Ipv6View& v, int out, const Ipv6& hop, int from_tunnel) {
  if (v.hop_limit <= 1) {  // RFC 8200 § 3, RFC 4443 § 3.3: code 0, hop limit exceeded in transit
    icmp6_error(m, v, kIcmp6TimeExceeded, 0, Counter::ipv6_icmp6_time_exceeded, from_tunnel);
    ctx_.drop(m, DropReason::ipv6_hop_limit);
    return false;
  }
  const uint32_t mtu = mtu_of(out, hop);
  // RFC 8200 § 5: a router never fragments, nor does a tunnel entry point (RFC 4459 § 3: the
  // inner packet is what is too big; the sender learns the tunnel's MTU).
  if (static_cast<uint32_t>(v.end - v.l3) > mtu) {
    icmp6_error(m, v, kIcmp6PacketTooBig, std::max(mtu, kIpv6MinMtu), Counter::ipv6_icmp6_too_big, from_tunnel);
    ctx_.drop(m, DropReason::ipv6_too_big);
    return false;
  }
  return true;
}

void Route6Step::forward(rte_mbuf* m, const Ipv6View& v, Session6& s, Dir dir) {
  const auto k = static_cast<size_t>(dir);
  const int out = s.iface[k];
  // It arrived where 1 - k leaves.
  const int from_tunnel = s.iface[1 - k] == kRoute6Tunnel ? static_cast<int>(tunnel_of_hop6(s.next_hop[1 - k])) : kNone;
  if (!may_leave(m, v, out, s.next_hop[k], from_tunnel)) return;
  uint8_t* d = pkt_data(m);
  --d[v.l3 + 7];  // the hop limit: IPv6 has no header checksum to fix
  s.last_ms = ctx_.now_ms;
  ++s.packets[k];
  s.bytes[k] += static_cast<uint32_t>(v.end - v.l3);
  if (dir == Dir::reverse && !(s.flags & kReverseSeen)) {
    s.flags |= kReverseSeen;
    post(SessionEventKind::established, s);  // once a session: the first reply
  }
  if (v.proto == kProtoTcp) {
    if (v.tcp_flags & kTcpRst) s.flags |= kRst;
    if (v.tcp_flags & kTcpFin) s.flags |= dir == Dir::forward ? kFinFwd : kFinRev;
  }
  ctx_.counters->add(Counter::ipv6_forwarded);
  // Its service's class, for a shaped WAN port or the tunnel's ESP packet (no applications here: docs/qos.md).
  set_qos_class(m, static_cast<uint8_t>(ctx_.rm().service_qos_class(s.service)));
  send(m, v, out, s.next_hop[k]);
}

// Toward the sender (RFC 4443 § 2.2, worker/icmp6_error_sender.h): back into the tunnel it came out
// of, as the session's replies go (the route to it may lead elsewhere), else by the route back to
// it, a port or a tunnel. The offending packet stays in `m` for the caller to drop.
void Route6Step::icmp6_error(rte_mbuf* m, const Ipv6View& v, uint8_t type, uint32_t rest, Counter sent,
                             int from_tunnel) {
  if (from_tunnel != kNone)
    return icmp6_errors_.send(m, v, kRoute6Tunnel, tunnel_hop6(static_cast<uint32_t>(from_tunnel)), type, 0, rest,
                              sent);
  const std::optional<Route6> back = ctx_.route6(v.src, 0);
  if (back) icmp6_errors_.send(m, v, back->iface, route6_via(*back, v.src), type, 0, rest, sent);
}

// As OffloadFollower does for IPv4 sessions (offload_feedback.h): the NIC's
// packets count for the session and keep it alive; an aged report ends it when
// it is idle by its own clock too (the worker forwarded SYN/FIN/RST itself).
Session* Route6Step::offload_feedback(const OffloadFeedback6& f) {
  const Session6Ref ref = table_ ? table_->lookup(f.key) : Session6Ref{};
  if (!ref || ref.dir != Dir::forward || ref.session->uuid != f.uuid) {
    ctx_.counters->add(Counter::offload_feedback_stale);  // ended (or replaced) since the manager read it
    return nullptr;
  }
  Session6& s = *ref.session;
  for (int d = 0; d < 2; ++d) {
    s.packets[d] += f.packets[d];
    s.bytes[d] += f.bytes[d];
  }
  if (f.packets[0] || f.packets[1]) s.last_ms = ctx_.now_ms;
  if (s.svr_ref) return ctx_.table.at(s.svr_ref - 1);  // between IPv6 waypoints: the carrier's turn
  ctx_.counters->add(Counter::offload_feedback);
  const int32_t idle = static_cast<int32_t>(ctx_.now_ms - s.last_ms);
  if (f.kind != OffloadFeedbackKind::aged || (s.flags & kPeerSession) ||  // the HA peer's: its to end
      idle + kOffloadPollSlackMs < static_cast<int32_t>(SessionTable6::timeout_ms(s, ctx_.shared.timeouts)))
    return nullptr;
  post(SessionEventKind::closed, s, SessionEndReason::idle_timeout);
  remove(s);
  ctx_.counters->add(Counter::offload_aged);
  ctx_.counters->add(Counter::sessions6_expired);
  count_sessions();
  return nullptr;
}

void Route6Step::count_sessions() {
  ctx_.counters->sessions6_active.store(table_->size(), std::memory_order_relaxed);
}

void Route6Step::post_to(SessionEventKind kind, const Session6& s, SessionEndReason reason, uint8_t offload_kinds) {
  const auto ipfix = static_cast<size_t>(EventConsumer::ipfix), ha = static_cast<size_t>(EventConsumer::ha);
  rte_ring* r = ctx_.shared.event6_ring(ctx_.id);
  rte_ring* h = ctx_.shared.ha.event6_ring(ctx_.id);
  // An IPv6 session that SVR carries is posted by its IPv4 session's events (Svr6Lan::post).
  const bool to_ipfix = r && !s.svr_ref && (ctx_.shared.event_kinds[ipfix] & event_bit(kind));
  // Tunnel sides are neither offloaded (ESP is per packet) nor synced (docs/ipsec.md § IPv6 inside tunnels).
  const bool to_ha = h && !(s.flags & kPeerSession) && !s.svr_ref && !has_tunnel_side(s) &&
                     (ctx_.shared.event_kinds[ha] & event_bit(kind));
  rte_ring* o = ctx_.shared.offload_event6_ring(ctx_.id);
  const bool to_offload = o && !s.svr_ref && !has_tunnel_side(s) && (offload_kinds & event_bit(kind));
  if (!to_ipfix && !to_ha && !to_offload) return;
  HaSession6Event hev;  // HA's ring element (worker/ha_dataplane.h); the other rings take its `ev`
  Session6Event& ev = hev.ev;
  ev.kind = kind;
  ev.reason = reason;
  ev.worker = static_cast<uint16_t>(ctx_.id);
  ev.now_ms = ctx_.now_ms;
  ev.session = s;
  if (to_ipfix && rte_ring_sp_enqueue_elem(r, &ev, sizeof(ev)) != 0) ctx_.counters->add(Counter::ipfix_events_dropped);
  // A full ring: the session stays in software (established) or its rules age out in the NIC (closed).
  if (to_offload) {
    Offload6Event oev;
    oev.ev = ev;
    if (rte_ring_sp_enqueue_elem(o, &oev, sizeof(oev)) != 0) ctx_.counters->add(Counter::offload_events_dropped);
  }
  if (to_ha && rte_ring_sp_enqueue_elem(h, &hev, sizeof(hev)) != 0) {
    ctx_.counters->add(Counter::ha6_events_dropped);
    ctx_.counters->add(Counter::ha_events_dropped);  // the HA thread asks this worker to republish
  }
}

Announced Route6Step::announce(Session6& s, bool ours) {
  if (s.svr_ref) return Announced::unwanted;  // its carrying session's
  const SessionEventKind kind = ours ? SessionEventKind::update : SessionEventKind::closed;
  rte_ring* r = ctx_.shared.event6_ring(ctx_.id);
  if (r && !(ctx_.shared.event_kinds[static_cast<size_t>(EventConsumer::ipfix)] & event_bit(kind))) r = nullptr;
  rte_ring* o = ours || has_tunnel_side(s) ? nullptr : ctx_.shared.offload_event6_ring(ctx_.id);  // as post_to
  if (!r && !o) return Announced::unwanted;
  Offload6Event oev;
  Session6Event& ev = oev.ev;
  ev = announcement<Session6Event>(s, ours, ctx_.id, ctx_.now_ms);
  // Each consumer when its ring has room, as HaFollower::announce; room there, and this worker alone enqueues.
  bool missed = false;
  if (r && announce_room(r)) {
    rte_ring_sp_enqueue_elem(r, &ev, sizeof(ev));
    if (ours) s.updated_ms = ctx_.now_ms;
  } else if (r) {
    missed = true;
  }
  if (o && announce_room(o))
    rte_ring_sp_enqueue_elem(o, &oev, sizeof(oev));
  else if (o)
    missed = true;
  return missed ? Announced::no_room : Announced::posted;
}

bool Route6Step::reoffload(Session6& s) {
  rte_ring* o = ctx_.shared.offload_event6_ring(ctx_.id);
  if (!o || s.svr_ref || has_tunnel_side(s)) return true;  // nothing to post
  if (!announce_room(o)) return false;
  Offload6Event oev;
  oev.ev = announcement<Session6Event>(s, true, ctx_.id, ctx_.now_ms);
  oev.ev.kind = SessionEventKind::established;
  rte_ring_sp_enqueue_elem(o, &oev, sizeof(oev));
  ctx_.counters->add(Counter::ha_sessions_reoffloaded);
  return true;
}

void Route6Step::on_expire(void* self, const Session6& s) {
  const bool ended = (s.flags & kRst) || ((s.flags & kFinFwd) && (s.flags & kFinRev));
  auto* step = static_cast<Route6Step*>(self);
  step->post(SessionEventKind::closed, s, ended ? SessionEndReason::end_of_flow : SessionEndReason::idle_timeout);
  step->uncount(s);
}

// As IPv4's Aging::on_live: an update every session_update_ms (IPFIX active timeout, REST freshness).
void Route6Step::on_live(void* self, Session6& s) {
  auto* step = static_cast<Route6Step*>(self);
  const uint32_t period = step->ctx_.shared.session_update_ms;
  const uint32_t since = s.updated_ms ? s.updated_ms : s.created_ms;
  if (period == 0 || step->ctx_.now_ms - since < period) return;
  s.updated_ms = step->ctx_.now_ms;
  step->post(SessionEventKind::update, s);
}

// Paced by the clock like the IPv4 sweep (worker/aging.h): a full pass per
// Aging::period_ms, spread over the loop iterations in which the millisecond
// clock advanced, at most Aging::kMaxSlice sessions a call. (A fixed 256
// sessions on every iteration read ~35 KB of session array per burst on a busy
// worker and cost the IPv6 fast path in the foundation benchmark.)
void Route6Step::age() {
  if (!table_ || table_->size() == 0) return;
  const uint32_t elapsed = ctx_.now_ms - aged_ms_;
  if (elapsed == 0) return;
  aged_ms_ = ctx_.now_ms;
  const uint64_t due = uint64_t{table_->capacity()} * elapsed / Aging::period_ms(ctx_.shared.timeouts, 0) + 1;
  const auto budget = static_cast<uint32_t>(std::min<uint64_t>(due, Aging::kMaxSlice));
  const bool events = ctx_.shared.event6_ring(ctx_.id) != nullptr || ctx_.shared.ha.event6_ring(ctx_.id) != nullptr ||
                      ctx_.shared.offload_event6_ring(ctx_.id) != nullptr;
  // on_expire always: an expired session leaves its tenant's count, events or not.
  if (uint32_t gone = table_->expire_some(ctx_.now_ms, budget, ctx_.shared.timeouts, &on_expire, this,
                                          events && ctx_.shared.session_update_ms ? &on_live : nullptr)) {
    ctx_.counters->add(Counter::sessions6_expired, gone);
    count_sessions();
  }
}

}  // namespace wp
