// What every step of one worker shares: its id, the process-wide state, the
// model its sessions are indexed against, its counters, session table and
// key slab, its clock and random source (docs/architecture.md § Threads).
//
// One WorkerContext per worker thread, owned by the Worker; the components
// (svr/, worker/) hold a reference to it and to the other components they
// call. Nothing here is shared with another worker: the per-worker state of
// a shard-per-core design, in one place instead of one class's private part.
#pragma once

#include <rte_mbuf.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <random>
#include <type_traits>

#include "dataplane/apps/classifier.h"
#include "dataplane/control/router_model.h"
#include "dataplane/crypto/keys.h"
#include "dataplane/session/events.h"
#include "dataplane/session/nat_ports.h"
#include "dataplane/session/table.h"
#include "dataplane/worker/counters.h"
#include "dataplane/worker/rate_limit.h"
#include "dataplane/worker/session_gate.h"
#include "dataplane/worker/shared.h"

namespace wp {

inline constexpr uint16_t kMaxBurst = 64;

// A burst's worth of T left uninitialised: the per-burst scratch arrays are written before
// they are read, and value-initialising 64 entries of 80 bytes on every call cost more
// than the burst's session lookups (perf/README.md § Fast path profile).
template <typename T, size_t N = kMaxBurst>
union BurstArray {
  static_assert(std::is_trivially_destructible_v<T> && std::is_trivially_copyable_v<T>);
  BurstArray() {}
  T& operator[](size_t i) { return v[i]; }
  T* data() { return v; }
  T v[N];
};

class Svr6Lan;
class PolicyRecheck;

// A transit router's IPv4 SVR session (both sides WAN legs) that carries an IPv6 session from
// waypoint to waypoint (svr/svr6_lan.h bind_transit): its original tuple is the internal
// 0.0.0.0/8 tuple of the Session6 that holds the IPv6 tuple, a source no IPv4 session has
// (LanInput and WanInput refuse it: svr6_internal_tuple).
inline bool transit_ipv6(const Session& s) { return s.side_a_wan() && s.side_b_wan() && (s.original.src >> 24) == 0; }
// An IPv4 SVR session whose LAN side is an IPv6 session (kIfaceSvr6, svr/svr6_lan.h), or a
// transit one carrying an IPv6 session (transit_ipv6): REST and IPFIX show its IPv6 view
// (session/events6.h), and its Session6 goes with it.
inline bool carries_ipv6(const Session& s) {
  return s.out_fwd.iface == kIfaceSvr6 || s.out_rev.iface == kIfaceSvr6 || transit_ipv6(s);
}

struct WorkerContext {
  WorkerContext(uint32_t id, DataplaneShared& shared, uint32_t max_sessions, int socket);
  WorkerContext(const WorkerContext&) = delete;
  WorkerContext& operator=(const WorkerContext&) = delete;

  const uint32_t id;
  DataplaneShared& shared;
  // The model new sessions are built from and live sessions are indexed
  // against (generation model_gen); PolicyRecheck moves it forward.
  const RouterModel* model = nullptr;
  uint8_t model_gen = 0;
  WorkerCounters* counters;
  SessionTable table;
  KeySlab keys;  // per-session keys of the sessions that HMAC or encrypt every packet
  PeerKeyViews peer_keys;  // the pair-key versions each peer said it holds (TLV 22)
  uint32_t now_ms = 0;
  std::mt19937_64 rng;
  SessionGate gate;  // new sessions: tenant quotas, per-source and per-tenant rates
  NatPorts nat_ports;  // internet breakout: source ports of the classes this worker owns
  // ICMPv4 Fragmentation Needed and ICMPv6 Packet Too Big up to the control thread (rate_limit.h).
  PathMtuErrorMeter path_mtu_errors;
  // Application classification (svr/app_inspect.h): this worker's own nDPI; null = off.
  std::unique_ptr<app::AppClassifier> apps;
  // IPv6 sessions between IPv4 waypoints (svr/svr6_lan.h): null without an IPv6 session table.
  // The release hook frees a session's IPv6 side (a pointer: this library does not link svr/).
  Svr6Lan* svr6 = nullptr;
  void (*release_svr6)(Svr6Lan*, const Session&) = nullptr;
  // Posts the IPv6 view of such a session to the mgmt feed (session/events6.h).
  void (*post_svr6)(Svr6Lan*, SessionEventKind, const Session&, SessionEndReason) = nullptr;
  // The re-check after a config commit (svr/policy_recheck.h), for the svr/ steps that reach a
  // session or pick a key without holding it themselves (svr6_lan.h, waypoint6.h); null in none.
  PolicyRecheck* recheck = nullptr;

