// Setting a new session up; see session_setup.h.
#include "dataplane/svr/session_setup.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "dataplane/paths/path_table.h"
#include "dataplane/session/owner.h"
#include "dataplane/svr/policy_recheck.h"
#include "dataplane/svr/waypoint6.h"

namespace wp {
namespace {

// Without path monitoring the link is the WAN interface the first of the
// peer's waypoints is routed out of. On that link every own waypoint address
// (`address` + `waypoint_addresses`) pairs with every peer waypoint routed out
// of it, and each pair has a port space of its own (pick_port_pair). A new
// session starts at a random pair, so sessions spread evenly (random, not by
// hash: the affinity class already comes from the hash, and a pair chosen by
// the same bits would see only some classes), and moves on to the next pair
// when one has no free port pair. One address on each side: one pair, as before.
constexpr size_t kMaxPairsTried = 4;

// The n-th of the peer's waypoints routed out of `link` (n counts those only).
std::optional<std::pair<Ipv4, NextHop>> waypoint_on(WorkerContext& ctx, int peer, int link, size_t n, uint32_t h) {
  for (Ipv4 w : ctx.rm().peers[peer].waypoints) {
    auto nh = ctx.route(w, h);
    if (nh && nh->iface == link && n-- == 0) return std::pair{w, *nh};
  }
  return std::nullopt;
}

// A pair of waypoint addresses on `link` (kNone: the link the first of the
// peer's waypoints is routed out of) with a free port pair.
bool bind_on_link(WorkerContext& ctx, Session& s, int peer, int link, uint32_t cls, DropReason& why) {
  const RouterModel& rm = ctx.rm();
  const uint32_t h = symmetric_hash(s.original);
  size_t peer_n = 0;
  for (Ipv4 w : rm.peers[peer].waypoints) {
    auto nh = ctx.route(w, h);
    if (!nh || nh->iface < 0 || !rm.interfaces[nh->iface].wan) continue;  // a tunnel carries no SVR
    if (link == kNone) link = nh->iface;
    peer_n += nh->iface == link;
  }
  if (link == kNone || peer_n == 0) {
    why = DropReason::no_peer;
    return false;
  }
  const InterfaceModel& in = rm.interfaces[link];
  const size_t own_n = 1 + in.waypoint_addrs.size(), pairs = own_n * peer_n;
  const size_t start = pairs == 1 ? 0 : ctx.rng() % pairs;
  for (size_t k = 0; k < std::min(pairs, kMaxPairsTried); ++k) {
    const size_t i = (start + k) % pairs;
    auto w = waypoint_on(ctx, peer, link, i / own_n, h);
    if (!w) break;  // the FIB changed under us (a route lookup differs): give up, counted below
    FiveTuple out{in.waypoint(i % own_n), w->first, 0, 0, s.original.proto};
    if (pick_port_pair(ctx.table, ctx.rng, out, cls)) {
      s.out_fwd = SideOut{out, w->second.addr, static_cast<int8_t>(link), static_cast<int>(peer)};
      return true;
    }
  }
  why = DropReason::ports_exhausted;
  return false;
}

bool bind_by_route(WorkerContext& ctx, Session& s, int peer, uint32_t cls, DropReason& why) {
  return bind_on_link(ctx, s, peer, kNone, cls, why);
}

// Whether one of the peer's IPv4 waypoints is routed out of a WAN interface
// (the links bind_on_link and the path table consider).
bool waypoint4_routed(WorkerContext& ctx, int peer, uint32_t h) {
  const RouterModel& rm = ctx.rm();
  for (Ipv4 w : rm.peers[static_cast<size_t>(peer)].waypoints) {
    auto nh = ctx.route(w, h);
    if (nh && nh->iface >= 0 && rm.interfaces[static_cast<size_t>(nh->iface)].wan) return true;
  }
  return false;
}

}  // namespace

bool pick_port_pair(const SessionTable& table, std::mt19937_64& rng, FiveTuple& out, uint32_t cls,
                    const PolicyRecheck* recheck) {
  // 384 port values per class on each side; pick a random pair and retry on
  // collision with an existing session of the same waypoint pair.
  constexpr uint32_t kValuesPerClass = (kWaypointPortMax + 1 - kWaypointPortMin) / 2 / kAffinityClasses;
  for (int attempt = 0; attempt < 16; ++attempt) {
    uint64_t r = rng();
    uint32_t v_own = kWaypointPortMin / 2 + cls + kAffinityClasses * static_cast<uint32_t>(r % kValuesPerClass);
    uint32_t v_peer =
        kWaypointPortMin / 2 + cls + kAffinityClasses * static_cast<uint32_t>((r >> 20) % kValuesPerClass);
    uint32_t own_port = v_own * 2, peer_port = v_peer * 2 + 1;
    if (peer_port > kWaypointPortMax) continue;
    out.sport = static_cast<uint16_t>(own_port);
    out.dport = static_cast<uint16_t>(peer_port);
    if (!table.lookup(out.reversed()) && !(recheck && recheck->reserved(out.reversed()))) return true;
  }
  return false;
}

bool bind_path(WorkerContext& ctx, Session& s, int path, uint32_t cls, DropReason& why) {
  const PathModel& p = ctx.shared.paths->path(static_cast<size_t>(path));
  FiveTuple out{p.local, p.remote, 0, 0, s.original.proto};
  if (!pick_port_pair(ctx.table, ctx.rng, out, cls)) {
    why = DropReason::ports_exhausted;
    return false;
  }
  // A session moving path keeps the keys (and their version) it has.
  s.out_fwd = SideOut{out, p.next_hop, static_cast<int8_t>(p.iface), static_cast<int>(p.peer),
                      s.out_fwd.key_version};
  return true;
}

bool pick_wan_side(WorkerContext& ctx, Session& s, int peer, uint32_t cls, DropReason& why) {
  // With paths known, the path table ranks them (BFD, SLA, preference).
  if (const PathTable* pt = ctx.shared.paths; pt && pt->size() != 0) {
    int path = pt->pick(static_cast<size_t>(s.service), symmetric_hash(s.original));
    if (path < 0 || pt->path(static_cast<size_t>(path)).peer != peer) {
      why = DropReason::no_path;
      return false;
    }
    // Without BFD (waypointd always builds the table: one path per peer and WAN
    // interface, all usable) the path only chooses the link; the session then
    // spreads over every waypoint pair on it, as without a table (#17: before,
    // every session took the interface address and the first waypoint, so the
    // extra waypoint_addresses carried nothing and a 10 M fill stopped at
    // 8.1 M with ports_exhausted on that one pair).
    if (!pt->monitored()) return bind_on_link(ctx, s, peer, pt->path(static_cast<size_t>(path)).iface, cls, why);
    return bind_path(ctx, s, path, cls, why);
  }
  return bind_by_route(ctx, s, peer, cls, why);
}

bool bind_wan_side(WorkerContext& ctx, Session& s, int peer, uint32_t cls, bool ipv6_lan, DropReason& why) {
  const RouterModel& rm = ctx.rm();
  bool on6 = false;
  if (peer >= 0 && !rm.peers[static_cast<size_t>(peer)].waypoints6.empty())  // else the common case: no test at all
    on6 = waypoint6_usable(rm, ctx.shared.fib6.load(std::memory_order_acquire), peer) &&
          (ipv6_lan || !waypoint4_routed(ctx, peer, symmetric_hash(s.original)));
  return on6 ? bind_waypoint6(ctx, s, peer, cls, why) : pick_wan_side(ctx, s, peer, cls, why);
}

bool install_session(WorkerContext& ctx, CryptoBatch& crypto, Session* s, bool bound, DropReason why,
                     const ParsedPacket& pp, const Metadata* md, rte_mbuf* m) {
  if (bound && !crypto.start(*s, pp, md, why)) {
    ctx.release_nat_port(*s);
    ctx.table.release(s);
    ctx.drop(m, why);
    return false;
  }
  if (!bound || !ctx.table.insert_unique(s)) {
    ctx.release_keys(*s);
    ctx.release_nat_port(*s);
    ctx.table.release(s);
    ctx.drop(m, bound ? DropReason::ports_exhausted : why);
    return false;
  }
  s->model_gen = ctx.model_gen;
  ctx.gate.created(s->tenant);
  ctx.counters->add(Counter::sessions_created);
  ctx.count_active();
  return true;
}

}  // namespace wp
