// The egress scheduler of one WAN port: QoS classes, strict priority, weighted
// sharing (deficit round robin) and token-bucket shaping per port and per
// class, with bounded queues and counters per class (docs/qos.md).
//
// Why not rte_sched: its 13 traffic classes are strict priority among
// themselves and only the lowest one has weighted queues (4 of them, WRR),
// so "strict for the top class, weighted shares for the rest" fits only
// with at most 4 shared classes and no per-class rate cap outside the
// pipe/TC hierarchy; we have 5 shared classes with their own caps, and a
// flat port needs none of rte_sched's subport/pipe levels. This scheduler is
// also free of DPDK: packets are opaque items with a length, so it is unit
// tested with a simulated clock, and the port's tx owner calls it with mbufs.
//
// One owner thread per port calls enqueue and dequeue (workers hand their
// packets for a shaped port to that owner; see docs/qos.md); nothing here
// locks or allocates after construction. Time is in nanoseconds from any
// monotonic origin, passed in by the caller (the worker clock in production).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace wp {

enum class QosClass : uint8_t { network_control, voice, video, interactive, bulk, best_effort, count };
inline constexpr size_t kQosClasses = static_cast<size_t>(QosClass::count);
inline constexpr std::string_view kQosClassNames[kQosClasses] = {"network-control", "voice",  "video",
                                                                 "interactive",     "bulk",   "best-effort"};

// A token bucket: `rate_bps` bits per second, up to `burst_bytes` banked.
// rate 0 = unlimited.
class ShaperBucket {
 public:
  void configure(uint64_t rate_bps, uint32_t burst_bytes, uint64_t now_ns);
  bool unlimited() const { return rate_bps_ == 0; }
  // Whether `bytes` may leave now (refills first); does not take them.
  bool allows(uint32_t bytes, uint64_t now_ns);
  void take(uint32_t bytes);
  // When `bytes` will be allowed (now_ns if already).
  uint64_t ready_at(uint32_t bytes, uint64_t now_ns);

 private:
  void refill(uint64_t now_ns);
  uint64_t rate_bps_ = 0;
  int64_t tokens_ = 0;  // bytes (may go negative by one packet: a packet is never split)
  int64_t burst_ = 0;
  uint64_t last_ns_ = 0;
  uint64_t rem_ = 0;  // bit-nanoseconds carried between refills, so slow rates lose nothing
};

struct QosClassConfig {
  bool strict = false;         // served before every shared class, in class order
  uint32_t weight = 1;         // shared classes: share of what the strict ones leave
  uint64_t rate_bps = 0;       // cap for this class; 0 = none
  uint32_t burst_bytes = 16384;
  uint32_t queue_packets = 512;  // queue depth limit; a packet beyond it is dropped and counted
};

struct QosPortConfig {
  uint64_t rate_bps = 0;  // port shaper; 0 = line rate
  uint32_t burst_bytes = 32768;
  uint32_t quantum_bytes = 1514;  // DRR: bytes a weight of 1 earns per round
  std::array<QosClassConfig, kQosClasses> classes;
  // Defaults: network-control and voice strict (in that order), video 40,
  // interactive 30, best-effort 20, bulk 10.
  static QosPortConfig defaults();
};

struct QosClassCounters {
  uint64_t enqueued = 0, sent = 0, dropped = 0;
  uint64_t sent_bytes = 0, dropped_bytes = 0;
  uint64_t delay_ns_total = 0, delay_ns_max = 0;  // queue delay of sent packets
  uint32_t depth = 0;                              // now
};

struct QosItem {
  void* pkt = nullptr;
  uint32_t len = 0;  // bytes on the wire, what shaping counts
};

class QosScheduler {
 public:
  QosScheduler(const QosPortConfig& cfg, uint64_t now_ns);

  // Queues `item` in `cls`; false (counted as dropped) when the class is full.
  bool enqueue(QosClass cls, QosItem item, uint64_t now_ns);
  // Up to `max` items in the order they may leave now; stops when the port
  // shaper has no tokens or every queue is empty or capped.
  size_t dequeue(QosItem* out, size_t max, uint64_t now_ns);
  // The earliest time dequeue can return something (for an idle wait), or
  // UINT64_MAX when all queues are empty.
  uint64_t next_ready_ns(uint64_t now_ns);

  const QosClassCounters& counters(QosClass cls) const { return q_[idx(cls)].c; }
  size_t queued() const;

 private:
  struct Entry {
    QosItem item;
    uint64_t enq_ns;
  };
  struct Queue {
    QosClassConfig cfg;
    std::vector<Entry> ring;
    uint32_t head = 0, count = 0;
    int64_t deficit = 0;
    ShaperBucket cap;
    QosClassCounters c;
    const Entry& front() const { return ring[head]; }
  };
  static size_t idx(QosClass c) { return static_cast<size_t>(c); }
  bool eligible(Queue& q, uint64_t now_ns);
  void pop(Queue& q, QosItem* out, uint64_t now_ns);
  bool next_shared(uint64_t now_ns, size_t& which);

  QosPortConfig cfg_;
  ShaperBucket port_;
  std::array<Queue, kQosClasses> q_;
  size_t rr_ = 0;              // DRR position (a class index; strict classes are skipped)
  bool turn_started_ = false;  // the class at rr_ has earned its quantum this turn
};

}  // namespace wp
