// The neighbor table's control-thread side; see neighbor.h.
#include "dataplane/control/neighbor.h"

namespace wp {
NeighborTable::Slot* NeighborTable::find(uint64_t key) {
  Slot* b = &slots_[bucket_of(key)];
  for (uint32_t w = 0; w < kWays; ++w)
    if (b[w].key.load(std::memory_order_relaxed) == key) return &b[w];
  return nullptr;
}

NeighborTable::State NeighborTable::state(int iface, Ipv4 addr) const {
  const Slot* s = const_cast<NeighborTable*>(this)->find(make_key(iface, addr));
  return s ? s->state : State::none;
}

void NeighborTable::write(Slot& s, uint64_t key, uint64_t mac) {
  s.key.store(kBusy, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  s.mac.store(mac, std::memory_order_relaxed);
  s.used_s.store(0, std::memory_order_relaxed);
  s.key.store(key, std::memory_order_release);
}

// A free way of the key's bucket, or the least recently used STALE/PROBE
// entry's (evicted), or nullptr when every way holds a REACHABLE neighbor.
NeighborTable::Slot* NeighborTable::room(uint64_t key, Learned& how) {
  Slot* b = &slots_[bucket_of(key)];
  Slot* victim = nullptr;
  for (uint32_t w = 0; w < kWays; ++w) {
    if (b[w].state == State::none) {
      how = Learned::added;
      return &b[w];
    }
    if (b[w].state != State::reachable && (!victim || ms_before(last_use_ms(b[w]), last_use_ms(*victim)))) victim = &b[w];
  }
  if (!victim) {
    how = Learned::full;
    return nullptr;
  }
  remove(*victim);
  how = Learned::evicted_stale;
  return victim;
}

NeighborTable::Learned NeighborTable::learn(int iface, Ipv4 addr, const uint8_t mac[6], uint32_t now_ms) {
  uint64_t key = make_key(iface, addr);
  Learned how = Learned::updated;
  Slot* s = find(key);
  if (s) {
    s->mac.store(pack_neighbor_mac(mac), std::memory_order_release);
  } else {
    if (!(s = room(key, how))) return how;
    write(*s, key, pack_neighbor_mac(mac));
    ++used_;
  }
  s->state = State::reachable;
  s->since_ms = now_ms;
  s->probes = 0;
  return how;
}

bool NeighborTable::step(Slot& s, uint32_t now_ms, Aged& out) {
  uint32_t age = now_ms - s.since_ms;
  switch (s.state) {
    case State::reachable:
      if (age >= kReachableMs) s.state = State::stale;
      return false;
    case State::stale:
      if (ms_before(s.since_ms, last_use_ms(s))) {  // used since it was confirmed: make sure it is still there
        s.state = State::probe;
        s.since_ms = now_ms;
        s.probes = 1;
        return true;
      }
      if (now_ms - last_use_ms(s) >= kStaleMs) {
        remove(s);
        ++out.expired;
      }
      return false;
    case State::probe:
      if (age < kRetransMs) return false;
      if (s.probes >= kMaxProbes) {
        remove(s);
        ++out.expired;
        return false;
      }
      ++s.probes;
      s.since_ms = now_ms;
      return true;
    case State::none: return false;
  }
  return false;
}

}  // namespace wp
