// waypointd's IKE service (dataplane/control/ike_service.h) driven by the
// test initiator (ike_test_initiator.h) over UDP payloads as Control hands
// them over: IKE_SA_INIT + IKE_AUTH with a PSK publish the Child SA's two
// ESP SAs to the workers' table; port 4500's non-ESP marker, keepalives and
// ESP; wrong PSK, unknown ID, no proposal chosen and a stranger's address
// refused and counted; a deleted Child SA leaves the table and the old
// table is freed only after every reader's epoch moved twice; the status
// document names SPIs and proposals but never a key; the site's Child SA
// rekey on the IKE SA it began, our outbound moved by its Delete, and one
// overtaken by its next rekey. With `initiate`, the
// service starts the IKE SA itself against an in-process responder (the
// site): published Child SA, retransmissions, timeout and backoff, refusal,
// Delete by the site; the site's Child SA rekey, our outbound moved by its
// Delete, its first packet or the fallback; our own rekey moving it at once
// (docs/ipsec.md § Rekeying); after an HA set-aside and resume the newest
// Child SA seals, a waiting one keeps its deadline, lifetimes and ages run
// on the caller's clock; InitiateSchedule alone.
#include "dataplane/control/ike_service.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <functional>
#include <optional>
#include <nlohmann/json.hpp>

#include "dataplane/control/ike/ike_bytes.h"
#include "dataplane/control/ike/responder_config.h"
#include "dataplane/ipsec/esp_owner.h"
#include "dataplane/ipsec/esp_input.h"
#include "dataplane/ipsec/esp_output.h"
#include "tests/unit/eal_env.h"
#include "tests/unit/pkt_builder.h"
#include "tests/unit/ike_service_test_config.h"
#include "tests/unit/ike_test_initiator.h"

namespace wp::ike {
namespace {

constexpr Ipv4 kSiteAddr = 0x0a4e0001, kHeadendAddr = 0x0a4e0002;  // kSite, kHeadend

uint32_t spi_of(const Bytes& b) { return uint32_t(b[0]) << 24 | uint32_t(b[1]) << 16 | uint32_t(b[2]) << 8 | b[3]; }

waypoint::config::Config service_config() {
  waypoint::config::Config cfg;
  cfg.add_tenants()->set_name("corp");
  cfg.add_tenants()->set_name("branch");
  add_site1(cfg, "branch");
  cfg.mutable_tunnels(0)->set_mtu(1380);
  return cfg;
}

struct IkeServiceTest : ::testing::Test {
  std::vector<std::string> logs;
  std::atomic<const EspSaTable*> table{nullptr};
  std::atomic<uint64_t> epoch{0};  // one reader (a worker)
  IkeService svc{service_config(), table, {&epoch}, [this](const std::string& l) { logs.push_back(l); }};
  TestInitiator i;

  Bytes send(const Bytes& d, uint16_t port = kIkePort, Ipv4 from = kSiteAddr) {
    return svc.input(d, from, port, kHeadendAddr, port);
  }
  Bytes send4500(const Bytes& d) {
    Bytes marked(4, 0);
    marked.insert(marked.end(), d.begin(), d.end());
    Bytes reply = send(marked, kIkeNattPort);
    EXPECT_GE(reply.size(), 4u);
    EXPECT_EQ(Bytes(reply.begin(), reply.begin() + 4), Bytes(4, 0));  // the non-ESP marker
    return Bytes(reply.begin() + 4, reply.end());
  }
  void init() {
    IkeSuite s;
    ASSERT_TRUE(ike_suite_by_name("aes256-sha256-modp2048", s));
    ASSERT_TRUE(i.accept(send(i.sa_init({ike_proposal(1, s)}, kDhModp2048))));
  }
  nlohmann::json status() const { return nlohmann::json::parse(svc.status_json()); }
  uint64_t refused(const char* why) const { return status()["refused"][why].get<uint64_t>(); }
  // The site's CREATE_CHILD_SA rekeying the Child SA it receives on `old`
  // (our outbound SPI), with `spi` its inbound SPI of the new one; our
  // inbound SPI of the new one from the answer, 0 when refused.
  uint32_t site_rekeys(uint32_t old, uint32_t spi) {
    Proposal esp{1, Protocol::esp, spi_bytes(spi), {{TransformType::encr, kEncrAesCbc, 256}}};
    esp.transforms.push_back({TransformType::integ, kIntegHmacSha256_128, 0});
    esp.transforms.push_back({TransformType::esn, kEsnYes, 0});
    const std::vector<Payload> req{
        {PayloadType::notify, false, NotifyPayload{Protocol::esp, spi_bytes(old), kNotifyRekeySa, {}}},
        {PayloadType::sa, false, SaPayload{{esp}}},
        {PayloadType::nonce, false, NoncePayload{Bytes(32, 0x77)}},
        {PayloadType::tsi, false, TsPayload{{ts({10, 50, 0, 0}, {10, 50, 0, 255})}}},
        {PayloadType::tsr, false, TsPayload{{ts({10, 60, 0, 0}, {10, 60, 0, 255})}}}};
    const auto out = i.open(send(i.request(Exchange::create_child_sa, req, i.next_id++)));
    const auto* sa = find<SaPayload>(out, PayloadType::sa);
    return sa ? spi_of(sa->proposals.at(0).spi) : 0;
  }
  // The site's Delete of the Child SA it receives on `spi` (our outbound SPI).
  void site_deletes(uint32_t spi) {
    const DeletePayload del{Protocol::esp, 4, {spi_bytes(spi)}};
    i.open(send(i.request(Exchange::informational, {{PayloadType::del, false, del}}, i.next_id++)));
  }
  uint64_t switched() const {
    return svc.counter(IkeServiceCounter::rekey_switch_first_packet) +
           svc.counter(IkeServiceCounter::rekey_switch_delete) + svc.counter(IkeServiceCounter::rekey_switch_old_gone) +
           svc.counter(IkeServiceCounter::rekey_switch_fallback);
  }
};

TEST_F(IkeServiceTest, StartsWithAnEmptyTableHoldingTheTunnel) {
  const EspSaTable* t = table.load();
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->outbound(0), nullptr);
  EXPECT_EQ(t->tunnel(0)->mtu, 1380);
  EXPECT_EQ(t->tunnel(0)->tenant, 1);  // "branch"
  EXPECT_TRUE(status()["ike_sas"].empty());
}

TEST_F(IkeServiceTest, PskExchangeOnPort4500PublishesTheChildSa) {
  init();  // port 500, then the move to 4500 (RFC 7296 § 2.23) as strongSwan does
  const auto out = i.open(send4500(i.auth(kPsk)));
  ASSERT_NE(find<AuthPayload>(out, PayloadType::auth), nullptr);
  const auto* sa = find<SaPayload>(out, PayloadType::sa);
  ASSERT_NE(sa, nullptr);
  const Bytes& s = sa->proposals.at(0).spi;
  const uint32_t ours = uint32_t(s[0]) << 24 | uint32_t(s[1]) << 16 | uint32_t(s[2]) << 8 | s[3];
  EXPECT_EQ(class_of_spi(ours), 0u);  // tunnel 0's class

  const EspSaTable* t = table.load();
  ASSERT_NE(t, nullptr);
  const EspSa* in = t->inbound(ours);
  ASSERT_NE(in, nullptr);
  EXPECT_EQ(in->peer, kSiteAddr);
  EXPECT_EQ(in->local, kHeadendAddr);
  EXPECT_EQ(in->tunnel, 0);
  const EspSa* o = t->outbound(0);
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(o->spi, 0xc0ffee01u);
  // No NAT_DETECTION from this initiator (no NAT-T), IKE_SA_INIT on 500: the
  // move to 4500 alone does not encapsulate ESP (RFC 7296 § 2.23).
  EXPECT_FALSE(o->udp_encap);
  EXPECT_FALSE(in->udp_encap);
  EXPECT_EQ(t->tunnel(0)->tenant, 1);

  const nlohmann::json st = status();
  ASSERT_EQ(st["ike_sas"].size(), 1u);
  EXPECT_EQ(st["ike_sas"][0]["state"], "ESTABLISHED");
  EXPECT_EQ(st["ike_sas"][0]["peer"], "site1");
  EXPECT_EQ(st["ike_sas"][0]["proposal"], "aes256-sha256-modp2048");
  // No NAT between us: the IKE SA keeps IKE_SA_INIT's address (RFC 7296 § 2.23), on the port it
  // floated to (our own requests go there, from our 4500).
  EXPECT_EQ(st["ike_sas"][0]["remote"], "10.78.0.1:4500");
  EXPECT_EQ(st["child_sas"][0]["encap"], "none");
  ASSERT_EQ(st["child_sas"].size(), 1u);
  char want[9];
  std::snprintf(want, sizeof want, "%08x", ours);
  EXPECT_EQ(st["child_sas"][0]["spi_in"], want);
  EXPECT_EQ(st["child_sas"][0]["spi_out"], "c0ffee01");
  EXPECT_EQ(st["child_sas"][0]["state"], "INSTALLED");
  EXPECT_EQ(st["child_sas"][0]["proposal"], "aes256-sha256-esn");
  EXPECT_EQ(st["child_sas"][0]["tunnel"], "ipsec0");
  EXPECT_EQ(st["child_sas"][0]["lifetime_s"], 3600);
  EXPECT_EQ(st["child_sas"][0]["sealing"], true);
  EXPECT_EQ(st["child_sas"][0]["remote_ts"][0], "10.50.0.0-10.50.0.255");
  EXPECT_EQ(st["counters"]["datagrams"], 2);
  EXPECT_EQ(st["counters"]["replies"], 2);
  // Never a key or the PSK: not the PSK's text, not one key's hex.
  const std::string text = svc.status_json();
  EXPECT_EQ(text.find(kPsk), std::string::npos);
  const ChildSa& c = svc.responder().sas().begin()->second->children.begin()->second;
  std::string key_hex;
  for (size_t k = 0; k < 8; ++k) {
    char b[3];
    std::snprintf(b, sizeof b, "%02x", c.enc_in[k]);
    key_hex += b;
  }
  EXPECT_EQ(text.find(key_hex), std::string::npos);
}

// ESP in UDP 4500 or IP protocol 50 (docs/ipsec.md § Encapsulation): UDP
// iff a NAT is on the path (either end's NAT_DETECTION hash, RFC 7296
// § 2.23) or the initiator began the IKE SA on 4500; else plain ESP.
struct IkeServiceEncapTest : IkeServiceTest {
  // IKE_SA_INIT on `init_port` (with `natd`, the initiator's two hashes of
  // `as_seen` and our address), IKE_AUTH on 4500; the published outbound SA.
  const EspSa* establish(uint16_t init_port, bool natd, Endpoint site_src = kSite) {
    if (natd)
      i.init_extra = {make_notify(kNotifyNatSourceIp, nat_hash(i.spi_i, 0, site_src)),
                      make_notify(kNotifyNatDestinationIp, nat_hash(i.spi_i, 0, {kHeadend.addr, init_port}))};
    IkeSuite s;
    EXPECT_TRUE(ike_suite_by_name("aes256-sha256-modp2048", s));
    const Bytes init = i.sa_init({ike_proposal(1, s)}, kDhModp2048);
    EXPECT_TRUE(i.accept(init_port == kIkePort ? send(init) : send4500(init)));
    EXPECT_NE(find<AuthPayload>(i.open(send4500(i.auth(kPsk))), PayloadType::auth), nullptr);
    const EspSaTable* t = table.load();
    return t ? t->outbound(0) : nullptr;
  }
};

// The site floated to 4500 at IKE_AUTH: our own request on its SA (here our DPD, 30 s of
// silence) leaves from 4500 with the non-ESP marker to its 4500, where it answers from.
TEST_F(IkeServiceTest, OurRequestsFollowTheSiteToPort4500) {
  init();
  ASSERT_NE(find<AuthPayload>(i.open(send4500(i.auth(kPsk))), PayloadType::auth), nullptr);
  svc.poll(std::chrono::steady_clock::now() + std::chrono::seconds(31));
  const auto out = svc.take_outgoing();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].sport, kIkeNattPort);
  EXPECT_EQ(out[0].dport, kIkeNattPort);
  ASSERT_GT(out[0].payload.size(), 4u);
  EXPECT_EQ(Bytes(out[0].payload.begin(), out[0].payload.begin() + 4), Bytes(4, 0));
  Header h;
  EXPECT_TRUE(i.open_request(Bytes(out[0].payload.begin() + 4, out[0].payload.end()), h).empty());
  EXPECT_EQ(h.exchange, Exchange::informational);
}

