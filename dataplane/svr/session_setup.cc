// Setting a new session up; see session_setup.h.
#include "dataplane/svr/session_setup.h"

#include "dataplane/paths/path_table.h"
#include "dataplane/session/owner.h"

namespace wp {
namespace {

// Without path monitoring: the first of the peer's waypoints routed out of a WAN interface.
bool bind_by_route(WorkerContext& ctx, Session& s, int peer, uint32_t cls, DropReason& why) {
  const RouterModel& rm = ctx.rm();
  std::optional<NextHop> nh;
  Ipv4 peer_addr = 0;
  for (Ipv4 w : rm.peers[peer].waypoints) {
    nh = ctx.route(w, symmetric_hash(s.original));
    if (nh && rm.interfaces[nh->iface].wan) {
      peer_addr = w;
      break;
    }
    nh.reset();
  }
  if (!nh) {
    why = DropReason::no_peer;
    return false;
  }
  FiveTuple out{rm.interfaces[nh->iface].addr, peer_addr, 0, 0, s.original.proto};
  if (!pick_port_pair(ctx.table, ctx.rng, out, cls)) {
    why = DropReason::ports_exhausted;
    return false;
  }
  s.out_fwd = SideOut{out, nh->addr, static_cast<int8_t>(nh->iface), static_cast<int8_t>(peer)};
  return true;
}

}  // namespace

bool pick_port_pair(const SessionTable& table, std::mt19937_64& rng, FiveTuple& out, uint32_t cls) {
  // 384 port values per class on each side; pick a random pair and retry on
  // collision with an existing session of the same waypoint pair.
  constexpr uint32_t kValuesPerClass = (kWaypointPortMax + 1 - kWaypointPortMin) / 2 / kAffinityClasses;
  for (int attempt = 0; attempt < 16; ++attempt) {
    uint64_t r = rng();
    uint32_t v_own = kWaypointPortMin / 2 + cls + kAffinityClasses * static_cast<uint32_t>(r % kValuesPerClass);
    uint32_t v_peer =
        kWaypointPortMin / 2 + cls + kAffinityClasses * static_cast<uint32_t>((r >> 20) % kValuesPerClass);
    uint32_t own_port = v_own * 2, peer_port = v_peer * 2 + 1;
    if (peer_port > kWaypointPortMax) continue;
    out.sport = static_cast<uint16_t>(own_port);
    out.dport = static_cast<uint16_t>(peer_port);
    if (!table.lookup(out.reversed())) return true;
  }
  return false;
}

bool bind_path(WorkerContext& ctx, Session& s, int path, uint32_t cls, DropReason& why) {
  const PathModel& p = ctx.shared.paths->path(static_cast<size_t>(path));
  FiveTuple out{p.local, p.remote, 0, 0, s.original.proto};
  if (!pick_port_pair(ctx.table, ctx.rng, out, cls)) {
    why = DropReason::ports_exhausted;
    return false;
  }
  // A session moving path keeps the keys (and their version) it has.
  s.out_fwd = SideOut{out, p.next_hop, static_cast<int8_t>(p.iface), static_cast<int8_t>(p.peer),
                      s.out_fwd.key_version};
  return true;
}

bool pick_wan_side(WorkerContext& ctx, Session& s, int peer, uint32_t cls, DropReason& why) {
  // With paths known, the path table ranks them (BFD, SLA, preference).
  if (const PathTable* pt = ctx.shared.paths; pt && pt->size() != 0) {
    int path = pt->pick(static_cast<size_t>(s.service), symmetric_hash(s.original));
    if (path < 0 || pt->path(static_cast<size_t>(path)).peer != peer) {
      why = DropReason::no_path;
      return false;
    }
    return bind_path(ctx, s, path, cls, why);
  }
  return bind_by_route(ctx, s, peer, cls, why);
}

bool install_session(WorkerContext& ctx, CryptoBatch& crypto, Session* s, bool bound, DropReason why,
                     const ParsedPacket& pp, const Metadata* md, rte_mbuf* m) {
  if (bound && !crypto.start(*s, pp, md, why)) {
    ctx.release_nat_port(*s);
    ctx.table.release(s);
    ctx.drop(m, why);
    return false;
  }
  if (!bound || !ctx.table.insert_unique(s)) {
    ctx.release_keys(*s);
    ctx.release_nat_port(*s);
    ctx.table.release(s);
    ctx.drop(m, bound ? DropReason::ports_exhausted : why);
    return false;
  }
  s->model_gen = ctx.model_gen;
  ctx.gate.created(s->tenant);
  ctx.counters->add(Counter::sessions_created);
  ctx.count_active();
  return true;
}

}  // namespace wp
