// The IKEv2 responder (dataplane/control/ike/ike_responder.h) driven by an
// initiator built here from the codec and crypto primitives (whose keys and
// AUTH values ike_crypto_test checks against strongSwan): a full IKE_SA_INIT
// + IKE_AUTH with a Child SA whose responder AUTH and KEYMAT the initiator
// verifies independently; wrong PSK, unknown ID, no common proposal, the
// wrong KE group then a retry, a retransmitted request, out-of-window IDs,
// traffic selectors that do not overlap, liveness and Delete, Child SA rekey
// (with and without PFS) and its refusals, IKE SA rekey, half-open expiry,
// INITIAL_CONTACT.
#include "dataplane/control/ike/ike_responder.h"
#include "dataplane/ipsec/esp_owner.h"
#include "tests/unit/ike_test_initiator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

namespace wp::ike {
namespace {

ResponderConfig config() {
  PeerConfig p = site1_psk_peer();
  p.esp_suites = {EspSuite{kEncrAesGcm16, 0, false}, EspSuite{kEncrAesCbc, kIntegHmacSha256_128, false},
                  EspSuite{kEncrAesCbc, kIntegHmacSha256_128, true}};
  p.tunnel = 37;  // our inbound SPIs carry its class (the owner rule for ESP)
  ResponderConfig c;
  c.ike_suites = {IkeSuite{kEncrAesCbc, 256, kIntegHmacSha256_128, kPrfHmacSha256, kDhModp2048},
                  IkeSuite{kEncrAesGcm16, 256, 0, kPrfHmacSha256, kDhEcp256}};
  c.peers = {p};
  return c;
}

struct IkeResponderTest : ::testing::Test {
  std::vector<std::string> logs;
  Responder r{config(), [this](const std::string& l) { logs.push_back(l); }};
  TestInitiator i;

