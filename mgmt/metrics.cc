// Prometheus metrics; see metrics.h.
#include "mgmt/metrics.h"

#include <array>

#include "mgmt/path_stats.h"
#include "mgmt/prom_text.h"
#include "mgmt/qos_stats.h"

namespace wp::mgmt {

namespace {

struct Totals {
  std::array<uint64_t, kCounterCount> counters{};
  std::array<uint64_t, kDropReasonCount> drops{};
  uint64_t active = 0;
  uint64_t nat64_bindings = 0;
  uint64_t nat46_sessions = 0;
  uint64_t active6 = 0;
};

Totals sum_workers(const DataplaneShared& shared) {
  Totals t;
  for (uint32_t w = 0; w <= shared.workers; ++w) {
    const WorkerCounters& c = shared.counters[w];
    t.active += c.sessions_active.load(std::memory_order_relaxed);
    t.nat64_bindings += c.nat64_bindings.load(std::memory_order_relaxed);
    t.nat46_sessions += c.nat46_sessions.load(std::memory_order_relaxed);
    t.active6 += c.sessions6_active.load(std::memory_order_relaxed);
    for (size_t i = 0; i < kCounterCount; ++i) t.counters[i] += c.get(static_cast<Counter>(i));
    for (size_t i = 0; i < kDropReasonCount; ++i) t.drops[i] += c.get(static_cast<DropReason>(i));
  }
  return t;
}

void worker_metrics(PromText& p, const Totals& t) {
  for (size_t i = 0; i < kCounterCount; ++i) {
    const std::string name = "waypoint_" + std::string(kCounterNames[i]) + "_total";
    p.family(name, "counter",
             "Worker counter " + std::string(kCounterNames[i]) + ", summed over workers (docs/operations.md).");
    p.sample(name, t.counters[i]);
  }
  p.family("waypoint_drops_total", "counter", "Packets dropped, by reason.");
  for (size_t i = 0; i < kDropReasonCount; ++i)
    p.sample("waypoint_drops_total", t.drops[i], prom_label("reason", kDropReasonNames[i]));
}

void ipfix_metrics(PromText& p, const IpfixStats& s) {
  const std::pair<const char*, uint64_t> rows[] = {
      {"records_exported", s.records_exported.load()}, {"records_dropped", s.records_dropped.load()},
      {"messages_sent", s.messages_sent.load()},       {"templates_sent", s.templates_sent.load()},
      {"send_errors", s.send_errors.load()},
  };
  for (const auto& [what, v] : rows)
    p.one("waypoint_ipfix_" + std::string(what) + "_total", "counter", std::string("IPFIX exporter: ") + what + ".",
          v);
}

}  // namespace

std::string metrics_text(const DataplaneShared& shared, const std::string& router, const IpfixExporter* ipfix,
                         uint64_t config_version, size_t snapshot_sessions) {
  PromText p(prom_label("router", router));
  const Totals t = sum_workers(shared);
  p.one("waypoint_sessions_active", "gauge", "Sessions in the workers' tables.", t.active);
  p.one("waypoint_sessions_tracked", "gauge", "Sessions in the REST snapshot.", snapshot_sessions);
  p.one("waypoint_nat64_bindings", "gauge", "NAT64 bindings in the workers' tables.", t.nat64_bindings);
  p.one("waypoint_nat46_sessions", "gauge", "NAT46 sessions in the workers' tables.", t.nat46_sessions);
  p.one("waypoint_sessions6_active", "gauge", "IPv6 sessions in the workers' tables.", t.active6);
  worker_metrics(p, t);
  p.one("waypoint_config_version", "gauge", "Version of the committed config.", config_version);
  if (ipfix) ipfix_metrics(p, ipfix->stats());
  path_metrics(p, shared);
  qos_metrics(p, shared);
  return p.take();
}

}  // namespace wp::mgmt
