// IPv6 session table; see session/table6.h.
#include "dataplane/session/table6.h"

namespace wp {

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

const FiveTuple6 SessionTable6::key_of(uint32_t ref) const {
  const Session6& s = *store_.by_ref(ref);
  return SessionStore<Session6>::dir_of(ref) == Dir::reverse ? s.original.reversed() : s.original;
}

Session6Ref SessionTable6::lookup(const FiveTuple6& key, uint32_t sig) const {
  const uint32_t ref = store_.find(sig, [&](uint32_t r) { return key_of(r) == key; });
  if (ref == SessionStore<Session6>::kNoRef) return {};
  return {store_.by_ref(ref), SessionStore<Session6>::dir_of(ref)};
}

bool SessionTable6::index_put(const FiveTuple6& key, uint32_t ref) {
  return store_.put(hash_key(key), ref, [&](uint32_t r) { return key_of(r) == key; });
}

Session6* SessionTable6::insert(const FiveTuple6& t, Refused& why) {
  Session6* s = store_.allocate();
  if (!s) {
    why = Refused::full;
    return nullptr;
  }
  s->original = t;
  const uint32_t idx = store_.index_of(s);
  const uint32_t fwd = SessionStore<Session6>::ref_of(idx, Dir::forward);
  if (t == t.reversed() || !index_put(t, fwd)) {
    store_.release(s);
    why = Refused::exists;
    return nullptr;
  }
  if (!index_put(t.reversed(), SessionStore<Session6>::ref_of(idx, Dir::reverse))) {
    index_erase(t, fwd);
    store_.release(s);
    why = Refused::exists;
    return nullptr;
  }
  ++size_;
  why = Refused::none;
  return s;
}

Session6* SessionTable6::hold(const FiveTuple6& t) {
  Session6* s = store_.allocate();
  if (!s) return nullptr;
  s->original = t;
  ++size_;
  return s;
}

void SessionTable6::remove(Session6* s) {
  const uint32_t idx = store_.index_of(s);
  // A held session's keys are in no slot: erase finds nothing (session_store.h).
  index_erase(s->original, SessionStore<Session6>::ref_of(idx, Dir::forward));
  index_erase(s->original.reversed(), SessionStore<Session6>::ref_of(idx, Dir::reverse));
  store_.release(s);
  --size_;
}

uint32_t SessionTable6::expire_some(uint32_t now_ms, uint32_t budget, const Timeouts& t, ExpireFn on_expire,
                                    void* ctx, LiveFn on_live) {
  if (size_ == 0) return 0;
  return store_.sweep(budget, [&](Session6& s) {
    if (s.flags & kPeerSession) return false;  // the HA peer's copy: the peer ages it (worker/ha_follower6.h)
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
