// Live configuration commit; see live_commit.h.
#include "mgmt/live_commit.h"

#include <google/protobuf/util/message_differencer.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "mgmt/config_diff.h"

namespace wp::mgmt {

using google::protobuf::util::MessageDifferencer;

namespace {

std::vector<std::string> tunnel_names(const config::Config& c) {
  std::vector<std::string> names;
  for (const auto& t : c.tunnels()) names.push_back(t.name());
  return names;
}

}  // namespace

ConfigStore::ConfigStore(DataplaneShared& shared, config::Config initial, std::shared_ptr<const RouterModel> model,
                         RouterModel::PortResolver resolve, void* resolve_ctx)
    : shared_(shared),
      config_(std::move(initial)),
      model_(std::move(model)),
      resolve_(resolve),
      resolve_ctx_(resolve_ctx),
      nat64_tables_(model_ && !model_->nat64_pool.empty()),
      nat46_tables_(model_ && model_->nat46),
      ipsec_live_(config_.ipsec_peers_size() > 0),
      tunnel_names_(tunnel_names(config_)),
      ipv6_tables_(model_ && model_->ipv6_routing) {}

config::Config ConfigStore::current() const {
  std::lock_guard lock(mu_);
  return config_;
}

std::shared_ptr<const RouterModel> ConfigStore::model() const {
  std::lock_guard lock(mu_);
  return model_;
}

std::vector<ConfigError> ConfigStore::restart_only(const config::Config& next) const {
  std::vector<ConfigError> errs;
  auto same = [&](const google::protobuf::Message& a, const google::protobuf::Message& b, const char* path) {
    if (!MessageDifferencer::Equals(a, b)) errs.push_back({path, "changes here need a restart of waypointd"});
  };
  same(config_.router(), next.router(), "router");
  same(config_.dataplane(), next.dataplane(), "dataplane");
  same(config_.ipfix(), next.ipfix(), "ipfix");
  same(config_.ha(), next.ha(), "ha");  // corosync group and address takeover are set up once
  same(config_.fpm(), next.fpm(), "fpm");  // the listener is bound once at start
  // The schedulers and their DSCP map are built once at start; qos.applications is live (the
  // model resolves it, the re-check applies it to live sessions, docs/qos.md).
  config::Qos qos_was = config_.qos(), qos_next = next.qos();
  qos_was.clear_applications();
  qos_next.clear_applications();
  same(qos_was, qos_next, "qos");
  if (config_.has_fpm() != next.has_fpm()) errs.push_back({"fpm", "changes here need a restart of waypointd"});
  ipsec_restart_only(next, errs);
  // The workers' NAT64 bindings are allocated at start only when a service
  // uses NAT64 (docs/ipv6.md § NAT64): the first one needs a restart.
  if (!nat64_tables_)
    for (int i = 0; i < next.services_size(); ++i)
      if (next.services(i).has_nat64())
        errs.push_back({"services[" + std::to_string(i) + "].nat64",
                        "the first NAT64 service needs a restart of waypointd (the workers allocate NAT64 tables at "
                        "start only when a service uses NAT64)"});
  // Likewise the IPv6 session tables (docs/ipv6.md § IPv6 routing and sessions).
  if (!ipv6_tables_)
    for (int i = 0; i < next.services_size(); ++i)
      for (const auto& p : next.services(i).prefixes())
        if (p.find(':') != std::string::npos) {
          errs.push_back({"services[" + std::to_string(i) + "].prefixes",
                          "the first service with IPv6 prefixes needs a restart of waypointd (the workers allocate "
                          "IPv6 session tables at start only when a service has IPv6 prefixes)"});
          break;
        }
  // The same for the NAT46 session tables (docs/ipv6.md § NAT46).
  if (!nat46_tables_)
    for (int i = 0; i < next.services_size(); ++i)
      if (next.services(i).has_nat46())
        errs.push_back({"services[" + std::to_string(i) + "].nat46",
                        "the first NAT46 service needs a restart of waypointd (the workers allocate NAT46 tables at "
                        "start only when a service uses NAT46)"});
  if (config_.mgmt().listen() != next.mgmt().listen()) errs.push_back({"mgmt.listen", "changes need a restart"});
  // The REST server's TLS context and limits are set up once at start; its
  // tokens follow commits (rest_auth.h LiveAccess).
  const config::Mgmt& was = config_.mgmt();
  const config::Mgmt& now = next.mgmt();
  if (was.tls_cert() != now.tls_cert() || was.tls_key() != now.tls_key() || was.client_ca() != now.client_ca())
    errs.push_back({"mgmt", "TLS settings: changes need a restart"});
  if (!MessageDifferencer::Equals(was.limits(), now.limits()))
    errs.push_back({"mgmt.limits", "changes need a restart"});
  return errs;
}

// ipsec_peers and tunnels reload live (docs/ipsec.md § Live reload)
// when waypointd started with the IKE service, except what is
// set up once at start: a tunnel's position (the workers, routes and our
// inbound SPIs know a tunnel by its index) and, with the punt path, a
// tunnel's kernel interface.
void ConfigStore::ipsec_restart_only(const config::Config& next, std::vector<ConfigError>& errs) const {
  auto ipsec = [](const config::Config& c) {
    config::Config only;
    *only.mutable_ipsec_peers() = c.ipsec_peers();
    *only.mutable_tunnels() = c.tunnels();
    return only;
  };
  if (MessageDifferencer::Equals(ipsec(config_), ipsec(next))) return;
  if (!ipsec_live_) {
    const char* why =
        "changes here need a restart of waypointd (it started without ipsec_peers: no IKE service runs)";
    config::Config a = ipsec(config_), b = ipsec(next);
    a.clear_tunnels();
    b.clear_tunnels();
    if (!MessageDifferencer::Equals(a, b)) errs.push_back({"ipsec_peers", why});
    a = ipsec(config_), b = ipsec(next);
    a.clear_ipsec_peers();
    b.clear_ipsec_peers();
    if (!MessageDifferencer::Equals(a, b)) errs.push_back({"tunnels", why});
    return;
  }
  for (int i = 0; i < next.tunnels_size(); ++i)
    for (int j = 0; j < config_.tunnels_size(); ++j)
      if (i != j && config_.tunnels(j).name() == next.tunnels(i).name())
        errs.push_back({"tunnels[" + std::to_string(i) + "]",
                        "tunnel " + next.tunnels(i).name() + " moves from position " + std::to_string(j) +
                            ": a live commit keeps every remaining tunnel at its position (the workers, routes and "
                            "SPIs know a tunnel by it; add tunnels at the end or in a removed one's place); moving "
                            "one needs a restart of waypointd"});
  // IPv6 sessions keep a tunnel's index and are not re-checked against the
  // tunnels (IPv4 sessions are: policy_recheck.cc ends those through a
  // tunnel that went): with IPv6 session tables, an index stays its first
  // tunnel's until a restart.
  for (int i = 0; ipv6_tables_ && i < next.tunnels_size(); ++i)
    if (static_cast<size_t>(i) < tunnel_names_.size() && tunnel_names_[static_cast<size_t>(i)] != next.tunnels(i).name())
      errs.push_back({"tunnels[" + std::to_string(i) + "]",
                      "tunnel " + next.tunnels(i).name() + " takes position " + std::to_string(i) + ", which tunnel " +
                          tunnel_names_[static_cast<size_t>(i)] +
                          " held since waypointd started: IPv6 sessions through it would be sealed into the new "
                          "one (IPv6 sessions are not re-checked against tunnels); needs a restart of waypointd"});
  if (!config_.router().punt().enabled()) return;
  // The kernel interfaces (TUNs) of tunnels with an address are made at start.
  auto kernel_side = [](const config::Config& c, int i) {
    if (i >= c.tunnels_size() || c.tunnels(i).address().empty()) return std::string();
    const auto& t = c.tunnels(i);
    return t.name() + "|" + t.address() + "|" + t.ipv6_address() + "|" + std::to_string(t.mtu());
  };
  for (int i = 0; i < std::max(config_.tunnels_size(), next.tunnels_size()); ++i)
    if (kernel_side(config_, i) != kernel_side(next, i))
      errs.push_back({"tunnels[" + std::to_string(i) + "]",
                      "with router.punt on, a tunnel's kernel interface is made at start: adding, removing or "
                      "changing a tunnel with an address (its name, address, ipv6_address or mtu) needs a restart "
                      "of waypointd (tunnels without an address reload live)"});
}

bool ConfigStore::ipsec_changed(const config::Config& next) const {
  config::Config a, b;
  *a.mutable_ipsec_peers() = config_.ipsec_peers();
  *a.mutable_tunnels() = config_.tunnels();
  *b.mutable_ipsec_peers() = next.ipsec_peers();
  *b.mutable_tunnels() = next.tunnels();
  return !MessageDifferencer::Equals(a, b);
}

// The control thread's IKE service takes the committed config and publishes
// its SA table (Control::ike_poll); false when it did not within the grace time.
bool ConfigStore::reload_ipsec(const config::Config& next) {
  IpsecReload& r = shared_.ipsec_reload;
  {
    std::lock_guard lock(r.mu);
    r.next = std::make_shared<const config::Config>(next);
  }
  const uint64_t post = r.posted.fetch_add(1, std::memory_order_acq_rel) + 1;
  for (uint32_t waited = 0; waited < kGraceMs; ++waited) {
    if (r.applied.load(std::memory_order_acquire) >= post) return true;
    usleep(1000);
  }
  return false;
}

uint64_t ConfigStore::policy_closed() const {
  uint64_t n = 0;
  for (uint32_t w = 0; w < shared_.workers; ++w) n += shared_.counters[w].get(Counter::sessions_policy_closed);
  return n;
}

bool ConfigStore::wait_quiescent(const RouterModel* published) {
  // Workers re-check their sessions against the new model a slice per loop
  // iteration and read the old one until they are done (model_settled).
  const auto settled = reinterpret_cast<uintptr_t>(published);
  for (uint32_t waited = 0; waited < kGraceMs; ++waited) {
    bool done = true;
    for (uint32_t w = 0; w <= shared_.workers && done; ++w)
      done = shared_.counters[w].model_settled.load(std::memory_order_acquire) == settled;
    if (done) break;
    if (waited + 1 == kGraceMs) return false;
    usleep(1000);
  }
  std::vector<const std::atomic<uint64_t>*> all = readers_;
  for (uint32_t w = 0; w <= shared_.workers; ++w) all.push_back(&shared_.counters[w].epoch);
  std::vector<uint64_t> start;
  for (auto* e : all) start.push_back(e->load(std::memory_order_acquire));
  for (uint32_t waited = 0; waited < kGraceMs; ++waited) {
    bool done = true;
    for (size_t i = 0; i < all.size() && done; ++i) done = all[i]->load(std::memory_order_acquire) >= start[i] + 2;
    if (done) return true;
    usleep(1000);
  }
  return false;
}

namespace {

// "config version 7 by rest:ops@10.0.0.5: changed policies, peers[0].key"
std::string audit_line(uint64_t version, const std::string& who, const std::vector<std::string>& paths) {
  constexpr size_t kShown = 32;
  std::string line = "config version " + std::to_string(version) + " by " + who + ": ";
  if (paths.empty()) return line + "no field changed";
  line += "changed ";
  for (size_t i = 0; i < paths.size() && i < kShown; ++i) line += (i ? ", " : "") + paths[i];
  if (paths.size() > kShown) line += " and " + std::to_string(paths.size() - kShown) + " more";
  return line;
}

}  // namespace

CommitOutcome ConfigStore::commit(const config::Config& next, bool dry_run, const std::string& who) {
  std::lock_guard lock(mu_);
  return commit_locked(next, dry_run, who);
}

CommitOutcome ConfigStore::edit(const std::function<bool(config::Config&)>& change, const std::string& who) {
  std::lock_guard lock(mu_);
  config::Config next = config_;
  if (!change(next)) {
    CommitOutcome out;
    out.version = version_.load();
    out.notes.push_back("nothing to change");
    return out;
  }
  return commit_locked(next, false, who);
}

CommitOutcome ConfigStore::commit_locked(const config::Config& next, bool dry_run, const std::string& who) {
  CommitOutcome out;
  out.version = version_.load();
  out.errors = validate_config(next);
  if (out.errors.empty()) out.errors = restart_only(next);
  if (!out.errors.empty()) return out;
  std::string error;
  if (!hmac_.ok()) return out.errors.push_back({"", "HMAC engine unavailable"}), out;
  auto model = RouterModel::build(next, resolve_, resolve_ctx_, hmac_, error);
  if (!model) return out.errors.push_back({"", error}), out;
  if (dry_run) {
    out.notes.push_back("valid; not applied (dry run)");
    return out;
  }
  uint64_t closed_before = policy_closed();
  std::shared_ptr<const RouterModel> old = model_;
  shared_.model.store(model.get(), std::memory_order_release);
  model_ = std::move(model);
  const std::vector<std::string> changed = changed_paths(config_, next);
  const bool ipsec = ipsec_changed(next);
  config_ = next;
  for (int i = 0; i < next.tunnels_size(); ++i)
    if (static_cast<size_t>(i) >= tunnel_names_.size()) tunnel_names_.push_back(next.tunnels(i).name());
  out.version = version_.fetch_add(1) + 1;
  out.applied = true;
  const std::string line = audit_line(out.version, who, changed);
  if (audit_)
    audit_(line);
  else
    std::fprintf(stderr, "waypointd: audit: %s\n", line.c_str());
  // Peers and tunnels removed: their SAs out of the published ESP table
  // before the epochs below are taken, so none seals or opens after we return.
  if (ipsec && !reload_ipsec(next))
    out.notes.push_back("the IKE service did not apply ipsec_peers/tunnels within " + std::to_string(kGraceMs) +
                        " ms; it applies them when its thread runs again");
  // Every worker has re-checked its sessions against the new model, then two
  // epochs of every reader: an iteration that may have started under the old
  // model has ended.
  if (!wait_quiescent(model_.get())) {
    graveyard_.push_back(old);
    out.notes.push_back("a reader did not reach a quiescent point in time; old model kept alive");
  }
  out.sessions_closed = policy_closed() - closed_before;
  return out;
}

}  // namespace wp::mgmt