TEST_F(IkeServiceEncapTest, NoNatOnThePathIsPlainEsp) {
  const EspSa* o = establish(kIkePort, true);
  ASSERT_NE(o, nullptr);
  EXPECT_FALSE(o->udp_encap);
  const uint32_t ours = svc.responder().sas().begin()->second->children.begin()->first;
  ASSERT_NE(table.load()->inbound(ours), nullptr);
  EXPECT_FALSE(table.load()->inbound(ours)->udp_encap);
  const nlohmann::json st = status();
  EXPECT_EQ(st["ike_sas"][0]["nat_detected"], false);
  EXPECT_EQ(st["child_sas"][0]["encap"], "none");
}

TEST_F(IkeServiceEncapTest, AFakedSourceHashAsStrongSwansEncapYesIsUdp) {
  // strongSwan with encap=yes (or kernel-libipsec) sends a random source hash.
  const EspSa* o = establish(kIkePort, true, Endpoint{{203, 0, 113, 99}, 1234});
  ASSERT_NE(o, nullptr);
  EXPECT_TRUE(o->udp_encap);
  EXPECT_EQ(o->peer_port, kIkeNattPort);  // where IKE_AUTH came from (4500)
  const nlohmann::json st = status();
  EXPECT_EQ(st["ike_sas"][0]["nat_detected"], true);
  EXPECT_EQ(st["child_sas"][0]["encap"], "udp");
}

TEST_F(IkeServiceEncapTest, ANatInFrontOfUsIsUdp) {
  // Our address as the initiator saw it is not ours: a NAT in front of the headend.
  i.init_extra = {make_notify(kNotifyNatSourceIp, nat_hash(i.spi_i, 0, kSite)),
                  make_notify(kNotifyNatDestinationIp, nat_hash(i.spi_i, 0, {{198, 51, 100, 2}, 500}))};
  IkeSuite s;
  ASSERT_TRUE(ike_suite_by_name("aes256-sha256-modp2048", s));
  ASSERT_TRUE(i.accept(send(i.sa_init({ike_proposal(1, s)}, kDhModp2048))));
  i.open(send4500(i.auth(kPsk)));
  ASSERT_NE(table.load()->outbound(0), nullptr);
  EXPECT_TRUE(table.load()->outbound(0)->udp_encap);
}

TEST_F(IkeServiceEncapTest, IkeBegunOnPort4500IsUdpWithoutNat) {
  const EspSa* o = establish(kIkeNattPort, false);
  ASSERT_NE(o, nullptr);
  EXPECT_TRUE(o->udp_encap);
  EXPECT_EQ(status()["child_sas"][0]["encap"], "udp");
}

TEST_F(IkeServiceTest, DeletedChildSaLeavesTheTableAfterTheReadersMoved) {
  init();
  i.open(send(i.auth(kPsk)));
  const EspSaTable* with_sa = table.load();
  ASSERT_NE(with_sa->outbound(0), nullptr);
  const DeletePayload del{Protocol::esp, 4, {{0xc0, 0xff, 0xee, 0x01}}};
  i.open(send(i.request(Exchange::informational, {{PayloadType::del, false, del}}, i.next_id++)));
  const EspSaTable* now = table.load();
  EXPECT_NE(now, with_sa);
  EXPECT_EQ(now->outbound(0), nullptr);
  EXPECT_EQ(status()["child_sas"].size(), 0u);
  // The table the worker may still read stays until its epoch moved twice.
  const size_t held = svc.retired_tables();
  EXPECT_GE(held, 1u);
  epoch += 1;
  svc.poll(std::chrono::steady_clock::now());
  EXPECT_EQ(svc.retired_tables(), held);
  epoch += 1;
  svc.poll(std::chrono::steady_clock::now());
  EXPECT_EQ(svc.retired_tables(), 0u);
}

