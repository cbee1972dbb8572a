// IkeService enforcing our lifetimes (ike_service_rekey.cc, docs/ipsec.md
// § Rekeying) on an IKE SA it initiated toward an in-process site
// (ike::Responder), with an injected clock and the workers' tunnel counters
// written by the test: the byte limit rekeys the Child SA make before break
// (the new inbound SA is in the published table before the Delete of the
// old one leaves, the old one until that Delete is answered), the soft
// lifetime by time rekeys it within the jitter bounds, the hard lifetime
// deletes the Child SA and then the IKE SA, which starts again; and our
// rekey and our DPD on an IKE SA the site began (the responder's own
// requests): a liveness check after dpd_interval_s of silence, none while
// the site talks or a rekey of ours is outstanding, the SA and its Child SAs
// gone when it stays unanswered.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "dataplane/control/ike/responder_config.h"
#include "dataplane/control/ike_service.h"
#include "tests/unit/ike_service_test_config.h"
#include "tests/unit/ike_test_initiator.h"

namespace wp::ike {
namespace {

using namespace std::chrono_literals;
constexpr Ipv4 kSiteAddr = 0x0a4e0001, kHeadendAddr = 0x0a4e0002;  // kSite, kHeadend

uint32_t spi32(const Bytes& b) { return uint32_t(b[0]) << 24 | uint32_t(b[1]) << 16 | uint32_t(b[2]) << 8 | b[3]; }
Bytes spi_bytes(uint32_t v) { return {uint8_t(v >> 24), uint8_t(v >> 16), uint8_t(v >> 8), uint8_t(v)}; }

// `pfs`: esp_proposals name ECP-256 (our Child SA rekeys carry a KE of it).
waypoint::config::Config config(uint64_t child_bytes, bool initiate = true, bool pfs = false) {
  waypoint::config::Config cfg;
  cfg.add_tenants()->set_name("branch");
  add_site1(cfg, "branch");
  auto* p = cfg.mutable_ipsec_peers(0);
  p->set_initiate(initiate);
  p->clear_esp_proposals();
  p->add_esp_proposals(pfs ? "aes256gcm16-ecp256" : "aes256gcm16");
  p->add_esp_proposals(pfs ? "aes256-sha256-esn-ecp256" : "aes256-sha256-esn");  // the test initiator's
  p->set_child_lifetime_bytes(child_bytes);  // ike_lifetime_s 14400, child_lifetime_s 3600 (defaults)
  return cfg;
}

ResponderConfig site_config() { return site_responder_config(EspSuite{kEncrAesGcm16, 0, false}); }

struct ServiceRekeyTest : ::testing::Test {
  static constexpr uint64_t kLimit = 4 << 20;
  std::atomic<const EspSaTable*> table{nullptr};
  std::atomic<uint64_t> epoch{0};
  std::vector<std::string> logs;
  std::vector<std::string> site_logs;
  IkeService svc{config(kLimit), table, {&epoch}, [this](const std::string& l) { logs.push_back(l); }};
  Responder site{site_config(), [this](const std::string& l) { site_logs.push_back(l); }};
  std::unique_ptr<EspTunnelCounters[]> counters{new EspTunnelCounters[kEspCounterTunnels]};
  std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now(), now = t0;

