// Routed IPv6 sessions after route changes and commits; see route6_follow.h.
#include "dataplane/worker/route6_follow.h"

#include "dataplane/control/route_choice.h"
#include "dataplane/svr/policy_recheck.h"
#include "dataplane/svr/svr6_lan.h"
#include "dataplane/worker/route6_step.h"

namespace wp {

Route6Follow::Route6Follow(WorkerContext& ctx, Route6Step& step, PolicyRecheck& recheck)
    : ctx_(ctx), step_(step), recheck_(recheck), fib_seen_(ctx.shared.fib6.load(std::memory_order_acquire)), model_seen_(ctx.model) {
  if (!step.table()) return;  // IPv6 is not routed
  step.attach_follow(this);
  recheck.attach6(step.table()->capacity(), &recheck_slot, this);
}

void Route6Follow::poll() {
  SessionTable6* table = step_.table();
  if (!table) return;
  const FibTable6* fib = ctx_.shared.fib6.load(std::memory_order_acquire);
  if (fib != fib_seen_ || ctx_.model != model_seen_) {  // FRR's routes or the config's
    fib_seen_ = fib;
    model_seen_ = ctx_.model;
    sweep_.restart();
  }
  sweep_.step(table->capacity(), [&](uint32_t slot) {
    Session6& s = *table->at(slot);
    if (!s.in_use) return;
    if (s.svr_ref) {  // between IPv6 waypoints: the NIC's rules follow the WAN leg's route (its `update`)
      if (ctx_.svr6) ctx_.svr6->route_changed(s);
      return;
    }
    if (!current(s)) return;  // its events name the current model's tenant and service
    bool moved = false;
    if (!follow(s, static_cast<size_t>(Dir::forward), moved)) return;
    // The reverse direction of a session out of a tunnel goes back into it.
    if (s.iface[static_cast<size_t>(Dir::reverse)] != kRoute6Tunnel &&
        !follow(s, static_cast<size_t>(Dir::reverse), moved))
      return;
    if (moved) step_.post_moved(s);  // IPFIX, REST, the HA peer's copy and the NIC's rules follow the new next hop
  });
}

bool Route6Follow::follow(Session6& s, size_t k, bool& moved) {
  const Ipv6& dst = k == static_cast<size_t>(Dir::forward) ? s.original.dst : s.original.src;
  const Route6Winner w = route6_winner(ctx_.rm(), ctx_.shared.fib6.load(std::memory_order_acquire), dst);
  if (route6_offers(w, dst, s.next_hop[k], s.iface[k])) return true;
  const std::optional<Route6> r = route6_next_hop(w, symmetric_hash(s.original));
  // A direction moves between ports or between tunnels, never from one kind to the other
  // (a tunnel side is neither offloaded nor synced, and takes its packets from its tunnel only).
  if (!r || r->tunnel() != (s.iface[k] == kRoute6Tunnel)) {
    step_.end(s, SessionEndReason::forced_end);
    ctx_.counters->add(Counter::sessions6_route_closed);
    return false;
  }
  s.next_hop[k] = route6_via(*r, dst);
  s.iface[k] = static_cast<int8_t>(r->iface);
  ctx_.counters->add(Counter::sessions6_route_moved);
  moved = true;
  return true;
}

void Route6Follow::recheck_slot(void* self, const RouterModel&, uint32_t slot) {
  auto& f = *static_cast<Route6Follow*>(self);
  Session6& s = *f.step_.table()->at(slot);
  if (s.in_use && !s.svr_ref) f.current(s);
}

bool Route6Follow::recheck(Session6& s) {
  set_model6(s, ctx_.model_gen);
  const RouterModel* from = recheck_.previous();
  if (!from) return true;  // nothing to re-map from
  const RouterModel& to = ctx_.rm();
  ctx_.counters->add(Counter::sessions_rechecked);
  const int tenant = tenant_in(to, *from, s.tenant);
  const int service = service_in(to, *from, s.service);
  // Its closed event names them in the new model's terms (kNone when gone), which IPFIX and REST read.
  s.tenant = static_cast<int16_t>(tenant);
  s.service = static_cast<int16_t>(service);
  const FiveTuple6& t = s.original;
  if (service != kNone && to.services[static_cast<size_t>(service)].serves6(t.dst, t.proto, t.dport) >= 0 &&
      to.policy(tenant, service) != kNone)
    return true;
  step_.end(s, SessionEndReason::forced_end);
  ctx_.counters->add(Counter::sessions_policy_closed);
  return false;
}

}  // namespace wp