// The site rekeys the Child SA of the IKE SA it began (we answer as the
// responder of both): the new inbound SA is in the table when our answer
// leaves, our outbound stays on the old SA (RFC 7296 § 2.8) until the site's
// Delete of it, and the old inbound SA keeps opening a while after that.
TEST_F(IkeServiceTest, TheSitesChildRekeyMovesOurOutboundAtItsDeleteOfTheOldSa) {
  init();
  const auto out = i.open(send(i.auth(kPsk)));
  const auto* auth = find<SaPayload>(out, PayloadType::sa);
  ASSERT_NE(auth, nullptr);
  const uint32_t old_in = spi_of(auth->proposals.at(0).spi);
  const uint32_t new_in = site_rekeys(0xc0ffee01, 0xc0ffee02);
  ASSERT_NE(new_in, 0u);
  ASSERT_NE(table.load()->inbound(new_in), nullptr);  // before the answer reaches the site
  EXPECT_EQ(table.load()->outbound(0)->spi, 0xc0ffee01u);
  nlohmann::json st = status();
  EXPECT_EQ(st["tunnels"][0]["outbound_spi"], "c0ffee01");
  EXPECT_EQ(st["tunnels"][0]["outbound_pending_spi"], "c0ffee02");
  EXPECT_EQ(st["counters"]["rekey_switch_deferred"], 1);
  EXPECT_EQ(st["rekey"]["peer_child_rekeys"], 1);
  EXPECT_TRUE(svc.responder().sas().begin()->second->children.at(new_in).seal_deferred);

  site_deletes(0xc0ffee01);
  EXPECT_EQ(table.load()->outbound(0)->spi, 0xc0ffee02u);
  EXPECT_NE(table.load()->inbound(old_in), nullptr);  // kRekeyedInboundGrace
  st = status();
  EXPECT_EQ(st["tunnels"][0]["outbound_spi"], "c0ffee02");
  EXPECT_EQ(st["tunnels"][0]["outbound_pending_spi"], "");
  EXPECT_EQ(st["counters"]["rekey_switch_delete"], 1);
  EXPECT_EQ(switched(), 1u);
  ASSERT_EQ(svc.responder().sas().begin()->second->children.size(), 1u);
  EXPECT_FALSE(svc.responder().sas().begin()->second->children.at(new_in).seal_deferred);
}

// The site rekeys again before it used the first new SA: the second new SA
// waits in the first one's place, and the first one is told it waits no
// more (installed again by an HA resume, it would wait beside the SA it
// replaced). Neither is a switch of ours.
TEST_F(IkeServiceTest, ASitesRekeyOvertakenByItsNextNoLongerWaits) {
  init();
  i.open(send(i.auth(kPsk)));
  const uint32_t first = site_rekeys(0xc0ffee01, 0xc0ffee02);
  const uint32_t second = site_rekeys(0xc0ffee02, 0xc0ffee03);
  ASSERT_NE(first, 0u);
  ASSERT_NE(second, 0u);
  EXPECT_EQ(table.load()->outbound(0)->spi, 0xc0ffee01u);
  EXPECT_EQ(status()["tunnels"][0]["outbound_pending_spi"], "c0ffee03");
  const auto& children = svc.responder().sas().begin()->second->children;
  ASSERT_EQ(children.size(), 3u);
  EXPECT_FALSE(children.at(first).seal_deferred);
  EXPECT_TRUE(children.at(second).seal_deferred);
  EXPECT_EQ(svc.counter(IkeServiceCounter::rekey_switch_deferred), 2u);
  EXPECT_EQ(switched(), 0u);
}

// Our IKE SA set aside and resumed (HA) with two Child SAs the site still
// has: our lifetimes rekey the newest (the site's rekey of the other), not
// the one installed last, although both were installed again together.
TEST_F(IkeServiceTest, AfterAnHaResumeOurLifetimesRekeyTheNewestChildSa) {
  IkeHaChannel channel;
  EspSeqMarks marks;
  IkeService::HaAddress headend = IkeService::HaAddress::own;
  svc.set_ha(&channel, 1, &marks, [&headend](const IpAddress&) { return headend; });
  init();
  const auto out = i.open(send(i.auth(kPsk)));
  ASSERT_NE(find<SaPayload>(out, PayloadType::sa), nullptr);
  uint32_t old_in = spi_of(find<SaPayload>(out, PayloadType::sa)->proposals.at(0).spi), new_in = 0;
  // Rekeys until the new SA's inbound SPI sorts below the old one's (ours
  // are random); each earlier one switched by the site's Delete.
  for (uint32_t old_out = 0xc0ffee01; old_out < 0xc0ffee01 + 40; ++old_out) {
    new_in = site_rekeys(old_out, old_out + 1);
    ASSERT_NE(new_in, 0u);
    if (new_in < old_in) break;
    site_deletes(old_out);
    old_in = new_in;
  }
  ASSERT_LT(new_in, old_in);
  auto now = std::chrono::steady_clock::now();
  headend = IkeService::HaAddress::not_ours_now;
  svc.poll(now);
  headend = IkeService::HaAddress::own;
  svc.poll(now);
  ASSERT_EQ(svc.counter(IkeServiceCounter::ike_ha_resumed), 1u);
  now += IkeService::kRekeyDeferFallback;
  svc.poll(now);
  ASSERT_EQ(svc.take_outgoing().size(), 0u);
  now += std::chrono::seconds(3500);  // past the soft lifetime (85..95 % of 3600 s) of both
  svc.poll(now);
  const auto req = svc.take_outgoing();
  ASSERT_EQ(req.size(), 1u);
  Header h;
  const auto rekey = i.open_request(req[0].payload, h);
  EXPECT_EQ(h.exchange, Exchange::create_child_sa);
  ASSERT_NE(notify_of(rekey, kNotifyRekeySa), nullptr);
  EXPECT_EQ(spi_of(notify_of(rekey, kNotifyRekeySa)->spi), new_in);
}

TEST_F(IkeServiceTest, WrongPskIsRejectedAndCounted) {
  init();
  const auto out = i.open(send(i.auth("not-the-psk-at-all")));
  EXPECT_NE(notify_of(out, kNotifyAuthenticationFailed), nullptr);
  EXPECT_EQ(refused("authentication_failed"), 1u);
  EXPECT_EQ(table.load()->outbound(0), nullptr);
  EXPECT_TRUE(status()["ike_sas"].empty());
  for (const std::string& l : logs) EXPECT_EQ(l.find("not-the-psk"), std::string::npos);
}

TEST_F(IkeServiceTest, UnknownIdIsRejectedAndCounted) {
  init();
  const auto out = i.open(send(i.auth(kPsk, "intruder.example")));
  EXPECT_NE(notify_of(out, kNotifyAuthenticationFailed), nullptr);
  EXPECT_EQ(refused("unknown_id"), 1u);
  EXPECT_EQ(table.load()->outbound(0), nullptr);
}

TEST_F(IkeServiceTest, NoProposalChosenIsRejectedAndCounted) {
  IkeSuite gcm;  // configured for another router, not for this peer
  ASSERT_TRUE(ike_suite_by_name("aes256gcm16-prfsha256-ecp256", gcm));
  Message m;
  ASSERT_TRUE(parse_message(send(i.sa_init({ike_proposal(1, gcm)}, kDhEcp256)), m).ok());
  EXPECT_NE(m.notify(kNotifyNoProposalChosen), nullptr);
  EXPECT_EQ(refused("no_proposal_chosen"), 1u);
  EXPECT_TRUE(status()["ike_sas"].empty());
}

