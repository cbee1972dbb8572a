// QoS on WAN ports, the state shared between workers (docs/qos.md § Dataplane).
//
// One QosPortShared per shaped WAN port (router.wan[].qos), built once at
// start from the first model (the schedulers, their DSCP map and the rings
// need a restart to change; mgmt/live_commit.cc refuses such commits). The
// port's owner worker (qos port index % workers) alone runs its scheduler;
// every other thread that transmits on the port hands its packets to the
// owner through its own SPSC ring rings[producer] (producers: the workers and
// the control thread's dispatcher, index `workers`). The owner publishes the
// scheduler's per-class counters into `stats` (relaxed atomics) for mgmt.
#pragma once

#include <rte_ring.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/qos/scheduler.h"

namespace wp {

class RouterModel;

// What mgmt reads of one class of one port (the owner's QosClassCounters).
struct QosClassStats {
  std::atomic<uint64_t> enqueued{0}, sent{0}, dropped{0}, sent_bytes{0}, dropped_bytes{0};
  std::atomic<uint64_t> delay_ns_total{0}, delay_ns_max{0}, depth{0};
};
struct alignas(64) QosPortStats {
  std::array<QosClassStats, kQosClasses> cls;
};

struct QosPortShared {
  std::string name;  // the WAN interface's
  int iface = -1;
  uint16_t port_id = 0;
  uint32_t owner = 0;  // the worker that runs `sched`
  uint64_t rate_bps = 0;
  std::unique_ptr<QosScheduler> sched;  // the owner's alone
  std::vector<rte_ring*> rings;         // [producer] -> owner; null for the owner itself
  std::unique_ptr<QosPortStats> stats;
};

struct QosShared {
  std::vector<QosPortShared> ports;
  std::vector<int8_t> port_of_iface;  // by interface index: a ports[] index, or -1 (direct tx)
  std::array<uint8_t, kQosClasses> dscp{};
  bool enabled() const { return !ports.empty(); }
  int port_of(int iface) const {
    return static_cast<size_t>(iface) < port_of_iface.size() ? port_of_iface[static_cast<size_t>(iface)] : -1;
  }
  // Schedulers and rings for every shaped WAN port of `model`; `now_ns` on
  // the qos_now_ns() clock. False with `error` when a ring cannot be made.
  bool setup(const RouterModel& model, uint32_t workers, uint32_t ring_size, int socket, uint64_t now_ns,
             std::string& error);
  void free();  // frees what waits in the rings and the schedulers (workers stopped)
};

// The scheduler clock: the TSC in nanoseconds.
uint64_t qos_now_ns();

}  // namespace wp
