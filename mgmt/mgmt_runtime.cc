// wiring; see mgmt_runtime.h.
#include "mgmt/mgmt_runtime.h"

#include <rte_lcore.h>

#include <chrono>
#include <cstdio>

#include "dataplane/control/waypoint6_addr.h"
#include "mgmt/path_stats.h"

namespace wp::mgmt {

bool ipfix_ipv6_templates(const RouterModel& m) {
  for (size_t i = 0; i < m.interfaces.size(); ++i)
    if (waypoint6_own(m, static_cast<int>(i))) return true;
  return m.ipv6_routing;
}

MgmtRuntime::~MgmtRuntime() { stop(); }

bool MgmtRuntime::start(MgmtInputs in, std::string& error) {
  in_ = std::move(in);
  store_ = std::make_unique<ConfigStore>(*in_.shared, in_.config, in_.model, in_.resolve, in_.resolve_ctx);
  if (in_.audit) store_->set_audit(in_.audit);
  return start_feed(error) && start_rest(error);
}

// Session events feed the IPFIX exporter and the REST session snapshot (one
// consumer ring per worker, drained by the feed thread); workers post
// `update` events every active_timeout (IPFIX) or 10 s (the snapshot's
// counters). With neither, no ring, no thread, and commits do not wait for a
// feed that never runs.
bool MgmtRuntime::start_feed(std::string& error) {
  IpfixOptions ipfix;
  const bool ipfix_on = IpfixOptions::from_config(in_.config.ipfix(), ipfix);
  const bool rest_on = !in_.config.mgmt().listen().empty();
  if (!ipfix_on && !rest_on) return true;
  const bool ipv6 = in_.model && in_.model->ipv6_routing;  // workers have IPv6 session tables
  ipfix.ipv6 = in_.model && ipfix_ipv6_templates(*in_.model);
  if (ipfix_on) {
    exporter_ = std::make_unique<IpfixExporter>();
    if (!exporter_->open(ipfix, error)) return false;
    for (const auto& c : ipfix.collector_names) std::fprintf(stderr, "waypointd: IPFIX to %s\n", c.c_str());
  }
  if (rest_on) snapshot_ = std::make_unique<SessionSnapshot>(in_.max_sessions);
  DataplaneShared& shared = *in_.shared;
  // Without REST there is no snapshot: the feed exports only closed and
  // update events, so the workers post no others (half the events of a
  // short session, SessionFeed::handle).
  const uint8_t kinds = rest_on ? kAllEventKinds
                                : event_bit(SessionEventKind::closed) | event_bit(SessionEventKind::update);
  if (!shared.enable_events(EventConsumer::ipfix, in_.ring_size, static_cast<int>(rte_socket_id()), error, kinds))
    return false;
  if (ipv6 && !shared.enable_events6(in_.ring_size, static_cast<int>(rte_socket_id()), error)) return false;
  shared.session_update_ms = ipfix_on ? ipfix.active_timeout_s * 1000 : 10000;
  feed_ = std::make_unique<SessionFeed>(shared, snapshot_.get(), exporter_.get());
  store_->add_reader(&feed_->quiescent);
  feed_->start();
  return true;
}

bool MgmtRuntime::start_rest(std::string& error) {
  const config::Mgmt& mc = in_.config.mgmt();
  if (mc.listen().empty()) return true;
  RestContext ctx;
  ctx.shared = in_.shared;
  ctx.store = store_.get();
  ctx.sessions = snapshot_.get();
  ctx.ipfix = exporter_.get();
  ctx.access = RestAccess::from_config(mc);
  ctx.access_follows_config = true;
  ctx.tls = {mc.tls_cert(), mc.tls_key(), mc.client_ca()};
  ctx.limits = RestLimits::from_config(mc.limits());
  if (const ha::HaStatus* ha = in_.ha) {
    ctx.ha_status = [ha] { return ha->json(); };
    ctx.ha_metrics = [ha](const std::string& labels) { return ha->metrics(labels); };
  }
  ctx.documents = in_.documents;
  ctx.metrics = in_.metrics;
  ctx.documents.emplace_back("/api/v1/paths", [shared = in_.shared, snapshot = snapshot_.get()] {
    return paths_json(*shared, snapshot).dump(2);
  });
  rest_ = std::make_unique<RestServer>();
  return rest_->start(mc.listen(), std::move(ctx), error);
}

void MgmtRuntime::start_watch() {
  start_key_retirement();
  if (!in_.redis || watch_) return;
  const RedisSource& r = *in_.redis;
  watch_ = std::make_unique<RedisWatch>(r.endpoint, r.prefix, *store_, r.version);
  watch_->start();
}

void MgmtRuntime::stop_watch() {
  if (watch_) watch_->stop();
  stop_key_retirement();
}

void MgmtRuntime::start_key_retirement() {
  if (retire_thread_.joinable() || !store_) return;
  retire_ = std::make_unique<KeyRetirement>(*store_, *in_.shared);
  retire_stop_ = false;
  retire_thread_ = std::thread([this] {
    std::unique_lock lock(retire_mu_);
    std::string last;
    while (!retire_cv_.wait_for(lock, std::chrono::seconds(1), [this] { return retire_stop_; })) {
      const auto now = std::chrono::steady_clock::now().time_since_epoch();
      std::vector<std::string> log;
      retire_->poll(static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(now).count()), log);
      for (const auto& line : log) {
        if (line == last) continue;  // a commit that keeps failing is logged once
        std::fprintf(stderr, "waypointd: %s\n", line.c_str());
        last = line;
      }
    }
  });
}

void MgmtRuntime::stop_key_retirement() {
  if (!retire_thread_.joinable()) return;
  {
    std::lock_guard lock(retire_mu_);
    retire_stop_ = true;
  }
  retire_cv_.notify_all();
  retire_thread_.join();
}

void MgmtRuntime::stop() {
  stop_watch();
  if (rest_) rest_->stop();
  if (feed_) feed_->stop();  // its last pass drains what the workers posted, then flushes IPFIX
}

}  // namespace wp::mgmt
