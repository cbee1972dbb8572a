// Per-worker context; see context.h.
#include "dataplane/worker/context.h"

#include <rte_ring_elem.h>

#include <cstring>

#include "dataplane/control/route_choice.h"
#include "dataplane/control/waypoint6_addr.h"

namespace wp {

WorkerContext::WorkerContext(uint32_t id_, DataplaneShared& shared_, uint32_t max_sessions, int socket)
    : id(id_),
      shared(shared_),
      model(shared_.model.load(std::memory_order_acquire)),
      counters(&shared_.counters[id_]),
      table(max_sessions, socket),
      keys(id_ < shared_.workers ? shared_.key_slots : 0, socket),
      rng(std::random_device{}()),
      nat_ports(id_, shared_.workers) {}

WorkerContext::RouteChoice WorkerContext::route_choice(Ipv4 dst) const {
  const RouteWinner w = route_winner(*model, shared.fib.load(std::memory_order_acquire), dst);
  return {w.own, w.frr};
}

std::optional<NextHop> WorkerContext::route(Ipv4 dst, uint32_t hash) const {
  // A peer's IPv6 waypoint, by its stand-in (control/waypoint6_addr.h).
  if (is_waypoint6_standin(dst)) [[unlikely]]
    return waypoint6_route(*model, shared.fib6.load(std::memory_order_acquire), dst);
  const RouteChoice c = route_choice(dst);
  return route_next_hop({c.own, c.frr}, dst, hash);
}

std::optional<Route6> WorkerContext::route6(const Ipv6& dst, uint32_t hash) const {
  return route6_to(*model, shared.fib6.load(std::memory_order_acquire), dst, hash);
}

bool WorkerContext::route_offers(Ipv4 dst, Ipv4 next_hop, int iface) const {
  const RouteChoice c = route_choice(dst);
  // A tunnel's next hop is its index (0 included), never the destination.
  if (c.own) return c.own->iface == iface && (c.own->next_hop || c.own->tunnel() ? c.own->next_hop : dst) == next_hop;
  if (!c.frr) return false;
  for (int i = 0; i < c.frr->paths; ++i) {
    const FibNextHop& h = c.frr->hops[i];
    if (h.iface == iface && (h.gateway || h.tunnel() ? h.gateway : dst) == next_hop) return true;
  }
  return false;
}

void WorkerContext::heard_key_versions(int peer, const Metadata& md) {
  const uint8_t before = tx_key(peer).version;
  const uint32_t name_hash = model->peers[peer].name_hash;
  peer_keys.heard(peer, name_hash, md.sender_versions());
  const uint8_t after = tx_key(peer).version;
  if (after == before) return;
  counters->add(Counter::pair_key_switches);
  if (static_cast<size_t>(peer) < kMaxKeyPeers)
    shared.key_switched[static_cast<size_t>(peer)].store(DataplaneShared::key_switch(name_hash, after),
                                                         std::memory_order_relaxed);
}

void WorkerContext::release_keys(Session& s) {
  for (uint32_t& slot : s.key_slot) {
    if (slot != kNoKeySlot) keys.release(slot);
    slot = kNoKeySlot;
  }
}

void WorkerContext::remove_session(Session* s) {
  if (!(s->flags & kPeerSession)) gate.ended(s->tenant);  // the HA peer's were never counted here
  release_keys(*s);
  release_nat_port(*s);
  if (s->app_slot < kAppDenied && apps) {  // ended while its first packets were being classified
    apps->abandon(s->app_slot);
    s->app_slot = kAppDone;
  }
  table.remove(s);
}

void WorkerContext::post_event(SessionEventKind kind, const Session& s, SessionEndReason reason) {
  static constexpr Counter kDropped[kEventConsumers] = {Counter::offload_events_dropped, Counter::ha_events_dropped,
                                                        Counter::ipfix_events_dropped};
  SessionEvent ev;
  bool built = false;
  for (size_t c = 0; c < kEventConsumers; ++c) {
    const auto& rings = shared.events[c];
    if (rings.empty() || !(shared.event_kinds[c] & event_bit(kind))) continue;
    if (!built) {
      ev.kind = kind;
      ev.reason = reason;
      ev.worker = static_cast<uint16_t>(id);
      ev.now_ms = now_ms;
      ev.session = s;
      built = true;
    }
    if (rte_ring_sp_enqueue_elem(rings[id], &ev, sizeof(ev)) != 0) counters->add(kDropped[c]);
  }
  // An IPv6 session that SVR carries: REST and IPFIX take its IPv6 view (svr/svr6_lan.h).
  if (carries_ipv6(s) && post_svr6) [[unlikely]]
    post_svr6(svr6, kind, s, reason);
}

SessionUuid WorkerContext::new_uuid() {
  SessionUuid u;
  uint64_t a = rng(), b = rng();
  std::memcpy(u.data(), &a, 8);
  std::memcpy(u.data() + 8, &b, 8);
  u[6] = static_cast<uint8_t>((u[6] & 0x0f) | 0x40);  // RFC 4122 version 4
  u[8] = static_cast<uint8_t>((u[8] & 0x3f) | 0x80);  // variant 10
  return u;
}

}  // namespace wp
