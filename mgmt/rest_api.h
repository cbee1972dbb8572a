// The REST API (docs/operations.md § REST API and wpctl), cpp-httplib on its own
// thread, JSON bodies from proto/api.proto (protobuf JSON mapping):
//   GET  /api/v1/sessions?tenant=&service=&addr=&limit=&after=   paged by UUID cursor
//   GET  /api/v1/sessions/{uuid}
//   GET  /api/v1/stats                 counters and every drop reason (stats.h)
//   GET  /api/v1/config                committed config (peer keys redacted)
//   PUT  /api/v1/config[?dry_run=1]    YAML or JSON body: validate -> commit
//   GET  /api/v1/peers, /api/v1/ha
//   GET  /api/v1/ipsec/sas?tunnel=     IKE and Child SAs with counters (ipsec_sas.h)
//   GET  /metrics                      Prometheus text (metrics.h)
// Auth (rest_auth.h): when tokens are configured every request needs
// `Authorization: Bearer TOKEN` (401 without one, 403 with a wrong one or a
// read-only token on a PUT). Before that, a client over its request rate gets
// 429 (rest_rate_limit.h); connections, deadlines and TLS are
// rest_transport.h's. Secret fields (config_secrets.h) never leave in a
// response. Errors are 4xx/5xx with an api.Error JSON body; config errors
// list every {path, message}.
// Sessions come from the event-built snapshot (session_feed.h), never from a
// live worker table.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "dataplane/worker/shared.h"
#include "mgmt/ipfix_exporter.h"
#include "mgmt/live_commit.h"
#include "mgmt/rest_auth.h"
#include "mgmt/rest_rate_limit.h"
#include "mgmt/rest_transport.h"
#include "mgmt/session_feed.h"

namespace wp::mgmt {

struct RestContext {
  DataplaneShared* shared = nullptr;
  ConfigStore* store = nullptr;
  const SessionSnapshot* sessions = nullptr;  // null: sessions endpoints answer 503
  const IpfixExporter* ipfix = nullptr;       // null: IPFIX off
  RestAccess access;  // no clients: every request is allowed (loopback only)
  // mgmt.token/tokens follow live commits of `store` (waypointd); false: `access` stays as given.
  bool access_follows_config = false;
  std::shared_ptr<LiveAccess> live_access;  // set by RestServer::prepare when access follows the config
  RestTls tls;        // no cert: plain HTTP (loopback only)
  RestLimits limits;
  // HA status JSON (api.HaStatus) from the HA runtime; null = standalone.
  std::function<std::string()> ha_status;
  // HA lines for /metrics (labels given); null = standalone.
  std::function<std::string(const std::string&)> ha_metrics;
  // More JSON documents served as they are (GET /api/v1/offload).
  std::vector<std::pair<std::string, std::function<std::string()>>> documents;
  // More /metrics sections (labels given), e.g. the offload manager's.
  std::vector<std::function<std::string(const std::string&)>> metrics;
};

// The REST server's own requests and refusals, by reason, in Prometheus text.
std::string rest_metrics(const RestCounters& n, const std::string& router);

class RestServer {
 public:
  RestServer();
  ~RestServer();
  // The context for GET/PUT/... and the server's limits and TLS; false with
  // `error` when the TLS files cannot be used.
  bool prepare(RestContext ctx, std::string& error);
  // prepare(), then serve `listen` on a thread of its own.
  bool start(const std::string& listen, RestContext ctx, std::string& error);
  void stop();
  // One raw HTTP request through the real routes, no socket (after prepare).
  std::string serve_text(std::string request);
  const RestCounters& counters() const { return counters_; }

 private:
  void routes();
  RestContext ctx_;
  RestCounters counters_;
  std::unique_ptr<RateLimiter> limiter_;
  std::unique_ptr<HttpTransport> server_;
  std::unique_ptr<std::thread> thread_;
};

}  // namespace wp::mgmt
