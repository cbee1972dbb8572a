// Live config commit, worker side (docs/architecture.md § Threads: config
// commits are RCU-style).
//
// Sessions store entity indexes into the RouterModel they were created under.
// When a new model is published, the owning worker (nobody else may touch its
// table) walks its table once: tenant, service, security and peer indexes are
// remapped by name, and a session whose tenant -> service pair the new policy
// no longer allows (or whose tenant, service or peer is gone) is torn down
// with a `closed` event, reason forced_end, and counted
// (sessions_policy_closed). The old model stays alive until this worker's
// loop iteration ends (counters.epoch), so reading it here is safe.
// Cost: one pass over the session array per commit (commits are rare; a
// million sessions take a few milliseconds of this worker's time).
// Sessions keep their path (interfaces, waypoint ports): only new sessions
// follow changed services' next_peer.
#include "dataplane/worker/worker.h"

namespace wp {
namespace {

int remap_peer(int idx, const RouterModel& from, const RouterModel& to) {
  if (idx < 0) return idx;
  for (size_t i = 0; i < to.peers.size(); ++i)
    if (to.peers[i].name == from.peers[static_cast<size_t>(idx)].name) return static_cast<int>(i);
  return kNone - 1;  // gone
}

}  // namespace

void Worker::recheck_sessions(const RouterModel& old_model, const RouterModel& new_model) {
  uint32_t closed = 0;
  for (uint32_t i = 0; i < table_.capacity(); ++i) {
    Session& s = *table_.at(i);
    if (!s.in_use) continue;
    int tenant = s.tenant >= 0 ? new_model.tenant_by_name(old_model.tenants[static_cast<size_t>(s.tenant)]) : kNone;
    int service =
        s.service >= 0 ? new_model.service_by_name(old_model.services[static_cast<size_t>(s.service)].name) : kNone;
    int security = new_model.policy(tenant, service);
    int peer_fwd = remap_peer(s.out_fwd.peer, old_model, new_model);
    int peer_rev = remap_peer(s.out_rev.peer, old_model, new_model);
    if (security == kNone || peer_fwd < kNone || peer_rev < kNone) {
      post_event(SessionEventKind::closed, s, SessionEndReason::forced_end);
      table_.remove(&s);
      ++closed;
      continue;
    }
    s.tenant = static_cast<int16_t>(tenant);
    s.service = static_cast<int16_t>(service);
    s.security = static_cast<int16_t>(security);
    s.out_fwd.peer = static_cast<int8_t>(peer_fwd);
    s.out_rev.peer = static_cast<int8_t>(peer_rev);
  }
  if (closed) {
    counters_->add(Counter::sessions_policy_closed, closed);
    counters_->sessions_active.store(table_.size(), std::memory_order_relaxed);
  }
}

}  // namespace wp
