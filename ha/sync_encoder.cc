// The HA sender: worker events -> encoded batches; see sync_encoder.h.
#include "ha/sync_encoder.h"

#include <rte_ring_elem.h>

#include "dataplane/session/events6.h"
#include "dataplane/worker/context.h"
#include "ha/packed_svr6.h"

#include <algorithm>
#include <chrono>
#include <type_traits>

namespace wp::ha {
namespace {

constexpr unsigned kEventBurst = 256;
// #17: events taken from one worker's ring per pass (16 bursts: a pass per
// 256 events held the sync to ~90 k sessions/s on a loaded host).
constexpr unsigned kEventBurstsPerPass = 16;

}  // namespace

SyncEncoder::SyncEncoder(DataplaneShared& shared, HaStatus& status, const DataplaneClock& clock, Settings s)
    : shared_(shared),
      status_(status),
      clock_(clock),
      settings_(s),
      queue_(s.queue_messages),
      live_(s.limits),
      chunk_(s.limits),
      ev6_(kEventBurst) {}

SyncEncoder::~SyncEncoder() { stop(); }

void SyncEncoder::start() {
  if (thread_.joinable()) return;
  stop_.store(false, std::memory_order_relaxed);
  thread_ = std::thread([this] {
    // Idle: back off from 20 us to 500 us (below the 1 ms batch timer).
    uint32_t idle_us = 0;
    while (!stop_.load(std::memory_order_acquire)) {
      if (poll(epoch_ms()) != 0) {
        idle_us = 0;
        continue;
      }
      idle_us = std::clamp<uint32_t>(idle_us * 2, 20, 500);
      std::this_thread::sleep_for(std::chrono::microseconds(idle_us));
    }
  });
}

void SyncEncoder::stop() {
  stop_.store(true, std::memory_order_release);
  if (thread_.joinable()) thread_.join();
}

void SyncEncoder::begin_resync(uint64_t resync_id) {
  resync_id_.store(resync_id, std::memory_order_relaxed);
  resync_gen_.fetch_add(1, std::memory_order_release);  // publishes resync_id_
}

void SyncEncoder::finish_resync() {
  finish_gen_.store(resync_gen_.load(std::memory_order_relaxed), std::memory_order_release);
}

uint32_t SyncEncoder::poll(uint64_t now_ms) {
  now_ms_ = now_ms;
  uint32_t work = 0;
  if (const uint32_t g = reset_gen_.load(std::memory_order_acquire); g != seen_reset_gen_) {
    seen_reset_gen_ = g;
    live_.reset();
    chunk_.reset();
    resync_active_ = false;
    seen_resync_gen_ = resync_gen_.load(std::memory_order_acquire);  // a resync begun before the reset is void
  }
  if (const uint32_t g = resync_gen_.load(std::memory_order_acquire); g != seen_resync_gen_) {
    if (resync_active_ && !chunk_.empty()) encode(chunk_, EncodedMessage::Kind::chunk);  // the old one's last chunk
    seen_resync_gen_ = g;
    resync_active_ = true;
    resync_out_id_ = resync_id_.load(std::memory_order_relaxed);
    chunks_ = 0;
    resync_sessions_ = 0;
  }
  while (!held_.empty() && queue_.push(held_.front())) {
    held_.pop_front();
    ++work;
  }
  if (!held_.empty()) return work;  // the HA thread is behind: events wait in the rings
  const RouterModel& rm = *shared_.model.load(std::memory_order_acquire);
  work += drain(rm);
  flush(false);
  if (resync_active_ && held_.empty() && finish_gen_.load(std::memory_order_acquire) == seen_resync_gen_) {
    for (uint32_t w = 0; w < shared_.workers; ++w) {
      rte_ring* r = shared_.event_ring(EventConsumer::ha, w);
      if (r && !rte_ring_empty(r)) return work;  // what the sweeps posted is not all drained yet
      rte_ring* r6 = shared_.ha.event6_ring(w);
      if (r6 && !rte_ring_empty(r6)) return work;
    }
    if (!chunk_.empty()) encode(chunk_, EncodedMessage::Kind::chunk);
    auto done = std::make_unique<EncodedMessage>();
    done->kind = EncodedMessage::Kind::resync_done;
    done->resync_id = resync_out_id_;
    done->chunks = chunks_;
    done->sessions = resync_sessions_;
    emit(std::move(done));
    resync_active_ = false;
    ++work;
  }
  return work;
}

uint32_t SyncEncoder::drain(const RouterModel& rm) {
  const bool peer = peer_present_.load(std::memory_order_acquire);
  HaStatus::RecentBatch recent;  // #17: noted once per pass, not under a lock per session
  // A burst fills at most one batch of each kind, so a full queue holds back
  // at most two messages here before the draining stops.
  const unsigned want = static_cast<unsigned>(std::min<size_t>(kEventBurst, std::max<size_t>(1, settings_.limits.max_ops)));
  // IPv4's SessionEvent and (#19) IPv6's HaSession6Event, from their own rings: the same steps.
  auto burst = [&]<typename Event>(rte_ring* r, Event* ev) {
    unsigned n = rte_ring_sc_dequeue_burst_elem(r, ev, sizeof(Event), want, nullptr);
    for (unsigned i = 0; i < n; ++i) {
      const Event& e = ev[i];
      constexpr bool v4 = std::is_same_v<Event, SessionEvent>;
      const auto& h = [&]() -> const auto& {
        if constexpr (v4)
          return e;
        else
          return e.ev;
      }();
      Svr6Role role = Svr6Role::none;
      if constexpr (v4) {
        if (e.session.flags & kPeerSession) continue;  // the peer's own session: it already knows
        // An IPv6 session that an IPv4 SVR session carries (svr/svr6_lan.h) travels whole, its
        // Session6 with it, from the IPv6 ring (Svr6Lan::post_ha; packed_svr6.h).
        if (carries_ipv6(e.session)) [[unlikely]]
          continue;
      } else {
        role = e.ev.svr.role;
        if (((role == Svr6Role::none ? e.ev.session.flags : e.carrier.flags) & kPeerSession)) continue;
        // Its WAN leg's IPv6 waypoint left our config (a commit): no record could name it.
        if (role != Svr6Role::none && !svr6_describable(e.carrier, rm)) [[unlikely]] {
          if (e.ev.kind == SessionEventKind::created) status_.add(HaStatus::Counter::svr6_sessions_unsynced);
          continue;
        }
      }
      // Without a peer there is nobody to tell; a joining peer gets a resync.
      if (!peer && !resync_active_) continue;
      const bool resync = resync_active_ && h.kind == SessionEventKind::update;
      SessionBatcher& b = resync ? chunk_ : live_;
      if (b.empty() && !resync) batch_started_ms_ = now_ms_;
      auto kind = h.kind == SessionEventKind::closed ? PackedKind::remove : PackedKind::upsert;
      if constexpr (v4)
        b.add(kind, clock_.epoch_ms(h.now_ms), h.session, rm, clock_);
      else if (role == Svr6Role::none)
        b.add(kind, clock_.epoch_ms(h.now_ms), h.session, rm, clock_);
      else
        b.add(kind, clock_.epoch_ms(h.now_ms), h.session, role, e.carrier, rm, clock_);
      if (resync) ++resync_sessions_;
      // Noted as sent: a new session, and every session of a resync (those made while the peer was away).
      if (h.kind == SessionEventKind::created || resync) recent.add(h.session.uuid.data());
      if (b.full()) encode(b, resync ? EncodedMessage::Kind::chunk : EncodedMessage::Kind::batch);
    }
    return n;
  };
  auto drain_ring = [&]<typename Event>(rte_ring* r, Event* ev) {
    uint32_t got = 0;
    for (unsigned i = 0; r && i < kEventBurstsPerPass && held_.empty(); ++i) {
      const unsigned n = burst(r, ev);
      got += n;
      if (n < want) break;  // this worker's ring is empty
    }
    return got;
  };
  uint32_t total = 0;
  {
    SessionEvent ev[kEventBurst];
    for (uint32_t w = 0; w < shared_.workers; ++w) total += drain_ring(shared_.event_ring(EventConsumer::ha, w), ev);
  }
  for (uint32_t w = 0; w < shared_.workers; ++w) total += drain_ring(shared_.ha.event6_ring(w), ev6_.data());
  status_.note_uuids(true, recent);
  return total;
}

void SyncEncoder::flush(bool force) {
  if (!live_.empty() && (force || live_.full() || now_ms_ - batch_started_ms_ >= settings_.batch_ms))
    encode(live_, EncodedMessage::Kind::batch);
  if (!chunk_.empty() && (force || chunk_.full())) encode(chunk_, EncodedMessage::Kind::chunk);
}

void SyncEncoder::encode(SessionBatcher& b, EncodedMessage::Kind kind) {
  auto m = std::make_unique<EncodedMessage>();
  m->kind = kind;
  m->sessions = b.size();
  m->oldest_ms = b.oldest_ms();
  pb::HaMessage& msg = kind == EncodedMessage::Kind::chunk ? b.take_chunk(resync_out_id_, chunks_++) : b.take_batch();
  if (kind == EncodedMessage::Kind::chunk) m->resync_id = resync_out_id_;
  if (settings_.compress && compress_body(msg, codec_)) m->raw_bytes = codec_.raw.size();
  msg.SerializeToString(&m->body);
  b.reset();
  emit(std::move(m));
}

void SyncEncoder::emit(std::unique_ptr<EncodedMessage> m) {
  if (held_.empty() && queue_.push(m)) return;
  held_.push_back(std::move(m));
}

}  // namespace wp::ha
