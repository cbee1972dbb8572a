// Session migration between paths (docs/svr-wire-format.md § Path monitoring).
//
// Ingress (follow_path): on a forward packet, if the session's path went down
// or left the service's SLA while a better one exists (or, with `revert`, a
// more preferred one recovered), the session's WAN side moves to the best
// path: a new waypoint port pair on it, of the same affinity class so the
// same worker here and at the peer keeps owning the session, re-indexed in
// place (UUID, tenant/service, NAT, counters and keys stay). Forward metadata
// is re-armed, so the next forward packet tells the peer - same UUID - where
// the session went; a packet too big to carry it sends it ahead in a packet
// of its own (svr_metadata_only.cc).
// Egress (rebind_migrated): a verified forward metadata packet on an unknown
// port pair whose UUID and original tuple name a session we deliver on our
// LAN, from the same peer, re-binds that session's WAN side instead of
// creating a new one, and re-arms reverse metadata (the answer the ingress
// router waits for).
// Transit: a router between two peers (service with next_peer, A and B both
// WAN legs) moves its onward leg B exactly as an ingress router moves its
// WAN side; the next router re-binds by UUID the same way.
// Each move counts on the session (`migrations`, shown per session and
// synced to the HA peer) and resets the leg's TLV 26 blocks (flow_monitor.h).
#include "dataplane/ip/packet_edit.h"
#include "dataplane/worker/worker.h"

namespace wp {

bool Worker::bind_path(Session& s, int path, uint32_t cls, DropReason& why) {
  const PathModel& p = shared_.paths->path(static_cast<size_t>(path));
  FiveTuple out{p.local, p.remote, 0, 0, s.original.proto};
  if (!pick_port_pair(out, cls)) {
    why = DropReason::ports_exhausted;
    return false;
  }
  s.out_fwd = SideOut{out, p.next_hop, static_cast<int8_t>(p.iface), static_cast<int8_t>(p.peer)};
  return true;
}

bool Worker::follow_path(Session& s) {
  PathTable& pt = *shared_.paths;
  int from = pt.find(s.out_fwd.peer, s.out_fwd.iface);
  if (!pt.should_leave(static_cast<size_t>(s.service), from)) return false;
  int to = pt.pick(static_cast<size_t>(s.service), symmetric_hash(s.original));
  if (to < 0 || to == from) return false;  // nowhere better to go: stay and keep trying
  SideOut old = s.out_fwd;
  DropReason why;
  Session moved = s;
  if (!bind_path(moved, to, affinity_class(s.original), why) || !table_.rebind(&s, Dir::forward, moved.out_fwd)) {
    PathWorkerCounters::bump(pt.counters(id_, static_cast<size_t>(from)).migration_failed);
    s.out_fwd = old;
    return false;
  }
  // Metadata again until the peer acks on the new path; "established" is
  // announced again then (offload rules match the old tuple).
  s.flags &= static_cast<uint8_t>(~(kFwdMdAcked | kEstablished));
  s.md_only_ms = static_cast<uint16_t>(now_ms_ - 1000);
  if (s.migrations != UINT16_MAX) ++s.migrations;
  flow_leg_moved(s, 1);  // side B's blocks belong to the old path
  PathWorkerCounters::bump(pt.counters(id_, static_cast<size_t>(from)).migrated_out);
  PathWorkerCounters::bump(pt.counters(id_, static_cast<size_t>(to)).migrated_in);
  counters_->add(Counter::path_migrations);
  post_event(SessionEventKind::update, s);  // the HA peer re-binds its copy too
  return true;
}

void Worker::sweep_paths() {
  // A session whose client is silent (a download waiting for data the old
  // path lost) sends no forward packet that could move it: when ranks
  // change, walk the table, move what must move and announce each move at
  // once with a metadata-only packet. Bounded per loop iteration like aging.
  uint32_t epoch = shared_.paths->epoch();
  if (epoch != path_epoch_) {
    path_epoch_ = epoch;
    path_sweeping_ = true;
    path_sweep_hand_ = 0;
  }
  if (!path_sweeping_) return;
  constexpr uint32_t kBudget = 4096;
  uint32_t end = path_sweep_hand_ + kBudget < table_.capacity() ? path_sweep_hand_ + kBudget : table_.capacity();
  rte_mempool* pool = shared_.control_pool;
  for (; path_sweep_hand_ < end; ++path_sweep_hand_) {
    Session& s = *table_.at(path_sweep_hand_);
    if (!s.in_use || !s.side_b_wan()) continue;  // ingress and transit sessions: leg B is WAN
    if (follow_path(s) && pool) send_metadata_only(pool, s, Dir::forward, s.out_fwd);
  }
  if (path_sweep_hand_ >= table_.capacity()) path_sweeping_ = false;
}

bool Worker::rebind_migrated(rte_mbuf* m, ParsedPacket& pp, int iface, const Metadata& md, int peer) {
  if (!md.has_forward_context || !md.has_uuid) return false;
  SessionRef old = table_.lookup(md.forward_context.reversed());  // the LAN side key at the last hop
  if (!old || old.dir != Dir::reverse) return false;
  Session& s = *old.session;
  if (s.uuid != md.uuid || s.out_rev.peer != peer || s.side_b_wan() || s.original != md.forward_context) return false;
  // The new pair must keep the class, or WAN and LAN packets would reach different workers.
  if (class_of_port(pp.dport) != affinity_class(s.original) || pp.proto != s.original.proto) return false;
  auto back = model().route(pp.src);
  if (!back) return false;
  SideOut from = s.out_rev;
  SideOut to{FiveTuple{pp.dst, pp.src, pp.dport, pp.sport, pp.proto}, back->addr, static_cast<int8_t>(back->iface),
             static_cast<int8_t>(peer)};
  if (!table_.rebind(&s, Dir::reverse, to)) return false;
  s.flags |= kRevMdPending;
  s.flags &= static_cast<uint8_t>(~kEstablished);
  s.md_only_ms = static_cast<uint16_t>(now_ms_ - 1000);
  if (s.migrations != UINT16_MAX) ++s.migrations;
  flow_leg_moved(s, 0);
  counters_->add(Counter::path_rebinds);
  post_event(SessionEventKind::update, s);
  if (PathTable* pt = shared_.paths) {
    int a = pt->find(from.peer, from.iface), b = pt->find(peer, back->iface);
    if (a >= 0) PathWorkerCounters::bump(pt->counters(id_, static_cast<size_t>(a)).migrated_out);
    if (b >= 0) PathWorkerCounters::bump(pt->counters(id_, static_cast<size_t>(b)).migrated_in);
  }
  (void)iface;
  strip_at_payload(m, pp, static_cast<uint16_t>(md.block_len()), kHmacTagLen);
  if (md.control_message == kControlKeepAlive) {
    consume_metadata_only(m, s, Dir::forward);
    return true;
  }
  emit(m, pp, s, Dir::forward);
  return true;
}

}  // namespace wp