  explicit ServiceRekeyTest(bool pfs = false)
      : svc{config(kLimit, true, pfs), table, {&epoch}, [this](const std::string& l) { logs.push_back(l); }} {
    svc.set_source([](const IpAddress& peer) { return peer == kSiteAddr ? kHeadendAddr : 0; });
    svc.set_tunnel_counters(counters.get(), 1);
  }
  // `d` to the site; its answer back into the service; the service's next
  // request (queued) delivered the same way, `hold` of them kept back.
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
  void establish() {
    run(poll());
    ASSERT_NE(svc.initiator(0), nullptr);
    ASSERT_EQ(svc.initiator(0)->state(), InitiatorState::established);
  }
  void carry(uint64_t in, uint64_t out) {  // what tunnel 0's owner opened and sealed
    EspTunnelCounters::bump(counters[0].in_bytes, in);
    EspTunnelCounters::bump(counters[0].out_bytes, out);
  }
  uint64_t rekey(RekeyCounter c) const { return svc.rekey_counters()[c]; }
  nlohmann::json status() const { return nlohmann::json::parse(svc.status_json()); }
};

TEST_F(ServiceRekeyTest, ByteLimitRekeysTheChildSaMakeBeforeBreak) {
  establish();
  const ChildSa& first = *svc.initiator(0)->child();
  const uint32_t old_in = first.spi_in, old_out = first.spi_out;
  carry(2 << 20, 1 << 20);  // 3 MiB of 4: below the soft limit (85..95 %)
  now += 2s;
  EXPECT_TRUE(poll().empty());
  EXPECT_EQ(status()["child_sas"][0]["bytes"], 3 << 20);
  EXPECT_EQ(status()["child_sas"][0]["lifetime_bytes"], kLimit);
  carry(900 << 10, 0);  // 3.88 MiB: past the soft limit (at most 3.8 MiB), below the hard one
  now += 2s;
  auto req = poll();
  ASSERT_EQ(req.size(), 1u);
  EXPECT_EQ(rekey(RekeyCounter::child_rekeys_bytes), 1u);
  EXPECT_EQ(rekey(RekeyCounter::child_rekeys_time), 0u);
  EXPECT_EQ(svc.initiator(0)->rekeying(), old_in);
  // Before the answer nothing changed in the workers' table.
  EXPECT_EQ(table.load()->outbound(0)->spi, old_out);
  // The site answers: the new Child SA is published (both directions) before
  // the Delete of the old one leaves; the old inbound SA stays.
  ASSERT_EQ(req[0].dport, kIkeNattPort);  // NAT-T moved IKE to 4500: the non-ESP marker
  const Bytes msg(req[0].payload.begin() + 4, req[0].payload.end());
  Bytes a = site.handle(msg, {kHeadend.addr, req[0].sport}, {kSite.addr, req[0].dport}, now);
  ASSERT_FALSE(a.empty());
  a.insert(a.begin(), 4, 0);
  EXPECT_TRUE(svc.input(a, kSiteAddr, req[0].dport, kHeadendAddr, req[0].sport, now).empty());
  const auto del = svc.take_outgoing();
  ASSERT_EQ(del.size(), 1u);  // the Delete of the old SA, not yet sent
  const ChildSa& fresh = *svc.initiator(0)->child();
  ASSERT_NE(fresh.spi_in, old_in);
  const EspSaTable* t = table.load();
  EXPECT_NE(t->inbound(fresh.spi_in), nullptr);
  EXPECT_NE(t->inbound(old_in), nullptr);
  EXPECT_EQ(t->outbound(0)->spi, fresh.spi_out);  // the site has its inbound SA: it answered
  EXPECT_EQ(status()["counters"]["rekey_switch_deferred"], 0);  // only the site's rekeys wait (§ 2.8)
  EXPECT_EQ(status()["child_sas"].size(), 2u);
  run(del);
  // The Delete was answered: the old SA is no Child SA any more, but its
  // inbound keeps opening for 5 s (ESP the site sealed just before it took
  // the Delete), and never seals.
  EXPECT_NE(table.load()->inbound(old_in), nullptr);
  EXPECT_EQ(table.load()->outbound(0)->spi, fresh.spi_out);
  EXPECT_EQ(status()["child_sas"].size(), 1u);
  EXPECT_NE(table.load()->inbound(fresh.spi_in), nullptr);
  EXPECT_EQ(rekey(RekeyCounter::child_rekeys_completed), 1u);
  EXPECT_EQ(status()["rekey"]["child_rekeys_completed"], 1);
  // The new SA counts from its installation: no rekey at once.
  now += 2s;
  EXPECT_TRUE(poll().empty());
  EXPECT_NE(table.load()->inbound(old_in), nullptr);  // 2 s after the answer: still opening
  now += 4s;
  EXPECT_TRUE(poll().empty());
  EXPECT_EQ(table.load()->inbound(old_in), nullptr);  // gone 5 s after the Delete was answered
  EXPECT_EQ(table.load()->outbound(0)->spi, fresh.spi_out);
  EXPECT_EQ(status()["child_sas"][0]["bytes"], 0);
  carry(kLimit - (100 << 10), 0);
  now += 2s;
  run(poll());
  EXPECT_EQ(rekey(RekeyCounter::child_rekeys_bytes), 2u);
  EXPECT_EQ(rekey(RekeyCounter::child_rekeys_completed), 2u);
  EXPECT_EQ(site.sas().begin()->second->children.size(), 1u);  // the site holds only the newest too
}

TEST_F(ServiceRekeyTest, SoftLifetimeByTimeWithinTheJitterBounds) {
  establish();
  const uint32_t old_in = svc.initiator(0)->child()->spi_in;
  const int64_t left = status()["child_sas"][0]["expires_in_s"].get<int64_t>();
  EXPECT_GE(left, 3599);
  EXPECT_LE(left, 3600);
  // DPD keeps the site talking (answered in run()); before 85 %: no rekey.
  for (now = t0 + 60s; now < t0 + 3059s; now += 60s) run(poll());
  EXPECT_EQ(rekey(RekeyCounter::child_rekeys_time), 0u);
  EXPECT_EQ(svc.initiator(0)->child()->spi_in, old_in);
  for (; now <= t0 + 3451s; now += 30s) run(poll());
  EXPECT_EQ(rekey(RekeyCounter::child_rekeys_time), 1u);  // by 95 %
  EXPECT_EQ(rekey(RekeyCounter::child_rekeys_completed), 1u);
  EXPECT_NE(svc.initiator(0)->child()->spi_in, old_in);
  EXPECT_EQ(svc.initiator(0)->child_count(), 1u);
}

TEST_F(ServiceRekeyTest, HardLifetimeDeletesTheChildSaThenTheIkeSaWhichStartsAgain) {
  establish();
  const uint64_t spi_i = svc.initiator(0)->sa()->spi_i;
  // Everything past its hard lifetime at once (no poll in between: no rekey ran).
  now = t0 + 14401s;
  for (int n = 0; n < 6 && rekey(RekeyCounter::ike_sas_expired) == 0; ++n) run(poll());
  EXPECT_EQ(rekey(RekeyCounter::child_sas_expired), 1u);
  EXPECT_EQ(rekey(RekeyCounter::ike_sas_expired), 1u);
  EXPECT_EQ(rekey(RekeyCounter::child_rekeys_time), 0u);
  EXPECT_TRUE(site.sas().empty() || site.sas().begin()->second->spi_i != spi_i);
  // The initiator's backoff starts it again.
  for (int n = 0; n < 10 && !(svc.initiator(0) && svc.initiator(0)->state() == InitiatorState::established); ++n) {
    now += 2s;
    run(poll());
  }
  ASSERT_NE(svc.initiator(0), nullptr);
  EXPECT_EQ(svc.initiator(0)->state(), InitiatorState::established);
  EXPECT_NE(svc.initiator(0)->sa()->spi_i, spi_i);
}

// esp_proposals with a DH group (PFS): the config's group reaches our
// Child SA rekey, whose KE the site answers with its own; both ends derive
// the new KEYMAT with g^ir (RFC 7296 § 2.17) and get the same keys.
struct ServicePfsRekeyTest : ServiceRekeyTest {
  ServicePfsRekeyTest() : ServiceRekeyTest(true) {}
  static bool logged(const std::vector<std::string>& logs, const std::string& what) {
    for (const std::string& l : logs)
      if (l.find(what) != std::string::npos) return true;
    return false;
  }
};

TEST_F(ServicePfsRekeyTest, OurChildRekeyCarriesTheConfiguredGroup) {
  establish();
  // IKE_AUTH has no KE (RFC 7296 § 1.2): the first Child SA is not PFS at either end.
  EXPECT_FALSE(logged(site_logs, "(PFS)"));
  const uint32_t old_in = svc.initiator(0)->child()->spi_in;
  carry(3900 << 10, 0);  // past the soft limit (at most 3.8 MiB), below the hard one
  now += 2s;
  auto req = poll();
  ASSERT_EQ(req.size(), 1u);
  EXPECT_EQ(svc.initiator(0)->rekeying(), old_in);
  run(req);
  const ChildSa& ours = *svc.initiator(0)->child();
  ASSERT_NE(ours.spi_in, old_in);
  EXPECT_EQ(svc.rekey_counters()[RekeyCounter::child_rekeys_completed], 1u);
  // The site took our KE (its answer's KEYMAT with g^ir) and we took its one.
  EXPECT_TRUE(logged(site_logs, "(PFS)"));
  EXPECT_TRUE(logged(logs, "Child SA rekeyed, SPI in " + hex_of(spi_bytes(ours.spi_in))));
  EXPECT_TRUE(logged(logs, "(PFS)"));
  ASSERT_EQ(site.sas().size(), 1u);
  const IkeSa& at_site = *site.sas().begin()->second;
  const auto theirs = at_site.children.find(ours.spi_out);
  ASSERT_NE(theirs, at_site.children.end());
  EXPECT_EQ(theirs->second.spi_out, ours.spi_in);
  EXPECT_EQ(theirs->second.enc_in, ours.enc_out);
  EXPECT_EQ(theirs->second.enc_out, ours.enc_in);
  EXPECT_EQ(theirs->second.integ_in, ours.integ_out);
  EXPECT_EQ(table.load()->outbound(0)->spi, ours.spi_out);
}

// The site began the IKE SA (the test initiator): the service's responder
// sends our rekey on it, to the site's address and port, from ours.
struct ServiceResponderRekeyTest : ::testing::Test {
  static constexpr uint64_t kLimit = 2 << 20;
  std::atomic<const EspSaTable*> table{nullptr};
  std::atomic<uint64_t> epoch{0};
  IkeService svc;
  std::unique_ptr<EspTunnelCounters[]> counters{new EspTunnelCounters[kEspCounterTunnels]};
  TestInitiator i;
  std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now();
  explicit ServiceResponderRekeyTest(bool pfs = false)
      : svc{config(kLimit, false, pfs), table, {&epoch}, [](const std::string&) {}} {}