  Bytes send(const Bytes& d) { return r.handle(d, kSite, kHeadend); }
  void establish() {
    ASSERT_TRUE(i.accept(send(i.sa_init({ike_proposal(1, config().ike_suites[0])}, kDhModp2048))));
    const auto out = i.open(send(i.auth(kPsk)));
    ASSERT_NE(find<AuthPayload>(out, PayloadType::auth), nullptr);
  }
  const IkeSa& only_sa() {
    EXPECT_EQ(r.sas().size(), 1u);
    return *r.sas().begin()->second;
  }
};

TEST_F(IkeResponderTest, FullExchangeEstablishesTheIkeSaAndTheChildSa) {
  // Two proposals we do not have (3DES, then GCM with group 14), then ours.
  Proposal des{1, Protocol::ike, {}, {{TransformType::encr, 3, 0}, {TransformType::prf, kPrfHmacSha256, 0}}};
  des.transforms.push_back({TransformType::integ, kIntegHmacSha256_128, 0});
  des.transforms.push_back({TransformType::dh, kDhModp2048, 0});
  const Bytes resp = send(i.sa_init({des, ike_proposal(2, config().ike_suites[1])}, kDhEcp256));
  Message m;
  const ParseResult pr = parse_message(resp, m);
  ASSERT_TRUE(pr.ok()) << ike_error_name(pr.error) << " at " << pr.offset << " of " << resp.size();
  EXPECT_EQ(m.get<SaPayload>(PayloadType::sa)->proposals.at(0).number, 2);
  // NAT detection (§ 2.23) over the response header's SPIs.
  EXPECT_EQ(m.notify(kNotifyNatSourceIp)->data, nat_hash(i.spi_i, m.header.spi_r, kHeadend));
  EXPECT_EQ(m.notify(kNotifyNatDestinationIp)->data, nat_hash(i.spi_i, m.header.spi_r, kSite));
  ASSERT_TRUE(i.accept(resp));
  EXPECT_TRUE(i.suite.aead());

  const auto out = i.open(send(i.auth(kPsk)));
  const auto* idr = find<IdPayload>(out, PayloadType::idr);
  ASSERT_NE(idr, nullptr);
  EXPECT_EQ(idr->data, bytes("headend.example"));
  // The responder's AUTH, checked by the initiator (§ 2.15).
  const Bytes want = psk_auth(bytes(kPsk), i.keys.sk_pr, i.init_response, i.ni, id_body(*idr));
  EXPECT_TRUE(equal_ct(find<AuthPayload>(out, PayloadType::auth)->data, want));
  // The Child SA: CBC + HMAC with ESN (the only one offered), selectors narrowed.
  const auto* sa = find<SaPayload>(out, PayloadType::sa);
  ASSERT_NE(sa, nullptr);
  EXPECT_EQ(sa->proposals.at(0).protocol, Protocol::esp);
  EXPECT_EQ(find<TsPayload>(out, PayloadType::tsr)->selectors.at(0), ts({10, 60, 0, 0}, {10, 60, 0, 255}));
  const IkeSa& state = only_sa();
  EXPECT_EQ(state.state, IkeSaState::established);
  EXPECT_EQ(state.remote_id, "site1.example");
  ASSERT_EQ(state.children.size(), 1u);
  const ChildSa& c = state.children.begin()->second;
  EXPECT_EQ(c.spi_out, 0xc0ffee01u);
  const Bytes& our_spi = sa->proposals[0].spi;
  EXPECT_EQ(c.spi_in, uint32_t(our_spi[0]) << 24 | uint32_t(our_spi[1]) << 16 | uint32_t(our_spi[2]) << 8 | our_spi[3]);
  EXPECT_EQ(class_of_spi(c.spi_in), 37u);
  EXPECT_GT(c.spi_in, 255u);
  EXPECT_TRUE(c.suite.esn);
  // KEYMAT (§ 2.17): initiator->responder encryption, integrity, then the other way.
  const Bytes km = child_keymat(i.keys.sk_d, i.ni, i.nr, 128);
  EXPECT_EQ(c.enc_in, Bytes(km.begin(), km.begin() + 32));
  EXPECT_EQ(c.integ_in, Bytes(km.begin() + 32, km.begin() + 64));
  EXPECT_EQ(c.enc_out, Bytes(km.begin() + 64, km.begin() + 96));
  EXPECT_EQ(c.integ_out, Bytes(km.begin() + 96, km.end()));
  EXPECT_EQ(r.counters().ike_sas_established, 1u);
  EXPECT_EQ(r.counters().child_sas_installed, 1u);
}

TEST_F(IkeResponderTest, WrongPskIsAuthenticationFailedAndTheSaIsGone) {
  ASSERT_TRUE(i.accept(send(i.sa_init({ike_proposal(1, config().ike_suites[0])}, kDhModp2048))));
  const auto out = i.open(send(i.auth("not-the-psk")));
  EXPECT_NE(notify_of(out, kNotifyAuthenticationFailed), nullptr);
  EXPECT_EQ(find<AuthPayload>(out, PayloadType::auth), nullptr);
  EXPECT_EQ(r.counters()[Refusal::authentication_failed], 1u);
  EXPECT_TRUE(r.sas().empty());
  ASSERT_FALSE(logs.empty());
  EXPECT_NE(logs.back().find("10.78.0.1:500"), std::string::npos);
  EXPECT_EQ(logs.back().find("not-the-psk"), std::string::npos);
}

TEST_F(IkeResponderTest, UnknownIdIsAuthenticationFailed) {
  ASSERT_TRUE(i.accept(send(i.sa_init({ike_proposal(1, config().ike_suites[0])}, kDhModp2048))));
  const auto out = i.open(send(i.auth(kPsk, "intruder.example")));
  EXPECT_NE(notify_of(out, kNotifyAuthenticationFailed), nullptr);
  EXPECT_EQ(r.counters()[Refusal::unknown_id], 1u);
}

TEST_F(IkeResponderTest, NoCommonProposalIsNoProposalChosen) {
  IkeSuite ecp_cbc{kEncrAesCbc, 128, kIntegHmacSha256_128, kPrfHmacSha256, kDhEcp256};  // AES-128: not ours
  Message m;
  ASSERT_TRUE(parse_message(send(i.sa_init({ike_proposal(1, ecp_cbc)}, kDhEcp256)), m).ok());
  ASSERT_NE(m.notify(kNotifyNoProposalChosen), nullptr);
  EXPECT_EQ(m.header.spi_r, 0u);
  EXPECT_EQ(r.counters()[Refusal::no_proposal_chosen], 1u);
  EXPECT_TRUE(r.sas().empty());
}

TEST_F(IkeResponderTest, WrongKeGroupIsInvalidKePayloadThenTheRetrySucceeds) {
  Message m;
  ASSERT_TRUE(parse_message(send(i.sa_init({ike_proposal(1, config().ike_suites[0])}, kDhEcp256)), m).ok());
  const NotifyPayload* n = m.notify(kNotifyInvalidKePayload);
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->data, (Bytes{0, kDhModp2048}));
  EXPECT_TRUE(r.sas().empty());
  EXPECT_EQ(r.counters()[Refusal::invalid_ke_payload], 1u);
  ASSERT_TRUE(i.accept(send(i.sa_init({ike_proposal(1, config().ike_suites[0])}, kDhModp2048))));
  EXPECT_NE(find<AuthPayload>(i.open(send(i.auth(kPsk))), PayloadType::auth), nullptr);
}

TEST_F(IkeResponderTest, RetransmittedRequestsGetTheSameBytes) {
  const Bytes init = i.sa_init({ike_proposal(1, config().ike_suites[0])}, kDhModp2048);
  const Bytes first = send(init);
  EXPECT_EQ(send(init), first);
  ASSERT_TRUE(i.accept(first));
  const Bytes auth = i.auth(kPsk);
  const Bytes resp = send(auth);
  EXPECT_EQ(send(auth), resp);
  EXPECT_EQ(r.counters().retransmits, 2u);
  EXPECT_EQ(r.counters().ike_sas_established, 1u);
  EXPECT_EQ(only_sa().children.size(), 1u);
  // Outside the window of 1: an old ID and a future one are dropped.
  EXPECT_TRUE(send(i.request(Exchange::informational, {}, 0)).empty());
  EXPECT_TRUE(send(i.request(Exchange::informational, {}, 5)).empty());
  EXPECT_EQ(r.counters()[Refusal::old_message_id], 1u);
  EXPECT_EQ(r.counters()[Refusal::future_message_id], 1u);
}

TEST_F(IkeResponderTest, TamperedRequestIsDroppedUnanswered) {
  ASSERT_TRUE(i.accept(send(i.sa_init({ike_proposal(1, config().ike_suites[0])}, kDhModp2048))));
  Bytes auth = i.auth(kPsk);
  auth[auth.size() - 20] ^= 1;
  EXPECT_TRUE(send(auth).empty());
  EXPECT_EQ(r.counters()[Refusal::integrity_failed], 1u);
  EXPECT_TRUE(send(Bytes{1, 2, 3}).empty());
  EXPECT_EQ(r.counters()[Refusal::malformed], 1u);
  EXPECT_EQ(r.counters().parse_errors[static_cast<size_t>(IkeError::truncated_header)], 1u);
}

TEST_F(IkeResponderTest, DisjointSelectorsAreTsUnacceptableButTheIkeSaStays) {
  ASSERT_TRUE(i.accept(send(i.sa_init({ike_proposal(1, config().ike_suites[0])}, kDhModp2048))));
  const auto out = i.open(send(i.auth(kPsk, "site1.example", true, {ts({10, 99, 0, 0}, {10, 99, 0, 255})})));
  EXPECT_NE(notify_of(out, kNotifyTsUnacceptable), nullptr);
  EXPECT_NE(find<AuthPayload>(out, PayloadType::auth), nullptr);
  EXPECT_EQ(only_sa().state, IkeSaState::established);
  EXPECT_TRUE(only_sa().children.empty());
  EXPECT_EQ(r.counters()[Refusal::ts_unacceptable], 1u);
}

TEST_F(IkeResponderTest, LivenessThenChildDeleteThenIkeDelete) {
  establish();
  EXPECT_TRUE(i.open(send(i.request(Exchange::informational, {}, i.next_id++))).empty());
  const uint32_t ours = only_sa().children.begin()->first;
  const DeletePayload del_child{Protocol::esp, 4, {{0xc0, 0xff, 0xee, 0x01}}};
  const auto out =
      i.open(send(i.request(Exchange::informational, {{PayloadType::del, false, del_child}}, i.next_id++)));
  const auto* d = find<DeletePayload>(out, PayloadType::del);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->spis.at(0), (Bytes{uint8_t(ours >> 24), uint8_t(ours >> 16), uint8_t(ours >> 8), uint8_t(ours)}));
  EXPECT_TRUE(only_sa().children.empty());
  EXPECT_EQ(r.take_peer_deleted(), std::vector<uint32_t>{ours});  // the site's own Delete (IkeService counts it)
  EXPECT_TRUE(r.take_peer_deleted().empty());
  const DeletePayload del_ike{Protocol::ike, 0, {}};
  EXPECT_TRUE(
      i.open(send(i.request(Exchange::informational, {{PayloadType::del, false, del_ike}}, i.next_id++))).empty());
  EXPECT_TRUE(r.sas().empty());
  EXPECT_EQ(r.counters().ike_sas_deleted, 1u);
  EXPECT_EQ(r.counters().child_sas_deleted, 1u);
}

