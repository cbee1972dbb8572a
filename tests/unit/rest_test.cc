// REST API through a real HTTP client against RestServer on loopback:
// bearer auth, sessions (filters, paging by cursor, one by UUID), stats with
// every drop reason, config GET (keys redacted) and PUT (errors with paths,
// restart-only fields, dry run, live commit), peers, ha, metrics.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "mgmt/rest_api.h"
#include "mgmt/session_id.h"
#include "tests/unit/live_store.h"
#include "tests/unit/promtool.h"
#include "dataplane/paths/path_table.h"
#include "ha/ha_status.h"

namespace wp::mgmt {
namespace {

using nlohmann::json;

constexpr const char* kConfig = R"(
router: {name: r1, lan: {name: lan, device: d0, address: 10.1.0.1/24}, wan: [{name: wan0, device: d1, address: 172.16.0.1/24}]}
tenants: [{name: branch, prefixes: [10.1.0.0/25]}, {name: guests, prefixes: [10.1.0.128/25]}]
services:
  - {name: web, prefixes: [10.2.0.0/24], protocol: tcp, ports: ["80"], next_peer: r2}
  - {name: dns, prefixes: [10.2.0.0/24], protocol: udp, ports: ["53"], next_peer: r2}
policies: [{tenant: branch, service: web}, {tenant: guests, service: dns}]
peers: [{name: r2, waypoints: [172.16.0.2], key: "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"}]
mgmt: {token: s3cret, tokens: [{name: viewer, token: viewer-token-0001, role: read-only}]}
path_monitoring: {auth_key: "a1b2c3d4e5"}
)";

class Rest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string err;
    ASSERT_TRUE(live_.start(kConfig, err)) << err;
    model_ = live_.model;
    store_ = live_.store.get();
    const config::Config& cfg = live_.config;
    DataplaneClock clock{0, 1700000000000};
    for (uint8_t i = 0; i < 5; ++i) {  // 3 branch/web, 2 guests/dns sessions
      SessionEvent ev{};
      ev.kind = SessionEventKind::created;
      Session& s = ev.session;
      bool web = i < 3;
      s.uuid[0] = static_cast<uint8_t>(0x10 * (i + 1));
      s.original = {0x0a010000u + (web ? 10u : 200u) + i, 0x0a02000a, static_cast<uint16_t>(40000 + i),
                    static_cast<uint16_t>(web ? 80 : 53), static_cast<uint8_t>(web ? 6 : 17)};
      s.out_rev = {s.original.reversed(), 0, 0, -1};
      s.out_fwd = {{0xac100001, 0xac100002, static_cast<uint16_t>(16400 + 2 * i), static_cast<uint16_t>(16401 + 2 * i),
                    s.original.proto},
                   0xac100002,
                   1,
                   0};
      s.tenant = web ? 0 : 1;
      s.service = web ? 0 : 1;
      s.packets[0] = 3;
      s.bytes[1] = 1000;
      snapshot_.apply(ev, *model_, clock);
    }
    RestContext ctx;
    ctx.shared = &shared_;
    ctx.store = store_;
    ctx.sessions = &snapshot_;
    ctx.access = RestAccess::from_config(cfg.mgmt());
    ctx.limits.max_body_bytes = 1 << 20;
    ctx.limits.requests_per_second = 1000;
    ctx.limits.burst = 1000;
    ctx.limits.request_timeout_ms = 1000;
    ctx.limits.max_connections = 4;
    for (port_ = 19300; port_ < 19400; ++port_)
      if (server_.start("127.0.0.1:" + std::to_string(port_), ctx, err)) break;
    ASSERT_LT(port_, 19400) << err;
  }
  void TearDown() override {
    server_.stop();
    live_.stop();
  }
  httplib::Result get(const std::string& path, const std::string& token = "s3cret") {
    httplib::Client c("127.0.0.1", port_);
    httplib::Headers h;
    if (!token.empty()) h.emplace("Authorization", "Bearer " + token);
    return c.Get(path, h);
  }
  httplib::Result put(const std::string& path, const std::string& body, const std::string& token = "s3cret") {
    httplib::Client c("127.0.0.1", port_);
    return c.Put(path, {{"Authorization", "Bearer " + token}}, body, "application/yaml");
  }
  std::string metrics() {
    auto r = get("/metrics");
    return r ? r->body : "";
  }
  json get_json(const std::string& path) {
    auto r = get(path);
    EXPECT_TRUE(r);
    if (!r) return {};
    EXPECT_EQ(r->status, 200) << path << ": " << r->body;
    return json::parse(r->body);
  }

  test::LiveStore live_;
  DataplaneShared& shared_ = live_.shared;
  std::shared_ptr<const RouterModel> model_;
  ConfigStore* store_ = nullptr;
  SessionSnapshot snapshot_{1000};
  RestServer server_;
  int port_ = 0;
};

