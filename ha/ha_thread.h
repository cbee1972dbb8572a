// The HA thread as waypointd runs it (docs/architecture.md § Threads).
//
// prepare() turns the `ha` config section into dataplane state before the
// workers start: the peer's addresses placed on our interfaces, the HA
// session-event rings and the inbound rings. start() runs an HaNode over a
// Corosync CPG connection on its own thread, waking on the CPG fd or every
// millisecond for the batch timer; the node's sync encoder drains the
// workers' event rings and packs on a second thread, the HA sender (#17,
// sync_encoder.h). stop() joins both.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "dataplane/worker/shared.h"
#include "ha/ha_node.h"

namespace wp::ha {

// #19: the peer node's IPv6 waypoints (the model's ha_waypoints6) become
// peer addresses to claim and answer like ha.peer_addresses6, and the
// stand-ins 0.255.254.j its sessions are carried on (control/waypoint6_addr.h).
void take_peer_waypoints6(const RouterModel& rm, HaDataplane& ha);

class HaThread {
 public:
  ~HaThread();
  bool prepare(const config::Config& cfg, DataplaneShared& shared, std::string& error);
  void start();
  void stop();
  const HaStatus* status() const { return node_ ? &node_->status() : nullptr; }

 private:
  std::unique_ptr<HaNode> node_;
  std::string group_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace wp::ha
