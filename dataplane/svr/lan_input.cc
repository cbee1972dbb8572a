// LAN input; see lan_input.h.
#include "dataplane/svr/lan_input.h"

#include "dataplane/control/waypoint6_addr.h"
#include "dataplane/ip/packet_edit.h"
#include "dataplane/paths/path_table.h"
#include "dataplane/session/owner.h"
#include "dataplane/svr/breakout.h"
#include "dataplane/svr/session_setup.h"

namespace wp {

namespace {

// Whether `side` (where the packet arrives) is IPsec tunnel `tunnel`, or, for
// kNone, no tunnel at all.
bool arrives_as(const SideOut& side, int tunnel) {
  if (side.iface != kIfaceTunnel) return tunnel == kNone;
  return tunnel != kNone && side.next_hop == static_cast<Ipv4>(tunnel);
}

}  // namespace

void LanInput::input(rte_mbuf* m, ParsedPacket& pp, int iface, int tunnel) {
  // An ICMP error about a packet of a session (the worker dispatched it by the quote's class).
  if (pp.proto == kProtoIcmp && icmp4_ && tunnel == kNone) [[unlikely]]
    if (const std::optional<FiveTuple> q = SvrIcmp4::quoted_tuple(pkt_data(m), pp)) return icmp_error(m, pp, *q);
  SessionRef ref = ctx_.table.lookup({pp.src, pp.dst, pp.sport, pp.dport, pp.proto});
  if (!ref || !recheck_.current(*ref.session)) {
    first_packet(m, pp, iface, tunnel);
    return;
  }
  // The internal tuple of an IPv6 session (svr/svr6_lan.h) is not for IPv4 packets.
  if ((ref.dir == Dir::forward ? ref.session->out_rev : ref.session->out_fwd).iface == kIfaceSvr6) [[unlikely]]
    return ctx_.drop(m, DropReason::svr6_internal_tuple);
  // A tunnel's packets only for its own sessions, and LAN packets only for LAN ones.
  if (!arrives_as(ref.dir == Dir::forward ? ref.session->out_rev : ref.session->out_fwd, tunnel)) [[unlikely]]
    return ctx_.drop(m, DropReason::tunnel_mismatch);
  // A forward packet is where the ingress router moves a session off a path
  // that went down or left its SLA (one byte read when it stays).
  if (ref.dir == Dir::forward && ref.session->side_b_wan() && ctx_.shared.paths) migration_.follow(*ref.session);
  emit_.send(m, pp, *ref.session, ref.dir);
}

void LanInput::first_packet(rte_mbuf* m, ParsedPacket& pp, int iface, int tunnel) {
  const RouterModel& rm = ctx_.rm();
  FiveTuple t{pp.src, pp.dst, pp.sport, pp.dport, pp.proto};
  int tenant = tunnel == kNone                                 ? rm.tenant_for(t.src, iface)
               : static_cast<size_t>(tunnel) < rm.tunnels.size() ? rm.tunnels[static_cast<size_t>(tunnel)].tenant
                                                                  : kNone;
  if (tenant == kNone) return ctx_.drop(m, DropReason::no_tenant);
  int service = rm.service_for(t.dst, t.proto, t.dport);
  // SVR carries TCP and UDP; ICMP echo goes only through a breakout, or
  // routed on our side between the LAN and an IPsec tunnel.
  if (t.proto == kProtoIcmp)
    if (const auto why = icmp_refusal(t, service, tunnel, pkt_data(m)[pp.l4] == 8)) return ctx_.drop(m, *why);
  if (service == kNone) return ctx_.drop(m, DropReason::no_service);
  int security = rm.policy(tenant, service);
  if (security == kNone) return ctx_.drop(m, DropReason::policy_deny);
  const uint32_t hash = symmetric_hash(t);
  // Replies to a tunnel's packet go back into that tunnel, whatever the routes say.
  auto back = tunnel == kNone ? ctx_.route(t.src, hash)
                              : std::optional<NextHop>{NextHop{kIfaceTunnel, static_cast<Ipv4>(tunnel)}};
  if (!back) return ctx_.drop(m, DropReason::no_route);
  DropReason why = DropReason::no_route;
  if (!ctx_.admit_session(t.src, tenant, why)) return ctx_.drop(m, why);

  Session* s = ctx_.table.allocate();
  if (!s) return ctx_.drop(m, DropReason::table_full);
  s->original = t;
  s->uuid = ctx_.new_uuid();
  s->tenant = static_cast<int16_t>(tenant);
  s->service = static_cast<int16_t>(service);
  s->set_qos_class(static_cast<uint8_t>(rm.services[service].qos_class));
  s->security = static_cast<int16_t>(security);
  s->created_ms = s->last_ms = ctx_.now_ms;
  s->out_rev = SideOut{t.reversed(), back->addr, static_cast<int8_t>(back->iface), -1};
  bool bound = bind_side_b(*s, rm.services[service], why);
  // Both keys were looked up above (the miss in input(), then the side B
  // check), so index without probing again.
  if (!install_session(ctx_, crypto_, s, bound, why, pp, nullptr, m)) return;
  if (s->nat) ctx_.counters->add(Counter::breakout_sessions_created);
  if (PathTable* pt = ctx_.shared.paths; pt && s->side_b_wan()) {
    int path = pt->find(s->out_fwd.peer, s->out_fwd.iface, is_waypoint6_standin(s->out_fwd.tuple.dst));
    if (path >= 0) PathWorkerCounters::bump(pt->counters(ctx_.id, static_cast<size_t>(path)).sessions_started);
  }
  ctx_.post_event(SessionEventKind::created, *s);
  dup_.start(*s);   // a duplicated class: TLV 27 in its forward blocks, two paths after the handshake
  apps_.start(*s);  // the first packet is the first one classified (Emit::send)
  emit_.send(m, pp, *s, Dir::forward);
}

void LanInput::icmp_error(rte_mbuf* m, const ParsedPacket& pp, const FiveTuple& q) {
  // The quoted packet left us: its reply would arrive with the quote's tuple reversed.
  const SessionRef ref = ctx_.table.lookup(q.reversed());
  if (!ref || !recheck_.current(*ref.session)) return ctx_.drop(m, DropReason::no_session);
  icmp4_->error_from_lan(m, pp, q, *ref.session, other_dir(ref.dir));
}

std::optional<DropReason> LanInput::icmp_refusal(const FiveTuple& t, int service, int tunnel,
                                                 bool echo_request) const {
  // A session starts with an echo request.
  if (service == kNone || !echo_request) return DropReason::unsupported_proto;
  const ServiceModel& svc = ctx_.rm().services[service];
  if (svc.breakout_iface != kNone) return std::nullopt;
  if (svc.next_peer != kNone) return DropReason::unsupported_proto;
  if (tunnel != kNone) return std::nullopt;
  const auto fwd = ctx_.route(t.dst, symmetric_hash(t));
  if (!fwd) return DropReason::no_route;
  if (fwd->tunnel()) return std::nullopt;
  return DropReason::unsupported_proto;
}

bool LanInput::bind_side_b(Session& s, const ServiceModel& svc, DropReason& why) {
  const FiveTuple& t = s.original;
  if (svc.breakout_iface != kNone) return bind_breakout(ctx_, s, svc, why);
  if (svc.next_peer != kNone) return bind_wan_side(ctx_, s, svc.next_peer, affinity_class(t), false, why);
  // Both ends on our LAN side: a plain routed session.
  auto fwd = ctx_.route(t.dst, symmetric_hash(t));
  if (!fwd || ctx_.table.lookup(t.reversed())) return false;
  s.out_fwd = SideOut{t, fwd->addr, static_cast<int8_t>(fwd->iface), -1};
  return true;
}

}  // namespace wp
