// Per-worker session table: shared-nothing, preallocated, no allocation or
// locks after construction (docs/architecture.md § Sessions).
//
// Sessions live in a fixed array with a free list. A separate open-addressing
// index (linear probing, backward-shift deletion, load <= 50 %) maps each of a
// session's two arrival tuples (side A and side B keys) to (session, dir). An
// index slot is 8 bytes: a 32-bit hash signature and the session index + dir,
// so a probe touches the session only on a signature match. With 4 slots per
// session that is ~32 B of index + sizeof(Session) per session.
// Aging is a clock sweep over the session array (`expire_some`), bounded per
// call, with per-protocol idle timeouts; TCP FIN/RST shortens the timeout.
// The array, free list, index and sweep are session/session_store.h, shared
// with the IPv6 table; what is IPv4 here is the key, its hash and the sides.
#pragma once

#include <cstddef>
#include <cstdint>

#include "dataplane/session/session.h"
#include "dataplane/session/session_store.h"

namespace wp {

struct SessionRef {
  Session* session = nullptr;
  Dir dir = Dir::forward;
  explicit operator bool() const { return session != nullptr; }
};

class SessionTable {
 public:
  // Memory from the DPDK heap on `socket` (worker's NUMA socket) or, with
  // socket < -1, from the process heap (unit tests and benchmarks without EAL).
  static constexpr int kHeapMemory = SessionStore<Session>::kHeapMemory;
  SessionTable(uint32_t capacity, int socket) : store_(capacity, socket) {}
  SessionTable(const SessionTable&) = delete;
  SessionTable& operator=(const SessionTable&) = delete;

  bool ok() const { return store_.ok(); }
  uint32_t capacity() const { return store_.capacity(); }
  uint32_t size() const { return size_; }
  size_t memory_bytes() const { return store_.memory_bytes(); }

  SessionRef lookup(const FiveTuple& key) const;
  // Burst pipelining (like rte_hash bulk lookup): hash every key of a burst
  // and prefetch its home slot, then prefetch the matching sessions, then
  // look up for real with the lines already on their way.
  static uint32_t signature(const FiveTuple& key) { return hash_key(key); }
  void prefetch_slot(uint32_t sig) const;
  void prefetch_session(uint32_t sig) const;
  // Reserves a session (zeroed); nullptr when full. The caller fills it and
  // then calls insert(), or release() to give it back.
  Session* allocate() { return store_.allocate(); }
  void release(Session* s) { store_.release(s); }
  // Indexes both keys. False (nothing indexed) if either key is present.
  bool insert(Session* s);
  // The first-packet paths have already looked both keys up and found
  // neither: index without looking again (saves two probes per new session).
  // False only when the two keys are the same tuple.
  bool insert_unique(Session* s);
  void remove(Session* s);  // unindex + release
  // Moves one side of a live session onto a new out tuple (path
  // migration; Dir::forward = side B / out_fwd, Dir::reverse = side A /
  // out_rev): unindexes that side's arrival key, stores `out`, indexes the new
  // key. False, and nothing changed, when the new key is already in use.
  bool rebind(Session* s, Dir side, const SideOut& out);
  // rebind in two steps, for a chain of sessions that trade keys (a config
  // commit renumbering stand-ins, svr/policy_recheck.h): unbind takes that
  // side's arrival key out of the index (the session stays, unfound by it;
  // remove() of it is still right), bind stores `out` and indexes its key,
  // which the caller has found free.
  void unbind(Session* s, Dir side);
  void bind(Session* s, Dir side, const SideOut& out);
  uint32_t index_of(const Session* s) const { return store_.index_of(s); }
  Session* at(uint32_t idx) { return store_.at(idx); }

  // Checks up to `budget` sessions from the sweep hand; expired ones are
  // passed to on_expire(ctx, session) and removed. Returns how many expired.
  // `on_live`, when given, sees every session the hand passes that
  // stays (periodic update events).
  using ExpireFn = void (*)(void* ctx, Session& s);
  uint32_t expire_some(uint32_t now_ms, uint32_t budget, const Timeouts& t, ExpireFn on_expire, void* ctx,
                       ExpireFn on_live = nullptr);
  static uint32_t timeout_ms(const Session& s, const Timeouts& t) {
    return idle_timeout_ms(s.original.proto, s.flags, t);
  }

 private:
  static uint32_t hash_key(const FiveTuple& k);
  void index_put(const FiveTuple& key, uint32_t ref);
  void index_erase(const FiveTuple& key, uint32_t ref) { store_.erase(hash_key(key), ref); }

  SessionStore<Session> store_;
  uint32_t size_ = 0;
};

}  // namespace wp
