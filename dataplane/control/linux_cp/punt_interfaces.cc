// Kernel interfaces of the punt path; see punt_interfaces.h.
#include "dataplane/control/linux_cp/punt_interfaces.h"

#include <net/if.h>
#include <rte_bus_vdev.h>
#include <rte_dev.h>
#include <rte_devargs.h>
#include <rte_ethdev.h>

#include <cstdio>
#include <fstream>
#include <string_view>

#include "dataplane/control/linux_cp/netlink.h"
#include "dataplane/session/owner.h"

namespace wp {
namespace {

constexpr uint16_t kTapDescriptors = 512;

std::string mac_text(const uint8_t* mac) {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
  return buf;
}

void ipv6_sysctl(const std::string& ifname, const char* key, const char* value) {
  std::ofstream("/proc/sys/net/ipv6/conf/" + ifname + "/" + key) << value << "\n";
}

// Best effort: a kernel interface that speaks only IPv4 sends no IPv6
// router solicitations or MLD reports for us to drop.
void disable_ipv6(const std::string& ifname) { ipv6_sysctl(ifname, "disable_ipv6", "1"); }

// Before the link comes up (#19): an interface with IPv6 addresses gets IPv6
// on its kernel interface, with the dataplane's rules: no Duplicate Address
// Detection (the dataplane runs it for the same addresses, docs/ipv6.md), no
// router advertisements taken or solicited (the router's routes are its
// own), and the link-local address the EUI-64 of the MAC, which is the
// dataplane's link-local address too. A tunnel's TUN has no MAC and no
// neighbors (point to point): no generated link-local address (addr_gen_mode
// 1; the kernel would make a random one the dataplane does not know) but
// the model's (TunnelModel::link_local6) beside the tunnel's ipv6_address,
// kept while the TUN is down (keep_addr_on_down:
// it follows the tunnel's SAs, and Linux would flush IPv6 addresses, not
// IPv4 ones, on every down). Best effort, like disable_ipv6.
void enable_ipv6(const std::string& ifname, bool link_local) {
  if (!link_local) ipv6_sysctl(ifname, "keep_addr_on_down", "1");
  ipv6_sysctl(ifname, "accept_dad", "0");
  ipv6_sysctl(ifname, "dad_transmits", "0");
  ipv6_sysctl(ifname, "accept_ra", "0");
  ipv6_sysctl(ifname, "router_solicitations", "0");
  ipv6_sysctl(ifname, "addr_gen_mode", link_local ? "0" : "1");
  ipv6_sysctl(ifname, "disable_ipv6", "0");
}

// The kernel's own connections (BGP it opens) must not use source ports in
// the waypoint range: on a WAN, answers to those ports are SVR traffic to the
// workers and would never come up the tap.
void keep_ephemeral_ports_below_waypoints() {
  const char* path = "/proc/sys/net/ipv4/ip_local_port_range";
  unsigned lo = 0, hi = 0;
  std::ifstream(path) >> lo >> hi;
  if (hi < kWaypointPortMin) return;
  std::ofstream(path) << "10000 " << kWaypointPortMin - 1 << "\n";
  std::fprintf(stderr, "waypointd: punt: this namespace's ephemeral ports set to 10000-%u (were %u-%u)\n",
               kWaypointPortMin - 1, lo, hi);
}

// A net_af_packet port runs on a kernel interface (a veth) that may sit in
// this very namespace. Its address lives on the tap now, but Linux would
// still take packets for it (and answer ARP for it) on the veth, so the
// kernel would see each packet twice. Strict reverse-path filtering (the
// subnet is routed via the tap) and arp_ignore 8 shut the veth off.
void quiet_kernel_side_of(uint16_t port) {
  rte_eth_dev_info info{};
  if (rte_eth_dev_info_get(port, &info) != 0 || !info.device) return;
  const rte_devargs* da = rte_dev_devargs(info.device);
  if (!da || !da->args || std::string_view(info.driver_name) != "net_af_packet") return;
  std::string args = da->args;
  size_t at = args.find("iface=");
  if (at == std::string::npos) return;
  std::string ifname =
      args.substr(at + 6, args.find(',', at) == std::string::npos ? std::string::npos : args.find(',', at) - at - 6);
  if (if_nametoindex(ifname.c_str()) == 0) return;  // not in this namespace
  std::ofstream("/proc/sys/net/ipv4/conf/" + ifname + "/rp_filter") << "1\n";
  std::ofstream("/proc/sys/net/ipv4/conf/" + ifname + "/arp_ignore") << "8\n";
  disable_ipv6(ifname);
}

}  // namespace

bool PuntInterfaces::create(const RouterModel& rm, rte_mempool* pool, std::string& error) {
  keep_ephemeral_ports_below_waypoints();
  for (const InterfaceModel& in : rm.interfaces) {
    if (create_one(in, rm.punt.ifname_prefix + in.name, pool, error)) continue;
    destroy();
    return false;
  }
  for (const TunnelModel& tm : rm.tunnels) {
    if (tm.addr == 0) {
      tunnels_.push_back({tm.name, "", kNoPort});
      continue;
    }
    if (create_tunnel(tm, rm.punt.ifname_prefix + tm.name, pool, error)) continue;
    destroy();
    return false;
  }
  return true;
}

// The vdev `device` (driver `driver`, `args`) as kernel interface `name`,
// kept in `into` (from then on destroy() removes it), started with `mtu`,
// carrying addr/prefix_len, IPv6 on only with `ipv6` (its addresses are the
// caller's to add; the EUI-64 link-local address only on a tap, `mac`).
bool PuntInterfaces::create_kernel_port(std::vector<Tap>& into, const char* driver, const std::string& device,
                                        const std::string& args, const std::string& name, uint16_t mtu, Ipv4 addr,
                                        uint8_t prefix_len, bool ipv6, bool mac, rte_mempool* pool,
                                        std::string& error) {
  if (if_nametoindex(name.c_str()) != 0)
    return error = "a kernel interface of that name exists already (set router.punt.ifname_prefix)", false;
  if (int rc = rte_vdev_init(device.c_str(), args.c_str()); rc != 0)
    return error = std::string(driver) + " " + args + ": " + rte_strerror(-rc) +
                   " (needs /dev/net/tun and CAP_NET_ADMIN)",
           false;
  uint16_t port = 0;
  if (rte_eth_dev_get_port_by_name(device.c_str(), &port) != 0) {
    rte_vdev_uninit(device.c_str());
    return error = std::string(driver) + " created no port", false;
  }
  into.push_back({name, device, port});
  if (ipv6)
    enable_ipv6(name, mac);
  else
    disable_ipv6(name);
  if (!start_port(port, mtu, pool, error)) return false;
  int ifindex = static_cast<int>(if_nametoindex(name.c_str()));
  if (ifindex == 0) return error = "no kernel interface after start", false;
  return linux_cp::add_ipv4_address(ifindex, addr, prefix_len, error);
}

// A TUN device (DPDK's net_tun, the tap PMD without Ethernet): a tunnel is
// point to point, so the kernel sends its packets without ARP for the peer
// (nor Neighbor Discovery, with an ipv6_address: #19).
bool PuntInterfaces::create_tunnel(const TunnelModel& tm, const std::string& name, rte_mempool* pool,
                                   std::string& error) {
  const std::string device = "net_tun_wp" + std::to_string(tunnels_.size());
  const bool ipv6 = !tm.addr6.is_unspecified();
  auto add6 = [&](const Ipv6& a, uint8_t len) {
    return linux_cp::add_ipv6_address(static_cast<int>(if_nametoindex(name.c_str())), a, len, error);
  };
  if (!create_kernel_port(tunnels_, "net_tun", device, "iface=" + name, name, tm.mtu, tm.addr, tm.subnet.len, ipv6,
                          false, pool, error) ||
      (ipv6 && (!add6(tm.addr6, tm.subnet6.len) || !add6(tm.link_local6, 64))))
    return error = "punt interface " + name + " (tunnel " + tm.name + "): " + error, false;
  if (ipv6) tunnels_.back().link_local6 = tm.link_local6;
  std::fprintf(stderr, "waypointd: punt: tunnel %s is kernel interface %s (mtu %u)\n", tm.name.c_str(), name.c_str(),
               tm.mtu);
  return true;
}

bool PuntInterfaces::create_one(const InterfaceModel& in, const std::string& name, rte_mempool* pool,
                                std::string& error) {
  const std::string device = "net_tap_wp" + std::to_string(taps_.size());
  const std::string args = "iface=" + name + ",mac=" + mac_text(in.mac);
  // addrs6 holds the link-local address alone on an interface without ipv6_addresses.
  const bool ipv6 = in.addrs6.size() > 1;
  if (!create_kernel_port(taps_, "net_tap", device, args, name, in.mtu, in.addr, in.subnet.len, ipv6, true, pool,
                          error) ||
      !add_ipv6_addresses(in, name, error))
    return error = "punt interface " + name + " (" + in.name + "): " + error, false;
  quiet_kernel_side_of(in.port_id);
  std::fprintf(stderr, "waypointd: punt: %s is kernel interface %s (%s)\n", in.name.c_str(), name.c_str(),
               args.c_str());
  return true;
}

// The interface's global IPv6 addresses with their prefixes (the kernel made
// the link-local one itself, from the same MAC).
bool PuntInterfaces::add_ipv6_addresses(const InterfaceModel& in, const std::string& name, std::string& error) {
  const int ifindex = static_cast<int>(if_nametoindex(name.c_str()));
  for (size_t i = 1; i < in.addrs6.size(); ++i)
    if (!linux_cp::add_ipv6_address(ifindex, in.addrs6[i], in.subnets6[i].len, error))
      return error = format_ipv6(in.addrs6[i]) + ": " + error, false;
  return true;
}

bool PuntInterfaces::start_port(uint16_t port, uint16_t mtu, rte_mempool* pool, std::string& error) {
  rte_eth_conf conf{};
  if (int rc = rte_eth_dev_configure(port, 1, 1, &conf); rc != 0) return error = rte_strerror(-rc), false;
  const unsigned socket =
      static_cast<unsigned>(rte_eth_dev_socket_id(port) < 0 ? SOCKET_ID_ANY : rte_eth_dev_socket_id(port));
  if (int rc = rte_eth_rx_queue_setup(port, 0, kTapDescriptors, socket, nullptr, pool); rc != 0)
    return error = std::string("rx queue: ") + rte_strerror(-rc), false;
  if (int rc = rte_eth_tx_queue_setup(port, 0, kTapDescriptors, socket, nullptr); rc != 0)
    return error = std::string("tx queue: ") + rte_strerror(-rc), false;
  if (int rc = rte_eth_dev_set_mtu(port, mtu); rc != 0)
    return error = "MTU " + std::to_string(mtu) + ": " + rte_strerror(-rc), false;
  if (int rc = rte_eth_dev_start(port); rc != 0) return error = std::string("start: ") + rte_strerror(-rc), false;
  return true;
}

void PuntInterfaces::destroy() {
  for (const std::vector<Tap>* v : {&taps_, &tunnels_})
    for (const Tap& t : *v) {
      if (t.port_id == kNoPort) continue;
      rte_eth_dev_stop(t.port_id);
      rte_vdev_uninit(t.device.c_str());
    }
  taps_.clear();
  tunnels_.clear();
}

bool PuntInterfaces::to_kernel(int iface, rte_mbuf* m) {
  return rte_eth_tx_burst(taps_[static_cast<size_t>(iface)].port_id, 0, &m, 1) == 1;
}

uint16_t PuntInterfaces::from_kernel(int iface, rte_mbuf** pkts, uint16_t n) {
  return rte_eth_rx_burst(taps_[static_cast<size_t>(iface)].port_id, 0, pkts, n);
}

bool PuntInterfaces::tunnel_to_kernel(int tunnel, rte_mbuf* m) {
  return rte_eth_tx_burst(tunnels_[static_cast<size_t>(tunnel)].port_id, 0, &m, 1) == 1;
}

uint16_t PuntInterfaces::tunnel_from_kernel(int tunnel, rte_mbuf** pkts, uint16_t n) {
  return rte_eth_rx_burst(tunnels_[static_cast<size_t>(tunnel)].port_id, 0, pkts, n);
}

bool PuntInterfaces::set_tunnel_link(int tunnel, bool up) {
  if (!has_tunnel(tunnel)) return false;
  const Tap& t = tunnels_[static_cast<size_t>(tunnel)];
  // Before the link comes up, so that FRR never sees it up without its
  // link-local address (bgpd would reset an IPv6 session and back off).
  if (up && !t.link_local6.is_unspecified()) {
    std::string error;
    if (!linux_cp::add_ipv6_address(static_cast<int>(if_nametoindex(t.name.c_str())), t.link_local6, 64, error) &&
        error.find("exists") == std::string::npos)
      std::fprintf(stderr, "waypointd: punt: kernel interface %s: link-local address %s: %s\n", t.name.c_str(),
                   format_ipv6(t.link_local6).c_str(), error.c_str());
  }
  const int rc = up ? rte_eth_dev_set_link_up(t.port_id) : rte_eth_dev_set_link_down(t.port_id);
  if (rc != 0) {
    std::fprintf(stderr, "waypointd: punt: kernel interface %s: link %s failed: %s\n", t.name.c_str(),
                 up ? "up" : "down", rte_strerror(-rc));
    return false;
  }
  std::fprintf(stderr, "waypointd: punt: kernel interface %s %s (the tunnel %s outbound SA)\n", t.name.c_str(),
               up ? "up" : "down", up ? "has an" : "has no");
  return true;
}

}  // namespace wp
