// Live commits of ipsec_peers and tunnels through the ConfigStore
// (mgmt/live_commit.cc, docs/ipsec.md § Live reload):
// a change is posted to the control thread (DataplaneShared::ipsec_reload)
// and the commit returns once it was applied; what stays restart-only is
// refused with its path: any change when waypointd started without
// ipsec_peers, a tunnel that moves, with the punt path a tunnel with an
// address, and with IPv6 session tables an index another tunnel held.
#include <gtest/gtest.h>

#include <string>
#include <thread>

#include "tests/unit/live_store.h"

namespace wp {
namespace {

constexpr const char* kRouter = R"(
router: {name: r1, lan: {name: lan, device: d0, address: 10.1.0.1/24}, wan: [{name: wan0, device: d1, address: 172.16.0.1/24}]}
tenants: [{name: branch, prefixes: [10.1.0.0/24]}]
)";

std::string peer(int n) {
  return "  - {name: site" + std::to_string(n) + ", address: 172.16.0." + std::to_string(10 + n) +
         ", local_id: headend.example, remote_id: site" + std::to_string(n) + ".example, psk: \"site" +
         std::to_string(n) + "-psk-0123456789\"}\n";
}
std::string tunnel(int n, const std::string& extra = "") {
  return "  - {name: ipsec" + std::to_string(n) + ", peer: site" + std::to_string(n) + ", tenant: branch" + extra +
         "}\n";
}
// Peers and tunnels `ns` in that order.
std::string with(std::initializer_list<int> ns, const std::string& base = kRouter) {
  std::string y = base + "ipsec_peers:\n";
  for (int n : ns) y += peer(n);
  y += "tunnels:\n";
  for (int n : ns) y += tunnel(n);
  return y;
}

config::Config parse(const std::string& yaml) {
  mgmt::ConfigResult r = mgmt::load_config_text(yaml);
  EXPECT_TRUE(r.ok()) << r.error_text();
  return r.config;
}

// The control thread's side: takes each post and counts it applied.
struct IpsecReloadCommit : ::testing::Test {
  test::LiveStore live;
  std::atomic<bool> stop{false};
  std::atomic<int> peers_seen{-1};
  std::thread control;

