// The HA thread's logic; see ha_node.h.
#include "ha/ha_node.h"

#include <rte_ring_elem.h>

#include <algorithm>
#include <ctime>

namespace wp::ha {
namespace {

using C = HaStatus::Counter;
// A node's incarnation: its start time in microseconds, so a restarted node's
// messages always outrank those of its previous life.
uint64_t incarnation_now() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return uint64_t(ts.tv_sec) * 1000000 + uint64_t(ts.tv_nsec) / 1000;
}

}  // namespace

HaNode::HaNode(DataplaneShared& shared, HaSettings settings, Connect connect)
    : shared_(shared),
      settings_(settings),
      connect_(std::move(connect)),
      clock_(DataplaneClock::now()),
      stamp_(settings.node_id, incarnation_now()),
      encoder_(shared, status_, clock_,
               SyncEncoder::Settings{settings.batch_ms, settings.limits, settings.compress, settings.sender_queue_messages}),
      backlog_(shared.workers, settings.max_backlog_ops),
      backlog6_(shared.workers, settings.max_backlog_ops),
      ledger_(settings.max_unacked_ops),
      in_block_(new char[kInBlock]) {
  drops_seen_.assign(shared.workers, 0);
  republish_target_.assign(shared.workers, 0);
  // Until the pair decides, answer for nothing: a restarted node must not
  // pull its addresses back before it holds the sessions behind them.
  shared_.ha.own_held.store(false);
  shared_.ha.peer_taken.store(false);
  publish_view();
  if (settings_.sender_thread) encoder_.start();
}

HaNode::~HaNode() { encoder_.stop(); }


uint32_t HaNode::poll(uint64_t now_ms) {
  now_ms_ = now_ms;
  uint32_t work = 0;
  if (!transport_ && now_ms - last_connect_try_ms_ >= settings_.reconnect_ms) {
    last_connect_try_ms_ = now_ms;
    std::string error;
    transport_ = connect_(error);
    if (!transport_) {
      if (state_ != State::connecting) ha_log(error);
      state_ = State::connecting;
    } else {
      ha_log("joined the CPG group as node " + std::to_string(transport_->local_node()));
      if (transport_->local_node() != settings_.node_id && transport_->local_node() != 0)
        ha_log("warning: corosync says this is node " + std::to_string(transport_->local_node()) + ", ha.node_id is " +
            std::to_string(settings_.node_id));
    }
  }
  if (transport_ && !transport_->dispatch(*this)) transport_lost();
  send_ack();
  work += backlog_.push(shared_.ha.inbound);
  work += backlog6_.push(shared_.ha.inbound6);
  watch_drops();
  encoder_.set_peer_present(peer_present_);
  if (!encoder_.threaded()) work += encoder_.poll(now_ms);
  work += take_encoded();
  work += pump_ike();
  step_resync_out();
  if (peer_present_ && keys_sent_for_ != &model()) send_keys();  // a commit may have rotated a pair key
  work += flush_outbox();
  step_quorum();
  step_defense();
  step_takeover();
  step_claim();
  check_split_brain();
  publish_lag();
  return work;
}

// --- outgoing: events -> batches -> CPG ---------------------------------------

// #17: what the encoder packed (sync_encoder.h), stamped in the order taken:
// sequence numbers follow the queue, so the peer's cumulative Ack is right.
uint32_t HaNode::take_encoded() {
  uint32_t n = 0;
  std::unique_ptr<EncodedMessage> e;
  while (outbox_bytes_ < settings_.max_outbox_bytes && encoder_.take(e)) {
    ++n;
    if (e->kind == EncodedMessage::Kind::resync_done) {
      if (!resync_out_active_ || e->resync_id != resync_out_id_) continue;  // a resync since abandoned
      pb::HaMessage m;
      pb::ResyncDone* d = m.mutable_resync_done();
      d->set_resync_id(resync_out_id_);
      d->set_chunks(e->chunks);
      d->set_sessions(e->sessions);
      send(m);
      resync_out_active_ = resync_out_finishing_ = false;
      resync_out_chunks_ = e->chunks;
      resync_out_sessions_ = e->sessions;
      ha_log("resync " + std::to_string(resync_out_id_) + " sent: " + std::to_string(e->sessions) + " sessions in " +
          std::to_string(e->chunks) + " chunks");
      continue;
    }
    status_.add(C::sessions_sent, e->sessions);
    if (e->raw_bytes) {
      status_.add(C::compressed_messages);
      status_.add(C::compressed_raw_bytes, e->raw_bytes);
    }
    pb::HaMessage header;
    header.set_epoch(epoch_);
    std::string bytes = stamp_.finish(header);
    bytes += e->body;  // the body after the envelope: one HaMessage (protobuf merges the two)
    ledger_.sent({header.seq(), e->oldest_ms, e->sessions, bytes});
    outbox_bytes_ += bytes.size();
    outbox_.push_back(std::move(bytes));
  }
  return n;
}

