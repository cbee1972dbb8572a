// waypointd's dataplane bring-up; see dataplane_runtime.h.
#include "dataplane/control/dataplane_runtime.h"

#include <intel-ipsec-mb.h>
#include <rte_cycles.h>
#include <rte_launch.h>
#include <rte_lcore.h>

#include <algorithm>
#include <cstdio>
#include <random>

#include "dataplane/control/ike_ha_answers.h"
#include "dataplane/control/ike_service.h"

namespace wp {
namespace {

int worker_main(void* arg) {
  static_cast<Worker*>(arg)->run();
  return 0;
}

uint32_t per_worker(uint32_t total, uint32_t workers) { return (total + workers - 1) / workers; }

}  // namespace

DataplaneRuntime::DataplaneRuntime() = default;

DataplaneRuntime::~DataplaneRuntime() {
  stop_workers();
  stop();
}

int DataplaneRuntime::start(const config::Config& cfg, uint16_t extra_queues, bool spare_lcore, std::string& error) {
  cfg_ = cfg;
  if (!pick_lcores(spare_lcore, error) || !start_ports(extra_queues, error)) return 2;
  if (!build_model(error)) return 1;
  if (!create_rings(error) || !create_workers(error)) return 2;
  create_control();
  if (model_->punt.enabled) {
    if (!punt_.create(*model_, ports_.any_pool(), error)) return 2;
    control_->set_punt(&punt_);
  }
  return 0;
}

bool DataplaneRuntime::pick_lcores(bool spare_lcore, std::string& error) {
  unsigned lc;
  RTE_LCORE_FOREACH_WORKER(lc) lcores_.push_back(lc);
  const uint32_t available = static_cast<uint32_t>(lcores_.size());
  const uint32_t workers = cfg_.dataplane().workers() ? cfg_.dataplane().workers() : available;
  if (workers == 0 || workers > available)
    return error = "dataplane.workers=" + std::to_string(workers) + " but EAL gave " + std::to_string(available) +
                   " worker lcore(s); add lcores with -l/--lcores (the main lcore runs control)",
           false;
  spare_lcore_ = RTE_MAX_LCORE;
  if (spare_lcore) {
    if (available == workers)
      return error = "offload.nic_model needs one more EAL lcore than dataplane.workers (" + std::to_string(workers) +
                     "); add one with -l/--lcores",
             false;
    spare_lcore_ = lcores_[workers];
  }
  lcores_.resize(workers);
  return true;
}

bool DataplaneRuntime::start_ports(uint16_t extra_queues, std::string& error) {
  const uint32_t workers = static_cast<uint32_t>(lcores_.size());
  // Default pool: every rx descriptor filled plus room for packets in flight
  // in rings, tx queues and ARP pending queues.
  const uint32_t ports = 1 + static_cast<uint32_t>(cfg_.router().wan_size());
  const uint32_t mbufs = cfg_.dataplane().mbufs() ? cfg_.dataplane().mbufs() : 16383 + ports * (workers + 1) * 1024;
  queues_ = static_cast<uint16_t>(workers + 1 + extra_queues);  // + the dispatcher's
  return ports_.start(cfg_, queues_, mbufs, error);
}

bool DataplaneRuntime::build_model(std::string& error) {
  HmacEngine hmac;  // derives the peer keys; the model keeps only the keys
  if (!hmac.ok()) return error = "Intel IPsec-MB manager could not be initialised", false;
  std::fprintf(stderr, "waypointd: IPsec-MB %s, arch %s\n", imb_get_version_str(), std::string(hmac.arch()).c_str());
  model_ = RouterModel::build(cfg_, Ports::resolve, &ports_, hmac, error);
  return model_ != nullptr;
}

bool DataplaneRuntime::create_rings(std::string& error) {
  shared_.model.store(model_.get());
  shared_.timeouts = {model_->tcp_established_s * 1000, model_->tcp_transitory_s * 1000, model_->udp_s * 1000};
  ring_size_ = cfg_.dataplane().ring_size() ? cfg_.dataplane().ring_size() : 4096;
  const uint32_t workers = static_cast<uint32_t>(lcores_.size());
  std::vector<int> sockets;  // each worker's rings on its own socket
  for (unsigned l : lcores_) sockets.push_back(static_cast<int>(rte_lcore_to_socket_id(l)));
  if (!shared_.create_rings(workers, ring_size_, static_cast<int>(rte_socket_id()), error, &sockets)) return false;
  // QoS: a scheduler and its rings per shaped WAN port, fixed until restart (docs/qos.md).
  if (!shared_.qos.setup(*model_, workers, ring_size_, static_cast<int>(rte_socket_id()), qos_now_ns(), error))
    return false;
  // The path table always (it places sessions on paths); BFD and probes only
  // with path_monitoring configured.
  path_table_ = std::make_unique<PathTable>(*model_, cfg_, workers, cfg_.has_path_monitoring());
  shared_.paths = path_table_.get();
  shared_.control_pool = ports_.any_pool();
  if (cfg_.has_path_monitoring())
    path_monitor_ = std::make_unique<PathMonitor>(*path_table_, PathMonitorConfig::from(cfg_.path_monitoring()),
                                                  ports_.any_pool(), std::random_device{}());
  return true;
}

app::AppClassifierConfig DataplaneRuntime::app_config() const {
  app::AppClassifierConfig c;
  if (cfg_.dataplane().app_packets()) c.max_packets = static_cast<uint16_t>(cfg_.dataplane().app_packets());
  if (cfg_.dataplane().app_sessions()) c.max_flows = cfg_.dataplane().app_sessions();
  return c;
}

bool DataplaneRuntime::create_workers(std::string& error) {
  const uint32_t workers = static_cast<uint32_t>(lcores_.size());
  max_sessions_ = cfg_.dataplane().max_sessions() ? cfg_.dataplane().max_sessions() : 1u << 20;
  const uint32_t sessions = per_worker(max_sessions_, workers);
  // Per-worker key slab; a fresh manager tells which arch the workers' bursts use.
  const uint32_t crypto = cfg_.dataplane().crypto_sessions() ? cfg_.dataplane().crypto_sessions() : max_sessions_ / 8;
  shared_.key_slots = std::max<uint32_t>(per_worker(crypto, workers), 1024);
  {
    CryptoEngine probe;
    if (!probe.ok()) return error = "Intel IPsec-MB: no usable architecture for AES-CBC + HMAC bursts", false;
    std::fprintf(stderr,
                 "waypointd: session crypto AES-256-CBC + HMAC-SHA256-128, IPsec-MB arch %s, %u key slots/worker\n",
                 std::string(probe.arch()).c_str(), shared_.key_slots);
  }
  const std::vector<uint16_t> ids = port_ids();
  for (uint32_t w = 0; w < workers; ++w) {
    int socket =
        static_cast<int>(rte_lcore_to_socket_id(lcores_[w]));  // the session table lives on the worker's socket
    workers_.push_back(std::make_unique<Worker>(w, shared_, sessions, socket));
    if (!workers_.back()->ok())
      return error = "worker " + std::to_string(w) + ": cannot allocate a session table of " +
                     std::to_string(sessions) + " sessions and " + std::to_string(shared_.key_slots) +
                     " key slots, or IPsec-MB/IV source failed (give EAL more memory with -m)",
             false;
    workers_.back()->set_ports(ids, static_cast<uint16_t>(w), static_cast<uint16_t>(cfg_.dataplane().burst()));
    if (!workers_.back()->enable_apps(app_config(), error)) return error = "worker " + std::to_string(w) + ": " + error, false;
  }
  return true;
}

// The main lcore polls the extra rx queue of every port through a dispatcher
// that owns no sessions, and runs the control thread beside it.
void DataplaneRuntime::create_control() {
  const uint32_t workers = static_cast<uint32_t>(lcores_.size());
  dispatcher_ = std::make_unique<Worker>(workers, shared_, 16, static_cast<int>(rte_socket_id()));
  dispatcher_->set_ports(port_ids(), static_cast<uint16_t>(workers), 32);
  control_ = std::make_unique<Control>(shared_, ports_.any_pool(), static_cast<uint16_t>(workers));
  control_->set_path_monitor(path_monitor_.get());
  control_->set_dispatcher(dispatcher_.get());
  if (IkeService::wanted(cfg_)) {
    IkeService::Readers readers;
    for (uint32_t w = 0; w <= workers; ++w) readers.push_back(&shared_.counters[w].epoch);
    ike_ = std::make_unique<IkeService>(cfg_, shared_.esp, std::move(readers), [](const std::string& line) {
      std::fprintf(stderr, "waypointd: %s\n", line.c_str());
    });
    ike_->set_tunnel_counters(shared_.esp_counters.get(), workers + 1);
    ike_->set_sa_counters(shared_.esp_sa_counters.get());
    ike_->set_path_mtu(&shared_.esp_path_mtu);
    control_->set_ike(ike_.get());
    std::fprintf(stderr, "waypointd: ike: responder for %d IPsec peer(s) on UDP 500/4500 of the WAN addresses\n",
                 cfg_.ipsec_peers_size());
  }
}

void DataplaneRuntime::attach_ike_ha() {
  if (!ike_ || !shared_.ha.enabled || !cfg_.has_ha()) return;
  HaDataplane& ha = shared_.ha;
  // The peer's IPv4 waypoints and ha.peer_addresses6 are ours only after a takeover.
  ike_->set_ha(&ha.ike, cfg_.ha().node_id(), shared_.esp_seq_marks.get(),
               [&ha](const IpAddress& local) { return ike_ha_answers(ha, local); });
}

std::string DataplaneRuntime::ipsec_status_json() const {
  if (ike_) return ike_->status_json();
  return R"({"enabled": false, "ike_sas": [], "child_sas": [], "counters": {}, "refused": {}})";
}

std::string DataplaneRuntime::ipsec_metrics(const std::string& labels) const {
  return ike_ ? ike_->metrics(labels) : std::string();
}

std::vector<uint16_t> DataplaneRuntime::port_ids() const {
  std::vector<uint16_t> ids;
  for (const auto& p : ports_.ports()) ids.push_back(p.port_id);
  return ids;
}

void DataplaneRuntime::launch() {
  for (size_t w = 0; w < workers_.size(); ++w) rte_eal_remote_launch(worker_main, workers_[w].get(), lcores_[w]);
  launched_ = true;
}

void DataplaneRuntime::announce() {
  std::fprintf(stderr, "waypointd: router %s up: %zu worker(s), %zu port(s), %u sessions/worker\n",
               model_->name.c_str(), workers_.size(), ports_.ports().size(),
               per_worker(max_sessions_, static_cast<uint32_t>(workers_.size())));
  control_->announce();
}

uint32_t DataplaneRuntime::poll_control() {
  dispatcher_->set_now_ms(static_cast<uint32_t>(rte_get_tsc_cycles() / (rte_get_tsc_hz() / 1000)));
  return dispatcher_->poll_once() + control_->poll_once(dispatcher_->now_ms());
}

void DataplaneRuntime::stop_workers() {
  shared_.running.store(false);
  if (launched_) rte_eal_mp_wait_lcore();  // the workers and any other lcore a runtime launched
  launched_ = false;
}

void DataplaneRuntime::stop() {
  if (control_) {  // the ports still run
    control_->retire_router_adverts();
    control_->retire_mld();
  }
  // Everything holding DPDK memory goes before the EAL does.
  workers_.clear();
  dispatcher_.reset();
  control_.reset();
  ike_.reset();
  punt_.destroy();
  ports_.stop();
  shared_.free_rings();  // every runtime's rings: nothing polls them any more
}

}  // namespace wp
