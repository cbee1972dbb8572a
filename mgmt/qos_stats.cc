// QoS stats and metrics; see qos_stats.h.
#include "mgmt/qos_stats.h"

#include "mgmt/prom_text.h"

namespace wp::mgmt {

nlohmann::ordered_json qos_json(const DataplaneShared& shared) {
  nlohmann::ordered_json ports = nlohmann::ordered_json::array();
  for (const QosPortShared& p : shared.qos.ports) {
    nlohmann::ordered_json classes = nlohmann::ordered_json::array();
    for (size_t c = 0; c < kQosClasses; ++c) {
      const QosClassStats& s = p.stats->cls[c];
      const uint64_t sent = s.sent.load(std::memory_order_relaxed);
      const uint64_t delay = s.delay_ns_total.load(std::memory_order_relaxed);
      classes.push_back({{"class", std::string(kQosClassNames[c])},
                         {"dscp", shared.qos.dscp[c]},
                         {"enqueued", s.enqueued.load(std::memory_order_relaxed)},
                         {"sent", sent},
                         {"dropped", s.dropped.load(std::memory_order_relaxed)},
                         {"sent_bytes", s.sent_bytes.load(std::memory_order_relaxed)},
                         {"dropped_bytes", s.dropped_bytes.load(std::memory_order_relaxed)},
                         {"queue_delay_avg_us", sent ? static_cast<double>(delay) / sent / 1000.0 : 0.0},
                         {"queue_delay_max_us", s.delay_ns_max.load(std::memory_order_relaxed) / 1000.0},
                         {"depth", s.depth.load(std::memory_order_relaxed)}});
    }
    ports.push_back({{"interface", p.name}, {"rate_bps", p.rate_bps}, {"owner", p.owner}, {"classes", classes}});
  }
  return {{"ports", ports}};
}

void qos_metrics(PromText& out, const DataplaneShared& shared) {
  if (!shared.qos.enabled()) return;
  out.family("waypoint_qos_rate_bytes_per_second", "gauge", "QoS: the rate a WAN port is shaped to.");
  for (const QosPortShared& p : shared.qos.ports) out.sample("waypoint_qos_rate_bytes_per_second", p.rate_bps / 8, prom_label("interface", p.name));
  struct Row {
    const char* name;
    const char* type;
    const char* help;
    std::atomic<uint64_t> QosClassStats::*field;
    double scale;  // 0 = the integer as is
  };
  static const Row kRows[] = {
      {"waypoint_qos_enqueued_packets_total", "counter", "QoS: packets queued in the class on the port.",
       &QosClassStats::enqueued, 0},
      {"waypoint_qos_sent_packets_total", "counter", "QoS: packets the scheduler sent.", &QosClassStats::sent, 0},
      {"waypoint_qos_dropped_packets_total", "counter", "QoS: packets dropped because the class queue was full.",
       &QosClassStats::dropped, 0},
      {"waypoint_qos_sent_bytes_total", "counter", "QoS: bytes (Ethernet frames) sent.", &QosClassStats::sent_bytes, 0},
      {"waypoint_qos_dropped_bytes_total", "counter", "QoS: bytes dropped at a full class queue.",
       &QosClassStats::dropped_bytes, 0},
      {"waypoint_qos_queue_delay_seconds_total", "counter", "QoS: queue delay of the sent packets, summed.",
       &QosClassStats::delay_ns_total, 1e-9},
      {"waypoint_qos_queue_delay_seconds_max", "gauge", "QoS: the longest queue delay of a sent packet.",
       &QosClassStats::delay_ns_max, 1e-9},
      {"waypoint_qos_queue_depth", "gauge", "QoS: packets waiting in the class queue now.", &QosClassStats::depth, 0},
  };
  for (const Row& r : kRows) {
    out.family(r.name, r.type, r.help);
    for (const QosPortShared& p : shared.qos.ports)
      for (size_t c = 0; c < kQosClasses; ++c) {
        const uint64_t v = (p.stats->cls[c].*r.field).load(std::memory_order_relaxed);
        const std::string labels = prom_label("interface", p.name) + "," + prom_label("class", kQosClassNames[c]);
        if (r.scale != 0)
          out.sample_double(r.name, static_cast<double>(v) * r.scale, labels);
        else
          out.sample(r.name, v, labels);
      }
  }
}

}  // namespace wp::mgmt
