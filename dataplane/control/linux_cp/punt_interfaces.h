// The kernel side of the punt path (docs/operations.md § Punt path), like
// VPP's linux-cp: one kernel interface per router interface, in waypointd's
// own network namespace, carrying the interface's MAC, MTU and addresses
// (IPv4, and IPv6 where the interface has ipv6_addresses), so
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
  // the interface's name), and one per IPsec tunnel that has an address
  // (tunnels[].address; punt.ifname_prefix + the tunnel's name: a TUN
  // device, IP without Ethernet, the tunnel's MTU, up, no ARP; IPv6 on with
  // tunnels[].ipv6_address and its fe80:: twin, no ND), rx buffers
  // from `pool`. False with `error` set (and nothing left behind) when one
  // cannot be made.
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

  // A tunnel's kernel interface (TUN: packets start at the IPv4 or IPv6 header).
  // Whether tunnel `tunnel` has one (it has an address).
  bool has_tunnel(int tunnel) const {
    return tunnel >= 0 && static_cast<size_t>(tunnel) < tunnels_.size() &&
           tunnels_[static_cast<size_t>(tunnel)].port_id != kNoPort;
  }
  // Up: `m` (an IPv4 or IPv6 packet, no Ethernet header) to the kernel on the
  // tunnel's interface; false when it did not take it (the caller owns `m`).
  bool tunnel_to_kernel(int tunnel, rte_mbuf* m);
  // Down: up to `n` IPv4 or IPv6 packets the kernel sent out of the tunnel's interface.
  uint16_t tunnel_from_kernel(int tunnel, rte_mbuf** pkts, uint16_t n);
  size_t tunnels() const { return tunnels_.size(); }  // by tunnel index, has_tunnel() or not
  // Sets the tunnel's kernel interface administratively up or down (IFF_UP,
  // what FRR's zebra sees as the interface's state); false when it failed
  // (logged). The address stays; the kernel drops its connected route while down.
  // Linux flushes IPv6 link-local addresses on down (keep_addr_on_down keeps
  // the others), so a TUN's link-local address is added again before each up.
  bool set_tunnel_link(int tunnel, bool up);
  const std::string& tunnel_name(int tunnel) const { return tunnels_[static_cast<size_t>(tunnel)].name; }

 private:
  static constexpr uint16_t kNoPort = UINT16_MAX;
  struct Tap {
    std::string name;    // kernel interface
    std::string device;  // DPDK vdev
    uint16_t port_id;
    Ipv6 link_local6{};  // a tunnel's TUN with an ipv6_address: re-added at each link up
  };
  bool create_one(const InterfaceModel& in, const std::string& name, rte_mempool* pool, std::string& error);
  bool create_tunnel(const TunnelModel& tm, const std::string& name, rte_mempool* pool, std::string& error);
  bool start_port(uint16_t port, uint16_t mtu, rte_mempool* pool, std::string& error);
  bool create_kernel_port(std::vector<Tap>& into, const char* driver, const std::string& device,
                          const std::string& args, const std::string& name, uint16_t mtu, Ipv4 addr,
                          uint8_t prefix_len, bool ipv6, bool mac, rte_mempool* pool, std::string& error);
  bool add_ipv6_addresses(const InterfaceModel& in, const std::string& name, std::string& error);
  std::vector<Tap> taps_;
  std::vector<Tap> tunnels_;  // by tunnel index; port_id kNoPort: no address, no interface
};

}  // namespace wp