  Bytes send(const Bytes& d) { return svc.input(d, kSiteAddr, kIkePort, kHeadendAddr, kIkePort, now); }
  void SetUp() override {
    svc.set_tunnel_counters(counters.get(), 1);
    IkeSuite s;
    ASSERT_TRUE(ike_suite_by_name("aes256-sha256-modp2048", s));
    ASSERT_TRUE(i.accept(send(i.sa_init({ike_proposal(1, s)}, kDhModp2048))));
    i.open(send(i.auth(kPsk)));
    ASSERT_NE(table.load()->outbound(0), nullptr);
  }
  std::vector<Payload> open_ours(const Bytes& req, Header& h) { return i.open_request(req, h); }
  Bytes answer(Exchange ex, uint32_t id, const std::vector<Payload>& inner) { return i.answer(ex, id, inner); }
};

TEST_F(ServiceResponderRekeyTest, OurRekeyOnTheSitesIkeSaMakeBeforeBreak) {
  const uint32_t old_out = table.load()->outbound(0)->spi;
  EspTunnelCounters::bump(counters[0].in_bytes, (2 << 20) - 1);  // past 95 %, below the hard limit
  now += 2s;
  svc.poll(now);
  const auto out = svc.take_outgoing();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].src, kHeadendAddr);
  EXPECT_EQ(out[0].dst, kSiteAddr);
  EXPECT_EQ(out[0].sport, kIkePort);
  EXPECT_EQ(out[0].dport, kIkePort);
  EXPECT_EQ(svc.rekey_counters()[RekeyCounter::child_rekeys_bytes], 1u);
  Header h;
  const auto req = open_ours(out[0].payload, h);
  EXPECT_EQ(h.exchange, Exchange::create_child_sa);
  EXPECT_FALSE(h.initiator());
  const uint32_t old_in = spi32(notify_of(req, kNotifyRekeySa)->spi);
  const auto* offer = find<SaPayload>(req, PayloadType::sa);
  const uint32_t new_in = spi32(offer->proposals.at(0).spi);
  const EspSuite gcm{kEncrAesGcm16, 0, false};
  std::vector<Payload> ans{{PayloadType::sa, false, esp_answer(1, gcm, 0xabcd0042)},
                           {PayloadType::nonce, false, NoncePayload{Bytes(32, 0x66)}}};
  for (const Payload& p : req)
    if (p.type == PayloadType::tsi || p.type == PayloadType::tsr) ans.push_back(p);
  const Bytes del = send(answer(Exchange::create_child_sa, 0, ans));
  ASSERT_FALSE(del.empty());  // the Delete of the old SA, back to the site
  const EspSaTable* t = table.load();
  EXPECT_NE(t->inbound(new_in), nullptr);  // published before the Delete leaves
  EXPECT_NE(t->inbound(old_in), nullptr);
  EXPECT_EQ(t->outbound(0)->spi, 0xabcd0042u);
  EXPECT_NE(old_out, 0xabcd0042u);
  EXPECT_EQ(svc.counter(IkeServiceCounter::rekey_switch_deferred), 0u);  // ours: the site answered, it seals
  Header dh;
  const auto d = open_ours(del, dh);
  EXPECT_EQ(find<DeletePayload>(d, PayloadType::del)->spis, std::vector<Bytes>{spi_bytes(old_in)});
  EXPECT_TRUE(send(answer(Exchange::informational, dh.message_id,
                          {{PayloadType::del, false, DeletePayload{Protocol::esp, 4, {spi_bytes(old_out)}}}}))
                  .empty());
  EXPECT_TRUE(svc.consumed());  // the site's answer ended our exchange: nothing lost
  EXPECT_NE(table.load()->inbound(old_in), nullptr);  // opening for 5 s more
  now += 6s;
  svc.poll(now);
  EXPECT_EQ(table.load()->inbound(old_in), nullptr);
  EXPECT_EQ(table.load()->outbound(0)->spi, 0xabcd0042u);
  EXPECT_EQ(svc.rekey_counters()[RekeyCounter::child_rekeys_completed], 1u);
}

