// What the IPv4 and the IPv6 session tables share (session/table.h,
// session/table6.h): the preallocated session array with its free list, the
// open-addressing index from arrival tuples to (session, dir), the clock sweep
// of the aging hand and the per-protocol idle timeout.
//
// Index: linear probing, backward-shift deletion, load <= 50 % (4 slots per
// session, 2 keys each). A slot is 8 bytes: a 32-bit hash signature (| 1, so 0
// marks an empty slot) and session index << 1 | dir; a probe touches the
// session only on a signature match. The key type stays with each table (its
// hash and how a slot's key is read back differ), so every probe takes a
// `match(ref)` callable. Everything is inline: the IPv4 fast path compiles to
// the loop it was before, with no call or pointer added per packet.
// Memory: from the DPDK heap on the worker's socket, or (socket kHeapMemory)
// from the process heap for unit tests and benches without EAL; every page is
// touched at construction, never on a first packet.
#pragma once

#include <rte_prefetch.h>

#include <cstddef>
#include <cstdint>

#include "dataplane/session/session.h"  // Dir, SessionFlags

namespace wp {

struct Timeouts {
  uint32_t tcp_established_ms = 1800000;
  uint32_t tcp_transitory_ms = 30000;
  uint32_t udp_ms = 60000;
};

// The idle timeout of a session of either family: TCP is transitory until a
// reverse packet was seen and again after FIN both ways or RST; everything
// else (UDP, ICMP echo) has the UDP timeout.
inline uint32_t idle_timeout_ms(uint8_t proto, uint8_t flags, const Timeouts& t) {
  if (proto == 6) {
    const bool closing = (flags & kRst) || ((flags & kFinFwd) && (flags & kFinRev));
    const bool established = (flags & kReverseSeen) != 0;
    return closing || !established ? t.tcp_transitory_ms : t.tcp_established_ms;
  }
  return t.udp_ms;
}

// Signed difference: wrap-safe for 49-day uint32 millisecond clocks (a
// last_ms slightly ahead of now, e.g. from the HA peer, is not idle).
inline bool idle_expired(uint32_t now_ms, uint32_t last_ms, uint32_t timeout_ms) {
  return static_cast<int32_t>(now_ms - last_ms) >= static_cast<int32_t>(timeout_ms);
}

namespace session_memory {
void* alloc(size_t bytes, int socket);  // zeroed; socket as SessionStore's
void free(void* p, int socket);
}  // namespace session_memory

// S: the session type; it has `in_use`, and S{} is a fresh session.
template <class S>
class SessionStore {
 public:
  static constexpr int kHeapMemory = -2;
  static constexpr uint32_t kNoRef = ~uint32_t{0};
  struct Slot {
    uint32_t sig;  // hash | 1 so 0 means empty
    uint32_t ref;  // session index << 1 | dir
  };

  SessionStore(uint32_t capacity, int socket) : capacity_(capacity), socket_(socket) {
    uint64_t slots = 16;
    while (slots < uint64_t{capacity} * 4) slots <<= 1;  // 2 keys per session, load <= 50 %
    slot_mask_ = static_cast<uint32_t>(slots - 1);
    sessions_ = static_cast<S*>(session_memory::alloc(sizeof(S) * capacity, socket));
    free_ = static_cast<uint32_t*>(session_memory::alloc(sizeof(uint32_t) * capacity, socket));
    slots_ = static_cast<Slot*>(session_memory::alloc(sizeof(Slot) * slots, socket));
    if (!sessions_ || !free_ || !slots_) return;
    // Hand out low indexes first: they are the warm part of the array.
    for (uint32_t i = 0; i < capacity; ++i) free_[i] = capacity - 1 - i;
    free_top_ = capacity;
  }
  ~SessionStore() {
    session_memory::free(sessions_, socket_);
    session_memory::free(free_, socket_);
    session_memory::free(slots_, socket_);
  }
  SessionStore(const SessionStore&) = delete;
  SessionStore& operator=(const SessionStore&) = delete;

  bool ok() const { return sessions_ != nullptr && free_ != nullptr && slots_ != nullptr; }
  uint32_t capacity() const { return capacity_; }
  // Session array + free list + index: what a table costs, whatever it holds.
  size_t memory_bytes() const {
    return sizeof(S) * capacity_ + sizeof(uint32_t) * capacity_ + sizeof(Slot) * (size_t{slot_mask_} + 1);
  }
  uint32_t index_of(const S* s) const { return static_cast<uint32_t>(s - sessions_); }
  S* at(uint32_t idx) const { return &sessions_[idx]; }
  S* by_ref(uint32_t ref) const { return &sessions_[ref >> 1]; }
  static Dir dir_of(uint32_t ref) { return static_cast<Dir>(ref & 1); }
  static uint32_t ref_of(uint32_t idx, Dir d) { return idx << 1 | static_cast<uint32_t>(d); }

