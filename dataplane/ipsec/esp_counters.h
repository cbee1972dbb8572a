// Per tunnel and worker ESP counters (docs/ipsec.md § Counters): written by
// one worker each (the tunnel's owner, or the worker that refused a packet
// of it), summed by the IKE service for GET /api/v1/ipsec. Relaxed atomics:
// a reader on another thread sees each value whole, no ordering needed.
#pragma once

#include <atomic>
#include <cstdint>

namespace wp {

inline constexpr uint32_t kEspCounterTunnels = 256;  // = kMaxEspTunnels (esp_sa.h)

struct EspTunnelCounters {
  std::atomic<uint64_t> in_packets{0}, in_bytes{0}, in_drops{0};     // opened (inner bytes), refused
  std::atomic<uint64_t> out_packets{0}, out_bytes{0}, out_drops{0};  // sealed (inner bytes), refused
  static void bump(std::atomic<uint64_t>& c, uint64_t n = 1) {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
};

}  // namespace wp
