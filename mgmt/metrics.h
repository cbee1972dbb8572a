// Prometheus text exposition (format 0.0.4) of the router's counters: sessions,
// packets, every counter, drops by reason, IPFIX exporter and config version.
// Counter names are the dataplane's X-macro names (counters.h, drop_reason.h),
// so crypto, offload and HA counters appear as soon as those modules add them.
#pragma once

#include <string>

#include "dataplane/worker/shared.h"
#include "mgmt/ipfix_exporter.h"

namespace wp::mgmt {

std::string metrics_text(const DataplaneShared& shared, const std::string& router, const IpfixExporter* ipfix,
                         uint64_t config_version, size_t snapshot_sessions);

}  // namespace wp::mgmt
