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
#include <algorithm>
#include <csignal>
#include <functional>
#include <cstdio>
#include <memory>
#include <random>
#include <vector>

#include "dataplane/control/control_thread.h"
#include "dataplane/control/eal.h"
#include "dataplane/paths/path_monitor.h"
#include "dataplane/control/ports.h"
#include "dataplane/control/router_model.h"
#include "dataplane/worker/worker.h"
#include "ha/ha_thread.h"
#include "mgmt/config_load.h"
#include "mgmt/live_commit.h"
#include "mgmt/ipfix_exporter.h"
#include "mgmt/redis_watch.h"
#include "mgmt/path_stats.h"
#include "mgmt/rest_api.h"
#include "mgmt/session_feed.h"
#include "mgmt/stats.h"
#include "offload/offload_runtime.h"

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

// status for the REST API ; none when HA is not configured.
std::function<std::string()> ha_status_json(const wp::ha::HaStatus* status) {
  if (!status) return {};
  return [status] { return status->json(); };
}

int worker_main(void* arg) {
  static_cast<wp::Worker*>(arg)->run();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Our options come before "--", EAL's after it.
  const int split = wp::eal_split(argc, argv);
  CLI::App app{"Waypoint SVR router daemon"};
  std::string config_path;
  bool check = false;
  std::string config_redis, redis_prefix = "waypoint";
  auto* file_opt = app.add_option("--config", config_path, "YAML/JSON configuration file");
  auto* redis_opt = app.add_option("--config-redis", config_redis,
                                   "HOST:PORT: load the configuration from Redis and apply pushed changes live");
  app.add_option("--redis-prefix", redis_prefix, "Redis key prefix (mgmt/redis_store.h), default waypoint");
  file_opt->excludes(redis_opt);
  redis_opt->excludes(file_opt);
  app.add_flag("--check", check, "validate the configuration and exit (0 valid, 1 invalid)");
  try {
    app.parse(split, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  if (config_path.empty() && config_redis.empty()) return fail(1, "give --config FILE or --config-redis HOST:PORT");
  wp::mgmt::ConfigResult loaded;
  wp::mgmt::RedisEndpoint redis_ep;
  uint64_t redis_version = 0;
  if (!config_redis.empty()) {
    // The start needs a config, so wait (bounded) for Redis to answer.
    if (!wp::mgmt::RedisEndpoint::parse(config_redis, redis_ep)) return fail(1, "--config-redis wants IPv4:port");
    wp::mgmt::RedisStore rs(redis_ep, redis_prefix);
    wp::mgmt::RedisConfig rc;
    std::string err;
    bool ok = false;
    for (int i = 0; i < 20 && !ok; ++i) {
      ok = rs.connect(1000, err) && rs.load(rc, err);
      if (!ok) usleep(500000);
    }
    if (!ok) return fail(1, "no configuration from Redis " + config_redis + ": " + err);
    loaded = std::move(rc.result);
    redis_version = rc.version;
    config_path = "redis " + config_redis + " " + redis_prefix + " version " + std::to_string(redis_version);
    if (loaded.ok()) loaded.config.mutable_mgmt()->set_redis(config_redis);
  } else {
    loaded = wp::mgmt::load_config_file(config_path);
  }
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

  std::string error;
  if (!wp::eal_init(wp::eal_args_after(argc, argv, split), error)) return fail(2, error);
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
  // The software NIC model runs on the next lcore after the workers.
  const uint16_t offload_queues = wp::offload::OffloadRuntime::extra_queues(cfg);
  unsigned model_lcore = offload_queues && lcores.size() > workers ? lcores[workers] : RTE_MAX_LCORE;
  if (offload_queues && model_lcore == RTE_MAX_LCORE)
    return fail(2, "offload.nic_model needs one more EAL lcore than dataplane.workers (" + std::to_string(workers) +
                       "); add one with -l/--lcores");
  lcores.resize(workers);

  // Default pool: every rx descriptor filled plus room for packets in flight in
  // rings, tx queues and ARP pending queues.
  uint32_t ports_n = 1 + static_cast<uint32_t>(cfg.router().wan_size());
  uint32_t mbufs = cfg.dataplane().mbufs() ? cfg.dataplane().mbufs() : 16383 + ports_n * (workers + 1) * 1024;
  wp::Ports ports;
  const uint16_t queues = static_cast<uint16_t>(workers + 1 + offload_queues);  // + model's queue
  if (!ports.start(cfg, queues, mbufs, error)) return fail(2, error);

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
  // The path table always (it places sessions on paths); BFD and
  // probes only with path_monitoring configured.
  auto path_table = std::make_unique<wp::PathTable>(*model, cfg, workers, cfg.has_path_monitoring());
  shared.paths = path_table.get();
  shared.control_pool = ports.any_pool();
  std::unique_ptr<wp::PathMonitor> path_monitor;
  if (cfg.has_path_monitoring())
    path_monitor = std::make_unique<wp::PathMonitor>(*path_table, wp::PathMonitorConfig::from(cfg.path_monitoring()),
                                                     ports.any_pool(), std::random_device{}());
  // Event and inbound rings exist before any worker runs.
  wp::ha::HaThread ha;
  if (!ha.prepare(cfg, shared, error)) return fail(2, error);

  std::vector<uint16_t> port_ids;
  for (const auto& p : ports.ports()) port_ids.push_back(p.port_id);
  wp::offload::OffloadRuntime offload;
  if (!offload.start(cfg, shared, port_ids, queues, static_cast<int>(rte_socket_id()), error)) return fail(2, error);

  uint32_t max_sessions = cfg.dataplane().max_sessions() ? cfg.dataplane().max_sessions() : 1u << 20;
  uint32_t per_worker = (max_sessions + workers - 1) / workers;
  // Per-worker key slab; a fresh manager tells which arch the workers' bursts use.
  uint32_t crypto_sessions = cfg.dataplane().crypto_sessions() ? cfg.dataplane().crypto_sessions() : max_sessions / 8;
  shared.key_slots = std::max<uint32_t>((crypto_sessions + workers - 1) / workers, 1024);
  {
    wp::CryptoEngine probe;
    if (!probe.ok()) return fail(2, "Intel IPsec-MB: no usable architecture for AES-CBC + HMAC bursts");
    std::fprintf(stderr,
                 "waypointd: session crypto AES-256-CBC + HMAC-SHA256-128, IPsec-MB arch %s, %u key slots/worker\n",
                 std::string(probe.arch()).c_str(), shared.key_slots);
  }
  std::vector<std::unique_ptr<wp::Worker>> pool;
  for (uint32_t w = 0; w < workers; ++w) {
    int socket = worker_sockets[w];  // the session table lives on the worker's own socket
    pool.push_back(std::make_unique<wp::Worker>(w, shared, per_worker, socket));
    if (!pool.back()->ok())
      return fail(2, "worker " + std::to_string(w) + ": cannot allocate a session table of " +
                         std::to_string(per_worker) + " sessions and " + std::to_string(shared.key_slots) +
                         " key slots, or IPsec-MB/IV source failed (give EAL more memory with -m)");
    pool.back()->set_ports(port_ids, static_cast<uint16_t>(w), static_cast<uint16_t>(cfg.dataplane().burst()));
    offload.attach(*pool.back(), false);
  }
  // The control thread polls the extra queue through a dispatcher that owns no sessions.
  auto dispatcher = std::make_unique<wp::Worker>(workers, shared, 16, static_cast<int>(rte_socket_id()));
  dispatcher->set_ports(port_ids, static_cast<uint16_t>(workers), 32);
  offload.attach(*dispatcher, true);
  auto control = std::make_unique<wp::Control>(shared, ports.any_pool(), static_cast<uint16_t>(workers));
  control->set_path_monitor(path_monitor.get());

  // Session events feed the IPFIX exporter and the REST session
  // snapshot (one consumer ring per worker, drained by the mgmt feed thread);
  // workers post `update` events every active_timeout (IPFIX) or 10 s.
  wp::mgmt::IpfixOptions ipfix_opts;
  bool ipfix_on = wp::mgmt::IpfixOptions::from_config(cfg.ipfix(), ipfix_opts);
  bool rest_on = !cfg.mgmt().listen().empty();
  wp::mgmt::IpfixExporter exporter;
  if (ipfix_on && !exporter.open(ipfix_opts, error)) return fail(2, error);
  std::unique_ptr<wp::mgmt::SessionSnapshot> snapshot;
  if (rest_on) snapshot = std::make_unique<wp::mgmt::SessionSnapshot>(max_sessions);
  if (ipfix_on || rest_on) {
    if (!shared.enable_events(wp::EventConsumer::ipfix, ring_size, static_cast<int>(rte_socket_id()), error))
      return fail(2, error);
    shared.session_update_ms = ipfix_on ? ipfix_opts.active_timeout_s * 1000 : 10000;
  }
  wp::mgmt::SessionFeed feed(shared, snapshot.get(), ipfix_on ? &exporter : nullptr);
  wp::mgmt::ConfigStore store(shared, cfg, model, wp::Ports::resolve, &ports);
  store.add_reader(&feed.quiescent);
  if (ipfix_on || rest_on) feed.start();
  wp::mgmt::RestServer rest;
  if (rest_on && !rest.start(cfg.mgmt().listen(),
                             {&shared, &store, snapshot.get(), ipfix_on ? &exporter : nullptr, cfg.mgmt().token(),
                              ha_status_json(ha.status()),  // status on GET /api/v1/ha
                              {{"/api/v1/offload", [&offload] { return offload.status_json(); }},
                               {"/api/v1/paths", [&shared, snap = snapshot.get()] { return wp::mgmt::paths_json(shared, snap).dump(2); }}}},
                             error))
    return fail(2, error);
  if (ipfix_on)
    for (const auto& c : ipfix_opts.collector_names) std::fprintf(stderr, "waypointd: IPFIX to %s\n", c.c_str());

  for (uint32_t w = 0; w < workers; ++w) rte_eal_remote_launch(worker_main, pool[w].get(), lcores[w]);
  if (!offload.launch(model_lcore, error)) {
    shared.running.store(false);
    rte_eal_mp_wait_lcore();
    return fail(2, error);
  }
  std::unique_ptr<wp::mgmt::RedisWatch> redis_watch;
  if (!config_redis.empty()) {
    redis_watch = std::make_unique<wp::mgmt::RedisWatch>(redis_ep, redis_prefix, store, redis_version);
    redis_watch->start();
  }
  std::fprintf(stderr, "waypointd: router %s up: %u worker(s), %zu port(s), %u sessions/worker\n", model->name.c_str(),
               workers, ports.ports().size(), per_worker);
  control->announce();
  ha.start();

  uint32_t idle = 0;
  while (!g_stop) {
    dispatcher->set_now_ms(static_cast<uint32_t>(rte_get_tsc_cycles() / (rte_get_tsc_hz() / 1000)));
    uint32_t n = dispatcher->poll_once() + control->poll_once(dispatcher->now_ms());
    if (g_dump) {
      g_dump = 0;
      std::fprintf(stderr, "%s\n", wp::mgmt::stats_json(shared, model->name).c_str());
      if (ha.status()) std::fprintf(stderr, "%s\n", ha.status()->json().c_str());
    }
    idle = n ? 0 : idle + 1;
    if (idle > 16) usleep(idle > 256 ? 1000 : 100);
  }
  std::fprintf(stderr, "waypointd: shutting down\n");
  if (redis_watch) redis_watch->stop();  // no commit may wait on stopped workers
  ha.stop();  // before the workers, so nothing waits on them
  shared.running.store(false);
  rte_eal_mp_wait_lcore();
  rest.stop();
  feed.stop();  // after the workers: drains their last events, flushes IPFIX
  offload.stop();  // manager joined, rules destroyed, model freed
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
