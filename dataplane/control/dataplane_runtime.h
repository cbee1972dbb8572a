// waypointd's dataplane as one runtime: the DPDK ports, the router model, the
// rings between threads, the path table (and monitor), one worker per EAL
// worker lcore, and the main lcore's share: the control thread and the
// dispatcher that polls every port's extra rx queue. waypointd starts and
// stops it like the other runtimes (mgmt/mgmt_runtime.h,
// offload/offload_runtime.h).
//
// Its calls bracket the other runtimes (waypointd.cc):
//   start         everything the workers need; workers built, not running
//   (other runtimes create the rings workers post into and attach to them)
//   launch        workers onto their lcores (announce: the router is up)
//   stop_workers  shared.running goes false, every launched lcore is joined
//   (other runtimes stop: nothing reads a worker any more)
//   stop          frees DPDK memory before the EAL goes
// Both stops are safe to call twice, and when their start never ran.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config.pb.h"
#include "dataplane/control/control_thread.h"
#include "dataplane/control/linux_cp/punt_interfaces.h"
#include "dataplane/control/ports.h"
#include "dataplane/control/router_model.h"
#include "dataplane/paths/path_monitor.h"
#include "dataplane/worker/shared.h"
#include "dataplane/worker/worker.h"

namespace wp {

class IkeService;  // ike_service.h (its OpenSSL users must not meet IPsec-MB's macros here)

class DataplaneRuntime {
 public:
  DataplaneRuntime();
  ~DataplaneRuntime();
  DataplaneRuntime(const DataplaneRuntime&) = delete;
  DataplaneRuntime& operator=(const DataplaneRuntime&) = delete;

  // `extra_queues`: rx/tx queues per port beyond the workers' and the
  // dispatcher's; with `spare_lcore` one EAL worker lcore more than the
  // workers is kept free (both for the offload NIC model). 0 when started;
  // otherwise waypointd's exit code (1: the config is at fault, 2: resources
  // such as lcores, ports, memory) with `error`.
  int start(const config::Config& cfg, uint16_t extra_queues, bool spare_lcore, std::string& error);
  void launch();
  // Logs the router up and sends gratuitous ARP for every address we hold.
  void announce();
  // One pass of the main lcore: the dispatcher and the control thread (ARP,
  // ICMP, timers). Returns the work done (0: idle).
  uint32_t poll_control();
  void stop_workers();
  void stop();

  DataplaneShared& shared() { return shared_; }
  const config::Config& config() const { return cfg_; }
  std::shared_ptr<const RouterModel> model() const { return model_; }
  Ports& ports() { return ports_; }
  std::vector<uint16_t> port_ids() const;
  uint16_t queues() const { return queues_; }
  uint32_t max_sessions() const { return max_sessions_; }
  uint32_t ring_size() const { return ring_size_; }
  unsigned spare_lcore() const { return spare_lcore_; }  // RTE_MAX_LCORE when none was asked for
  const std::vector<std::unique_ptr<Worker>>& workers() const { return workers_; }
  Worker& dispatcher() { return *dispatcher_; }
  // GET /api/v1/ipsec from any thread: the IKE responder's status, or
  // {"enabled": false, ...} without ipsec_peers.
  std::string ipsec_status_json() const;
  // The IKE service's /metrics section (labels on every sample); empty without ipsec_peers.
  std::string ipsec_metrics(const std::string& labels) const;
  // After the HA thread's prepare(): the IKE service syncs its SAs with the
  // HA peer through DataplaneShared::ha.ike (nothing without ha or ipsec_peers).
  void attach_ike_ha();

 private:
  bool pick_lcores(bool spare_lcore, std::string& error);
  bool start_ports(uint16_t extra_queues, std::string& error);
  bool build_model(std::string& error);
  bool create_rings(std::string& error);
  bool create_workers(std::string& error);
  app::AppClassifierConfig app_config() const;  // the workers' classifiers, from dataplane.app_*
  void create_control();

  config::Config cfg_;
  std::vector<unsigned> lcores_;  // one per worker
  unsigned spare_lcore_ = 0;
  uint16_t queues_ = 0;
  uint32_t max_sessions_ = 0;
  uint32_t ring_size_ = 0;
  Ports ports_;
  std::shared_ptr<const RouterModel> model_;
  DataplaneShared shared_;
  std::unique_ptr<PathTable> path_table_;
  std::unique_ptr<PathMonitor> path_monitor_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<Worker> dispatcher_;
  std::unique_ptr<Control> control_;
  std::unique_ptr<IkeService> ike_;  // after the workers stop: it frees the SA tables they read
  PuntInterfaces punt_;  // empty unless router.punt.enabled
  bool launched_ = false;
};

}  // namespace wp
