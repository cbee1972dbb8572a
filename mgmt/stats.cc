// Stats JSON and the stats endpoint; see stats.h.
#include "mgmt/stats.h"

#include <nlohmann/json.hpp>

#include "dataplane/ip/ipv4.h"
#include "mgmt/path_stats.h"
#include "mgmt/qos_stats.h"

namespace wp::mgmt {

std::string stats_json(const DataplaneShared& shared, const std::string& router_name) {
  nlohmann::ordered_json j;
  j["router"] = router_name;
  j["workers"] = shared.workers;
  uint64_t active = 0, bindings = 0, active6 = 0, nat46 = 0;
  std::array<uint64_t, kCounterCount> counters{};
  std::array<uint64_t, kDropReasonCount> drops{};
  nlohmann::ordered_json per_worker = nlohmann::ordered_json::array();
  for (uint32_t w = 0; w <= shared.workers; ++w) {
    const WorkerCounters& c = shared.counters[w];
    uint64_t wa = c.sessions_active.load(std::memory_order_relaxed);
    active += wa;
    const uint64_t wb = c.nat64_bindings.load(std::memory_order_relaxed);
    bindings += wb;
    const uint64_t w6 = c.sessions6_active.load(std::memory_order_relaxed);
    active6 += w6;
    const uint64_t w46 = c.nat46_sessions.load(std::memory_order_relaxed);
    nat46 += w46;
    for (size_t i = 0; i < kCounterCount; ++i) counters[i] += c.get(static_cast<Counter>(i));
    for (size_t i = 0; i < kDropReasonCount; ++i) drops[i] += c.get(static_cast<DropReason>(i));
    if (w < shared.workers)
      per_worker.push_back({{"id", w},
                            {"sessions", wa},
                            {"rx_packets", c.get(Counter::rx_packets)},
                            {"tx_packets", c.get(Counter::tx_packets)},
                            {"nat64_bindings", wb},
                            {"sessions6", w6},
                            {"nat46_sessions", w46}});
  }
  j["sessions"] = {{"active", active},
                   {"created", counters[static_cast<size_t>(Counter::sessions_created)]},
                   {"expired", counters[static_cast<size_t>(Counter::sessions_expired)]}};
  j["nat64"] = {{"bindings", bindings}};  // docs/ipv6.md § NAT64
  j["nat46"] = {{"sessions", nat46}};     // docs/ipv6.md § NAT46
  // docs/ipv6.md § IPv6 routing and sessions
  j["sessions6"] = {{"active", active6},
                    {"created", counters[static_cast<size_t>(Counter::sessions6_created)]},
                    {"expired", counters[static_cast<size_t>(Counter::sessions6_expired)]}};
  for (size_t i = 0; i < kCounterCount; ++i) j["counters"][std::string(kCounterNames[i])] = counters[i];
  uint64_t total = 0;
  for (size_t i = 0; i < kDropReasonCount; ++i) {
    j["drops"][std::string(kDropReasonNames[i])] = drops[i];
    total += drops[i];
  }
  j["drops_total"] = total;
  j["per_worker"] = per_worker;
  if (shared.paths) j["paths"] = paths_json(shared);
  j["qos"] = qos_json(shared);  // {"ports": []} without a shaped WAN port
  return j.dump(2);
}

}  // namespace wp::mgmt
