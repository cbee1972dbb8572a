// Live reload of ipsec_peers and tunnels (docs/ipsec.md § Live reload):
// ike::plan_peer_reload's classes, and
// IkeService::reload driven with the test initiator as the site. A removed
// or rebound peer's IKE SA gets a Delete the site opens and leaves the
// workers' table in the reload's own publish; a peer added is answered; new
// credentials keep the SA up and apply to the next IKE_AUTH; an unchanged
// peer keeps its very SA objects; no PSK in the logs or the status.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "dataplane/control/ike/peer_reload.h"
#include "dataplane/control/ike/responder_config.h"
#include "dataplane/control/ike_service.h"
#include "tests/unit/ike_service_test_config.h"
#include "tests/unit/ike_test_initiator.h"

namespace wp::ike {
namespace {

using waypoint::config::Config;

constexpr Ipv4 kSiteAddr = 0x0a4e0001, kHeadendAddr = 0x0a4e0002;  // kSite, kHeadend
const std::string kNewPsk = "reloaded-psk-9876543210";

Config one_site() {
  Config cfg;
  cfg.add_tenants()->set_name("corp");
  cfg.add_tenants()->set_name("branch");
  add_site1(cfg, "branch");
  return cfg;
}

// site1 and a second peer "site2" (10.78.0.3) with tunnel ipsec1 into corp, MTU 1300.
Config two_sites() {
  Config cfg = one_site();
  auto* p = cfg.add_ipsec_peers();
  *p = cfg.ipsec_peers(0);
  p->set_name("site2");
  p->set_address("10.78.0.3");
  p->set_remote_id("site2.example");
  auto* t = cfg.add_tunnels();
  t->set_name("ipsec1");
  t->set_peer("site2");
  t->set_tenant("corp");
  t->set_mtu(1300);
  return cfg;
}

TEST(PeerReloadPlan, ClassifiesEachPeer) {
  const Config was = two_sites();
  Config next = was;
  EXPECT_EQ(plan_peer_reload(was, next).at("site1"), PeerChange::same);
  next.mutable_ipsec_peers(0)->set_psk(kNewPsk);
  next.mutable_ipsec_peers(0)->set_child_lifetime_s(600);
  next.mutable_ipsec_peers(0)->set_dpd_interval_s(10);
  next.mutable_ipsec_peers(0)->add_esp_proposals("aes256gcm16");
  next.mutable_ipsec_peers(0)->set_crls("-----BEGIN X509 CRL-----");  // a CRL refresh: the SAs up stay
  next.mutable_ipsec_peers(0)->set_ca_certificates("-----BEGIN CERTIFICATE-----");  // and a CA's
  next.mutable_ipsec_peers(1)->set_address("10.78.0.4");
  auto plan = plan_peer_reload(was, next);
  EXPECT_EQ(plan.at("site1"), PeerChange::credentials);
  EXPECT_EQ(plan.at("site2"), PeerChange::rebound);
  next = was;
  next.mutable_ipsec_peers(0)->add_remote_ts("10.51.0.0/24");  // selectors: rebound
  next.mutable_ipsec_peers(1)->set_remote_id("other.example");  // identity: rebound
  plan = plan_peer_reload(was, next);
  EXPECT_EQ(plan.at("site1"), PeerChange::rebound);
  EXPECT_EQ(plan.at("site2"), PeerChange::rebound);
  // The tunnel's tenant and MTU are no peer's binding; another tunnel naming the peer is.
  next = was;
  next.mutable_tunnels(1)->set_mtu(1200);
  next.mutable_tunnels(1)->set_tenant("branch");
  EXPECT_EQ(plan_peer_reload(was, next).at("site2"), PeerChange::same);
  next.mutable_tunnels(1)->set_name("ipsec9");
  EXPECT_EQ(plan_peer_reload(was, next).at("site2"), PeerChange::rebound);
  plan = plan_peer_reload(was, one_site());
  EXPECT_EQ(plan.at("site1"), PeerChange::same);
  EXPECT_EQ(plan.at("site2"), PeerChange::removed);
  EXPECT_EQ(plan_peer_reload(one_site(), was).at("site2"), PeerChange::added);
}

struct IkeServiceReloadTest : ::testing::Test {
  std::vector<std::string> logs;
  std::atomic<const EspSaTable*> table{nullptr};
  std::atomic<uint64_t> epoch{0};
  IkeService svc{two_sites(), table, {&epoch}, [this](const std::string& l) { logs.push_back(l); }};
  std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now();