TEST_F(Rest, BearerTokenIsRequired) {
  auto none = get("/api/v1/stats", "");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 401);
  EXPECT_EQ(none->get_header_value("WWW-Authenticate"), "Bearer");
  EXPECT_NE(json::parse(none->body)["error"].get<std::string>().find("bearer"), std::string::npos);
  auto wrong = get("/api/v1/stats", "guess");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 403);
  EXPECT_EQ(get("/metrics", "")->status, 401);
  EXPECT_EQ(get("/api/v1/stats")->status, 200);
}

TEST_F(Rest, SessionsFilterAndPageByCursor) {
  json all = get_json("/api/v1/sessions");
  EXPECT_EQ(all["count"], 5);
  EXPECT_EQ(all["next"], "");
  EXPECT_EQ(get_json("/api/v1/sessions?tenant=branch")["count"], 3);
  EXPECT_EQ(get_json("/api/v1/sessions?service=dns")["count"], 2);
  EXPECT_EQ(get_json("/api/v1/sessions?addr=10.1.0.203")["count"], 1);
  EXPECT_EQ(get_json("/api/v1/sessions?addr=172.16.0.2")["count"], 5) << "addresses after NAT match too";
  std::vector<std::string> seen;
  std::string cursor;
  for (int page = 0; page < 5; ++page) {
    json p = get_json("/api/v1/sessions?limit=2" + (cursor.empty() ? "" : "&after=" + cursor));
    for (const json& s : p["sessions"]) seen.push_back(s["uuid"]);
    cursor = p["next"];
    if (cursor.empty()) break;
  }
  ASSERT_EQ(seen.size(), 5u) << "three pages of 2, 2, 1";
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  json s = all["sessions"][0];
  EXPECT_EQ(s["tenant"], "branch");
  EXPECT_EQ(s["service"], "web");
  EXPECT_EQ(s["original"]["dport"], 80);
  EXPECT_EQ(s["left"]["src"], "172.16.0.1");
  EXPECT_EQ(s["egress"], "wan0");
  EXPECT_EQ(s["next_hop"], "172.16.0.2") << "the forward side's next hop (the ECMP member a routed session took)";
  EXPECT_EQ(s["forward"]["packets"], "3") << "uint64 is a string in protobuf JSON";
  EXPECT_EQ(get("/api/v1/sessions?limit=0")->status, 400);
  EXPECT_EQ(get("/api/v1/sessions?addr=nope")->status, 400);
  EXPECT_EQ(get("/api/v1/sessions?after=xyz")->status, 400);
}

TEST_F(Rest, OneSessionByUuid) {
  SessionUuid u{};
  u[0] = 0x20;
  json s = get_json("/api/v1/sessions/" + format_session_id(u));
  EXPECT_EQ(s["uuid"], format_session_id(u));
  EXPECT_EQ(s["original"]["sport"], 40001);
  u[0] = 0x99;
  auto missing = get("/api/v1/sessions/" + format_session_id(u));
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(get("/api/v1/sessions/not-a-uuid")->status, 400);
}