TEST_F(IkeServiceTest, StrangersKeepalivesAndEspAreNotAnswered) {
  IkeSuite s;
  ASSERT_TRUE(ike_suite_by_name("aes256-sha256-modp2048", s));
  EXPECT_TRUE(send(i.sa_init({ike_proposal(1, s)}, kDhModp2048), kIkePort, 0x0a4e0009).empty());
  EXPECT_TRUE(svc.responder().sas().empty());
  EXPECT_TRUE(send(Bytes{0xff}, kIkeNattPort).empty());
  EXPECT_TRUE(send(Bytes{0, 0, 1, 0, 0, 0, 0, 1, 0xaa, 0xbb}, kIkeNattPort).empty());  // SPI 0x100: ESP
  EXPECT_TRUE(send(Bytes{0, 0, 0, 0, 1, 2}, kIkeNattPort).empty());                    // marker, no header
  svc.poll(std::chrono::steady_clock::now() + std::chrono::seconds(2));  // counts are rendered within a second
  const nlohmann::json c = status()["counters"];
  EXPECT_EQ(c["unknown_peer"], 1);
  EXPECT_EQ(c["keepalives"], 1);
  EXPECT_EQ(c["esp_without_dataplane"], 1);
  EXPECT_EQ(c["malformed"], 1);
  EXPECT_EQ(c["datagrams"], 0);
}

// ipsec_peers[].initiate: the restart schedule (docs/ipsec.md § Initiating).
TEST(InitiateSchedule, AtOnceThenExponentialBackoffCappedAndResetBySuccess) {
  using namespace std::chrono_literals;
  const auto t0 = std::chrono::steady_clock::now();
  InitiateSchedule s(2s, 30s);
  EXPECT_TRUE(s.due(t0));  // the first attempt at startup, without waiting
  s.started();
  EXPECT_FALSE(s.due(t0 + 1h));  // one attempt at a time
  s.ended(t0);                   // no answer: 2 s
  EXPECT_FALSE(s.due(t0 + 1999ms));
  EXPECT_TRUE(s.due(t0 + 2s));
  s.started();
  s.ended(t0 + 2s);  // 4 s
  EXPECT_EQ(s.next(), t0 + 6s);
  s.started();
  s.ended(t0 + 6s);  // 8 s, 16 s, then the 30 s cap
  EXPECT_EQ(s.next(), t0 + 14s);
  s.started();
  s.ended(t0 + 14s);
  s.started();
  s.ended(t0 + 30s);
  EXPECT_EQ(s.next(), t0 + 60s);
  EXPECT_EQ(s.failures(), 5u);
  EXPECT_EQ(s.delay(40), 30s);  // no overflow however long the peer stays away
  s.started();
  s.established();  // up: the SA that goes away later restarts after `base` again
  s.ended(t0 + 1h);
  EXPECT_EQ(s.next(), t0 + 1h + 2s);
  s.postpone(t0 + 2h);  // no route yet
  EXPECT_FALSE(s.due(t0 + 2h + 1s));
  EXPECT_TRUE(s.due(t0 + 2h + 2s));
}

// The site's responder for waypointd as initiator: our peer "headend".
ResponderConfig site_config() {
  EspSuite esn;
  EXPECT_TRUE(esp_suite_by_name("aes256-sha256-esn", esn));
  return site_responder_config(esn);
}

waypoint::config::Config initiating_config() {
  waypoint::config::Config cfg = service_config();
  cfg.mutable_ipsec_peers(0)->set_initiate(true);
  return cfg;
}

struct IkeServiceInitiatorTest : ::testing::Test {
  std::vector<std::string> logs;
  std::atomic<const EspSaTable*> table{nullptr};
  std::atomic<uint64_t> epoch{0};
  IkeService svc{initiating_config(), table, {&epoch}, [this](const std::string& l) { logs.push_back(l); }};
  std::unique_ptr<Responder> site = std::make_unique<Responder>(site_config());
  std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now();
  Ipv4 source = kHeadendAddr;

  IkeServiceInitiatorTest() {
    svc.set_source([this](const IpAddress& peer) { return peer == kSiteAddr ? source : 0; });
  }
  // One poll; what it queued.
  std::vector<IkeDatagram> poll() {
    svc.poll(now);
    return svc.take_outgoing();
  }
  // The site answers `d`, waypointd answers that or queues its next
  // request, ... until nobody sends; every datagram waypointd sent lands in
  // `sent` (port 4500 ones with their non-ESP marker, checked and stripped
  // before the site sees them). `site_answer` may rewrite the site's answers.
  std::vector<IkeDatagram> sent;
  std::function<Bytes(Bytes)> site_answer = [](Bytes b) { return b; };
  std::optional<Endpoint> site_sees_us;  // set: a NAT in front of us, as the site sees it
  std::optional<Bytes> site_private;     // set: a NAT in front of the site, its own address
  uint16_t site_nat_port = 0;            // set: that NAT maps the site's 4500 to this port
  void exchange(const IkeDatagram& first) {
    EXPECT_EQ(first.src, kHeadendAddr);
    EXPECT_EQ(first.dst, kSiteAddr);
    EXPECT_EQ(first.sport, kIkePort);
    EXPECT_EQ(first.dport, kIkePort);
    exchange_from(first);
  }
  void exchange_from(const IkeDatagram& first) {
    std::vector<IkeDatagram> q{first};
    for (int n = 0; n < 8 && !q.empty(); ++n) {
      const IkeDatagram d = q.front();
      q.erase(q.begin());
      sent.push_back(d);
      EXPECT_EQ(d.sport, d.dport);
      Bytes msg = d.payload;
      if (d.dport == kIkeNattPort) {
        EXPECT_GE(msg.size(), 4u);
        EXPECT_EQ(Bytes(msg.begin(), msg.begin() + 4), Bytes(4, 0)) << "the non-ESP marker";
        msg.erase(msg.begin(), msg.begin() + 4);
      }
      const Endpoint us = site_sees_us ? *site_sees_us : Endpoint{kHeadend.addr, d.sport};
      Bytes answer = site_answer(site->handle(msg, us, {site_private ? *site_private : kSite.addr, d.dport}));
      if (answer.empty()) continue;
      if (d.dport == kIkeNattPort) answer.insert(answer.begin(), 4, 0);
      const uint16_t from = d.dport == kIkeNattPort && site_nat_port ? site_nat_port : d.dport;
      const Bytes r = svc.input(answer, kSiteAddr, from, kHeadendAddr, d.sport);
      if (!r.empty()) q.push_back({kHeadendAddr, kSiteAddr, d.sport, d.dport, r});  // back where it came from
      for (IkeDatagram& o : svc.take_outgoing()) q.push_back(std::move(o));
    }
  }
  nlohmann::json status() const { return nlohmann::json::parse(svc.status_json()); }
  uint64_t counter(IkeServiceCounter c) const { return svc.counter(c); }
  static Bytes marked(Bytes b) {  // the non-ESP marker: IKE on 4500
    b.insert(b.begin(), 4, 0);
    return b;
  }
  static std::string hex8(uint32_t v) {
    char b[9];
    std::snprintf(b, sizeof b, "%08x", v);
    return b;
  }
  // The site's request on 4500 in, our answer out (marker stripped).
  Bytes to_us(const Bytes& req) {
    Bytes r = svc.input(marked(req), kSiteAddr, kIkeNattPort, kHeadendAddr, kIkeNattPort, now);
    EXPECT_GE(r.size(), 4u);
    if (r.size() >= 4) r.erase(r.begin(), r.begin() + 4);
    return r;
  }
  // Established, then `after` later the site rekeys the Child SA; our
  // answer not yet read by the site.
  struct SiteRekey {
    Bytes answer;
    uint32_t old_in = 0, old_out = 0, new_in = 0, new_out = 0;
  };
  SiteRekey site_rekeys(std::chrono::seconds after = std::chrono::seconds(0)) {
    exchange(poll().at(0));
    now += after;
    return site_rekeys_again();
  }
  // The site rekeys the newest Child SA of the IKE SA it holds.
  SiteRekey site_rekeys_again() {
    SiteRekey r;
    if (!svc.initiator(0) || svc.initiator(0)->state() != InitiatorState::established) return r;
    r.old_in = svc.initiator(0)->child()->spi_in;
    r.old_out = svc.initiator(0)->child()->spi_out;
    const uint64_t spi_r = site->sas().begin()->first;
    r.answer = to_us(site->rekey_child(spi_r, r.old_out, now));  // the site's inbound SPI is our outbound
    r.new_in = svc.initiator(0)->child()->spi_in;
    r.new_out = svc.initiator(0)->child()->spi_out;
    EXPECT_NE(r.new_in, r.old_in);
    return r;
  }
  // The site seals a packet on its Child SA toward our `spi_in` (its own
  // SA table from its keys) and `worker` opens it on the published table.
  bool site_seals_to(uint32_t spi_in, EspWorkerState& worker) {
    const ChildSa* theirs = nullptr;
    for (const auto& [spi, c] : site->sas().begin()->second->children)
      if (c.spi_out == spi_in) theirs = &c;
    const EspSa* ours = table.load()->inbound(spi_in);
    if (!theirs || !ours) return false;
    TunnelEndpoint ep{0, kSiteAddr, kHeadendAddr, ours->peer_port, ours->local_port, ours->udp_encap};
    EspSaBook site_book;
    std::string error;
    CryptoEngine eng;
    IvSource ivs{eng};
    if (!site_book.add(eng, *theirs, ep, error)) return false;
    const auto site_table = site_book.build();
    EspWorkerState site_worker;
    rte_mbuf* m = test::Pkt().ipv4("10.50.0.7", "10.60.0.9").udp(1234, 80).payload("hi").mbuf(test::test_pool());
    rte_pktmbuf_adj(m, 14);
    const uint16_t t = 0;
    EspResult res;
    esp_output_burst(eng, ivs, *site_table, site_worker, &m, &t, 1, &res);
    if (res.ok) esp_input_burst(eng, *table.load(), worker, &m, 1, &res);
    rte_pktmbuf_free(m);
    return res.ok;
  }
  // The site's rekeys of its newest Child SA, each switched by the site's
  // Delete of the old one, until the new SA's inbound SPI sorts below the
  // old one's (ours are random): installed again by SPI, the old one would
  // come last. The site read our answer to that last rekey; its Delete of
  // the old SA is not sent, our outbound waits.
  SiteRekey site_rekeys_to_a_lower_spi() {
    SiteRekey r;
    for (int n = 0; n < 40; ++n) {
      r = site_rekeys_again();
      if (r.answer.empty()) break;
      const Bytes del = site->handle(r.answer, {kHeadend.addr, kIkeNattPort}, {kSite.addr, kIkeNattPort}, now);
      if (r.new_in < r.old_in) return r;
      site->handle(to_us(del), {kHeadend.addr, kIkeNattPort}, {kSite.addr, kIkeNattPort}, now);
    }
    ADD_FAILURE() << "no rekey of the site's gave a lower inbound SPI";
    return r;
  }
  // HA: we answer for our address while `headend` says so.
  IkeHaChannel channel;
  EspSeqMarks marks;
  IkeService::HaAddress headend = IkeService::HaAddress::own;
  void with_ha() {
    svc.set_ha(&channel, 1, &marks, [this](const IpAddress&) { return headend; });
  }
  // Our IKE SA set aside (we gave our address up), `away` later resumed from
  // the copy kept here.
  void set_aside_and_resume(std::chrono::seconds away = std::chrono::seconds(0)) {
    headend = IkeService::HaAddress::not_ours_now;
    poll();
    ASSERT_EQ(table.load()->outbound(0), nullptr);
    now += away;
    headend = IkeService::HaAddress::own;
    poll();
  }
};

