// Sessions following FIB changes; see route_follow.h.
#include "dataplane/svr/route_follow.h"

namespace wp {

void RouteFollow::poll() {
  const FibTable* fib = ctx_.shared.fib.load(std::memory_order_acquire);
  if (fib != seen_) {
    seen_ = fib;
    sweep_.restart();
  }
  sweep_.step(ctx_.table.capacity(), [this](uint32_t slot) {
    Session& s = *ctx_.table.at(slot);
    if (!s.in_use) return;
    // A forward leg into a tunnel was routed there (LAN or tunnel -> a route
    // into a tunnel) and follows too; a reverse leg into a tunnel is where the
    // session came from, whatever the routes say, and stays.
    if (s.out_fwd.peer < 0 && (s.out_fwd.iface >= 0 || s.out_fwd.iface == kIfaceTunnel) && !follow(s, s.out_fwd))
      return;
    if (s.out_rev.peer < 0 && s.out_rev.iface >= 0) follow(s, s.out_rev);
  });
}

bool RouteFollow::follow(Session& s, SideOut& side) {
  const Ipv4 dst = side.tuple.dst;
  const uint32_t hash = symmetric_hash(s.original);
  if (ctx_.route_offers(dst, side.next_hop, side.iface)) return true;
  const std::optional<NextHop> nh = ctx_.route(dst, hash);
  // A breakout session's source address belongs to its interface: it cannot move to another.
  // A leg moves between ports or between tunnels, never from one kind to the
  // other (a tunnel leg is never offloaded nor synced to the HA peer).
  if (!nh || (s.nat && &side == &s.out_fwd && nh->iface != side.iface) || nh->tunnel() != (side.iface == kIfaceTunnel)) {
    ctx_.post_event(SessionEventKind::closed, s, SessionEndReason::forced_end);
    ctx_.remove_session(&s);
    ctx_.counters->add(Counter::sessions_route_closed);
    ctx_.count_active();
    return false;
  }
  side.next_hop = nh->addr;
  side.iface = static_cast<int8_t>(nh->iface);
  ctx_.counters->add(Counter::sessions_route_moved);
  // The offload manager re-programs the session's rules for the new next hop; the HA peer's copy follows.
  ctx_.post_event(SessionEventKind::update, s);
  return true;
}

}  // namespace wp
