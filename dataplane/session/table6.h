// Per-worker IPv6 session table (docs/ipv6.md § IPv6 routing and sessions):
// the IPv6 sessions a worker routes, kept apart from the IPv4 SessionTable so
// the IPv4 fast path and the bytes of an IPv4 session do not change.
//
// The array, free list, index and aging sweep are the IPv4 table's own
// (session/session_store.h): sessions in a fixed array with a free list, and
// an open-addressing index (linear probing, backward-shift deletion, load
// <= 50 %) from each of a session's two arrival tuples (the client's tuple
// and its reverse: IPv6 sessions are routed, not translated) to (session,
// dir). What is IPv6 here is the session, its key and the key's hash. Everything is allocated by the constructor; insert, lookup, remove
// and the aging sweep allocate nothing. Which worker holds a session is the
// owner rule of session/owner.h over the symmetric hash of its FiveTuple6
// (affinity_class6), so either direction finds it without a shared table.
#pragma once

#include <cstddef>
#include <cstdint>

#include "dataplane/ip/fib6.h"  // kRoute6Tunnel, tunnel_of_hop6
#include "dataplane/ip/tuple.h"
#include "dataplane/session/session.h"
#include "dataplane/session/session_store.h"

namespace wp {

struct Session6 {
  FiveTuple6 original;  // client -> server as the client sent it
  Ipv6 next_hop[2];     // by Dir: forward toward the server, reverse toward the client
  SessionUuid uuid;
  uint32_t created_ms = 0, last_ms = 0;
  uint32_t updated_ms = 0;  // last `update` event posted (session events, worker/route6_step.h); 0: none yet
  // 0: routed here. Else the IPv4 SessionTable index + 1 of the SVR session that carries this IPv6
  // session between IPv4 waypoints (svr/svr6_lan.h); that session's aging removes this one.
  uint32_t svr_ref = 0;
  int16_t tenant = -1, service = -1;
  int8_t iface[2] = {-1, -1};  // by Dir: the interface packets of that direction leave by (kRoute6Tunnel: next_hop names the tunnel)
  uint8_t flags = 0;           // SessionFlags: kReverseSeen, kFinFwd, kFinRev, kRst
  uint8_t in_use = 0;
  uint64_t packets[2] = {0, 0};  // by Dir
  uint64_t bytes[2] = {0, 0};
};

// A Session6::flags bit: the parity of the worker's model generation
// (WorkerContext::model_gen) its tenant and service indexes are for, so the
// re-check after a commit knows a session it has not re-checked yet from one
// made since (worker/route6_follow.h). Bit 1 is SVR state of IPv4 sessions
// (kRevMdPending), which no IPv6 session has; the HA peer's is not taken.
inline constexpr uint8_t kModel6Odd = 1 << 1;
inline bool model6_is(const Session6& s, uint8_t gen) { return ((s.flags & kModel6Odd) != 0) == ((gen & 1) != 0); }
inline void set_model6(Session6& s, uint8_t gen) {
  s.flags = static_cast<uint8_t>((s.flags & ~kModel6Odd) | (gen & 1 ? kModel6Odd : 0));
}

// Where direction `k` of `s` leaves, numbered as REST and IPFIX name
// interfaces: the port's index, or kSide6Tunnel + the index of the IPsec
// tunnel it is sealed into (iface kRoute6Tunnel, ip/fib6.h). IPFIX adds 1 to
// either, so a tunnel is 1001 + its index there, as for IPv4 sessions.
inline constexpr int kSide6Tunnel = 1000;
inline int side6(const Session6& s, size_t k) {
  return s.iface[k] == kRoute6Tunnel ? kSide6Tunnel + static_cast<int>(tunnel_of_hop6(s.next_hop[k])) : s.iface[k];
}

struct Session6Ref {
  Session6* session = nullptr;
  Dir dir = Dir::forward;
  explicit operator bool() const { return session != nullptr; }
};

class SessionTable6 {
 public:
  // `socket` as SessionTable's: a DPDK heap, or kHeapMemory (the process heap).
  static constexpr int kHeapMemory = SessionStore<Session6>::kHeapMemory;
  explicit SessionTable6(uint32_t capacity, int socket = kHeapMemory) : store_(capacity, socket) {}
  SessionTable6(const SessionTable6&) = delete;
  SessionTable6& operator=(const SessionTable6&) = delete;

  bool ok() const { return store_.ok(); }
  uint32_t capacity() const { return store_.capacity(); }
  uint32_t size() const { return size_; }
  size_t memory_bytes() const { return store_.memory_bytes(); }

  Session6Ref lookup(const FiveTuple6& key) const { return lookup(key, hash_key(key)); }
  // Burst pipelining, as SessionTable's (worker/staged_lookup.h): `sig` is signature(key),
  // computed once when the burst was staged.
  Session6Ref lookup(const FiveTuple6& key, uint32_t sig) const;
  static uint32_t signature(const FiveTuple6& key) { return hash_key(key); }
  void prefetch_slot(uint32_t sig) const { store_.prefetch_home(sig); }
  void prefetch_session(uint32_t sig) const { store_.prefetch_session(sig); }
  // A zeroed session with `t` as its original tuple, indexed both ways;
  // nullptr when the table is full or either key is already in use.
  enum class Refused : uint8_t { none, full, exists };
  Session6* insert(const FiveTuple6& t, Refused& why);
  // A zeroed session with `t` as its original tuple that no lookup finds (nullptr: full): the
  // IPv6 tuple of an SVR session a transit router carries from waypoint to waypoint, reached
  // only through that session (svr/svr6_lan.h bind_transit). remove() releases it.
  Session6* hold(const FiveTuple6& t);
  void remove(Session6* s);
  Session6* at(uint32_t idx) { return store_.at(idx); }
  uint32_t index_of(const Session6* s) const { return store_.index_of(s); }

  // Checks up to `budget` sessions from the sweep hand and removes the idle
  // ones (TCP FIN both ways or RST shortens the timeout, as for IPv4),
  // calling on_expire(ctx, session) first when given, and on_live(ctx,
  // session) for each one checked that stays. Returns how many expired.
  using ExpireFn = void (*)(void* ctx, const Session6& s);
  using LiveFn = void (*)(void* ctx, Session6& s);
  uint32_t expire_some(uint32_t now_ms, uint32_t budget, const Timeouts& t, ExpireFn on_expire = nullptr,
                       void* ctx = nullptr, LiveFn on_live = nullptr);
  static uint32_t timeout_ms(const Session6& s, const Timeouts& t) {
    if (s.svr_ref) return INT32_MAX;  // aged with its SVR session (svr/svr6_lan.h)
    return idle_timeout_ms(s.original.proto, s.flags, t);  // UDP and ICMPv6 echo: udp_ms, as for IPv4
  }
  static uint32_t hash_key(const FiveTuple6& k);

 private:
  bool index_put(const FiveTuple6& key, uint32_t ref);
  void index_erase(const FiveTuple6& key, uint32_t ref) { store_.erase(hash_key(key), ref); }
  const FiveTuple6 key_of(uint32_t ref) const;

  SessionStore<Session6> store_;
  uint32_t size_ = 0;
};

}  // namespace wp