TEST_F(IkeServiceInitiatorTest, StartsAtOnceAndPublishesTheChildSa) {
  const auto out = poll();
  ASSERT_EQ(out.size(), 1u);  // IKE_SA_INIT at the first poll, not waiting for the site
  EXPECT_EQ(counter(IkeServiceCounter::initiations), 1u);
  exchange(out[0]);
  ASSERT_NE(svc.initiator(0), nullptr);
  EXPECT_EQ(svc.initiator(0)->state(), InitiatorState::established);
  // The site's IKE_AUTH answer ended our exchange: taken, not "unanswered";
  // a datagram matching no SA of ours is not.
  EXPECT_TRUE(svc.consumed());
  EXPECT_TRUE(svc.input(Bytes(40, 0), kSiteAddr, kIkePort, kHeadendAddr, kIkePort).empty());
  EXPECT_FALSE(svc.consumed());
  ASSERT_EQ(site->sas().size(), 1u);
  const IkeSa& theirs = *site->sas().begin()->second;
  ASSERT_EQ(theirs.children.size(), 1u);
  const ChildSa& their_child = theirs.children.begin()->second;

  const EspSaTable* t = table.load();
  const EspSa* o = t->outbound(0);  // tunnel ipsec0 seals with the site's SPI
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(o->spi, their_child.spi_in);
  EXPECT_EQ(o->peer, kSiteAddr);
  EXPECT_EQ(o->local, kHeadendAddr);
  EXPECT_EQ(o->peer_port, kIkeNattPort);
  const EspSa* in = t->inbound(their_child.spi_out);
  ASSERT_NE(in, nullptr);
  EXPECT_EQ(class_of_spi(their_child.spi_out), 0u);  // tunnel 0's class: its owner worker gets it
  EXPECT_EQ(svc.initiator(0)->child()->enc_out, their_child.enc_in);  // § 2.17 both ways

  const nlohmann::json st = status();
  ASSERT_EQ(st["ike_sas"].size(), 1u);
  EXPECT_EQ(st["ike_sas"][0]["role"], "initiator");
  EXPECT_EQ(st["ike_sas"][0]["state"], "ESTABLISHED");
  EXPECT_EQ(st["ike_sas"][0]["peer"], "site1");
  ASSERT_EQ(st["child_sas"].size(), 1u);
  EXPECT_EQ(st["child_sas"][0]["state"], "INSTALLED");
  EXPECT_EQ(st["initiating"][0]["state"], "established");
  EXPECT_EQ(st["counters"]["initiations"], 1);
  EXPECT_TRUE(poll().empty());  // nothing more while it is up
}

// The site rekeys the Child SA of the IKE SA we initiated (docs/ipsec.md
// § Rekeying): the new inbound SA is in the published table when the answer
// leaves (make before break), the old one until the site's Delete of it.
// Our outbound stays on the old SA until the site uses the new one (RFC 7296
// § 2.8): here its Delete of the old SA moves it.
TEST_F(IkeServiceInitiatorTest, ThePeersChildRekeyIsPublishedBeforeTheAnswerLeaves) {
  const SiteRekey r = site_rekeys();
  ASSERT_FALSE(r.answer.empty());
  ASSERT_NE(table.load()->inbound(r.new_in), nullptr);  // before the answer reaches the site
  ASSERT_NE(table.load()->inbound(r.old_in), nullptr);
  EXPECT_EQ(table.load()->outbound(0)->spi, r.old_out);  // until the site has its inbound SA
  nlohmann::json st = status();
  EXPECT_EQ(st["tunnels"][0]["outbound_spi"], hex8(r.old_out));
  EXPECT_EQ(st["tunnels"][0]["outbound_pending_spi"], hex8(r.new_out));
  EXPECT_EQ(st["counters"]["rekey_switch_deferred"], 1);
  const Bytes del = site->handle(r.answer, {kHeadend.addr, kIkeNattPort}, {kSite.addr, kIkeNattPort}, now);
  ASSERT_FALSE(del.empty());
  EXPECT_TRUE(site->handle(to_us(del), {kHeadend.addr, kIkeNattPort}, {kSite.addr, kIkeNattPort}, now).empty());
  EXPECT_EQ(table.load()->outbound(0)->spi, r.new_out);
  EXPECT_EQ(svc.initiator(0)->child_count(), 1u);
  st = status();
  EXPECT_EQ(st["rekey"]["peer_child_rekeys"], 1);
  EXPECT_EQ(st["rekey"]["peer_requests_refused"], 0);
  ASSERT_EQ(st["child_sas"].size(), 1u);
  EXPECT_EQ(st["child_sas"][0]["state"], "INSTALLED");
  EXPECT_EQ(st["counters"]["rekey_switch_delete"], 1);
  EXPECT_EQ(st["counters"]["rekey_switch_old_gone"], 0);  // the site's Delete, not ours
  EXPECT_EQ(st["counters"]["rekey_switch_first_packet"], 0);
  EXPECT_EQ(st["tunnels"][0]["outbound_spi"], hex8(r.new_out));
  EXPECT_EQ(st["tunnels"][0]["outbound_pending_spi"], "");
}

