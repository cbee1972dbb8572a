// IkeService rekeying an IKE SA it initiated at the soft lifetime
// (ike_service_rekey.cc enforce_ike, docs/ipsec.md § Rekeying, RFC 7296
// § 1.3.2) toward an in-process site (ike::Responder, which answers IKE SA
// rekeys), with an injected clock: nothing before 85 % of ike_lifetime_s,
// one rekey by 95 %, the new IKE SA (new SPIs on both sides, the old one
// deleted at the site) holding the same Child SA, still INSTALLED in the
// published table, a fresh lifetime for the new IKE SA and a second rekey
// of it; the counters ike_rekeys_time and ike_rekeys_completed.
#include <gtest/gtest.h>

#include <cstdio>

#include <nlohmann/json.hpp>

#include "dataplane/control/ike/responder_config.h"
#include "dataplane/control/ike_service.h"
#include "tests/unit/ike_service_test_config.h"
#include "tests/unit/ike_test_initiator.h"

namespace wp::ike {
namespace {

using namespace std::chrono_literals;
constexpr Ipv4 kSiteAddr = 0x0a4e0001, kHeadendAddr = 0x0a4e0002;  // kSite, kHeadend

waypoint::config::Config config(bool initiate = true) {
  waypoint::config::Config cfg;
  cfg.add_tenants()->set_name("branch");
  add_site1(cfg, "branch");
  auto* p = cfg.mutable_ipsec_peers(0);
  p->set_initiate(initiate);
  p->clear_esp_proposals();
  p->add_esp_proposals("aes256gcm16");
  p->add_esp_proposals("aes256-sha256-esn");  // the test initiator's (ike_test_initiator.h)
  p->set_ike_lifetime_s(600);
  p->set_child_lifetime_s(3600);  // above ike_lifetime_s: the Child SA outlives IKE SAs
  return cfg;
}

struct ServiceIkeRekeyTest : ::testing::Test {
  std::atomic<const EspSaTable*> table{nullptr};
  std::atomic<uint64_t> epoch{0};
  std::vector<std::string> logs;
  IkeService svc{config(), table, {&epoch}, [this](const std::string& l) { logs.push_back(l); }};
  Responder site{site_responder_config(EspSuite{kEncrAesGcm16, 0, false}), [](const std::string&) {}};
  std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now(), now = t0;

