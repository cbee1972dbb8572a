// waypointd: the Waypoint router daemon.
//
//   waypointd --config FILE [--check] [--log auto|journal|stderr] [--debug-hooks] [-- EAL args]
//   waypointd --config-redis HOST:PORT [--redis-prefix P] [-- EAL args]
//   waypointd --version
//
// Foreground, logs to stderr (or the journal under systemd: mgmt/journal_log.h),
// exit 0 after a clean SIGTERM/SIGINT shutdown, 1 for bad configuration, 2 for
// a runtime start failure (EAL, ports, memory). SIGUSR1 prints the stats JSON
// to stderr; SIGHUP re-reads the --config file and commits it live
// (mgmt/file_reload.h). Under a Type=notify unit it speaks sd_notify: READY=1
// once ports and workers run, WATCHDOG=1 only while every worker's loop
// advances (mgmt/systemd_notify.h, mgmt/worker_watchdog.h).
// Threads: one worker per EAL worker lcore; the main lcore runs the control
// thread (ARP/ICMP, the dispatcher for the control rx queue, stats dumps, the
// watchdog); the HA, offload and management runtimes run threads of their own.
#include <rte_eal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dataplane/control/dataplane_runtime.h"
#include "dataplane/control/eal.h"
#include "ha/ha_thread.h"
#include "mgmt/config_load.h"
#include "mgmt/file_reload.h"
#include "mgmt/journal_log.h"
#include "mgmt/mgmt_runtime.h"
#include "mgmt/redis_watch.h"
#include "mgmt/stats.h"
#include "mgmt/systemd_notify.h"
#include "mgmt/worker_watchdog.h"
#include "offload/offload_runtime.h"
#include "dataplane/control/fpm/fpm_listener.h"
#include "tools/version.h"

