// Sessions, packets and bytes by application and by category (docs/applications.md §
// Visibility): the "applications" and "categories" of GET /api/v1/stats, the
// waypoint_app_* and waypoint_app_category_* series of /metrics, and what `wpctl apps`
// prints. Built from the session snapshot's totals (mgmt/session_feed.h), so they are as
// fresh as the session events: each live session at most one update period old.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "mgmt/session_feed.h"

namespace wp::mgmt {

// [{"application", "category", "id", "sessions", "packets", "bytes"}...] and
// [{"category", "sessions", "packets", "bytes"}...], most bytes first.
nlohmann::ordered_json app_stats_json(const std::map<uint16_t, AppTotals>& totals);
nlohmann::ordered_json category_stats_json(const std::map<uint16_t, AppTotals>& totals);
// Prometheus series, labels `labels` (router="...") plus application / category.
std::string app_metrics_text(const std::map<uint16_t, AppTotals>& totals, const std::string& labels);
// The name of application `id` in the session's REST view ("" while unknown).
std::string app_name(uint16_t id);
std::string app_category_name(uint16_t id);

}  // namespace wp::mgmt
