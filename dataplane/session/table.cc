// Session table; see session/table.h.
#include "dataplane/session/table.h"

#include <rte_malloc.h>
#include <rte_prefetch.h>

#if defined(__SSE4_2__)
#include <nmmintrin.h>
#endif

#include <cstdlib>
#include <cstring>

namespace wp {

namespace session_memory {

// socket >= 0: that NUMA socket's DPDK heap; -1: any socket's; kHeapMemory: the process heap.
void* alloc(size_t bytes, int socket) {
  void* p;
  if (socket >= -1)
    p = rte_zmalloc_socket("wp_sessions", bytes, 64, socket == -1 ? SOCKET_ID_ANY : socket);
  else
    p = std::aligned_alloc(64, (bytes + 63) & ~size_t{63});
  // Touch every page now, at start-up, rather than fault them in on the
  // first-packet path (fresh DPDK memory is assumed zero and not written).
  if (p) std::memset(p, 0, bytes);
  return p;
}

void free(void* p, int socket) {
  if (socket >= -1)
    rte_free(p);
  else
    std::free(p);
}

}  // namespace session_memory

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
  const uint32_t ref = store_.find(hash_key(key), [&](uint32_t r) {
    const Session* s = store_.by_ref(r);
    return (SessionStore<Session>::dir_of(r) == Dir::forward ? s->key_a() : s->key_b()) == key;
  });
  if (ref == SessionStore<Session>::kNoRef) return {};
  return {store_.by_ref(ref), SessionStore<Session>::dir_of(ref)};
}

void SessionTable::prefetch_slot(uint32_t sig) const { store_.prefetch_home(sig); }

void SessionTable::prefetch_session(uint32_t sig) const { store_.prefetch_session(sig); }

// Callers have looked the key up (or know it is new): no key check on the way.
void SessionTable::index_put(const FiveTuple& key, uint32_t ref) {
  store_.put(hash_key(key), ref, [](uint32_t) { return false; });
}

bool SessionTable::insert(Session* s) {
  if (lookup(s->key_a()) || lookup(s->key_b())) return false;
  return insert_unique(s);
}

bool SessionTable::insert_unique(Session* s) {
  FiveTuple a = s->key_a(), b = s->key_b();
  if (a == b) return false;
  uint32_t idx = index_of(s);
  index_put(a, SessionStore<Session>::ref_of(idx, Dir::forward));
  index_put(b, SessionStore<Session>::ref_of(idx, Dir::reverse));
  ++size_;
  return true;
}

void SessionTable::remove(Session* s) {
  uint32_t idx = index_of(s);
  index_erase(s->key_a(), SessionStore<Session>::ref_of(idx, Dir::forward));
  index_erase(s->key_b(), SessionStore<Session>::ref_of(idx, Dir::reverse));
  --size_;
  release(s);
}

namespace {

// Side B's key is indexed as the reverse direction, side A's as forward.
uint32_t side_ref(uint32_t idx, Dir side) {
  return SessionStore<Session>::ref_of(idx, side == Dir::forward ? Dir::reverse : Dir::forward);
}

}  // namespace

bool SessionTable::rebind(Session* s, Dir side, const SideOut& out) {
  if (lookup(out.tuple.reversed())) return false;
  unbind(s, side);
  bind(s, side, out);
  return true;
}

void SessionTable::unbind(Session* s, Dir side) {
  const SideOut& slot = side == Dir::forward ? s->out_fwd : s->out_rev;
  index_erase(slot.tuple.reversed(), side_ref(index_of(s), side));
}

void SessionTable::bind(Session* s, Dir side, const SideOut& out) {
  (side == Dir::forward ? s->out_fwd : s->out_rev) = out;
  index_put(out.tuple.reversed(), side_ref(index_of(s), side));
}

uint32_t SessionTable::expire_some(uint32_t now_ms, uint32_t budget, const Timeouts& t, ExpireFn on_expire, void* ctx,
                                   ExpireFn on_live) {
  return store_.sweep(budget, [&](Session& s) {
    if (s.flags & kPeerSession) return false;  // the peer ages its sessions
    if (!idle_expired(now_ms, s.last_ms, timeout_ms(s, t))) {
      if (on_live) on_live(ctx, s);
      return false;
    }
    if (on_expire) on_expire(ctx, s);
    remove(&s);
    return true;
  });
}

}  // namespace wp
