// The IPv6 neighbor cache's control-thread side; see neighbor6.h.
#include "dataplane/control/neighbor6.h"

#include "dataplane/ip/ndp.h"

namespace wp {
Neighbor6Table::Slot* Neighbor6Table::find(int iface, const Ipv6& addr) {
  Slot* b = &slots_[bucket_of(iface, addr)];
  for (uint32_t w = 0; w < kWays; ++w)
    if (holds(b[w], iface, addr)) return &b[w];
  return nullptr;
}

Neighbor6Table::State Neighbor6Table::state(int iface, const Ipv6& addr) const {
  const Slot* s = const_cast<Neighbor6Table*>(this)->find(iface, addr);
  return s ? s->state : State::none;
}

void Neighbor6Table::write(Slot& s, int iface, const Ipv6& addr, uint64_t mac) {
  uint32_t seq = s.seq.load(std::memory_order_relaxed);
  s.seq.store(seq + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  s.iface.store(static_cast<uint32_t>(iface), std::memory_order_relaxed);
  s.hi.store(addr.hi, std::memory_order_relaxed);
  s.lo.store(addr.lo, std::memory_order_relaxed);
  s.mac.store(mac, std::memory_order_relaxed);
  s.used_s.store(0, std::memory_order_relaxed);
  s.seq.store(seq + 2, std::memory_order_release);
}

// Same key, new MAC: one atomic store, readers see the old or the new one.
void Neighbor6Table::set_mac(Slot& s, uint64_t mac) { s.mac.store(mac, std::memory_order_release); }

void Neighbor6Table::remove(Slot& s) {
  write(s, 0, Ipv6{}, 0);
  s.state = State::none;
  --used_;
}

Neighbor6Table::Slot* Neighbor6Table::room(int iface, const Ipv6& addr) {
  Slot* b = &slots_[bucket_of(iface, addr)];
  Slot* victim = nullptr;
  for (uint32_t w = 0; w < kWays; ++w) {
    if (b[w].state == State::none) return &b[w];
    bool evictable = b[w].state == State::stale || b[w].state == State::probe;
    if (evictable && (!victim || ms_before(last_use_ms(b[w]), last_use_ms(*victim)))) victim = &b[w];
  }
  if (victim) remove(*victim);
  return victim;
}

Neighbor6Table::Begun Neighbor6Table::begin(int iface, const Ipv6& addr, uint32_t now_ms) {
  if (find(iface, addr)) return Begun::known;
  Slot* s = room(iface, addr);
  if (!s) return Begun::full;
  write(*s, iface, addr, 0);
  s->state = State::incomplete;
  s->since_ms = now_ms;
  s->tries = 1;
  ++used_;
  return Begun::started;
}

Neighbor6Table::Learned Neighbor6Table::advert(int iface, const Ipv6& addr, const uint8_t mac[6], uint8_t flags,
                                               uint32_t now_ms) {
  Slot* s = find(iface, addr);
  if (!s) return Learned::ignored;
  const uint64_t word = pack_neighbor_mac(mac);
  const bool same = s->mac.load(std::memory_order_relaxed) == word;
  const bool incomplete = s->state == State::incomplete;
  // § 7.2.5: without Override, another MAC only marks a known entry STALE.
  if (!incomplete && !same && !(flags & kNaOverride)) {
    if (s->state != State::reachable) return Learned::unchanged;
    s->state = State::stale;
    return Learned::stale;
  }
  if (!same) set_mac(*s, word);
  s->since_ms = now_ms;
  s->tries = 0;
  if (flags & kNaSolicited) {
    s->state = State::reachable;
    return Learned::reachable;
  }
  if (incomplete || !same) {
    s->state = State::stale;
    return Learned::stale;
  }
  return Learned::unchanged;
}

Neighbor6Table::Learned Neighbor6Table::solicited_by(int iface, const Ipv6& addr, const uint8_t mac[6],
                                                     uint32_t now_ms) {
  Slot* s = find(iface, addr);
  if (!s) return Learned::ignored;
  const uint64_t word = pack_neighbor_mac(mac);
  if (s->state != State::incomplete && s->mac.load(std::memory_order_relaxed) == word) return Learned::unchanged;
  set_mac(*s, word);  // § 7.2.3: a different (or first) link-layer address: STALE
  s->state = State::stale;
  s->since_ms = now_ms;
  s->tries = 0;
  return Learned::stale;
}

Neighbor6Table::Step Neighbor6Table::step(Slot& s, uint32_t now_ms, Aged& out) {
  const uint32_t age = now_ms - s.since_ms;
  switch (s.state) {
    case State::incomplete:
    case State::probe: {
      if (age < kRetransMs) return Step::nothing;
      const bool incomplete = s.state == State::incomplete;
      if (s.tries >= (incomplete ? kMaxMulticastSolicit : kMaxUnicastSolicit)) {
        remove(s);
        ++(incomplete ? out.failed : out.expired);
        return incomplete ? Step::failed : Step::nothing;
      }
      ++s.tries;
      s.since_ms = now_ms;
      return incomplete ? Step::solicit_multicast : Step::solicit_unicast;
    }
    case State::reachable:
      if (age >= kReachableMs) s.state = State::stale;
      return Step::nothing;
    case State::stale:
      if (ms_before(s.since_ms, last_use_ms(s))) {  // used since it was confirmed: is it still there?
        s.state = State::probe;
        s.since_ms = now_ms;
        s.tries = 1;
        return Step::solicit_unicast;
      }
      if (now_ms - last_use_ms(s) >= kStaleMs) {
        remove(s);
        ++out.expired;
      }
      return Step::nothing;
    case State::none: return Step::nothing;
  }
  return Step::nothing;
}

}  // namespace wp
