// The worker's side of HA; see ha_follower.h.
#include "dataplane/worker/ha_follower.h"

#include <rte_ring_elem.h>

#include <algorithm>
#include <iterator>

#include "dataplane/control/neighbor_mac.h"  // ms_before: wrap-safe millisecond order
#include "dataplane/svr/svr6_lan.h"

namespace wp {
namespace {

constexpr unsigned kApplyBurst = 64;

// `other` holds one of the keys of the peer's session `in`: the newer
// creation wins. False when `in` is the older (counted); else `other` is gone.
bool replace_older(WorkerContext& ctx, const Session& in, SessionRef other) {
  if (ms_before(in.created_ms, other.session->created_ms)) {
    ctx.counters->add(Counter::ha_stale_ignored);
    return false;
  }
  ctx.remove_session(other.session);
  ctx.counters->add(Counter::sessions_replaced);
  return true;
}

}  // namespace

uint32_t HaFollower::poll() {
  HaDataplane& ha = ctx_.shared.ha;
  PeerSessionOp ops[kApplyBurst];
  unsigned n = rte_ring_sc_dequeue_burst_elem(ha.inbound[ctx_.id], ops, sizeof(PeerSessionOp), kApplyBurst, nullptr);
  // #17: the burst's index slots on their way before the first lookup (as the
  // fast path does): a sync's upserts are mostly new sessions, two misses each.
  for (unsigned i = 0; i < n; ++i) {
    ctx_.table.prefetch_slot(SessionTable::signature(ops[i].session.key_a()));
    ctx_.table.prefetch_slot(SessionTable::signature(ops[i].session.key_b()));
  }
  for (unsigned i = 0; i < n; ++i) apply(ops[i]);
  if (n) ctx_.count_active();
  if (six_) n += six_->poll();
  n += follow_ownership();
  n += republish();
  return n + reoffload();  // after the sweep, which starts it
}

void HaFollower::mark_owner(Session& s) {
  s.flags = static_cast<uint8_t>(ctx_.shared.ha.peer_owns(s) ? s.flags | kPeerSession : s.flags & ~kPeerSession);
}

void HaFollower::apply(const PeerSessionOp& op) {
  const Session& in = op.session;
  SessionRef ref = ctx_.table.lookup(in.key_a());
  if (op.kind != PeerSessionOpKind::upsert) {
    bool peers = op.kind == PeerSessionOpKind::remove || (ref && (ref.session->flags & kPeerSession));
    if (ref && ref.session->uuid == in.uuid && peers) {
      ctx_.remove_session(ref.session);
      ctx_.counters->add(Counter::ha_sessions_removed);
    }
    return;
  }
  if (ref && ref.session->uuid == in.uuid) {
    if (update_in_place(*ref.session, in)) return;
    ctx_.remove_session(ref.session);  // re-bound by the peer: insert again under the new keys
    ref = {};
  }
  // #17: key A's holder is known (none, or another session): look up only key B
  // after it, not both again as make_room() would (a new session: one miss less).
  if (ref && !replace_older(ctx_, in, ref)) return;
  SessionRef on_b = ctx_.table.lookup(in.key_b());
  if (!on_b || replace_older(ctx_, in, on_b)) insert(in);
}

// True when done: the update was stale (ignored) or applied in place.
bool HaFollower::update_in_place(Session& s, const Session& in) {
  if (ms_before(in.last_ms, s.last_ms)) {
    ctx_.counters->add(Counter::ha_stale_ignored);
    return true;
  }
  if (s.key_b() != in.key_b()) return false;
  uint32_t slots[2] = {s.key_slot[0], s.key_slot[1]};  // ours, not the peer's
  // The application, its refusal and the class come with the record (docs/applications.md
  // § HA), unless this worker's own classifier holds a slot for the session: then the
  // verdict is ours to make, and the slot ours to give back.
  const bool classifying = s.app_slot < kAppDenied;
  const uint16_t app = s.app, app_slot = s.app_slot;
  const uint8_t qos = s.qos;
  const bool was_peers = s.flags & kPeerSession;
  s = in;
  if (classifying) {
    s.app = app;
    s.app_slot = app_slot;
    s.qos = qos;
  }
  s.in_use = 1;
  s.model_gen = ctx_.model_gen;
  crypto_.adopt_peer(s, slots);
  mark_owner(s);
  // Changed hands here rather than in the sweep (an op applied after the ownership change
  // and before the sweep reached it): announced as the sweep would.
  if (was_peers != ((s.flags & kPeerSession) != 0)) announce_or_count(s, was_peers);
  if (was_peers && !(s.flags & kPeerSession)) offload_or_count(s);
  ctx_.counters->add(Counter::ha_sessions_applied);
  return true;
}

bool HaFollower::make_room(const Session& in) {
  // Sessions on either key that are not this one: the newer creation wins.
  for (const FiveTuple& key : {in.key_a(), in.key_b()}) {
    SessionRef other = ctx_.table.lookup(key);
    if (other && !replace_older(ctx_, in, other)) return false;
  }
  return true;
}

Session* HaFollower::insert(const Session& in) {
  Session* s = ctx_.table.allocate();
  if (!s) {
    ctx_.counters->add(Counter::ha_apply_table_full);
    return nullptr;
  }
  *s = in;
  s->in_use = 1;
  s->model_gen = ctx_.model_gen;
  mark_owner(*s);
  const uint32_t none[2] = {kNoKeySlot, kNoKeySlot};
  crypto_.adopt_peer(*s, none);
  if (!ctx_.table.insert_unique(s)) {
    ctx_.release_keys(*s);
    ctx_.table.release(s);
    ctx_.counters->add(Counter::ha_stale_ignored);
    return nullptr;
  }
  if (!(s->flags & kPeerSession)) {  // ours at once (the peer gone, or on our waypoint: a resync after our restart)
    announce_or_count(*s, true);
    offload_or_count(*s);
  }
  ctx_.counters->add(Counter::ha_sessions_applied);
  return s;
}

namespace {

// The carrying session's LAN side and original tuple: the internal tuple of Session6 slot `idx6` here.
void bind_lan6(Session& s, uint32_t idx6, Svr6Role role, const FiveTuple6& t) {
  const FiveTuple inner = Svr6Lan::internal_tuple(idx6, t);
  const bool ingress = role == Svr6Role::ingress;
  SideOut& lan = ingress ? s.out_rev : s.out_fwd;
  const uint8_t key_version = lan.key_version;
  lan = SideOut{ingress ? inner.reversed() : inner, idx6, static_cast<int8_t>(kIfaceSvr6), -1};
  lan.key_version = key_version;
  s.original = inner;
}

}  // namespace

void HaFollower::apply_svr6(const PeerSession6Op& op) {
  SessionTable6* t6 = six_ ? six_->table() : nullptr;
  if (!t6 || !ctx_.svr6) return ctx_.counters->add(Counter::ha6_apply_table_full);  // no IPv6 table here
  const Session6& in6 = op.session;
  // A transit session (both sides waypoint legs) holds its Session6 where no IPv6 lookup finds it
  // (SessionTable6::hold): its carrier is found by the leg it arrives on (key A, the peer's too).
  const bool transit = op.role == Svr6Role::transit;
  Session6Ref ref6 = transit ? Session6Ref{} : t6->lookup(in6.original);
  Session* held = nullptr;
  if (transit) {
    const SessionRef ref = ctx_.table.lookup(op.carrier.key_a());
    if (ref && ref.session->uuid == in6.uuid && transit_ipv6(*ref.session)) held = ref.session;
  } else if (ref6 && ref6.session->svr_ref && ref6.session->uuid == in6.uuid) {
    held = ctx_.table.at(ref6.session->svr_ref - 1);
  }
  if (op.kind != PeerSessionOpKind::upsert) {
    if (held && (op.kind == PeerSessionOpKind::remove || (held->flags & kPeerSession))) {
      ctx_.remove_session(held);  // its Session6 goes with it (Svr6Lan::release)
      ctx_.counters->add(Counter::ha6_sessions_removed);
    }
    return;
  }
  Session in = op.carrier;
  if (held) {
    if (ms_before(in.last_ms, held->last_ms)) return ctx_.counters->add(Counter::ha6_stale_ignored);
    if (transit)
      in.original = held->original;  // the internal tuple of its Session6 here, not the sender's
    else
      bind_lan6(in, t6->index_of(ref6.session), op.role, in6.original);
    if (held->key_a() == in.key_a() && update_in_place(*held, in)) {  // both keys as held (update_in_place checks B's)
      if (!transit) {  // a transit Session6 counts nothing: the carrier's counts are its view
        Session6& s6 = *ref6.session;
        s6.last_ms = in6.last_ms;
        std::copy(std::begin(in6.packets), std::end(in6.packets), s6.packets);
        std::copy(std::begin(in6.bytes), std::end(in6.bytes), s6.bytes);
      }
      return ctx_.counters->add(Counter::ha6_sessions_applied);
    }
    ctx_.remove_session(held);  // re-bound by the peer (its WAN leg moved): both halves anew
  }
  // Another session on the IPv6 tuple either way: the newer creation wins (a held one has no keys).
  for (const FiveTuple6& key : {in6.original, in6.original.reversed()}) {
    Session6Ref other = transit ? Session6Ref{} : t6->lookup(key);
    if (!other) continue;
    if (ms_before(in6.created_ms, other.session->created_ms)) return ctx_.counters->add(Counter::ha6_stale_ignored);
    if (other.session->svr_ref)
      ctx_.remove_session(ctx_.table.at(other.session->svr_ref - 1));  // and its Session6
    else
      t6->remove(other.session);
    ctx_.counters->add(Counter::sessions_replaced);
  }
  SessionTable6::Refused why = SessionTable6::Refused::full;
  Session6* s6 = transit ? t6->hold(in6.original) : t6->insert(in6.original, why);
  if (!s6)
    return ctx_.counters->add(why == SessionTable6::Refused::full ? Counter::ha6_apply_table_full
                                                                   : Counter::ha6_stale_ignored);
  const uint8_t in_use = s6->in_use;
  *s6 = in6;
  s6->in_use = in_use;
  if (transit)
    in.original = Svr6Lan::internal_tuple(t6->index_of(s6), in6.original);  // transit_ipv6: no LAN side
  else
    bind_lan6(in, t6->index_of(s6), op.role, in6.original);
  Session* s = make_room(in) ? insert(in) : nullptr;
  if (!s) return t6->remove(s6);  // the IPv4 half was refused (counted): the IPv6 half goes too
  s6->svr_ref = ctx_.table.index_of(s) + 1;
  ctx_.counters->add(Counter::ha6_sessions_applied);
}

// Sessions that become ours start their idle clock now, since the peer's
// last activity is all we know.
uint32_t HaFollower::follow_ownership() {
  HaDataplane& ha = ctx_.shared.ha;
  uint32_t gen = ha.ownership_gen.load(std::memory_order_acquire);
  if (gen != ownership_gen_) {  // a new change, or another one mid-sweep: start over
    ownership_gen_ = gen;
    ownership_hand_ = 0;
    following_ = true;
    reoffloading_ = false;  // the takeover it followed is over
    announce_wait_.restart();
  }
  if (!following_) return 0;
  const uint32_t start = ownership_hand_;
  const uint32_t end = std::min(ownership_hand_ + kSlice, ctx_.table.capacity());
  for (; ownership_hand_ < end; ++ownership_hand_) {
    Session& s = *ctx_.table.at(ownership_hand_);
    if (!s.in_use) continue;
    if (ha.peer_owns(s)) {
      if (s.flags & kPeerSession) continue;
      s.flags |= kPeerSession;
      if (announce(s, false) == Announced::no_room) {
        if (announce_wait_.may_wait(ctx_.now_ms)) {
          s.flags &= static_cast<uint8_t>(~kPeerSession);  // ours until it can be said: resume here
          return ownership_hand_ - start;
        }
        ctx_.counters->add(Counter::ha_announce_skipped);
      }
    } else if (s.flags & kPeerSession) {
      s.flags &= static_cast<uint8_t>(~kPeerSession);
      s.last_ms = ctx_.now_ms;
      announce_or_count(s, true);
    }
  }
  uint32_t visited = ownership_hand_ - start;
  if (ownership_hand_ >= ctx_.table.capacity()) {
    if (six_ && !six_->follow(gen, visited)) return visited;  // its IPv6 table next
    following_ = false;
    ha.ownership_seen[ctx_.id].store(gen, std::memory_order_release);
    // A takeover: its established sessions get NIC rules again, from now on (reoffload()).
    reoffloading_ = ha.adopt_peer.load(std::memory_order_acquire);
    reoffload_hand_ = 0;
    reoffload_before_ms_ = ctx_.now_ms + 1;
    if (six_) six_->restart_reoffload(reoffload_before_ms_);
  }
  return visited;
}

Announced HaFollower::announce(Session& s, bool ours) {
  const SessionEventKind kind = ours ? SessionEventKind::update : SessionEventKind::closed;
  rte_ring* mgmt = consumer_ring(EventConsumer::ipfix, kind);
  // Handed back: its NIC rules go too (the peer carries it). Taken over: reoffload() after the sweep.
  rte_ring* offload = ours ? nullptr : consumer_ring(EventConsumer::offload, kind);
  if (!mgmt && !offload) return Announced::unwanted;
  auto ev = announcement<SessionEvent>(s, ours, ctx_.id, ctx_.now_ms);
  const bool six = carries_ipv6(s) && ctx_.svr6;  // and its IPv6 view, on the IPv6 rings
  // Each consumer takes it when its rings have room, whatever the other's: a full offload ring
  // must not keep REST listing a session, nor a stalled mgmt feed keep NIC rules. A retry may
  // tell one twice: the snapshot and the manager ignore a handed_over of a session they lack.
  bool missed = false;
  if (mgmt) {
    rte_ring* mgmt6 = six ? ctx_.shared.event6_ring(ctx_.id) : nullptr;
    if (announce_room(mgmt) && (!mgmt6 || announce_room(mgmt6))) {
      rte_ring_sp_enqueue_elem(mgmt, &ev, sizeof(ev));  // room, and only this worker enqueues
      if (six) ctx_.svr6->post_mgmt(ev.kind, s, ev.reason);
      if (ours) s.updated_ms = ctx_.now_ms;
    } else {
      missed = true;
    }
  }
  if (offload) {
    rte_ring* offload6 = six ? ctx_.shared.offload_event6_ring(ctx_.id) : nullptr;
    if (announce_room(offload) && (!offload6 || announce_room(offload6))) {
      rte_ring_sp_enqueue_elem(offload, &ev, sizeof(ev));
      if (six) ctx_.svr6->post_offload(ev.kind, s, ev.reason);
    } else {
      missed = true;
    }
  }
  return missed ? Announced::no_room : Announced::posted;
}

bool HaFollower::post_established(const Session& s) {
  rte_ring* ring = consumer_ring(EventConsumer::offload, SessionEventKind::established);
  if (!ring) return true;
  const bool six = carries_ipv6(s) && ctx_.svr6;
  rte_ring* ring6 = six ? ctx_.shared.offload_event6_ring(ctx_.id) : nullptr;
  if (!announce_room(ring) || (ring6 && !announce_room(ring6))) return false;
  auto ev = announcement<SessionEvent>(s, true, ctx_.id, ctx_.now_ms);
  ev.kind = SessionEventKind::established;
  rte_ring_sp_enqueue_elem(ring, &ev, sizeof(ev));
  if (six) ctx_.svr6->post_offload(ev.kind, s, ev.reason);
  ctx_.counters->add(Counter::ha_sessions_reoffloaded);
  return true;
}

rte_ring* HaFollower::consumer_ring(EventConsumer c, SessionEventKind kind) const {
  if (!(ctx_.shared.event_kinds[static_cast<size_t>(c)] & event_bit(kind))) return nullptr;
  return ctx_.shared.event_ring(c, ctx_.id);
}

// After a takeover: the sessions taken over that are established, to the offload manager as if
// they had just been established (the dead peer's NIC had their rules), a slice at a time while
// its rings have room beyond the reserve; never within the sweep, which the takeover waits for.
// Taken over: on the peer's waypoint and created before the sweep ended (one made here since
// was posted established as it happened).
uint32_t HaFollower::reoffload() {
  if (!reoffloading_) return 0;
  HaDataplane& ha = ctx_.shared.ha;
  if (!consumer_ring(EventConsumer::offload, SessionEventKind::established) ||
      !ha.adopt_peer.load(std::memory_order_acquire)) {  // handed back meanwhile: nothing left to do
    reoffloading_ = false;
    return 0;
  }
  uint32_t posted = 0;
  const uint32_t end = std::min(reoffload_hand_ + kRepublishSlice, ctx_.table.capacity());
  for (; reoffload_hand_ < end; ++reoffload_hand_) {
    const Session& s = *ctx_.table.at(reoffload_hand_);
    if (!s.in_use || (s.flags & (kEstablished | kPeerSession)) != kEstablished ||
        !ms_before(s.created_ms, reoffload_before_ms_) || !ha.is_peer_address(HaDataplane::waypoint_of(s)))
      continue;
    if (!post_established(s)) return posted;  // resume here next iteration
    ++posted;
  }
  if (reoffload_hand_ >= ctx_.table.capacity()) {
    if (six_ && !six_->reoffload(posted)) return posted;  // its IPv6 table next
    reoffloading_ = false;
  }
  return posted;
}

// Posts an `update` for every session this worker owns, a slice at a time,
// leaving ring room for live events; acknowledges when the sweep is done.
uint32_t HaFollower::republish() {
  HaDataplane& ha = ctx_.shared.ha;
  uint32_t req = ha.republish_req[ctx_.id].load(std::memory_order_acquire);
  if (!republishing_) {
    if (req == republish_seen_) return 0;
    republishing_ = true;
    republish_hand_ = 0;
    republish_seen_ = req;  // a request arriving mid-sweep starts another sweep
  }
  rte_ring* ring = ctx_.shared.event_ring(EventConsumer::ha, ctx_.id);
  if (!ring) return 0;
  uint32_t posted = 0;
  uint32_t end = std::min(republish_hand_ + kRepublishSlice, ctx_.table.capacity());
  for (; republish_hand_ < end; ++republish_hand_) {
    const Session& s = *ctx_.table.at(republish_hand_);
    if (!s.in_use || (s.flags & kPeerSession)) continue;
    if (carries_ipv6(s) && ha.event6_ring(ctx_.id)) continue;  // posted whole by its IPv6 table's sweep (#19)
    if (rte_ring_free_count(ring) <= kRepublishReserve) return posted;  // resume here next iteration
    SessionEvent ev;
    ev.kind = SessionEventKind::update;
    ev.reason = SessionEndReason::none;
    ev.worker = static_cast<uint16_t>(ctx_.id);
    ev.now_ms = ctx_.now_ms;
    ev.session = s;
    if (rte_ring_sp_enqueue_elem(ring, &ev, sizeof(ev)) != 0) return posted;
    ++posted;
    ctx_.counters->add(Counter::ha_sessions_republished);
  }
  if (republish_hand_ >= ctx_.table.capacity()) {
    if (six_ && !six_->republish(republish_seen_, posted)) return posted;  // its IPv6 table next
    republishing_ = false;
    ha.republish_seen[ctx_.id].store(republish_seen_, std::memory_order_release);
  }
  return posted;
}

}  // namespace wp
