// Per tunnel and worker ESP counters (docs/ipsec.md § Counters): written by
// one worker each (the tunnel's owner, or the worker that refused a packet
// of it), summed by the IKE service for GET /api/v1/ipsec. Relaxed atomics:
// a reader on another thread sees each value whole, no ordering needed.
// The same per SA slot and worker (EspSaCounterSlot): the SA's owner counts
// its packets there, the IKE service sums them per Child SA.
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

// One SA's counters as read (esp_sa.h's EspWorkerState writes them).
struct EspSaCounters {
  uint64_t packets = 0, bytes = 0;  // inner bytes, decrypted or sealed
  uint64_t drops = 0;               // packets of this SA dropped for any reason, of which:
  uint64_t replay_drops = 0;        // ... replayed or left of the window (inbound)
  uint64_t auth_failures = 0;       // ... whose ICV did not verify (inbound)
};

// Per worker, one per SA slot (kMaxEspSas of them). `generation` names the
// SA the values count: when a slot holds a newer SA, its owner stores zeros
// and then the new generation (release); a reader checks the generation
// before and after it reads (read_esp_sa_counters).
struct EspSaCounterSlot {
  std::atomic<uint32_t> generation{0};
  std::atomic<uint64_t> packets{0}, bytes{0}, drops{0}, replay_drops{0}, auth_failures{0};
  void restart(uint32_t gen) {
    for (std::atomic<uint64_t>* c : {&packets, &bytes, &drops, &replay_drops, &auth_failures})
      c->store(0, std::memory_order_relaxed);
    generation.store(gen, std::memory_order_release);
  }
};

// `slot` of the SA of `generation`, summed over `workers` arrays of
// kMaxEspSas slots each; a worker whose slot holds another SA adds nothing.
inline EspSaCounters read_esp_sa_counters(const EspSaCounterSlot* slots, uint32_t workers, uint16_t slot,
                                          uint32_t generation) {
  EspSaCounters sum;
  for (uint32_t w = 0; slots && generation != 0 && slot < kMaxEspSas && w < workers; ++w) {
    const EspSaCounterSlot& c = slots[size_t{w} * kMaxEspSas + slot];
    if (c.generation.load(std::memory_order_acquire) != generation) continue;
    const EspSaCounters v{c.packets.load(std::memory_order_relaxed), c.bytes.load(std::memory_order_relaxed),
                          c.drops.load(std::memory_order_relaxed), c.replay_drops.load(std::memory_order_relaxed),
                          c.auth_failures.load(std::memory_order_relaxed)};
    std::atomic_thread_fence(std::memory_order_acquire);
    if (c.generation.load(std::memory_order_relaxed) != generation) continue;  // restarted meanwhile
    sum.packets += v.packets;
    sum.bytes += v.bytes;
    sum.drops += v.drops;
    sum.replay_drops += v.replay_drops;
    sum.auth_failures += v.auth_failures;
  }
  return sum;
}

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
