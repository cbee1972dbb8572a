// Stats export until the REST issue lands: counters and drop reasons of all
// workers summed into one JSON document, served at GET /api/v1/stats on
// mgmt.listen and printed to stderr on SIGUSR1.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "dataplane/dataplane.h"

namespace wp::ha {
struct HaStatus;  // #6 HA
}

namespace httplib {
class Server;
}

namespace wp::mgmt {

std::string stats_json(const DataplaneShared& shared, const std::string& router_name);

// A small HTTP endpoint on its own thread. Bind errors are reported by start().
class StatsServer {
 public:
  StatsServer();
  ~StatsServer();
  bool start(const std::string& listen, const DataplaneShared& shared, const std::string& router_name,
             std::string& error);
  void stop();
  // #5 offload: another JSON document (e.g. GET /api/v1/offload) served by
  // the same endpoint; call before start().
  void add_json(std::string path, std::function<std::string()> body) {
    extra_.emplace_back(std::move(path), std::move(body));
  }
  // #6 HA: serve GET /api/v1/ha from this status (call before start()).
  void set_ha(const ha::HaStatus* status) { ha_ = status; }

 private:
  std::vector<std::pair<std::string, std::function<std::string()>>> extra_;
  std::unique_ptr<httplib::Server> server_;
  std::unique_ptr<std::thread> thread_;
  const ha::HaStatus* ha_ = nullptr;
};

}  // namespace wp::mgmt
