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
#pragma once

#include <cstddef>
#include <cstdint>

#include "dataplane/session/session.h"

namespace wp {

struct SessionRef {
  Session* session = nullptr;
  Dir dir = Dir::forward;
  explicit operator bool() const { return session != nullptr; }
};

struct Timeouts {
  uint32_t tcp_established_ms = 1800000;
  uint32_t tcp_transitory_ms = 30000;
  uint32_t udp_ms = 60000;
};

class SessionTable {
 public:
  // Memory from the DPDK heap on `socket` (worker's NUMA socket) or, with
  // socket < -1, from the process heap (unit tests and benchmarks without EAL).
  static constexpr int kHeapMemory = -2;
  SessionTable(uint32_t capacity, int socket);
  ~SessionTable();
  SessionTable(const SessionTable&) = delete;
  SessionTable& operator=(const SessionTable&) = delete;

  bool ok() const { return sessions_ != nullptr && slots_ != nullptr; }
  uint32_t capacity() const { return capacity_; }
  uint32_t size() const { return size_; }
  size_t memory_bytes() const;

  SessionRef lookup(const FiveTuple& key) const;
  // Burst pipelining (like rte_hash bulk lookup): hash every key of a burst
  // and prefetch its home slot, then prefetch the matching sessions, then
  // look up for real with the lines already on their way.
  static uint32_t signature(const FiveTuple& key) { return hash_key(key); }
  void prefetch_slot(uint32_t sig) const;
  void prefetch_session(uint32_t sig) const;
  // Reserves a session (zeroed); nullptr when full. The caller fills it and
  // then calls insert(), or release() to give it back.
  Session* allocate();
  void release(Session* s);
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
  uint32_t index_of(const Session* s) const { return static_cast<uint32_t>(s - sessions_); }
  Session* at(uint32_t idx) { return &sessions_[idx]; }

  // Checks up to `budget` sessions from the sweep hand; expired ones are
  // passed to on_expire(ctx, session) and removed. Returns how many expired.
  // `on_live`, when given, sees every session the hand passes that
  // stays (periodic update events).
  using ExpireFn = void (*)(void* ctx, Session& s);
  uint32_t expire_some(uint32_t now_ms, uint32_t budget, const Timeouts& t, ExpireFn on_expire, void* ctx,
                       ExpireFn on_live = nullptr);
  static uint32_t timeout_ms(const Session& s, const Timeouts& t);

 private:
  struct Slot {
    uint32_t sig;  // hash | 1 so 0 means empty
    uint32_t ref;  // session index << 1 | dir
  };
  static uint32_t hash_key(const FiveTuple& k);
  bool index_put(const FiveTuple& key, uint32_t ref);
  void index_erase(const FiveTuple& key, uint32_t ref);

  Session* sessions_ = nullptr;
  uint32_t* free_ = nullptr;
  Slot* slots_ = nullptr;
  uint32_t capacity_ = 0;
  uint32_t free_top_ = 0;
  uint32_t size_ = 0;
  uint32_t slot_mask_ = 0;
  uint32_t hand_ = 0;
  bool dpdk_ = false;
};

}  // namespace wp
