// Status JSON; see ha_status.h.
#include "ha/ha_status.h"

#include <nlohmann/json.hpp>
#include <string_view>

namespace wp::ha {

std::string HaStatus::json() const {
  static constexpr std::string_view kNames[] = {
#define WP_X(n) #n,
      WP_HA_COUNTERS(WP_X)
#undef WP_X
  };
  View v = view();
  nlohmann::json j;
  j["node_id"] = v.node_id;
  j["state"] = v.state;
  j["members"] = v.members;
  j["peer_present"] = v.peer_present;
  j["own_addresses_held"] = v.own_held;
  j["peer_addresses_taken"] = v.peer_taken;
  nlohmann::json roles = nlohmann::json::object();
  for (const auto& [addr, role] : v.roles) roles[addr] = role;
  j["roles"] = roles;
  j["sync_lag_ms"] = sync_lag_ms.load(std::memory_order_relaxed);
  j["sync_lag_max_ms"] = sync_lag_max_ms.load(std::memory_order_relaxed);
  j["last_resync_ms"] = last_resync_ms.load(std::memory_order_relaxed);
  j["last_resync_sessions"] = last_resync_sessions.load(std::memory_order_relaxed);
  j["last_takeover_ms"] = last_takeover_ms.load(std::memory_order_relaxed);
  nlohmann::json c = nlohmann::json::object();
  for (size_t i = 0; i < static_cast<size_t>(Counter::count); ++i)
    c[std::string(kNames[i])] = counters[i].load(std::memory_order_relaxed);
  j["counters"] = c;
  std::lock_guard lock(mu_);
  j["recent_sent"] = recent_sent_;
  j["recent_received"] = recent_received_;
  return j.dump(2);
}

}  // namespace wp::ha
