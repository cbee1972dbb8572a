// NAT64's per-worker tables exist only when the startup model has a NAT64
// service (worker/nat64_step.h, ConfigStore::nat64_tables()): a live
// commit that adds the first NAT64 service is refused with its path; once
// the tables exist, a commit may remove and add NAT64 services again.
#include <gtest/gtest.h>

#include <string>

#include "tests/unit/live_store.h"

namespace wp {
namespace {

constexpr const char* kBase = R"(
router: {name: r1, lan: {name: lan, device: d0, address: 10.1.0.1/24, ipv6_addresses: ["2001:db8:1::1/64"]}, wan: [{name: wan0, device: d1, address: 172.16.0.1/24}]}
tenants: [{name: v6, ipv6_prefixes: ["2001:db8:1::/80"]}]
)";
constexpr const char* kNat64 = R"(
services: [{name: v4net, prefixes: [11.0.65.0/24], nat64: {interface: wan0, pool: [172.16.0.64]}}]
policies: [{tenant: v6, service: v4net}]
)";

config::Config parse(const std::string& yaml) {
  mgmt::ConfigResult r = mgmt::load_config_text(yaml);
  EXPECT_TRUE(r.ok()) << r.error_text();
  return r.config;
}

TEST(Nat64Tables, TheFirstNat64ServiceNeedsARestart) {
  test::LiveStore live;
  std::string err;
  ASSERT_TRUE(live.start(kBase, err)) << err;
  EXPECT_FALSE(live.store->nat64_tables());
  mgmt::CommitOutcome out = live.store->commit(parse(std::string(kBase) + kNat64));
  EXPECT_FALSE(out.applied);
  ASSERT_EQ(out.errors.size(), 1u);
  EXPECT_EQ(out.errors[0].path, "services[0].nat64");
  EXPECT_NE(out.errors[0].message.find("needs a restart"), std::string::npos) << out.errors[0].message;
  EXPECT_TRUE(live.store->model()->nat64_pool.empty());  // the running model is unchanged
}

TEST(Nat64Tables, WithTablesNat64ServicesComeAndGoLive) {
  test::LiveStore live;
  std::string err;
  ASSERT_TRUE(live.start(std::string(kBase) + kNat64, err)) << err;
  EXPECT_TRUE(live.store->nat64_tables());
  mgmt::CommitOutcome gone = live.store->commit(parse(kBase));
  EXPECT_TRUE(gone.applied) << (gone.errors.empty() ? "" : gone.errors[0].message);
  EXPECT_TRUE(live.store->model()->nat64_pool.empty());
  mgmt::CommitOutcome back = live.store->commit(parse(std::string(kBase) + kNat64));
  EXPECT_TRUE(back.applied) << (back.errors.empty() ? "" : back.errors[0].path + ": " + back.errors[0].message);
  EXPECT_EQ(live.store->model()->nat64_pool.size(), 1u);
}

}  // namespace
}  // namespace wp
