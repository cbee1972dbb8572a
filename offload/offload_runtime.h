// wiring for waypointd: picks the flow port (real rte_flow or the
// software NIC model), probes it, starts the manager thread and, for the
// model, its lcore between the ports and the workers. Keeps waypointd's main
// to a few calls.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "config.pb.h"
#include "dataplane/worker/shared.h"
#include "dataplane/worker/worker.h"
#include "offload/flow_port_ethdev.h"
#include "offload/nic_model.h"
#include "offload/nic_model_io.h"
#include "offload/offload_manager.h"

namespace wp::offload {

class OffloadRuntime {
 public:
  // Extra rx/tx queue per port the model needs (its own tx queue).
  static uint16_t extra_queues(const config::Config& cfg) {
    return cfg.offload().enabled() && cfg.offload().nic_model() ? 1 : 0;
  }
  // After DataplaneShared::create_rings, before workers start. `ports`: all
  // ethdev ids; `queues`: per port (workers + 1 + extra_queues). A port that
  // cannot offload is not an error: offload stays off with one log line
  // (active() false). False with `error` only for resources.
  bool start(const config::Config& cfg, DataplaneShared& shared, const std::vector<uint16_t>& ports, uint16_t queues,
             int socket, std::string& error);
  bool active() const { return manager_ != nullptr; }
  bool uses_model() const { return io_ != nullptr; }
  // Worker (or dispatcher) that polls rx queue `queue`: model rings and feedback.
  void attach(Worker& w, bool dispatcher);
  // Launches the model on `lcore` (when used) and the manager thread.
  bool launch(unsigned model_lcore, std::string& error);
  // After shared.running went false, the lcores were joined and nothing
  // calls status_json any more; before the EAL is cleaned up.
  void stop();
  std::string status_json() const;
  // The offload manager's /metrics lines (labels given); empty while offload is off.
  std::string metrics(const std::string& labels) const;

 private:
  std::unique_ptr<NicModel> model_;
  std::unique_ptr<NicModelIo> io_;
  std::unique_ptr<EthdevFlowPort> ethdev_;
  std::unique_ptr<OffloadManager> manager_;
  std::thread thread_;
  DataplaneShared* shared_ = nullptr;
};

}  // namespace wp::offload