void HaNode::send(pb::HaMessage& m, bool track) {
  m.set_epoch(epoch_);
  size_t ops = 0;
  if (track)
    ops = m.has_batch() ? static_cast<size_t>(m.batch().ops_size()) + packed_count(m.batch().packed())
                        : static_cast<size_t>(m.resync_chunk().ops_size()) + packed_count(m.resync_chunk().packed());
  if (settings_.compress && compress_body(m, codec_)) {
    status_.add(C::compressed_messages);
    status_.add(C::compressed_raw_bytes, codec_.raw.size());
  }
  std::string bytes = stamp_.finish(m);
  if (track) ledger_.sent({m.seq(), m.oldest_event_ms(), ops, bytes});
  outbox_bytes_ += bytes.size();
  outbox_.push_back(std::move(bytes));
}

uint32_t HaNode::flush_outbox() {
  uint32_t sent = 0;
  if (!transport_) {
    // Nobody to send to: a rejoin starts with a full resync anyway.
    outbox_.clear();
    outbox_bytes_ = 0;
    return 0;
  }
  while (!outbox_.empty()) {
    Transport::SendResult r = transport_->send(outbox_.front());
    if (r == Transport::SendResult::try_again) {
      status_.add(C::send_retries);
      break;  // flow control: keep it, retry on the next pass
    }
    if (r == Transport::SendResult::failed) {
      transport_lost();
      break;
    }
    status_.add(C::messages_sent);
    status_.add(C::bytes_sent, outbox_.front().size());
    outbox_bytes_ -= outbox_.front().size();
    outbox_.pop_front();
    ++sent;
  }
  return sent;
}

// A worker's full event ring lost something: have it post its whole table
// again as updates (the affected range is that worker's sessions).
void HaNode::watch_drops() {
  for (uint32_t w = 0; w < shared_.workers; ++w) {
    uint64_t d = shared_.counters[w].get(Counter::ha_events_dropped);
    if (d == drops_seen_[w]) continue;
    status_.add(C::event_drops_seen, d - drops_seen_[w]);
    drops_seen_[w] = d;
    if (!peer_present_) continue;
    shared_.ha.republish_req[w].fetch_add(1, std::memory_order_release);
    status_.add(C::republish_requests);
  }
}

void HaNode::start_resync_out() {
  resync_out_active_ = true;
  resync_out_finishing_ = false;
  resync_out_id_ = (stamp_.incarnation() << 16) ^ (now_ms_ & 0xffff) ^ resync_out_chunks_;
  resync_out_chunks_ = 0;
  resync_out_sessions_ = 0;
  encoder_.begin_resync(resync_out_id_);  // before the sweeps: their updates go into its chunks
  for (uint32_t w = 0; w < shared_.workers; ++w)
    republish_target_[w] = shared_.ha.republish_req[w].fetch_add(1, std::memory_order_acq_rel) + 1;
  status_.add(C::resyncs_sent);
  request_ike_dump();
  send_keys();
  ha_log("sending full state to the peer (resync " + std::to_string(resync_out_id_) + ")");
}

