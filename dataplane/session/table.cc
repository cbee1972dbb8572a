// Session table; see session/table.h.
#include "dataplane/session/table.h"

#include <rte_malloc.h>
#include <rte_prefetch.h>

#if defined(__SSE4_2__)
#include <nmmintrin.h>
#endif

#include <cstdlib>
#include <cstring>
#include <new>

namespace wp {
namespace {

void* table_alloc(size_t bytes, int socket, bool dpdk) {
  if (dpdk) return rte_zmalloc_socket("wp_sessions", bytes, 64, socket);
  void* p = std::aligned_alloc(64, (bytes + 63) & ~size_t{63});
  if (p) std::memset(p, 0, bytes);
  return p;
}

void table_free(void* p, bool dpdk) {
  if (dpdk)
    rte_free(p);
  else
    std::free(p);
}

uint32_t next_pow2(uint64_t v) {
  uint64_t p = 16;
  while (p < v) p <<= 1;
  return static_cast<uint32_t>(p);
}

}  // namespace

SessionTable::SessionTable(uint32_t capacity, int socket) : capacity_(capacity) {
  dpdk_ = socket >= -1;
  int sock = socket == -1 ? SOCKET_ID_ANY : socket;
  uint32_t slots = next_pow2(uint64_t{capacity} * 4);  // 2 keys per session, load <= 50 %
  slot_mask_ = slots - 1;
  sessions_ = static_cast<Session*>(table_alloc(sizeof(Session) * capacity, sock, dpdk_));
  free_ = static_cast<uint32_t*>(table_alloc(sizeof(uint32_t) * capacity, sock, dpdk_));
  slots_ = static_cast<Slot*>(table_alloc(sizeof(Slot) * slots, sock, dpdk_));
  if (!sessions_ || !free_ || !slots_) return;
  // Touch every page now, at start-up, rather than fault them in on the
  // first-packet path (fresh DPDK memory is assumed zero and not written).
  std::memset(static_cast<void*>(sessions_), 0, sizeof(Session) * capacity);
  std::memset(slots_, 0, sizeof(Slot) * slots);
  // Hand out low indexes first: they are the warm part of the array.
  for (uint32_t i = 0; i < capacity; ++i) free_[i] = capacity - 1 - i;
  free_top_ = capacity;
}

SessionTable::~SessionTable() {
  table_free(sessions_, dpdk_);
  table_free(free_, dpdk_);
  table_free(slots_, dpdk_);
}

size_t SessionTable::memory_bytes() const {
  return sizeof(Session) * capacity_ + sizeof(uint32_t) * capacity_ + sizeof(Slot) * (size_t{slot_mask_} + 1);
}

// Signature = hash | 1 (0 marks an empty slot); the home slot uses the other
// 31 bits, so every slot can be a home slot.
static inline uint32_t home_of(uint32_t sig, uint32_t mask) { return (sig >> 1) & mask; }

// CRC-32C over the 13 bytes of the tuple in two 8-byte steps (what rte_hash uses): about
// 8 cycles, where four murmur finalisers in a row were ~60, and every packet hashes its
// key twice (prefetch, then lookup). SSE4.2 is DPDK's own x86 baseline (-march=corei7
// from libdpdk.pc); the fallback keeps non-x86 builds working.
uint32_t SessionTable::hash_key(const FiveTuple& k) {
#if defined(__SSE4_2__)
  const uint64_t addrs = uint64_t{k.src} << 32 | k.dst;
  const uint64_t rest = uint64_t{k.sport} << 24 | uint64_t{k.dport} << 8 | k.proto;
  return static_cast<uint32_t>(_mm_crc32_u64(_mm_crc32_u64(0x85ebca6bU, addrs), rest)) | 1;
#else
  uint32_t h = mix32(k.src ^ 0x85ebca6bU);
  h = mix32(h ^ k.dst);
  h = mix32(h ^ (uint32_t{k.sport} << 16 | k.dport));
  h = mix32(h ^ k.proto);
  return h | 1;
#endif
}

SessionRef SessionTable::lookup(const FiveTuple& key) const {
  uint32_t sig = hash_key(key);
  for (uint32_t i = home_of(sig, slot_mask_);; i = (i + 1) & slot_mask_) {
    const Slot& slot = slots_[i];
    if (slot.sig == 0) return {};
    if (slot.sig != sig) continue;
    Session* s = &sessions_[slot.ref >> 1];
    Dir dir = static_cast<Dir>(slot.ref & 1);
    if ((dir == Dir::forward ? s->key_a() : s->key_b()) == key) return {s, dir};
  }
}

void SessionTable::prefetch_slot(uint32_t sig) const { rte_prefetch0(&slots_[home_of(sig, slot_mask_)]); }

void SessionTable::prefetch_session(uint32_t sig) const {
  for (uint32_t i = home_of(sig, slot_mask_);; i = (i + 1) & slot_mask_) {
    const Slot& slot = slots_[i];
    if (slot.sig == 0) return;
    if (slot.sig == sig) {
      // Every line the session spans (sizeof(Session) is not a multiple of 64, so up to 3
      // or 4): the fast path reads its tuples, counters and key slots, not only its first line.
      const auto* p = reinterpret_cast<const char*>(&sessions_[slot.ref >> 1]);
      const auto first = reinterpret_cast<uintptr_t>(p) & ~uintptr_t{63};
      const auto last = (reinterpret_cast<uintptr_t>(p) + sizeof(Session) - 1) & ~uintptr_t{63};
      for (uintptr_t line = first; line <= last; line += 64) rte_prefetch0(reinterpret_cast<const void*>(line));
      return;
    }
  }
}

Session* SessionTable::allocate() {
  if (free_top_ == 0) return nullptr;
  Session* s = &sessions_[free_[--free_top_]];
  *s = Session{};
  s->in_use = 1;
  return s;
}

void SessionTable::release(Session* s) {
  s->in_use = 0;
  free_[free_top_++] = index_of(s);
}

bool SessionTable::index_put(const FiveTuple& key, uint32_t ref) {
  uint32_t sig = hash_key(key);
  for (uint32_t i = home_of(sig, slot_mask_);; i = (i + 1) & slot_mask_) {
    if (slots_[i].sig == 0) {
      slots_[i] = {sig, ref};
      return true;
    }
  }
}

void SessionTable::index_erase(const FiveTuple& key, uint32_t ref) {
  uint32_t sig = hash_key(key);
  uint32_t i = home_of(sig, slot_mask_);
  while (slots_[i].sig != 0 && !(slots_[i].sig == sig && slots_[i].ref == ref)) i = (i + 1) & slot_mask_;
  if (slots_[i].sig == 0) return;
  // Backward-shift deletion keeps every probe chain unbroken without tombstones.
  uint32_t hole = i;
  for (uint32_t j = (i + 1) & slot_mask_; slots_[j].sig != 0; j = (j + 1) & slot_mask_) {
    uint32_t home = home_of(slots_[j].sig, slot_mask_);
    // Move j into the hole if its home is not cyclically within (hole, j].
    bool home_in_range = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
    if (!home_in_range) {
      slots_[hole] = slots_[j];
      hole = j;
    }
  }
  slots_[hole] = {0, 0};
}

bool SessionTable::insert(Session* s) {
  if (lookup(s->key_a()) || lookup(s->key_b())) return false;
  return insert_unique(s);
}

bool SessionTable::insert_unique(Session* s) {
  FiveTuple a = s->key_a(), b = s->key_b();
  if (a == b) return false;
  uint32_t idx = index_of(s);
  index_put(a, idx << 1 | static_cast<uint32_t>(Dir::forward));
  index_put(b, idx << 1 | static_cast<uint32_t>(Dir::reverse));
  ++size_;
  return true;
}

void SessionTable::remove(Session* s) {
  uint32_t idx = index_of(s);
  index_erase(s->key_a(), idx << 1 | static_cast<uint32_t>(Dir::forward));
  index_erase(s->key_b(), idx << 1 | static_cast<uint32_t>(Dir::reverse));
  --size_;
  release(s);
}

bool SessionTable::rebind(Session* s, Dir side, const SideOut& out) {
  FiveTuple new_key = out.tuple.reversed();
  if (lookup(new_key)) return false;
  uint32_t idx = index_of(s);
  // Side B's key is indexed as the reverse direction, side A's as forward.
  Dir arrival = side == Dir::forward ? Dir::reverse : Dir::forward;
  uint32_t ref = idx << 1 | static_cast<uint32_t>(arrival);
  SideOut& slot = side == Dir::forward ? s->out_fwd : s->out_rev;
  index_erase(slot.tuple.reversed(), ref);
  slot = out;
  index_put(new_key, ref);
  return true;
}

uint32_t SessionTable::timeout_ms(const Session& s, const Timeouts& t) {
  if (s.original.proto == 6) {
    bool closing = (s.flags & kRst) || ((s.flags & kFinFwd) && (s.flags & kFinRev));
    bool established = (s.flags & kReverseSeen) != 0;
    return closing || !established ? t.tcp_transitory_ms : t.tcp_established_ms;
  }
  return t.udp_ms;
}

uint32_t SessionTable::expire_some(uint32_t now_ms, uint32_t budget, const Timeouts& t, ExpireFn on_expire, void* ctx,
                                   ExpireFn on_live) {
  uint32_t expired = 0;
  if (capacity_ == 0) return 0;
  for (uint32_t n = 0; n < budget && n < capacity_; ++n) {
    Session& s = sessions_[hand_];
    hand_ = hand_ + 1 == capacity_ ? 0 : hand_ + 1;
    if (!s.in_use || (s.flags & kPeerSession)) continue;  // the peer ages its sessions
    // Signed difference: wrap-safe for 49-day uint32 millisecond clocks.
    if (static_cast<int32_t>(now_ms - s.last_ms) < static_cast<int32_t>(timeout_ms(s, t))) {
      if (on_live) on_live(ctx, s);
      continue;
    }
    if (on_expire) on_expire(ctx, s);
    remove(&s);
    ++expired;
  }
  return expired;
}

}  // namespace wp
