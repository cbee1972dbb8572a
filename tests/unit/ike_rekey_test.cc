// Our own Child SA rekeys on IKE SAs the peer began (ike_responder.h's own
// requests, ike_child_rekey.h): the request (ours: neither Initiator nor
// Response flag, our message IDs from 0), the new SA installed from the
// peer's answer before the Delete of the old one leaves (make before
// break), retransmissions and the SA's end without an answer, and the
// collision of § 2.8.1 when the peer rekeys the same Child SA at once.
#include <gtest/gtest.h>

#include "dataplane/control/ike/ike_lifetime.h"
#include "tests/unit/ike_test_initiator.h"

namespace wp::ike {
namespace {

using namespace std::chrono_literals;

ResponderConfig config() {
  PeerConfig p = site1_psk_peer();
  p.esp_suites = {EspSuite{kEncrAesGcm16, 0, false}, EspSuite{kEncrAesCbc, kIntegHmacSha256_128, true}};
  p.tunnel = 5;
  ResponderConfig c;
  c.ike_suites = {IkeSuite{kEncrAesCbc, 256, kIntegHmacSha256_128, kPrfHmacSha256, kDhModp2048}};
  c.peers = {p};
  return c;
}

uint32_t spi32(const Bytes& b) { return uint32_t(b[0]) << 24 | uint32_t(b[1]) << 16 | uint32_t(b[2]) << 8 | b[3]; }
Bytes spi_bytes(uint32_t v) { return {uint8_t(v >> 24), uint8_t(v >> 16), uint8_t(v >> 8), uint8_t(v)}; }

struct OwnRekeyTest : ::testing::Test {
  std::vector<std::string> logs;
  Responder r{config(), [this](const std::string& l) { logs.push_back(l); }};
  TestInitiator i;  // the site: it began the IKE SA
  std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now();

  Bytes send(const Bytes& d) { return r.handle(d, kSite, kHeadend, now); }
  void SetUp() override {
    ASSERT_TRUE(i.accept(send(i.sa_init({ike_proposal(1, config().ike_suites[0])}, kDhModp2048))));
    i.open(send(i.auth(kPsk)));
    ASSERT_EQ(sa().children.size(), 1u);
  }
  const IkeSa& sa() { return *r.sas().begin()->second; }
  uint64_t spi_r() { return r.sas().begin()->first; }
  uint32_t first_child() { return sa().children.begin()->first; }

