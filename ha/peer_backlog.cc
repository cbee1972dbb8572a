// The peer's ops waiting for the workers; see peer_backlog.h.
#include "ha/peer_backlog.h"

#include <rte_ring_elem.h>

namespace wp::ha {

bool PeerBacklog::add(uint32_t worker, const PeerSessionOp& op) {
  if (size_ >= max_) return false;
  per_worker_[worker].push_back(op);
  ++size_;
  return true;
}

bool PeerBacklog::add(uint32_t worker, const PeerSessionOp& op, const std::vector<rte_ring*>& inbound) {
  if (per_worker_[worker].empty() && rte_ring_sp_enqueue_elem(inbound[worker], const_cast<PeerSessionOp*>(&op), sizeof(PeerSessionOp)) == 0)
    return true;
  return add(worker, op);
}

uint32_t PeerBacklog::push(const std::vector<rte_ring*>& inbound) {
  uint32_t pushed = 0;
  for (size_t w = 0; w < per_worker_.size(); ++w) {
    auto& q = per_worker_[w];
    while (!q.empty()) {
      if (rte_ring_sp_enqueue_elem(inbound[w], &q.front(), sizeof(PeerSessionOp)) != 0) break;
      q.pop_front();
      --size_;
      ++pushed;
    }
  }
  return pushed;
}

bool PeerBacklog::idle(const std::vector<rte_ring*>& inbound) const {
  if (size_) return false;
  for (rte_ring* r : inbound)
    if (!rte_ring_empty(r)) return false;
  return true;
}

}  // namespace wp::ha