void HaNode::step_resync_out() {
  if (!resync_out_active_ || resync_out_finishing_) return;
  for (uint32_t w = 0; w < shared_.workers; ++w)
    if (static_cast<int32_t>(shared_.ha.republish_seen[w].load(std::memory_order_acquire) - republish_target_[w]) < 0)
      return;
  if (!ike_dump_sent()) return;
  // Every worker finished its sweep: the encoder drains what they posted,
  // sends the last chunk and then the counts (take_encoded sends the Done).
  encoder_.finish_resync();
  resync_out_finishing_ = true;
}

void HaNode::send_keys() {
  pb::HaMessage m;
  pb::KeyUpdate* k = m.mutable_keys();
  keys_sent_for_ = &model();
  for (const PeerModel& p : keys_sent_for_->peers) {
    const KeyVersions held = p.keys.versions();
    for (uint8_t i = 0; i < held.n; ++i) {
      auto* e = k->add_keys();
      e->set_peer(p.name);
      e->set_version(held.v[i]);
      e->set_key_id(key_id(p.keys.find(held.v[i])->mac));
    }
  }
  send(m);
}

// Both nodes must hold the same versions of each pair key (they rotate
// together: one config pushed to both); a version only one holds, or that
// differs, is reported once per message.
void HaNode::check_keys(const pb::KeyUpdate& k) {
  for (const PeerModel& p : model().peers) {
    uint32_t theirs = 0;
    bool differ = false;
    for (const auto& e : k.keys()) {
      if (e.peer() != p.name) continue;
      ++theirs;
      const PairKey* mine = p.keys.find(e.version() ? e.version() : 1);
      differ |= !mine || key_id(mine->mac) != e.key_id();
    }
    if (theirs == 0 || (!differ && theirs == p.keys.size())) continue;
    status_.add(C::key_mismatches);
    ha_log("pair keys for peer \"" + p.name + "\" differ between the HA nodes (versions or keys): a failover would " +
        "fail HMAC checks; push the same peer keys to both nodes");
  }
}

// --- incoming -----------------------------------------------------------------

// Our own message, delivered back in order: the sync lag.
void HaNode::note_own(const MessageHeader& h) {
  if (!h.oldest_event_ms || (h.body != pb::HaMessage::kBatch && h.body != pb::HaMessage::kResyncChunk &&
                             h.body != pb::HaMessage::kCompressed))
    return;
  uint64_t lag = now_ms_ > h.oldest_event_ms ? now_ms_ - h.oldest_event_ms : 0;
  status_.sync_lag_ms.store(lag, std::memory_order_relaxed);
  if (lag > status_.sync_lag_max_ms.load(std::memory_order_relaxed))
    status_.sync_lag_max_ms.store(lag, std::memory_order_relaxed);
}