  // Our request as the site sees it: its header and payloads.
  std::vector<Payload> open_ours(const Bytes& req, Header& h) { return i.open_request(req, h); }
  Bytes answer(Exchange ex, uint32_t id, const std::vector<Payload>& inner) { return i.answer(ex, id, inner); }
  // The site accepts our CREATE_CHILD_SA: its new SPI, nonce `nr`, our selectors back.
  Bytes accept_rekey(const std::vector<Payload>& req, uint32_t id, uint32_t site_spi, const Bytes& nr) {
    const auto* offer = find<SaPayload>(req, PayloadType::sa);
    EXPECT_NE(offer, nullptr);
    const EspSuite gcm{kEncrAesGcm16, 0, false};
    return answer(Exchange::create_child_sa, id,
                  {{PayloadType::sa, false, esp_answer(offer->proposals.at(0).number, gcm, site_spi)},
                   {PayloadType::nonce, false, NoncePayload{nr}},
                   *std::find_if(req.begin(), req.end(), [](const Payload& p) { return p.type == PayloadType::tsi; }),
                   *std::find_if(req.begin(), req.end(), [](const Payload& p) { return p.type == PayloadType::tsr; })});
  }
};

TEST_F(OwnRekeyTest, NewSaFromTheAnswerThenTheOldOnesDeleteThenItIsGone) {
  const uint32_t old_in = first_child();
  const Bytes req = r.rekey_child(spi_r(), old_in, now);
  ASSERT_FALSE(req.empty());
  EXPECT_TRUE(r.rekey_child(spi_r(), old_in, now).empty());  // one request of ours at a time (§ 2.3)
  EXPECT_EQ(r.rekeying(spi_r()), old_in);
  Header h;
  const auto in = open_ours(req, h);
  EXPECT_EQ(h.exchange, Exchange::create_child_sa);
  EXPECT_FALSE(h.initiator());  // the site began the IKE SA (§ 3.1)
  EXPECT_FALSE(h.response());
  EXPECT_EQ(h.message_id, 0u);  // our own IDs, from 0 (§ 2.3)
  const NotifyPayload* rekey = notify_of(in, kNotifyRekeySa);
  ASSERT_NE(rekey, nullptr);
  EXPECT_EQ(spi32(rekey->spi), old_in);  // the SA by the SPI we receive on
  EXPECT_EQ(find<KePayload>(in, PayloadType::ke), nullptr);  // no PFS asked for
  const Bytes& our_ni = find<NoncePayload>(in, PayloadType::nonce)->data;
  const uint32_t new_in = spi32(find<SaPayload>(in, PayloadType::sa)->proposals.at(0).spi);
  EXPECT_EQ(new_in & 63, 5u);  // the tunnel's class
  EXPECT_EQ(sa().children.size(), 1u);  // keys need the site's Nr: nothing installed before the answer

  const Bytes nr(32, 0x99);
  const Bytes del = send(accept_rekey(in, 0, 0xabcd0001, nr));
  ASSERT_EQ(sa().children.size(), 2u);  // make before break: old and new
  const ChildSa& fresh = sa().children.at(new_in);
  EXPECT_EQ(fresh.spi_out, 0xabcd0001u);
  // § 2.17: we initiated this exchange: initiator->responder keys are our outbound.
  const Bytes km = child_keymat(i.keys.sk_d, our_ni, nr, 72);
  EXPECT_EQ(fresh.enc_out, Bytes(km.begin(), km.begin() + 36));
  EXPECT_EQ(fresh.enc_in, Bytes(km.begin() + 36, km.end()));
  // The Delete of the old SA, our request 1.
  Header dh;
  const auto d = open_ours(del, dh);
  EXPECT_EQ(dh.exchange, Exchange::informational);
  EXPECT_EQ(dh.message_id, 1u);
  const auto* dp = find<DeletePayload>(d, PayloadType::del);
  ASSERT_NE(dp, nullptr);
  EXPECT_EQ(dp->spis, std::vector<Bytes>{spi_bytes(old_in)});
  EXPECT_TRUE(sa().children.count(old_in));  // still opening until the site answers
  EXPECT_TRUE(send(answer(Exchange::informational, 1,
                          {{PayloadType::del, false, DeletePayload{Protocol::esp, 4, {spi_bytes(0xc0ffee01)}}}}))
                  .empty());
  EXPECT_EQ(sa().children.size(), 1u);
  EXPECT_EQ(first_child(), new_in);
  EXPECT_TRUE(r.take_peer_deleted().empty());  // our Delete, answered: not the site's
  EXPECT_EQ(r.own_counters().child_rekeys_completed, 1u);
  EXPECT_EQ(r.own_counters().requests_sent, 2u);
  // The site's own requests still count from where they were (its window, not ours).
  EXPECT_FALSE(i.open(send(i.request(Exchange::informational, {}, i.next_id++))).size());
}

TEST_F(OwnRekeyTest, RetransmittedThenTheSaIsDeletedWithoutAnAnswer) {
  const Bytes req = r.rekey_child(spi_r(), first_child(), now);
  ASSERT_FALSE(req.empty());
  size_t resent = 0;
  for (int n = 0; n < 200 && !r.sas().empty(); ++n) {
    now += 250ms;
    for (auto& [spi, b] : r.tick(now)) {
      EXPECT_EQ(b, req);  // the same bytes (§ 2.1)
      ++resent;
    }
  }
  EXPECT_EQ(resent, 4u);  // 5 sends: 0.5 + 1 + 2 + 4 + 8 s
  EXPECT_TRUE(r.sas().empty());  // § 2.4: the peer is gone
  EXPECT_EQ(r.own_counters().timeouts, 1u);
}

TEST_F(OwnRekeyTest, RefusedLeavesTheOldSaUp) {
  const uint32_t old_in = first_child();
  const Bytes req = r.rekey_child(spi_r(), old_in, now);
  EXPECT_TRUE(send(answer(Exchange::create_child_sa, 0, {make_notify(kNotifyNoProposalChosen)})).empty());
  EXPECT_EQ(r.own_counters().child_rekeys_refused, 1u);
  ASSERT_EQ(sa().children.size(), 1u);
  EXPECT_EQ(first_child(), old_in);
  EXPECT_FALSE(r.request_outstanding(spi_r()));
  EXPECT_FALSE(r.rekey_child(spi_r(), old_in, now).empty());  // may try again
}

TEST_F(OwnRekeyTest, AnAnswerToNothingOfOursIsRefused) {
  EXPECT_TRUE(send(answer(Exchange::create_child_sa, 0, {})).empty());
  EXPECT_EQ(r.counters()[Refusal::old_message_id], 1u);
}

// § 2.8.1: both ends rekey the same Child SA at once. The site's request
// reaches us while ours is outstanding; both new SAs come up; the one made
// with the lowest of the four nonces is deleted by whoever made it.
void collide(OwnRekeyTest& t, const Bytes& site_ni, const Bytes& site_nr, bool ours_redundant) {
  const uint32_t old_in = t.first_child();
  const Bytes req = t.r.rekey_child(t.spi_r(), old_in, t.now);
  Header h;
  const auto ours = t.open_ours(req, h);
  const uint32_t our_new = spi32(find<SaPayload>(ours, PayloadType::sa)->proposals.at(0).spi);
  // The site's own rekey of the same SA (it names it by our outbound SPI).
  Proposal esp{1, Protocol::esp, {0xab, 0xcd, 0x00, 0x02}, {{TransformType::encr, kEncrAesGcm16, 256}}};
  esp.transforms.push_back({TransformType::esn, kEsnNo, 0});
  const std::vector<Payload> theirs{
      {PayloadType::notify, false, NotifyPayload{Protocol::esp, spi_bytes(0xc0ffee01), kNotifyRekeySa, {}}},
      {PayloadType::sa, false, SaPayload{{esp}}},
      {PayloadType::nonce, false, NoncePayload{site_ni}},
      {PayloadType::tsi, false, TsPayload{{ts({10, 50, 0, 0}, {10, 50, 0, 255})}}},
      {PayloadType::tsr, false, TsPayload{{ts({10, 60, 0, 0}, {10, 60, 0, 255})}}}};
  const auto ans = t.i.open(t.send(t.i.request(Exchange::create_child_sa, theirs, t.i.next_id++)));
  const uint32_t their_new = spi32(find<SaPayload>(ans, PayloadType::sa)->proposals.at(0).spi);
  ASSERT_EQ(t.sa().children.size(), 2u);
  // Now the site answers ours.
  const Bytes del = t.send(t.accept_rekey(ours, 0, 0xabcd0003, site_nr));
  ASSERT_EQ(t.sa().children.size(), 3u);
  EXPECT_EQ(t.r.own_counters().collisions, 1u);
  Header dh;
  const auto d = t.open_ours(del, dh);
  const auto* dp = find<DeletePayload>(d, PayloadType::del);
  ASSERT_NE(dp, nullptr);
  // Ours redundant: we delete the SA we made (the site deletes the old one);
  // else we made the survivor and delete the old SA (the site its own).
  EXPECT_EQ(dp->spis, std::vector<Bytes>{spi_bytes(ours_redundant ? our_new : old_in)});
  (void)their_new;
}

TEST_F(OwnRekeyTest, CollisionOursHasTheLowestNonceAndIsDeleted) {
  // Our SA's nonces: our random Ni, the site's Nr = 00..00: the lowest.
  collide(*this, Bytes(32, 0x01), Bytes(32, 0x00), true);
}

TEST_F(OwnRekeyTest, CollisionTheirsHasTheLowestNonceWeDeleteTheOldSa) {
  // The site's SA: its Ni = 00..00, the lowest; our Nr random.
  collide(*this, Bytes(32, 0x00), Bytes(32, 0xff), false);
}

}  // namespace
}  // namespace wp::ike
