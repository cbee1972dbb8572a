// The re-check after a config commit; see policy_recheck.h.
#include "dataplane/svr/policy_recheck.h"

#include <algorithm>

#include "dataplane/control/waypoint6_addr.h"

namespace wp {
namespace {

int remap_peer(int idx, const RouterModel& from, const RouterModel& to) {
  if (idx < 0) return idx;
  const int i = to.peer_by_name(from.peers[static_cast<size_t>(idx)].name);
  return i == kNone ? kNone - 1 : i;  // kNone - 1: gone
}

bool has_standin(const FiveTuple& t) { return is_waypoint6_standin(t.src) || is_waypoint6_standin(t.dst); }

// A WAN side's stand-ins (addresses and next hop) in `to`'s numbering; false
// when one names a waypoint `to` lacks (it becomes kWaypoint6Gone).
bool renumber_side(const RouterModel& from, const RouterModel& to, SideOut& out) {
  if (out.peer < 0 || !has_standin(out.tuple)) [[likely]]
    return true;  // a LAN, tunnel or IPv4 waypoint side
  bool ok = true;
  for (Ipv4* a : {&out.tuple.src, &out.tuple.dst, &out.next_hop}) {
    if (!is_waypoint6_standin(*a)) continue;
    const Ipv4 b = waypoint6_renumber(from, to, *a);
    ok = ok && b != 0;
    *a = b != 0 ? b : kWaypoint6Gone;
  }
  return ok;
}

// A side sealed into a tunnel the commit removed, or whose index another
// tunnel took (docs/ipsec.md § Live reload): the
// session ends rather than go to another site.
bool tunnel_gone(const RouterModel& from, const RouterModel& to, const SideOut& out) {
  if (out.iface != kIfaceTunnel) [[likely]]
    return false;
  const size_t t = out.next_hop;
  return t >= to.tunnels.size() || t >= from.tunnels.size() || to.tunnels[t].name != from.tunnels[t].name;
}

}  // namespace

PolicyRecheck::PolicyRecheck(WorkerContext& ctx) : ctx_(ctx) {
  ctx.recheck = this;
  ctx.counters->model_settled.store(reinterpret_cast<uintptr_t>(ctx.model), std::memory_order_release);
}

uint32_t PolicyRecheck::poll() {
  const RouterModel* published = ctx_.shared.model.load(std::memory_order_acquire);
  if (published != ctx_.model && !running()) adopt(published);
  if (!running()) return 0;
  const uint32_t end = std::min(hand_ + kSlice, ctx_.table.capacity());
  uint32_t visited = end - hand_;
  for (; hand_ < end; ++hand_) {
    Session& s = *ctx_.table.at(hand_);
    if (s.in_use) current(s);
  }
  // Then the attached table, with what is left of the slice.
  const uint32_t end6 = std::min(hand6_ + (kSlice - visited), slots6_);
  visited += end6 - hand6_;
  for (; hand6_ < end6; ++hand6_) recheck6_(self6_, *previous_, hand6_);
  if (hand_ >= ctx_.table.capacity() && hand6_ >= slots6_) {
    previous_ = nullptr;
    ctx_.counters->model_settled.store(reinterpret_cast<uintptr_t>(ctx_.model), std::memory_order_release);
  }
  return visited;
}

void PolicyRecheck::adopt(const RouterModel* published) {
  previous_ = ctx_.model;
  ctx_.model = published;
  ++ctx_.model_gen;
  hand_ = hand6_ = 0;
  if (previous_ == nullptr || published == nullptr) {  // nothing to re-map from or to
    previous_ = nullptr;
    ctx_.counters->model_settled.store(reinterpret_cast<uintptr_t>(published), std::memory_order_release);
  }
}

SessionRef PolicyRecheck::find(const FiveTuple& key) {
  SessionRef ref = ctx_.table.lookup(key);
  const bool stale = ref && ref.session->model_gen != ctx_.model_gen;
  if (!running()) [[likely]]
    return !stale || recheck(*ref.session) ? ref : SessionRef{};  // nothing to renumber from
  if (ref && !stale) return ref;
  // Mid-sweep: what holds `key` may be a session whose stand-ins meant other waypoints (it moves
  // away), and the session `key` names now may still sit under its previous numbering (it moves here).
  const SessionRef was = behind(key);
  if (!stale && !was) return {};
  if (stale) recheck(*ref.session);
  if (was && was.session->model_gen != ctx_.model_gen) recheck(*was.session);  // unless the first moved it
  ref = ctx_.table.lookup(key);
  return ref && ref.session->model_gen == ctx_.model_gen ? ref : SessionRef{};
}

SessionRef PolicyRecheck::behind(const FiveTuple& key) const {
  if (!running() || !has_standin(key)) [[likely]]
    return {};
  FiveTuple was = key;
  for (Ipv4* a : {&was.src, &was.dst})
    if (is_waypoint6_standin(*a) && (*a = waypoint6_renumber(ctx_.rm(), *previous_, *a)) == 0) return {};
  if (was == key) return {};  // numbered alike: the lookup of `key` itself finds it
  const SessionRef ref = ctx_.table.lookup(was);
  return ref && ref.session->model_gen != ctx_.model_gen ? ref : SessionRef{};
}

bool PolicyRecheck::recheck(Session& s) {
  s.model_gen = ctx_.model_gen;
  if (previous_ == nullptr) return true;  // created from a peer's copy, already in our terms
  Dir side = Dir::forward;
  SideOut out;
  switch (remap(s, side, out)) {
    case Remap::keep: return true;
    case Remap::closed: return false;
    case Remap::move: break;
  }
  return ctx_.table.rebind(&s, side, out) || move_chain(s, side, out);
}

PolicyRecheck::Remap PolicyRecheck::remap(Session& s, Dir& side, SideOut& out) {
  const RouterModel& from = *previous_;
  const RouterModel& to = ctx_.rm();
  ctx_.counters->add(Counter::sessions_rechecked);
  int tenant = tenant_in(to, from, s.tenant);
  int service = service_in(to, from, s.service);
  int security = to.policy(tenant, service);
  int peer_fwd = remap_peer(s.out_fwd.peer, from, to);
  int peer_rev = remap_peer(s.out_rev.peer, from, to);
  // A breakout session keeps its source address only while its service still translates to it.
  bool nat_gone = s.nat &&
                  (service == kNone || to.services[static_cast<size_t>(service)].breakout_addr != s.out_fwd.tuple.src);
  // The event of a session closed for a peer that is gone keeps its old peer index (no new one).
  SideOut fwd = s.out_fwd, rev = s.out_rev;
  const bool renumbered = renumber_side(from, to, fwd) && renumber_side(from, to, rev);
  if (peer_fwd >= kNone) fwd.peer = static_cast<int16_t>(peer_fwd);
  if (peer_rev >= kNone) rev.peer = static_cast<int16_t>(peer_rev);
  const bool fwd_moves = fwd.tuple != s.out_fwd.tuple, rev_moves = rev.tuple != s.out_rev.tuple;
  // Stand-ins on both sides (a transit between IPv6 waypoints) that both move: closed, not re-keyed twice
  // (docs/ipv6.md § IPv6 sessions between IPv6 waypoints, Transit; the next first packet starts a new one).
  const bool waypoint6_gone = !renumbered || (fwd_moves && rev_moves);
  const bool tunnel_closed = tunnel_gone(from, to, s.out_fwd) || tunnel_gone(from, to, s.out_rev);
  if (security == kNone || peer_fwd < kNone || peer_rev < kNone || nat_gone || waypoint6_gone || tunnel_closed) {
    Session as_now = s;
    as_now.tenant = static_cast<int16_t>(tenant);
    as_now.service = static_cast<int16_t>(service);
    as_now.security = static_cast<int16_t>(security);
    as_now.out_fwd = fwd;
    as_now.out_rev = rev;
    close(s, as_now, waypoint6_gone);
    return Remap::closed;
  }
  s.tenant = static_cast<int16_t>(tenant);
  s.service = static_cast<int16_t>(service);
  s.set_qos_class(static_cast<uint8_t>(to.session_qos_class(service, s.app)));  // the application's class first
  s.security = static_cast<int16_t>(security);
  if (fwd_moves || rev_moves) {
    side = fwd_moves ? Dir::forward : Dir::reverse;
    (fwd_moves ? s.out_rev : s.out_fwd) = fwd_moves ? rev : fwd;  // the side that keeps its key
    out = fwd_moves ? fwd : rev;
    return Remap::move;
  }
  s.out_fwd = fwd;
  s.out_rev = rev;
  return Remap::keep;
}

// `first`'s new key is taken. If a session not re-checked yet holds it (its
// stand-ins meant other waypoints before, e.g. two peers swapped places and
// their sessions have the same port pair), that one is re-checked and moves
// out of the way first, and so on: a loop along the chain, whose sessions are
// each taken out of the index before the one behind takes their key, so a
// cycle of trades closes too. A key still held (by a session already in the
// new numbering) closes the session that wanted it.
bool PolicyRecheck::move_chain(Session& first, Dir side, SideOut out) {
  bool first_lives = true;
  Session* cur = &first;
  ctx_.table.unbind(cur, side);
  while (cur != nullptr) {
    const FiveTuple key = out.tuple.reversed();
    Session* next = nullptr;
    Dir next_side = Dir::forward;
    SideOut next_out;
    if (const SessionRef holder = ctx_.table.lookup(key); holder && holder.session->model_gen != ctx_.model_gen) {
      Session& h = *holder.session;
      h.model_gen = ctx_.model_gen;
      if (remap(h, next_side, next_out) == Remap::move) {
        ctx_.table.unbind(&h, next_side);
        next = &h;
      }
    }
    if (!ctx_.table.lookup(key)) {
      ctx_.table.bind(cur, side, out);
    } else {
      Session as_now = *cur;
      (side == Dir::forward ? as_now.out_fwd : as_now.out_rev) = out;
      close(*cur, as_now, true);
      if (cur == &first) first_lives = false;
    }
    cur = next, side = next_side, out = next_out;
  }
  return first_lives;
}

void PolicyRecheck::close(Session& s, const Session& as_now, bool waypoint6) {
  ctx_.post_event(SessionEventKind::closed, as_now, SessionEndReason::forced_end);
  ctx_.remove_session(&s);
  ctx_.counters->add(Counter::sessions_policy_closed);
  if (waypoint6) ctx_.counters->add(Counter::sessions_waypoint6_closed);
  ctx_.count_active();
}

}  // namespace wp