// CREATE_CHILD_SA for a Child SA: REKEY_SA of the first one (unless
// `rekey_spi` is 0), a new ESP SPI, optionally a DH group and a KE.
struct ChildRequest {
  std::vector<Payload> payloads;
  Bytes ni = Bytes(32, 0x77);
  std::unique_ptr<DhKey> dh;
};
ChildRequest child_request(uint32_t rekey_spi, uint16_t dh_group, uint16_t ke_group) {
  ChildRequest c;
  Proposal esp{1, Protocol::esp, {0xc0, 0xff, 0xee, 0x02}, {{TransformType::encr, kEncrAesGcm16, 256}}};
  if (dh_group) esp.transforms.push_back({TransformType::dh, dh_group, 0});
  esp.transforms.push_back({TransformType::esn, kEsnNo, 0});
  if (rekey_spi)
    c.payloads.push_back({PayloadType::notify, false,
                          NotifyPayload{Protocol::esp,
                                        {uint8_t(rekey_spi >> 24), uint8_t(rekey_spi >> 16), uint8_t(rekey_spi >> 8),
                                         uint8_t(rekey_spi)},
                                        kNotifyRekeySa,
                                        {}}});
  c.payloads.push_back({PayloadType::sa, false, SaPayload{{esp}}});
  c.payloads.push_back({PayloadType::nonce, false, NoncePayload{c.ni}});
  if (ke_group) {
    std::string err;
    c.dh = DhKey::generate(ke_group, err);
    c.payloads.push_back({PayloadType::ke, false, KePayload{ke_group, c.dh->public_value()}});
  }
  c.payloads.push_back({PayloadType::tsi, false, TsPayload{{ts({10, 50, 0, 0}, {10, 50, 0, 255})}}});
  c.payloads.push_back({PayloadType::tsr, false, TsPayload{{ts({10, 60, 0, 0}, {10, 60, 0, 255})}}});
  return c;
}

