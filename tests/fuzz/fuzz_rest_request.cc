// libFuzzer target for whole REST requests: the bytes a client sends to
// mgmt.listen (request line, headers, body), through the real RestServer
// routes and guards (rate limit, bearer tokens and roles, body limit,
// config PUT with its YAML bounds, redaction) via RestServer::serve_text,
// the same httplib request parser the socket path uses, without sockets.
//
// Each input meets a fresh ConfigStore running r1 (a PUT that commits
// changes nothing for the next input). Beyond "no crash": every input gets
// one well-formed status line, and no response ever carries a secret of the
// running config (peer key, tokens, BFD key), whatever was asked.
//
// fuzz flags: -timeout=5
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "dataplane/worker/shared.h"
#include "mgmt/config_load.h"
#include "mgmt/config_secrets.h"
#include "mgmt/rest_api.h"

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

constexpr const char* kRunning = R"(
router:
  name: r1
  lan: {name: lan, device: net_af_packet0, address: 10.1.0.1/24}
  wan: [{name: wan0, device: net_af_packet1, address: 172.16.0.1/24}]
tenants: [{name: branch, prefixes: [10.1.0.0/25]}]
services: [{name: web, prefixes: [10.2.0.0/24], protocol: tcp, ports: ["80"], next_peer: r2}]
policies: [{tenant: branch, service: web}]
peers: [{name: r2, waypoints: [172.16.0.2], key: "ceadaf24a2966eaf7136022415ce5234925589639ea9b47c3416b22594ee400f"}]
path_monitoring: {auth_key: "5ec4e7b1f0"}
mgmt:
  listen: "127.0.0.1:9101"
  token: "fuzz-rw-token-0001"
  tokens: [{name: viewer, token: "fuzz-ro-token-0001", role: read-only}]
)";

// The state every input shares: the dataplane side a commit publishes to,
// settled by a stand-in for the workers so a commit returns at once.
struct Router {
  wp::DataplaneShared shared;
  wp::config::Config running;
  std::shared_ptr<const wp::RouterModel> model;
  std::vector<std::string> secrets;
  std::atomic<bool> stop{false};
  std::thread ticker;

  Router() {
    wp::mgmt::ConfigResult r = wp::mgmt::load_config_text(kRunning);
    check(r.ok());
    running = r.config;
    secrets = wp::mgmt::secret_values(running);
    shared.workers = 1;
    shared.counters = std::make_unique<wp::WorkerCounters[]>(2);
    wp::HmacEngine hmac;
    std::string err;
    model = wp::RouterModel::build(running, nullptr, nullptr, hmac, err);
    check(model != nullptr);
    shared.model.store(model.get());
    ticker = std::thread([this] {
      while (!stop) {
        const auto published = reinterpret_cast<uintptr_t>(shared.model.load());
        for (uint32_t w = 0; w <= shared.workers; ++w) {
          shared.counters[w].model_settled.store(published);
          shared.counters[w].epoch.fetch_add(1);
        }
        usleep(200);
      }
    });
    ticker.detach();
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Router* router = new Router();  // lives as long as the process
  router->shared.model.store(router->model.get());
  wp::mgmt::ConfigStore store(router->shared, router->running, router->model, nullptr, nullptr);
  store.set_audit([](const std::string&) {});
  wp::mgmt::RestContext ctx;
  ctx.shared = &router->shared;
  ctx.store = &store;
  ctx.access = wp::mgmt::RestAccess::from_config(router->running.mgmt());
  ctx.limits.max_body_bytes = 64 << 10;
  ctx.limits.requests_per_second = 1000000;
  ctx.limits.burst = 1000000;
  wp::mgmt::RestServer server;
  std::string err;
  check(server.prepare(ctx, err));
  const std::string in(reinterpret_cast<const char*>(data), size);
  const std::string out = server.serve_text(in);
  if (!out.empty()) {  // nothing at all: the connection closed before a request line
    check(out.rfind("HTTP/1.1 ", 0) == 0 && out.size() >= 12);
    check(out[9] >= '1' && out[9] <= '5' && std::isdigit(static_cast<unsigned char>(out[10])) &&
          std::isdigit(static_cast<unsigned char>(out[11])));
  }
  // No configured secret comes back, unless the request wrote it itself: an
  // error may quote the request's own text (an unknown key, a bad value).
  for (const std::string& s : router->secrets)
    if (in.find(s) == std::string::npos) check(out.find(s) == std::string::npos);
  return 0;
}
