// The HA thread's logic; see ha_node.h.
#include "ha/ha_node.h"

#include <rte_ring_elem.h>

#include <cstdio>
#include <ctime>

namespace wp::ha {
namespace {

using C = HaStatus::Counter;
constexpr unsigned kEventBurst = 256;

std::string uuid_hex(const std::string& bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) out += {kHex[b >> 4], kHex[b & 15]};
  return out;
}

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
      live_(settings.limits),
      chunk_(settings.limits),
      backlog_(shared.workers, settings.max_backlog_ops) {
  drops_seen_.assign(shared.workers, 0);
  republish_target_.assign(shared.workers, 0);
  // Until the pair decides, answer for nothing: a restarted node must not
  // pull its addresses back before it holds the sessions behind them.
  shared_.ha.own_held.store(false);
  shared_.ha.peer_taken.store(false);
  publish_view();
}

HaNode::~HaNode() = default;

namespace {

void log(const std::string& line) {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm t{};
  gmtime_r(&ts.tv_sec, &t);
  std::fprintf(stderr, "waypointd: ha: %02d:%02d:%02d.%03ld %s\n", t.tm_hour, t.tm_min, t.tm_sec, ts.tv_nsec / 1000000,
               line.c_str());
}

}  // namespace

uint32_t HaNode::poll(uint64_t now_ms) {
  now_ms_ = now_ms;
  uint32_t work = 0;
  if (!transport_ && now_ms - last_connect_try_ms_ >= settings_.reconnect_ms) {
    last_connect_try_ms_ = now_ms;
    std::string error;
    transport_ = connect_(error);
    if (!transport_) {
      if (state_ != State::connecting) log(error);
      state_ = State::connecting;
    } else {
      log("joined the CPG group as node " + std::to_string(transport_->local_node()));
      if (transport_->local_node() != settings_.node_id && transport_->local_node() != 0)
        log("warning: corosync says this is node " + std::to_string(transport_->local_node()) + ", ha.node_id is " +
            std::to_string(settings_.node_id));
    }
  }
  if (transport_ && !transport_->dispatch(*this)) transport_lost();
  work += backlog_.push(shared_.ha.inbound);
  watch_drops();
  if (outbox_bytes_ < settings_.max_outbox_bytes) work += drain_events();
  step_resync_out();
  if (peer_present_ && keys_sent_for_ != &model()) send_keys();  // a commit may have rotated a pair key
  flush_batches(false);
  work += flush_outbox();
  step_takeover();
  step_claim();
  check_split_brain();
  return work;
}

// --- outgoing: events -> batches -> CPG ---------------------------------------

uint32_t HaNode::drain_events() {
  const RouterModel& rm = model();
  uint32_t total = 0;
  SessionEvent ev[kEventBurst];
  for (uint32_t w = 0; w < shared_.workers; ++w) {
    rte_ring* r = shared_.event_ring(EventConsumer::ha, w);
    if (!r) continue;
    unsigned n = rte_ring_sc_dequeue_burst_elem(r, ev, sizeof(SessionEvent), kEventBurst, nullptr);
    total += n;
    for (unsigned i = 0; i < n; ++i) {
      const SessionEvent& e = ev[i];
      if (e.session.flags & kPeerSession) continue;  // the peer's own session: it already knows
      // Without a peer there is nobody to tell; a joining peer gets a resync.
      if (!peer_present_ && !resync_out_active_) continue;
      bool resync = resync_out_active_ && e.kind == SessionEventKind::update;
      SessionBatcher& b = resync ? chunk_ : live_;
      if (b.empty() && !resync) batch_started_ms_ = now_ms_;
      auto kind = e.kind == SessionEventKind::closed ? pb::SessionOp::DELETE : pb::SessionOp::UPSERT;
      pb::SessionOp* op = b.add(kind, clock_.epoch_ms(e.now_ms));
      encode_session(e.session, rm, clock_, settings_.node_id, *op->mutable_session());
      b.added(op);
      if (resync) ++resync_out_sessions_;
      if (e.kind == SessionEventKind::created) status_.note_uuid(true, uuid_hex(op->session().uuid()));
      if (b.full()) flush_batches(false);
    }
  }
  return total;
}

void HaNode::flush_batches(bool force) {
  if (!live_.empty() && (force || live_.full() || now_ms_ - batch_started_ms_ >= settings_.batch_ms)) {
    pb::HaMessage m;
    status_.add(C::sessions_sent, live_.size());
    live_.take_batch(m);
    send(m);
  }
  if (!chunk_.empty() && (force || chunk_.full())) {
    pb::HaMessage m;
    status_.add(C::sessions_sent, chunk_.size());
    chunk_.take_chunk(m, resync_out_id_, resync_out_chunks_++);
    send(m);
  }
}

void HaNode::send(pb::HaMessage& m) {
  std::string bytes = stamp_.finish(m);
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
  if (resync_out_active_) flush_batches(true);
  resync_out_active_ = true;
  resync_out_id_ = (stamp_.incarnation() << 16) ^ (now_ms_ & 0xffff) ^ resync_out_chunks_;
  resync_out_chunks_ = 0;
  resync_out_sessions_ = 0;
  for (uint32_t w = 0; w < shared_.workers; ++w)
    republish_target_[w] = shared_.ha.republish_req[w].fetch_add(1, std::memory_order_acq_rel) + 1;
  status_.add(C::resyncs_sent);
  send_keys();
  log("sending full state to the peer (resync " + std::to_string(resync_out_id_) + ")");
}

void HaNode::step_resync_out() {
  if (!resync_out_active_) return;
  for (uint32_t w = 0; w < shared_.workers; ++w)
    if (static_cast<int32_t>(shared_.ha.republish_seen[w].load(std::memory_order_acquire) - republish_target_[w]) < 0)
      return;
  // Every worker finished its sweep; what it posted before is in the rings.
  for (uint32_t w = 0; w < shared_.workers; ++w) {
    rte_ring* r = shared_.event_ring(EventConsumer::ha, w);
    if (r && !rte_ring_empty(r)) return drain_events(), void();
  }
  flush_batches(true);
  pb::HaMessage m;
  pb::ResyncDone* d = m.mutable_resync_done();
  d->set_resync_id(resync_out_id_);
  d->set_chunks(resync_out_chunks_);
  d->set_sessions(resync_out_sessions_);
  send(m);
  resync_out_active_ = false;
  log("resync " + std::to_string(resync_out_id_) + " sent: " + std::to_string(resync_out_sessions_) + " sessions in " +
      std::to_string(resync_out_chunks_) + " chunks");
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
    log("pair keys for peer \"" + p.name + "\" differ between the HA nodes (versions or keys): a failover would " +
        "fail HMAC checks; push the same peer keys to both nodes");
  }
}

