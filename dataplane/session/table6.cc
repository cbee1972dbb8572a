// IPv6 session table; see session/table6.h.
#include "dataplane/session/table6.h"

#include <cstring>

namespace wp {

SessionTable6::SessionTable6(uint32_t capacity) : capacity_(capacity) {
  uint64_t slots = 16;
  while (slots < uint64_t{capacity} * 4) slots <<= 1;  // 2 keys per session, load <= 50 %
  slot_mask_ = static_cast<uint32_t>(slots - 1);
  sessions_ = std::make_unique<Session6[]>(capacity);
  free_ = std::make_unique<uint32_t[]>(capacity);
  slots_ = std::make_unique<Slot[]>(slots);  // value-initialised: every page touched now, not on a first packet
  for (uint32_t i = 0; i < capacity; ++i) free_[i] = capacity - 1 - i;  // low indexes first
  free_top_ = capacity;
}

size_t SessionTable6::memory_bytes() const {
  return sizeof(Session6) * capacity_ + sizeof(uint32_t) * capacity_ + sizeof(Slot) * (size_t{slot_mask_} + 1);
}

// Not symmetric: the two keys of a session land in different slots. | 1: 0 marks an empty slot.
uint32_t SessionTable6::hash_key(const FiveTuple6& k) {
  uint64_t x = k.src.hi * 0x9e3779b97f4a7c15ULL ^ k.src.lo * 0xc2b2ae3d27d4eb4fULL ^
               k.dst.hi * 0x165667b19e3779f9ULL ^ k.dst.lo * 0x27d4eb2f165667c5ULL ^
               (uint64_t{k.sport} << 24 | uint64_t{k.dport} << 8 | k.proto) * 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 29;
  return static_cast<uint32_t>(x >> 32) | 1;
}

static inline uint32_t home_of(uint32_t sig, uint32_t mask) { return (sig >> 1) & mask; }

const FiveTuple6 SessionTable6::key_of(uint32_t ref) const {
  const Session6& s = sessions_[ref >> 1];
  return (ref & 1) ? s.original.reversed() : s.original;
}

Session6Ref SessionTable6::lookup(const FiveTuple6& key) const {
  const uint32_t sig = hash_key(key);
  for (uint32_t i = home_of(sig, slot_mask_);; i = (i + 1) & slot_mask_) {
    const Slot& sl = slots_[i];
    if (sl.sig == 0) return {};
    if (sl.sig == sig && key_of(sl.ref) == key)
      return {&sessions_[sl.ref >> 1], (sl.ref & 1) ? Dir::reverse : Dir::forward};
  }
}

bool SessionTable6::index_put(const FiveTuple6& key, uint32_t ref) {
  const uint32_t sig = hash_key(key);
  for (uint32_t i = home_of(sig, slot_mask_);; i = (i + 1) & slot_mask_) {
    Slot& sl = slots_[i];
    if (sl.sig == 0) {
      sl = {sig, ref};
      return true;
    }
    if (sl.sig == sig && key_of(sl.ref) == key) return false;
  }
}

void SessionTable6::index_erase(const FiveTuple6& key, uint32_t ref) {
  const uint32_t sig = hash_key(key);
  uint32_t i = home_of(sig, slot_mask_);
  for (;; i = (i + 1) & slot_mask_) {
    if (slots_[i].sig == 0) return;
    if (slots_[i].sig == sig && slots_[i].ref == ref) break;
  }
  // Backward-shift deletion: pull later entries of the run into the hole when their home allows.
  for (uint32_t j = (i + 1) & slot_mask_;; j = (j + 1) & slot_mask_) {
    if (slots_[j].sig == 0) break;
    const uint32_t home = home_of(slots_[j].sig, slot_mask_);
    if (((j - home) & slot_mask_) >= ((j - i) & slot_mask_)) {
      slots_[i] = slots_[j];
      i = j;
    }
  }
  slots_[i] = {0, 0};
}

Session6* SessionTable6::insert(const FiveTuple6& t, Refused& why) {
  if (free_top_ == 0) {
    why = Refused::full;
    return nullptr;
  }
  const uint32_t idx = free_[free_top_ - 1];
  Session6& s = sessions_[idx];
  s = Session6{};
  s.original = t;
  if (t == t.reversed() || !index_put(t, idx << 1)) {
    why = Refused::exists;
    return nullptr;
  }
  if (!index_put(t.reversed(), idx << 1 | 1)) {
    index_erase(t, idx << 1);
    why = Refused::exists;
    return nullptr;
  }
  --free_top_;
  ++size_;
  s.in_use = 1;
  why = Refused::none;
  return &s;
}

void SessionTable6::remove(Session6* s) {
  const uint32_t idx = static_cast<uint32_t>(s - sessions_.get());
  index_erase(s->original, idx << 1);
  index_erase(s->original.reversed(), idx << 1 | 1);
  s->in_use = 0;
  free_[free_top_++] = idx;
  --size_;
}

uint32_t SessionTable6::timeout_ms(const Session6& s, const Timeouts& t) {
  if (s.original.proto == 6) {
    const bool closing = (s.flags & kRst) || ((s.flags & kFinFwd) && (s.flags & kFinRev));
    const bool established = (s.flags & kReverseSeen) != 0;
    return closing || !established ? t.tcp_transitory_ms : t.tcp_established_ms;
  }
  return t.udp_ms;  // UDP and ICMPv6 echo, like IPv4's
}

uint32_t SessionTable6::expire_some(uint32_t now_ms, uint32_t budget, const Timeouts& t, ExpireFn on_expire,
                                    void* ctx, LiveFn on_live) {
  if (size_ == 0 || capacity_ == 0) return 0;
  uint32_t gone = 0;
  for (uint32_t n = 0; n < budget && n < capacity_; ++n) {
    Session6& s = sessions_[hand_];
    hand_ = hand_ + 1 == capacity_ ? 0 : hand_ + 1;
    if (!s.in_use) continue;
    if (now_ms - s.last_ms < timeout_ms(s, t)) {
      if (on_live) on_live(ctx, s);
      continue;
    }
    if (on_expire) on_expire(ctx, s);
    remove(&s);
    ++gone;
  }
  return gone;
}

}  // namespace wp