void expect_keymat(const ChildSa& c, const Bytes& km) {
  EXPECT_EQ(c.enc_in, Bytes(km.begin(), km.begin() + 36));  // GCM: key + salt, no integrity key
  EXPECT_EQ(c.enc_out, Bytes(km.begin() + 36, km.end()));
  EXPECT_TRUE(c.integ_in.empty());
}

TEST_F(IkeResponderTest, RekeyChildSaMakesTheNewOneBeforeTheOldIsDeleted) {
  establish();
  const uint32_t old_in = only_sa().children.begin()->first;
  const ChildRequest req = child_request(0xc0ffee01, 0, 0);
  const auto out = i.open(send(i.request(Exchange::create_child_sa, req.payloads, i.next_id++)));
  const auto* sa = find<SaPayload>(out, PayloadType::sa);
  ASSERT_NE(sa, nullptr);
  EXPECT_EQ(find<KePayload>(out, PayloadType::ke), nullptr);
  const Bytes& nr = find<NoncePayload>(out, PayloadType::nonce)->data;
  ASSERT_EQ(only_sa().children.size(), 2u);  // both until the initiator deletes the old one (§ 2.8)
  const Bytes& spi = sa->proposals.at(0).spi;
  const ChildSa& fresh =
      only_sa().children.at(uint32_t(spi[0]) << 24 | uint32_t(spi[1]) << 16 | uint32_t(spi[2]) << 8 | spi[3]);
  EXPECT_EQ(fresh.spi_out, 0xc0ffee02u);
  expect_keymat(fresh, child_keymat(i.keys.sk_d, req.ni, nr, 72));  // new nonces, no g^ir
  EXPECT_TRUE(fresh.seal_deferred);  // the site's rekey: our outbound waits (§ 2.8)
  const DeletePayload del{Protocol::esp, 4, {{0xc0, 0xff, 0xee, 0x01}}};
  i.open(send(i.request(Exchange::informational, {{PayloadType::del, false, del}}, i.next_id++)));
  ASSERT_EQ(only_sa().children.size(), 1u);
  const uint32_t new_in = only_sa().children.begin()->first;
  EXPECT_NE(new_in, old_in);
  EXPECT_EQ(r.take_peer_deleted(), std::vector<uint32_t>{old_in});  // the site's Delete
  // The IKE service moved our outbound to it: installed again, it seals at once.
  EXPECT_TRUE(r.child_sealed(new_in));
  EXPECT_FALSE(only_sa().children.begin()->second.seal_deferred);
  EXPECT_FALSE(r.child_sealed(old_in));
}

