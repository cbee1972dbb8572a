// Sessions following the routes from FRR (dataplane/control/fpm/) when a new
// FIB snapshot is published.
//
// A session takes its next hops when it is set up (WorkerContext::route: the
// session's hash picks one ECMP member) and keeps them in its SideOut, so a
// FIB change never moves a session whose next hop is still a member of its
// destination's route. When the FIB changes, the worker walks its table, a
// slice per loop iteration (like aging and the policy re-check), and for each
// LAN-side leg (SideOut::peer < 0: routed, not a WAN leg to a peer) whose
// next hop is no longer one the route offers:
//   - the route has other members: the leg moves to the member the session's
//     hash picks now (sessions_route_moved);
//   - no route (withdrawn, or a blackhole): the session is closed, `closed`
//     event with reason forced_end (IPFIX flowEndReason 4), counted as
//     sessions_route_closed (the `no_route` of new sessions is a drop reason).
// A forward leg into an IPsec tunnel (an FRR or config route into it) follows
// the same way, so a site prefix withdrawn when the tunnel dies closes its
// sessions; a leg never moves between a port and a tunnel (closed instead),
// and a reverse leg into the tunnel a session came out of stays there.
// WAN legs follow their paths (path monitor), not this. Routed IPv6 sessions
// follow FRR's IPv6 routes by the same walk (worker/route6_follow.h).
#pragma once

#include <algorithm>
#include <cstdint>

#include "dataplane/ip/fib.h"
#include "dataplane/session/session.h"
#include "dataplane/worker/context.h"

namespace wp {

// The walk of a session table after the routes changed, whatever the family:
// a change restarts it at slot 0 (while one runs too: every session meets the
// newest routes), and each loop iteration visits at most kSlice slots, so a
// FIB change at millions of sessions never stalls a worker.
class RouteSweep {
 public:
  static constexpr uint32_t kSlice = 16384;

  void restart() {
    hand_ = 0;
    running_ = true;
  }
  bool running() const { return running_; }
  // visit(slot) for the next slice of a table of `capacity` slots.
  template <class Visit>
  void step(uint32_t capacity, Visit&& visit) {
    if (!running_) return;
    const uint32_t end = std::min(hand_ + kSlice, capacity);
    for (; hand_ < end; ++hand_) visit(hand_);
    if (hand_ >= capacity) running_ = false;
  }

 private:
  uint32_t hand_ = 0;
  bool running_ = false;
};

class RouteFollow {
 public:
  static constexpr uint32_t kSlice = RouteSweep::kSlice;

  explicit RouteFollow(WorkerContext& ctx) : ctx_(ctx), seen_(ctx.shared.fib.load(std::memory_order_acquire)) {}
  // Start of an iteration: notices a new FIB, then checks a slice of sessions.
  void poll();

 private:
  // False when the session was closed.
  bool follow(Session& s, SideOut& side);

  WorkerContext& ctx_;
  const FibTable* seen_;
  RouteSweep sweep_;
};

}  // namespace wp
