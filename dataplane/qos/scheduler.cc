// QoS egress scheduler; see scheduler.h.
#include "dataplane/qos/scheduler.h"

#include <algorithm>

namespace wp {
namespace {
constexpr uint64_t kBitNsPerByte = 8'000'000'000ull;  // rate in bit/s, time in ns
}

// --- ShaperBucket ------------------------------------------------------------------
void ShaperBucket::configure(uint64_t rate_bps, uint32_t burst_bytes, uint64_t now_ns) {
  rate_bps_ = rate_bps;
  burst_ = burst_bytes;
  tokens_ = burst_bytes;
  last_ns_ = now_ns;
  rem_ = 0;
}

void ShaperBucket::refill(uint64_t now_ns) {
  if (rate_bps_ == 0 || now_ns <= last_ns_) return;
  const unsigned __int128 acc = static_cast<unsigned __int128>(now_ns - last_ns_) * rate_bps_ + rem_;
  last_ns_ = now_ns;
  const unsigned __int128 bytes = acc / kBitNsPerByte;
  rem_ = static_cast<uint64_t>(acc % kBitNsPerByte);
  if (bytes >= static_cast<unsigned __int128>(burst_ - tokens_)) {
    tokens_ = burst_;
    rem_ = 0;
  } else {
    tokens_ += static_cast<int64_t>(bytes);
  }
}

bool ShaperBucket::allows(uint32_t bytes, uint64_t now_ns) {
  if (rate_bps_ == 0) return true;
  refill(now_ns);
  // A full bucket lets any packet through (one larger than the burst would
  // otherwise never leave); the debt it leaves is paid before the next.
  return tokens_ >= static_cast<int64_t>(bytes) || tokens_ >= burst_;
}

void ShaperBucket::take(uint32_t bytes) {
  if (rate_bps_ != 0) tokens_ -= bytes;
}

uint64_t ShaperBucket::ready_at(uint32_t bytes, uint64_t now_ns) {
  if (allows(bytes, now_ns)) return now_ns;
  const int64_t need = std::min<int64_t>(bytes, burst_) - tokens_;
  const unsigned __int128 bitns = static_cast<unsigned __int128>(need) * kBitNsPerByte;
  const uint64_t wait = static_cast<uint64_t>((bitns - std::min<unsigned __int128>(bitns, rem_) + rate_bps_ - 1) / rate_bps_);
  return now_ns + std::max<uint64_t>(wait, 1);
}

// --- QosScheduler ---------------------------------------------------------------------
QosPortConfig QosPortConfig::defaults() {
  QosPortConfig c;
  auto& k = c.classes;
  k[static_cast<size_t>(QosClass::network_control)].strict = true;
  k[static_cast<size_t>(QosClass::voice)].strict = true;
  k[static_cast<size_t>(QosClass::video)].weight = 40;
  k[static_cast<size_t>(QosClass::interactive)].weight = 30;
  k[static_cast<size_t>(QosClass::best_effort)].weight = 20;
  k[static_cast<size_t>(QosClass::bulk)].weight = 10;
  return c;
}

QosScheduler::QosScheduler(const QosPortConfig& cfg, uint64_t now_ns) : cfg_(cfg) {
  port_.configure(cfg.rate_bps, cfg.burst_bytes, now_ns);
  for (size_t i = 0; i < kQosClasses; ++i) {
    Queue& q = q_[i];
    q.cfg = cfg.classes[i];
    q.cfg.queue_packets = std::max<uint32_t>(1, q.cfg.queue_packets);
    q.cfg.weight = std::max<uint32_t>(1, q.cfg.weight);
    q.ring.resize(q.cfg.queue_packets);
    q.cap.configure(q.cfg.rate_bps, q.cfg.burst_bytes, now_ns);
  }
}

bool QosScheduler::enqueue(QosClass cls, QosItem item, uint64_t now_ns) {
  Queue& q = q_[idx(cls)];
  if (q.count == q.cfg.queue_packets) {
    q.c.dropped++;
    q.c.dropped_bytes += item.len;
    return false;
  }
  uint32_t tail = q.head + q.count;
  if (tail >= q.cfg.queue_packets) tail -= q.cfg.queue_packets;
  q.ring[tail] = {item, now_ns};
  q.count++;
  q.c.enqueued++;
  q.c.depth = q.count;
  return true;
}

bool QosScheduler::eligible(Queue& q, uint64_t now_ns) { return q.count != 0 && q.cap.allows(q.front().item.len, now_ns); }

void QosScheduler::pop(Queue& q, QosItem* out, uint64_t now_ns) {
  const Entry& e = q.front();
  *out = e.item;
  port_.take(e.item.len);
  q.cap.take(e.item.len);
  const uint64_t delay = now_ns > e.enq_ns ? now_ns - e.enq_ns : 0;
  q.c.sent++;
  q.c.sent_bytes += e.item.len;
  q.c.delay_ns_total += delay;
  q.c.delay_ns_max = std::max(q.c.delay_ns_max, delay);
  q.head = q.head + 1 == q.cfg.queue_packets ? 0 : q.head + 1;
  q.count--;
  q.c.depth = q.count;
  if (!q.cfg.strict) q.deficit -= e.item.len;
}

// Deficit round robin over the shared classes: a class earns quantum x
// weight bytes when its turn starts and sends while its deficit covers the
// head packet; an empty class forfeits its deficit, a capped one waits.
bool QosScheduler::next_shared(uint64_t now_ns, size_t& which) {
  // Enough turns for a class with weight 1 to earn a 9000-byte packet.
  const size_t max_steps = kQosClasses * (2 + 9000 / std::max<uint32_t>(1, cfg_.quantum_bytes));
  for (size_t step = 0; step < max_steps; ++step) {
    Queue& q = q_[rr_];
    if (q.cfg.strict || q.count == 0 || !eligible(q, now_ns)) {
      if (!q.cfg.strict && q.count == 0) q.deficit = 0;
      rr_ = (rr_ + 1) % kQosClasses;
      turn_started_ = false;
      continue;
    }
    if (!turn_started_) {
      q.deficit += int64_t{cfg_.quantum_bytes} * q.cfg.weight;
      turn_started_ = true;
    }
    if (q.deficit >= static_cast<int64_t>(q.front().item.len)) {
      which = rr_;
      return true;
    }
    rr_ = (rr_ + 1) % kQosClasses;
    turn_started_ = false;
  }
  return false;
}

size_t QosScheduler::dequeue(QosItem* out, size_t max, uint64_t now_ns) {
  size_t n = 0;
  while (n < max) {
    size_t which = kQosClasses;
    for (size_t i = 0; i < kQosClasses && which == kQosClasses; ++i)
      if (q_[i].cfg.strict && eligible(q_[i], now_ns)) which = i;
    if (which == kQosClasses && !next_shared(now_ns, which)) break;
    if (!port_.allows(q_[which].front().item.len, now_ns)) break;
    pop(q_[which], &out[n++], now_ns);
  }
  return n;
}

uint64_t QosScheduler::next_ready_ns(uint64_t now_ns) {
  uint64_t best = UINT64_MAX;
  for (Queue& q : q_) {
    if (q.count == 0) continue;
    const uint32_t len = q.front().item.len;
    best = std::min(best, std::max(q.cap.ready_at(len, now_ns), port_.ready_at(len, now_ns)));
  }
  return best;
}

size_t QosScheduler::queued() const {
  size_t n = 0;
  for (const Queue& q : q_) n += q.count;
  return n;
}

}  // namespace wp
