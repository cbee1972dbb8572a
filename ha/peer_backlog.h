// The peer's session ops on their way to the owning worker's inbound ring.
//
// The HA thread never waits for a worker: what a full inbound ring does not
// take waits here, in order per worker, up to a bound (beyond it ops are
// dropped and the caller counts them). Takeover and claim wait until this and
// the rings are empty, so that every session the peer sent is in a worker's
// table before its addresses are answered.
#pragma once

#include <rte_ring.h>
#include <rte_ring_elem.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

#include "dataplane/worker/ha_dataplane.h"

namespace wp::ha {

// Over the op type: IPv4's PeerSessionOp and (#19) IPv6's PeerSession6Op,
// each with its own rings and bound.
template <typename Op>
class BasicPeerBacklog {
 public:
  BasicPeerBacklog(uint32_t workers, size_t max_ops) : per_worker_(workers), max_(max_ops) {}
  // False when the backlog is full: the op is dropped.
  bool add(uint32_t worker, const Op& op) {
    if (size_ >= max_) return false;
    per_worker_[worker].push_back(op);
    ++size_;
    return true;
  }
  // #17: straight into the worker's inbound ring when nothing of that
  // worker's waits here (order kept), else as add().
  bool add(uint32_t worker, const Op& op, const std::vector<rte_ring*>& inbound) {
    if (per_worker_[worker].empty() && rte_ring_sp_enqueue_elem(inbound[worker], const_cast<Op*>(&op), sizeof(Op)) == 0)
      return true;
    return add(worker, op);
  }
  // Moves what the inbound rings (one per worker) take; returns how many.
  uint32_t push(const std::vector<rte_ring*>& inbound) {
    uint32_t pushed = 0;
    for (size_t w = 0; w < per_worker_.size() && w < inbound.size(); ++w) {
      auto& q = per_worker_[w];
      while (!q.empty()) {
        if (rte_ring_sp_enqueue_elem(inbound[w], &q.front(), sizeof(Op)) != 0) break;
        q.pop_front();
        --size_;
        ++pushed;
      }
    }
    return pushed;
  }
  // Nothing waits here or in the rings: every worker has applied everything.
  bool idle(const std::vector<rte_ring*>& inbound) const {
    if (size_) return false;
    for (rte_ring* r : inbound)
      if (!rte_ring_empty(r)) return false;
    return true;
  }
  size_t size() const { return size_; }

 private:
  std::vector<std::deque<Op>> per_worker_;
  size_t size_ = 0;
  size_t max_;
};
using PeerBacklog = BasicPeerBacklog<PeerSessionOp>;
using PeerBacklog6 = BasicPeerBacklog<PeerSession6Op>;

}  // namespace wp::ha