// The site's first ESP packet on the new SA, opened by the worker that owns
// the tunnel: that worker seals on the new SA at once, the control thread
// learns it from the SA's counters at its next poll.
TEST_F(IkeServiceInitiatorTest, ThePeersFirstPacketOnTheNewChildSaMovesOurOutbound) {
  auto tunnel_counters = std::make_unique<EspTunnelCounters[]>(kEspCounterTunnels);
  auto sa_counters = std::make_unique<EspSaCounterSlot[]>(kMaxEspSas);
  svc.set_tunnel_counters(tunnel_counters.get(), 1);
  svc.set_sa_counters(sa_counters.get());
  EspWorkerState worker;
  worker.set_counters(sa_counters.get());
  const SiteRekey r = site_rekeys();
  ASSERT_FALSE(r.answer.empty());
  ASSERT_FALSE(site->handle(r.answer, {kHeadend.addr, kIkeNattPort}, {kSite.addr, kIkeNattPort}, now).empty());
  EXPECT_EQ(worker.sealing(*table.load(), 0)->spi, r.old_out);
  EXPECT_TRUE(site_seals_to(r.new_in, worker));
  EXPECT_EQ(worker.sealing(*table.load(), 0)->spi, r.new_out);  // before the control thread knows
  EXPECT_EQ(table.load()->outbound(0)->spi, r.old_out);
  poll();
  EXPECT_EQ(table.load()->outbound(0)->spi, r.new_out);
  EXPECT_EQ(counter(IkeServiceCounter::rekey_switch_first_packet), 1u);
  EXPECT_EQ(counter(IkeServiceCounter::rekey_switch_delete), 0u);
}

// Neither a packet nor the Delete: the fallback moves it after kRekeyDeferFallback.
TEST_F(IkeServiceInitiatorTest, ThePeersRekeyWithoutPacketOrDeleteMovesAfterTheFallback) {
  const SiteRekey r = site_rekeys();
  ASSERT_FALSE(r.answer.empty());
  now += IkeService::kRekeyDeferFallback - std::chrono::milliseconds(100);
  poll();
  EXPECT_EQ(table.load()->outbound(0)->spi, r.old_out);
  now += std::chrono::milliseconds(100);
  poll();
  EXPECT_EQ(table.load()->outbound(0)->spi, r.new_out);
  EXPECT_EQ(counter(IkeServiceCounter::rekey_switch_fallback), 1u);
  EXPECT_EQ(counter(IkeServiceCounter::rekey_switch_delete) + counter(IkeServiceCounter::rekey_switch_first_packet),
            0u);
}

// The old SA leaves by our own Delete (its hard lifetime: 3600 s, the
// site rekeyed it a second before), not the site's: counted as ours.
TEST_F(IkeServiceInitiatorTest, OurOwnDeleteOfTheOldSaIsNotTheSitesDelete) {
  const SiteRekey r = site_rekeys(std::chrono::seconds(3599));
  ASSERT_FALSE(r.answer.empty());
  EXPECT_EQ(table.load()->outbound(0)->spi, r.old_out);
  now += std::chrono::seconds(2);  // within the fallback
  const auto del = poll();
  ASSERT_EQ(del.size(), 1u);  // our Delete of the old SA
  EXPECT_EQ(svc.rekey_counters()[RekeyCounter::child_sas_expired], 1u);
  EXPECT_EQ(table.load()->outbound(0)->spi, r.old_out);  // until the site answers it
  exchange_from(del[0]);
  EXPECT_EQ(svc.initiator(0)->child_count(), 1u);
  EXPECT_EQ(table.load()->outbound(0)->spi, r.new_out);
  EXPECT_EQ(counter(IkeServiceCounter::rekey_switch_old_gone), 1u);
  EXPECT_EQ(counter(IkeServiceCounter::rekey_switch_delete), 0u);
  EXPECT_EQ(counter(IkeServiceCounter::rekey_switch_fallback) + counter(IkeServiceCounter::rekey_switch_first_packet),
            0u);
}

// A Child SA that waited and then sealed does not wait again when it is
// installed again: our IKE SA set aside (HA: we gave our address up) and
// resumed from that copy brings back the site's two rekeyed Child SAs, both
// past their switch, and the tunnel seals on one at once with nothing pending.
TEST_F(IkeServiceInitiatorTest, ASwitchedChildSaInstalledAgainSealsAtOnce) {
  with_ha();
  const SiteRekey first = site_rekeys();  // switched by the site's Delete of the first SA
  ASSERT_FALSE(first.answer.empty());
  const Bytes del = site->handle(first.answer, {kHeadend.addr, kIkeNattPort}, {kSite.addr, kIkeNattPort}, now);
  site->handle(to_us(del), {kHeadend.addr, kIkeNattPort}, {kSite.addr, kIkeNattPort}, now);
  const SiteRekey second = site_rekeys_again();  // switched by the fallback; its old SA stays
  ASSERT_EQ(second.old_in, first.new_in);
  now += IkeService::kRekeyDeferFallback;
  poll();
  ASSERT_EQ(table.load()->outbound(0)->spi, second.new_out);
  ASSERT_EQ(svc.initiator(0)->child_count(), 2u);
  EXPECT_EQ(counter(IkeServiceCounter::rekey_switch_deferred), 2u);
  EXPECT_EQ(counter(IkeServiceCounter::rekey_switch_fallback), 1u);

  set_aside_and_resume();
  EXPECT_EQ(counter(IkeServiceCounter::ike_ha_set_aside), 1u);
  ASSERT_EQ(counter(IkeServiceCounter::ike_ha_resumed), 1u);
  ASSERT_NE(table.load()->inbound(second.old_in), nullptr);
  ASSERT_NE(table.load()->inbound(second.new_in), nullptr);
  ASSERT_NE(table.load()->outbound(0), nullptr);
  EXPECT_EQ(table.load()->outbound(0)->spi, second.new_out);
  EXPECT_EQ(status()["tunnels"][0]["outbound_pending_spi"], "");
  EXPECT_EQ(counter(IkeServiceCounter::rekey_switch_deferred), 2u);
  now += IkeService::kRekeyDeferFallback;
  poll();
  EXPECT_EQ(counter(IkeServiceCounter::rekey_switch_fallback), 1u);
}

// Resumed with two Child SAs the site still has, the newest one seals: the
// one that replaced the other by rekey (ChildSa::made), not the one with
// the highest inbound SPI.
TEST_F(IkeServiceInitiatorTest, AfterAnHaResumeTheNewestChildSaSeals) {
  with_ha();
  exchange(poll().at(0));
  const SiteRekey r = site_rekeys_to_a_lower_spi();
  ASSERT_LT(r.new_in, r.old_in);
  now += IkeService::kRekeyDeferFallback;
  poll();
  ASSERT_EQ(table.load()->outbound(0)->spi, r.new_out);
  ASSERT_EQ(svc.initiator(0)->child_count(), 2u);

  set_aside_and_resume();
  ASSERT_EQ(counter(IkeServiceCounter::ike_ha_resumed), 1u);
  ASSERT_NE(table.load()->inbound(r.old_in), nullptr);
  ASSERT_NE(table.load()->inbound(r.new_in), nullptr);
  EXPECT_EQ(table.load()->outbound(0)->spi, r.new_out);
  EXPECT_EQ(status()["tunnels"][0]["outbound_pending_spi"], "");
}