  // site1 (10.78.0.1) brings its IKE SA and Child SA up with `psk`; the IKE_AUTH answer's payloads.
  std::vector<Payload> bring_up(TestInitiator& i, const std::string& psk = kPsk) {
    IkeSuite s;
    EXPECT_TRUE(ike_suite_by_name("aes256-sha256-modp2048", s));
    EXPECT_TRUE(i.accept(svc.input(i.sa_init({ike_proposal(1, s)}, kDhModp2048), kSiteAddr, kIkePort, kHeadendAddr,
                                   kIkePort, now)));
    return i.open(svc.input(i.auth(psk), kSiteAddr, kIkePort, kHeadendAddr, kIkePort, now));
  }
  nlohmann::json status() const { return nlohmann::json::parse(svc.status_json()); }
  void no_secret_anywhere() const {
    for (const std::string& l : logs) {
      EXPECT_EQ(l.find(kPsk), std::string::npos) << l;
      EXPECT_EQ(l.find(kNewPsk), std::string::npos) << l;
    }
    const std::string doc = svc.status_json();
    EXPECT_EQ(doc.find(kPsk), std::string::npos);
    EXPECT_EQ(doc.find(kNewPsk), std::string::npos);
  }
};

TEST_F(IkeServiceReloadTest, RemovedPeerGetsADeleteAndLeavesTheTableAtOnce) {
  TestInitiator i;
  ASSERT_NE(find<AuthPayload>(bring_up(i), PayloadType::auth), nullptr);
  const EspSaTable* up = table.load();
  ASSERT_NE(up->outbound(0), nullptr);
  const uint32_t spi_in = svc.responder().sas().begin()->second->children.begin()->first;
  ASSERT_NE(up->inbound(spi_in), nullptr);
  // site1 goes; ipsec0 (position 0 stays) now feeds site2, ipsec1 (the last) goes.
  Config without = two_sites();
  without.mutable_ipsec_peers()->DeleteSubrange(0, 1);
  without.mutable_tunnels(0)->set_peer("site2");
  without.mutable_tunnels()->DeleteSubrange(1, 1);
  const IkeService::ReloadOutcome out = svc.reload(without, now);
  EXPECT_EQ(out.removed, 1u);
  EXPECT_EQ(out.rebound, 1u);  // site2: its tunnel is ipsec0 now
  EXPECT_EQ(out.ike_sas_deleted, 1u);
  // The site's Delete of the IKE SA, from where the SA lives, sealed with its keys.
  const std::vector<IkeDatagram> sent = svc.take_outgoing();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].dst, kSiteAddr);
  EXPECT_EQ(sent[0].src, kHeadendAddr);
  Header h;
  const auto del = i.open_request(sent[0].payload, h);
  EXPECT_EQ(h.exchange, Exchange::informational);
  const auto* d = find<DeletePayload>(del, PayloadType::del);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->protocol, Protocol::ike);
  // Gone from the table the reload published: no sealing, no opening.
  const EspSaTable* after = table.load();
  EXPECT_NE(after, up);
  EXPECT_EQ(after->outbound(0), nullptr);
  EXPECT_EQ(after->inbound(spi_in), nullptr);
  EXPECT_TRUE(svc.responder().sas().empty());
  EXPECT_TRUE(status()["ike_sas"].empty());
  EXPECT_EQ(status()["counters"]["reload_ike_sas_deleted"], 1);
  EXPECT_EQ(status()["counters"]["reload_deletes_sent"], 1);
  EXPECT_EQ(status()["counters"]["reloads"], 1);
  EXPECT_EQ(status()["tunnels"].size(), 1u);
  // site1's address is a stranger now.
  TestInitiator again;
  IkeSuite s;
  ASSERT_TRUE(ike_suite_by_name("aes256-sha256-modp2048", s));
  EXPECT_TRUE(svc.input(again.sa_init({ike_proposal(1, s)}, kDhModp2048), kSiteAddr, kIkePort, kHeadendAddr, kIkePort,
                        now)
                  .empty());
  EXPECT_EQ(svc.counter(IkeServiceCounter::unknown_peer), 1u);
  no_secret_anywhere();
}

TEST_F(IkeServiceReloadTest, AddedPeerIsAnsweredAndItsTunnelAppears) {
  std::atomic<const EspSaTable*> published{nullptr};
  IkeService one{one_site(), published, {&epoch}, [this](const std::string& l) { logs.push_back(l); }};
  EXPECT_EQ(one.status_json().find("ipsec1"), std::string::npos);
  TestInitiator i;
  IkeSuite s;
  ASSERT_TRUE(ike_suite_by_name("aes256-sha256-modp2048", s));
  const Ipv4 site2 = 0x0a4e0003;
  EXPECT_TRUE(one.input(i.sa_init({ike_proposal(1, s)}, kDhModp2048), site2, kIkePort, kHeadendAddr, kIkePort, now)
                  .empty());  // unknown_peer
  const IkeService::ReloadOutcome out = one.reload(two_sites(), now);
  EXPECT_EQ(out.added, 1u);
  EXPECT_EQ(out.ike_sas_deleted, 0u);
  ASSERT_NE(published.load()->tunnel(1), nullptr);
  EXPECT_EQ(published.load()->tunnel(1)->mtu, 1300);
  EXPECT_EQ(published.load()->tunnel(1)->tenant, 0);  // corp
  TestInitiator i2;
  ASSERT_TRUE(i2.accept(one.input(i2.sa_init({ike_proposal(1, s)}, kDhModp2048), site2, kIkePort, kHeadendAddr,
                                  kIkePort, now)));
  const auto ok = i2.open(one.input(i2.auth(kPsk, "site2.example"), site2, kIkePort, kHeadendAddr, kIkePort, now));
  ASSERT_NE(find<AuthPayload>(ok, PayloadType::auth), nullptr);
  EXPECT_NE(published.load()->outbound(1), nullptr);  // site2's Child SA seals into ipsec1
  EXPECT_EQ(published.load()->outbound(0), nullptr);
}