TEST_F(Rest, StatsMetricsPeersHa) {
  shared_.counters[0].drop(DropReason::policy_deny, 7);
  shared_.counters[0].nat64_bindings.store(3);
  json st = get_json("/api/v1/stats");
  EXPECT_EQ(st["drops"]["policy_deny"], 7);
  EXPECT_EQ(st["nat64"]["bindings"], 3);
  EXPECT_EQ(st["per_worker"][0]["nat64_bindings"], 3);
  EXPECT_EQ(st["drops"].size(), kDropReasonCount) << "every drop reason listed";
  std::string m = get("/metrics")->body;
  EXPECT_NE(m.find("waypoint_drops_total{router=\"r1\",reason=\"policy_deny\"} 7"), std::string::npos) << m;
  EXPECT_NE(m.find("waypoint_sessions_tracked{router=\"r1\"} 5"), std::string::npos);
  EXPECT_NE(m.find("waypoint_nat64_bindings{router=\"r1\"} 3"), std::string::npos);
  json peers = get_json("/api/v1/peers");
  EXPECT_EQ(peers["peers"][0]["name"], "r2");
  EXPECT_EQ(peers["peers"][0]["sessions"], 5);
  EXPECT_EQ(get_json("/api/v1/ha")["state"], "standalone");
  auto nope = get("/api/v1/nothing");
  EXPECT_EQ(nope->status, 404);
  EXPECT_TRUE(json::parse(nope->body).contains("error"));
}

// qos.applications is live (docs/qos.md § Classes by application); the rest of `qos` (the DSCP
// map the schedulers were built with) needs a restart.
TEST_F(Rest, QosApplicationsAreLiveTheDscpMapNeedsARestart) {
  auto live = put("/api/v1/config?dry_run=1",
                  std::string(kConfig) + "qos: {applications: [{application: ssh, class: interactive}]}\n");
  EXPECT_EQ(live->status, 200) << live->body;
  auto typo = put("/api/v1/config?dry_run=1",
                  std::string(kConfig) + "qos: {applications: [{application: shh, class: interactive}]}\n");
  ASSERT_EQ(typo->status, 422) << typo->body;
  EXPECT_EQ(json::parse(typo->body)["details"][0]["path"], "qos.applications[0].application");
  auto dscp = put("/api/v1/config?dry_run=1", std::string(kConfig) + "qos: {dscp: [{name: voice, value: 40}]}\n");
  ASSERT_EQ(dscp->status, 422) << dscp->body;
  EXPECT_EQ(json::parse(dscp->body)["details"][0]["path"], "qos");
}

TEST_F(Rest, ConfigGetRedactsKeysAndPutValidatesThenCommits) {
  json cfg = get_json("/api/v1/config");
  EXPECT_EQ(cfg["peers"][0]["key"], "<redacted>");
  EXPECT_EQ(cfg["router"]["name"], "r1");

  auto bad_yaml = put("/api/v1/config", "router: [unclosed");
  EXPECT_EQ(bad_yaml->status, 422);
  auto bad = put("/api/v1/config", std::string(kConfig) + "ipfix: {collectors: [\"nowhere\"]}\n");
  ASSERT_EQ(bad->status, 422) << bad->body;
  json e = json::parse(bad->body);
  EXPECT_EQ(e["details"][0]["path"], "ipfix.collectors[0]");
  auto unknown = put("/api/v1/config", std::string(kConfig) + "colour: blue\n");
  EXPECT_EQ(unknown->status, 422);
  EXPECT_NE(unknown->body.find("colour"), std::string::npos);
  std::string moved = kConfig;
  moved.replace(moved.find("10.1.0.1/24"), 11, "10.1.0.2/24");
  auto restart = put("/api/v1/config", moved);
  ASSERT_EQ(restart->status, 422);
  EXPECT_EQ(json::parse(restart->body)["details"][0]["path"], "router");
  EXPECT_EQ(put("/api/v1/config", "")->status, 400);
  // The IKE responder and its SA table are built at start (docs/ipsec.md).
  const std::string ipsec = std::string(kConfig) +
                            "ipsec_peers: [{name: site1, address: 172.16.0.9, local_id: headend.example, "
                            "remote_id: site1.example, psk: site1-psk-0123456789}]\n"
                            "tunnels: [{name: ipsec0, peer: site1, tenant: branch}]\n";
  auto ike = put("/api/v1/config", ipsec);
  ASSERT_EQ(ike->status, 422) << ike->body;
  const json ike_err = json::parse(ike->body);
  ASSERT_EQ(ike_err["details"].size(), 2u) << ike->body;
  EXPECT_EQ(ike_err["details"][0]["path"], "ipsec_peers");
  EXPECT_NE(ike_err["details"][0]["message"].get<std::string>().find("restart"), std::string::npos);
  EXPECT_EQ(ike_err["details"][1]["path"], "tunnels");
  EXPECT_EQ(ike->body.find("site1-psk"), std::string::npos);

  std::string no_dns = kConfig;
  no_dns.replace(no_dns.find(", {tenant: guests, service: dns}"), 32, "");
  auto dry = put("/api/v1/config?dry_run=1", no_dns);
  ASSERT_EQ(dry->status, 200) << dry->body;
  EXPECT_EQ(json::parse(dry->body)["applied"], false);
  EXPECT_EQ(shared_.model.load(), model_.get()) << "a dry run publishes nothing";

  auto ok = put("/api/v1/config", no_dns);
  ASSERT_EQ(ok->status, 200) << ok->body;
  json res = json::parse(ok->body);
  EXPECT_EQ(res["applied"], true);
  EXPECT_EQ(res["version"], "2");
  const RouterModel* now = shared_.model.load();
  EXPECT_NE(now, model_.get());
  EXPECT_EQ(now->policy(now->tenant_by_name("guests"), now->service_by_name("dns")), kNone);
  EXPECT_EQ(get_json("/api/v1/config")["policies"].size(), 1u);
}

