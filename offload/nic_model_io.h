// The software NIC model's place in the packet path: between the ports and
// the workers, on its own lcore, as a NIC's flow engine would be.
//
// The model's lcore polls every rx queue of every port (net_af_packet spreads
// a port's traffic over all its qpairs), lets the NicModel match and rewrite,
// transmits matched packets itself on its own tx queue of the egress port, and
// hands the rest to whoever polls that rx queue in software through one SPSC
// ring per (port, queue): worker w reads queue w, the control thread's
// dispatcher queue `workers`; what arrives on the model's own queue goes to the
// dispatcher's ring. Workers install worker_rx() with Worker::set_io, so they
// cannot tell the model from a NIC. A full ring drops and counts
// (to_host_dropped), like a NIC's full rx queue.
#pragma once

#include <rte_mbuf.h>
#include <rte_ring.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "offload/nic_model.h"

namespace wp::offload {

class NicModelIo {
 public:
  using BurstFn = uint16_t (*)(void* ctx, uint16_t port, uint16_t queue, rte_mbuf** pkts, uint16_t n);

  // `ports`: ethdev ids. `consumers`: software rx queues (workers + 1).
  // `rx_queues`: queues per port the model polls (consumers + 1, its own
  // last). Rings are on `socket`. False with `error` set.
  bool init(NicModel& model, const std::vector<uint16_t>& ports, uint16_t consumers, uint16_t rx_queues,
            uint32_t ring_size, int socket, std::string& error);
  ~NicModelIo();

  // Port I/O of the model itself: ethdev by default; tests capture.
  void set_port_io(BurstFn rx, BurstFn tx, void* ctx) {
    rx_ = rx;
    tx_ = tx;
    io_ctx_ = ctx;
  }
  // Worker::set_io functions with ctx = this NicModelIo.
  static uint16_t worker_rx(void* ctx, uint16_t port, uint16_t queue, rte_mbuf** pkts, uint16_t n);
  static uint16_t worker_tx(void* ctx, uint16_t port, uint16_t queue, rte_mbuf** pkts, uint16_t n);

  // One pass over every rx queue; returns packets handled.
  uint32_t poll_once(uint32_t now_ms);
  void run(const std::atomic<bool>& running);  // the lcore body

  uint16_t tx_queue() const { return static_cast<uint16_t>(rx_queues_ - 1); }

 private:
  rte_ring* ring(uint16_t port, uint16_t queue) const {
    return port < ring_base_.size() && ring_base_[port] >= 0 && queue < consumers_
               ? rings_[static_cast<size_t>(ring_base_[port]) + queue]
               : nullptr;
  }
  NicModel* model_ = nullptr;
  std::vector<uint16_t> ports_;
  std::vector<int> ring_base_;  // by port id: index of its first ring, -1 = not ours
  std::vector<rte_ring*> rings_;
  uint16_t consumers_ = 0, rx_queues_ = 0;
  BurstFn rx_, tx_;
  void* io_ctx_ = nullptr;
};

}  // namespace wp::offload
