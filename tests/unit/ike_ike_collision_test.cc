// Simultaneous IKE SA rekeys on an IKE SA the site began (RFC 7296 § 2.8.1,
// § 2.8.2; dataplane/control/ike/ike_responder_ike_collision.cc): our
// Responder::rekey_sa and the site's CREATE_CHILD_SA rekeying the same IKE
// SA cross. The site is built from the primitives (TestInitiator) and
// follows the RFC by hand; every key of both new IKE SAs is computed here
// independently (§ 2.18). Cases: the site's request before our answer
// (both new SAs made) with our nonce lowest (we delete ours, the Child SA
// stays on the site's) and with the site's lowest (the Child SA moves to
// ours, we delete the old SA); the site deleting its redundant SA before our
// answer arrives; our answer before the site's request (we finished first:
// TEMPORARY_FAILURE, § 2.8.2); the site answering ours TEMPORARY_FAILURE
// (it did not notice). Each time: the redundant SA gone, the Child SA
// unchanged (same SPIs and keys) on the survivor, whose keys answer the
// site's next request.
#include <gtest/gtest.h>

#include <algorithm>

#include "dataplane/control/ike/ike_responder.h"
#include "dataplane/control/ike/ike_sa_rekey.h"
#include "tests/unit/ike_test_initiator.h"

namespace wp::ike {
namespace {

using Clock = std::chrono::steady_clock;

const IkeSuite kCollCbc14{kEncrAesCbc, 256, kIntegHmacSha256_128, kPrfHmacSha256, kDhModp2048};

// One new IKE SA as the site sees it: its keys by § 2.18 and who began it.
struct SiteView {
  uint64_t spi_i = 0, spi_r = 0;
  IkeKeys keys;
  bool site_initiator = true;
  // A message of the site on it.
  Bytes msg(Exchange ex, uint32_t id, bool response, const std::vector<Payload>& inner) const {
    Header h;
    h.spi_i = spi_i;
    h.spi_r = spi_r;
    h.exchange = ex;
    h.flags = static_cast<uint8_t>((site_initiator ? kFlagInitiator : 0) | (response ? kFlagResponse : 0));
    h.message_id = id;
    PayloadType first = PayloadType::none;
    const Bytes plain = encode_payload_chain(inner, first);
    return site_initiator ? seal_sk(kCollCbc14, keys.sk_ei, keys.sk_ai, h, first, plain, Bytes(16, 7))
                          : seal_sk(kCollCbc14, keys.sk_er, keys.sk_ar, h, first, plain, Bytes(16, 7));
  }
  // A message of ours on it, opened with our direction's keys; its header in `h`.
  std::vector<Payload> open(const Bytes& d, Header& h) const {
    Message m;
    EXPECT_TRUE(parse_message(d, m).ok());
    h = m.header;
    EXPECT_EQ(h.spi_i, spi_i);
    EXPECT_EQ(h.spi_r, spi_r);
    Bytes plain;
    const SkError e = site_initiator ? open_sk(kCollCbc14, keys.sk_er, keys.sk_ar, d, m, plain)
                                     : open_sk(kCollCbc14, keys.sk_ei, keys.sk_ai, d, m, plain);
    EXPECT_EQ(e, SkError::ok);
    return e == SkError::ok ? decode(m.get<SkPayload>(PayloadType::sk)->first_inner, plain) : std::vector<Payload>{};
  }
};

const std::vector<Payload> kDeleteIke{{PayloadType::del, false, DeletePayload{Protocol::ike, 0, {}}}};

struct IkeCollisionTest : ::testing::Test {
  std::vector<std::string> logs;
  std::unique_ptr<Responder> r;
  TestInitiator site;
  Clock::time_point now = Clock::now();
  uint64_t old_r = 0;
  uint32_t child_in = 0;
  Bytes child_enc_in, child_enc_out, old_sk_d;
  std::unique_ptr<DhKey> site_dh;