struct ServiceResponderPfsRekeyTest : ServiceResponderRekeyTest {
  ServiceResponderPfsRekeyTest() : ServiceResponderRekeyTest(true) {}
};

// On an IKE SA the site began our Child SA rekey carries the KE too.
TEST_F(ServiceResponderPfsRekeyTest, OurRekeyOffersAndSendsTheGroup) {
  EspTunnelCounters::bump(counters[0].in_bytes, (2 << 20) - 1);
  now += 2s;
  svc.poll(now);
  const auto out = svc.take_outgoing();
  ASSERT_EQ(out.size(), 1u);
  Header h;
  const auto req = open_ours(out[0].payload, h);
  EXPECT_EQ(h.exchange, Exchange::create_child_sa);
  const auto* ke = find<KePayload>(req, PayloadType::ke);
  ASSERT_NE(ke, nullptr);
  EXPECT_EQ(ke->group, kDhEcp256);
  EXPECT_EQ(ke->data.size(), 64u);  // x | y
  const auto* offer = find<SaPayload>(req, PayloadType::sa);
  ASSERT_EQ(offer->proposals.size(), 2u);
  for (const Proposal& pr : offer->proposals) {
    bool dh = false;
    for (const Transform& t : pr.transforms) dh |= t.type == TransformType::dh && t.id == kDhEcp256;
    EXPECT_TRUE(dh) << "proposal " << int(pr.number);
  }
}

