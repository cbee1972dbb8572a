// wiring; see offload_runtime.h.
#include "offload/offload_runtime.h"

#include <rte_launch.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "offload/flow_probe.h"

namespace wp::offload {

bool OffloadRuntime::start(const config::Config& cfg, DataplaneShared& shared, const std::vector<uint16_t>& ports,
                           uint16_t queues, int socket, std::string& error) {
  const config::Offload& oc = cfg.offload();
  if (!oc.enabled()) return true;
  shared_ = &shared;
  OffloadOptions opt;
  if (oc.max_rules()) opt.max_rules = oc.max_rules();
  if (oc.poll_ms()) opt.poll_ms = oc.poll_ms();
  uint32_t ring = oc.ring_size() ? oc.ring_size() : 4096;
  FlowPort* flows;
  if (oc.nic_model()) {
    model_ = std::make_unique<NicModel>(opt.max_rules + 4 * static_cast<uint32_t>(ports.size()));  // + punt rules
    if (!model_->ok()) return error = "offload: NIC model rings could not be allocated", false;
    flows = model_.get();
  } else {
    ethdev_ = std::make_unique<EthdevFlowPort>();
    flows = ethdev_.get();
  }
  const RouterModel& rm = *shared.model.load();
  // Probe every port against the rule shapes we need before anything depends on them.
  for (const InterfaceModel& itf : rm.interfaces) {
    uint16_t out = rm.interfaces[itf.wan ? 0 : (rm.interfaces.size() > 1 ? 1 : 0)].port_id;
    PortProbe p = probe_port(*flows, itf.port_id, itf.device, out);
    std::fprintf(stderr, "waypointd: offload probe %s (%s): %s\n", itf.device.c_str(), flows->name(),
                 p.summary().c_str());
    if (!p.can_offload()) {
      std::fprintf(stderr, "waypointd: offload: port %s cannot offload sessions; forwarding in software\n",
                   itf.device.c_str());
      model_.reset();
      ethdev_.reset();
      return true;
    }
  }
  if (ethdev_) {
    for (const InterfaceModel& itf : rm.interfaces) {
      FlowRule sample;
      build_sample_session_rule(itf.port_id, itf.port_id, kProtoUdp, sample);
      std::string why;
      bool t = ethdev_->enable_templates(itf.port_id, sample, opt.max_rules, why);
      std::fprintf(stderr, "waypointd: offload %s: %s\n", itf.device.c_str(),
                   t ? "template/async flow API" : ("classic rte_flow_create (" + why + ")").c_str());
    }
  }
  manager_ = std::make_unique<OffloadManager>(shared, *flows, opt);
  if (!manager_->init(ring, socket, error)) return false;
  if (!manager_->install_port_rules(error)) {
    std::fprintf(stderr, "waypointd: %s; forwarding in software\n", error.c_str());
    error.clear();
    manager_->shutdown();
    manager_.reset();
    return true;
  }
  if (model_) {
    io_ = std::make_unique<NicModelIo>();
    uint16_t consumers = static_cast<uint16_t>(shared.workers + 1);
    if (!io_->init(*model_, ports, consumers, queues, ring, socket, error)) return false;
  }
  std::fprintf(stderr, "waypointd: offload on (%s), max_rules %u, poll %u ms\n", flows->name(), opt.max_rules,
               opt.poll_ms);
  return true;
}

void OffloadRuntime::attach(Worker& w, bool dispatcher) {
  if (!manager_) return;
  if (!dispatcher) {
    w.offload().set_ring(manager_->feedback_ring(w.id()));
    w.offload().set_ring6(manager_->feedback6_ring(w.id()));
  }
  if (io_) w.set_io(NicModelIo::worker_rx, NicModelIo::worker_tx, io_.get());
}

namespace {
int model_main(void* arg) {
  auto* self = static_cast<std::pair<NicModelIo*, DataplaneShared*>*>(arg);
  self->first->run(self->second->running);
  return 0;
}
}  // namespace

bool OffloadRuntime::launch(unsigned model_lcore, std::string& error) {
  if (!manager_) return true;
  if (io_) {
    static std::pair<NicModelIo*, DataplaneShared*> arg;
    arg = {io_.get(), shared_};
    if (rte_eal_remote_launch(model_main, &arg, model_lcore) != 0)
      return error = "offload: cannot launch the NIC model on lcore " + std::to_string(model_lcore), false;
  }
  thread_ = std::thread([this] { manager_->run(shared_->running); });
  return true;
}

void OffloadRuntime::stop() {
  if (thread_.joinable()) thread_.join();
  if (manager_) manager_->shutdown();
  manager_.reset();
  io_.reset();  // frees packets still in the model's rings
  model_.reset();
  ethdev_.reset();
}

std::string OffloadRuntime::metrics(const std::string& labels) const {
  return manager_ ? manager_->metrics(labels) : std::string();
}

std::string OffloadRuntime::status_json() const {
  if (!manager_) return R"({"enabled": false})";
  nlohmann::ordered_json j = nlohmann::ordered_json::parse(manager_->status_json());
  if (model_) {
    NicModelCounters& c = model_->counters();
    j["nic_model"] = {{"rules_active", model_->rules_active()},
                      {"rx", c.rx.load()},
                      {"hits", c.hits.load()},
                      {"misses", c.misses.load()},
                      {"punted", c.punted.load()},
                      {"tx", c.tx.load()},
                      {"tx_dropped", c.tx_dropped.load()},
                      {"to_host_dropped", c.to_host_dropped.load()},
                      {"rules_installed", c.rules_installed.load()},
                      {"rules_removed", c.rules_removed.load()},
                      {"rules_refused", c.rules_refused.load()},
                      {"rules_aged", c.rules_aged.load()}};
  }
  return j.dump();
}

}  // namespace wp::offload
