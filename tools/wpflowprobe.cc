// wpflowprobe: runs the offload capability probe (offload/flow_probe.h)
// against the real rte_flow of every ethdev the EAL brings up, and prints one
// JSON line per port: which rule shapes the PMD accepts. Used by
// tests/e2e/test_offload_tap.sh on net_tap, the one vdev here that validates.
//
//   wpflowprobe [-- EAL args, e.g. --vdev net_tap0,iface=wptap0]
// Exit 0 when every port answered, 2 on EAL or port errors.
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "dataplane/control/eal.h"
#include "offload/flow_port_ethdev.h"
#include "offload/flow_probe.h"

int main(int argc, char** argv) {
  if (std::string error; !wp::eal_init(wp::eal_args_after(argc, argv, wp::eal_split(argc, argv)), error)) {
    std::fprintf(stderr, "wpflowprobe: %s\n", error.c_str());
    return 2;
  }
  rte_mempool* pool = rte_pktmbuf_pool_create("probe", 1023, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
  wp::offload::EthdevFlowPort flows;
  int rc = 0;
  uint16_t port;
  RTE_ETH_FOREACH_DEV(port) {
    char name[RTE_ETH_NAME_MAX_LEN] = {};
    rte_eth_dev_get_name_by_port(port, name);
    // PMDs validate against a configured, started port (net_tap needs its queues).
    rte_eth_conf conf{};
    if (rte_eth_dev_configure(port, 1, 1, &conf) != 0 || rte_eth_rx_queue_setup(port, 0, 128, 0, nullptr, pool) != 0 ||
        rte_eth_tx_queue_setup(port, 0, 128, 0, nullptr) != 0 || rte_eth_dev_start(port) != 0) {
      std::fprintf(stderr, "wpflowprobe: %s: cannot start the port\n", name);
      rc = 2;
      continue;
    }
    wp::offload::PortProbe p = wp::offload::probe_port(flows, port, name, port);
    nlohmann::ordered_json j;
    j["port"] = port;
    j["device"] = name;
    j["driver"] = [&] {
      rte_eth_dev_info info{};
      rte_eth_dev_info_get(port, &info);
      return std::string(info.driver_name ? info.driver_name : "");
    }();
    j["can_offload"] = p.can_offload();
    for (const auto& r : p.results)
      j["shapes"].push_back({{"shape", r.shape}, {"needed", r.needed}, {"accepted", r.accepted}, {"error", r.error}});
    wp::offload::FlowRule sample;
    wp::offload::build_sample_session_rule(port, port, 17, sample);
    std::string why;
    j["template_api"] = flows.enable_templates(port, sample, 1024, why);
    if (!why.empty()) j["template_api_error"] = why;
    std::printf("%s\n", j.dump().c_str());
    rte_eth_dev_stop(port);
    rte_eth_dev_close(port);
  }
  rte_eal_cleanup();
  return rc;
}