TEST_F(IkeResponderTest, RekeyWithPfsMixesTheNewSharedSecret) {
  establish();
  const ChildRequest req = child_request(0xc0ffee01, kDhEcp256, kDhEcp256);
  const auto out = i.open(send(i.request(Exchange::create_child_sa, req.payloads, i.next_id++)));
  const auto* ke = find<KePayload>(out, PayloadType::ke);
  ASSERT_NE(ke, nullptr);
  Bytes g_ir;
  std::string err;
  ASSERT_TRUE(req.dh->shared_secret(ke->data, g_ir, err)) << err;
  const Bytes& nr = find<NoncePayload>(out, PayloadType::nonce)->data;
  const auto& answer = find<SaPayload>(out, PayloadType::sa)->proposals.at(0);
  EXPECT_NE(std::find(answer.transforms.begin(), answer.transforms.end(), Transform{TransformType::dh, kDhEcp256, 0}),
            answer.transforms.end());
  const Bytes& spi = answer.spi;
  const ChildSa& fresh =
      only_sa().children.at(uint32_t(spi[0]) << 24 | uint32_t(spi[1]) << 16 | uint32_t(spi[2]) << 8 | spi[3]);
  expect_keymat(fresh, child_keymat(i.keys.sk_d, req.ni, nr, 72, g_ir));
}