  // A new session of `tenant` from `src` may start (else `why`): svr/ first packets ask before allocating.
  bool admit_session(Ipv4 src, int tenant, DropReason& why) {
    return gate.admit(rm(), shared.workers, src, tenant, now_ms, why);
  }
  // The same for an IPv6 source (Route6Step, Svr6Lan, WanInput and Nat64Step ask).
  bool admit_session(const Ipv6& src, int tenant, DropReason& why) {
    return gate.admit(rm(), shared.workers, src, tenant, now_ms, why);
  }

  const RouterModel& rm() const { return *model; }
  // The inner MTU of tunnel `t` now: tunnels[].mtu, or less while an outer path MTU learned from
  // ICMPv6 Packet Too Big holds (ipsec/esp_path_mtu.h), never below `floor` (inner IPv6: 1280);
  // 0 when the model has no such tunnel.
  uint16_t tunnel_mtu(uint32_t t, uint16_t floor = 0) const {
    return t < rm().tunnels.size() ? shared.esp_path_mtu.limit(t, rm().tunnels[t].mtu, floor) : 0;
  }
  // The route to `dst` for a session whose symmetric hash is `hash`: the
  // config's (connected, static) or FRR's (shared.fib), longest prefix first,
  // then the lower administrative distance (ties: the config's); among FRR's
  // equal-cost next hops the hash picks one, so a session keeps its member
  // while the set is unchanged. nullopt: no route, or a blackhole.
  std::optional<NextHop> route(Ipv4 dst, uint32_t hash) const;
  // Whether the route to `dst` offers `next_hop` on `iface` (any ECMP member).
  bool route_offers(Ipv4 dst, Ipv4 next_hop, int iface) const;
  // IPv6, by the same rule (control/route_choice.h): the config's Fib6 or
  // FRR's (shared.fib6); FRR's member picked by `hash`. nullopt: no route, or
  // a blackhole.
  std::optional<Route6> route6(const Ipv6& dst, uint32_t hash) const;

 private:
  struct RouteChoice {
    const RouteModel* own = nullptr;  // the config's route won
    const FibRoute* frr = nullptr;    // FRR's route won
  };
  RouteChoice route_choice(Ipv4 dst) const;

 public:
  // The pair-key version to sign with toward `peer` (crypto/pair_keys.h).
  const PairKey& tx_key(int peer) const {
    const PeerModel& p = model->peers[peer];
    return p.keys.choose(peer_keys.of(peer, p.name_hash));
  }
  // The version a block of session `s` leaving on `side` (0 = A, 1 = B)
  // toward `peer` is signed with: the one that side's session keys came from
  // while we hold it (a first packet sent again names the version the
  // receiver must derive from), else tx_key's.
  const PairKey& md_key(const Session& s, int side, int peer) const {
    const PairKey* k = s.key_version(side) ? model->peers[peer].keys.find(s.key_version(side)) : nullptr;
    return k ? *k : tx_key(peer);
  }
  // A verified block from `peer` said which versions it holds.
  void heard_key_versions(int peer, const Metadata& md);
  bool is_worker() const { return id < shared.workers; }  // not the control thread's dispatcher

  void drop(rte_mbuf* m, DropReason why) {
    counters->drop(why);
    rte_pktmbuf_free(m);
  }
  void count_active() { counters->sessions_active.store(table.size(), std::memory_order_relaxed); }
  // Gives a session's key slots back to the slab.
  void release_keys(Session& s);
  // Gives a breakout session's source-NAT port back to the pool, and the IPv6
  // side of an IPv6 session between IPv4 waypoints back to the IPv6 table.
  void release_nat_port(const Session& s) {
    if (s.nat) nat_ports.give(s.original.proto, s.out_fwd.tuple.sport);
    if (carries_ipv6(s) && release_svr6) [[unlikely]]
      release_svr6(svr6, s);
  }
  // Unindexes the session and frees its key slots: the one way a live session ends.
  void remove_session(Session* s);
  // Copies the session into every enabled consumer's event ring (offload,
  // HA, IPFIX); a full ring drops the event and counts it (session/events.h).
  void post_event(SessionEventKind kind, const Session& s, SessionEndReason reason = SessionEndReason::none);
  SessionUuid new_uuid();  // RFC 4122 version 4
};

}  // namespace wp