  // --- free list ---
  // A fresh session (S{}, in_use = 1); nullptr when full.
  S* allocate() {
    if (free_top_ == 0) return nullptr;
    S* s = &sessions_[free_[--free_top_]];
    *s = S{};
    s->in_use = 1;
    return s;
  }
  void release(S* s) {
    s->in_use = 0;
    free_[free_top_++] = index_of(s);
  }

  // --- index ---
  // Every slot can be a home slot: the home uses the 31 bits above the | 1.
  uint32_t home_of(uint32_t sig) const { return (sig >> 1) & slot_mask_; }
  const Slot* home_slot(uint32_t sig) const { return &slots_[home_of(sig)]; }
  // The ref of the first slot with this signature whose key match(ref)
  // accepts; kNoRef when none.
  template <class Match>
  uint32_t find(uint32_t sig, Match&& match) const {
    for (uint32_t i = home_of(sig);; i = (i + 1) & slot_mask_) {
      const Slot& slot = slots_[i];
      if (slot.sig == 0) return kNoRef;
      if (slot.sig == sig && match(slot.ref)) return slot.ref;
    }
  }
  // The first slot with this signature, key not checked (prefetching); kNoRef when none.
  uint32_t first_with(uint32_t sig) const {
    return find(sig, [](uint32_t) { return true; });
  }
  // --- burst pipelining (like rte_hash's bulk lookup), both tables' ---
  // A burst hashes every key and prefetches its home slot, then prefetches
  // the sessions those slots name, then looks up for real with the lines
  // already on their way (worker/staged_lookup.h).
  void prefetch_home(uint32_t sig) const { rte_prefetch0(home_slot(sig)); }
  // Every line the first session under `sig` spans (sizeof(S) is not a multiple of 64,
  // so up to 3 or 4): the fast path reads its tuples, counters and next hops, not only
  // its first line. Nothing when no slot holds `sig`.
  void prefetch_session(uint32_t sig) const {
    const uint32_t ref = first_with(sig);
    if (ref == kNoRef) return;
    const auto* p = reinterpret_cast<const char*>(by_ref(ref));
    const auto first = reinterpret_cast<uintptr_t>(p) & ~uintptr_t{63};
    const auto last = (reinterpret_cast<uintptr_t>(p) + sizeof(S) - 1) & ~uintptr_t{63};
    for (uintptr_t line = first; line <= last; line += 64) rte_prefetch0(reinterpret_cast<const void*>(line));
  }

  // Indexes `ref` under `sig`. False, nothing indexed, when a slot on the way
  // holds the same key (same_key(ref)); pass a callable returning false when
  // the caller has already looked the key up.
  template <class SameKey>
  bool put(uint32_t sig, uint32_t ref, SameKey&& same_key) {
    for (uint32_t i = home_of(sig);; i = (i + 1) & slot_mask_) {
      Slot& slot = slots_[i];
      if (slot.sig == 0) {
        slot = {sig, ref};
        return true;
      }
      if (slot.sig == sig && same_key(slot.ref)) return false;
    }
  }
  void erase(uint32_t sig, uint32_t ref) {
    uint32_t i = home_of(sig);
    while (slots_[i].sig != 0 && !(slots_[i].sig == sig && slots_[i].ref == ref)) i = (i + 1) & slot_mask_;
    if (slots_[i].sig == 0) return;
    // Backward-shift deletion keeps every probe chain unbroken without tombstones.
    uint32_t hole = i;
    for (uint32_t j = (i + 1) & slot_mask_; slots_[j].sig != 0; j = (j + 1) & slot_mask_) {
      const uint32_t home = home_of(slots_[j].sig);
      // Move j into the hole if its home is not cyclically within (hole, j].
      const bool home_in_range = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
      if (!home_in_range) {
        slots_[hole] = slots_[j];
        hole = j;
      }
    }
    slots_[hole] = {0, 0};
  }

  // --- aging ---
  // The clock hand visits up to `budget` sessions (at most one lap) and calls
  // visit(session) on each one in use; visit returns true when it removed it.
  // Returns how many were removed.
  template <class Visit>
  uint32_t sweep(uint32_t budget, Visit&& visit) {
    uint32_t removed = 0;
    for (uint32_t n = 0; n < budget && n < capacity_; ++n) {
      S& s = sessions_[hand_];
      hand_ = hand_ + 1 == capacity_ ? 0 : hand_ + 1;
      if (s.in_use && visit(s)) ++removed;
    }
    return removed;
  }

 private:
  S* sessions_ = nullptr;
  uint32_t* free_ = nullptr;
  Slot* slots_ = nullptr;
  uint32_t capacity_ = 0;
  uint32_t free_top_ = 0;
  uint32_t slot_mask_ = 0;
  uint32_t hand_ = 0;
  int socket_ = kHeapMemory;
};

}  // namespace wp
