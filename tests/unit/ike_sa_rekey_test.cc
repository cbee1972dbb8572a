// Our own IKE SA rekey (RFC 7296 § 1.3.2, § 2.18; dataplane/control/ike/
// ike_sa_rekey.h) by the initiator (ike_initiator.h), against our responder
// in-process (its answer to an IKE SA rekey, ike_rekey.cc) and against a
// hand-made peer whose keys are computed here independently: the new SPIs,
// SKEYSEED = prf(SK_d (old), g^ir | Ni | Nr) and the seven keys, the Child
// SAs moved unchanged, the old IKE SA deleted on itself, message IDs of the
// new SA from 0, refusal (the SA unchanged, a later rekey works), the
// peer's CREATE_CHILD_SA during ours (TEMPORARY_FAILURE, § 2.25.2), an
// unanswered rekey (the SA fails, § 2.4) and an unanswered Delete of the
// old SA (only the old one goes).
#include <gtest/gtest.h>

#include <algorithm>

#include "dataplane/control/ike/ike_initiator.h"
#include "dataplane/control/ike/ike_responder.h"
#include "dataplane/control/ike/ike_sa_rekey.h"
#include "tests/unit/ike_test_initiator.h"

namespace wp::ike {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const IkeSuite kCbc14{kEncrAesCbc, 256, kIntegHmacSha256_128, kPrfHmacSha256, kDhModp2048};
const IkeSuite kGcm19{kEncrAesGcm16, 256, 0, kPrfHmacSha256, kDhEcp256};

ResponderConfig responder_config() {
  PeerConfig p = site1_psk_peer();
  p.tunnel = 37;
  ResponderConfig c;
  c.ike_suites = {kGcm19, kCbc14};
  c.peers = {p};
  return c;
}

InitiatorConfig initiator_config(const IkeSuite& suite) {
  InitiatorConfig c;
  c.peer.name = "headend";
  c.peer.local_id = "site1.example";
  c.peer.remote_id = "headend.example";
  c.peer.psk = bytes(kPsk);
  c.peer.esp_suites = {EspSuite{kEncrAesGcm16, 0, false}};
  c.peer.local_ts = {ts({10, 50, 0, 0}, {10, 50, 0, 255})};
  c.peer.remote_ts = {ts({10, 60, 0, 0}, {10, 60, 0, 255})};
  c.peer.tunnel = 5;
  c.ike_suites = {suite};
  c.local = kSite;
  c.remote = kHeadend;
  c.tries = 4;
  return c;
}

Message parsed(const Bytes& d) {
  Message m;
  EXPECT_TRUE(parse_message(d, m).ok());
  return m;
}

// The payloads of `d`, sealed by the initiator of `sa` (a request of ours).
std::vector<Payload> open_request(const IkeSa& sa, const Bytes& d) {
  const Message m = parsed(d);
  Bytes plain;
  EXPECT_EQ(open_sk(sa.suite, sa.keys.sk_ei, sa.keys.sk_ai, d, m, plain), SkError::ok);
  return decode(m.get<SkPayload>(PayloadType::sk)->first_inner, plain);
}

// A message of the responder of `sa` (request or answer) sealed with its keys.
Bytes responder_message(const IkeSa& sa, Exchange ex, uint32_t id, bool response, const std::vector<Payload>& inner) {
  Header h;
  h.spi_i = sa.spi_i;
  h.spi_r = sa.spi_r;
  h.exchange = ex;
  h.flags = response ? kFlagResponse : 0;
  h.message_id = id;
  PayloadType first = PayloadType::none;
  const Bytes plain = encode_payload_chain(inner, first);
  return seal_sk(sa.suite, sa.keys.sk_er, sa.keys.sk_ar, h, first, plain, Bytes(sa.suite.iv_len(), 9));
}

uint64_t spi64(const Bytes& b) {
  uint64_t v = 0;
  for (uint8_t x : b) v = v << 8 | x;
  return v;
}

struct IkeSaRekeyTest : ::testing::TestWithParam<IkeSuite> {
  std::vector<std::string> logs;
  std::unique_ptr<Responder> r;
  std::unique_ptr<Initiator> i;
  Clock::time_point now = Clock::now();

