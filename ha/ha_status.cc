// Status JSON; see ha_status.h.
#include "ha/ha_status.h"

#include <nlohmann/json.hpp>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string_view>

namespace wp::ha {

void ha_log(const std::string& line) {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm t{};
  gmtime_r(&ts.tv_sec, &t);
  std::fprintf(stderr, "waypointd: ha: %02d:%02d:%02d.%03ld %s\n", t.tm_hour, t.tm_min, t.tm_sec, ts.tv_nsec / 1000000,
               line.c_str());
}

void HaStatus::RecentUuids::note(const uint8_t* id) {
  for (size_t i = 0; i < count; ++i)
    if (std::memcmp(ids[i].data(), id, 16) == 0) return;
  std::memcpy(ids[next].data(), id, 16);
  next = (next + 1) % kRecent;
  if (count < kRecent) ++count;
}

std::vector<std::string> HaStatus::RecentUuids::hex() const {
  static constexpr char kHex[] = "0123456789abcdef";
  std::vector<std::string> out;
  const size_t first = count < kRecent ? 0 : next;
  for (size_t k = 0; k < count; ++k) {
    std::string h;
    for (uint8_t b : ids[(first + k) % kRecent]) h += {kHex[b >> 4], kHex[b & 15]};
    out.push_back(std::move(h));
  }
  return out;
}

namespace {
constexpr std::string_view kNames[] = {
#define WP_X(n) #n,
    WP_HA_COUNTERS(WP_X)
#undef WP_X
};
}  // namespace

std::string HaStatus::metrics(const std::string& labels) const {
  View v = view();
  std::string o;
  auto family = [&](const std::string& name, const char* type, const std::string& help, const std::string& value) {
    o += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name + "{" + labels + "} " + value +
         "\n";
  };
  auto gauge = [&](const char* name, const char* help, uint64_t value) {
    family(std::string("waypoint_ha_") + name, "gauge", help, std::to_string(value));
  };
  gauge("replication_lag_sessions", "Session ops sent to the peer and not yet acknowledged.",
        replication_lag_sessions.load(std::memory_order_relaxed));
  char lag[32];
  std::snprintf(lag, sizeof lag, "%.3f", replication_lag_ms.load(std::memory_order_relaxed) / 1000.0);
  family("waypoint_ha_replication_lag_seconds", "gauge", "Age of the oldest unacknowledged session op.", lag);
  gauge("quorate", "1 while corosync reports this node in the quorate partition.", v.quorate);
  gauge("peer_present", "1 while the peer is in the corosync group.", v.peer_present);
  gauge("own_addresses_held", "1 while this node answers for its own addresses.", v.own_held);
  gauge("peer_addresses_taken", "1 while this node answers for the peer's addresses.", v.peer_taken);
  gauge("epoch", "Address-ownership epoch.", v.epoch);
  for (size_t i = 0; i < static_cast<size_t>(Counter::count); ++i)
    family("waypoint_ha_" + std::string(kNames[i]) + "_total", "counter",
           "HA counter " + std::string(kNames[i]) + " (docs/operations.md).",
           std::to_string(counters[i].load(std::memory_order_relaxed)));
  return o;
}

std::string HaStatus::json() const {
  View v = view();
  nlohmann::json j;
  j["node_id"] = v.node_id;
  j["state"] = v.state;
  j["members"] = v.members;
  j["quorate"] = v.quorate;
  j["epoch"] = v.epoch;
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
  j["replication_lag_sessions"] = replication_lag_sessions.load(std::memory_order_relaxed);
  j["replication_lag_ms"] = replication_lag_ms.load(std::memory_order_relaxed);
  j["unacked_forgotten"] = unacked_forgotten.load(std::memory_order_relaxed);
  nlohmann::json c = nlohmann::json::object();
  for (size_t i = 0; i < static_cast<size_t>(Counter::count); ++i)
    c[std::string(kNames[i])] = counters[i].load(std::memory_order_relaxed);
  j["counters"] = c;
  j["recent_sent"] = recent(true);
  j["recent_received"] = recent(false);
  return j.dump(2);
}

}  // namespace wp::ha
