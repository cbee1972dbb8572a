// The peer's CREATE_CHILD_SA on an IKE SA we initiated
// (dataplane/control/ike/ike_initiator_peer.cc), against our responder
// in-process as the peer: its Child SA rekey answered (the new SA in place
// before the answer leaves, the keys equal on both sides, the old SA gone
// with the peer's Delete, our next rekey on the peer's SA), with PFS; a new
// Child SA with a hand-made request whose KEYMAT the test derives itself;
// refusals; § 2.8.1 collisions of our rekey with the peer's of the same Child
// SA in both orders (the peer's request before our answer: the nonce rule,
// both outcomes; our answer first: the peer's request answered
// TEMPORARY_FAILURE). The peer's IKE SA rekey: ike_initiator_ike_rekey_test.
#include "tests/unit/ike_initiator_peer_fixture.h"

namespace wp::ike {
namespace {

uint32_t spi32(const Bytes& b) { return uint32_t(b[0]) << 24 | uint32_t(b[1]) << 16 | uint32_t(b[2]) << 8 | b[3]; }

TEST_F(InitiatorPeerTest, PeerRekeysOurChildSaMakeBeforeBreak) {
  const uint32_t old_in = i->child()->spi_in;
  const Bytes req = r->rekey_child(peer_spi(), peer_child_of(old_in), now);
  ASSERT_FALSE(req.empty());
  const Bytes answer = i->handle(req, now);
  ASSERT_FALSE(answer.empty());
  // Before the answer leaves: the new SA is ours (inbound and outbound), the
  // old one still there, and the new one is the newest (it seals).
  EXPECT_EQ(i->child_count(), 2u);
  EXPECT_NE(i->child()->spi_in, old_in);
  EXPECT_EQ(class_of_spi(i->child()->spi_in), tunnel_class(5));
  EXPECT_EQ(i->counters().peer_child_rekeys, 1u);
  // The peer installs it and deletes the old SA; we answer that Delete.
  const Bytes del = to_peer(answer);
  ASSERT_FALSE(del.empty());
  EXPECT_EQ(peer_sa().children.size(), 2u);
  expect_pairs();
  const Bytes del_answer = i->handle(del, now);
  ASSERT_FALSE(del_answer.empty());
  EXPECT_EQ(i->child_count(), 1u);
  EXPECT_EQ(i->sa()->children.count(old_in), 0u);
  EXPECT_TRUE(to_peer(del_answer).empty());
  EXPECT_EQ(peer_sa().children.size(), 1u);
  expect_pairs();
  EXPECT_EQ(r->own_counters().child_rekeys_completed, 1u);
  // Our own next rekey takes the peer's SA, and a retransmitted request of
  // the peer's gets our stored answer byte for byte.
  EXPECT_EQ(i->handle(del, now), del_answer);
  exchange(i->rekey_child(now), false);
  EXPECT_EQ(i->counters().child_sas_rekeyed, 1u);
  EXPECT_EQ(i->child_count(), 1u);
  expect_pairs();
  EXPECT_EQ(i->counters()[InitFailure::unexpected_message], 0u);
  EXPECT_TRUE(logged("Child SA rekeyed by the peer"));
}

TEST_F(InitiatorPeerTest, PeerRekeyWithPfsAnsweredWithOurKe) {
  // Our ESP suites name no DH group, so the peer's KE must be one its
  // proposals name: a proposal with group 19 and its KE.
  const uint32_t old_in = i->child()->spi_in;
  Proposal esp{1, Protocol::esp, {0x0a, 0x0b, 0x0c, 0x0d}, {{TransformType::encr, kEncrAesGcm16, 256}}};
  esp.transforms.push_back({TransformType::dh, kDhEcp256, 0});
  esp.transforms.push_back({TransformType::esn, kEsnNo, 0});
  std::string err;
  auto dh = DhKey::generate(kDhEcp256, err);
  ASSERT_NE(dh, nullptr) << err;
  const Bytes ni(32, 0x21);
  const std::vector<Payload> req{
      {PayloadType::notify, false, NotifyPayload{Protocol::esp, spi_bytes(i->child()->spi_out), kNotifyRekeySa, {}}},
      {PayloadType::sa, false, SaPayload{{esp}}},
      {PayloadType::nonce, false, NoncePayload{ni}},
      {PayloadType::ke, false, KePayload{kDhEcp256, dh->public_value()}},
      {PayloadType::tsi, false, TsPayload{{ts({10, 60, 0, 0}, {10, 60, 0, 255})}}},
      {PayloadType::tsr, false, TsPayload{{ts({10, 50, 0, 0}, {10, 50, 0, 255})}}}};
  Header h;
  const auto ans = open_answer(i->handle(peer_request(Exchange::create_child_sa, req, 0), now), h);
  EXPECT_TRUE(h.initiator() && h.response());
  EXPECT_EQ(h.message_id, 0u);
  const auto* sa = find<SaPayload>(ans, PayloadType::sa);
  const auto* nr = find<NoncePayload>(ans, PayloadType::nonce);
  const auto* ke = find<KePayload>(ans, PayloadType::ke);
  ASSERT_TRUE(sa && nr && ke);
  EXPECT_EQ(ke->group, kDhEcp256);
  Bytes g_ir;
  ASSERT_TRUE(dh->shared_secret(ke->data, g_ir, err)) << err;
  // KEYMAT = prf+(SK_d, g^ir | Ni | Nr), the peer's (initiator->responder) keys first.
  const uint32_t our_in = spi32(sa->proposals.at(0).spi);
  ASSERT_EQ(i->sa()->children.count(our_in), 1u);
  const ChildSa& c = i->sa()->children.at(our_in);
  const Bytes km = child_keymat(peer_sa().keys.sk_d, ni, nr->data, 72, g_ir);
  EXPECT_EQ(c.enc_in, Bytes(km.begin(), km.begin() + 36));
  EXPECT_EQ(c.enc_out, Bytes(km.begin() + 36, km.end()));
  EXPECT_EQ(c.spi_out, 0x0a0b0c0du);
  EXPECT_EQ(i->sa()->children.size(), 2u);
  EXPECT_NE(our_in, old_in);
  EXPECT_TRUE(logged("(PFS)"));
}

TEST_F(InitiatorPeerTest, NewChildSaForThePeerWithKeysDerivedIndependently) {
  Proposal esp{1, Protocol::esp, {0x01, 0x02, 0x03, 0x04}, {{TransformType::encr, kEncrAesCbc, 256}}};
  esp.transforms.push_back({TransformType::integ, kIntegHmacSha256_128, 0});
  esp.transforms.push_back({TransformType::esn, kEsnNo, 0});
  const Bytes ni(32, 0x77);
  const std::vector<Payload> req{{PayloadType::sa, false, SaPayload{{esp}}},
                                 {PayloadType::nonce, false, NoncePayload{ni}},
                                 {PayloadType::tsi, false, TsPayload{{ts({10, 60, 0, 0}, {10, 60, 0, 9})}}},
                                 {PayloadType::tsr, false, TsPayload{{ts({0, 0, 0, 0}, {255, 255, 255, 255})}}}};
  Header h;
  const auto ans = open_answer(i->handle(peer_request(Exchange::create_child_sa, req, 0), now), h);
  const auto* sa = find<SaPayload>(ans, PayloadType::sa);
  const auto* nr = find<NoncePayload>(ans, PayloadType::nonce);
  const auto* tsr = find<TsPayload>(ans, PayloadType::tsr);
  ASSERT_TRUE(sa && nr && tsr);
  EXPECT_EQ(find<KePayload>(ans, PayloadType::ke), nullptr);
  const uint32_t our_in = spi32(sa->proposals.at(0).spi);
  ASSERT_EQ(i->sa()->children.count(our_in), 1u);
  EXPECT_EQ(i->child_count(), 2u);  // the first one stays
  EXPECT_EQ(i->child()->spi_in, our_in);
  const ChildSa& c = i->sa()->children.at(our_in);
  EXPECT_EQ(c.suite, (EspSuite{kEncrAesCbc, kIntegHmacSha256_128, false}));
  // Narrowed: 0.0.0.0/0 on our side becomes our configured /24.
  ASSERT_EQ(tsr->selectors.size(), 1u);
  EXPECT_EQ(tsr->selectors[0].end_addr, (Bytes{10, 50, 0, 255}));
  EXPECT_EQ(c.ts_remote.at(0).end_addr, (Bytes{10, 60, 0, 9}));
  const Bytes km = child_keymat(peer_sa().keys.sk_d, ni, nr->data, 128);
  EXPECT_EQ(c.enc_in, Bytes(km.begin(), km.begin() + 32));
  EXPECT_EQ(c.integ_in, Bytes(km.begin() + 32, km.begin() + 64));
  EXPECT_EQ(c.enc_out, Bytes(km.begin() + 64, km.begin() + 96));
  EXPECT_EQ(c.integ_out, Bytes(km.begin() + 96, km.end()));
  EXPECT_EQ(i->counters().peer_child_sas, 1u);
  EXPECT_EQ(i->counters().peer_child_rekeys, 0u);
}

TEST_F(InitiatorPeerTest, RefusalsAreCountedAndChangeNothing) {
  Proposal esp{1, Protocol::esp, {0x01, 0x02, 0x03, 0x04}, {{TransformType::encr, kEncrAesCbc, 128}}};
  esp.transforms.push_back({TransformType::integ, kIntegHmacSha256_128, 0});
  esp.transforms.push_back({TransformType::esn, kEsnNo, 0});
  const std::vector<Payload> tss{{PayloadType::tsi, false, TsPayload{{ts({10, 60, 0, 0}, {10, 60, 0, 255})}}},
                                 {PayloadType::tsr, false, TsPayload{{ts({10, 50, 0, 0}, {10, 50, 0, 255})}}}};
  auto request = [&](std::vector<Payload> in) {
    in.insert(in.end(), tss.begin(), tss.end());
    return in;
  };
  Header h;
  // No ESP suite of ours (AES-128): NO_PROPOSAL_CHOSEN.
  auto a = open_answer(i->handle(peer_request(Exchange::create_child_sa,
                                              request({{PayloadType::sa, false, SaPayload{{esp}}},
                                                       {PayloadType::nonce, false, NoncePayload{Bytes(32, 1)}}}),
                                              0),
                                 now),
                       h);
  EXPECT_NE(notify_of(a, kNotifyNoProposalChosen), nullptr);
  // REKEY_SA of an SA we do not have: CHILD_SA_NOT_FOUND.
  esp.transforms[0].key_length = 256;
  a = open_answer(
      i->handle(peer_request(Exchange::create_child_sa,
                             request({{PayloadType::notify, false,
                                       NotifyPayload{Protocol::esp, spi_bytes(0xdeadbeef), kNotifyRekeySa, {}}},
                                      {PayloadType::sa, false, SaPayload{{esp}}},
                                      {PayloadType::nonce, false, NoncePayload{Bytes(32, 1)}}}),
                             1),
                now),
      h);
  EXPECT_NE(notify_of(a, kNotifyChildSaNotFound), nullptr);
  // Disjoint selectors: TS_UNACCEPTABLE.
  a = open_answer(i->handle(peer_request(Exchange::create_child_sa,
                                         {{PayloadType::sa, false, SaPayload{{esp}}},
                                          {PayloadType::nonce, false, NoncePayload{Bytes(32, 1)}},
                                          {PayloadType::tsi, false, TsPayload{{ts({10, 99, 0, 0}, {10, 99, 0, 255})}}},
                                          {PayloadType::tsr, false, TsPayload{{ts({10, 50, 0, 0}, {10, 50, 0, 255})}}}},
                                         2),
                            now),
                  h);
  EXPECT_NE(notify_of(a, kNotifyTsUnacceptable), nullptr);
  // The peer's IKE SA rekey without a KE: INVALID_KE_PAYLOAD naming the suite's group.
  a = open_answer(i->handle(peer_request(Exchange::create_child_sa,
                                         {{PayloadType::sa, false, ike_answer(1, kCbc14, 0x1234)},
                                          {PayloadType::nonce, false, NoncePayload{Bytes(32, 1)}}},
                                         3),
                            now),
                  h);
  ASSERT_NE(notify_of(a, kNotifyInvalidKePayload), nullptr);
  EXPECT_EQ(notify_of(a, kNotifyInvalidKePayload)->data, (Bytes{0, kDhModp2048}));
  const InitiatorCounters& c = i->counters();
  EXPECT_EQ(c.peer_refused[static_cast<size_t>(Refusal::child_no_proposal_chosen)], 1u);
  EXPECT_EQ(c.peer_refused[static_cast<size_t>(Refusal::child_sa_not_found)], 1u);
  EXPECT_EQ(c.peer_refused[static_cast<size_t>(Refusal::ts_unacceptable)], 1u);
  EXPECT_EQ(c.peer_refused[static_cast<size_t>(Refusal::invalid_ke_payload)], 1u);
  EXPECT_EQ(c.peer_ike_rekeys, 0u);
  EXPECT_EQ(i->child_count(), 1u);
  EXPECT_EQ(i->state(), InitiatorState::established);
  EXPECT_TRUE(logged("refused: child_no_proposal_chosen"));
}

// § 2.8.1, the peer's request first: both rekey the same Child SA; the peer's
// request reaches us while ours is outstanding and ours reaches the peer
// while its own is. Both new SAs come up on both sides; the nonce rule picks
// the same survivor on both, the redundant SA and the old one are deleted,
// and one pair is left with equal keys. The nonces are random: repeated
// until both outcomes have been seen.
TEST_F(InitiatorPeerTest, CollisionPeersRequestFirstBothOutcomes) {
  bool won = false, lost = false;
  for (int round = 0; round < 40 && !(won && lost); ++round) {
    SetUp();
    const uint32_t old_in = i->child()->spi_in;
    const Bytes ours = i->rekey_child(now);
    const Bytes theirs = r->rekey_child(peer_spi(), peer_child_of(old_in), now);
    ASSERT_FALSE(ours.empty());
    ASSERT_FALSE(theirs.empty());
    const Bytes our_answer = i->handle(theirs, now);  // we answer the peer's: collision noted
    ASSERT_FALSE(our_answer.empty());
    EXPECT_EQ(i->child_count(), 2u);
    const Bytes their_answer = to_peer(ours);  // the peer answers ours: collision noted there
    ASSERT_FALSE(their_answer.empty());
    // Our rekey answered: the nonce rule; then the peer's.
    const Bytes our_delete = i->handle(their_answer, now);
    ASSERT_FALSE(our_delete.empty());
    EXPECT_EQ(i->child_count(), 3u);
    const Bytes their_delete = to_peer(our_answer);
    ASSERT_FALSE(their_delete.empty());
    EXPECT_EQ(peer_sa().children.size(), 3u);
    expect_pairs();
    const InitiatorCounters& c = i->counters();
    ASSERT_EQ(c.child_collisions_won + c.child_collisions_lost, 1u);
    EXPECT_EQ(r->own_counters().collisions_won, c.child_collisions_lost);  // the same survivor on both sides
    EXPECT_EQ(r->own_counters().collisions_lost, c.child_collisions_won);
    won |= c.child_collisions_won == 1;
    lost |= c.child_collisions_lost == 1;
    const uint32_t survivor = i->child()->spi_in;  // newest: the survivor
    // The Deletes cross; each is answered.
    exchange(our_delete, false);
    exchange(their_delete, true);
    EXPECT_EQ(i->child_count(), 1u);
    EXPECT_EQ(peer_sa().children.size(), 1u);
    ASSERT_EQ(i->sa()->children.count(survivor), 1u);
    EXPECT_NE(survivor, old_in);
    expect_pairs();
    EXPECT_FALSE(i->request_outstanding());
    EXPECT_FALSE(r->request_outstanding(peer_spi()));
  }
  EXPECT_TRUE(won);
  EXPECT_TRUE(lost);
  EXPECT_TRUE(logged("has the lowest nonce and is redundant"));
}

// § 2.8.1, the other order: our rekey's answer reaches us before the peer's
// request (which names the SA we now delete): TEMPORARY_FAILURE (§ 2.25.1);
// the peer's rekey is refused, ours survives, one pair is left.
TEST_F(InitiatorPeerTest, CollisionOurAnswerFirstThePeersRekeyGetsTemporaryFailure) {
  const uint32_t old_in = i->child()->spi_in;
  const Bytes ours = i->rekey_child(now);
  const Bytes theirs = r->rekey_child(peer_spi(), peer_child_of(old_in), now);
  const Bytes their_answer = to_peer(ours);
  const Bytes our_delete = i->handle(their_answer, now);  // ours installed, the old SA's Delete
  ASSERT_FALSE(our_delete.empty());
  const uint32_t ours_in = i->child()->spi_in;
  Header h;
  const Bytes refused = i->handle(theirs, now);
  ASSERT_FALSE(refused.empty());
  EXPECT_NE(notify_of(open_answer(refused, h), kNotifyTemporaryFailure), nullptr);
  EXPECT_EQ(i->counters().peer_rekeys_deferred, 1u);
  EXPECT_EQ(i->child_count(), 2u);  // nothing made
  EXPECT_TRUE(to_peer(refused).empty());
  EXPECT_EQ(r->own_counters().child_rekeys_refused, 1u);
  exchange(our_delete, false);
  EXPECT_EQ(i->child_count(), 1u);
  EXPECT_EQ(i->child()->spi_in, ours_in);
  EXPECT_EQ(peer_sa().children.size(), 1u);
  expect_pairs();
  EXPECT_EQ(i->counters().child_collisions_won + i->counters().child_collisions_lost, 0u);
}

TEST_F(InitiatorPeerTest, DuringOurIkeSaRekeyTemporaryFailure) {
  const Bytes ike = i->rekey_ike(now);
  ASSERT_FALSE(ike.empty());
  const Bytes theirs = r->rekey_child(peer_spi(), peer_child_of(i->child()->spi_in), now);
  const Bytes answer = i->handle(theirs, now);
  ASSERT_FALSE(answer.empty());
  EXPECT_EQ(i->counters().ike_rekey_collisions, 1u);
  EXPECT_EQ(i->child_count(), 1u);
  EXPECT_TRUE(to_peer(answer).empty());
  EXPECT_EQ(r->own_counters().child_rekeys_refused, 1u);
}

}  // namespace
}  // namespace wp::ike
