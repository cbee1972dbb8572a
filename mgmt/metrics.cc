// Prometheus metrics; see metrics.h.
#include "mgmt/metrics.h"

#include <array>
#include <sstream>

namespace wp::mgmt {

std::string metrics_text(const DataplaneShared& shared, const std::string& router, const IpfixExporter* ipfix,
                         uint64_t config_version, size_t snapshot_sessions) {
  std::array<uint64_t, kCounterCount> counters{};
  std::array<uint64_t, kDropReasonCount> drops{};
  uint64_t active = 0;
  for (uint32_t w = 0; w <= shared.workers; ++w) {
    const WorkerCounters& c = shared.counters[w];
    active += c.sessions_active.load(std::memory_order_relaxed);
    for (size_t i = 0; i < kCounterCount; ++i) counters[i] += c.get(static_cast<Counter>(i));
    for (size_t i = 0; i < kDropReasonCount; ++i) drops[i] += c.get(static_cast<DropReason>(i));
  }
  std::ostringstream o;
  const std::string lbl = "router=\"" + router + "\"";
  o << "# HELP waypoint_sessions_active Sessions in the workers' tables.\n"
    << "# TYPE waypoint_sessions_active gauge\n"
    << "waypoint_sessions_active{" << lbl << "} " << active << "\n";
  o << "# HELP waypoint_sessions_tracked Sessions in the REST snapshot.\n"
    << "# TYPE waypoint_sessions_tracked gauge\n"
    << "waypoint_sessions_tracked{" << lbl << "} " << snapshot_sessions << "\n";
  for (size_t i = 0; i < kCounterCount; ++i) {
    const std::string n = "waypoint_" + std::string(kCounterNames[i]) + "_total";
    o << "# TYPE " << n << " counter\n" << n << "{" << lbl << "} " << counters[i] << "\n";
  }
  o << "# HELP waypoint_drops_total Packets dropped, by reason.\n# TYPE waypoint_drops_total counter\n";
  for (size_t i = 0; i < kDropReasonCount; ++i)
    o << "waypoint_drops_total{" << lbl << ",reason=\"" << kDropReasonNames[i] << "\"} " << drops[i] << "\n";
  o << "# TYPE waypoint_config_version gauge\nwaypoint_config_version{" << lbl << "} " << config_version << "\n";
  if (ipfix) {
    const IpfixStats& s = ipfix->stats();
    auto c = [&](const char* name, uint64_t v) {
      o << "# TYPE waypoint_ipfix_" << name << "_total counter\nwaypoint_ipfix_" << name << "_total{" << lbl << "} "
        << v << "\n";
    };
    c("records_exported", s.records_exported.load());
    c("records_dropped", s.records_dropped.load());
    c("messages_sent", s.messages_sent.load());
    c("templates_sent", s.templates_sent.load());
    c("send_errors", s.send_errors.load());
  }
  return o.str();
}

}  // namespace wp::mgmt
