// QoS on shaped WAN ports as the stats endpoint and /metrics show it
// (docs/qos.md § Visibility): per port its rate and owner worker, per class
// the scheduler's counters as the owner last published them.
#pragma once

#include <nlohmann/json.hpp>

#include "dataplane/worker/shared.h"

namespace wp::mgmt {

class PromText;

// {"ports": [{"interface", "rate_bps", "owner", "classes": [{"class", "enqueued", "sent", "dropped",
// "sent_bytes", "dropped_bytes", "queue_delay_avg_us", "queue_delay_max_us", "depth"}...]}...]}.
nlohmann::ordered_json qos_json(const DataplaneShared& shared);

// waypoint_qos_{enqueued,sent,dropped}_packets_total, waypoint_qos_{sent,dropped}_bytes_total,
// waypoint_qos_queue_delay_seconds_total, waypoint_qos_queue_delay_seconds_max, waypoint_qos_queue_depth (labels interface, class)
// and waypoint_qos_rate_bytes_per_second (label interface). Nothing without a shaped port.
void qos_metrics(PromText& out, const DataplaneShared& shared);

}  // namespace wp::mgmt
