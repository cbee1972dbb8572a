// Counters and drop reasons of all workers summed into one JSON document,
// served at GET /api/v1/stats (rest_api.h) and printed to stderr on SIGUSR1.
#pragma once

#include <string>

#include "dataplane/worker/shared.h"

namespace wp::mgmt {

std::string stats_json(const DataplaneShared& shared, const std::string& router_name);

}  // namespace wp::mgmt