// Our DPD on the IKE SA the site began (ike_service_dpd.cc): dpd_interval_s
// is 30 s (the default); our requests opened with the site's keys.
struct ServiceResponderDpdTest : ServiceResponderRekeyTest {
  std::vector<IkeDatagram> poll() {
    svc.poll(now);
    return svc.take_outgoing();
  }
  // `d` is our liveness check: an empty INFORMATIONAL request with message
  // ID `id`, from our address to the site's.
  void expect_liveness(const IkeDatagram& d, uint32_t id) {
    EXPECT_EQ(d.src, kHeadendAddr);
    EXPECT_EQ(d.dst, kSiteAddr);
    EXPECT_EQ(d.dport, kIkePort);
    Header h;
    EXPECT_TRUE(open_ours(d.payload, h).empty());
    EXPECT_EQ(h.exchange, Exchange::informational);
    EXPECT_FALSE(h.response());
    EXPECT_FALSE(h.initiator());
    EXPECT_EQ(h.message_id, id);
  }
  size_t sas() const { return svc.responder().sas().size(); }
};

TEST_F(ServiceResponderDpdTest, ASilentSiteGetsOneLivenessCheckAnsweredItStays) {
  now += 29s;
  EXPECT_TRUE(poll().empty());
  now += 1s;
  auto out = poll();
  ASSERT_EQ(out.size(), 1u);
  expect_liveness(out[0], 0);
  now += 200ms;
  EXPECT_TRUE(send(answer(Exchange::informational, 0, {})).empty());
  EXPECT_TRUE(svc.consumed());
  EXPECT_EQ(svc.responder().own_counters().liveness_answered, 1u);
  now += 29s;  // counted from the answer
  EXPECT_TRUE(poll().empty());
  EXPECT_EQ(sas(), 1u);
  EXPECT_NE(table.load()->outbound(0), nullptr);
  now += 1s;
  out = poll();
  ASSERT_EQ(out.size(), 1u);
  expect_liveness(out[0], 1);
  EXPECT_EQ(svc.counter(IkeServiceCounter::responder_dead_peers), 0u);
}

