// Automatic retirement of an old pair-key version (mgmt/key_retirement.h):
// nothing happens before a worker signs with the next version, the old one
// is retired retire_after_s (or the longest session timeout) after the
// first such move, through one audited commit; retire_manually, a switch
// back, a renamed peer or an operator's own change stop it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "dataplane/crypto/pair_keys.h"
#include "mgmt/key_retirement.h"
#include "tests/unit/live_store.h"

namespace wp::mgmt {
namespace {

constexpr const char* kKey1 = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
constexpr const char* kKey2 = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";

std::string config_text(const std::string& peer_extra, const std::string& timeouts = "") {
  return std::string(R"(
router: {name: r1, lan: {name: lan, device: d0, address: 10.1.0.1/24}, wan: [{name: wan0, device: d1, address: 172.16.0.1/24}]}
tenants: [{name: branch, prefixes: [10.1.0.0/25]}]
services: [{name: web, prefixes: [10.2.0.0/24], protocol: tcp, ports: ["80"], next_peer: r2}]
policies: [{tenant: branch, service: web}]
peers:
  - {name: r2, waypoints: [172.16.0.2], key: ")") +
         kKey1 + R"(", next_key: ")" + kKey2 + "\"" + peer_extra + "}\n" + timeouts;
}

class KeyRetire : public ::testing::Test {
 protected:
  void start(const std::string& text) {
    std::string err;
    ASSERT_TRUE(live_.start(text, err)) << err;
    store_ = live_.store.get();
    store_->set_audit([this](const std::string& line) { audit_.push_back(line); });
    retire_ = std::make_unique<KeyRetirement>(*store_, live_.shared);
  }
  void TearDown() override {
    retire_.reset();
    live_.stop();
  }
  // What a worker publishes when it moves to `version` toward peer 0.
  void worker_switched(uint8_t version) {
    live_.shared.key_switched[0].store(DataplaneShared::key_switch(store_->model()->peers[0].name_hash, version));
  }
  std::vector<std::string> poll(uint64_t now_ms) {
    std::vector<std::string> log;
    auto done = retire_->poll(now_ms, log);
    for (const auto& l : log) log_.push_back(l);
    return done;
  }
  const config::Peer& peer() { return current_.peers(0); }
  void refresh() { current_ = store_->current(); }

  test::LiveStore live_;
  ConfigStore* store_ = nullptr;
  std::unique_ptr<KeyRetirement> retire_;
  std::vector<std::string> audit_, log_;
  config::Config current_;
};

TEST_F(KeyRetire, WaitsForTheSwitchThenRetiresAfterTheDelay) {
  start(config_text(", retire_after_s: 30"));
  EXPECT_TRUE(poll(1000).empty());
  EXPECT_TRUE(retire_->pending().empty()) << "no worker signs with version 2 yet";
  worker_switched(2);
  EXPECT_TRUE(poll(5000).empty());
  ASSERT_EQ(retire_->pending().size(), 1u);
  EXPECT_EQ(retire_->pending()[0].retire_at_ms, 35000u);
  EXPECT_TRUE(poll(34999).empty());
  EXPECT_EQ(store_->version(), 1u) << "nothing committed before the delay";
  EXPECT_EQ(poll(35000), std::vector<std::string>{"r2"});
  refresh();
  EXPECT_EQ(peer().key(), kKey2);
  EXPECT_EQ(peer().key_version(), 2u);
  EXPECT_TRUE(peer().next_key().empty());
  EXPECT_EQ(peer().next_key_version(), 0u);
  EXPECT_EQ(store_->version(), 2u);
  ASSERT_EQ(store_->model()->peers[0].keys.size(), 1u);
  EXPECT_EQ(store_->model()->peers[0].keys.newest().version, 2);
  ASSERT_EQ(audit_.size(), 1u);
  EXPECT_NE(audit_[0].find("key-retirement:r2"), std::string::npos) << audit_[0];
  EXPECT_EQ(audit_[0].find(kKey1), std::string::npos) << "no key in the audit log";
  EXPECT_TRUE(poll(90000).empty()) << "one version left: nothing more to retire";
  for (const auto& l : log_) EXPECT_EQ(l.find(kKey1), std::string::npos) << l;
}

TEST_F(KeyRetire, DefaultDelayIsTheLongestSessionTimeout) {
  start(config_text("", "timeouts: {tcp_established: 600, tcp_transitory: 30, udp: 900}\n"));
  worker_switched(2);
  poll(0);
  ASSERT_EQ(retire_->pending().size(), 1u);
  EXPECT_EQ(retire_->pending()[0].retire_at_ms, 900000u);
  config::Config c;
  config::Peer p;
  EXPECT_EQ(retire_delay_s(c, p), 1800u) << "built-in tcp_established";
}

TEST_F(KeyRetire, ManualRetirementIsLeftToTheOperator) {
  start(config_text(", retire_after_s: 1, retire_manually: true"));
  worker_switched(2);
  EXPECT_TRUE(poll(0).empty());
  EXPECT_TRUE(poll(100000).empty());
  EXPECT_EQ(store_->version(), 1u);
  EXPECT_TRUE(retire_->pending().empty());
}

TEST_F(KeyRetire, ASwitchBackRestartsTheClock) {
  start(config_text(", retire_after_s: 10"));
  worker_switched(2);
  poll(0);
  worker_switched(1);  // the peer said it holds only version 1 again
  EXPECT_TRUE(poll(5000).empty());
  EXPECT_TRUE(retire_->pending().empty());
  worker_switched(2);
  EXPECT_TRUE(poll(12000).empty()) << "the clock restarted at the second switch";
  EXPECT_EQ(poll(22000), std::vector<std::string>{"r2"});
}

TEST_F(KeyRetire, ASwitchTiedToAnotherPeerNameDoesNotCount) {
  start(config_text(", retire_after_s: 1"));
  live_.shared.key_switched[0].store(DataplaneShared::key_switch(12345, 2));  // a renumbered peer's
  EXPECT_TRUE(poll(0).empty());
  EXPECT_TRUE(poll(10000).empty());
  EXPECT_EQ(store_->version(), 1u);
}

TEST_F(KeyRetire, AnOperatorsNewRotationIsNotRetiredByAnOldSwitch) {
  start(config_text(", retire_after_s: 10"));
  worker_switched(2);
  poll(0);
  // The operator pushes a rotation to version 3 meanwhile; the workers' last
  // move (to 2) says nothing about 3.
  config::Config c = store_->current();
  c.mutable_peers(0)->set_next_key_version(3);
  ASSERT_TRUE(store_->commit(c, false, "test").applied);
  EXPECT_TRUE(poll(20000).empty());
  refresh();
  EXPECT_EQ(peer().key(), kKey1);
  EXPECT_EQ(peer().next_key_version(), 3u);
}

TEST(KeyRetireConfig, PromoteAndBounds) {
  ConfigResult r = load_config_text(config_text(", key_version: 7"));
  ASSERT_TRUE(r.ok()) << r.error_text();
  EXPECT_EQ(next_key_version(r.config.peers(0)), 8u);
  EXPECT_TRUE(promote_next_key(r.config, "r2"));
  EXPECT_EQ(r.config.peers(0).key_version(), 8u);
  EXPECT_EQ(r.config.peers(0).key(), kKey2);
  EXPECT_FALSE(promote_next_key(r.config, "r2")) << "no next_key left";
  EXPECT_FALSE(promote_next_key(r.config, "nobody"));
  ConfigResult bad = load_config_text(config_text(", retire_after_s: 2592001"));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error_text().find("peers[0].retire_after_s"), std::string::npos) << bad.error_text();
}

TEST(KeyVersionOrder, RotationFrom255To1MovesForward) {
  EXPECT_TRUE(key_version_newer(2, 1));
  EXPECT_FALSE(key_version_newer(1, 2));
  EXPECT_TRUE(key_version_newer(1, 255));
  EXPECT_FALSE(key_version_newer(255, 1));
  EXPECT_TRUE(key_version_newer(128, 1));
  EXPECT_FALSE(key_version_newer(129, 1)) << "128 apart or more: not comparable, refused by the validator";
  PairKeyRing ring;
  PairKey a, b;
  a.version = 255;
  b.version = 1;
  ASSERT_TRUE(ring.add(b));
  ASSERT_TRUE(ring.add(a));
  EXPECT_EQ(ring.oldest().version, 255);
  EXPECT_EQ(ring.newest().version, 1);
  KeyVersions both{};
  both.v[both.n++] = 255;
  both.v[both.n++] = 1;
  EXPECT_EQ(ring.choose(&both).version, 1) << "the newest both hold";
  KeyVersions old{};
  old.v[old.n++] = 255;
  EXPECT_EQ(ring.choose(&old).version, 255);
  EXPECT_EQ(ring.choose(nullptr).version, 255) << "nothing heard: the oldest";

  ConfigResult r = load_config_text(config_text(", key_version: 255, next_key_version: 1"));
  EXPECT_TRUE(r.ok()) << r.error_text();
  ConfigResult far = load_config_text(config_text(", key_version: 2, next_key_version: 200"));
  ASSERT_FALSE(far.ok());
  EXPECT_NE(far.error_text().find("peers[0].next_key_version: must be newer"), std::string::npos) << far.error_text();
}

}  // namespace
}  // namespace wp::mgmt