namespace {

volatile std::sig_atomic_t g_stop = 0;
volatile std::sig_atomic_t g_dump = 0;
volatile std::sig_atomic_t g_reload = 0;      // SIGHUP
volatile std::sig_atomic_t g_debug_hook = 0;  // SIGUSR2

void on_signal(int sig) {
  if (sig == SIGUSR1)
    g_dump = 1;
  else if (sig == SIGHUP)
    g_reload = 1;
  else if (sig == SIGUSR2)
    g_debug_hook = 1;
  else
    g_stop = 1;
}

using wp::mgmt::LogLevel;
void log_event(LogLevel level, std::string_view reason, const std::string& msg, int worker = -1) {
  wp::mgmt::log({level, reason, msg, worker});
}

int fail(int code, const std::string& msg) {
  log_event(LogLevel::err, code == 1 ? "config-invalid" : "start-failed", msg);
  return code;
}

struct Options {
  int eal_split = 0;  // argv index of "--": EAL arguments follow it
  std::string config_path;
  std::string config_redis;
  std::string redis_prefix = "waypoint";
  std::string log_target = "auto";
  bool check = false;
  bool debug_hooks = false;
};

// Exit code when the command line ends the program (--help, a bad option).
std::optional<int> parse_options(int argc, char** argv, Options& o) {
  o.eal_split = wp::eal_split(argc, argv);
  CLI::App app{"Waypoint SVR router daemon"};
  app.set_version_flag("--version", wp::version_line("waypointd"));
  auto* file_opt = app.add_option("--config", o.config_path, "YAML/JSON configuration file");
  auto* redis_opt = app.add_option("--config-redis", o.config_redis,
                                   "HOST:PORT: load the configuration from Redis and apply pushed changes live");
  app.add_option("--redis-prefix", o.redis_prefix, "Redis key prefix (mgmt/redis_store.h), default waypoint");
  file_opt->excludes(redis_opt);
  redis_opt->excludes(file_opt);
  app.add_flag("--check", o.check, "validate the configuration and exit (0 valid, 1 invalid)");
  app.add_option("--log", o.log_target, "auto (the journal when systemd runs us), journal or stderr")
      ->check(CLI::IsMember({"auto", "journal", "stderr"}));
  app.add_flag("--debug-hooks", o.debug_hooks,
               "tests only: SIGUSR2 stalls/resumes worker 0 (the watchdog test); off by default");
  try {
    app.parse(o.eal_split, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (o.config_path.empty() && o.config_redis.empty()) return fail(1, "give --config FILE or --config-redis HOST:PORT");
  return std::nullopt;
}

// The configuration waypointd starts with, and where it came from.
struct StartConfig {
  wp::mgmt::ConfigResult loaded;
  std::string origin;                          // for messages: the file, or the Redis key space and version
  std::optional<wp::mgmt::RedisSource> redis;  // --config-redis: watched for pushed changes
};

// False when there is no config to look at (Redis unreachable); config errors are in out.loaded.
bool load_config(const Options& o, StartConfig& out, std::string& error) {
  if (o.config_redis.empty()) {
    out.origin = o.config_path;
    out.loaded = wp::mgmt::load_config_file(o.config_path);
    return true;
  }
  wp::mgmt::RedisSource src;
  src.prefix = o.redis_prefix;
  if (!wp::mgmt::RedisEndpoint::parse(o.config_redis, src.endpoint))
    return error = "--config-redis wants IPv4:port", false;
  wp::mgmt::RedisConfig rc;
  if (!wp::mgmt::load_start_config(src.endpoint, src.prefix, rc, error))
    return error = "no configuration from Redis " + o.config_redis + ": " + error, false;
  src.version = rc.version;
  out.origin = "redis " + o.config_redis + " " + o.redis_prefix + " version " + std::to_string(rc.version);
  out.loaded = std::move(rc.result);
  if (out.loaded.ok()) out.loaded.config.mutable_mgmt()->set_redis(o.config_redis);
  out.redis = std::move(src);
  return true;
}

// waypointd's runtimes: the dataplane, then those beside it.
struct Runtimes {
  wp::DataplaneRuntime dataplane;
  wp::ha::HaThread ha;
  wp::offload::OffloadRuntime offload;
  wp::mgmt::MgmtRuntime mgmt;
  std::unique_ptr<wp::mgmt::FileReload> reload;  // --config FILE: SIGHUP
  std::unique_ptr<wp::fpm::FpmListener> fpm;     // routes from FRR; null unless `fpm` is configured
};

// What the control thread does for systemd besides its packets: the
// notifications, the watchdog verdicts, the debug hook.
struct Supervision {
  wp::mgmt::SystemdNotifier notify;
  std::optional<wp::mgmt::WorkerWatchdog> watchdog;
  std::vector<bool> stalled;  // per worker, as last reported
  bool debug_hooks = false;
  bool debug_stalled = false;  // worker 0 held by the debug hook
};

wp::mgmt::MgmtInputs mgmt_inputs(Runtimes& rt, const StartConfig& sc) {
  wp::DataplaneRuntime& dp = rt.dataplane;
  wp::mgmt::MgmtInputs in;
  in.config = dp.config();
  in.shared = &dp.shared();
  in.model = dp.model();
  in.resolve = wp::Ports::resolve;
  in.resolve_ctx = &dp.ports();
  in.max_sessions = dp.max_sessions();
  in.ring_size = dp.ring_size();
  in.redis = sc.redis;
  in.ha = rt.ha.status();
  in.documents.emplace_back("/api/v1/offload", [&offload = rt.offload] { return offload.status_json(); });
  in.metrics.emplace_back([&offload = rt.offload](const std::string& labels) { return offload.metrics(labels); });
  // IKE SAs and Child SAs (docs/ipsec.md); rendered by the control thread.
  in.documents.emplace_back("/api/v1/ipsec", [&dp] { return dp.ipsec_status_json(); });
  in.metrics.emplace_back([&dp](const std::string& labels) { return dp.ipsec_metrics(labels); });
  in.audit = [](const std::string& line) { log_event(LogLevel::notice, "config-commit", "audit: " + line); };
  if (wp::fpm::FpmListener* fpm = rt.fpm.get()) {
    in.documents.emplace_back("/api/v1/routes", [fpm] { return fpm->routes_json(10000); });
    in.metrics.emplace_back([fpm](const std::string& labels) { return fpm->metrics(labels); });
  }
  return in;
}

// The dataplane first: the other runtimes attach to its workers.
int start_dataplane(Runtimes& rt, const wp::config::Config& cfg, std::string& error) {
  const uint16_t model_queues = wp::offload::OffloadRuntime::extra_queues(cfg);
  return rt.dataplane.start(cfg, model_queues, /*spare_lcore=*/model_queues > 0, error);
}

// SIGHUP re-reads the --config file (not --config-redis: Redis pushes are
// applied live already). READY=1 again once the outcome is known.
void start_file_reload(Runtimes& rt, const StartConfig& sc) {
  if (sc.redis) return;
  auto report = [](bool applied, const std::string& text) {
    log_event(applied ? LogLevel::notice : LogLevel::err, applied ? "config-reload" : "config-reload-refused", text);
    wp::mgmt::SystemdNotifier().ready(text.substr(0, text.find('\n')));
  };
  rt.reload = std::make_unique<wp::mgmt::FileReload>(rt.mgmt.store(), sc.origin, report);
  rt.reload->start();
}

// The FPM listener (routes from FRR) when the config has an `fpm` section.
bool start_fpm(Runtimes& rt, const wp::config::Config& cfg, std::string& error) {
  if (!cfg.has_fpm()) return true;
  std::vector<wp::fpm::RouteInterface> ifs = wp::fpm::route_interfaces(*rt.dataplane.model());
  wp::fpm::FpmOptions o;
  if (!cfg.fpm().listen().empty()) o.listen = cfg.fpm().listen();
  if (cfg.fpm().replay_quiet_ms()) o.replay_quiet_ms = cfg.fpm().replay_quiet_ms();
  rt.fpm = std::make_unique<wp::fpm::FpmListener>(rt.dataplane.shared(), std::move(ifs));
  if (!rt.fpm->start(o, error)) return false;
  std::fprintf(stderr, "waypointd: fpm: listening on %s for zebra's routes\n", o.listen.c_str());
  return true;
}

// Each runtime creates the rings the workers post into before they run, and
// starts what needs them running after. 0, or waypointd's exit code with `error`.
int start_runtimes(Runtimes& rt, const StartConfig& sc, std::string& error) {
  wp::DataplaneRuntime& dp = rt.dataplane;
  const wp::config::Config& cfg = dp.config();
  if (!rt.ha.prepare(cfg, dp.shared(), error)) return 2;
  dp.attach_ike_ha();  // IKE and Child SAs synced with the HA peer (docs/ipsec.md § HA)
  if (!rt.offload.start(cfg, dp.shared(), dp.port_ids(), dp.queues(), static_cast<int>(rte_socket_id()), error))
    return 2;
  for (const auto& w : dp.workers()) rt.offload.attach(*w, false);
  rt.offload.attach(dp.dispatcher(), true);
  if (!start_fpm(rt, cfg, error)) return 2;
  if (!rt.mgmt.start(mgmt_inputs(rt, sc), error)) return 2;
  dp.launch();
  if (!rt.offload.launch(dp.spare_lcore(), error)) return 2;
  rt.mgmt.start_watch();
  start_file_reload(rt, sc);
  dp.announce();
  rt.ha.start();
  return 0;
}

// The reverse of start_dataplane and start_runtimes; each stop is safe when
// its start never ran.
void stop_runtimes(Runtimes& rt) {
  rt.ha.stop();  // before the workers, so nothing waits on them
  if (rt.reload) rt.reload->stop();
  rt.mgmt.stop_watch();  // no commit may wait on stopped workers
  rt.dataplane.stop_workers();
  rt.mgmt.stop();     // REST down; the feed drains the workers' last events, flushes IPFIX
  rt.fpm.reset();     // no worker and no REST reader left on its FIB
  rt.offload.stop();  // manager joined, rules destroyed, model freed
  rt.dataplane.stop();
}

void print_stats(Runtimes& rt) {
  std::fprintf(stderr, "%s\n", wp::mgmt::stats_json(rt.dataplane.shared(), rt.dataplane.model()->name).c_str());
}

uint64_t monotonic_us() {
  using namespace std::chrono;
  return duration_cast<microseconds>(steady_clock::now().time_since_epoch()).count();
}

// Pings systemd at the end of each watchdog period in which every worker's
// loop advanced; logs each worker that stalls or resumes once, not per period.
void watch_workers(Supervision& sv) {
  wp::mgmt::WorkerWatchdog::Verdict v = sv.watchdog->poll(monotonic_us());
  if (!v.period_ended) return;
  if (v.healthy) sv.notify.watchdog();
  std::vector<bool> now(sv.stalled.size(), false);
  for (uint32_t w : v.stalled) now[w] = true;
  for (size_t w = 0; w < now.size(); ++w) {
    if (now[w] == sv.stalled[w]) continue;
    const int id = static_cast<int>(w);
    if (now[w])
      log_event(LogLevel::warning, "worker-stalled",
                "worker " + std::to_string(w) + "'s loop stopped advancing: no watchdog ping", id);
    else
      log_event(LogLevel::notice, "worker-resumed", "worker " + std::to_string(w) + "'s loop advances again", id);
  }
  sv.stalled = std::move(now);
}

// SIGUSR2 with --debug-hooks: stall worker 0, or let it go again.
void debug_hook(Runtimes& rt, Supervision& sv) {
  if (!sv.debug_hooks || rt.dataplane.workers().empty())
    return log_event(LogLevel::warning, "debug-hook", "SIGUSR2 ignored: debug hooks are off (--debug-hooks)");
  sv.debug_stalled = !sv.debug_stalled;
  rt.dataplane.workers().front()->set_debug_stall(sv.debug_stalled);
  log_event(LogLevel::warning, "debug-hook",
            sv.debug_stalled ? "debug hook: worker 0 stalled" : "debug hook: worker 0 released", 0);
}

void on_reload_signal(Runtimes& rt, Supervision& sv) {
  if (!rt.reload)
    return log_event(LogLevel::warning, "config-reload-refused", "SIGHUP ignored: the config comes from Redis");
  sv.notify.reloading();
  rt.reload->request();
}

// The main lcore's loop: control thread and dispatcher, the signals' work.
void serve_until_signal(Runtimes& rt, Supervision& sv) {
  uint32_t idle = 0;
  while (!g_stop) {
    uint32_t n = rt.dataplane.poll_control();
    if (g_dump) {
      g_dump = 0;
      print_stats(rt);
      if (const wp::ha::HaStatus* ha = rt.ha.status()) std::fprintf(stderr, "%s\n", ha->json().c_str());
    }
    if (g_reload) g_reload = 0, on_reload_signal(rt, sv);
    if (g_debug_hook) g_debug_hook = 0, debug_hook(rt, sv);
    watch_workers(sv);
    idle = n ? 0 : idle + 1;
    if (idle > 16) usleep(idle > 256 ? 1000 : 100);
  }
  sv.notify.stopping();
  log_event(LogLevel::notice, "stop", "shutting down");
}

// Once the ports and workers run: the watchdog over them, READY=1.
void supervise(Runtimes& rt, Supervision& sv, const StartConfig& sc) {
  wp::DataplaneRuntime& dp = rt.dataplane;
  const uint32_t workers = static_cast<uint32_t>(dp.workers().size());
  // Without systemd's watchdog the verdicts still log stalled workers, each second.
  const uint64_t period = sv.notify.watchdog_usec() ? sv.notify.watchdog_usec() / 2 : 1000000;
  sv.watchdog.emplace(dp.shared().counters.get(), workers, period);
  sv.stalled.assign(workers, false);
  const std::string status = "router " + dp.model()->name + ": " + std::to_string(workers) +
                             " worker(s) running, config from " + sc.origin + ", " + wp::version_line("waypointd");
  log_event(LogLevel::notice, "start", status);
  sv.notify.ready(status);
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  if (std::optional<int> rc = parse_options(argc, argv, opt)) return *rc;

  wp::mgmt::LogTarget target = wp::mgmt::LogTarget::automatic;
  wp::mgmt::parse_log_target(opt.log_target, target);  // CLI11 checked the name
  wp::mgmt::log_init(target, "");

  StartConfig sc;
  std::string error;
  if (!load_config(opt, sc, error)) return fail(1, error);
  if (!sc.loaded.ok()) {
    std::fprintf(stderr, "%s: %zu error(s)\n%s", sc.origin.c_str(), sc.loaded.errors.size(),
                 sc.loaded.error_text().c_str());
    return 1;
  }
  wp::mgmt::log_init(target, sc.loaded.config.router().name());
  if (opt.check) {
    std::printf("%s: configuration is valid\n", sc.origin.c_str());
    return 0;
  }

  if (!wp::eal_init(wp::eal_args_after(argc, argv, opt.eal_split), error)) return fail(2, error);
  for (int sig : {SIGTERM, SIGINT, SIGUSR1, SIGUSR2, SIGHUP}) std::signal(sig, on_signal);

  int rc;
  {
    Runtimes rt;
    rc = start_dataplane(rt, sc.loaded.config, error);
    if (rc == 0) rc = start_runtimes(rt, sc, error);
    // The audit log's first line: the config every later change starts from.
    if (rc == 0) log_event(LogLevel::notice, "config-commit", "audit: config version 1 from " + sc.origin);
    if (rc == 0) {
      Supervision sv;
      sv.debug_hooks = opt.debug_hooks;
      supervise(rt, sv, sc);
      serve_until_signal(rt, sv);
    } else
      fail(rc, error);
    stop_runtimes(rt);  // also after a failed start
    if (rc == 0) print_stats(rt);
  }
  rte_eal_cleanup();
  return rc;
}
