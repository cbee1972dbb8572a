// Handoff of packets to the worker that owns them (docs/architecture.md
// § Rings): batched, in order, with backpressure instead of drops.
//
// During a burst, packets for other workers are staged per owner; at the end
// of the burst each owner's batch goes out with one rte_ring_enqueue_burst
// (one producer-tail update per owner instead of one per packet). What an
// owner's ring cannot take is held, in arrival order, and everything staged
// after that point queues behind it, so no packet overtakes an earlier one
// of the same owner (hence of the same session). While anything is held the
// worker reads no more rx (the burst waits in the device queue) and retries
// every iteration, each owner's held packets as one burst. Held packets are
// dropped as handoff_full only after kHoldMs without progress (an owner that
// stopped draining) or when the hold is full. 100 ms: on a shared 2-CPU
// machine a worker thread may wait tens of ms for a CPU, and the holder's own
// rx (ARP included) waits meanwhile, so shorter limits drop packets of owners
// that are merely slow.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>
#include <vector>

#include "dataplane/worker/context.h"

namespace wp {

class Handoff {
 public:
  static constexpr uint32_t kHoldMs = 100;
  static constexpr uint32_t kMaxHeld = 2 * kMaxBurst;

  explicit Handoff(WorkerContext& ctx);
  // Queues `m` for `owner` (never this worker); sent by send_staged().
  void stage(rte_mbuf* m, uint32_t owner);
  // End of a burst: one enqueue burst per owner that has packets staged.
  void send_staged();
  // Start of an iteration: held packets again; returns how many went out.
  uint32_t retry_held();
  uint32_t held() const { return held_n_; }
  void drop_held();  // the worker is stopping

 private:
  rte_mbuf** staged(uint32_t owner) { return &staged_[owner * kMaxBurst]; }
  void hold(rte_mbuf* m, uint32_t owner);
  // Sends pkts[0..n) to `owner` in one burst; returns how many the ring took.
  uint32_t send(uint32_t owner, rte_mbuf** pkts, uint32_t n);

  WorkerContext& ctx_;
  std::vector<rte_mbuf*> staged_;  // owners x kMaxBurst
  std::vector<uint16_t> n_staged_;
  std::vector<uint32_t> owners_staged_;  // owners with packets staged, first-staged first
  rte_mbuf* held_[kMaxHeld];
  uint32_t held_owner_[kMaxHeld];
  uint32_t held_n_ = 0;
  uint32_t held_since_ms_ = 0;
  bool retrying_ = false;  // re-holding what a retry could not send is not a new hold
};

}  // namespace wp
