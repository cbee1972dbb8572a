// Routed IPv6 sessions (worker/route6_step.h, Session6 with svr_ref 0)
// following route changes and config commits, as IPv4 sessions do
// (svr/route_follow.h, svr/policy_recheck.h; docs/ipv6.md § IPv6 routing and
// sessions).
//
// Routes: a session holds the next hop and interface of each direction from
// its first packet (route6_winner: the config's IPv6 routes or FRR's, the
// session's hash picking an ECMP member). When FRR's IPv6 FIB
// (DataplaneShared::fib6) or the model (the config's routes) changes, the
// worker walks its IPv6 table by RouteSweep, a slice per loop iteration, and
// for each direction whose next hop the route toward its destination no
// longer offers:
//   - another route or member: the direction moves to what the session's
//     hash picks now (sessions6_route_moved; an `update` event for IPFIX,
//     REST, the HA peer's copy and the offload manager, which replaces the
//     NIC rules of an offloaded session: Route6Step::post_moved);
//   - no route (withdrawn, a blackhole), or one that would move it between a
//     port and an IPsec tunnel: the session is closed, `closed` event with
//     reason forced_end (sessions6_route_closed).
// The reverse direction of a session that came out of a tunnel goes back into
// it whatever the routes say, and stays. Sessions SVR carries (svr_ref != 0)
// follow their SVR session, not this; but the walk has each established one
// between IPv6 waypoints post its `update` to the offload manager
// (Svr6Lan::route_changed), whose rules hold the WAN leg's next hop, which
// the worker itself looks up per packet (docs/ipv6.md § Offload of IPv6
// sessions between IPv6 waypoints).
//
// Commits: the tenant and service of a session are indexes into the model
// it was made under. PolicyRecheck sweeps this table with its own
// (attach6), and a packet of a session the sweep has not reached is
// re-checked first (current()): tenant and service re-mapped by name; a
// session whose tenant or service is gone, whose service no longer takes its
// destination, protocol or port (ServiceModel::serves6), or whose tenant the
// policies no longer allow to it, is closed (forced_end,
// sessions_policy_closed, as IPv4's). kModel6Odd (session/table6.h) tells a
// session made under the new model from one not re-checked yet.
#pragma once

#include <cstdint>

#include "dataplane/ip/fib6.h"
#include "dataplane/svr/route_follow.h"  // RouteSweep
#include "dataplane/session/table6.h"
#include "dataplane/worker/context.h"

namespace wp {

class PolicyRecheck;
class Route6Step;

class Route6Follow {
 public:
  static constexpr uint32_t kSlice = RouteSweep::kSlice;

  // Attaches itself to `step` (packets re-check their session) and to `recheck` (the sweep).
  Route6Follow(WorkerContext& ctx, Route6Step& step, PolicyRecheck& recheck);
  // Start of an iteration, after PolicyRecheck::poll: notices a new IPv6 FIB
  // or model, then checks a slice of sessions' routes.
  void poll();
  // Before a routed session is used: true when its indexes are into the
  // current model (re-mapped now if they were not), false when the commit closed it.
  bool current(Session6& s) { return model6_is(s, ctx_.model_gen) || recheck(s); }

 private:
  static void recheck_slot(void* self, const RouterModel& from, uint32_t slot);
  bool recheck(Session6& s);
  // Direction `k` of `s` after a route change; false when the session was closed.
  bool follow(Session6& s, size_t k, bool& moved);

  WorkerContext& ctx_;
  Route6Step& step_;
  PolicyRecheck& recheck_;
  const FibTable6* fib_seen_;
  const RouterModel* model_seen_;
  RouteSweep sweep_;
};

}  // namespace wp
