// Per tunnel and worker ESP counters (docs/ipsec.md § Counters): written by
// one worker each (the tunnel's owner, or the worker that refused a packet
// of it), summed by the IKE service for GET /api/v1/ipsec. Relaxed atomics:
// a reader on another thread sees each value whole, no ordering needed.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "dataplane/ipsec/esp_limits.h"

namespace wp {

inline constexpr uint32_t kEspCounterTunnels = kMaxEspTunnels;

struct EspTunnelCounters {
  std::atomic<uint64_t> in_packets{0}, in_bytes{0}, in_drops{0};     // opened (inner bytes), refused
  std::atomic<uint64_t> out_packets{0}, out_bytes{0}, out_drops{0};  // sealed (inner bytes), refused
  static void bump(std::atomic<uint64_t>& c, uint64_t n = 1) {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
};

inline constexpr uint32_t kEspMarkSlots = kMaxEspSas;

// The latest sequence numbers of every slot, for the control thread (HA sync,
// docs/ipsec.md § HA): the SA's owner worker stores the outbound counter or
// the inbound replay top every kEspMarkEvery numbers, with the generation it
// belongs to; relaxed atomics, one writer per slot, no lock. Behind the real
// value by less than kEspMarkEvery (the takeover margin covers it).
inline constexpr uint64_t kEspMarkEvery = 64;
struct EspSeqMarks {
  struct Mark {
    std::atomic<uint64_t> seq{0};
    std::atomic<uint32_t> generation{0};
  };
  std::unique_ptr<Mark[]> slots = std::make_unique<Mark[]>(kEspMarkSlots);
  // The value of `slot` if it belongs to `generation`, else 0.
  uint64_t read(uint16_t slot, uint32_t generation) const {
    const Mark& m = slots[slot];
    if (m.generation.load(std::memory_order_acquire) != generation) return 0;
    return m.seq.load(std::memory_order_relaxed);
  }
};

}  // namespace wp
