// Live config commit, worker side (docs/architecture.md § Configuration:
// commits are RCU-style).
//
// Sessions store entity indexes (tenant, service, security policy, peers)
// into the RouterModel they were created under, and the generation of that
// model (Session::model_gen). When a new model is published the worker
// adopts it and re-checks its sessions against it: indexes are re-mapped by
// name, and a session whose tenant -> service pair the new policy no longer
// allows (or whose tenant, service or peer is gone) is torn down with a
// `closed` event, reason forced_end, and counted (sessions_policy_closed).
//
// The re-check is a budgeted sweep, like aging: at most kSlice sessions per
// loop iteration, so a commit at 10 M sessions never stalls a worker. A
// session the sweep has not reached yet is re-checked the moment a packet
// (or another sweep) finds it (current()), so no packet is ever handled with
// indexes into the wrong model. Until the sweep is done the worker still
// reads the previous model, so it does not adopt another one meanwhile, and
// publishes in WorkerCounters::model_settled which model it has finished
// with; the committer keeps the previous model alive until every worker has
// settled (mgmt/live_commit.cc). Sessions keep their path (interfaces,
// waypoint ports): only new sessions follow changed services' next_peer.
//
// Stand-ins (sessions between IPv6 waypoints, control/waypoint6_addr.h) are
// numbered from the config: 0.255.p.k is peer p's k-th IPv6 waypoint, so a
// commit that reorders peers or a peer's waypoints gives them new meanings.
// The re-check renumbers every stand-in a session holds (its WAN tuple and
// next hop) into the new model's numbering (waypoint6_renumber: same peer
// name and address, same interface) and re-keys that side in the table; a
// session whose waypoint the new model no longer has is closed like one the
// policy no longer allows, and also counted as sessions_waypoint6_closed. A
// packet from an IPv6 waypoint arrives in the new numbering (waypoint6_input
// reads the current model), so while the sweep runs WanInput finds its
// session with find(): the key as it is, else as the previous model numbered
// it. Two sessions may trade keys (two peers swapped places, the same port
// pair): the re-check moves the holder of a session's new key first, along
// the chain. New sessions do not take a key a session not re-checked yet
// will move to (reserved()). Closed sessions' events carry the session in
// the new model's terms (gone stand-ins as kWaypoint6Gone), so IPFIX and HA,
// which read the model of the moment, never name the wrong waypoint.
//
// Routed IPv6 sessions (worker/route6_step.h) hold tenant and service indexes
// too: attach6() adds their table to the sweep, visited after this one within
// the same kSlice per iteration, re-checked by worker/route6_follow.h (which
// also re-checks a packet's session first); the worker settles only when both
// tables are done.
#pragma once

#include <cstdint>

#include "dataplane/control/router_model.h"
#include "dataplane/session/session.h"
#include "dataplane/worker/context.h"

namespace wp {

// Tenant / service `idx` of the model `from` (the generation before a live commit) in `to`'s
// numbering, by name: kNone when `idx` is kNone or the name is gone. Both re-checks use them
// (PolicyRecheck for IPv4 sessions, Route6Follow for routed IPv6 ones).
inline int tenant_in(const RouterModel& to, const RouterModel& from, int idx) {
  return idx >= 0 ? to.tenant_by_name(from.tenants[static_cast<size_t>(idx)]) : kNone;
}
inline int service_in(const RouterModel& to, const RouterModel& from, int idx) {
  return idx >= 0 ? to.service_by_name(from.services[static_cast<size_t>(idx)].name) : kNone;
}

class PolicyRecheck {
 public:
  static constexpr uint32_t kSlice = 16384;

  explicit PolicyRecheck(WorkerContext& ctx);
  // Start of an iteration: adopts a newly published model unless a re-check
  // is still running, then re-checks a slice. Returns the sessions visited.
  uint32_t poll();
  // Before a session is used: true when its indexes are into the current
  // model (re-mapped now if they were not), false when the new policy tore it down.
  bool current(Session& s) { return s.model_gen == ctx_.model_gen || recheck(s); }
  // The session a WAN packet's arrival key names, re-checked (current()):
  // table.lookup() + current(), and while a sweep runs also the session
  // whose stand-ins the previous model numbered so that they are `key` now.
  SessionRef find(const FiveTuple& key);
  // Whether a new session must not take arrival key `key`: a session not
  // re-checked yet moves to it.
  bool reserved(const FiveTuple& key) const { return static_cast<bool>(behind(key)); }
  bool running() const { return previous_ != nullptr; }
  // What sessions not re-checked yet are indexed against; null when no sweep runs.
  const RouterModel* previous() const { return previous_; }
  // A second table swept after this one: recheck6(self, from, slot) for each of its `slots`.
  using Recheck6 = void (*)(void* self, const RouterModel& from, uint32_t slot);
  void attach6(uint32_t slots, Recheck6 recheck6, void* self) {
    slots6_ = slots;
    recheck6_ = recheck6;
    self6_ = self;
  }

 private:
  enum class Remap : uint8_t { keep, move, closed };
  void adopt(const RouterModel* published);
  bool recheck(Session& s);
  // Indexes re-mapped and stand-ins renumbered; `move`: the key of `side` changes to
  // `out`'s, still to be done (rebind); `closed`: torn down.
  Remap remap(Session& s, Dir& side, SideOut& out);
  bool move_chain(Session& first, Dir side, SideOut out);
  // Tears `s` down; its event shows `as_now` (the session in the new model's terms).
  void close(Session& s, const Session& as_now, bool waypoint6);
  // The session not re-checked yet whose arrival key was `key` in the previous numbering.
  SessionRef behind(const FiveTuple& key) const;

  WorkerContext& ctx_;
  const RouterModel* previous_ = nullptr;  // what sessions behind model_gen are indexed against
  uint32_t hand_ = 0;
  uint32_t slots6_ = 0, hand6_ = 0;  // the attached table's size and sweep hand
  Recheck6 recheck6_ = nullptr;
  void* self6_ = nullptr;
};

}  // namespace wp
