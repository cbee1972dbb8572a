// The peer's session ops on their way to the owning worker's inbound ring.
//
// The HA thread never waits for a worker: what a full inbound ring does not
// take waits here, in order per worker, up to a bound (beyond it ops are
// dropped and the caller counts them). Takeover and claim wait until this and
// the rings are empty, so that every session the peer sent is in a worker's
// table before its addresses are answered.
#pragma once

#include <rte_ring.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

#include "dataplane/worker/ha_dataplane.h"

namespace wp::ha {

class PeerBacklog {
 public:
  PeerBacklog(uint32_t workers, size_t max_ops) : per_worker_(workers), max_(max_ops) {}
  // False when the backlog is full: the op is dropped.
  bool add(uint32_t worker, const PeerSessionOp& op);
  // #17: straight into the worker's inbound ring when nothing of that
  // worker's waits here (order kept), else as add().
  bool add(uint32_t worker, const PeerSessionOp& op, const std::vector<rte_ring*>& inbound);
  // Moves what the inbound rings (one per worker) take; returns how many.
  uint32_t push(const std::vector<rte_ring*>& inbound);
  // Nothing waits here or in the rings: every worker has applied everything.
  bool idle(const std::vector<rte_ring*>& inbound) const;
  size_t size() const { return size_; }

 private:
  std::vector<std::deque<PeerSessionOp>> per_worker_;
  size_t size_ = 0;
  size_t max_;
};

}  // namespace wp::ha
