// The staged burst lookup of a worker's dispatch (perf/README.md § Fast path
// profile), one code for the IPv4 SessionTable and the IPv6 SessionTable6
// (both built on session/session_store.h): a burst's packets are looked up in
// three passes instead of one packet at a time, so the memory misses of the
// burst overlap instead of queueing behind each other.
//   1. stage(): per packet as it is dispatched, the key's signature (its hash,
//      kept for the lookup) and a prefetch of its home index slot;
//   2. prefetch_sessions(): per burst, the session each home slot names
//      (every cache line of it);
//   3. the caller processes the packets in order; the lookup reads lines
//      already on their way.
// Table: signature(key) (static), prefetch_slot(sig), prefetch_session(sig).
// Item: has `uint32_t sig` (0: nothing to look up; real signatures are odd). Inline, no allocation, no state: the burst's items
// live in the caller's per-worker scratch.
#pragma once

#include <cstdint>

namespace wp {

template <class Table, class Key>
inline uint32_t stage_lookup(const Table& table, const Key& key) {
  const uint32_t sig = Table::signature(key);
  table.prefetch_slot(sig);
  return sig;
}

template <class Table, class Item>
inline void prefetch_sessions(const Table& table, const Item* items, uint32_t n) {
  for (uint32_t i = 0; i < n; ++i)
    if (items[i].sig != 0) table.prefetch_session(items[i].sig);
}

}  // namespace wp