  void SetUp() override {
    r = std::make_unique<Responder>(responder_config(), [this](const std::string& l) { logs.push_back(l); });
    i = std::make_unique<Initiator>(initiator_config(GetParam()), [this](const std::string& l) { logs.push_back(l); });
    Bytes d = i->start(now);
    for (int n = 0; n < 8 && !d.empty(); ++n) {
      const Bytes a = r->handle(d, kSite, kHeadend, now);
      if (a.empty()) break;
      d = i->handle(a, now);
    }
    ASSERT_EQ(i->state(), InitiatorState::established);
  }
  const IkeSa& responder_sa(uint64_t spi_r) { return *r->sas().at(spi_r); }
};

TEST_P(IkeSaRekeyTest, AgainstOurResponderMovesTheChildSasAndDeletesTheOldSa) {
  const uint64_t old_i = i->sa()->spi_i, old_r = i->sa()->spi_r;
  const Bytes old_sk_d = i->sa()->keys.sk_d;
  const ChildSa& c0 = *i->child();
  const uint32_t spi_in = c0.spi_in, spi_out = c0.spi_out;
  const Bytes enc_out = c0.enc_out, enc_in = c0.enc_in;

  const Bytes req = i->rekey_ike(now);
  ASSERT_FALSE(req.empty());
  EXPECT_TRUE(i->rekeying_ike());
  EXPECT_TRUE(i->rekey_ike(now).empty());    // one request at a time
  EXPECT_TRUE(i->rekey_child(now).empty());
  EXPECT_EQ(parsed(req).header.message_id, 2u);  // after IKE_SA_INIT and IKE_AUTH
  EXPECT_EQ(parsed(req).header.exchange, Exchange::create_child_sa);
  const auto in = open_request(*i->sa(), req);
  const auto* sa_p = find<SaPayload>(in, PayloadType::sa);
  ASSERT_NE(sa_p, nullptr);
  ASSERT_EQ(sa_p->proposals.size(), 1u);
  EXPECT_EQ(sa_p->proposals[0].protocol, Protocol::ike);
  EXPECT_EQ(sa_p->proposals[0].spi.size(), 8u);
  ASSERT_NE(find<KePayload>(in, PayloadType::ke), nullptr);
  EXPECT_EQ(find<KePayload>(in, PayloadType::ke)->group, GetParam().dh);  // the negotiated group

  const Bytes del = i->handle(r->handle(req, kSite, kHeadend, now), now);
  ASSERT_FALSE(del.empty());  // the Delete of the old IKE SA, on the old SA
  EXPECT_FALSE(i->rekeying_ike());
  ASSERT_NE(i->old_sa(), nullptr);
  EXPECT_EQ(i->old_sa()->spi_i, old_i);
  EXPECT_TRUE(i->old_sa()->children.empty());
  EXPECT_TRUE(i->request_outstanding());  // nothing new before the old SA is gone
  const IkeSa& ns = *i->sa();
  EXPECT_NE(ns.spi_i, old_i);
  EXPECT_NE(ns.spi_r, old_r);
  EXPECT_NE(ns.keys.sk_d, old_sk_d);
  ASSERT_EQ(r->sas().size(), 2u);
  const IkeSa& rs = responder_sa(ns.spi_r);
  EXPECT_EQ(rs.spi_i, ns.spi_i);
  for (auto k : {&IkeKeys::sk_d, &IkeKeys::sk_ai, &IkeKeys::sk_ar, &IkeKeys::sk_ei, &IkeKeys::sk_er, &IkeKeys::sk_pi,
                 &IkeKeys::sk_pr})
    EXPECT_EQ(ns.keys.*k, rs.keys.*k);
  // The Child SA moved unchanged (ESP goes on; it is not rekeyed).
  ASSERT_EQ(ns.children.size(), 1u);
  const ChildSa& c1 = ns.children.at(spi_in);
  EXPECT_EQ(c1.spi_out, spi_out);
  EXPECT_EQ(c1.enc_out, enc_out);
  EXPECT_EQ(c1.enc_in, enc_in);
  EXPECT_EQ(rs.children.size(), 1u);
  EXPECT_TRUE(responder_sa(old_r).children.empty());

  const Message dm = parsed(del);
  EXPECT_EQ(dm.header.spi_i, old_i);
  EXPECT_EQ(dm.header.spi_r, old_r);
  EXPECT_EQ(dm.header.message_id, 3u);
  const auto d_in = open_request(*i->old_sa(), del);
  ASSERT_NE(find<DeletePayload>(d_in, PayloadType::del), nullptr);
  EXPECT_EQ(find<DeletePayload>(d_in, PayloadType::del)->protocol, Protocol::ike);
  EXPECT_TRUE(i->handle(r->handle(del, kSite, kHeadend, now), now).empty());
  EXPECT_EQ(i->old_sa(), nullptr);
  EXPECT_FALSE(i->request_outstanding());
  ASSERT_EQ(r->sas().size(), 1u);
  EXPECT_EQ(r->sas().begin()->first, ns.spi_r);
  EXPECT_EQ(r->sas().begin()->second->children.size(), 1u);  // deleting the old IKE SA took no Child SA

  // The new SA's message IDs start at 0.
  const Bytes ping = i->liveness(now);
  EXPECT_EQ(parsed(ping).header.message_id, 0u);
  EXPECT_EQ(parsed(ping).header.spi_i, ns.spi_i);
  EXPECT_TRUE(i->handle(r->handle(ping, kSite, kHeadend, now), now).empty());
  EXPECT_EQ(i->counters().liveness_answered, 1u);
  // A Child SA rekey on the new IKE SA: its keys from the new SK_d.
  Bytes d = i->rekey_child(now);
  ASSERT_FALSE(d.empty());
  d = i->handle(r->handle(d, kSite, kHeadend, now), now);
  ASSERT_FALSE(d.empty());
  EXPECT_TRUE(i->handle(r->handle(d, kSite, kHeadend, now), now).empty());
  EXPECT_EQ(i->counters().child_sas_rekeyed, 1u);
  const ChildSa& c2 = *i->child();
  EXPECT_NE(c2.spi_in, spi_in);
  const ChildSa& r2 = r->sas().begin()->second->children.at(c2.spi_out);
  EXPECT_EQ(r2.enc_in, c2.enc_out);
  EXPECT_EQ(r2.enc_out, c2.enc_in);
  // And the IKE SA again.
  d = i->rekey_ike(now);
  ASSERT_FALSE(d.empty());
  d = i->handle(r->handle(d, kSite, kHeadend, now), now);
  ASSERT_FALSE(d.empty());
  EXPECT_TRUE(i->handle(r->handle(d, kSite, kHeadend, now), now).empty());
  EXPECT_EQ(r->sas().size(), 1u);
  EXPECT_EQ(i->counters().ike_rekeys_started, 2u);
  EXPECT_EQ(i->counters().ike_sas_rekeyed, 2u);
  EXPECT_EQ(i->counters().old_ike_sas_deleted, 2u);
  EXPECT_EQ(i->child_count(), 1u);
  for (const std::string& l : logs) EXPECT_EQ(l.find(kPsk), std::string::npos) << l;
}

// A hand-made peer answers; the keys computed here from the primitives.
TEST_P(IkeSaRekeyTest, KeysFollowSection2_18) {
  const IkeSa& old = *i->sa();
  const Bytes req = i->rekey_ike(now);
  const auto in = open_request(old, req);
  const Bytes ni = find<NoncePayload>(in, PayloadType::nonce)->data;
  const KePayload kei = *find<KePayload>(in, PayloadType::ke);
  const uint64_t spi_i = spi64(find<SaPayload>(in, PayloadType::sa)->proposals[0].spi);
  std::string err;
  auto dh = DhKey::generate(kei.group, err);
  ASSERT_TRUE(dh) << err;
  Bytes g_ir;
  ASSERT_TRUE(dh->shared_secret(kei.data, g_ir, err)) << err;
  const Bytes nr(32, 0x3c);
  const uint64_t spi_r = 0x0123456789abcdefULL;
  const Bytes answer = responder_message(
      old, Exchange::create_child_sa, parsed(req).header.message_id, true,
      {{PayloadType::sa, false, ike_answer(1, GetParam(), spi_r)},
       {PayloadType::nonce, false, NoncePayload{nr}},
       {PayloadType::ke, false, KePayload{kei.group, dh->public_value()}}});
  const Bytes old_sk_d = old.keys.sk_d;
  ASSERT_FALSE(i->handle(answer, now).empty());
  const IkeSa& ns = *i->sa();
  EXPECT_EQ(ns.spi_i, spi_i);
  EXPECT_EQ(ns.spi_r, spi_r);
  // SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr); {SK_d | SK_ai | SK_ar |
  // SK_ei | SK_er | SK_pi | SK_pr} = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr).
  Bytes seed = g_ir;
  seed.insert(seed.end(), ni.begin(), ni.end());
  seed.insert(seed.end(), nr.begin(), nr.end());
  const Bytes skeyseed = prf(old_sk_d, seed);
  Bytes s2 = ni;
  s2.insert(s2.end(), nr.begin(), nr.end());
  for (int k = 7; k >= 0; --k) s2.push_back(uint8_t(spi_i >> (8 * k)));
  for (int k = 7; k >= 0; --k) s2.push_back(uint8_t(spi_r >> (8 * k)));
  const IkeSuite& s = GetParam();
  const size_t integ = s.integ ? 32 : 0, encr = s.encr_key_bits / 8 + (s.encr == kEncrAesGcm16 ? 4 : 0);
  const Bytes km = prf_plus(skeyseed, s2, 32 + 2 * integ + 2 * encr + 2 * 32);
  size_t o = 0;
  auto take = [&](size_t n) {
    Bytes b(km.begin() + o, km.begin() + o + n);
    o += n;
    return b;
  };
  EXPECT_EQ(ns.keys.sk_d, take(32));
  EXPECT_EQ(ns.keys.sk_ai, take(integ));
  EXPECT_EQ(ns.keys.sk_ar, take(integ));
  EXPECT_EQ(ns.keys.sk_ei, take(encr));
  EXPECT_EQ(ns.keys.sk_er, take(encr));
  EXPECT_EQ(ns.keys.sk_pi, take(32));
  EXPECT_EQ(ns.keys.sk_pr, take(32));
  EXPECT_EQ(ns.keys.sk_ei.size(), encr);
}

TEST_P(IkeSaRekeyTest, RefusedRekeyLeavesTheSaAndMayBeTriedAgain) {
  const uint64_t old_i = i->sa()->spi_i;
  const Bytes req = i->rekey_ike(now);
  for (uint16_t refusal : {kNotifyNoProposalChosen, kNotifyTemporaryFailure}) {
    const Bytes& r_req = refusal == kNotifyNoProposalChosen ? req : i->rekey_ike(now);
    ASSERT_FALSE(r_req.empty());
    EXPECT_TRUE(i->handle(responder_message(*i->sa(), Exchange::create_child_sa, parsed(r_req).header.message_id,
                                            true, {make_notify(refusal)}),
                          now)
                    .empty());
    EXPECT_EQ(i->sa()->spi_i, old_i);
    EXPECT_EQ(i->old_sa(), nullptr);
    EXPECT_EQ(i->child_count(), 1u);
    EXPECT_EQ(i->state(), InitiatorState::established);
    EXPECT_FALSE(i->request_outstanding());
  }
  EXPECT_EQ(i->counters()[InitFailure::rekey_refused], 2u);
  EXPECT_EQ(i->counters().ike_sas_rekeyed, 0u);
  // Tried again (the service waits kRekeyRetry), answered this time by a
  // hand-made peer (ours never saw the refused requests' message IDs).
  const Bytes d = i->rekey_ike(now);
  ASSERT_FALSE(d.empty());
  EXPECT_EQ(parsed(d).header.message_id, 4u);
  const auto in = open_request(*i->sa(), d);
  std::string err;
  auto dh = DhKey::generate(GetParam().dh, err);
  ASSERT_TRUE(dh) << err;
  const Bytes del = i->handle(
      responder_message(*i->sa(), Exchange::create_child_sa, 4, true,
                        {{PayloadType::sa, false, ike_answer(1, GetParam(), 0x5151515151515151ULL)},
                         {PayloadType::nonce, false, NoncePayload{Bytes(32, 0x11)}},
                         {PayloadType::ke, false, KePayload{GetParam().dh, dh->public_value()}}}),
      now);
  EXPECT_FALSE(del.empty());
  EXPECT_EQ(i->counters().ike_sas_rekeyed, 1u);
  EXPECT_NE(i->sa()->spi_i, old_i);
  EXPECT_EQ(i->sa()->spi_r, 0x5151515151515151ULL);
  ASSERT_NE(find<SaPayload>(in, PayloadType::sa), nullptr);
  EXPECT_EQ(i->sa()->spi_i, spi64(find<SaPayload>(in, PayloadType::sa)->proposals[0].spi));
}

// § 2.25.2: the peer's CREATE_CHILD_SA while our IKE SA rekey is outstanding.
TEST_P(IkeSaRekeyTest, PeersCreateChildSaDuringOurRekeyIsTemporaryFailure) {
  const Bytes req = i->rekey_ike(now);
  ASSERT_FALSE(req.empty());
  const IkeSa& rs = responder_sa(i->sa()->spi_r);
  const Bytes answer = i->handle(responder_message(rs, Exchange::create_child_sa, 0, false, {}), now);
  ASSERT_FALSE(answer.empty());
  const Message m = parsed(answer);
  EXPECT_TRUE(m.header.response());
  Bytes plain;
  ASSERT_EQ(open_sk(rs.suite, rs.keys.sk_ei, rs.keys.sk_ai, answer, m, plain), SkError::ok);
  EXPECT_NE(notify_of(decode(m.get<SkPayload>(PayloadType::sk)->first_inner, plain), kNotifyTemporaryFailure), nullptr);
  EXPECT_EQ(i->counters().ike_rekey_collisions, 1u);
  // Ours completes.
  const Bytes del = i->handle(r->handle(req, kSite, kHeadend, now), now);
  ASSERT_FALSE(del.empty());
  EXPECT_TRUE(i->handle(r->handle(del, kSite, kHeadend, now), now).empty());
  EXPECT_EQ(i->counters().ike_sas_rekeyed, 1u);
  EXPECT_EQ(r->sas().size(), 1u);
}

TEST_P(IkeSaRekeyTest, UnansweredRekeyFailsTheSa) {
  ASSERT_FALSE(i->rekey_ike(now).empty());
  auto t = now;
  for (int n = 0; n < 10 && i->state() == InitiatorState::established; ++n) i->tick(t += 10s);
  EXPECT_EQ(i->failure(), InitFailure::timeout);
  EXPECT_FALSE(i->rekeying_ike());
}

TEST_P(IkeSaRekeyTest, UnansweredDeleteOfTheOldSaDropsOnlyTheOldSa) {
  const Bytes del = i->handle(r->handle(i->rekey_ike(now), kSite, kHeadend, now), now);
  ASSERT_FALSE(del.empty());
  auto t = now;
  int resent = 0;
  for (int n = 0; n < 10 && i->old_sa(); ++n) resent += !i->tick(t += 10s).empty();
  EXPECT_EQ(resent, 3);  // 4 sends in all
  EXPECT_EQ(i->old_sa(), nullptr);
  EXPECT_EQ(i->state(), InitiatorState::established);
  EXPECT_EQ(i->counters().old_ike_deletes_unanswered, 1u);
  EXPECT_EQ(i->child_count(), 1u);
  // The new SA works.
  const Bytes ping = i->liveness(t);
  EXPECT_EQ(parsed(ping).header.message_id, 0u);
  EXPECT_TRUE(i->handle(r->handle(ping, kSite, kHeadend, t), t).empty());
  EXPECT_EQ(i->counters().liveness_answered, 1u);
}

// The peer deletes the old SA itself (it answered our rekey, then its Delete crossed ours).
TEST_P(IkeSaRekeyTest, PeersDeleteOfTheOldSaIsAnswered) {
  const IkeSa& old_rs = responder_sa(i->sa()->spi_r);
  const Bytes del = i->handle(r->handle(i->rekey_ike(now), kSite, kHeadend, now), now);
  ASSERT_FALSE(del.empty());
  const Bytes ans = i->handle(responder_message(old_rs, Exchange::informational, 0, false,
                                                {{PayloadType::del, false, DeletePayload{Protocol::ike, 0, {}}}}),
                              now);
  EXPECT_FALSE(ans.empty());
  EXPECT_EQ(i->old_sa(), nullptr);
  EXPECT_EQ(i->counters().old_ike_sas_deleted, 1u);
  EXPECT_EQ(i->child_count(), 1u);
}

// The responder side (the site began the IKE SA): the site's IKE SA rekey
// while our own Child SA rekey is outstanding is answered TEMPORARY_FAILURE
// (§ 2.25.2); once ours completed, the site's next try moves the new Child SA.
TEST(ResponderIkeRekeyCollision, TemporaryFailureWhileOurChildRekeyIsOutstanding) {
  ResponderConfig rc = responder_config();
  rc.peers[0].esp_suites.push_back(EspSuite{kEncrAesCbc, kIntegHmacSha256_128, true});  // the TestInitiator's
  Responder r{rc};
  TestInitiator site;
  const auto now = Clock::now();
  auto send = [&](const Bytes& d) { return r.handle(d, kSite, kHeadend, now); };
  ASSERT_TRUE(site.accept(send(site.sa_init({ike_proposal(1, kCbc14)}, kDhModp2048))));
  site.open(send(site.auth(kPsk)));
  ASSERT_EQ(r.sas().size(), 1u);
  const uint64_t spi_r = r.sas().begin()->first;
  const uint32_t old_in = r.sas().begin()->second->children.begin()->first;
  const Bytes ours = r.rekey_child(spi_r, old_in, now);
  ASSERT_FALSE(ours.empty());
  std::string err;
  auto dh = DhKey::generate(kDhModp2048, err);
  ASSERT_TRUE(dh) << err;
  const std::vector<Payload> ike_rekey{{PayloadType::sa, false, ike_answer(1, kCbc14, 0x7777777777777777ULL)},
                                       {PayloadType::nonce, false, NoncePayload{Bytes(32, 0x21)}},
                                       {PayloadType::ke, false, KePayload{kDhModp2048, dh->public_value()}}};
  const auto refused = site.open(send(site.request(Exchange::create_child_sa, ike_rekey, site.next_id++)));
  EXPECT_NE(notify_of(refused, kNotifyTemporaryFailure), nullptr);
  EXPECT_EQ(r.sas().size(), 1u);
  EXPECT_EQ(r.own_counters().collisions, 1u);
  // Ours completes: the site answers our CREATE_CHILD_SA (0), then our Delete of the old SA (1).
  Header h;
  const auto req = site.open_request(ours, h);
  const auto* offer = find<SaPayload>(req, PayloadType::sa);
  ASSERT_NE(offer, nullptr);
  const Bytes del = send(site.answer(
      Exchange::create_child_sa, h.message_id,
      {{PayloadType::sa, false, esp_answer(offer->proposals.at(0).number, EspSuite{kEncrAesGcm16, 0, false}, 0xabcdef01)},
       {PayloadType::nonce, false, NoncePayload{Bytes(32, 0x44)}},
       *find_if(req.begin(), req.end(), [](const Payload& p) { return p.type == PayloadType::tsi; }),
       *find_if(req.begin(), req.end(), [](const Payload& p) { return p.type == PayloadType::tsr; })}));
  ASSERT_FALSE(del.empty());
  site.open_request(del, h);
  EXPECT_TRUE(send(site.answer(Exchange::informational, h.message_id, {})).empty());
  ASSERT_EQ(r.sas().begin()->second->children.size(), 1u);
  const uint32_t new_in = r.sas().begin()->second->children.begin()->first;
  EXPECT_NE(new_in, old_in);
  // The site tries its IKE SA rekey again: accepted, the new Child SA moved to the new IKE SA.
  const auto ok = site.open(send(site.request(Exchange::create_child_sa, ike_rekey, site.next_id++)));
  EXPECT_EQ(notify_of(ok, kNotifyTemporaryFailure), nullptr);
  ASSERT_NE(find<SaPayload>(ok, PayloadType::sa), nullptr);
  ASSERT_EQ(r.sas().size(), 2u);
  for (const auto& [spi, sa] : r.sas())
    EXPECT_EQ(sa->children.size(), spi == spi_r ? 0u : 1u);
}

// Our rekey of an IKE SA the site began (Responder::rekey_sa): we are the new
// SA's initiator (§ 2.18), the responder holds it from our side
// (IkeSa::we_initiated) and translates the wire header: the site's DPD on the
// new SA carries our SPI first and no Initiator flag, our messages carry the
// Initiator flag, each direction with the right key of § 2.18.
TEST(ResponderIkeRekey, OurRekeyOfTheSitesIkeSa) {
  ResponderConfig rc = responder_config();
  rc.peers[0].esp_suites.push_back(EspSuite{kEncrAesCbc, kIntegHmacSha256_128, true});  // the TestInitiator's
  Responder r{rc};
  TestInitiator site;
  const auto now = Clock::now();
  auto send = [&](const Bytes& d) { return r.handle(d, kSite, kHeadend, now); };
  ASSERT_TRUE(site.accept(send(site.sa_init({ike_proposal(1, kCbc14)}, kDhModp2048))));
  site.open(send(site.auth(kPsk)));
  const uint64_t old_r = r.sas().begin()->first;
  const uint32_t child_in = r.sas().begin()->second->children.begin()->first;
  const Bytes old_sk_d = r.sas().begin()->second->keys.sk_d;

  const Bytes req = r.rekey_sa(old_r, now);
  ASSERT_FALSE(req.empty());
  EXPECT_TRUE(r.rekey_sa(old_r, now).empty());  // one request at a time
  Header h;
  const auto in = site.open_request(req, h);
  EXPECT_EQ(h.flags & (kFlagInitiator | kFlagResponse), 0);
  EXPECT_EQ(h.message_id, 0u);
  EXPECT_EQ(h.exchange, Exchange::create_child_sa);
  const auto* offer = find<SaPayload>(in, PayloadType::sa);
  ASSERT_NE(offer, nullptr);
  EXPECT_EQ(offer->proposals.at(0).protocol, Protocol::ike);
  const uint64_t ours = spi64(offer->proposals.at(0).spi);
  const Bytes ni = find<NoncePayload>(in, PayloadType::nonce)->data;
  std::string err;
  auto dh = DhKey::generate(kDhModp2048, err);
  ASSERT_TRUE(dh) << err;
  Bytes g_ir;
  ASSERT_TRUE(dh->shared_secret(find<KePayload>(in, PayloadType::ke)->data, g_ir, err)) << err;
  const Bytes nr(32, 0x55);
  const uint64_t theirs = 0x4242424242424242ULL;
  const Bytes del = send(site.answer(Exchange::create_child_sa, h.message_id,
                                     {{PayloadType::sa, false, ike_answer(1, kCbc14, theirs)},
                                      {PayloadType::nonce, false, NoncePayload{nr}},
                                      {PayloadType::ke, false, KePayload{kDhModp2048, dh->public_value()}}}));
  ASSERT_FALSE(del.empty());  // the old IKE SA's Delete
  ASSERT_EQ(r.sas().size(), 2u);
  const IkeSa& ns = *r.sas().at(ours);
  EXPECT_TRUE(ns.we_initiated);
  EXPECT_EQ(ns.spi_i, theirs);
  ASSERT_EQ(ns.children.count(child_in), 1u);  // moved unchanged
  EXPECT_TRUE(r.sas().at(old_r)->children.empty());
  EXPECT_EQ(r.own_counters().ike_rekeys_completed, 1u);
  // § 2.18 with us as the initiator, stored from our side.
  const IkeKeys real = derive_rekeyed_ike_keys(kCbc14, old_sk_d, ni, nr, g_ir, ours, theirs);
  EXPECT_EQ(ns.keys.sk_d, real.sk_d);
  EXPECT_EQ(ns.keys.sk_ei, real.sk_er);  // the site's messages
  EXPECT_EQ(ns.keys.sk_ai, real.sk_ar);
  EXPECT_EQ(ns.keys.sk_er, real.sk_ei);  // ours
  EXPECT_EQ(ns.keys.sk_ar, real.sk_ai);
  // The Delete on the old SA, answered: the old SA goes, its Child SA does not.
  const auto d_in = site.open_request(del, h);
  EXPECT_EQ(h.message_id, 1u);
  EXPECT_EQ(h.spi_r, old_r);
  ASSERT_NE(find<DeletePayload>(d_in, PayloadType::del), nullptr);
  EXPECT_TRUE(send(site.answer(Exchange::informational, 1, {})).empty());
  ASSERT_EQ(r.sas().size(), 1u);
  EXPECT_EQ(r.sas().begin()->first, ours);

  // The site, the new SA's responder, sends its DPD: our SPI first, no flags, ID 0, SK_er.
  auto site_msg = [&](Exchange ex, uint32_t id, uint8_t flags, const std::vector<Payload>& inner) {
    Header sh;
    sh.spi_i = ours;
    sh.spi_r = theirs;
    sh.exchange = ex;
    sh.flags = flags;
    sh.message_id = id;
    PayloadType first = PayloadType::none;
    const Bytes plain = encode_payload_chain(inner, first);
    return seal_sk(kCbc14, real.sk_er, real.sk_ar, sh, first, plain, Bytes(16, 3));
  };
  auto open_ours = [&](const Bytes& d, Header& out) {
    const Message m = parsed(d);
    out = m.header;
    Bytes plain;
    EXPECT_EQ(open_sk(kCbc14, real.sk_ei, real.sk_ai, d, m, plain), SkError::ok);
    return decode(m.get<SkPayload>(PayloadType::sk)->first_inner, plain);
  };
  const Bytes pong = send(site_msg(Exchange::informational, 0, 0, {}));
  ASSERT_FALSE(pong.empty());
  open_ours(pong, h);
  EXPECT_EQ(h.flags, kFlagInitiator | kFlagResponse);
  EXPECT_EQ(h.spi_i, ours);
  EXPECT_EQ(h.spi_r, theirs);
  EXPECT_EQ(h.message_id, 0u);
  // Our own next request on it (a Delete of its Child SA here): ID 0, Initiator flag.
  const Bytes cdel = r.delete_child(ours, child_in, now);
  ASSERT_FALSE(cdel.empty());
  const auto c_in = open_ours(cdel, h);
  EXPECT_EQ(h.flags, kFlagInitiator);
  EXPECT_EQ(h.message_id, 0u);
  ASSERT_NE(find<DeletePayload>(c_in, PayloadType::del), nullptr);
  EXPECT_TRUE(send(site_msg(Exchange::informational, 0, kFlagResponse, {})).empty());
  EXPECT_TRUE(r.sas().at(ours)->children.empty());
  EXPECT_FALSE(r.request_outstanding(ours));
}

INSTANTIATE_TEST_SUITE_P(Suites, IkeSaRekeyTest, ::testing::Values(kCbc14, kGcm19),
                         [](const auto& p) { return std::string(p.param.encr == kEncrAesGcm16 ? "Gcm19" : "Cbc14"); });

}  // namespace
}  // namespace wp::ike
