// QoS transmit step of a worker (docs/qos.md § Dataplane): packets leaving on
// a shaped WAN port, after Tx filled in their Ethernet header.
//
// submit(): the packet is marked with its class's DSCP (IPv4 checksum fixed
// incrementally) and goes into the port's scheduler when this worker owns the
// port, else it is staged for the owner. flush(), once per loop iteration:
// staged packets go to each owner's ring in one burst per port (a full ring
// drops them as qos_ring_full); then, for each port this worker owns, it
// drains the other producers' rings into the scheduler (a full class queue
// drops as qos_queue_full), dequeues what the shapers allow now and sends it
// in bursts, and publishes the class counters. So the port's rate holds
// however many workers transmit on it. Ports without QoS never come here
// (Tx::transmit checks one byte). Nothing locks or allocates.
//
// Both families: the DSCP is an IPv4 header's TOS or an IPv6 header's
// Traffic Class (ECN kept either way), other EtherTypes are not marked.
//
// The class travels in the mbuf (hash.sched.traffic_class), as the class + 1:
// set by Emit from the session (Session::qos_class), by MetadataOnly, and by
// the routed IPv6, NAT64 and NAT46 steps from the service. 0 is none
// (best-effort): what a packet the worker received or built carries
// (Worker::dispatch and the builders clear it), so a class left in a recycled
// mbuf by its previous packet, or the zero of a fresh pool, is never read as
// one.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>
#include <vector>

#include "dataplane/qos/scheduler.h"
#include "dataplane/worker/context.h"

namespace wp {

inline void set_qos_class(rte_mbuf* m, uint8_t cls) { m->hash.sched.traffic_class = static_cast<uint8_t>(cls + 1); }
inline void clear_qos_class(rte_mbuf* m) { m->hash.sched.traffic_class = 0; }
inline void copy_qos_class(rte_mbuf* to, const rte_mbuf* from) {
  to->hash.sched.traffic_class = from->hash.sched.traffic_class;
}
inline QosClass qos_class_of(const rte_mbuf* m) {
  const uint8_t c = static_cast<uint8_t>(m->hash.sched.traffic_class - 1);  // none wraps to 255
  return c < kQosClasses ? static_cast<QosClass>(c) : QosClass::best_effort;
}

// Rewrites the DSCP of the IPv4 header at `ip` (ECN kept), checksum updated incrementally.
void mark_dscp(uint8_t* ip, uint8_t dscp);
// The same in the Traffic Class of the IPv6 header at `ip` (ECN and the flow label kept; no checksum).
void mark_dscp6(uint8_t* ip, uint8_t dscp);

class QosTx {
 public:
  using TxFn = uint16_t (*)(void* ctx, uint16_t port, uint16_t queue, rte_mbuf** pkts, uint16_t n);
  using ClockFn = uint64_t (*)(void* ctx);

  explicit QosTx(WorkerContext& ctx);
  void set_io(TxFn fn, void* io_ctx) {
    fn_ = fn;
    io_ctx_ = io_ctx;
  }
  void set_queue(uint16_t queue) { queue_ = queue; }
  void set_clock(ClockFn fn, void* clock_ctx) {  // tests: a simulated clock
    clock_ = fn;
    clock_ctx_ = clock_ctx;
  }

  // The QoS port index of `iface`, or -1 for direct transmit.
  int port_of(int iface) const { return ctx_.shared.qos.port_of(iface); }
  // A frame (Ethernet header filled) for shaped QoS port `qport`.
  void submit(rte_mbuf* m, int qport);
  // End of an iteration; returns the packets this worker sent for the ports it owns.
  uint32_t flush();
  void drop_staged();  // the worker is stopping

 private:
  uint64_t now_ns() { return clock_ ? clock_(clock_ctx_) : qos_now_ns(); }
  // The clock read once per burst (a read is a TSC read and two divisions):
  // submit() between two flushes stamps its packets with the first read.
  uint64_t burst_now() {
    if (!now_valid_) {
      now_ = now_ns();
      now_valid_ = true;
    }
    return now_;
  }
  void enqueue(QosPortShared& p, rte_mbuf* m, uint64_t now);
  uint32_t run_port(QosPortShared& p, uint64_t now);
  void publish(const QosPortShared& p);

  WorkerContext& ctx_;
  TxFn fn_;
  void* io_ctx_ = nullptr;
  uint16_t queue_ = 0;
  ClockFn clock_ = nullptr;
  void* clock_ctx_ = nullptr;
  uint64_t now_ = 0;
  bool now_valid_ = false;
  struct Staged {
    uint16_t count = 0;
    rte_mbuf* pkts[kMaxBurst];
  };
  std::vector<Staged> staged_;  // by QoS port (other owners' ports)
  std::vector<uint32_t> owned_;  // QoS ports this worker owns
};

}  // namespace wp