TEST_F(IkeResponderTest, CreateChildSaRefusals) {
  establish();
  // PFS group 14 proposed, KE of group 19: INVALID_KE_PAYLOAD naming 14.
  auto out = i.open(
      send(i.request(Exchange::create_child_sa, child_request(0, kDhModp2048, kDhEcp256).payloads, i.next_id++)));
  ASSERT_NE(notify_of(out, kNotifyInvalidKePayload), nullptr);
  EXPECT_EQ(notify_of(out, kNotifyInvalidKePayload)->data, (Bytes{0, kDhModp2048}));
  // REKEY_SA of a Child SA that does not exist.
  out = i.open(send(i.request(Exchange::create_child_sa, child_request(0xdead, 0, 0).payloads, i.next_id++)));
  EXPECT_NE(notify_of(out, kNotifyChildSaNotFound), nullptr);
  // Rekeying the IKE SA without a KE: INVALID_KE_PAYLOAD naming our group.
  Proposal ike = ike_proposal(1, config().ike_suites[0]);
  ike.spi = Bytes(8, 0x42);
  out = i.open(send(
      i.request(Exchange::create_child_sa,
                {{PayloadType::sa, false, SaPayload{{ike}}}, {PayloadType::nonce, false, NoncePayload{Bytes(32, 1)}}},
                i.next_id++)));
  ASSERT_NE(notify_of(out, kNotifyInvalidKePayload), nullptr);
  EXPECT_EQ(notify_of(out, kNotifyInvalidKePayload)->data, (Bytes{0, kDhModp2048}));
  EXPECT_EQ(r.counters()[Refusal::invalid_ke_payload], 2u);
  EXPECT_EQ(r.counters()[Refusal::child_sa_not_found], 1u);
  EXPECT_EQ(only_sa().children.size(), 1u);
}

// § 1.3.2, § 2.18: the new IKE SA's keys, computed here from prf and prf+
// alone, open its answers; the Child SA moves to it; the old one is deleted.
TEST_F(IkeResponderTest, RekeyIkeSaMovesTheChildSas) {
  establish();
  const uint64_t old_spi_r = only_sa().spi_r;
  Proposal ike = ike_proposal(1, config().ike_suites[0]);
  ike.spi = {0, 0, 0, 0, 0, 0, 0xab, 0xcd};
  std::string err;
  auto dh = DhKey::generate(kDhModp2048, err);
  const Bytes ni(32, 0x44);
  const auto out = i.open(send(i.request(Exchange::create_child_sa,
                                         {{PayloadType::sa, false, SaPayload{{ike}}},
                                          {PayloadType::nonce, false, NoncePayload{ni}},
                                          {PayloadType::ke, false, KePayload{kDhModp2048, dh->public_value()}}},
                                         i.next_id++)));
  const auto* answer = find<SaPayload>(out, PayloadType::sa);
  ASSERT_NE(answer, nullptr);
  ASSERT_EQ(answer->proposals.at(0).spi.size(), 8u);
  uint64_t new_spi_r = 0;
  for (uint8_t b : answer->proposals[0].spi) new_spi_r = new_spi_r << 8 | b;
  Bytes g_ir;
  ASSERT_TRUE(dh->shared_secret(find<KePayload>(out, PayloadType::ke)->data, g_ir, err)) << err;
  const Bytes& nr = find<NoncePayload>(out, PayloadType::nonce)->data;
  ASSERT_EQ(r.sas().size(), 2u);
  EXPECT_EQ(r.counters().ike_sas_rekeyed, 1u);
  EXPECT_TRUE(r.sas().at(old_spi_r)->children.empty());
  EXPECT_EQ(r.sas().at(new_spi_r)->children.size(), 1u);

  TestInitiator next;
  next.suite = i.suite;
  next.spi_i = 0xabcd;
  next.spi_r = new_spi_r;
  Bytes seed = g_ir;
  seed.insert(seed.end(), ni.begin(), ni.end());
  seed.insert(seed.end(), nr.begin(), nr.end());
  const Bytes skeyseed = prf(i.keys.sk_d, seed);
  Bytes s2 = ni;
  s2.insert(s2.end(), nr.begin(), nr.end());
  for (uint64_t spi : {next.spi_i, next.spi_r})
    for (int k = 7; k >= 0; --k) s2.push_back(static_cast<uint8_t>(spi >> (8 * k)));
  const Bytes km = prf_plus(skeyseed, s2, 32 * 7);  // d, ai, ar, ei, er, pi, pr: 32 bytes each with CBC
  auto key = [&](int n) { return Bytes(km.begin() + 32 * n, km.begin() + 32 * (n + 1)); };
  next.keys.sk_d = key(0), next.keys.sk_ai = key(1), next.keys.sk_ar = key(2);
  next.keys.sk_ei = key(3), next.keys.sk_er = key(4);
  // The new SA's first request has ID 0 (§ 2.18) and opens with the new keys.
  EXPECT_TRUE(next.open(send(next.request(Exchange::informational, {}, 0))).empty());
  // The initiator deletes the old IKE SA: its Child SA lives on in the new one.
  const DeletePayload del_ike{Protocol::ike, 0, {}};
  i.open(send(i.request(Exchange::informational, {{PayloadType::del, false, del_ike}}, i.next_id++)));
  EXPECT_EQ(only_sa().spi_r, new_spi_r);
  EXPECT_EQ(only_sa().children.size(), 1u);
  EXPECT_EQ(r.counters().child_sas_deleted, 0u);
}

