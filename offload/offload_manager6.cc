// The offload manager's side of routed IPv6 sessions (docs/ipv6.md § Offload
// of routed IPv6 sessions): their events, which of them are offloaded, and
// the wait for a next hop's Neighbor Discovery. Rules, budget, counters, aging
// and the feedback are the IPv4 sessions' own (offload_manager.cc).
#include <rte_ring_elem.h>

#include <algorithm>

#include "offload/offload_manager.h"

namespace wp::offload {
namespace {
constexpr uint32_t kEventBurst6 = 64;
}  // namespace

uint32_t OffloadManager::poll_events6(uint32_t now_ms) {
  uint32_t handled = 0;
  Offload6Event evs[kEventBurst6];
  for (uint32_t w = 0; w < shared_.workers; ++w) {
    rte_ring* r = shared_.offload_event6_ring(w);
    if (!r) continue;
    unsigned n = rte_ring_sc_dequeue_burst_elem(r, evs, sizeof(Offload6Event), kEventBurst6, nullptr);
    for (unsigned i = 0; i < n; ++i) on_event6(evs[i], now_ms);
    handled += n;
  }
  counters_.events6.fetch_add(handled, std::memory_order_relaxed);
  return handled;
}

// Routed IPv6 sessions carry nothing per packet for software (no SVR, no
// encryption, no applications or QoS classes for IPv6 yet): a TCP or UDP one
// not closing is offloaded. Those an SVR session carries are never posted
// here (Route6Step::post), and build_flow_rule6 refuses them too (translated).
bool OffloadManager::eligible6(const Session6& s) {
  if ((s.original.proto != kProtoTcp && s.original.proto != kProtoUdp) || (s.flags & (kFinFwd | kFinRev | kRst)) ||
      s.svr_ref != 0) {
    counters_.ineligible_state.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  return true;
}

void OffloadManager::on_event6(const Offload6Event& oev, uint32_t now_ms) {
  if (between_waypoints6(oev)) return on_waypoint6(oev, now_ms);
  const Session6Event& ev = oev.ev;
  switch (ev.kind) {
    case SessionEventKind::established:
      if (by_uuid_.count(ev.session.uuid)) break;  // held already (an HA re-offload: HaFollower::reoffload)
      counters_.established.fetch_add(1, std::memory_order_relaxed);
      if (eligible6(ev.session) && offload(ev.session, ev.worker, now_ms) == Offloaded::neighbor_missing)
        wait_for_neighbor(ev, now_ms);
      break;
    case SessionEventKind::closed:
      std::erase_if(waiting6_, [&](const Waiting6& w) { return w.session.uuid == ev.session.uuid; });
      on_closed(ev, now_ms);
      break;
    case SessionEventKind::update:  // only a route move's (Route6Step::post_moved)
      reroute(ev, now_ms);
      break;
    case SessionEventKind::created: break;  // not posted (kOffload6EventKinds)
  }
}

// An IPv6 session between IPv6 waypoints (docs/ipv6.md § Offload of IPv6 sessions between
// IPv6 waypoints): as a routed session's, with the SVR session's policy deciding and the
// WAN leg's rewrite; its `update` comes from a route change (worker/route6_follow.h).
void OffloadManager::on_waypoint6(const Offload6Event& oev, uint32_t now_ms) {
  Waypoint6Event ev{{}, oev.ev.worker, oev.ev.reason};
  static_cast<Session6&>(ev.session) = oev.ev.session;
  ev.session.wan = oev.wan;
  ev.session.to_wan = oev.ev.svr.role == Svr6Role::ingress ? Dir::forward : Dir::reverse;
  switch (oev.ev.kind) {
    case SessionEventKind::established:
      if (by_uuid_.count(ev.session.uuid)) break;  // held already (an HA re-offload: HaFollower::reoffload)
      counters_.established.fetch_add(1, std::memory_order_relaxed);
      if (eligible(oev) && offload(ev.session, ev.worker, now_ms) == Offloaded::neighbor_missing)
        wait_for_neighbor(ev, now_ms);
      break;
    case SessionEventKind::closed:
      std::erase_if(waiting_waypoint6_,
                    [&](const WaitingWaypoint6& w) { return w.session.uuid == ev.session.uuid; });
      on_closed(ev, now_ms);
      break;
    case SessionEventKind::update:
      reroute(ev, now_ms);
      break;
    case SessionEventKind::created: break;  // not posted
  }
}

// TCP or UDP (echo rides as UDP on the WAN but is ICMPv6 on the LAN: no rule), not closing,
// a policy with no per-packet work, and a WAN port whose IPv6 cookie punt rules are in.
bool OffloadManager::eligible(const Offload6Event& oev) {
  const Session6& s = oev.ev.session;
  const auto wan = static_cast<size_t>(oev.ev.svr.role == Svr6Role::ingress ? Dir::forward : Dir::reverse);
  const RouterModel& m = *shared_.model.load(std::memory_order_acquire);
  const int8_t iface = s.iface[wan];
  const bool punted = iface >= 0 && static_cast<size_t>(iface) < m.interfaces.size() &&
                      std::find(punt6_ports_.begin(), punt6_ports_.end(),
                                m.interfaces[static_cast<size_t>(iface)].port_id) != punt6_ports_.end();
  if ((s.original.proto != kProtoTcp && s.original.proto != kProtoUdp) || (s.flags & (kFinFwd | kFinRev | kRst)) ||
      !punted) {
    counters_.ineligible_state.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  return policy_allows(oev.security, oev.crypto);
}

void OffloadManager::wait_for_neighbor(const Waypoint6Event& ev, uint32_t now_ms) {
  counters_.neighbor_missing.fetch_add(1, std::memory_order_relaxed);
  if (waiting_waypoint6_.size() >= kMaxWaiting) {
    counters_.neighbor_wait_expired.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  waiting_waypoint6_.push_back({ev.session, ev.worker, now_ms});
}

// The reply toward the client is what makes the router solicit the client's
// MAC, so the reverse rule often waits a moment after `established`.
void OffloadManager::wait_for_neighbor(const Session6Event& ev, uint32_t now_ms) {
  counters_.neighbor_missing.fetch_add(1, std::memory_order_relaxed);
  if (waiting6_.size() >= kMaxWaiting) {
    counters_.neighbor_wait_expired.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  waiting6_.push_back({ev.session, ev.worker, now_ms});
}

}  // namespace wp::offload