// Everything /metrics can hold (worker counters, drops, paths, HA, the REST
// server's refusals) passes promtool: HELP and TYPE per family, _total
// counters, base units, no per-session labels.
TEST_F(Rest, MetricsPassPromtool) {
  if (!test::have_promtool()) GTEST_SKIP() << "promtool not installed (setup.sh installs prometheus)";
  shared_.counters[0].drop(DropReason::policy_deny, 3);
  ConfigResult r = load_config_text(kConfig);
  PathTable paths(*model_, r.config, 1, true);
  paths.live(0).measured = true;
  paths.live(0).rtt_us = 1500;
  paths.live(0).loss_permille = 25;
  shared_.paths = &paths;
  std::string m = metrics();
  shared_.paths = nullptr;
  EXPECT_NE(m.find("waypoint_path_rtt_seconds{router=\"r1\",path=\"wan0\",peer=\"r2\"} 0.0015"), std::string::npos)
      << m;
  EXPECT_NE(m.find("waypoint_path_loss_ratio{router=\"r1\",path=\"wan0\",peer=\"r2\"} 0.025"), std::string::npos);
  ha::HaStatus ha;
  ha.replication_lag_ms = 250;
  const std::string ha_text = ha.metrics("router=\"r1\"");
  EXPECT_NE(ha_text.find("waypoint_ha_replication_lag_seconds{router=\"r1\"} 0.250"), std::string::npos) << ha_text;
  EXPECT_EQ(test::promtool_complaints(m + ha_text), std::nullopt);
  EXPECT_NE(test::promtool_complaints("# TYPE x_ms gauge\nx_ms 1\n"), std::nullopt) << "promtool does lint";
}

// ------------------------------------------------------------ security

// The counter of one refusal reason in GET /metrics.
uint64_t refused(const std::string& metrics, const std::string& reason) {
  const std::string key = "waypoint_mgmt_refused_total{router=\"r1\",reason=\"" + reason + "\"} ";
  const size_t at = metrics.find(key);
  return at == std::string::npos ? UINT64_MAX : std::stoull(metrics.substr(at + key.size()));
}

