// The staged burst lookup of a worker's dispatch (perf/README.md § Fast path
// profile), one code for the IPv4 SessionTable and the IPv6 SessionTable6
// (both built on session/session_store.h): a burst's packets are looked up in
// three passes instead of one packet at a time, so the memory misses of the
// burst overlap instead of queueing behind each other.
//   1. per packet as it is dispatched, the key's signature (Table::signature:
//      its hash, kept for the lookup); then prefetch_slots(): every home index
//      slot of the burst in one short loop (see there why not one by one);
//   2. prefetch_sessions(): per burst, the session each home slot names
//      (every cache line of it); IPv4 prefetches the first few sessions so,
//      then each one a few packets before its own (Worker::process_owned);
//   3. the caller processes the packets in order; the lookup reads lines
//      already on their way.
// Table: signature(key) (static), prefetch_slot(sig), prefetch_session(sig).
// Item: has `uint32_t sig` (0: nothing to look up; real signatures are odd). Inline, no allocation, no state: the burst's items
// live in the caller's per-worker scratch.
#pragma once

#include <cstdint>

namespace wp {

// Pass 1 for a burst whose signatures were computed as it was dispatched:
// every home slot's prefetch in one short loop. On 4 KiB pages nearly every
// slot of a 1 M-session index is a TLB miss, and a prefetch retires only once
// its page walk is done: issued between two packets' parses, one walk held
// up the reorder buffer and the next packet's walk could not start; issued
// back to back here, the burst's walks overlap.
template <class Table, class Item>
inline void prefetch_slots(const Table& table, const Item* items, uint32_t n) {
  for (uint32_t i = 0; i < n; ++i)
    if (items[i].sig != 0) table.prefetch_slot(items[i].sig);
}

template <class Table, class Item>
inline void prefetch_sessions(const Table& table, const Item* items, uint32_t n) {
  for (uint32_t i = 0; i < n; ++i)
    if (items[i].sig != 0) table.prefetch_session(items[i].sig);
}

}  // namespace wp
