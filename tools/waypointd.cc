// waypointd: the Waypoint router daemon.
//
//   waypointd --config FILE [--check] [-- EAL args]
//
// Foreground, logs to stderr, systemd-friendly: exit 0 after a clean
// SIGTERM/SIGINT shutdown, 1 for bad configuration, 2 for a runtime start
// failure (EAL, ports, memory). SIGUSR1 prints the stats JSON to stderr.
// Threads: one worker per EAL worker lcore; the main lcore runs the control
// thread (ARP/ICMP, the dispatcher for the control rx queue, stats dumps);
// the stats endpoint runs on its own thread.
#include <intel-ipsec-mb.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <memory>
#include <random>
#include <vector>

#include "dataplane/control.h"
#include "dataplane/path_monitor.h"  // #9 paths
#include "dataplane/ports.h"
#include "dataplane/router_model.h"
#include "dataplane/worker.h"
#include "ha/ha_thread.h"  // #6 HA
#include "mgmt/config_load.h"
#include "mgmt/stats.h"

namespace {

volatile std::sig_atomic_t g_stop = 0;
volatile std::sig_atomic_t g_dump = 0;

void on_signal(int sig) {
  if (sig == SIGUSR1)
    g_dump = 1;
  else
    g_stop = 1;
}

int fail(int code, const std::string& msg) {
  std::fprintf(stderr, "waypointd: %s\n", msg.c_str());
  return code;
}

int worker_main(void* arg) {
  static_cast<wp::Worker*>(arg)->run();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Our options come before "--", EAL's after it.
  int split = argc;
  for (int i = 1; i < argc; ++i)
    if (std::string(argv[i]) == "--") {
      split = i;
      break;
    }
  CLI::App app{"Waypoint SVR router daemon"};
  std::string config_path;
  bool check = false;
  app.add_option("--config", config_path, "YAML/JSON configuration file")->required();
  app.add_flag("--check", check, "validate the configuration and exit (0 valid, 1 invalid)");
  try {
    app.parse(split, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  wp::mgmt::ConfigResult loaded = wp::mgmt::load_config_file(config_path);
  if (!loaded.ok()) {
    std::fprintf(stderr, "%s: %zu error(s)\n%s", config_path.c_str(), loaded.errors.size(),
                 loaded.error_text().c_str());
    return 1;
  }
  if (check) {
    std::printf("%s: configuration is valid\n", config_path.c_str());
    return 0;
  }
  const wp::config::Config& cfg = loaded.config;

  std::vector<char*> eal_argv{argv[0]};
  for (int i = split + 1; i < argc; ++i) eal_argv.push_back(argv[i]);
  if (rte_eal_init(static_cast<int>(eal_argv.size()), eal_argv.data()) < 0)
    return fail(2, std::string("EAL init failed: ") + rte_strerror(rte_errno));
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);
  std::signal(SIGUSR1, on_signal);

  std::vector<unsigned> lcores;
  unsigned lc;
  RTE_LCORE_FOREACH_WORKER(lc) lcores.push_back(lc);
  uint32_t workers = cfg.dataplane().workers() ? cfg.dataplane().workers() : static_cast<uint32_t>(lcores.size());
  if (workers == 0 || workers > lcores.size())
    return fail(2, "dataplane.workers=" + std::to_string(workers) + " but EAL gave " + std::to_string(lcores.size()) +
                       " worker lcore(s); add lcores with -l/--lcores (the main lcore runs control)");
  lcores.resize(workers);

  // Default pool: every rx descriptor filled plus room for packets in flight in
  // rings, tx queues and ARP pending queues.
  uint32_t ports_n = 1 + static_cast<uint32_t>(cfg.router().wan_size());
  uint32_t mbufs = cfg.dataplane().mbufs() ? cfg.dataplane().mbufs() : 16383 + ports_n * (workers + 1) * 1024;
  wp::Ports ports;
  std::string error;
  if (!ports.start(cfg, static_cast<uint16_t>(workers + 1), mbufs, error)) return fail(2, error);

  wp::HmacEngine control_hmac;
  if (!control_hmac.ok()) return fail(2, "Intel IPsec-MB manager could not be initialised");
  std::fprintf(stderr, "waypointd: IPsec-MB %s, arch %s\n", imb_get_version_str(),
               std::string(control_hmac.arch()).c_str());
  auto model = wp::RouterModel::build(cfg, wp::Ports::resolve, &ports, control_hmac, error);
  if (!model) return fail(1, error);

  wp::DataplaneShared shared;
  shared.model.store(model.get());
  shared.timeouts = {model->tcp_established_s * 1000, model->tcp_transitory_s * 1000, model->udp_s * 1000};
  uint32_t ring_size = cfg.dataplane().ring_size() ? cfg.dataplane().ring_size() : 4096;
  std::vector<int> worker_sockets;
  for (unsigned l : lcores) worker_sockets.push_back(static_cast<int>(rte_lcore_to_socket_id(l)));
  if (!shared.create_rings(workers, ring_size, static_cast<int>(rte_socket_id()), error, &worker_sockets))
    return fail(2, error);
  // #9 paths: the path table always (it places sessions on paths); BFD and
  // probes only with path_monitoring configured.
  auto path_table = std::make_unique<wp::PathTable>(*model, cfg, workers, cfg.has_path_monitoring());
  shared.paths = path_table.get();
  shared.control_pool = ports.any_pool();
  std::unique_ptr<wp::PathMonitor> path_monitor;
  if (cfg.has_path_monitoring())
    path_monitor = std::make_unique<wp::PathMonitor>(*path_table, wp::PathMonitorConfig::from(cfg.path_monitoring()),
                                                     ports.any_pool(), std::random_device{}());
  // #6 HA: event and inbound rings exist before any worker runs.
  wp::ha::HaThread ha;
  if (!ha.prepare(cfg, shared, error)) return fail(2, error);

  uint32_t max_sessions = cfg.dataplane().max_sessions() ? cfg.dataplane().max_sessions() : 1u << 20;
  uint32_t per_worker = (max_sessions + workers - 1) / workers;
  std::vector<uint16_t> port_ids;
  for (const auto& p : ports.ports()) port_ids.push_back(p.port_id);
  std::vector<std::unique_ptr<wp::Worker>> pool;
  for (uint32_t w = 0; w < workers; ++w) {
    int socket = worker_sockets[w];  // the session table lives on the worker's own socket
    pool.push_back(std::make_unique<wp::Worker>(w, shared, per_worker, socket));
    if (!pool.back()->ok())
      return fail(2, "worker " + std::to_string(w) + ": cannot allocate a session table of " +
                         std::to_string(per_worker) + " sessions (give EAL more memory with -m)");
    pool.back()->set_ports(port_ids, static_cast<uint16_t>(w), static_cast<uint16_t>(cfg.dataplane().burst()));
  }
  // The control thread polls the extra queue through a dispatcher that owns no sessions.
  auto dispatcher = std::make_unique<wp::Worker>(workers, shared, 16, static_cast<int>(rte_socket_id()));
  dispatcher->set_ports(port_ids, static_cast<uint16_t>(workers), 32);
  auto control = std::make_unique<wp::Control>(shared, ports.any_pool(), static_cast<uint16_t>(workers));
  control->set_path_monitor(path_monitor.get());  // #9 paths

  wp::mgmt::StatsServer stats;
  stats.set_ha(ha.status());  // #6 HA
  if (!cfg.mgmt().listen().empty() && !stats.start(cfg.mgmt().listen(), shared, model->name, error))
    return fail(2, error);

  for (uint32_t w = 0; w < workers; ++w) rte_eal_remote_launch(worker_main, pool[w].get(), lcores[w]);
  std::fprintf(stderr, "waypointd: router %s up: %u worker(s), %zu port(s), %u sessions/worker\n", model->name.c_str(),
               workers, ports.ports().size(), per_worker);
  control->announce();
  ha.start();  // #6 HA

  uint32_t idle = 0;
  while (!g_stop) {
    dispatcher->set_now_ms(static_cast<uint32_t>(rte_get_tsc_cycles() / (rte_get_tsc_hz() / 1000)));
    uint32_t n = dispatcher->poll_once() + control->poll_once(dispatcher->now_ms());
    if (g_dump) {
      g_dump = 0;
      std::fprintf(stderr, "%s\n", wp::mgmt::stats_json(shared, model->name).c_str());
      if (ha.status()) std::fprintf(stderr, "%s\n", ha.status()->json().c_str());  // #6 HA
    }
    idle = n ? 0 : idle + 1;
    if (idle > 16) usleep(idle > 256 ? 1000 : 100);
  }
  std::fprintf(stderr, "waypointd: shutting down\n");
  ha.stop();  // #6 HA: before the workers, so nothing waits on them
  shared.running.store(false);
  rte_eal_mp_wait_lcore();
  stats.stop();
  std::fprintf(stderr, "%s\n", wp::mgmt::stats_json(shared, model->name).c_str());
  // Everything holding DPDK memory goes before the EAL does.
  pool.clear();
  dispatcher.reset();
  control.reset();
  ports.stop();
  shared.free_rings();
  rte_eal_cleanup();
  return 0;
}