TEST_F(Rest, TokensFollowALiveCommitWhenTheServerSaysSo) {
  RestContext ctx;
  ctx.shared = &shared_;
  ctx.store = store_;
  ctx.access = RestAccess::from_config(store_->current().mgmt());
  ctx.access_follows_config = true;
  RestServer live;
  std::string err;
  int port = 0;
  for (port = 19500; port < 19600; ++port)
    if (live.start("127.0.0.1:" + std::to_string(port), ctx, err)) break;
  ASSERT_LT(port, 19600) << err;
  auto call = [port](const std::string& token, const std::string& body = "") {
    httplib::Client c("127.0.0.1", port);
    const httplib::Headers h = {{"Authorization", "Bearer " + token}};
    auto r = body.empty() ? c.Get("/api/v1/stats", h) : c.Put("/api/v1/config", h, body, "application/yaml");
    return r ? r->status : -1;
  };
  EXPECT_EQ(call("viewer-token-0001"), 200);
  EXPECT_EQ(call("rotated-token-0002"), 403);
  std::string rotated = kConfig;
  rotated.replace(rotated.find("viewer-token-0001"), 17, "rotated-token-0002");
  EXPECT_EQ(call("s3cret", rotated), 200) << "a token change is live, not restart-only";
  EXPECT_EQ(call("rotated-token-0002"), 200) << "the new token works from the next request";
  EXPECT_EQ(call("viewer-token-0001"), 403) << "the old one stopped working";
  EXPECT_EQ(call("rotated-token-0002", kConfig), 403) << "still read-only";
  live.stop();
}

TEST_F(Rest, ReadOnlyTokenMayReadButNotWrite) {
  EXPECT_EQ(get("/api/v1/stats", "viewer-token-0001")->status, 200);
  auto w = put("/api/v1/config?dry_run=1", kConfig, "viewer-token-0001");
  ASSERT_TRUE(w);
  EXPECT_EQ(w->status, 403);
  EXPECT_NE(w->body.find("token viewer is read-only"), std::string::npos) << w->body;
  EXPECT_EQ(put("/api/v1/config?dry_run=1", kConfig)->status, 200) << "the read-write token may";
  EXPECT_EQ(refused(metrics(), "forbidden"), 1u);
}

TEST_F(Rest, ConfigGetRedactsEverySecretField) {
  const std::string body = get("/api/v1/config")->body;
  for (const char* secret : {"s3cret", "viewer-token-0001", "a1b2c3d4e5", "00112233445566778899"})
    EXPECT_EQ(body.find(secret), std::string::npos) << secret << " in\n" << body;
  json cfg = json::parse(body);
  EXPECT_EQ(cfg["mgmt"]["token"], "<redacted>");
  EXPECT_EQ(cfg["mgmt"]["tokens"][0]["token"], "<redacted>");
  EXPECT_EQ(cfg["mgmt"]["tokens"][0]["name"], "viewer");
  EXPECT_EQ(cfg["path_monitoring"]["auth_key"], "<redacted>");
  EXPECT_EQ(cfg["peers"][0]["key"], "<redacted>");
}

TEST_F(Rest, OversizedBodyIs413AndCounted) {
  auto r = put("/api/v1/config", std::string(kConfig) + "# " + std::string(1100 << 10, 'x') + "\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_NE(r->body.find("mgmt.limits.max_body_bytes"), std::string::npos) << r->body;
  EXPECT_EQ(refused(metrics(), "body_too_large"), 1u);
  EXPECT_EQ(shared_.model.load(), model_.get());
}

TEST_F(Rest, AliasBombIsRefusedWithTheReasonAndCounted) {
  std::string bomb = "x: &a [1, 1, 1, 1, 1, 1, 1, 1]\n";
  for (char c = 'b'; c <= 'k'; ++c) {
    bomb.append("x").append(1, c).append(": &").append(1, c).append(" [");
    for (int k = 0; k < 8; ++k) bomb.append(k ? ", *" : "*").append(1, char(c - 1));
    bomb.append("]\n");
  }
  const auto start = std::chrono::steady_clock::now();
  auto r = put("/api/v1/config", bomb);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 422);
  EXPECT_NE(r->body.find("anchors and aliases are not accepted"), std::string::npos) << r->body;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  std::string wide = "routes: [";
  for (int i = 0; i < 210000; ++i) wide += "1,";
  auto big = put("/api/v1/config", wide + "1]\n");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413) << big->body.substr(0, 200);
  const std::string m = metrics();
  EXPECT_EQ(refused(m, "config_aliases"), 1u);
  EXPECT_EQ(refused(m, "config_too_large"), 1u);
}

