// The kernel side of the punt path (docs/operations.md § Punt path), like
// VPP's linux-cp: one kernel interface per router interface, in waypointd's
// own network namespace, carrying the interface's MAC, MTU and address, so
// routing daemons (FRR) bind, peer and advertise as on a plain Linux router.
//
// Each is DPDK's net_tap PMD (a TUN/TAP device driven by read/write on the
// control lcore). virtio_user over /dev/vhost-net would move packets in a
// kernel thread instead, but needs the vhost_net module, which our hosts lack
// (docs/operations.md gives the measured rates). Only the control thread
// touches these ports: workers reach them through their to-control rings.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>
#include <string>
#include <vector>

#include "dataplane/control/router_model.h"

namespace wp {

class PuntInterfaces {
 public:
  PuntInterfaces() = default;
  ~PuntInterfaces() { destroy(); }
  PuntInterfaces(const PuntInterfaces&) = delete;
  PuntInterfaces& operator=(const PuntInterfaces&) = delete;

  // One kernel interface per interface of `rm` (named punt.ifname_prefix +
  // the interface's name), rx buffers from `pool`. False with `error` set
  // (and nothing left behind) when one cannot be made.
  bool create(const RouterModel& rm, rte_mempool* pool, std::string& error);
  void destroy();
  bool empty() const { return taps_.empty(); }

  // Up: hands `m` to the kernel on interface `iface`'s tap. False when the
  // tap did not take it; the caller still owns `m` then.
  bool to_kernel(int iface, rte_mbuf* m);
  // Down: up to `n` frames the kernel sent out of `iface`'s tap.
  uint16_t from_kernel(int iface, rte_mbuf** pkts, uint16_t n);
  size_t size() const { return taps_.size(); }
  const std::string& name(int iface) const { return taps_[static_cast<size_t>(iface)].name; }

 private:
  struct Tap {
    std::string name;    // kernel interface
    std::string device;  // DPDK vdev
    uint16_t port_id;
  };
  bool create_one(const InterfaceModel& in, const std::string& name, rte_mempool* pool, std::string& error);
  bool start_port(uint16_t port, uint16_t mtu, rte_mempool* pool, std::string& error);
  std::vector<Tap> taps_;
};

}  // namespace wp
