// The worker's side of HA for IPv6 sessions; see ha_follower6.h.
#include "dataplane/worker/ha_follower6.h"

#include <rte_ring_elem.h>

#include <algorithm>
#include <iterator>

#include "dataplane/control/neighbor_mac.h"  // ms_before: wrap-safe millisecond order
#include "dataplane/session/events6.h"
#include "dataplane/svr/svr6_lan.h"
#include "dataplane/worker/ha_follower.h"

namespace wp {
namespace {

constexpr unsigned kApply6Burst = 32;

}  // namespace

uint32_t HaFollower6::poll() {
  HaDataplane& ha = ctx_.shared.ha;
  if (ha.inbound6.empty()) return 0;
  PeerSession6Op ops[kApply6Burst];
  const unsigned n =
      rte_ring_sc_dequeue_burst_elem(ha.inbound6[ctx_.id], ops, sizeof(PeerSession6Op), kApply6Burst, nullptr);
  for (unsigned i = 0; i < n; ++i) {
    if (ops[i].role != Svr6Role::none) {
      if (svr_) svr_->apply_svr6(ops[i]);
      continue;
    }
    apply(ops[i]);
  }
  if (n) route6_.count_sessions();
  return n;
}

void HaFollower6::apply(const PeerSession6Op& op) {
  SessionTable6* t = route6_.table();
  if (!t) return ctx_.counters->add(Counter::ha6_apply_table_full);  // no IPv6 table here
  const Session6& in = op.session;
  Session6Ref ref = t->lookup(in.original);
  if (op.kind != PeerSessionOpKind::upsert) {
    const bool peers = op.kind == PeerSessionOpKind::remove || (ref && (ref.session->flags & kPeerSession));
    if (ref && ref.session->uuid == in.uuid && peers) {
      route6_.remove(*ref.session);  // a session of ours leaves its tenant's count
      ctx_.counters->add(Counter::ha6_sessions_removed);
    }
    return;
  }
  if (ref && ref.session->uuid == in.uuid) {
    Session6& s = *ref.session;
    if (ms_before(in.last_ms, s.last_ms)) return ctx_.counters->add(Counter::ha6_stale_ignored);
    const bool was_peers = s.flags & kPeerSession;
    s.last_ms = in.last_ms;
    s.flags = static_cast<uint8_t>((in.flags & ~kModel6Odd) | (s.flags & kModel6Odd));  // its indexes are unchanged
    std::copy(std::begin(in.packets), std::end(in.packets), s.packets);
    std::copy(std::begin(in.bytes), std::end(in.bytes), s.bytes);
    mark_owner(s);
    // Changed hands here rather than in the sweep: announced as follow() would.
    if (was_peers != ((s.flags & kPeerSession) != 0)) announce_or_count(s, was_peers);
    if (was_peers && !(s.flags & kPeerSession)) offload_or_count(s);
    return ctx_.counters->add(Counter::ha6_sessions_applied);
  }
  // Another session on either of its tuples: the newer creation wins.
  for (const FiveTuple6& key : {in.original, in.original.reversed()}) {
    Session6Ref other = t->lookup(key);
    if (!other) continue;
    if (ms_before(in.created_ms, other.session->created_ms)) return ctx_.counters->add(Counter::ha6_stale_ignored);
    if (other.session->svr_ref)  // an IPv6 session over SVR: its carrying session goes with it
      ctx_.remove_session(ctx_.table.at(other.session->svr_ref - 1));
    else
      route6_.remove(*other.session);
    ctx_.counters->add(Counter::sessions_replaced);
  }
  SessionTable6::Refused why = SessionTable6::Refused::none;
  Session6* s = t->insert(in.original, why);
  if (!s)
    return ctx_.counters->add(why == SessionTable6::Refused::full ? Counter::ha6_apply_table_full
                                                                   : Counter::ha6_stale_ignored);
  const uint8_t in_use = s->in_use;
  *s = in;
  s->in_use = in_use;
  set_model6(*s, ctx_.model_gen);  // indexed against the model of the moment (ha/packed_ops6.cc)
  mark_owner(*s);
  if (!(s->flags & kPeerSession)) {  // ours at once
    announce_or_count(*s, true);
    offload_or_count(*s);
  }
  ctx_.counters->add(Counter::ha6_sessions_applied);
}

// Sessions that become ours start their idle clock now (as IPv4's).
bool HaFollower6::follow(uint32_t gen, uint32_t& visited) {
  SessionTable6* t = route6_.table();
  if (!t) return true;
  if (gen != gen_) {  // a new change (or another one mid-sweep): start over
    gen_ = gen;
    gen_hand_ = 0;
    gen_done_ = false;
    announce_wait_.restart();
  }
  if (gen_done_) return true;
  const uint32_t start = gen_hand_;
  const uint32_t end = std::min(gen_hand_ + kSlice, t->capacity());
  for (; gen_hand_ < end; ++gen_hand_) {
    Session6& s = *t->at(gen_hand_);
    if (!s.in_use) continue;
    const bool was_peers = s.flags & kPeerSession;
    mark_owner(s);
    const bool peers = s.flags & kPeerSession;
    if (was_peers == peers) continue;
    if (!peers) {
      s.last_ms = ctx_.now_ms;
      announce_or_count(s, true);
      continue;
    }
    // A hand-back: as IPv4's (HaFollower::follow_ownership), it waits a while for ring room.
    // Over SVR: announced by its carrying session (unwanted here).
    if (route6_.announce(s, false) == Announced::no_room) {
      if (announce_wait_.may_wait(ctx_.now_ms)) {
        s.flags = static_cast<uint8_t>(s.flags & ~kPeerSession);  // ours until it can be said: resume here
        break;
      }
      ctx_.counters->add(Counter::ha_announce_skipped);
    }
  }
  visited += gen_hand_ - start;
  if (gen_hand_ < t->capacity()) return false;
  gen_done_ = true;
  return true;
}

bool HaFollower6::reoffload(uint32_t& posted) {
  SessionTable6* t = route6_.table();
  if (!t || !ctx_.shared.offload_event6_ring(ctx_.id)) return true;
  const uint32_t end = std::min(reoffload_hand_ + kRepublishSlice, t->capacity());
  for (; reoffload_hand_ < end; ++reoffload_hand_) {
    Session6& s = *t->at(reoffload_hand_);
    if (!s.in_use || (s.flags & (kPeer6Copy | kPeerSession | kReverseSeen)) != (kPeer6Copy | kReverseSeen) ||
        !ms_before(s.created_ms, before_ms_))  // one made here since was posted established as it happened
      continue;
    if (!route6_.reoffload(s)) return false;  // no room: resume here
    ++posted;
  }
  return reoffload_hand_ >= t->capacity();
}

bool HaFollower6::republish(uint32_t req, uint32_t& posted) {
  SessionTable6* t = route6_.table();
  rte_ring* ring = ctx_.shared.ha.event6_ring(ctx_.id);
  if (!t || !ring) return true;
  if (req != req_) {
    req_ = req;
    req_hand_ = 0;
    req_done_ = false;
  }
  if (req_done_) return true;
  const uint32_t end = std::min(req_hand_ + kRepublishSlice, t->capacity());
  for (; req_hand_ < end; ++req_hand_) {
    const Session6& s = *t->at(req_hand_);
    if (!s.in_use || (s.flags & kPeerSession)) continue;
    if (rte_ring_free_count(ring) <= kRepublishReserve) return false;  // resume here next iteration
    if (s.svr_ref) {  // over SVR: posted whole with its carrying session, unless that one is the peer's
      const Session& carrier = *ctx_.table.at(s.svr_ref - 1);
      if (carrier.flags & kPeerSession || !ctx_.svr6) continue;
      if (!ctx_.svr6->post_ha(SessionEventKind::update, carrier)) return false;
      ++posted;
      ctx_.counters->add(Counter::ha6_sessions_republished);
      continue;
    }
    HaSession6Event hev;
    Session6Event& ev = hev.ev;
    ev.kind = SessionEventKind::update;
    ev.reason = SessionEndReason::none;
    ev.worker = static_cast<uint16_t>(ctx_.id);
    ev.now_ms = ctx_.now_ms;
    ev.session = s;
    if (rte_ring_sp_enqueue_elem(ring, &hev, sizeof(hev)) != 0) return false;
    ++posted;
    ctx_.counters->add(Counter::ha6_sessions_republished);
  }
  if (req_hand_ < t->capacity()) return false;
  req_done_ = true;
  return true;
}

}  // namespace wp