TEST_F(IkeResponderTest, HalfOpenSasExpire) {
  ASSERT_TRUE(i.accept(send(i.sa_init({ike_proposal(1, config().ike_suites[0])}, kDhModp2048))));
  r.expire_half_open(std::chrono::steady_clock::now(), std::chrono::seconds(30));
  EXPECT_EQ(r.sas().size(), 1u);  // young: kept
  r.expire_half_open(std::chrono::steady_clock::now() + std::chrono::seconds(31), std::chrono::seconds(30));
  EXPECT_TRUE(r.sas().empty());
  EXPECT_EQ(r.counters()[Refusal::half_open_expired], 1u);
  EXPECT_TRUE(send(i.auth(kPsk)).empty());
  EXPECT_EQ(r.counters()[Refusal::unknown_spi], 1u);
}

TEST_F(IkeResponderTest, InitialContactDeletesThePeersOlderSa) {
  establish();
  const uint64_t old_spi = only_sa().spi_r;
  r.expire_half_open(std::chrono::steady_clock::now() + std::chrono::hours(1), std::chrono::seconds(30));
  EXPECT_EQ(r.sas().size(), 1u);  // established SAs never expire as half-open
  TestInitiator again;                // the site restarted: new SPI, INITIAL_CONTACT (§ 2.4)
  again.spi_i = 0x99;
  again.initial_contact = true;
  ASSERT_TRUE(again.accept(send(again.sa_init({ike_proposal(1, config().ike_suites[0])}, kDhModp2048))));
  EXPECT_EQ(r.sas().size(), 2u);
  EXPECT_NE(find<AuthPayload>(again.open(send(again.auth(kPsk))), PayloadType::auth), nullptr);
  ASSERT_EQ(r.sas().size(), 1u);
  EXPECT_NE(only_sa().spi_r, old_spi);
  EXPECT_EQ(only_sa().spi_i, 0x99u);
  EXPECT_EQ(r.counters().ike_sas_deleted, 1u);
}

