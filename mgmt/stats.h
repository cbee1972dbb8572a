// Stats export until the REST issue lands: counters and drop reasons of all
// workers summed into one JSON document, served at GET /api/v1/stats on
// mgmt.listen and printed to stderr on SIGUSR1.
#pragma once

#include <memory>
#include <string>
#include <thread>

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
  // #6 HA: serve GET /api/v1/ha from this status (call before start()).
  void set_ha(const ha::HaStatus* status) { ha_ = status; }

 private:
  std::unique_ptr<httplib::Server> server_;
  std::unique_ptr<std::thread> thread_;
  const ha::HaStatus* ha_ = nullptr;
};

}  // namespace wp::mgmt