// Set aside while the site's rekey waited for its switch: resumed, the old
// SA seals and the new one waits again, until the deadline of its first
// install (kRekeyDeferFallback from then), not a new window from the resume;
// its deferral is not counted twice.
TEST_F(IkeServiceInitiatorTest, APendingChildSaResumedKeepsItsDeadline) {
  with_ha();
  exchange(poll().at(0));
  const SiteRekey r = site_rekeys_to_a_lower_spi();
  ASSERT_LT(r.new_in, r.old_in);
  const uint64_t deferred = counter(IkeServiceCounter::rekey_switch_deferred);
  ASSERT_EQ(table.load()->outbound(0)->spi, r.old_out);
  now += std::chrono::seconds(2);
  set_aside_and_resume();
  ASSERT_EQ(counter(IkeServiceCounter::ike_ha_resumed), 1u);
  EXPECT_EQ(table.load()->outbound(0)->spi, r.old_out);
  EXPECT_EQ(status()["tunnels"][0]["outbound_pending_spi"], hex8(r.new_out));
  EXPECT_EQ(counter(IkeServiceCounter::rekey_switch_deferred), deferred);
  now += IkeService::kRekeyDeferFallback - std::chrono::seconds(2) - std::chrono::milliseconds(100);
  poll();
  EXPECT_EQ(table.load()->outbound(0)->spi, r.old_out);
  now += std::chrono::milliseconds(100);
  poll();
  EXPECT_EQ(table.load()->outbound(0)->spi, r.new_out);
  EXPECT_EQ(counter(IkeServiceCounter::rekey_switch_fallback), 1u);
}

// An IKE SA resumed twenty minutes after it was set aside: its Child SA
// keeps the lifetime that began at its first install, on the caller's
// clock (injected here), rather than a new one from the resume: 1200 s old,
// 2400 s left, and our rekey comes by 95 % of 3600 s from that install.
TEST_F(IkeServiceInitiatorTest, AnHaResumedChildSaKeepsItsLifetime) {
  with_ha();
  exchange(poll().at(0));
  const auto installed = now;
  const uint32_t in = svc.initiator(0)->child()->spi_in;
  set_aside_and_resume(std::chrono::minutes(20));
  ASSERT_EQ(counter(IkeServiceCounter::ike_ha_resumed), 1u);
  ASSERT_NE(table.load()->inbound(in), nullptr);
  EXPECT_TRUE(poll().empty());  // neither our rekey nor our Delete of it
  const nlohmann::json child = status()["child_sas"][0];
  EXPECT_NEAR(child["age_s"].get<int64_t>(), 1200, 1);
  EXPECT_NEAR(child["expires_in_s"].get<int64_t>(), 2400, 1);
  now = installed + std::chrono::seconds(3421);
  EXPECT_EQ(poll().size(), 1u);
  EXPECT_EQ(svc.rekey_counters()[RekeyCounter::child_rekeys_time], 1u);
}

TEST_F(IkeServiceInitiatorTest, RetransmitsTimesOutAndStartsAgainAfterTheBackoff) {
  using namespace std::chrono_literals;
  ASSERT_EQ(poll().size(), 1u);  // lost: the site never answers
  size_t sent = 1;
  for (int n = 0; n < 100 && counter(IkeServiceCounter::initiator_timeouts) == 0; ++n) {
    now += 250ms;
    sent += poll().size();
  }
  EXPECT_EQ(counter(IkeServiceCounter::initiator_timeouts), 1u);
  EXPECT_EQ(counter(IkeServiceCounter::initiator_retransmits), 4u);  // 5 sends: 0.5+1+2+4+8 s
  EXPECT_EQ(sent, 5u);
  EXPECT_EQ(svc.initiator(0), nullptr);
  ASSERT_NE(svc.schedule(0), nullptr);
  EXPECT_EQ(svc.schedule(0)->next(), now + 2s);  // the backoff's first step
  EXPECT_EQ(status()["initiating"][0]["state"], "waiting");
  now += 1s;
  EXPECT_TRUE(poll().empty());
  now += 1s;
  const auto again = poll();
  ASSERT_EQ(again.size(), 1u);  // a fresh IKE_SA_INIT
  EXPECT_EQ(counter(IkeServiceCounter::initiations), 2u);
  exchange(again[0]);  // the site is back
  EXPECT_EQ(svc.initiator(0)->state(), InitiatorState::established);
  EXPECT_NE(table.load()->outbound(0), nullptr);
}

TEST_F(IkeServiceInitiatorTest, RefusedByThePeerCountsAFailureAndLeavesNoSa) {
  ResponderConfig c = site_config();
  c.peers[0].psk = bytes("another-psk-0123456789");
  site = std::make_unique<Responder>(c);
  exchange(poll().at(0));
  EXPECT_EQ(counter(IkeServiceCounter::initiator_failures), 1u);
  EXPECT_EQ(svc.initiator(0), nullptr);
  EXPECT_EQ(table.load()->outbound(0), nullptr);
  EXPECT_TRUE(status()["ike_sas"].empty());
}

TEST_F(IkeServiceInitiatorTest, NoRouteTowardThePeerPostponesTheStart) {
  using namespace std::chrono_literals;
  source = 0;
  EXPECT_TRUE(poll().empty());
  EXPECT_EQ(counter(IkeServiceCounter::initiate_no_route), 1u);
  EXPECT_EQ(counter(IkeServiceCounter::initiations), 0u);
  source = kHeadendAddr;  // the route appeared
  now += 2s;
  EXPECT_EQ(poll().size(), 1u);
  EXPECT_EQ(counter(IkeServiceCounter::initiations), 1u);
}

TEST_F(IkeServiceInitiatorTest, AnswerForNoSaOfOursIsDroppedAndCounted) {
  ASSERT_EQ(poll().size(), 1u);
  Bytes stray(kHeaderLen, 0);
  stray[0] = 0x42;                           // an SPIi we never used
  stray[18] = 34;                            // IKE_SA_INIT
  stray[19] = kFlagResponse;                 // no Initiator flag: an answer to an initiator
  stray[17] = 0x20;                          // version 2.0
  EXPECT_TRUE(svc.input(stray, kSiteAddr, kIkePort, kHeadendAddr, kIkePort).empty());
  EXPECT_EQ(counter(IkeServiceCounter::initiator_unmatched), 1u);
  EXPECT_EQ(counter(IkeServiceCounter::datagrams), 0u);
}

TEST_F(IkeServiceInitiatorTest, DeletedByThePeerStartsAgain) {
  using namespace std::chrono_literals;
  exchange(poll().at(0));
  ASSERT_EQ(svc.initiator(0)->state(), InitiatorState::established);
  // The site deletes the IKE SA (§ 1.4.1): a request on our SA, from the responder.
  const IkeSa& theirs = *site->sas().begin()->second;
  Header h;
  h.spi_i = theirs.spi_i;
  h.spi_r = theirs.spi_r;
  h.exchange = Exchange::informational;
  h.flags = 0;  // a request from the original responder
  h.message_id = 0;
  PayloadType first = PayloadType::none;
  const Bytes plain = encode_payload_chain({{PayloadType::del, false, DeletePayload{Protocol::ike, 0, {}}}}, first);
  const Bytes del = seal_sk(theirs.suite, theirs.keys.sk_er, theirs.keys.sk_ar, h, first, plain,
                            Bytes(theirs.suite.iv_len(), 0x11));
  const auto before = std::chrono::steady_clock::now();  // input() runs on the real clock
  EXPECT_FALSE(svc.input(del, kSiteAddr, kIkePort, kHeadendAddr, kIkePort).empty());  // answered
  const auto after = std::chrono::steady_clock::now();
  EXPECT_EQ(svc.initiator(0), nullptr);
  EXPECT_EQ(counter(IkeServiceCounter::initiator_failures), 1u);
  EXPECT_EQ(table.load()->outbound(0), nullptr);  // its Child SA left the table
  EXPECT_EQ(svc.schedule(0)->failures(), 1u);
  const auto next = svc.schedule(0)->next();  // the backoff's first step
  EXPECT_GE(next, before + 2s);
  EXPECT_LE(next, after + 2s);
  now = next - 1ms;
  EXPECT_TRUE(poll().empty());
  now = next;
  EXPECT_EQ(poll().size(), 1u);  // and it starts over
}

