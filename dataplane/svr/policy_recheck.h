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
#pragma once

#include <cstdint>

#include "dataplane/control/router_model.h"
#include "dataplane/session/session.h"
#include "dataplane/worker/context.h"

namespace wp {

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
  bool running() const { return previous_ != nullptr; }

 private:
  void adopt(const RouterModel* published);
  bool recheck(Session& s);

  WorkerContext& ctx_;
  const RouterModel* previous_ = nullptr;  // what sessions behind model_gen are indexed against
  uint32_t hand_ = 0;
};

}  // namespace wp