// A raw TCP connection to the server.
struct RawClient {
  int fd = -1;
  explicit RawClient(int port) {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) ::close(fd), fd = -1;
  }
  ~RawClient() {
    if (fd >= 0) ::close(fd);
  }
  // True when the server closed the connection within `ms`.
  bool closed_within(int ms) {
    char buf[512];
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (std::chrono::steady_clock::now() < until) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN)) return true;
    }
    return false;
  }
};

TEST_F(Rest, SlowClientIsCutAtTheRequestDeadline) {
  RawClient slow(port_);
  ASSERT_GE(slow.fd, 0);
  const auto start = std::chrono::steady_clock::now();
  const std::string req = "GET /api/v1/stats HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer s3cret\r\n";
  bool cut = false;
  for (size_t i = 0; i < req.size() && !cut; ++i) {  // one byte per 100 ms: each read is quick, the request never ends
    (void)::send(slow.fd, &req[i], 1, MSG_NOSIGNAL);
    cut = slow.closed_within(100);
  }
  cut = cut || slow.closed_within(2000);
  EXPECT_TRUE(cut);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, std::chrono::milliseconds(900));
  EXPECT_LT(took, std::chrono::milliseconds(3000));
  RawClient silent(port_);
  EXPECT_TRUE(silent.closed_within(3000)) << "a connection that sends nothing is cut too";
  EXPECT_EQ(refused(metrics(), "slow_client"), 2u);
}

TEST_F(Rest, ConnectionsOverTheLimitAreClosedAtOnce) {
  std::vector<std::unique_ptr<RawClient>> held;
  for (int i = 0; i < 4; ++i) held.push_back(std::make_unique<RawClient>(port_));
  usleep(100000);  // the four are being served (each waits for its request)
  RawClient extra(port_);
  EXPECT_TRUE(extra.closed_within(500)) << "the fifth connection is closed, not queued";
  held.clear();
  // Served again once the server has seen them go (each slot is freed when
  // its thread reads the close).
  bool served = false;
  for (int i = 0; i < 100 && !served; ++i) {
    auto r = get("/api/v1/stats");
    served = r && r->status == 200;
    if (!served) usleep(20000);
  }
  EXPECT_TRUE(served) << "served again once they are gone";
  EXPECT_GE(refused(metrics(), "too_many_connections"), 1u);
}

TEST_F(Rest, RateLimitPerClientAddress) {
  RestServer limited;
  RestContext ctx;
  ctx.shared = &shared_;
  ctx.store = store_;
  ctx.limits.requests_per_second = 1;
  ctx.limits.burst = 2;
  std::string err;
  ASSERT_TRUE(limited.prepare(ctx, err)) << err;
  const std::string req = "GET /api/v1/ha HTTP/1.1\r\nHost: x\r\n\r\n";
  EXPECT_EQ(limited.serve_text(req).rfind("HTTP/1.1 200", 0), 0u);
  EXPECT_EQ(limited.serve_text(req).rfind("HTTP/1.1 200", 0), 0u);
  const std::string third = limited.serve_text(req);
  EXPECT_EQ(third.rfind("HTTP/1.1 429", 0), 0u) << third;
  EXPECT_NE(third.find("Retry-After: 1"), std::string::npos);
  EXPECT_EQ(limited.counters().rate_limited.load(), 1u);
}

TEST_F(Rest, AuditLogNamesWhoWhatAndVersion) {
  std::vector<std::string> lines;
  std::mutex mu;
  store_->set_audit([&](const std::string& l) {
    std::lock_guard lock(mu);
    lines.push_back(l);
  });
  std::string no_dns = kConfig;
  no_dns.replace(no_dns.find(", {tenant: guests, service: dns}"), 32, "");
  ASSERT_EQ(put("/api/v1/config?dry_run=1", no_dns)->status, 200);
  EXPECT_TRUE(lines.empty()) << "a dry run changes nothing";
  no_dns.replace(no_dns.find("a1b2c3d4e5"), 10, "ffeeddccbb");
  ASSERT_EQ(put("/api/v1/config", no_dns)->status, 200);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], "config version 2 by rest:token@127.0.0.1: changed policies, path_monitoring.auth_key");
  EXPECT_EQ(lines[0].find("ffeeddccbb"), std::string::npos);
}

