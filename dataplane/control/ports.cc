// Port bring-up; see ports.h.
#include "dataplane/control/ports.h"

#include <rte_ethdev.h>
#include <rte_mbuf.h>

namespace wp {

rte_mempool* Ports::pool(int socket, uint32_t mbufs, std::string& error) {
  if (auto it = pools_.find(socket); it != pools_.end()) return it->second;
  std::string name = "wp_pool_s" + std::to_string(socket < 0 ? 0 : socket);
  rte_mempool* p = rte_pktmbuf_pool_create(name.c_str(), mbufs, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                           socket < 0 ? SOCKET_ID_ANY : socket);
  if (!p)
    error = "cannot create mbuf pool of " + std::to_string(mbufs) + " on socket " + std::to_string(socket) + ": " +
            rte_strerror(rte_errno) + " (give EAL more memory with -m, or lower dataplane.mbufs)";
  pools_[socket] = p;
  return p;
}

rte_mempool* Ports::pool_for_socket(int socket) const {
  auto it = pools_.find(socket);
  return it == pools_.end() ? any_pool() : it->second;
}

std::optional<PortInfoEntry> Ports::find(const std::string& device) const {
  for (const auto& p : ports_)
    if (p.device == device) return p;
  return std::nullopt;
}

bool Ports::start(const config::Config& cfg, uint16_t queues, uint32_t mbufs, std::string& error) {
  std::vector<std::string> devices{cfg.router().lan().device()};
  for (const auto& w : cfg.router().wan()) devices.push_back(w.device());
  for (const auto& dev : devices) {
    uint16_t port;
    if (rte_eth_dev_get_port_by_name(dev.c_str(), &port) != 0) {
      error = "no DPDK port named \"" + dev + "\" (pass it to EAL, e.g. --vdev " + dev + ",iface=...)";
      return false;
    }
    rte_eth_dev_info info;
    if (rte_eth_dev_info_get(port, &info) != 0) return error = "cannot query port " + dev, false;
    if (info.max_rx_queues < queues || info.max_tx_queues < queues) {
      error = "port " + dev + " has " + std::to_string(info.max_rx_queues) + " rx queues; need " +
              std::to_string(queues) + " (workers + 1; for net_af_packet add qpairs=" + std::to_string(queues) + ")";
      return false;
    }
    int socket = rte_eth_dev_socket_id(port);
    rte_mempool* mp = pool(socket, mbufs, error);
    if (!mp) return false;
    rte_eth_conf conf{};
    // Where the port checks IPv4 header checksums, workers trust its verdict (ol_flags).
    if (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM) conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_IPV4_CKSUM;
    if (int rc = rte_eth_dev_configure(port, queues, queues, &conf); rc != 0)
      return error = "configure " + dev + ": " + rte_strerror(-rc), false;
    uint16_t rxd = 1024, txd = 1024;
    rte_eth_dev_adjust_nb_rx_tx_desc(port, &rxd, &txd);
    unsigned sock = socket < 0 ? SOCKET_ID_ANY : static_cast<unsigned>(socket);
    for (uint16_t q = 0; q < queues; ++q) {
      if (int rc = rte_eth_rx_queue_setup(port, q, rxd, sock, nullptr, mp); rc != 0)
        return error = "rx queue " + std::to_string(q) + " of " + dev + ": " + rte_strerror(-rc), false;
      if (int rc = rte_eth_tx_queue_setup(port, q, txd, sock, nullptr); rc != 0)
        return error = "tx queue " + std::to_string(q) + " of " + dev + ": " + rte_strerror(-rc), false;
    }
    if (int rc = rte_eth_dev_start(port); rc != 0) return error = "start " + dev + ": " + rte_strerror(-rc), false;
    rte_eth_promiscuous_enable(port);  // best effort: not every vdev supports it
    PortInfoEntry e{dev, port, socket, {}};
    rte_ether_addr mac;
    rte_eth_macaddr_get(port, &mac);
    std::copy(std::begin(mac.addr_bytes), std::end(mac.addr_bytes), e.mac);
    ports_.push_back(e);
  }
  return true;
}

std::optional<RouterModel::PortInfo> Ports::resolve(const std::string& device, void* ctx) {
  auto entry = static_cast<const Ports*>(ctx)->find(device);
  if (!entry) return std::nullopt;
  RouterModel::PortInfo info{entry->port_id, {}};
  std::copy(std::begin(entry->mac), std::end(entry->mac), info.mac);
  return info;
}

void Ports::stop() {
  for (const auto& p : ports_) {
    rte_eth_dev_stop(p.port_id);
    rte_eth_dev_close(p.port_id);
  }
  ports_.clear();
}

}  // namespace wp