TEST_F(IkeServiceReloadTest, NewCredentialsKeepTheSaAndApplyToTheNextAuth) {
  TestInitiator i;
  ASSERT_NE(find<AuthPayload>(bring_up(i), PayloadType::auth), nullptr);
  const EspSa* sealing = table.load()->outbound(0);
  Config next = two_sites();
  next.mutable_ipsec_peers(0)->set_psk(kNewPsk);
  next.mutable_ipsec_peers(0)->set_child_lifetime_s(600);
  const IkeService::ReloadOutcome out = svc.reload(next, now);
  EXPECT_EQ(out.credentials, 1u);
  EXPECT_EQ(out.ike_sas_deleted, 0u);
  EXPECT_TRUE(svc.take_outgoing().empty());
  EXPECT_EQ(table.load()->outbound(0), sealing);  // the very SA, same slot
  EXPECT_EQ(svc.responder().sas().size(), 1u);
  // The SA answers liveness as before.
  EXPECT_TRUE(i.open(svc.input(i.request(Exchange::informational, {}, i.next_id++), kSiteAddr, kIkePort,
                               kHeadendAddr, kIkePort, now))
                  .empty());
  // A new IKE SA authenticates with the new PSK only.
  TestInitiator old_psk, new_psk;
  old_psk.spi_i = 0x0102030405060708;  // other IKE SAs than `i`'s
  new_psk.spi_i = 0x0807060504030201;
  EXPECT_NE(notify_of(bring_up(old_psk), kNotifyAuthenticationFailed), nullptr);
  EXPECT_NE(find<AuthPayload>(bring_up(new_psk, kNewPsk), PayloadType::auth), nullptr);
  no_secret_anywhere();
}

TEST_F(IkeServiceReloadTest, RebindingReestablishesAndOtherPeersAreUntouched) {
  TestInitiator i;
  ASSERT_NE(find<AuthPayload>(bring_up(i), PayloadType::auth), nullptr);
  const EspSaTable* before = table.load();
  const EspSa* sealing = before->outbound(0);
  const uint64_t spi_r = svc.responder().sas().begin()->first;
  // site2 changes its address (rebound, no SA to delete); a third peer and tunnel are appended.
  Config next = two_sites();
  next.mutable_ipsec_peers(1)->set_address("10.78.0.4");
  auto* p = next.add_ipsec_peers();
  *p = next.ipsec_peers(1);
  p->set_name("site3");
  p->set_address("10.78.0.5");
  p->set_remote_id("site3.example");
  auto* t = next.add_tunnels();
  t->set_name("ipsec2");
  t->set_peer("site3");
  t->set_tenant("branch");
  const IkeService::ReloadOutcome out = svc.reload(next, now);
  EXPECT_EQ(out.added, 1u);
  EXPECT_EQ(out.rebound, 1u);
  EXPECT_EQ(out.ike_sas_deleted, 0u);
  EXPECT_TRUE(svc.take_outgoing().empty());  // nothing to site1
  // site1: the same IKE SA, the same SA objects in the new table.
  EXPECT_EQ(svc.responder().sas().begin()->first, spi_r);
  EXPECT_EQ(table.load()->outbound(0), sealing);
  EXPECT_EQ(status()["child_sas"][0]["state"], "INSTALLED");
  EXPECT_EQ(status()["tunnels"].size(), 3u);
  // Now site1's selectors change: rebound, its SA deleted with a Delete.
  Config narrower = next;
  narrower.mutable_ipsec_peers(0)->clear_remote_ts();
  narrower.mutable_ipsec_peers(0)->add_remote_ts("10.50.1.0/24");
  EXPECT_EQ(svc.reload(narrower, now).ike_sas_deleted, 1u);
  EXPECT_EQ(svc.take_outgoing().size(), 1u);
  EXPECT_EQ(table.load()->outbound(0), nullptr);
  // The site starts again under the new entry.
  TestInitiator again;
  IkeSuite s;
  ASSERT_TRUE(ike_suite_by_name("aes256-sha256-modp2048", s));
  ASSERT_TRUE(again.accept(svc.input(again.sa_init({ike_proposal(1, s)}, kDhModp2048), kSiteAddr, kIkePort,
                                     kHeadendAddr, kIkePort, now)));
  const auto ok = again.open(svc.input(again.auth(kPsk, "site1.example", true, {ts({10, 50, 1, 0}, {10, 50, 1, 255})}),
                                       kSiteAddr, kIkePort, kHeadendAddr, kIkePort, now));
  EXPECT_NE(find<AuthPayload>(ok, PayloadType::auth), nullptr);
  EXPECT_NE(table.load()->outbound(0), nullptr);
  no_secret_anywhere();
}

}  // namespace
}  // namespace wp::ike