// NAT-T as initiator (RFC 7296 § 2.23): the site answers IKE_SA_INIT with
// NAT_DETECTION payloads, so IKE_AUTH and everything after it leave from
// and to UDP 4500 behind the non-ESP marker.
TEST_F(IkeServiceInitiatorTest, NatTMovesIkeAuthAndLaterExchangesToPort4500) {
  using namespace std::chrono_literals;
  exchange(poll().at(0));
  ASSERT_EQ(svc.initiator(0)->state(), InitiatorState::established);
  ASSERT_EQ(sent.size(), 2u);  // IKE_SA_INIT, IKE_AUTH
  EXPECT_EQ(sent[0].dport, kIkePort);
  EXPECT_EQ(sent[1].sport, kIkeNattPort);
  EXPECT_EQ(sent[1].dport, kIkeNattPort);
  Message auth;
  ASSERT_TRUE(parse_message(CSpan(sent[1].payload).subspan(4), auth).ok());
  EXPECT_EQ(auth.header.exchange, Exchange::ike_auth);
  EXPECT_EQ(counter(IkeServiceCounter::initiator_nat_t), 1u);
  EXPECT_EQ(counter(IkeServiceCounter::initiator_nat_detected), 0u);  // same addresses both ways
  // No NAT: IKE on 4500 by our choice, ESP in IP protocol 50 both ways.
  EXPECT_FALSE(table.load()->outbound(0)->udp_encap);
  EXPECT_FALSE(site->sas().begin()->second->udp_encap);
  const nlohmann::json st = status();
  EXPECT_EQ(st["ike_sas"][0]["remote"], "10.78.0.1:4500");
  EXPECT_EQ(st["ike_sas"][0]["local"], "10.78.0.2:4500");
  EXPECT_EQ(st["ike_sas"][0]["nat_detected"], false);
  EXPECT_EQ(st["child_sas"][0]["encap"], "none");
  EXPECT_EQ(st["counters"]["initiator_nat_t"], 1);
  // Our liveness check (DPD) after 30 s of silence: on 4500 too, and answered there.
  now += 31s;
  const auto dpd = poll();
  ASSERT_EQ(dpd.size(), 1u);  // no NAT: no keepalive
  EXPECT_EQ(counter(IkeServiceCounter::initiator_keepalives), 0u);
  EXPECT_EQ(dpd[0].sport, kIkeNattPort);
  EXPECT_EQ(dpd[0].dport, kIkeNattPort);
  EXPECT_EQ(Bytes(dpd[0].payload.begin(), dpd[0].payload.begin() + 4), Bytes(4, 0));
  sent.clear();
  exchange_from(dpd[0]);
  EXPECT_FALSE(svc.initiator(0)->request_outstanding());  // the site's answer on 4500 reached it
  EXPECT_EQ(svc.initiator(0)->counters().liveness_answered, 1u);
}

// RFC 7296 § 2.23: a NAT in front of the site (not of us) gives it a new
// port; the site's authenticated answer from there moves our IKE requests
// and the Child SA's ESP in UDP to it (same SA, same generations).
TEST_F(IkeServiceInitiatorTest, FollowsTheSitesNatToANewPort) {
  using namespace std::chrono_literals;
  site_private = Bytes{172, 31, 0, 2};  // the site hashes its own address: a NAT in front of it
  exchange(poll().at(0));
  ASSERT_EQ(svc.initiator(0)->state(), InitiatorState::established);
  ASSERT_TRUE(svc.initiator(0)->nat_remote());
  ASSERT_FALSE(svc.initiator(0)->nat_local());
  ASSERT_TRUE(table.load()->outbound(0)->udp_encap);
  EXPECT_EQ(table.load()->outbound(0)->peer_port, kIkeNattPort);
  const uint32_t gen = table.load()->outbound(0)->generation;
  EXPECT_EQ(counter(IkeServiceCounter::initiator_peer_moved), 0u);
  // The NAT now maps the site's 4500 to 31337; our DPD still goes to 4500, the answer comes from 31337.
  site_nat_port = 31337;
  now += 31s;
  const auto dpd = poll();
  ASSERT_EQ(dpd.size(), 1u);
  EXPECT_EQ(dpd[0].dport, kIkeNattPort);
  exchange_from(dpd[0]);
  EXPECT_EQ(svc.initiator(0)->counters().liveness_answered, 1u);
  EXPECT_EQ(counter(IkeServiceCounter::initiator_peer_moved), 1u);
  EXPECT_EQ(status()["ike_sas"][0]["remote"], "10.78.0.1:31337");
  EXPECT_EQ(status()["counters"]["initiator_peer_moved"], 1);
  EXPECT_EQ(table.load()->outbound(0)->peer_port, 31337);
  EXPECT_EQ(table.load()->outbound(0)->generation, gen);  // the same SA goes on
  // Our next request goes to the new port.
  now += 31s;
  const auto next = poll();
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].sport, kIkeNattPort);
  EXPECT_EQ(next[0].dport, 31337);
}

TEST_F(IkeServiceInitiatorTest, NatOnThePathIsDetectedAndCounted) {
  site_sees_us = Endpoint{{192, 0, 2, 7}, 61000};  // a NAT in front of us rewrites address and port
  exchange(poll().at(0));
  ASSERT_EQ(svc.initiator(0)->state(), InitiatorState::established);
  EXPECT_TRUE(svc.initiator(0)->nat_local());
  EXPECT_EQ(counter(IkeServiceCounter::initiator_nat_t), 1u);
  EXPECT_EQ(counter(IkeServiceCounter::initiator_nat_detected), 1u);
  EXPECT_EQ(status()["ike_sas"][0]["nat_detected"], true);
  // ESP in UDP 4500 at both ends (the site saw our source hash mismatch too).
  EXPECT_TRUE(table.load()->outbound(0)->udp_encap);
  EXPECT_EQ(table.load()->outbound(0)->peer_port, kIkeNattPort);
  EXPECT_TRUE(site->sas().begin()->second->udp_encap);
  EXPECT_EQ(status()["child_sas"][0]["encap"], "udp");
  // Behind that NAT: a keepalive every 20 s (RFC 3948 § 2.3), 0xff on 4500, no marker.
  using namespace std::chrono_literals;
  now += 19s;
  EXPECT_TRUE(poll().empty());
  now += 1s;
  const auto ka = poll();
  ASSERT_EQ(ka.size(), 1u);
  EXPECT_EQ(ka[0].sport, kIkeNattPort);
  EXPECT_EQ(ka[0].dport, kIkeNattPort);
  EXPECT_EQ(ka[0].dst, kSiteAddr);
  EXPECT_EQ(ka[0].payload, Bytes{0xff});
  EXPECT_EQ(counter(IkeServiceCounter::initiator_keepalives), 1u);
}

TEST_F(IkeServiceInitiatorTest, PeerWithoutNatDetectionKeepsIkeOnPort500) {
  // A responder without NAT-T: its IKE_SA_INIT answer has no NAT_DETECTION
  // payloads (removed here; the exchange then fails on the site's AUTH,
  // which covers the answer as it sent it, but IKE_AUTH has left by then).
  site_answer = [](Bytes b) {
    Message m;
    if (!parse_message(b, m).ok() || m.header.exchange != Exchange::ike_sa_init) return b;
    std::erase_if(m.payloads, [](const Payload& p) {
      const auto* n = std::get_if<NotifyPayload>(&p.body);
      return n && (n->type == kNotifyNatSourceIp || n->type == kNotifyNatDestinationIp);
    });
    return encode_message(m);
  };
  exchange(poll().at(0));
  ASSERT_GE(sent.size(), 2u);
  EXPECT_EQ(sent[1].sport, kIkePort);
  EXPECT_EQ(sent[1].dport, kIkePort);
  Message auth;
  ASSERT_TRUE(parse_message(sent[1].payload, auth).ok());  // no marker
  EXPECT_EQ(auth.header.exchange, Exchange::ike_auth);
  EXPECT_EQ(counter(IkeServiceCounter::initiator_nat_t), 0u);
}

}  // namespace
}  // namespace wp::ike