// --- incoming -----------------------------------------------------------------

void HaNode::on_message(const Member& from, const void* data, size_t len) {
  pb::HaMessage m;
  if (!m.ParseFromArray(data, static_cast<int>(len)) || m.protocol() != kHaProtocol) {
    status_.add(C::stale_messages);
    return;
  }
  if (m.node_id() == settings_.node_id) {  // our own, delivered back in order: the sync lag
    if (m.oldest_event_ms() && (m.has_batch() || m.has_resync_chunk())) {
      uint64_t lag = now_ms_ > m.oldest_event_ms() ? now_ms_ - m.oldest_event_ms() : 0;
      status_.sync_lag_ms.store(lag, std::memory_order_relaxed);
      if (lag > status_.sync_lag_max_ms.load(std::memory_order_relaxed))
        status_.sync_lag_max_ms.store(lag, std::memory_order_relaxed);
    }
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
  switch (m.body_case()) {
    case pb::HaMessage::kBatch: apply_ops(m.batch().ops()); break;
    case pb::HaMessage::kKeys: check_keys(m.keys()); break;
    case pb::HaMessage::kResyncRequest:
      status_.add(C::resync_requests);
      if (m.resync_request().target_node() == settings_.node_id) start_resync_out();
      break;
    case pb::HaMessage::kResyncChunk: {
      const pb::ResyncChunk& c = m.resync_chunk();
      if (resync_in_.chunk(c.resync_id(), c.chunk_seq(), static_cast<size_t>(c.ops_size())) !=
          ResyncTracker::Result::ok)
        status_.add(C::resync_gaps);
      apply_ops(c.ops());
      break;
    }
    case pb::HaMessage::kResyncDone: {
      const pb::ResyncDone& d = m.resync_done();
      if (resync_in_.done(d.resync_id(), d.chunks(), d.sessions()) != ResyncTracker::Result::ok) {
        status_.add(C::resync_gaps);
        log("resync from node " + std::to_string(from.node) + " incomplete; asking again");
        pb::HaMessage req;
        req.mutable_resync_request()->set_target_node(from.node);
        send(req);
        break;
      }
      status_.add(C::resyncs_received);
      status_.last_resync_sessions.store(d.sessions(), std::memory_order_relaxed);
      resync_in_complete_ = true;
      claim_pending_ = true;
      break;
    }
    case pb::HaMessage::kTakeback: release_peer_addresses(); break;
    default: status_.add(C::stale_messages); break;
  }
}

void HaNode::apply_ops(const google::protobuf::RepeatedPtrField<pb::SessionOp>& ops) {
  const RouterModel& rm = model();
  std::string error;
  for (const pb::SessionOp& op : ops) {
    PeerSessionOp p{};
    if (!decode_session(op.session(), rm, clock_, p.session, error)) {
      status_.add(C::sessions_rejected);
      if (status_.get(C::sessions_rejected) <= 10) log("peer session rejected: " + error);
      continue;
    }
    p.kind = op.kind() == pb::SessionOp::DELETE ? PeerSessionOpKind::remove : PeerSessionOpKind::upsert;
    status_.add(C::sessions_received);
    if (p.kind == PeerSessionOpKind::upsert) status_.note_uuid(false, uuid_hex(op.session().uuid()));
    // Workers are far behind: the op is dropped and counted.
    if (!backlog_.add(owner_worker(p.session, shared_.workers), p)) status_.add(C::inbound_overflow);
  }
}

// --- membership and addresses -------------------------------------------------

void HaNode::on_membership(const std::vector<Member>& members, const std::vector<Member>& left,
                           const std::vector<Member>& joined) {
  bool peer_now = false;
  for (const Member& m : members)
    if (m.node != settings_.node_id) {
      peer_now = true;
      peer_node_ = m.node;
    }
  bool was = peer_present_;
  peer_present_ = peer_now;
  if (joined_ && was == peer_now) {
    publish_view();
    return;
  }
  if (!peer_now) {
    // Alone (at start, or the peer left): the peer's sessions become ours,
    // then its addresses, and we answer for our own whatever state we were in.
    if (joined_)
      for (const Member& m : left) log("peer node " + std::to_string(m.node) + " left the group: taking over");
    else
      log("alone in the group: taking our own and the peer's addresses");
    joined_ = true;
    state_ = State::alone;
    resync_in_ = ResyncTracker{};
    claim_pending_ = false;
    if (!shared_.ha.own_held.exchange(true, std::memory_order_acq_rel))
      shared_.ha.announce_gen.fetch_add(1, std::memory_order_acq_rel);
    begin_takeover();
  } else {
    // Both in the group (our join, or the peer's): exchange full state; each
    // side claims its own addresses once it applied the other's. A takeover
    // not finished yet is called off (membership can flap while corosync
    // re-forms its ring); a finished one lasts until the peer's Takeback.
    if (takeover_pending_) {
      takeover_pending_ = false;
      if (!shared_.ha.peer_taken.load()) {
        shared_.ha.adopt_peer.store(false, std::memory_order_release);
        shared_.ha.ownership_gen.fetch_add(1, std::memory_order_acq_rel);
      }
    }
    log("peer node " + std::to_string(peer_node_) + (joined_ ? " joined" : " present") +
        ": exchanging full state before claiming our addresses");
    joined_ = true;
    state_ = State::syncing;
    resync_in_ = ResyncTracker{};
    claim_pending_ = false;
    resync_in_started_ms_ = now_ms_;
    start_resync_out();
  }
  (void)joined;
  publish_view();
}

void HaNode::begin_takeover() {
  shared_.ha.adopt_peer.store(true, std::memory_order_release);
  takeover_gen_ = shared_.ha.ownership_gen.fetch_add(1, std::memory_order_acq_rel) + 1;
  takeover_pending_ = true;
  takeover_started_ms_ = now_ms_;
}

// Addresses only after every worker applied what the peer sent and made its
// sessions ours: a packet to a taken-over address must find its session.
void HaNode::step_takeover() {
  if (!takeover_pending_ || !inbound_idle()) return;
  for (uint32_t w = 0; w < shared_.workers; ++w)
    if (static_cast<int32_t>(shared_.ha.ownership_seen[w].load(std::memory_order_acquire) - takeover_gen_) < 0) return;
  takeover_pending_ = false;
  shared_.ha.peer_taken.store(true, std::memory_order_release);
  shared_.ha.own_held.store(true, std::memory_order_release);
  shared_.ha.announce_gen.fetch_add(1, std::memory_order_acq_rel);
  status_.add(C::takeovers);
  status_.last_takeover_ms.store(now_ms_ - takeover_started_ms_, std::memory_order_relaxed);
  log("took over the peer's addresses (" + std::to_string(now_ms_ - takeover_started_ms_) + " ms after the peer left)");
  publish_view();
}

// After the peer's resync is applied, answer for our own addresses again and
// tell the peer to stop (preempt).
void HaNode::step_claim() {
  if (!claim_pending_ || !inbound_idle() || !transport_) return;
  claim_pending_ = false;
  uint64_t took = now_ms_ - resync_in_started_ms_;
  status_.last_resync_ms.store(took, std::memory_order_relaxed);
  log("resync from the peer applied: " + std::to_string(status_.last_resync_sessions.load()) + " sessions in " +
      std::to_string(took) + " ms");
  if (!settings_.preempt) {
    state_ = State::standby;
    publish_view();
    return;
  }
  // Sent even when we already answer for our addresses (we were alone for a
  // moment while membership flapped): the peer may hold them too.
  if (!shared_.ha.own_held.exchange(true, std::memory_order_acq_rel)) log("answering for our own addresses again");
  shared_.ha.announce_gen.fetch_add(1, std::memory_order_acq_rel);
  status_.add(C::claims);
  pb::HaMessage m;
  m.mutable_takeback();
  send(m);
  state_ = State::active;
  publish_view();
}

void HaNode::release_peer_addresses() {
  if (!peer_present_) return;  // a Takeback from before the peer left
  takeover_pending_ = false;
  if (!shared_.ha.peer_taken.load() && !shared_.ha.adopt_peer.load()) return;
  shared_.ha.peer_taken.store(false, std::memory_order_release);
  shared_.ha.adopt_peer.store(false, std::memory_order_release);
  shared_.ha.ownership_gen.fetch_add(1, std::memory_order_acq_rel);
  status_.add(C::handbacks);
  state_ = State::active;
  log("peer took its addresses back");
  publish_view();
}

void HaNode::transport_lost() {
  if (!transport_) return;
  transport_.reset();
  status_.add(C::transport_lost);
  log("lost corosync: giving up all addresses until we rejoin");
  shared_.ha.own_held.store(false);
  shared_.ha.peer_taken.store(false);
  joined_ = false;
  peer_present_ = false;
  takeover_pending_ = claim_pending_ = false;
  resync_out_active_ = false;
  live_ = SessionBatcher(settings_.limits);
  chunk_ = SessionBatcher(settings_.limits);
  state_ = State::connecting;
  last_connect_try_ms_ = now_ms_;
  publish_view();
}

void HaNode::check_split_brain() {
  uint64_t arps = shared_.ha.split_brain_arps.load(std::memory_order_relaxed);
  if (arps == split_brain_arps_seen_) return;
  split_brain_arps_seen_ = arps;
  if (peer_present_) return;  // a hand-back in flight, not a split
  status_.add(C::split_brain_detected);
  if (now_ms_ - last_split_log_ms_ >= 1000) {
    last_split_log_ms_ = now_ms_;
    log("SPLIT BRAIN: the peer announces its addresses but is not in our CPG group (link between the nodes "
        "down?); both nodes forward, neighbors follow the latest gratuitous ARP until the group heals");
  }
}

void HaNode::publish_view() {
  static constexpr const char* kStates[] = {"connecting", "syncing", "active", "standby", "alone"};
  HaStatus::View v;
  v.node_id = settings_.node_id;
  v.state = kStates[static_cast<int>(state_)];
  v.members.push_back(settings_.node_id);
  if (peer_present_) v.members.push_back(peer_node_);
  v.peer_present = peer_present_;
  v.own_held = shared_.ha.own_held.load();
  v.peer_taken = shared_.ha.peer_taken.load();
  const RouterModel& rm = model();
  for (const InterfaceModel& i : rm.interfaces)
    v.roles.emplace_back(format_ipv4(i.addr), v.own_held ? "own, active" : "own, not answering");
  for (const HaAddress& a : shared_.ha.peer_addresses)
    v.roles.emplace_back(format_ipv4(a.addr), v.peer_taken ? "peer's, taken over" : "peer's");
  status_.set_view(std::move(v));
}

}  // namespace wp::ha