// A CA, a server certificate for 127.0.0.1 and a client certificate, made
// by the openssl command line in a temporary directory.
struct Pki {
  std::filesystem::path dir = std::filesystem::temp_directory_path() / ("wp_pki_" + std::to_string(getpid()));
  bool make() {
    std::filesystem::create_directories(dir);
    const std::string d = dir.string();
    const std::string key = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes ";
    const std::string sign = " -CA " + d + "/ca.pem -CAkey " + d + "/ca.key -CAcreateserial -days 1 ";
    std::ofstream(dir / "san.ext") << "subjectAltName=IP:127.0.0.1\n";
    const std::string script =
        "cd " + d + " && openssl req -x509" + key + "-keyout ca.key -out ca.pem -days 1 -subj /CN=wp-test-ca" +
        " && openssl req" + key + "-keyout srv.key -out srv.csr -subj /CN=127.0.0.1" +
        " && openssl x509 -req -in srv.csr" + sign + "-extfile san.ext -out srv.pem" + " && openssl req" + key +
        "-keyout cli.key -out cli.csr -subj /CN=alice" + " && openssl x509 -req -in cli.csr" + sign + "-out cli.pem";
    return std::system(("{ " + script + "; } >/dev/null 2>&1").c_str()) == 0;
  }
  std::string at(const char* f) const { return (dir / f).string(); }
  ~Pki() { std::filesystem::remove_all(dir); }
};

TEST_F(Rest, HttpsWithTokenAndClientCertificate) {
  Pki pki;
  ASSERT_TRUE(pki.make());
  RestContext ctx;
  ctx.shared = &shared_;
  ctx.store = store_;
  ctx.access.clients = {{"ops", "ops-token-000001", RestRole::read_write}};
  ctx.tls = {pki.at("srv.pem"), pki.at("srv.key"), pki.at("ca.pem")};
  RestServer tls;
  std::string err;
  int port = 0;
  for (port = 19400; port < 19500; ++port)
    if (tls.start("127.0.0.1:" + std::to_string(port), ctx, err)) break;
  ASSERT_LT(port, 19500) << err;
  std::vector<std::string> lines;
  store_->set_audit([&](const std::string& l) { lines.push_back(l); });
  const httplib::Headers auth = {{"Authorization", "Bearer ops-token-000001"}};

  httplib::Client plain("127.0.0.1", port);
  EXPECT_FALSE(plain.Get("/api/v1/ha", auth)) << "no plain HTTP on an HTTPS port";
  httplib::SSLClient anonymous("127.0.0.1", port);
  anonymous.set_ca_cert_path(pki.at("ca.pem").c_str());
  EXPECT_FALSE(anonymous.Get("/api/v1/ha", auth)) << "no client certificate, no connection";
  httplib::SSLClient alice("127.0.0.1", port, pki.at("cli.pem"), pki.at("cli.key"));
  alice.set_ca_cert_path(pki.at("ca.pem").c_str());
  auto ok = alice.Get("/api/v1/ha", auth);
  ASSERT_TRUE(ok) << httplib::to_string(ok.error());
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(alice.Get("/api/v1/ha")->status, 401) << "a certificate does not replace the token";
  std::string no_dns = kConfig;
  no_dns.replace(no_dns.find(", {tenant: guests, service: dns}"), 32, "");
  auto put_ok = alice.Put("/api/v1/config", auth, no_dns, "application/yaml");
  ASSERT_TRUE(put_ok);
  EXPECT_EQ(put_ok->status, 200) << put_ok->body;
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("by rest:ops (/CN=alice)@127.0.0.1"), std::string::npos) << lines[0];
  EXPECT_GE(tls.counters().tls_handshake_failed.load(), 2u);
  tls.stop();
}

}  // namespace
}  // namespace wp::mgmt
