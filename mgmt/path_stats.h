// Paths as the stats endpoint shows them: per path its peer,
// waypoints, BFD state and counters, probe metrics, whether sessions may use
// it, and the sessions placed on it / migrated to and from it (summed over
// workers). Served inside GET /api/v1/stats and alone at GET /api/v1/paths.
#pragma once

#include <nlohmann/json.hpp>

#include "dataplane/worker/shared.h"

namespace wp::mgmt {

class SessionSnapshot;
class PromText;

// With `sessions` (the REST session snapshot), each path also shows how many
// live sessions have a WAN leg on it now ("sessions"; null without it).
nlohmann::ordered_json paths_json(const DataplaneShared& shared, const SessionSnapshot* sessions = nullptr);

// The same per path in /metrics, labelled path (WAN interface) and peer:
// usable and BFD-up gauges, the SLA figures (worse of probe and flow) in
// seconds and as a ratio once measured, sessions started and migrations.
void path_metrics(PromText& out, const DataplaneShared& shared);

}  // namespace wp::mgmt