  void start(const std::string& yaml) {
    std::string err;
    ASSERT_TRUE(live.start(yaml, err)) << err;
    control = std::thread([this] {
      IpsecReload& r = live.shared.ipsec_reload;
      while (!stop) {
        if (const uint64_t posted = r.posted.load(); posted != r.applied.load()) {
          std::lock_guard lock(r.mu);
          peers_seen = r.next->ipsec_peers_size();
          r.applied.store(posted);
        }
        usleep(200);
      }
    });
  }
  void TearDown() override {
    stop = true;
    if (control.joinable()) control.join();
  }
  mgmt::CommitOutcome commit(const std::string& yaml) { return live.store->commit(parse(yaml)); }
  static std::string errors(const mgmt::CommitOutcome& o) {
    std::string s;
    for (const auto& e : o.errors) s += e.path + ": " + e.message + "\n";
    return s;
  }
};

TEST_F(IpsecReloadCommit, PeersAndTunnelsComeAndGoLive) {
  start(with({1, 2}));
  mgmt::CommitOutcome added = commit(with({1, 2, 3}));
  ASSERT_TRUE(added.applied) << errors(added);
  EXPECT_TRUE(added.notes.empty());  // the IKE service applied it before the commit returned
  EXPECT_EQ(peers_seen, 3);
  EXPECT_EQ(live.store->model()->tunnels.size(), 3u);
  EXPECT_EQ(live.store->model()->tunnels[2].name, "ipsec3");
  mgmt::CommitOutcome removed = commit(with({1, 2}));
  ASSERT_TRUE(removed.applied) << errors(removed);
  EXPECT_EQ(peers_seen, 2);
  // A PSK change is live too; a commit that leaves ipsec alone posts nothing.
  std::string psk = with({1, 2});
  psk.replace(psk.find("site1-psk"), 9, "site1-new");
  ASSERT_TRUE(commit(psk).applied);
  const uint64_t posts = live.shared.ipsec_reload.posted.load();
  std::string other = psk + "services: [{name: web, prefixes: [10.9.0.0/24], protocol: tcp, ports: [\"80\"]}]\n";
  ASSERT_TRUE(commit(other).applied);
  EXPECT_EQ(live.shared.ipsec_reload.posted.load(), posts);
}

TEST_F(IpsecReloadCommit, ATunnelThatMovesIsRefusedWithItsPath) {
  start(with({1, 2, 3}));
  const mgmt::CommitOutcome out = commit(with({1, 3}));  // ipsec3 would move from 2 to 1
  EXPECT_FALSE(out.applied);
  ASSERT_EQ(out.errors.size(), 1u) << errors(out);
  EXPECT_EQ(out.errors[0].path, "tunnels[1]");
  EXPECT_NE(out.errors[0].message.find("moves from position 2"), std::string::npos) << out.errors[0].message;
  EXPECT_EQ(live.shared.ipsec_reload.posted.load(), 0u);
  EXPECT_EQ(live.store->model()->tunnels.size(), 3u);
  // In a removed one's place is fine (no IPv6 session tables here): ipsec4 at position 2.
  std::string replaced = std::string(kRouter) + "ipsec_peers:\n" + peer(1) + peer(2) + peer(4) + "tunnels:\n" +
                         tunnel(1) + tunnel(2) + tunnel(4);
  const mgmt::CommitOutcome in_place = commit(replaced);
  EXPECT_TRUE(in_place.applied) << errors(in_place);
}

TEST_F(IpsecReloadCommit, WithoutIpsecPeersAtStartTheFirstNeedsARestart) {
  start(kRouter);
  const mgmt::CommitOutcome out = commit(with({1}));
  EXPECT_FALSE(out.applied);
  ASSERT_EQ(out.errors.size(), 2u) << errors(out);
  EXPECT_EQ(out.errors[0].path, "ipsec_peers");
  EXPECT_NE(out.errors[0].message.find("restart of waypointd"), std::string::npos);
  EXPECT_EQ(out.errors[1].path, "tunnels");
}

TEST_F(IpsecReloadCommit, WithPuntATunnelWithAnAddressNeedsARestart) {
  std::string router = kRouter;
  router.replace(router.find("wan: ["), 0, "punt: {enabled: true}, ");
  start(with({1, 2}, router));
  std::string addressed = with({1, 2}, router);
  addressed.replace(addressed.find("tenant: branch}\n", addressed.find("ipsec2")), 15, "tenant: branch, address: 169.254.3.1/30}");
  const mgmt::CommitOutcome out = commit(addressed);
  EXPECT_FALSE(out.applied);
  ASSERT_EQ(out.errors.size(), 1u) << errors(out);
  EXPECT_EQ(out.errors[0].path, "tunnels[1]");
  EXPECT_NE(out.errors[0].message.find("router.punt"), std::string::npos);
  // Without an address the tunnel has no kernel interface: live.
  EXPECT_TRUE(commit(with({1, 2, 3}, router)).applied);
}

TEST_F(IpsecReloadCommit, WithIpv6SessionTablesAnIndexStaysItsFirstTunnels) {
  std::string router = kRouter;
  router += "services: [{name: v6, prefixes: [\"2001:db8:9::/64\"], protocol: any}]\n";
  router.replace(router.find("address: 10.1.0.1/24}"), 21, "address: 10.1.0.1/24, ipv6_addresses: [\"2001:db8:1::1/64\"]}");
  start(with({1, 2}, router));
  ASSERT_TRUE(commit(with({1}, router)).applied);     // the last tunnel goes
  ASSERT_TRUE(commit(with({1, 2}, router)).applied);  // and comes back at its own position
  const std::string other = router + "ipsec_peers:\n" + peer(1) + peer(3) + "tunnels:\n" + tunnel(1) + tunnel(3);
  const mgmt::CommitOutcome out = commit(other);
  EXPECT_FALSE(out.applied);
  ASSERT_EQ(out.errors.size(), 1u) << errors(out);
  EXPECT_EQ(out.errors[0].path, "tunnels[1]");
  EXPECT_NE(out.errors[0].message.find("held since waypointd started"), std::string::npos);
}

}  // namespace
}  // namespace wp