void HaNode::on_message(const Member& from, const void* data, size_t len) {
  MessageHeader h;
  if (!peek_header(data, len, h)) {
    status_.add(C::stale_messages);
    return;
  }
  if (h.protocol != kHaProtocol) {  // #17: a peer of another version (protocol 1: before packed records)
    status_.add(C::stale_messages);
    status_.add(C::protocol_mismatch);
    if (now_ms_ - last_protocol_log_ms_ >= 10000 || last_protocol_log_ms_ == 0) {
      last_protocol_log_ms_ = now_ms_;
      ha_log("ignoring messages of HA protocol " + std::to_string(h.protocol) + " from node " +
             std::to_string(from.node) + " (this node speaks " + std::to_string(kHaProtocol) +
             "): run the same Waypoint version on both nodes");
    }
    return;
  }
  if (h.node_id == settings_.node_id) return note_own(h);  // its sessions are not decoded again
  // Decoded on an arena (first block reused): no heap allocation per session.
  google::protobuf::ArenaOptions ao;
  ao.initial_block = in_block_.get();
  ao.initial_block_size = kInBlock;
  google::protobuf::Arena arena(ao);
  pb::HaMessage& m = *google::protobuf::Arena::CreateMessage<pb::HaMessage>(&arena);
  if (!m.ParseFromArray(data, static_cast<int>(len))) {
    status_.add(C::stale_messages);
    return;
  }
  if (!expand_body(m, codec_)) {  // #17: a corrupt or oversized LZ4 body
    status_.add(C::stale_messages);
    status_.add(C::compressed_bad);
    return;
  }
  status_.add(C::messages_received);
  status_.add(C::bytes_received, len);
  if (m.incarnation() < peer_incarnation_) {  // from a previous life of the peer
    status_.add(C::stale_messages);
    return;
  }
  if (m.incarnation() > peer_incarnation_) {
    peer_incarnation_ = m.incarnation();
    resync_in_ = ResyncTracker{};
  }
  epoch_ = std::max(epoch_, m.epoch());
  switch (m.body_case()) {
    case pb::HaMessage::kBatch:
      if (!apply_packed(m.batch().packed(), from) || !apply_packed6(m.batch().packed6(), from) ||
          !apply_packed_svr6(m.batch().packed_svr6(), from))
        break;
      apply_ops(m.batch().ops());
      note_ack_due(m);
      break;
    case pb::HaMessage::kAck:
      status_.add(C::acks_received);
      if (m.ack().incarnation() == stamp_.incarnation()) ledger_.acked(m.ack().seq());
      break;
    case pb::HaMessage::kKeys: check_keys(m.keys()); break;
    case pb::HaMessage::kResyncRequest:
      status_.add(C::resync_requests);
      if (m.resync_request().target_node() == settings_.node_id) start_resync_out();
      break;
    case pb::HaMessage::kResyncChunk: {
      const pb::ResyncChunk& c = m.resync_chunk();
      // a chunk missing: the tracker sees the gap
      if (!apply_packed(c.packed(), from) || !apply_packed6(c.packed6(), from) ||
          !apply_packed_svr6(c.packed_svr6(), from))
        break;
      if (resync_in_.chunk(c.resync_id(), c.chunk_seq(),
                           static_cast<size_t>(c.ops_size()) + packed_count(c.packed()) + packed_count(c.packed6()) +
                               packed_count(c.packed_svr6())) !=
          ResyncTracker::Result::ok)
        status_.add(C::resync_gaps);
      apply_ops(c.ops());
      note_ack_due(m);
      break;
    }
    case pb::HaMessage::kResyncDone: {
      const pb::ResyncDone& d = m.resync_done();
      if (resync_in_.done(d.resync_id(), d.chunks(), d.sessions()) != ResyncTracker::Result::ok) {
        status_.add(C::resync_gaps);
        ha_log("resync from node " + std::to_string(from.node) + " incomplete; asking again");
        pb::HaMessage req;
        req.mutable_resync_request()->set_target_node(from.node);
        send(req);
        begin_reconcile();
        break;
      }
      status_.add(C::resyncs_received);
      status_.last_resync_sessions.store(d.sessions(), std::memory_order_relaxed);
      reconcile();
      resync_in_complete_ = true;
      claim_pending_ = true;
      break;
    }
    case pb::HaMessage::kTakeback: release_peer_addresses(m.epoch()); break;
    case pb::HaMessage::kIkeSync: take_ike(m.ike_sync()); break;
    default: status_.add(C::stale_messages); break;
  }
}

// --- acknowledged replication (replication_ledger.h) ---------------------------

// Decoded and queued to the owning workers (or counted as overflow: then the
// peer's re-send or resync is what repairs it) means held.
void HaNode::note_ack_due(const pb::HaMessage& m) {
  ack_due_ = true;
  ack_incarnation_ = m.incarnation();
  ack_seq_ = m.seq();
}

// One cumulative Ack for everything delivered so far, at most every
// ack_interval_ms: each Ack is a totally ordered CPG message that competes
// with the peer's batches for the token, so one per batch would halve the
// sync rate (bench_ha).
void HaNode::send_ack() {
  if (!ack_due_ || !transport_ || now_ms_ - last_ack_ms_ < settings_.ack_interval_ms) return;
  ack_due_ = false;
  last_ack_ms_ = now_ms_;
  pb::HaMessage m;
  m.mutable_ack()->set_incarnation(ack_incarnation_);
  m.mutable_ack()->set_seq(ack_seq_);
  send(m);
  status_.add(C::acks_sent);
}

