// , the worker's side: peer sessions into this worker's own table,
// ownership changes, republishing (ha_dataplane.h, docs/architecture.md § HA).
//
// Only the owning worker writes its table, so the HA thread's decoded peer
// sessions arrive here through an SPSC ring. An upsert for a session we hold
// under the same UUID replaces its state unless it is older than ours (the
// version is the session's last activity time, already on our clock); a
// different session on the same keys yields to the newer one. Applying never
// posts events: the peer already knows, and echoing would loop.
#include <rte_ring_elem.h>

#include "dataplane/worker/worker.h"

namespace wp {
namespace {

constexpr unsigned kApplyBurst = 64;
// Slots a republish step visits per loop iteration, and ring room it leaves
// for live events so a resync never crowds out new sessions.
constexpr uint32_t kRepublishStep = 4096;
constexpr unsigned kRepublishReserve = 256;

bool older(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) < 0; }

}  // namespace

uint32_t Worker::ha_poll() {
  HaDataplane& ha = shared_.ha;
  uint32_t done = 0;
  PeerSessionOp ops[kApplyBurst];
  unsigned n = rte_ring_sc_dequeue_burst_elem(ha.inbound[id_], ops, sizeof(PeerSessionOp), kApplyBurst, nullptr);
  for (unsigned i = 0; i < n; ++i) apply_peer_session(ops[i]);
  done += n;
  if (ha.ownership_gen.load(std::memory_order_acquire) != ownership_seen_) follow_ownership();
  done += republish_some();
  if (n) counters_->sessions_active.store(table_.size(), std::memory_order_relaxed);
  return done;
}

void Worker::apply_peer_session(const PeerSessionOp& op) {
  const Session& in = op.session;
  SessionRef ref = table_.lookup(in.key_a());
  if (op.kind == PeerSessionOpKind::remove) {
    if (ref && ref.session->uuid == in.uuid) {
      remove_session(ref.session);  // frees its key slots
      counters_->add(Counter::ha_sessions_removed);
    }
    return;
  }
  if (ref && ref.session->uuid == in.uuid) {
    Session& s = *ref.session;
    if (older(in.last_ms, s.last_ms)) {
      counters_->add(Counter::ha_stale_ignored);
      return;
    }
    if (s.key_b() == in.key_b()) {                         // same bindings: update in place, keys stay valid
      uint32_t slots[2] = {s.key_slot[0], s.key_slot[1]};  // ours, not the peer's
      s = in;
      s.in_use = 1;
      adopt_peer_crypto(s, slots);
      s.flags = static_cast<uint8_t>(shared_.ha.peer_owns(s) ? s.flags | kPeerSession : s.flags & ~kPeerSession);
      counters_->add(Counter::ha_sessions_applied);
      return;
    }
    remove_session(&s);
    ref = {};
  }
  // Sessions on either key that are not this one: the newer creation wins.
  for (const FiveTuple& key : {in.key_a(), in.key_b()}) {
    SessionRef other = table_.lookup(key);
    if (!other) continue;
    if (older(in.created_ms, other.session->created_ms)) {
      counters_->add(Counter::ha_stale_ignored);
      return;
    }
    remove_session(other.session);
    counters_->add(Counter::sessions_replaced);
  }
  Session* s = table_.allocate();
  if (!s) {
    counters_->add(Counter::ha_apply_table_full);
    return;
  }
  *s = in;
  s->in_use = 1;
  s->flags = static_cast<uint8_t>(shared_.ha.peer_owns(*s) ? s->flags | kPeerSession : s->flags & ~kPeerSession);
  const uint32_t none[2] = {kNoKeySlot, kNoKeySlot};
  adopt_peer_crypto(*s, none);
  if (!table_.insert_unique(s)) {
    end_session_crypto(*s);
    table_.release(s);
    counters_->add(Counter::ha_stale_ignored);
    return;
  }
  counters_->add(Counter::ha_sessions_applied);
}

// A takeover (or hand-back) changed who ages the peer's sessions: walk the
// whole table once. Sessions that become ours start their idle clock now,
// since the peer's last activity is all we know.
void Worker::follow_ownership() {
  uint32_t gen = shared_.ha.ownership_gen.load(std::memory_order_acquire);
  for (uint32_t i = 0; i < table_.capacity(); ++i) {
    Session& s = *table_.at(i);
    if (!s.in_use) continue;
    bool peer = shared_.ha.peer_owns(s);
    if (peer)
      s.flags |= kPeerSession;
    else if (s.flags & kPeerSession) {
      s.flags &= static_cast<uint8_t>(~kPeerSession);
      s.last_ms = now_ms_;
    }
  }
  ownership_seen_ = gen;
  shared_.ha.ownership_seen[id_].store(gen, std::memory_order_release);
}

// Posts an `update` for every session this worker owns, a step at a time,
// leaving ring room for live events; acknowledges when the sweep is done.
uint32_t Worker::republish_some() {
  HaDataplane& ha = shared_.ha;
  uint32_t req = ha.republish_req[id_].load(std::memory_order_acquire);
  if (!republishing_) {
    if (req == republish_seen_) return 0;
    republishing_ = true;
    republish_hand_ = 0;
    republish_seen_ = req;  // a request arriving mid-sweep starts another sweep
  }
  rte_ring* ring = shared_.event_ring(EventConsumer::ha, id_);
  if (!ring) return 0;
  uint32_t posted = 0;
  uint32_t end =
      republish_hand_ + kRepublishStep < table_.capacity() ? republish_hand_ + kRepublishStep : table_.capacity();
  for (; republish_hand_ < end; ++republish_hand_) {
    const Session& s = *table_.at(republish_hand_);
    if (!s.in_use || (s.flags & kPeerSession)) continue;
    if (rte_ring_free_count(ring) <= kRepublishReserve) return posted;  // resume here next iteration
    SessionEvent ev;
    ev.kind = SessionEventKind::update;
    ev.reason = SessionEndReason::none;
    ev.worker = static_cast<uint16_t>(id_);
    ev.now_ms = now_ms_;
    ev.session = s;
    if (rte_ring_sp_enqueue_elem(ring, &ev, sizeof(ev)) != 0) return posted;
    ++posted;
    counters_->add(Counter::ha_sessions_republished);
  }
  if (republish_hand_ >= table_.capacity()) {
    republishing_ = false;
    ha.republish_seen[id_].store(republish_seen_, std::memory_order_release);
  }
  return posted;
}

}  // namespace wp