// § 2.6: from cookie_threshold half-open SAs on, IKE_SA_INIT needs our COOKIE.
TEST(IkeResponderCookies, AskedAboveTheThresholdCheckedAndRotated) {
  ResponderConfig cfg = config();
  cfg.cookie_threshold = 1;
  Responder r(cfg, [](const std::string&) {});
  auto send = [&](const Bytes& d) { return r.handle(d, kSite, kHeadend); };
  const Proposal p = ike_proposal(1, cfg.ike_suites[0]);
  TestInitiator a;  // below the threshold: no cookie asked
  ASSERT_TRUE(a.accept(send(a.sa_init({p}, kDhModp2048))));
  EXPECT_EQ(r.half_open(), 1u);
  TestInitiator b;
  b.spi_i = 0xb;
  Message m;
  ASSERT_TRUE(parse_message(send(b.sa_init({p}, kDhModp2048)), m).ok());
  ASSERT_NE(m.notify(kNotifyCookie), nullptr);
  EXPECT_EQ(m.header.spi_r, 0u);
  EXPECT_EQ(r.sas().size(), 1u);  // no state for b
  EXPECT_EQ(r.counters()[Refusal::cookie_required], 1u);
  b.cookie = m.notify(kNotifyCookie)->data;
  Bytes tampered = b.cookie;
  tampered.back() ^= 1;
  std::swap(b.cookie, tampered);
  EXPECT_FALSE(b.accept(send(b.sa_init({p}, kDhModp2048))));  // a COOKIE again
  EXPECT_EQ(r.counters()[Refusal::bad_cookie], 1u);
  std::swap(b.cookie, tampered);
  r.rotate_cookie_secret();  // the previous secret still counts
  ASSERT_TRUE(b.accept(send(b.sa_init({p}, kDhModp2048))));
  EXPECT_EQ(r.half_open(), 2u);
  // The second IKE_SA_INIT, cookie included, is the one the AUTH covers.
  EXPECT_NE(find<AuthPayload>(b.open(send(b.auth(kPsk))), PayloadType::auth), nullptr);
  EXPECT_NE(find<AuthPayload>(a.open(send(a.auth(kPsk))), PayloadType::auth), nullptr);
  EXPECT_EQ(r.half_open(), 0u);
  // Two rotations later a cookie is stale.
  TestInitiator c;
  c.spi_i = 0xc;
  ASSERT_TRUE(c.accept(send(c.sa_init({p}, kDhModp2048))));  // under the threshold again
  TestInitiator d;
  d.spi_i = 0xd;
  ASSERT_TRUE(parse_message(send(d.sa_init({p}, kDhModp2048)), m).ok());
  ASSERT_NE(m.notify(kNotifyCookie), nullptr);
  d.cookie = m.notify(kNotifyCookie)->data;
  r.rotate_cookie_secret();
  r.rotate_cookie_secret();
  ASSERT_TRUE(parse_message(send(d.sa_init({p}, kDhModp2048)), m).ok());
  EXPECT_NE(m.notify(kNotifyCookie), nullptr);
  EXPECT_EQ(r.counters()[Refusal::bad_cookie], 2u);
}

// strongSwan's IKE_SA_INIT response (tests/data/ike): its NAT_DETECTION_DESTINATION_IP
// is SHA-1 over both SPIs of the header and the initiator's address and port.
TEST(IkeNatDetection, MatchesStrongSwansResponse) {
  std::ifstream in(std::filesystem::path(WP_SOURCE_DIR) / "tests/data/ike/strongswan_psk_aes256_sha256_modp2048.txt");
  std::string line, hex;
  while (std::getline(in, line))
    if (line.rfind("msg2=", 0) == 0) hex = line.substr(5);
  ASSERT_FALSE(hex.empty());
  Bytes msg;
  for (size_t k = 0; k + 1 < hex.size(); k += 2)
    msg.push_back(static_cast<uint8_t>(std::stoi(hex.substr(k, 2), nullptr, 16)));
  Message m;
  ASSERT_TRUE(parse_message(msg, m).ok());
  ASSERT_NE(m.notify(kNotifyNatDestinationIp), nullptr);
  EXPECT_EQ(m.notify(kNotifyNatDestinationIp)->data, nat_hash(m.header.spi_i, m.header.spi_r, kSite));
}

TEST(IkeNarrowing, IntersectsAddressesPortsAndProtocols) {
  TrafficSelector wide = ts({10, 0, 0, 0}, {10, 255, 255, 255});
  TrafficSelector web = ts({10, 1, 2, 0}, {10, 1, 3, 255});
  web.ip_protocol = 6;
  web.start_port = web.end_port = 443;
  const auto n = narrow({wide}, {web});
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(n[0], web);
  EXPECT_TRUE(narrow({ts({192, 168, 0, 0}, {192, 168, 0, 255})}, {wide}).empty());
}

}  // namespace
}  // namespace wp::ike
