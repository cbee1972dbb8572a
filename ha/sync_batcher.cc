// Batching and resync chunk accounting; see sync_batcher.h.
#include "ha/sync_batcher.h"

namespace wp::ha {

std::string MessageStamp::finish(pb::HaMessage& m) {
  m.set_protocol(kHaProtocol);
  m.set_node_id(node_id_);
  m.set_incarnation(incarnation_);
  m.set_seq(++seq_);
  return m.SerializeAsString();
}

pb::SessionOp* SessionBatcher::add(pb::SessionOp::Kind kind, uint64_t event_epoch_ms) {
  if (ops_.empty() || event_epoch_ms < oldest_ms_) oldest_ms_ = event_epoch_ms;
  pb::SessionOp* op = ops_.Add();
  op->set_kind(kind);
  return op;
}

void SessionBatcher::reset() {
  ops_.Clear();
  bytes_ = 0;
  oldest_ms_ = 0;
}

void SessionBatcher::take_batch(pb::HaMessage& msg) {
  msg.set_oldest_event_ms(oldest_ms_);
  msg.mutable_batch()->mutable_ops()->Swap(&ops_);
  reset();
}

void SessionBatcher::take_chunk(pb::HaMessage& msg, uint64_t resync_id, uint32_t chunk_seq) {
  msg.set_oldest_event_ms(oldest_ms_);
  pb::ResyncChunk* c = msg.mutable_resync_chunk();
  c->set_resync_id(resync_id);
  c->set_chunk_seq(chunk_seq);
  c->mutable_ops()->Swap(&ops_);
  reset();
}

void ResyncTracker::begin(uint64_t resync_id) {
  active_ = true;
  broken_ = false;
  id_ = resync_id;
  next_seq_ = 0;
  sessions_ = 0;
}

ResyncTracker::Result ResyncTracker::chunk(uint64_t resync_id, uint32_t chunk_seq, size_t sessions) {
  if (!active_ || resync_id != id_) begin(resync_id);
  if (chunk_seq != next_seq_) {
    broken_ = true;
    return Result::gap;
  }
  ++next_seq_;
  sessions_ += sessions;
  return broken_ ? Result::gap : Result::ok;
}

ResyncTracker::Result ResyncTracker::done(uint64_t resync_id, uint32_t chunks, uint64_t sessions) {
  if (!active_ || resync_id != id_) {
    if (chunks != 0) return Result::unexpected;  // chunks of this resync never arrived
    begin(resync_id);
  }
  active_ = false;
  if (broken_ || chunks != next_seq_ || sessions != sessions_) return Result::gap;
  return Result::ok;
}

}  // namespace wp::ha
