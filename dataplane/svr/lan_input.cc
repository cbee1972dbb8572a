// LAN input: established sessions and the ingress first packet
// (docs/svr-wire-format.md § First packet, steps 1-2; docs/architecture.md § Sessions for port choice).
//
// A LAN packet with no session is a session request: tenant by source,
// service by destination, and only an explicit policy allows it (deny by
// default). The ingress router then binds the WAN side: our waypoint address
// on the interface that reaches the peer, an even own port and an odd peer
// port whose (port >> 1) & 63 both equal the session's affinity class, so the
// peer and our own WAN input dispatch its packets to the same worker without
// parsing metadata. emit() then adds the metadata.
#include "dataplane/worker/worker.h"

namespace wp {

void Worker::lan_input(rte_mbuf* m, ParsedPacket& pp, int iface) {
  SessionRef ref = table_.lookup({pp.src, pp.dst, pp.sport, pp.dport, pp.proto});
  if (!ref) {
    first_packet_lan(m, pp, iface);
    return;
  }
  // A forward packet is where the ingress router moves a session
  // off a path that went down or left its SLA (one byte read when it stays).
  if (ref.dir == Dir::forward && ref.session->side_b_wan() && shared_.paths) follow_path(*ref.session);
  emit(m, pp, *ref.session, ref.dir);
}

bool Worker::pick_wan_side(Session& s, int peer, uint32_t cls, DropReason& why) {
  // With paths known, the path table ranks them (BFD, SLA, preference).
  if (const PathTable* pt = shared_.paths; pt && pt->size() != 0) {
    int path = pt->pick(static_cast<size_t>(s.service), symmetric_hash(s.original));
    if (path < 0 || pt->path(static_cast<size_t>(path)).peer != peer) {
      why = DropReason::no_path;
      return false;
    }
    return bind_path(s, path, cls, why);
  }
  const PeerModel& p = model().peers[peer];
  std::optional<NextHop> nh;
  Ipv4 peer_addr = 0;
  for (Ipv4 w : p.waypoints) {
    nh = model().route(w);
    if (nh && model().interfaces[nh->iface].wan) {
      peer_addr = w;
      break;
    }
    nh.reset();
  }
  if (!nh) {
    why = DropReason::no_peer;
    return false;
  }
  FiveTuple out{model().interfaces[nh->iface].addr, peer_addr, 0, 0, s.original.proto};
  if (!pick_port_pair(out, cls)) {
    why = DropReason::ports_exhausted;
    return false;
  }
  s.out_fwd = SideOut{out, nh->addr, static_cast<int8_t>(nh->iface), static_cast<int8_t>(peer)};
  return true;
}

// Fills out's ports for the waypoint pair out.src -> out.dst.
bool Worker::pick_port_pair(FiveTuple& out, uint32_t cls) {
  // 384 port values per class on each side; pick a random pair and retry on
  // collision with an existing session of the same waypoint pair.
  constexpr uint32_t kValuesPerClass = (kWaypointPortMax + 1 - kWaypointPortMin) / 2 / kAffinityClasses;
  for (int attempt = 0; attempt < 16; ++attempt) {
    uint64_t r = rng_();
    uint32_t v_own = kWaypointPortMin / 2 + cls + kAffinityClasses * static_cast<uint32_t>(r % kValuesPerClass);
    uint32_t v_peer =
        kWaypointPortMin / 2 + cls + kAffinityClasses * static_cast<uint32_t>((r >> 20) % kValuesPerClass);
    uint32_t own_port = v_own * 2, peer_port = v_peer * 2 + 1;
    if (peer_port > kWaypointPortMax) continue;
    out.sport = static_cast<uint16_t>(own_port);
    out.dport = static_cast<uint16_t>(peer_port);
    if (!table_.lookup(out.reversed())) return true;
  }
  return false;
}

void Worker::first_packet_lan(rte_mbuf* m, ParsedPacket& pp, int iface) {
  const RouterModel& rm = model();
  FiveTuple t{pp.src, pp.dst, pp.sport, pp.dport, pp.proto};
  int tenant = rm.tenant_for(t.src, iface);
  if (tenant == kNone) return drop(m, DropReason::no_tenant);
  int service = rm.service_for(t.dst, t.proto, t.dport);
  if (service == kNone) return drop(m, DropReason::no_service);
  int security = rm.policy(tenant, service);
  if (security == kNone) return drop(m, DropReason::policy_deny);
  auto back = rm.route(t.src);
  if (!back) return drop(m, DropReason::no_route);

  Session* s = table_.allocate();
  if (!s) return drop(m, DropReason::table_full);
  s->original = t;
  s->uuid = new_uuid();
  s->tenant = static_cast<int16_t>(tenant);
  s->service = static_cast<int16_t>(service);
  s->security = static_cast<int16_t>(security);
  s->created_ms = s->last_ms = now_ms_;
  s->out_rev = SideOut{t.reversed(), back->addr, static_cast<int8_t>(back->iface), -1};
  const ServiceModel& svc = rm.services[service];
  DropReason why = DropReason::no_route;
  bool bound;
  if (svc.next_peer == kNone) {  // both ends on our LAN side: a plain routed session
    auto fwd = rm.route(t.dst);
    bound = fwd.has_value() && !table_.lookup(t.reversed());
    if (bound) s->out_fwd = SideOut{t, fwd->addr, static_cast<int8_t>(fwd->iface), -1};
  } else {
    bound = pick_wan_side(*s, svc.next_peer, affinity_class(t), why);
  }
  // Session keys for the WAN side, encryption decision.
  if (bound && !start_session_crypto(*s, pp, nullptr, why)) {
    table_.release(s);
    return drop(m, why);
  }
  // Both keys were looked up above (the miss in lan_input, then the side B
  // check), so index without probing again.
  if (!bound || !table_.insert_unique(s)) {
    end_session_crypto(*s);
    table_.release(s);
    return drop(m, bound ? DropReason::ports_exhausted : why);
  }
  counters_->add(Counter::sessions_created);
  counters_->sessions_active.store(table_.size(), std::memory_order_relaxed);
  if (PathTable* pt = shared_.paths; pt && s->side_b_wan()) {
    int path = pt->find(s->out_fwd.peer, s->out_fwd.iface);
    if (path >= 0) PathWorkerCounters::bump(pt->counters(id_, static_cast<size_t>(path)).sessions_started);
  }
  post_event(SessionEventKind::created, *s);
  emit(m, pp, *s, Dir::forward);
}

}  // namespace wp
