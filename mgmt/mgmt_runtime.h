// The management plane as waypointd runs it (docs/architecture.md § Threads):
// the live config store every commit goes through (REST PUT, Redis), the
// session feed thread (the workers' session events -> the REST session
// snapshot and the IPFIX exporter), the REST server, and with --config-redis
// the Redis watch. Keeps waypointd's main to a few calls, like
// offload/offload_runtime.h.
//
// The calls follow the workers' life, because workers post into rings this
// runtime drains and every commit waits for the workers:
//   start        before the workers run: the event rings they post into must
//                exist when they start; the feed and REST threads only read.
//   start_watch  after the workers run: a Redis commit waits until every
//                worker passed a quiescent point (live_commit.h).
//   stop_watch   before the workers stop, for the same reason.
//   stop         after the workers stopped: the feed drains their last events
//                and flushes IPFIX. Both stops are safe to call twice, and
//                when their start never ran.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "dataplane/control/router_model.h"
#include "dataplane/worker/shared.h"
#include "ha/ha_status.h"
#include "mgmt/ipfix_exporter.h"
#include "mgmt/key_retirement.h"
#include "mgmt/live_commit.h"
#include "mgmt/redis_store.h"
#include "mgmt/redis_watch.h"
#include "mgmt/rest_api.h"
#include "mgmt/session_feed.h"

namespace wp::mgmt {

// Whether the IPFIX exporter sends templates 257 to 259 beside 256 (ipfix_encoder.h): the
// router routes IPv6 (a service has IPv6 prefixes) or one of its WAN interfaces has an IPv6
// waypoint (IPv4 sessions may ride it: template 259). Interfaces change only with a restart.
bool ipfix_ipv6_templates(const RouterModel& m);

// Where the running config came from when it is Redis (--config-redis).
struct RedisSource {
  RedisEndpoint endpoint;
  std::string prefix;
  uint64_t version = 0;  // the version waypointd started with
};

struct MgmtInputs {
  config::Config config;  // the config the dataplane started with
  DataplaneShared* shared = nullptr;
  std::shared_ptr<const RouterModel> model;  // built from `config`
  RouterModel::PortResolver resolve = nullptr;
  void* resolve_ctx = nullptr;
  uint32_t max_sessions = 0;  // the REST snapshot holds at most this many
  uint32_t ring_size = 0;     // per worker, for the session event rings
  std::optional<RedisSource> redis;
  const ha::HaStatus* ha = nullptr;  // GET /api/v1/ha; null: standalone
  // More JSON documents served as they are (GET /api/v1/offload).
  std::vector<std::pair<std::string, std::function<std::string()>>> documents;
  // More /metrics sections (Prometheus text, labels given), e.g. the offload manager's.
  std::vector<std::function<std::string(const std::string&)>> metrics;
  // Where the config store's audit lines go (live_commit.h); empty: stderr.
  std::function<void(const std::string&)> audit;
};

class MgmtRuntime {
 public:
  MgmtRuntime() = default;
  ~MgmtRuntime();
  MgmtRuntime(const MgmtRuntime&) = delete;
  MgmtRuntime& operator=(const MgmtRuntime&) = delete;

  // False with `error` (an IPFIX socket, the REST listen address, rings).
  bool start(MgmtInputs in, std::string& error);
  void start_watch();
  void stop_watch();
  void stop();
  // Every live commit goes through it (REST, Redis, SIGHUP file reload).
  ConfigStore& store() { return *store_; }

 private:
  bool start_feed(std::string& error);
  bool start_rest(std::string& error);
  void start_key_retirement();
  void stop_key_retirement();

  MgmtInputs in_;
  std::unique_ptr<IpfixExporter> exporter_;
  std::unique_ptr<SessionSnapshot> snapshot_;
  std::unique_ptr<SessionFeed> feed_;
  std::unique_ptr<ConfigStore> store_;
  std::unique_ptr<RestServer> rest_;
  std::unique_ptr<RedisWatch> watch_;
  // Old pair-key versions retired on their own, polled once a second
  // (key_retirement.h); runs while workers do, since a commit waits for them.
  std::unique_ptr<KeyRetirement> retire_;
  std::thread retire_thread_;
  std::mutex retire_mu_;
  std::condition_variable retire_cv_;
  bool retire_stop_ = false;
};

}  // namespace wp::mgmt
