// Stats JSON and the stats endpoint; see stats.h.
#include "mgmt/stats.h"

#include <httplib.h>

#include <nlohmann/json.hpp>

#include "dataplane/ipv4.h"
#include "mgmt/path_stats.h"  // #9 paths
#include "ha/ha_status.h"  // #6 HA

namespace wp::mgmt {

std::string stats_json(const DataplaneShared& shared, const std::string& router_name) {
  nlohmann::ordered_json j;
  j["router"] = router_name;
  j["workers"] = shared.workers;
  uint64_t active = 0;
  std::array<uint64_t, kCounterCount> counters{};
  std::array<uint64_t, kDropReasonCount> drops{};
  nlohmann::ordered_json per_worker = nlohmann::ordered_json::array();
  for (uint32_t w = 0; w <= shared.workers; ++w) {
    const WorkerCounters& c = shared.counters[w];
    uint64_t wa = c.sessions_active.load(std::memory_order_relaxed);
    active += wa;
    for (size_t i = 0; i < kCounterCount; ++i) counters[i] += c.get(static_cast<Counter>(i));
    for (size_t i = 0; i < kDropReasonCount; ++i) drops[i] += c.get(static_cast<DropReason>(i));
    if (w < shared.workers)
      per_worker.push_back({{"id", w},
                            {"sessions", wa},
                            {"rx_packets", c.get(Counter::rx_packets)},
                            {"tx_packets", c.get(Counter::tx_packets)}});
  }
  j["sessions"] = {{"active", active},
                   {"created", counters[static_cast<size_t>(Counter::sessions_created)]},
                   {"expired", counters[static_cast<size_t>(Counter::sessions_expired)]}};
  for (size_t i = 0; i < kCounterCount; ++i) j["counters"][std::string(kCounterNames[i])] = counters[i];
  uint64_t total = 0;
  for (size_t i = 0; i < kDropReasonCount; ++i) {
    j["drops"][std::string(kDropReasonNames[i])] = drops[i];
    total += drops[i];
  }
  j["drops_total"] = total;
  j["per_worker"] = per_worker;
  if (shared.paths) j["paths"] = paths_json(shared);  // #9 paths
  return j.dump(2);
}

StatsServer::StatsServer() = default;
StatsServer::~StatsServer() { stop(); }

bool StatsServer::start(const std::string& listen, const DataplaneShared& shared, const std::string& router_name,
                        std::string& error) {
  size_t colon = listen.rfind(':');
  auto addr = parse_ipv4(listen.substr(0, colon));
  int port = colon == std::string::npos ? 0 : std::atoi(listen.c_str() + colon + 1);
  if (!addr || port <= 0 || port > 65535) return error = "mgmt.listen: \"" + listen + "\" is not IPv4:port", false;
  server_ = std::make_unique<httplib::Server>();
  server_->Get("/api/v1/stats", [&shared, router_name](const httplib::Request&, httplib::Response& res) {
    res.set_content(stats_json(shared, router_name), "application/json");
  });
  server_->Get("/api/v1/paths", [&shared](const httplib::Request&, httplib::Response& res) {  // #9 paths
    res.set_content(paths_json(shared).dump(2), "application/json");
  });
  if (ha_)  // #6 HA
    server_->Get("/api/v1/ha", [status = ha_](const httplib::Request&, httplib::Response& res) {
      res.set_content(status->json(), "application/json");
    });
  if (!server_->bind_to_port(listen.substr(0, colon).c_str(), port)) {
    error = "mgmt.listen: cannot bind " + listen + ": " + std::strerror(errno);
    server_.reset();
    return false;
  }
  thread_ = std::make_unique<std::thread>([this] { server_->listen_after_bind(); });
  return true;
}

void StatsServer::stop() {
  if (server_) server_->stop();
  if (thread_ && thread_->joinable()) thread_->join();
  thread_.reset();
  server_.reset();
}

}  // namespace wp::mgmt
