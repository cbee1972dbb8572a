// Live configuration commit (docs/architecture.md § Configuration: parse -> validate ->
// build immutable snapshot -> commit), shared by REST PUT and the Redis store.
//
// commit(): validate (the one validator: errors with paths) -> refuse changes
// that need a restart (router interfaces, dataplane sizing, mgmt endpoints,
// IPFIX collectors: their resources are set up once at start) -> build a new
// RouterModel -> publish the pointer (DataplaneShared::model) -> when
// ipsec_peers or tunnels changed, post them to the IKE service and wait
// until it applied them (DataplaneShared::ipsec_reload) -> wait until
// every reader passed a quiescent point (each worker's and the dispatcher's
// counters.epoch advanced twice, the mgmt feed's too) -> drop the old model.
// Workers re-check their sessions against the new policy on the first loop
// iteration that sees it, a slice per iteration, and report when they are
// done (dataplane/svr/policy_recheck.h); the old model lives until then. Commits are serialised. A
// reader that does not reach its quiescent point within the grace time
// (a stuck worker) keeps the old model alive forever rather than risk a
// use-after-free.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "dataplane/worker/shared.h"
#include "dataplane/control/router_model.h"
#include "mgmt/config_load.h"

namespace wp::mgmt {

struct CommitOutcome {
  std::vector<ConfigError> errors;  // empty on success
  bool applied = false;             // false on errors or dry run
  uint64_t version = 0;             // committed version after this call
  uint64_t sessions_closed = 0;     // torn down by the new policy (counted by workers)
  std::vector<std::string> notes;
};

class ConfigStore {
 public:
  ConfigStore(DataplaneShared& shared, config::Config initial, std::shared_ptr<const RouterModel> model,
              RouterModel::PortResolver resolve, void* resolve_ctx);
  // Extra readers of shared.model besides workers and dispatcher (mgmt feed).
  void add_reader(const std::atomic<uint64_t>* epoch) { readers_.push_back(epoch); }

  // `who` names the change's origin for the audit log ("rest:ops@10.0.0.5",
  // "redis:waypoint:r1"): every applied commit writes one audit line with it,
  // the changed paths and the resulting version (docs/security.md § Management plane).
  CommitOutcome commit(const config::Config& next, bool dry_run = false, const std::string& who = "unknown");
  // Read-modify-commit under the commit lock, so no other commit lands
  // between reading the running config and committing the change: `change`
  // edits a copy of it and returns false when there is nothing to do.
  CommitOutcome edit(const std::function<bool(config::Config&)>& change, const std::string& who);
  // Where audit lines go; default: stderr, "waypointd: audit: ...".
  void set_audit(std::function<void(const std::string&)> sink) { audit_ = std::move(sink); }
  config::Config current() const;
  uint64_t version() const { return version_.load(); }
  std::shared_ptr<const RouterModel> model() const;
  // Whether the workers have NAT64 tables: the initial model (the one they
  // were created with, worker/nat64_step.h) has a NAT64 service. Without
  // them a commit that adds one is refused (restart_only).
  bool nat64_tables() const { return nat64_tables_; }
  // The same for NAT46 (worker/nat46_step.h).
  bool nat46_tables() const { return nat46_tables_; }

  static constexpr uint32_t kGraceMs = 3000;

 private:
  CommitOutcome commit_locked(const config::Config& next, bool dry_run, const std::string& who);
  std::vector<ConfigError> restart_only(const config::Config& next) const;
  void ipsec_restart_only(const config::Config& next, std::vector<ConfigError>& errs) const;
  bool ipsec_changed(const config::Config& next) const;
  bool reload_ipsec(const config::Config& next);
  bool wait_quiescent(const RouterModel* published);
  uint64_t policy_closed() const;

  DataplaneShared& shared_;
  mutable std::mutex mu_;
  config::Config config_;
  std::shared_ptr<const RouterModel> model_;
  std::vector<std::shared_ptr<const RouterModel>> graveyard_;  // models a stuck reader may still hold
  RouterModel::PortResolver resolve_;
  void* resolve_ctx_;
  bool nat64_tables_;
  bool nat46_tables_;  // the startup model has a NAT46 service: the workers have NAT46 tables
  bool ipsec_live_;  // started with ipsec_peers: the IKE service runs and reloads (docs/ipsec.md)
  std::vector<std::string> tunnel_names_;  // by index: the first tunnel there since start
  bool ipv6_tables_;  // the startup model routes IPv6: the workers have IPv6 session tables
  HmacEngine hmac_;  // builds peer keys for new models
  std::vector<const std::atomic<uint64_t>*> readers_;
  std::atomic<uint64_t> version_{1};
  std::function<void(const std::string&)> audit_;
};

}  // namespace wp::mgmt
