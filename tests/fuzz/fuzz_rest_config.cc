// libFuzzer target for REST request bodies: the YAML or JSON config that
// `PUT /api/v1/config?dry_run=1` takes (rest_api.cc), through the same
// steps the handler runs: load_config_text (map + validate), the 422 body
// for its errors, then ConfigStore::commit (validate again, restart-only
// fields, build the RouterModel) and the reply for its outcome.
//
// A body is hostile input from anyone who can reach mgmt.listen: it must
// come back as a reply, never a crash, and quickly (test.sh runs this target
// with the -timeout below). Each body is committed as a dry run twice: to a
// router running the demo's r1 (what a PUT meets in practice: most bodies
// change a restart-only section), and to one started with the body's own
// config, so every body that validates also builds a model. A config that
// validates must build: the model builder's own checks are the validator's
// job, and a pathless 422 would be all the user got. Every error path and
// message must be UTF-8 (they are proto3 strings rendered as JSON; protobuf
// drops what is not and logs an error per request).
//
// fuzz flags: -timeout=3
#include <google/protobuf/util/json_util.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "api.pb.h"
#include "dataplane/worker/shared.h"
#include "mgmt/config_load.h"
#include "mgmt/live_commit.h"

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

constexpr const char* kRunning = R"(
router:
  name: r1
  lan: {name: lan, device: net_af_packet0, address: 10.1.0.1/24}
  wan: [{name: wan0, device: net_af_packet1, address: 172.16.0.1/24}]
tenants: [{name: branch, prefixes: [10.1.0.0/25]}, {name: guests, prefixes: [10.1.0.128/25]}]
services:
  - {name: web, prefixes: [10.2.0.0/24], protocol: tcp, ports: ["80", "8000", "5201"], next_peer: r2}
  - {name: iperf-udp, prefixes: [10.2.0.0/24], protocol: udp, ports: ["5201"], next_peer: r2}
policies: [{tenant: branch, service: web}, {tenant: branch, service: iperf-udp}]
peers: [{name: r2, waypoints: [172.16.0.2], key: "ceadaf24a2966eaf7136022415ce5234925589639ea9b47c3416b22594ee400f"}]
dataplane: {workers: 1, max_sessions: 65536}
mgmt: {listen: "127.0.0.1:9101"}
)";

// The 422 body the handler sends (rest_api.cc `fail`).
void render_errors(const std::vector<wp::mgmt::ConfigError>& errors) {
  waypoint::api::Error e;
  e.set_error("invalid config");
  for (const wp::mgmt::ConfigError& d : errors) {
    check(wp::mgmt::valid_utf8(d.path) && wp::mgmt::valid_utf8(d.message));
    waypoint::api::ErrorDetail* x = e.add_details();
    x->set_path(d.path);
    x->set_message(d.message);
  }
  google::protobuf::util::JsonPrintOptions o;
  o.preserve_proto_field_names = true;
  std::string s;
  check(google::protobuf::util::MessageToJsonString(e, &s, o).ok());
}

wp::mgmt::CommitOutcome dry_run(const wp::config::Config& running, const wp::config::Config& next) {
  // Dry runs touch neither the shared state nor the store: nothing outlives the call.
  wp::DataplaneShared shared;
  wp::mgmt::ConfigStore store(shared, running, nullptr, nullptr, nullptr);
  wp::mgmt::CommitOutcome out = store.commit(next, /*dry_run=*/true);
  check(!out.applied && store.version() == 1);
  render_errors(out.errors);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const wp::config::Config running = [] {
    wp::mgmt::ConfigResult r = wp::mgmt::load_config_text(kRunning);
    check(r.ok());
    return r.config;
  }();
  // httplib hands the handler the body as a string.
  const std::string body(reinterpret_cast<const char*>(data), size);
  if (body.empty()) return 0;  // 400 before any parsing
  wp::mgmt::ConfigResult parsed = wp::mgmt::load_config_text(body);
  if (!parsed.ok()) {
    for (const wp::mgmt::ConfigError& e : parsed.errors) check(!e.message.empty());
    render_errors(parsed.errors);
    return 0;
  }
  (void)dry_run(running, parsed.config);
  wp::mgmt::CommitOutcome own = dry_run(parsed.config, parsed.config);
  check(own.errors.empty());
  return 0;
}
