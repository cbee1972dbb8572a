// Transmit side of a worker: L2 header from the neighbor table, one buffer
// per interface, flushed as a burst once per loop iteration (or when full).
// A packet whose next hop has no MAC yet goes to the control thread's resolve
// ring and leaves from there once ARP answers (control/control_thread.h).
#pragma once

#include <rte_mbuf.h>

#include <array>
#include <cstdint>
#include <vector>

#include "dataplane/control/neighbor.h"
#include "dataplane/control/neighbor6.h"
#include "dataplane/ip/ipv4.h"
#include "dataplane/worker/context.h"
#include "dataplane/worker/qos_tx.h"

namespace wp {

class Tx {
 public:
  using TxFn = uint16_t (*)(void* ctx, uint16_t port, uint16_t queue, rte_mbuf** pkts, uint16_t n);

  // `qos`: the worker's QoS step, which takes frames for shaped WAN ports (null = none).
  explicit Tx(WorkerContext& ctx, QosTx* qos = nullptr);
  void set_io(TxFn fn, void* io_ctx) {
    fn_ = fn;
    io_ctx_ = io_ctx;
  }
  void set_queue(uint16_t queue) { queue_ = queue; }

  // Ethernet addresses filled in and queued on `iface`; sent by flush().
  void transmit(rte_mbuf* m, int iface, Ipv4 next_hop);
  // An IPv6 frame to its on-link destination (the IPv6 header's): Neighbor
  // Discovery's MAC, or the control thread's resolve ring meanwhile.
  void transmit6(rte_mbuf* m, int iface);
  // An IPv6 frame to on-link `next_hop` (a routed packet's gateway, or its destination).
  void transmit6(rte_mbuf* m, int iface, const Ipv6& next_hop);
  void flush();

 private:
  void send(size_t iface);
  // Source MAC of `iface` and the EtherType written; the destination MAC is the caller's.
  void write_l2(uint8_t* eth, int iface, uint16_t ethertype) const;
  // Into `iface`'s burst buffer, sent when full.
  void queue(rte_mbuf* m, int iface);
  // A shaped WAN port's frames go to the QoS step (its class in the mbuf, worker/qos_tx.h), others to queue().
  void queue_or_shape(rte_mbuf* m, int iface);
  struct Buffer {
    uint16_t count = 0;
    rte_mbuf* pkts[kMaxBurst];
  };
  // Where the next hops this worker sends to were found in the neighbor table
  // (NeighborTable::Hint), direct-mapped by address: most packets go to a few next hops.
  static constexpr size_t kNextHopHints = 16;
  NeighborTable::Hint& hint_for(int iface, Ipv4 next_hop) {
    return next_hop_hints_[(next_hop ^ (next_hop >> 8) ^ static_cast<uint32_t>(iface)) % kNextHopHints];
  }
  std::array<NeighborTable::Hint, kNextHopHints> next_hop_hints_{};
  // The same for IPv6 next hops (Neighbor6Table::Hint).
  Neighbor6Table::Hint& hint6_for(int iface, const Ipv6& next_hop) {
    const uint64_t x = next_hop.lo ^ next_hop.hi;
    return next_hop_hints6_[(x ^ (x >> 8) ^ (x >> 32) ^ static_cast<uint64_t>(iface)) % kNextHopHints];
  }
  std::array<Neighbor6Table::Hint, kNextHopHints> next_hop_hints6_{};
  WorkerContext& ctx_;
  QosTx* qos_;
  TxFn fn_;
  void* io_ctx_ = nullptr;
  uint16_t queue_ = 0;
  std::vector<Buffer> buffers_;  // by interface index
};

}  // namespace wp
