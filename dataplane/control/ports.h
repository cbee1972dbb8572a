// DPDK port bring-up, NUMA-aware (docs/architecture.md § Threads).
//
// Every configured interface names an ethdev. Each port gets `queues` rx and
// tx queue pairs (one per worker plus one for the control thread), with rx
// buffers from a mempool on the port's own NUMA socket (one pool per socket,
// shared by the ports on it). Errors say which port and what to change.
#pragma once

#include <rte_mempool.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config.pb.h"
#include "dataplane/control/router_model.h"

namespace wp {

namespace config = ::waypoint::config;

struct PortInfoEntry {
  std::string device;
  uint16_t port_id;
  int socket;
  uint8_t mac[6];
};

class Ports {
 public:
  // Resolves and starts every interface of `cfg`. False with `error` set.
  bool start(const config::Config& cfg, uint16_t queues, uint32_t mbufs_per_socket, std::string& error);
  void stop();
  const std::vector<PortInfoEntry>& ports() const { return ports_; }
  std::optional<PortInfoEntry> find(const std::string& device) const;
  rte_mempool* pool_for_socket(int socket) const;
  rte_mempool* any_pool() const { return pools_.empty() ? nullptr : pools_.begin()->second; }
  // RouterModel::PortResolver over a started Ports (ctx = the Ports).
  static std::optional<RouterModel::PortInfo> resolve(const std::string& device, void* ctx);

 private:
  rte_mempool* pool(int socket, uint32_t mbufs, std::string& error);
  std::vector<PortInfoEntry> ports_;
  std::map<int, rte_mempool*> pools_;
};

}  // namespace wp