// The pair re-formed: what the peer never acknowledged goes first, as live
// batches with new sequence numbers (the receiver ignores what it already
// holds: records carry their version).
void HaNode::resend_unacked() {
  std::deque<ReplicationLedger::Message> unacked = ledger_.take_unacked();
  uint64_t sessions = 0;
  for (ReplicationLedger::Message& u : unacked) {
    pb::HaMessage old;
    if (!old.ParseFromString(u.bytes) || !expand_body(old, codec_)) continue;
    pb::HaMessage m;
    auto* ops = m.mutable_batch()->mutable_ops();
    ops->Swap(old.has_batch() ? old.mutable_batch()->mutable_ops() : old.mutable_resync_chunk()->mutable_ops());
    pb::PackedOps* packed = m.mutable_batch()->mutable_packed();
    packed->Swap(old.has_batch() ? old.mutable_batch()->mutable_packed() : old.mutable_resync_chunk()->mutable_packed());
    if (packed->records().empty()) m.mutable_batch()->clear_packed();
    // #19: the IPv6 bodies go with it (routed sessions, and those over SVR).
    pb::PackedOps* packed6 = m.mutable_batch()->mutable_packed6();
    packed6->Swap(old.has_batch() ? old.mutable_batch()->mutable_packed6() : old.mutable_resync_chunk()->mutable_packed6());
    if (packed6->records().empty()) m.mutable_batch()->clear_packed6();
    pb::PackedOps* svr6 = m.mutable_batch()->mutable_packed_svr6();
    svr6->Swap(old.has_batch() ? old.mutable_batch()->mutable_packed_svr6()
                               : old.mutable_resync_chunk()->mutable_packed_svr6());
    if (svr6->records().empty()) m.mutable_batch()->clear_packed_svr6();
    m.set_oldest_event_ms(u.oldest_ms);
    sessions += static_cast<uint64_t>(ops->size()) + packed_count(*packed) + packed_count(m.batch().packed6()) +
                packed_count(m.batch().packed_svr6());
    send(m, true);
  }
  if (!sessions) return;
  status_.add(C::sessions_resent, sessions);
  ha_log("re-sending " + std::to_string(sessions) + " session ops the peer never acknowledged");
}

void HaNode::publish_lag() {
  status_.replication_lag_sessions.store(ledger_.unacked_ops(), std::memory_order_relaxed);
  status_.replication_lag_ms.store(ledger_.lag_ms(now_ms_), std::memory_order_relaxed);
  status_.unacked_forgotten.store(ledger_.forgotten_ops(), std::memory_order_relaxed);
}

// --- reconcile on resync ----------------------------------------------------------

void HaNode::note_peer_copy(bool remove, const Session& s) {
  const SessionUuid& uuid = s.uuid;
  if (remove) {
    peer_copies_.erase(uuid);
    return;
  }
  if (collecting_) resync_listed_.insert(uuid);
  // #17: sized once for a large sync (rehashing a node map was ~9 % of the receiver's HA thread).
  const size_t reserve = std::min(settings_.max_backlog_ops, kPeerCopiesReserve);
  if (peer_copies_.bucket_count() < reserve) peer_copies_.reserve(reserve);
  if (peer_copies_.size() < settings_.max_backlog_ops || peer_copies_.count(uuid))
    peer_copies_.insert_or_assign(uuid, PeerCopy{s.original, s.out_rev.tuple});
}

// The peer is about to send its full state: list what it sends from now on.
void HaNode::begin_reconcile() {
  collecting_ = true;
  resync_listed_.clear();
}

// A complete resync: the copies it did not list were closed at the peer
// (a lost `closed` event, or a delete that never arrived) and go now, not
// when they age out. Workers remove only what is still the peer's to age.
void HaNode::reconcile() {
  if (!collecting_) return;
  collecting_ = false;
  uint64_t stale = 0;
  for (auto it = peer_copies_.begin(); it != peer_copies_.end();) {
    if (resync_listed_.count(it->first)) {
      ++it;
      continue;
    }
    PeerSessionOp p{};
    p.kind = PeerSessionOpKind::reconcile;
    p.session.original = it->second.original;
    p.session.out_rev.tuple = it->second.out_rev;
    p.session.uuid = it->first;
    if (!backlog_.add(owner_worker(p.session, shared_.workers), p, shared_.ha.inbound)) status_.add(C::inbound_overflow);
    it = peer_copies_.erase(it);
    ++stale;
  }
  resync_listed_.clear();
  status_.add(C::sessions_reconciled, stale);
  if (stale) ha_log("resync reconciled: " + std::to_string(stale) + " stale peer session(s) removed");
}