TEST_F(ServiceResponderDpdTest, UnansweredTheIkeSaAndItsChildSasGo) {
  const uint32_t spi_in = svc.responder().sas().begin()->second->children.begin()->first;
  ASSERT_NE(table.load()->inbound(spi_in), nullptr);
  now += 30s;
  const auto out = poll();
  ASSERT_EQ(out.size(), 1u);
  expect_liveness(out[0], 0);
  int resent = 0;
  for (int n = 0; n < 60 && sas() != 0; ++n) {
    now += 500ms;
    for (const IkeDatagram& d : poll()) {
      EXPECT_EQ(d.payload, out[0].payload);  // the same request again
      ++resent;
    }
  }
  EXPECT_EQ(resent, 4);  // 5 sends in all, then 8 s more
  EXPECT_EQ(sas(), 0u);
  EXPECT_EQ(table.load()->inbound(spi_in), nullptr);
  EXPECT_EQ(table.load()->outbound(0), nullptr);
  EXPECT_EQ(svc.counter(IkeServiceCounter::responder_dead_peers), 1u);
  EXPECT_EQ(svc.rekey_counters()[RekeyCounter::rekey_failures], 0u);  // not a rekey of ours that failed
  EXPECT_NE(svc.metrics(R"(router="r1")").find(R"(waypoint_ike_failures_total{router="r1",reason="dead_peer"} 1)"),
            std::string::npos);
}

TEST_F(ServiceResponderDpdTest, TheSitesOwnDpdKeepsOursQuiet) {
  for (int n = 1; n <= 100; ++n) {
    now += 1s;
    if (n % 20 == 0) {
      EXPECT_FALSE(send(i.request(Exchange::informational, {}, i.next_id++)).empty());  // the site's DPD, answered
    }
    EXPECT_TRUE(poll().empty()) << n << " s";
  }
  now += 29s;  // since the site's last request
  EXPECT_TRUE(poll().empty());
  now += 1s;
  const auto out = poll();
  ASSERT_EQ(out.size(), 1u);
  expect_liveness(out[0], 0);
}

TEST_F(ServiceResponderDpdTest, NoLivenessCheckBesideOurOutstandingRekey) {
  now += 25s;
  EspTunnelCounters::bump(counters[0].in_bytes, (2 << 20) - 1);  // our Child SA rekey (message ID 0)
  auto out = poll();
  ASSERT_EQ(out.size(), 1u);
  Header h;
  const auto req = open_ours(out[0].payload, h);
  ASSERT_EQ(h.exchange, Exchange::create_child_sa);
  for (int n = 0; n < 10; ++n) {  // silent for 35 s: only the rekey's retransmissions
    now += 1s;
    for (const IkeDatagram& d : poll()) EXPECT_EQ(d.payload, out[0].payload);
  }
  std::vector<Payload> ans{{PayloadType::sa, false, esp_answer(1, EspSuite{kEncrAesGcm16, 0, false}, 0xabcd0042)},
                           {PayloadType::nonce, false, NoncePayload{Bytes(32, 0x66)}}};
  for (const Payload& p : req)
    if (p.type == PayloadType::tsi || p.type == PayloadType::tsr) ans.push_back(p);
  const Bytes del = send(answer(Exchange::create_child_sa, 0, ans));  // the Delete of the old SA (ID 1)
  Header dh;
  open_ours(del, dh);
  EXPECT_TRUE(send(answer(Exchange::informational, dh.message_id, {})).empty());
  now += 29s;
  EXPECT_TRUE(poll().empty());
  now += 1s;
  out = poll();
  ASSERT_EQ(out.size(), 1u);
  expect_liveness(out[0], 2);
}

// The cookie secret (RFC 7296 § 2.6) rotates every 5 minutes on the caller's clock, counted from
// the first poll, whatever that clock reads against the real one.
TEST(IkeServiceCookies, TheSecretRotatesEveryFiveMinutesOfTheCallersClock) {
  std::atomic<const EspSaTable*> table{nullptr};
  IkeService svc{config(0), table, {}};
  const Responder& r = svc.responder();
  const uint8_t v0 = r.cookie_version();
  const auto t0 = std::chrono::steady_clock::now() + 10h;
  svc.poll(t0);
  svc.poll(t0 + 299s);
  EXPECT_EQ(r.cookie_version(), v0);
  svc.poll(t0 + 301s);
  EXPECT_EQ(r.cookie_version(), static_cast<uint8_t>(v0 + 1));
  svc.poll(t0 + 302s);
  EXPECT_EQ(r.cookie_version(), static_cast<uint8_t>(v0 + 1));
  svc.poll(t0 + 602s);
  EXPECT_EQ(r.cookie_version(), static_cast<uint8_t>(v0 + 2));
}

}  // namespace
}  // namespace wp::ike
