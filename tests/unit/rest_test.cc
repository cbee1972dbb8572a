// REST API through a real HTTP client against RestServer on loopback:
// bearer auth, sessions (filters, paging by cursor, one by UUID), stats with
// every drop reason, config GET (keys redacted) and PUT (errors with paths,
// restart-only fields, dry run, live commit), peers, ha, metrics.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

#include "mgmt/rest_api.h"
#include "mgmt/session_id.h"
#include "tests/unit/eal_env.h"

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
)";

class Rest : public ::testing::Test {
 protected:
  void SetUp() override {
    test::test_pool();
    std::string err;
    ASSERT_TRUE(shared_.create_rings(1, 64, SOCKET_ID_ANY, err)) << err;
    ConfigResult r = load_config_text(kConfig);
    ASSERT_TRUE(r.ok()) << r.error_text();
    model_ = RouterModel::build(r.config, nullptr, nullptr, hmac_, err);
    ASSERT_TRUE(model_) << err;
    shared_.model.store(model_.get());
    store_ = std::make_unique<ConfigStore>(shared_, r.config, model_, nullptr, nullptr);
    // Stand-in for running workers: their loop iterations mark quiescent
    // points, and they re-check their (here: no) sessions against a new model.
    ticker_ = std::thread([this] {
      while (!stop_) {
        auto published = reinterpret_cast<uintptr_t>(shared_.model.load());
        for (uint32_t w = 0; w <= shared_.workers; ++w) {
          shared_.counters[w].model_settled.store(published);
          shared_.counters[w].epoch.fetch_add(1);
        }
        usleep(500);
      }
    });
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
    ctx.store = store_.get();
    ctx.sessions = &snapshot_;
    ctx.token = "s3cret";
    for (port_ = 19300; port_ < 19400; ++port_)
      if (server_.start("127.0.0.1:" + std::to_string(port_), ctx, err)) break;
    ASSERT_LT(port_, 19400) << err;
  }
  void TearDown() override {
    server_.stop();
    stop_ = true;
    if (ticker_.joinable()) ticker_.join();
    store_.reset();
    shared_.free_rings();
  }
  httplib::Result get(const std::string& path, const std::string& token = "s3cret") {
    httplib::Client c("127.0.0.1", port_);
    httplib::Headers h;
    if (!token.empty()) h.emplace("Authorization", "Bearer " + token);
    return c.Get(path, h);
  }
  httplib::Result put(const std::string& path, const std::string& body) {
    httplib::Client c("127.0.0.1", port_);
    return c.Put(path, {{"Authorization", "Bearer s3cret"}}, body, "application/yaml");
  }
  json get_json(const std::string& path) {
    auto r = get(path);
    EXPECT_TRUE(r);
    if (!r) return {};
    EXPECT_EQ(r->status, 200) << path << ": " << r->body;
    return json::parse(r->body);
  }

  DataplaneShared shared_;
  HmacEngine hmac_;
  std::shared_ptr<const RouterModel> model_;
  std::unique_ptr<ConfigStore> store_;
  SessionSnapshot snapshot_{1000};
  RestServer server_;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread ticker_;
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
  json st = get_json("/api/v1/stats");
  EXPECT_EQ(st["drops"]["policy_deny"], 7);
  EXPECT_EQ(st["drops"].size(), kDropReasonCount) << "every drop reason listed";
  std::string m = get("/metrics")->body;
  EXPECT_NE(m.find("waypoint_drops_total{router=\"r1\",reason=\"policy_deny\"} 7"), std::string::npos) << m;
  EXPECT_NE(m.find("waypoint_sessions_tracked{router=\"r1\"} 5"), std::string::npos);
  json peers = get_json("/api/v1/peers");
  EXPECT_EQ(peers["peers"][0]["name"], "r2");
  EXPECT_EQ(peers["peers"][0]["sessions"], 5);
  EXPECT_EQ(get_json("/api/v1/ha")["state"], "standalone");
  auto nope = get("/api/v1/nothing");
  EXPECT_EQ(nope->status, 404);
  EXPECT_TRUE(json::parse(nope->body).contains("error"));
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

}  // namespace
}  // namespace wp::mgmt