void HaNode::apply_ops(const google::protobuf::RepeatedPtrField<pb::SessionOp>& ops) {
  const RouterModel& rm = model();
  std::string error;
  HaStatus::RecentBatch recent;  // #17: noted once per body
  for (const pb::SessionOp& op : ops) {
    PeerSessionOp p{};
    const bool tunnel = !op.session().out_fwd().tunnel().empty() || !op.session().out_rev().tunnel().empty();
    if (!decode_session(op.session(), rm, clock_, p.session, error, shared_.fib.load(std::memory_order_acquire),
                        shared_.fib6.load(std::memory_order_acquire))) {
      status_.add(C::sessions_rejected);
      if (tunnel) status_.add(C::tunnel_sessions_rejected);
      if (status_.get(C::sessions_rejected) <= 10) ha_log("peer session rejected: " + error);
      continue;
    }
    p.kind = op.kind() == pb::SessionOp::DELETE ? PeerSessionOpKind::remove : PeerSessionOpKind::upsert;
    status_.add(C::sessions_received);
    if (tunnel) status_.add(C::tunnel_sessions_received);
    note_peer_copy(p.kind == PeerSessionOpKind::remove, p.session);
    if (p.kind == PeerSessionOpKind::upsert) recent.add(p.session.uuid.data());
    // Workers are far behind: the op is dropped and counted.
    if (!backlog_.add(owner_worker(p.session, shared_.workers), p, shared_.ha.inbound)) status_.add(C::inbound_overflow);
  }
  status_.note_uuids(false, recent);
}

// #17: the packed records of a batch or chunk (packed_ops.h). A body of the
// wrong shape is refused whole (not acknowledged: the peer's re-send or
// resync repairs it); a record that cannot become a session here is
// rejected alone, as with protobuf ops.
bool HaNode::apply_packed(const pb::PackedOps& packed, const Member& from) {
  if (packed.records().empty() && packed.format() == 0) return true;  // none in this message
  std::string error;
  if (!packed_in_.open(packed, error)) {
    status_.add(C::stale_messages);
    status_.add(C::packed_bad);
    if (status_.get(C::packed_bad) <= 10) ha_log("message from node " + std::to_string(from.node) + " refused: " + error);
    return false;
  }
  const RouterModel& rm = model();
  const FibTable* fib = shared_.fib.load(std::memory_order_acquire);
  const FibTable6* fib6 = shared_.fib6.load(std::memory_order_acquire);  // legs to peers' IPv6 waypoints
  HaStatus::RecentBatch recent;  // #17: noted once per body
  for (size_t i = 0; i < packed_in_.size(); ++i) {
    PeerSessionOp p{};
    PackedKind kind;
    const bool tunnel = packed_in_.has_tunnel_leg(i);
    if (!packed_in_.decode(i, rm, clock_, fib, kind, p.session, error, -1, fib6)) {
      status_.add(C::sessions_rejected);
      if (tunnel) status_.add(C::tunnel_sessions_rejected);
      if (status_.get(C::sessions_rejected) <= 10) ha_log("peer session rejected: " + error);
      continue;
    }
    p.kind = kind == PackedKind::remove ? PeerSessionOpKind::remove : PeerSessionOpKind::upsert;
    status_.add(C::sessions_received);
    if (tunnel) status_.add(C::tunnel_sessions_received);
    note_peer_copy(p.kind == PeerSessionOpKind::remove, p.session);
    if (p.kind == PeerSessionOpKind::upsert) recent.add(p.session.uuid.data());
    if (!backlog_.add(owner_worker(p.session, shared_.workers), p, shared_.ha.inbound)) status_.add(C::inbound_overflow);
  }
  status_.note_uuids(false, recent);
  return true;
}

