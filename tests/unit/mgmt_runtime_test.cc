// MgmtRuntime as waypointd runs it: with mgmt.listen the REST server answers
// (its own /api/v1/paths, the documents other runtimes add, standalone HA),
// the feed's event rings exist before the workers would start, and stop is
// safe twice; without REST and IPFIX nothing runs and no ring is made; a
// second runtime on the same listen address fails with the reason.
#include "mgmt/mgmt_runtime.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <nlohmann/json.hpp>

#include "mgmt/config_load.h"
#include "tests/unit/eal_env.h"

namespace wp::mgmt {
namespace {

using nlohmann::json;

constexpr const char* kConfig = R"(
router: {name: r1, lan: {name: lan, device: d0, address: 10.1.0.1/24}, wan: [{name: wan0, device: d1, address: 172.16.0.1/24}]}
tenants: [{name: branch, prefixes: [10.1.0.0/24]}]
services: [{name: web, prefixes: [10.2.0.0/24], protocol: tcp, ports: ["80"], next_peer: r2}]
policies: [{tenant: branch, service: web}]
peers: [{name: r2, waypoints: [172.16.0.2], key: "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"}]
)";

class MgmtRuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    test::test_pool();
    std::string err;
    ASSERT_TRUE(shared_.create_rings(1, 64, SOCKET_ID_ANY, err)) << err;
    ConfigResult r = load_config_text(kConfig);
    ASSERT_TRUE(r.ok()) << r.error_text();
    config_ = r.config;
    model_ = RouterModel::build(config_, nullptr, nullptr, hmac_, err);
    ASSERT_TRUE(model_) << err;
    shared_.model.store(model_.get());
  }
  void TearDown() override { shared_.free_rings(); }

  MgmtInputs inputs(const std::string& listen) {
    MgmtInputs in;
    in.config = config_;
    in.config.mutable_mgmt()->set_listen(listen);
    in.shared = &shared_;
    in.model = model_;
    in.max_sessions = 1000;
    in.ring_size = 64;
    in.documents.emplace_back("/api/v1/offload", [] { return std::string(R"({"enabled": false})"); });
    return in;
  }
  // Starts `rt` on the first free loopback port from 19400; returns the port.
  int start_on_free_port(MgmtRuntime& rt) {
    std::string err;
    for (int port = 19400; port < 19500; ++port)
      if (rt.start(inputs("127.0.0.1:" + std::to_string(port)), err)) return port;
    ADD_FAILURE() << err;
    return 0;
  }

  DataplaneShared shared_;
  HmacEngine hmac_;
  config::Config config_;
  std::shared_ptr<const RouterModel> model_;
};

TEST_F(MgmtRuntimeTest, RestServesItsOwnAndAddedDocumentsAndStopsTwice) {
  MgmtRuntime rt;
  int port = start_on_free_port(rt);
  ASSERT_NE(port, 0);
  EXPECT_NE(shared_.event_ring(EventConsumer::ipfix, 0), nullptr) << "the feed's ring exists before workers run";
  EXPECT_EQ(shared_.session_update_ms, 10000u) << "REST snapshot refresh without IPFIX";
  httplib::Client c("127.0.0.1", port);
  auto paths = c.Get("/api/v1/paths");
  ASSERT_TRUE(paths);
  EXPECT_EQ(paths->status, 200);
  EXPECT_TRUE(json::parse(paths->body).is_array());
  auto offload = c.Get("/api/v1/offload");
  ASSERT_TRUE(offload);
  EXPECT_EQ(json::parse(offload->body)["enabled"], false);
  auto ha = c.Get("/api/v1/ha");
  ASSERT_TRUE(ha);
  EXPECT_EQ(json::parse(ha->body)["state"], "standalone");
  rt.stop_watch();  // no Redis: nothing to stop
  rt.stop();
  rt.stop();
  EXPECT_FALSE(c.Get("/api/v1/stats")) << "the server is down after stop";
}

TEST_F(MgmtRuntimeTest, WithoutRestAndIpfixNothingRuns) {
  MgmtRuntime rt;
  std::string err;
  ASSERT_TRUE(rt.start(inputs(""), err)) << err;
  EXPECT_EQ(shared_.event_ring(EventConsumer::ipfix, 0), nullptr);
  EXPECT_EQ(shared_.session_update_ms, 0u);
  rt.start_watch();  // no Redis source: a no-op
  rt.stop();
  rt.stop();
}

TEST_F(MgmtRuntimeTest, ASecondServerOnTheSameAddressFailsWithTheReason) {
  RestServer first;  // another waypointd, say
  RestContext ctx;
  ctx.shared = &shared_;
  std::string err;
  int port = 19400;
  while (port < 19500 && !first.start("127.0.0.1:" + std::to_string(port), ctx, err)) ++port;
  ASSERT_LT(port, 19500) << err;
  MgmtRuntime rt;
  EXPECT_FALSE(rt.start(inputs("127.0.0.1:" + std::to_string(port)), err));
  EXPECT_NE(err.find("mgmt.listen: cannot bind 127.0.0.1:" + std::to_string(port)), std::string::npos) << err;
  rt.stop();
  first.stop();
}

TEST(MgmtRuntime, StopWithoutStartIsSafe) {
  MgmtRuntime rt;
  rt.stop_watch();
  rt.stop();
  rt.stop();
}

}  // namespace
}  // namespace wp::mgmt
