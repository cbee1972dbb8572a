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
#include <cstring>
#include <deque>
#include <type_traits>
#include <vector>

#include "dataplane/worker/ha_dataplane.h"

namespace wp::ha {

// Over the op type: IPv4's PeerSessionOp and (#19) IPv6's PeerSession6Op,
// each with its own rings and bound.
// #17: each worker's queue is a FIFO of fixed blocks of kBlockOps ops, taken
// from and given back to a small pool of spare blocks, and drained into the
// ring a block's run at a time with one burst enqueue. A std::deque of these
// 160-byte ops (3 to a 512-byte node, 1 for IPv6's) was a malloc and free for
// every few ops, its map grown by memmove, and page faults as the heap grew
// and shrank: ~30 % of the receiving HA thread in bench_ha's sync.
template <typename Op>
class BasicPeerBacklog {
  static_assert(std::is_trivially_copyable_v<Op> && std::is_trivially_destructible_v<Op>,
                "ops travel through rte_rings as bytes");

 public:
  static constexpr uint32_t kBlockOps = 256;
  static constexpr size_t kSpareBlocks = 32;  // kept for reuse across every worker's queue

  BasicPeerBacklog(uint32_t workers, size_t max_ops) : per_worker_(workers), max_(max_ops) {}
  ~BasicPeerBacklog() {
    for (Queue& q : per_worker_)
      for (Block* b : q.blocks) ::operator delete(b);
    for (Block* b : spare_) ::operator delete(b);
  }
  BasicPeerBacklog(const BasicPeerBacklog&) = delete;
  BasicPeerBacklog& operator=(const BasicPeerBacklog&) = delete;

  // False when the backlog is full: the op is dropped.
  bool add(uint32_t worker, const Op& op) {
    if (size_ >= max_) return false;
    Queue& q = per_worker_[worker];
    if (q.blocks.empty() || q.tail == kBlockOps) {
      q.blocks.push_back(take_block());
      q.tail = 0;
    }
    std::memcpy(static_cast<void*>(&q.blocks.back()->ops[q.tail++]), &op, sizeof(Op));
    ++q.size;
    ++size_;
    return true;
  }
  // #17: straight into the worker's inbound ring when nothing of that
  // worker's waits here (order kept), else as add().
  bool add(uint32_t worker, const Op& op, const std::vector<rte_ring*>& inbound) {
    if (per_worker_[worker].size == 0 &&
        rte_ring_sp_enqueue_elem(inbound[worker], const_cast<Op*>(&op), sizeof(Op)) == 0)
      return true;
    return add(worker, op);
  }
  // Moves what the inbound rings (one per worker) take; returns how many.
  uint32_t push(const std::vector<rte_ring*>& inbound) {
    uint32_t pushed = 0;
    for (size_t w = 0; w < per_worker_.size() && w < inbound.size(); ++w) {
      Queue& q = per_worker_[w];
      while (q.size) {
        Block* b = q.blocks.front();
        const uint32_t end = q.blocks.size() == 1 ? q.tail : kBlockOps;
        const uint32_t want = end - q.head;
        const uint32_t n = rte_ring_sp_enqueue_burst_elem(inbound[w], &b->ops[q.head], sizeof(Op), want, nullptr);
        q.head += n;
        q.size -= n;
        size_ -= n;
        pushed += n;
        if (q.head == end) {  // the front block is empty
          q.blocks.pop_front();
          give_block(b);
          q.head = 0;
          if (q.blocks.empty()) q.tail = 0;
        }
        if (n < want) break;  // the ring is full
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
  size_t blocks_held() const {  // in queues and spare (unit tests)
    size_t n = spare_.size();
    for (const Queue& q : per_worker_) n += q.blocks.size();
    return n;
  }

 private:
  struct Block {
    Op ops[kBlockOps];
  };
  struct Queue {
    std::deque<Block*> blocks;  // oldest first
    uint32_t head = 0;          // next op to push in the front block
    uint32_t tail = 0;          // next free slot in the back block
    size_t size = 0;
  };
  Block* take_block() {
    if (spare_.empty()) return static_cast<Block*>(::operator new(sizeof(Block)));  // ops written by memcpy
    Block* b = spare_.back();
    spare_.pop_back();
    return b;
  }
  void give_block(Block* b) {
    if (spare_.size() < kSpareBlocks)
      spare_.push_back(b);
    else
      ::operator delete(b);
  }

  std::vector<Queue> per_worker_;
  std::vector<Block*> spare_;
  size_t size_ = 0;
  size_t max_;
};
using PeerBacklog = BasicPeerBacklog<PeerSessionOp>;
using PeerBacklog6 = BasicPeerBacklog<PeerSession6Op>;

}  // namespace wp::ha
