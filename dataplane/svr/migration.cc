// Session migration between paths; see migration.h.
#include "dataplane/svr/migration.h"

#include <algorithm>

#include "dataplane/control/waypoint6_addr.h"
#include "dataplane/crypto/hmac.h"
#include "dataplane/ip/packet_edit.h"
#include "dataplane/paths/path_table.h"
#include "dataplane/session/owner.h"
#include "dataplane/svr/session_setup.h"
#include "dataplane/svr/svr6_lan.h"

namespace wp {

void PathMigration::count(int from, int to, bool failed) {
  PathTable& pt = *ctx_.shared.paths;
  if (failed) {
    if (from >= 0) PathWorkerCounters::bump(pt.counters(ctx_.id, static_cast<size_t>(from)).migration_failed);
    return;
  }
  if (from >= 0) PathWorkerCounters::bump(pt.counters(ctx_.id, static_cast<size_t>(from)).migrated_out);
  if (to >= 0) PathWorkerCounters::bump(pt.counters(ctx_.id, static_cast<size_t>(to)).migrated_in);
}

bool PathMigration::follow(Session& s) {
  PathTable& pt = *ctx_.shared.paths;
  // A session on IPv6 waypoints (svr/waypoint6.h: stand-ins) moves among their paths only.
  const bool v6 = is_waypoint6_standin(s.out_fwd.tuple.dst);
  int from = pt.find(s.out_fwd.peer, s.out_fwd.iface, v6);
  if (!pt.should_leave(static_cast<size_t>(s.service), from)) return false;
  int to = pt.pick(static_cast<size_t>(s.service), symmetric_hash(s.original), v6);
  if (to < 0 || to == from) return false;  // nowhere better to go: stay and keep trying
  SideOut old = s.out_fwd;
  DropReason why;
  Session moved = s;
  // The new pair keeps the class of the old one (both ports of a leg carry it, pick_port_pair):
  // an IPv6 session's is its IPv6 tuple's, not its internal tuple's (svr/svr6_lan.h).
  if (!bind_path(ctx_, moved, to, class_of_port(old.tuple.sport), why) ||
      !ctx_.table.rebind(&s, Dir::forward, moved.out_fwd)) {
    count(from, to, true);
    s.out_fwd = old;
    return false;
  }
  // Metadata again until the peer acks on the new path; "established" is
  // announced again then (offload rules match the old tuple).
  s.flags &= static_cast<uint8_t>(~(kFwdMdAcked | kEstablished));
  s.md_only_ms = static_cast<uint16_t>(ctx_.now_ms - 1000);
  if (s.migrations != UINT16_MAX) ++s.migrations;
  flow_.leg_moved(s, 1);  // side B's blocks belong to the old path
  count(from, to);
  ctx_.counters->add(Counter::path_migrations);
  ctx_.post_event(SessionEventKind::update, s);  // the HA peer re-binds its copy too
  return true;
}

void PathMigration::sweep() {
  // A session whose client is silent (a download waiting for data the old
  // path lost) sends no forward packet that could move it.
  uint32_t epoch = ctx_.shared.paths->epoch();
  if (epoch != epoch_) {
    epoch_ = epoch;
    sweeping_ = true;
    hand_ = 0;
  }
  if (!sweeping_) return;
  uint32_t end = std::min(hand_ + kSweepSlice, ctx_.table.capacity());
  rte_mempool* pool = ctx_.shared.control_pool;
  for (; hand_ < end; ++hand_) {
    Session& s = *ctx_.table.at(hand_);
    if (!s.in_use || !s.side_b_wan() || !recheck_.current(s)) continue;  // leg B is WAN: ingress and transit
    if (follow(s) && pool) metadata_only_.send(pool, s, Dir::forward, s.out_fwd);
  }
  if (hand_ >= ctx_.table.capacity()) sweeping_ = false;
}

bool PathMigration::rebind(rte_mbuf* m, ParsedPacket& pp, const Metadata& md, int peer) {
  if (!md.has_uuid) return false;
  Session* found = nullptr;
  uint32_t cls = 0;  // the class of the session's LAN packets
  if (md.has_forward_context) {
    SessionRef old = ctx_.table.lookup(md.forward_context.reversed());  // the LAN side key at the last hop
    if (!old || old.dir != Dir::reverse || old.session->original != md.forward_context) return false;
    found = old.session;
    cls = affinity_class(md.forward_context);
  } else if (md.has_forward_context6 && ctx_.svr6) {  // TLV 3: an IPv6 session (svr/svr6_lan.h)
    found = ctx_.svr6->carrier_of(md.forward_context6);
    cls = affinity_class6(md.forward_context6);
  }
  if (!found || !recheck_.current(*found)) return false;
  Session& s = *found;
  if (s.uuid != md.uuid || s.out_rev.peer != peer || s.side_b_wan()) return false;
  // The new pair must keep the class, or WAN and LAN packets would reach different workers.
  if (class_of_port(pp.dport) != cls || pp.proto != s.original.proto) return false;
  // A peer's IPv6 waypoint (its stand-in): back by its IPv6 route (svr/waypoint6.h).
  const bool v6 = is_waypoint6_standin(pp.src);
  auto back = v6 ? waypoint6_route(ctx_.rm(), ctx_.shared.fib6.load(std::memory_order_acquire), pp.src)
                 : ctx_.route(pp.src, symmetric_hash(s.original));
  if (!back) return false;
  SideOut from = s.out_rev;
  SideOut to{FiveTuple{pp.dst, pp.src, pp.dport, pp.sport, pp.proto}, back->addr, static_cast<int8_t>(back->iface),
             static_cast<int>(peer)};
  if (!ctx_.table.rebind(&s, Dir::reverse, to)) return false;
  s.flags |= kRevMdPending;
  s.flags &= static_cast<uint8_t>(~kEstablished);
  s.md_only_ms = static_cast<uint16_t>(ctx_.now_ms - 1000);
  if (s.migrations != UINT16_MAX) ++s.migrations;
  flow_.leg_moved(s, 0);
  ctx_.counters->add(Counter::path_rebinds);
  ctx_.post_event(SessionEventKind::update, s);
  if (PathTable* pt = ctx_.shared.paths) count(pt->find(from.peer, from.iface, is_waypoint6_standin(from.tuple.dst)), pt->find(peer, back->iface, v6));
  strip_at_payload(m, pp, static_cast<uint16_t>(md.block_len()), kHmacTagLen);
  if (md.control_message == kControlKeepAlive) {
    metadata_only_.consume(m, s, Dir::forward);
    return true;
  }
  emit_.send(m, pp, s, Dir::forward);
  return true;
}

}  // namespace wp