  ServiceIkeRekeyTest() { svc.set_source([](const IpAddress& peer) { return peer == kSiteAddr ? kHeadendAddr : 0; }); }
  void deliver(const IkeDatagram& d) {
    Bytes msg = d.payload;
    if (d.dport == kIkeNattPort) msg.erase(msg.begin(), msg.begin() + 4);
    const Bytes a = site.handle(msg, {kHeadend.addr, d.sport}, {kSite.addr, d.dport}, now);
    if (a.empty()) return;
    Bytes marked = a;
    if (d.dport == kIkeNattPort) marked.insert(marked.begin(), 4, 0);
    EXPECT_TRUE(svc.input(marked, kSiteAddr, d.dport, kHeadendAddr, d.sport, now).empty());
  }
  void run(std::vector<IkeDatagram> q) {
    for (int n = 0; n < 8 && !q.empty(); ++n) {
      const IkeDatagram d = q.front();
      q.erase(q.begin());
      deliver(d);
      for (IkeDatagram& o : svc.take_outgoing()) q.push_back(std::move(o));
    }
  }
  std::vector<IkeDatagram> poll() {
    svc.poll(now);
    return svc.take_outgoing();
  }
  uint64_t rekey(RekeyCounter c) const { return svc.rekey_counters()[c]; }
  nlohmann::json status() const { return nlohmann::json::parse(svc.status_json()); }
};

TEST_F(ServiceIkeRekeyTest, SoftLifetimeRekeysTheIkeSaAndKeepsTheChildSa) {
  run(poll());
  ASSERT_NE(svc.initiator(0), nullptr);
  ASSERT_EQ(svc.initiator(0)->state(), InitiatorState::established);
  const uint64_t spi_i = svc.initiator(0)->sa()->spi_i, spi_r = svc.initiator(0)->sa()->spi_r;
  const uint32_t child_in = svc.initiator(0)->child()->spi_in;
  EXPECT_LE(status()["ike_sas"][0]["expires_in_s"].get<int64_t>(), 600);
  // DPD keeps the site talking (answered in run()); before 85 %: no rekey.
  for (now = t0 + 30s; now < t0 + 509s; now += 30s) run(poll());
  EXPECT_EQ(rekey(RekeyCounter::ike_rekeys_time), 0u);
  EXPECT_EQ(svc.initiator(0)->sa()->spi_i, spi_i);
  for (; now <= t0 + 571s && rekey(RekeyCounter::ike_rekeys_completed) == 0; now += 5s) run(poll());
  EXPECT_EQ(rekey(RekeyCounter::ike_rekeys_time), 1u);  // by 95 %
  EXPECT_EQ(rekey(RekeyCounter::ike_rekeys_completed), 1u);
  EXPECT_EQ(rekey(RekeyCounter::rekey_failures), 0u);
  EXPECT_EQ(rekey(RekeyCounter::ike_sas_expired), 0u);
  const IkeSa* sa = svc.initiator(0)->sa();
  EXPECT_NE(sa->spi_i, spi_i);
  EXPECT_NE(sa->spi_r, spi_r);
  EXPECT_EQ(svc.initiator(0)->old_sa(), nullptr);  // its Delete answered in run()
  ASSERT_EQ(site.sas().size(), 1u);                // the site deleted the old one
  EXPECT_EQ(site.sas().begin()->second->spi_i, sa->spi_i);
  // The same Child SA, still in the workers' table; no Child SA rekey.
  ASSERT_EQ(svc.initiator(0)->child_count(), 1u);
  EXPECT_EQ(svc.initiator(0)->child()->spi_in, child_in);
  const nlohmann::json st = status();
  ASSERT_EQ(st["child_sas"].size(), 1u);
  EXPECT_EQ(st["child_sas"][0]["state"], "INSTALLED");
  EXPECT_EQ(rekey(RekeyCounter::child_rekeys_time), 0u);
  ASSERT_EQ(st["ike_sas"].size(), 1u);
  // A lifetime of its own from the rekey (the document renders with the real
  // clock, so only its sign is checked here; the second rekey below times it).
  EXPECT_GT(st["ike_sas"][0]["expires_in_s"].get<int64_t>(), 0);
  EXPECT_GE(sa->created, t0 + 509s);
  EXPECT_EQ(st["rekey"]["ike_rekeys_completed"], 1);
  // And again on the new SA, a soft lifetime later.
  const auto t1 = now;
  for (; now <= t1 + 600s && rekey(RekeyCounter::ike_rekeys_completed) < 2; now += 5s) run(poll());
  EXPECT_GE(now - t1, 505s);
  EXPECT_EQ(rekey(RekeyCounter::ike_rekeys_completed), 2u);
  EXPECT_EQ(site.sas().size(), 1u);
  EXPECT_EQ(svc.initiator(0)->child()->spi_in, child_in);
  EXPECT_EQ(rekey(RekeyCounter::ike_sas_expired), 0u);
}

// The site began the IKE SA (the test initiator): the service's responder
// rekeys it at the soft lifetime; the new SA is ours as initiator
// (IkeSa::we_initiated), listed with our SPI first, the Child SA unchanged.
TEST(ServiceResponderIkeRekey, SoftLifetimeRekeysTheSitesIkeSa) {
  std::atomic<const EspSaTable*> table{nullptr};
  std::atomic<uint64_t> epoch{0};
  waypoint::config::Config cfg = config(false);
  cfg.mutable_ipsec_peers(0)->set_dpd_interval_s(3600);  // the site stays silent for minutes: no DPD of ours
  IkeService svc{cfg, table, {&epoch}, [](const std::string&) {}};
  const auto t0 = std::chrono::steady_clock::now();
  auto now = t0;
  TestInitiator site;
  auto send = [&](const Bytes& d) { return svc.input(d, kSiteAddr, kIkePort, kHeadendAddr, kIkePort, now); };
  IkeSuite s;
  ASSERT_TRUE(ike_suite_by_name("aes256-sha256-modp2048", s));
  ASSERT_TRUE(site.accept(send(site.sa_init({ike_proposal(1, s)}, kDhModp2048))));
  site.open(send(site.auth(kPsk)));
  ASSERT_NE(table.load()->outbound(0), nullptr);
  const uint32_t out_spi = table.load()->outbound(0)->spi;
  std::vector<IkeDatagram> out;
  for (now = t0 + 30s; now < t0 + 509s; now += 30s) {
    svc.poll(now);
    EXPECT_TRUE(svc.take_outgoing().empty());
  }
  for (; now <= t0 + 571s && out.empty(); now += 5s) {
    svc.poll(now);
    out = svc.take_outgoing();
  }
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(svc.rekey_counters()[RekeyCounter::ike_rekeys_time], 1u);
  Header h;
  const auto in = site.open_request(out[0].payload, h);
  const auto* offer = find<SaPayload>(in, PayloadType::sa);
  ASSERT_NE(offer, nullptr);
  ASSERT_EQ(offer->proposals.at(0).protocol, Protocol::ike);
  uint64_t ours = 0;
  for (uint8_t x : offer->proposals.at(0).spi) ours = ours << 8 | x;
  std::string err;
  auto dh = DhKey::generate(kDhModp2048, err);
  ASSERT_TRUE(dh) << err;
  const Bytes del = send(site.answer(Exchange::create_child_sa, h.message_id,
                                     {{PayloadType::sa, false, ike_answer(1, s, 0x5353535353535353ULL)},
                                      {PayloadType::nonce, false, NoncePayload{Bytes(32, 0x66)}},
                                      {PayloadType::ke, false, KePayload{kDhModp2048, dh->public_value()}}}));
  ASSERT_FALSE(del.empty());  // the Delete of the old IKE SA
  site.open_request(del, h);
  EXPECT_TRUE(send(site.answer(Exchange::informational, h.message_id, {})).empty());
  EXPECT_EQ(svc.rekey_counters()[RekeyCounter::ike_rekeys_completed], 1u);
  EXPECT_EQ(svc.rekey_counters()[RekeyCounter::rekey_failures], 0u);
  const nlohmann::json st = nlohmann::json::parse(svc.status_json());
  ASSERT_EQ(st["ike_sas"].size(), 1u);
  EXPECT_EQ(st["ike_sas"][0]["role"], "initiator");
  char want[20];
  std::snprintf(want, sizeof want, "%016llx", static_cast<unsigned long long>(ours));
  EXPECT_EQ(st["ike_sas"][0]["spi_i"], want);
  EXPECT_EQ(st["ike_sas"][0]["spi_r"], "5353535353535353");
  ASSERT_EQ(st["child_sas"].size(), 1u);
  EXPECT_EQ(st["child_sas"][0]["state"], "INSTALLED");
  EXPECT_EQ(table.load()->outbound(0)->spi, out_spi);  // the same Child SA seals
  // A lifetime of its own: no second rekey right away.
  now += 30s;
  svc.poll(now);
  EXPECT_TRUE(svc.take_outgoing().empty());
}

}  // namespace
}  // namespace wp::ike