// #19: the peer's routed IPv6 sessions, to their owner here by affinity_class6.
bool HaNode::apply_packed6(const pb::PackedOps& packed, const Member& from) {
  if (packed.records().empty() && packed.format() == 0) return true;  // none in this message
  std::string error;
  if (!packed6_in_.open(packed, error)) {
    status_.add(C::stale_messages);
    status_.add(C::packed6_bad);
    if (status_.get(C::packed6_bad) <= 10) ha_log("message from node " + std::to_string(from.node) + " refused: " + error);
    return false;
  }
  if (shared_.ha.inbound6.empty()) {  // this node does not route IPv6: nowhere to put them
    status_.add(C::sessions6_rejected, packed6_in_.size());
    return true;
  }
  const RouterModel& rm = model();
  const FibTable6* fib6 = shared_.fib6.load(std::memory_order_acquire);  // FRR's IPv6 routes beside the config's
  HaStatus::RecentBatch recent;  // #17: noted once per body
  for (size_t i = 0; i < packed6_in_.size(); ++i) {
    PeerSession6Op p{};
    PackedKind kind;
    if (!packed6_in_.decode(i, rm, clock_, kind, p.session, error, fib6)) {
      status_.add(C::sessions6_rejected);
      if (status_.get(C::sessions6_rejected) <= 10) ha_log("peer IPv6 session rejected: " + error);
      continue;
    }
    p.kind = kind == PackedKind::remove ? PeerSessionOpKind::remove : PeerSessionOpKind::upsert;
    status_.add(C::sessions6_received);
    if (p.kind == PeerSessionOpKind::upsert) recent.add(p.session.uuid.data());
    const uint32_t owner = owner_of_class(affinity_class6(p.session.original), shared_.workers);
    if (!backlog6_.add(owner, p, shared_.ha.inbound6)) status_.add(C::inbound6_overflow);
  }
  status_.note_uuids(false, recent);
  return true;
}

// #19: the peer's IPv6 sessions over SVR (packed_svr6.h), both halves in one
// op to their owner here by affinity_class6, as the packets of both sides go.
bool HaNode::apply_packed_svr6(const pb::PackedOps& packed, const Member& from) {
  if (packed.records().empty() && packed.format() == 0) return true;  // none in this message
  std::string error;
  if (!svr6_in_.open(packed, error)) {
    status_.add(C::stale_messages);
    status_.add(C::packed6_bad);
    if (status_.get(C::packed6_bad) <= 10) ha_log("message from node " + std::to_string(from.node) + " refused: " + error);
    return false;
  }
  if (shared_.ha.inbound6.empty()) {  // no IPv6 table here: nowhere to put them
    status_.add(C::sessions6_rejected, svr6_in_.size());
    return true;
  }
  const RouterModel& rm = model();
  const FibTable* fib = shared_.fib.load(std::memory_order_acquire);
  const FibTable6* fib6 = shared_.fib6.load(std::memory_order_acquire);
  HaStatus::RecentBatch recent;  // #17: noted once per body
  for (size_t i = 0; i < svr6_in_.size(); ++i) {
    PeerSession6Op p{};
    PackedKind kind;
    const uint8_t* rec = svr6_in_.record(i);
    if (!svr6_role(rec, p.role, error) ||
        !svr6_in_.decode(i, rm, clock_, fib, kind, p.carrier, error, svr6_lan_side(p.role), fib6) ||
        !decode_svr6_tail(rec, kind, rm, p.carrier, p.session, error, fib6)) {
      status_.add(C::sessions6_rejected);
      if (status_.get(C::sessions6_rejected) <= 10) ha_log("peer IPv6 session over SVR rejected: " + error);
      continue;
    }
    p.kind = kind == PackedKind::remove ? PeerSessionOpKind::remove : PeerSessionOpKind::upsert;
    status_.add(C::sessions6_received);
    status_.add(C::svr6_sessions_received);
    if (p.kind == PeerSessionOpKind::upsert) recent.add(p.session.uuid.data());
    const uint32_t owner = owner_of_class(affinity_class6(p.session.original), shared_.workers);
    if (!backlog6_.add(owner, p, shared_.ha.inbound6)) status_.add(C::inbound6_overflow);
  }
  status_.note_uuids(false, recent);
  return true;
}

}  // namespace wp::ha