  void SetUp() override {
    ResponderConfig rc;
    PeerConfig p = site1_psk_peer();
    p.esp_suites = {EspSuite{kEncrAesCbc, kIntegHmacSha256_128, true}};
    p.tunnel = 37;
    rc.ike_suites = {kCollCbc14};
    rc.peers = {p};
    r = std::make_unique<Responder>(rc, [this](const std::string& l) { logs.push_back(l); });
    ASSERT_TRUE(site.accept(send(site.sa_init({ike_proposal(1, kCollCbc14)}, kDhModp2048))));
    site.open(send(site.auth(kPsk)));
    ASSERT_EQ(r->sas().size(), 1u);
    old_r = r->sas().begin()->first;
    const IkeSa& old = *r->sas().begin()->second;
    ASSERT_EQ(old.children.size(), 1u);
    child_in = old.children.begin()->first;
    child_enc_in = old.children.begin()->second.enc_in;
    child_enc_out = old.children.begin()->second.enc_out;
    old_sk_d = old.keys.sk_d;
    std::string err;
    site_dh = DhKey::generate(kDhModp2048, err);
    ASSERT_TRUE(site_dh) << err;
  }
  Bytes send(const Bytes& d) { return r->handle(d, kSite, kHeadend, now); }

  // The site's rekey of the old IKE SA (its new SPI, `ni`); its view of the
  // new SA from our answer (which must accept it).
  Bytes site_request(const Bytes& ni) {
    return site.request(Exchange::create_child_sa,
                        {{PayloadType::sa, false, ike_answer(1, kCollCbc14, kSiteSpi)},
                         {PayloadType::nonce, false, NoncePayload{ni}},
                         {PayloadType::ke, false, KePayload{kDhModp2048, site_dh->public_value()}}},
                        site.next_id++);
  }
  SiteView theirs_from(const std::vector<Payload>& ans, const Bytes& ni) {
    SiteView v;
    const auto* sa = find<SaPayload>(ans, PayloadType::sa);
    const auto* nr = find<NoncePayload>(ans, PayloadType::nonce);
    const auto* ke = find<KePayload>(ans, PayloadType::ke);
    EXPECT_TRUE(sa && nr && ke);
    if (!sa || !nr || !ke) return v;
    v.spi_i = kSiteSpi;
    v.spi_r = spi64(sa->proposals.at(0).spi);
    Bytes g_ir;
    std::string err;
    EXPECT_TRUE(site_dh->shared_secret(ke->data, g_ir, err)) << err;
    v.keys = derive_rekeyed_ike_keys(kCollCbc14, old_sk_d, ni, nr->data, g_ir, v.spi_i, v.spi_r);
    return v;
  }
  // The site's answer to our IKE SA rekey `req` with nonce `nr`, and its view of our new SA.
  Bytes site_answer(const Bytes& req, const Bytes& nr, SiteView& ours) {
    Header h;
    const auto in = site.open_request(req, h);
    const auto* sa = find<SaPayload>(in, PayloadType::sa);
    const auto* ni = find<NoncePayload>(in, PayloadType::nonce);
    const auto* ke = find<KePayload>(in, PayloadType::ke);
    EXPECT_TRUE(sa && ni && ke);
    if (!sa || !ni || !ke) return {};
    std::string err;
    auto dh = DhKey::generate(kDhModp2048, err);
    Bytes g_ir;
    EXPECT_TRUE(dh->shared_secret(ke->data, g_ir, err)) << err;
    ours.spi_i = spi64(sa->proposals.at(0).spi);
    ours.spi_r = kSiteSpiForOurs;
    ours.site_initiator = false;
    ours.keys = derive_rekeyed_ike_keys(kCollCbc14, old_sk_d, ni->data, nr, g_ir, ours.spi_i, ours.spi_r);
    return site.answer(Exchange::create_child_sa, h.message_id,
                       {{PayloadType::sa, false, ike_answer(1, kCollCbc14, kSiteSpiForOurs)},
                        {PayloadType::nonce, false, NoncePayload{nr}},
                        {PayloadType::ke, false, KePayload{kDhModp2048, dh->public_value()}}});
  }
  // The Child SA, unchanged, on exactly the IKE SA `spi` (our SPI).
  void expect_child_on(uint64_t spi) {
    for (const auto& [s, sa] : r->sas()) EXPECT_EQ(sa->children.size(), s == spi ? 1u : 0u) << std::hex << s;
    ASSERT_TRUE(r->sas().count(spi));
    const auto& c = r->sas().at(spi)->children;
    ASSERT_EQ(c.count(child_in), 1u);
    EXPECT_EQ(c.at(child_in).enc_in, child_enc_in);
    EXPECT_EQ(c.at(child_in).enc_out, child_enc_out);
  }
  // The site's DPD on the survivor is answered with the survivor's keys (ID `id`).
  void expect_dpd_answered(const SiteView& v, uint32_t id) {
    const Bytes pong = send(v.msg(Exchange::informational, id, false, {}));
    ASSERT_FALSE(pong.empty());
    Header h;
    v.open(pong, h);
    EXPECT_TRUE(h.response());
    EXPECT_EQ(h.message_id, id);
  }
  void ours_first(const Bytes& site_nonce) {
    const Bytes ours_req = r->rekey_sa(old_r, now);
    SiteView ours;
    const Bytes del = send(site_answer(ours_req, site_nonce, ours));
    ASSERT_FALSE(del.empty());
    expect_child_on(ours.spi_i);
    const auto ans = site.open(send(site_request(site_nonce)));
    EXPECT_NE(notify_of(ans, kNotifyTemporaryFailure), nullptr);
    EXPECT_EQ(r->sas().size(), 2u);
    Header h;
    site.open_request(del, h);
    EXPECT_TRUE(send(site.answer(Exchange::informational, h.message_id, {})).empty());
    ASSERT_EQ(r->sas().size(), 1u);
    expect_child_on(ours.spi_i);
    expect_dpd_answered(ours, 0);
  }
  static uint64_t spi64(const Bytes& b) {
    uint64_t x = 0;
    for (uint8_t c : b) x = x << 8 | c;
    return x;
  }
  static constexpr uint64_t kSiteSpi = 0x7777777777777777ULL, kSiteSpiForOurs = 0x4242424242424242ULL;
  const Bytes kLow = Bytes(32, 0x00), kHigh = Bytes(32, 0xff);
};

// The site's request first (we answer it: both new SAs will exist), then
// its answer to ours; our Nr... our nonces are random, the site's answer
// carries the lowest possible nonce: ours is redundant, we delete it on
// itself; the site (the survivor's maker) deletes the old SA.
TEST_F(IkeCollisionTest, TheirsFirstOurNonceLowestWeDeleteOurs) {
  const Bytes ours_req = r->rekey_sa(old_r, now);
  ASSERT_FALSE(ours_req.empty());
  const auto ans = site.open(send(site_request(kHigh)));
  EXPECT_EQ(notify_of(ans, kNotifyTemporaryFailure), nullptr);
  const SiteView theirs = theirs_from(ans, kHigh);
  ASSERT_EQ(r->sas().size(), 2u);
  EXPECT_EQ(r->own_counters().collisions, 1u);
  expect_child_on(theirs.spi_r);

  SiteView ours;
  const Bytes del = send(site_answer(ours_req, kLow, ours));
  ASSERT_FALSE(del.empty());
  ASSERT_EQ(r->sas().size(), 3u);
  expect_child_on(theirs.spi_r);
  // The Delete of ours, on ours: our SPI first, the Initiator flag, ID 0, its keys.
  Header h;
  const auto d = ours.open(del, h);
  EXPECT_EQ(h.flags, kFlagInitiator);
  EXPECT_EQ(h.message_id, 0u);
  EXPECT_EQ(h.exchange, Exchange::informational);
  const auto* dp = find<DeletePayload>(d, PayloadType::del);
  ASSERT_NE(dp, nullptr);
  EXPECT_EQ(dp->protocol, Protocol::ike);
  EXPECT_TRUE(send(ours.msg(Exchange::informational, 0, true, {})).empty());
  EXPECT_EQ(r->sas().count(ours.spi_i), 0u);
  // The site deletes the old SA.
  EXPECT_TRUE(site.open(send(site.request(Exchange::informational, kDeleteIke, site.next_id++))).empty());
  ASSERT_EQ(r->sas().size(), 1u);
  expect_child_on(theirs.spi_r);
  // The survivor's keys are the ones of § 2.18 with the site's nonce first.
  EXPECT_EQ(r->sas().at(theirs.spi_r)->keys.sk_ei, theirs.keys.sk_ei);
  EXPECT_EQ(r->sas().at(theirs.spi_r)->keys.sk_er, theirs.keys.sk_er);
  expect_dpd_answered(theirs, 0);
  EXPECT_FALSE(r->request_outstanding(theirs.spi_r));
  EXPECT_EQ(r->own_counters().ike_rekeys_completed, 1u);
  EXPECT_TRUE(std::any_of(logs.begin(), logs.end(),
                          [](const std::string& l) { return l.find("ours (") != std::string::npos && l.find("redundant") != std::string::npos; }));
}

// The site's request first, the site's nonce the lowest: its SA is
// redundant; the Child SA moves to ours and we delete the old SA; the site
// deletes its own.
TEST_F(IkeCollisionTest, TheirsFirstTheirNonceLowestChildMovesToOurs) {
  const Bytes ours_req = r->rekey_sa(old_r, now);
  ASSERT_FALSE(ours_req.empty());
  const auto ans = site.open(send(site_request(kLow)));
  const SiteView theirs = theirs_from(ans, kLow);
  ASSERT_EQ(r->sas().size(), 2u);
  SiteView ours;
  const Bytes del = send(site_answer(ours_req, kHigh, ours));
  ASSERT_FALSE(del.empty());
  expect_child_on(ours.spi_i);
  // The old SA's Delete, on the old SA (its next message ID, 1).
  Header h;
  const auto d = site.open_request(del, h);
  EXPECT_EQ(h.spi_r, old_r);
  EXPECT_EQ(h.message_id, 1u);
  ASSERT_NE(find<DeletePayload>(d, PayloadType::del), nullptr);
  // The site deletes its redundant SA on it (ID 0 there), then answers ours.
  Header hh;
  EXPECT_TRUE(theirs.open(send(theirs.msg(Exchange::informational, 0, false, kDeleteIke)), hh).empty());
  EXPECT_EQ(r->sas().count(theirs.spi_r), 0u);
  EXPECT_TRUE(send(site.answer(Exchange::informational, 1, {})).empty());
  ASSERT_EQ(r->sas().size(), 1u);
  expect_child_on(ours.spi_i);
  EXPECT_TRUE(r->sas().at(ours.spi_i)->we_initiated);
  EXPECT_EQ(r->sas().at(ours.spi_i)->keys.sk_er, ours.keys.sk_ei);  // ours, § 2.18 with us as initiator
  expect_dpd_answered(ours, 0);
  EXPECT_EQ(r->own_counters().collisions, 1u);
}

// The site deletes its redundant SA before our answer arrives (it saw both
// exchanges done first): the Child SA waits on the old SA and our answer
// moves it to ours.
TEST_F(IkeCollisionTest, SiteDeletesItsRedundantSaBeforeOurAnswer) {
  const Bytes ours_req = r->rekey_sa(old_r, now);
  const SiteView theirs = theirs_from(site.open(send(site_request(kLow))), kLow);
  expect_child_on(theirs.spi_r);
  Header hh;
  theirs.open(send(theirs.msg(Exchange::informational, 0, false, kDeleteIke)), hh);
  expect_child_on(old_r);
  SiteView ours;
  const Bytes del = send(site_answer(ours_req, kHigh, ours));
  ASSERT_FALSE(del.empty());
  expect_child_on(ours.spi_i);
  Header h;
  site.open_request(del, h);
  EXPECT_TRUE(send(site.answer(Exchange::informational, h.message_id, {})).empty());
  ASSERT_EQ(r->sas().size(), 1u);
  expect_child_on(ours.spi_i);
  expect_dpd_answered(ours, 0);
}

// Our answer first: our rekey is done and the old SA's Delete outstanding
// when the site's request arrives: TEMPORARY_FAILURE (§ 2.8.2, whatever the
// nonces), no third SA; the site forgets its rekey when it sees our Delete.
TEST_F(IkeCollisionTest, OursFirstTheSitesRekeyIsTemporaryFailureSiteNonceLowest) { ours_first(kLow); }
TEST_F(IkeCollisionTest, OursFirstTheSitesRekeyIsTemporaryFailureOurNonceLowest) { ours_first(kHigh); }

// The site did not notice (it finished its rekey first) and answers ours
// TEMPORARY_FAILURE: ours is refused, its SA holds the Child SA and it
// deletes the old one; we send nothing more.
TEST_F(IkeCollisionTest, SiteAnswersOursTemporaryFailure) {
  const Bytes ours_req = r->rekey_sa(old_r, now);
  const SiteView theirs = theirs_from(site.open(send(site_request(kHigh))), kHigh);
  Header h;
  site.open_request(ours_req, h);
  EXPECT_TRUE(send(site.answer(Exchange::create_child_sa, h.message_id, {make_notify(kNotifyTemporaryFailure)})).empty());
  EXPECT_EQ(r->own_counters().ike_rekeys_refused, 1u);
  expect_child_on(theirs.spi_r);
  EXPECT_TRUE(site.open(send(site.request(Exchange::informational, kDeleteIke, site.next_id++))).empty());
  ASSERT_EQ(r->sas().size(), 1u);
  expect_child_on(theirs.spi_r);
  expect_dpd_answered(theirs, 0);
}

}  // namespace
}  // namespace wp::ike
