// The peer's rekey of an IKE SA we initiated
// (dataplane/control/ike/ike_initiator_ike_rekey.cc, RFC 7296 § 1.3.2,
// § 2.18, § 2.8.2), against our responder in-process as the peer (its own
// IKE SA rekey, Responder::rekey_sa): our answer makes the new SA (the
// peer's: its SPI first on the wire, its Initiator flag), the keys equal on
// both sides, the Child SA moved unchanged and still rekeyed either way, DPD
// on the new SA, the old SA answered until the peer deletes it, a
// retransmitted request answered byte for byte, our own IKE SA rekey of the
// peer's SA afterwards; TEMPORARY_FAILURE while a request of ours is
// outstanding; the HA record of the new SA carried on by another Initiator;
// § 2.8.2 collisions with our own IKE SA rekey in both orders (both nonce
// outcomes, the same survivor on both sides) and with a peer that finished
// first (TEMPORARY_FAILURE to ours, or its Delete of the old SA first).
#include "dataplane/control/ike/ike_sa_sync.h"
#include "tests/unit/ike_initiator_peer_fixture.h"

namespace wp::ike {
namespace {

struct InitiatorIkeRekeyTest : InitiatorPeerTest {
  // The peer's SA with our SPI `ours` (spi_i in both holders' views).
  const IkeSa* peer_sa_with(uint64_t ours) {
    for (const auto& [spi, sa] : r->sas())
      if (sa->spi_i == ours) return sa.get();
    return nullptr;
  }
  // Both sides hold the IKE SA with the same SPIs and keys (each from its own side).
  void expect_same_ike_sa() {
    const IkeSa& ours = *i->sa();
    const IkeSa* theirs = peer_sa_with(ours.spi_i);
    ASSERT_NE(theirs, nullptr);
    EXPECT_EQ(theirs->spi_r, ours.spi_r);
    // The peer holds an SA it began from its own side (we_initiated) and one
    // we began as is; we hold every SA from ours: our SK_e/SK_a protect ours.
    EXPECT_EQ(theirs->we_initiated, ours.peer_initiated);
    EXPECT_EQ(theirs->keys.sk_d, ours.keys.sk_d);
    EXPECT_EQ(theirs->keys.sk_ei, ours.keys.sk_ei);
    EXPECT_EQ(theirs->keys.sk_er, ours.keys.sk_er);
    EXPECT_EQ(theirs->keys.sk_ai, ours.keys.sk_ai);
    EXPECT_EQ(theirs->keys.sk_ar, ours.keys.sk_ar);
    EXPECT_EQ(theirs->keys.sk_pi, ours.keys.sk_pi);
    EXPECT_EQ(theirs->keys.sk_pr, ours.keys.sk_pr);
    EXPECT_EQ(theirs->children.size(), ours.children.size());
  }
};

TEST_F(InitiatorIkeRekeyTest, PeerRekeysOurIkeSaMakeBeforeBreak) {
  const uint64_t our_old = i->sa()->spi_i, peer_old = peer_spi();
  const uint32_t child_in = i->child()->spi_in;
  const Bytes child_enc = i->child()->enc_out;
  const Bytes req = r->rekey_sa(peer_old, now);
  ASSERT_FALSE(req.empty());
  const Bytes answer = i->handle(req, now);
  ASSERT_FALSE(answer.empty());
  EXPECT_EQ(i->handle(req, now), answer);  // a retransmission: our answer again, on the old SA
  // We moved at once: the new SA is the peer's, it holds the Child SA.
  ASSERT_NE(i->sa(), nullptr);
  EXPECT_TRUE(i->sa()->peer_initiated);
  EXPECT_NE(i->sa()->spi_i, our_old);
  EXPECT_EQ(i->child_count(), 1u);
  ASSERT_EQ(i->old_sa_count(), 1u);  // until the peer deletes it
  EXPECT_TRUE(i->old_sa()->children.empty());
  EXPECT_EQ(i->counters().peer_ike_rekeys, 1u);
  EXPECT_FALSE(i->request_outstanding());
  EXPECT_TRUE(logged("IKE SA rekeyed by the peer"));
  // The peer takes our answer and deletes the old SA on it, which we answer.
  const Bytes del = to_peer(answer);
  ASSERT_FALSE(del.empty());
  EXPECT_EQ(r->own_counters().ike_rekeys_completed, 1u);
  expect_same_ike_sa();
  EXPECT_TRUE(to_peer(i->handle(del, now)).empty());
  EXPECT_EQ(i->old_sa_count(), 0u);
  EXPECT_EQ(i->counters().old_ike_sas_deleted, 1u);
  ASSERT_EQ(r->sas().size(), 1u);
  // The Child SA did not change: same SPIs and keys, on both sides.
  ASSERT_EQ(i->child()->spi_in, child_in);
  EXPECT_EQ(i->child()->enc_out, child_enc);
  expect_pairs();
  // Our DPD on the new SA: the peer's SPI first, no Initiator flag; answered.
  const Bytes live = i->liveness(now);
  ASSERT_FALSE(live.empty());
  Message m;
  ASSERT_TRUE(parse_message(live, m).ok());
  EXPECT_FALSE(m.header.initiator());
  EXPECT_EQ(m.header.spi_i, i->sa()->spi_r);
  EXPECT_EQ(m.header.message_id, 0u);  // § 2.18: from 0 on the new SA
  EXPECT_TRUE(i->handle(to_peer(live), now).empty());
  EXPECT_EQ(i->counters().liveness_answered, 1u);
  // The peer rekeys the Child SA on its new SA, then we do.
  exchange(r->rekey_child(peer_spi(), peer_child_of(i->child()->spi_in), now), true);
  EXPECT_EQ(i->counters().peer_child_rekeys, 1u);
  expect_pairs();
  exchange(i->rekey_child(now), false);
  EXPECT_EQ(i->counters().child_sas_rekeyed, 1u);
  ASSERT_EQ(i->child_count(), 1u);
  expect_pairs();
  // Our own IKE SA rekey of the peer's SA: the new one is ours again.
  exchange(i->rekey_ike(now), false);
  EXPECT_EQ(i->counters().ike_sas_rekeyed, 1u);
  EXPECT_FALSE(i->sa()->peer_initiated);
  EXPECT_EQ(i->old_sa_count(), 0u);
  ASSERT_EQ(r->sas().size(), 1u);
  expect_same_ike_sa();
  expect_pairs();
  EXPECT_EQ(i->state(), InitiatorState::established);
}

TEST_F(InitiatorIkeRekeyTest, TemporaryFailureWhileOurRequestIsOutstanding) {
  const uint64_t our_old = i->sa()->spi_i;
  const Bytes live = i->liveness(now);
  ASSERT_FALSE(live.empty());
  const Bytes answer = i->handle(r->rekey_sa(peer_spi(), now), now);
  ASSERT_FALSE(answer.empty());
  EXPECT_TRUE(to_peer(answer).empty());
  EXPECT_EQ(r->own_counters().ike_rekeys_refused, 1u);  // TEMPORARY_FAILURE
  EXPECT_EQ(i->counters().peer_rekeys_deferred, 1u);
  EXPECT_EQ(i->sa()->spi_i, our_old);
  EXPECT_TRUE(i->handle(to_peer(live), now).empty());  // the DPD still answered on the SA
  EXPECT_EQ(i->counters().liveness_answered, 1u);
  EXPECT_EQ(i->child_count(), 1u);
}

TEST_F(InitiatorIkeRekeyTest, TheNewSaSyncsToTheHaPeerAndGoesOnThere) {
  exchange(r->rekey_sa(peer_spi(), now), true);
  ASSERT_TRUE(i->sa()->peer_initiated);
  const IkeSa* view = i->ha_view();
  ASSERT_NE(view, nullptr);
  waypoint::ha::IkeSaRecord rec;
  encode_ike_sa(*view, 1, now, {}, rec);
  EXPECT_TRUE(rec.peer_initiated());
  ResponderConfig rc;
  rc.peers = {our_config().peer};
  ChildSeqs seqs;
  std::string error;
  std::unique_ptr<IkeSa> copy = decode_ike_sa(rec, rc, now, seqs, error);
  ASSERT_NE(copy, nullptr) << error;
  EXPECT_TRUE(copy->peer_initiated);
  EXPECT_NE(sync_fingerprint(*copy), 0u);
  // Another node's Initiator carries it on: its DPD leaves with the peer's
  // SPI first and is answered by the peer with the new SA's keys.
  Initiator other(our_config());
  ASSERT_TRUE(other.adopt(std::move(copy), i->ha_state(), now));
  Message m;
  const Bytes live = other.liveness(now);
  ASSERT_TRUE(parse_message(live, m).ok());
  EXPECT_EQ(m.header.spi_r, i->sa()->spi_i);
  EXPECT_TRUE(other.owns(m.header.spi_i, m.header.spi_r, true));
  EXPECT_TRUE(other.handle(to_peer(live), now).empty());
  EXPECT_EQ(other.counters().liveness_answered, 1u);
}

// § 2.8.2: both ends rekey the IKE SA at once. `peer_first`: the peer's
// request reaches us before ours reaches the peer (else the other way); both
// answer, both resolve by the nonces, the Deletes cross. The nonces are
// random: repeated until both outcomes have been seen, in both orders.
TEST_F(InitiatorIkeRekeyTest, CollisionBothOrdersBothOutcomes) {
  for (const bool peer_first : {true, false}) {
    bool won = false, lost = false;
    for (int round = 0; round < 40 && !(won && lost); ++round) {
      SetUp();
      const uint64_t our_old = i->sa()->spi_i;
      const uint32_t child_in = i->child()->spi_in;
      const Bytes ours = i->rekey_ike(now);
      const Bytes theirs = r->rekey_sa(peer_spi(), now);
      ASSERT_FALSE(ours.empty());
      ASSERT_FALSE(theirs.empty());
      Bytes our_answer, their_answer;
      if (peer_first) {
        our_answer = i->handle(theirs, now);
        their_answer = to_peer(ours);
      } else {
        their_answer = to_peer(ours);
        our_answer = i->handle(theirs, now);
      }
      ASSERT_FALSE(our_answer.empty());
      ASSERT_FALSE(their_answer.empty());
      EXPECT_EQ(i->counters().ike_rekey_collisions, 1u);
      const Bytes our_delete = i->handle(their_answer, now);  // the nonce rule here
      ASSERT_FALSE(our_delete.empty());
      const Bytes their_delete = to_peer(our_answer);  // and there
      ASSERT_FALSE(their_delete.empty());
      const InitiatorCounters& c = i->counters();
      ASSERT_EQ(c.ike_collisions_won + c.ike_collisions_lost, 1u);
      EXPECT_EQ(r->own_counters().collisions_won, c.ike_collisions_lost);  // the same survivor on both sides
      EXPECT_EQ(r->own_counters().collisions_lost, c.ike_collisions_won);
      won |= c.ike_collisions_won == 1;
      lost |= c.ike_collisions_lost == 1;
      EXPECT_EQ(i->sa()->peer_initiated, c.ike_collisions_lost == 1);
      exchange(our_delete, false);
      exchange(their_delete, true);
      EXPECT_EQ(i->old_sa_count(), 0u);
      ASSERT_EQ(r->sas().size(), 1u);
      EXPECT_NE(i->sa()->spi_i, our_old);
      expect_same_ike_sa();
      ASSERT_EQ(i->child_count(), 1u);
      EXPECT_EQ(i->child()->spi_in, child_in);  // the Child SA unchanged on the survivor
      expect_pairs();
      EXPECT_FALSE(i->request_outstanding());
      // The survivor works: our DPD on it is answered.
      EXPECT_TRUE(i->handle(to_peer(i->liveness(now)), now).empty());
      EXPECT_EQ(i->counters().liveness_answered, 1u);
    }
    EXPECT_TRUE(won) << peer_first;
    EXPECT_TRUE(lost) << peer_first;
  }
  EXPECT_TRUE(logged("has the lowest nonce and is redundant"));
}

// § 2.8.2, the peer finished first: it has our answer before our request,
// so it answers ours TEMPORARY_FAILURE and deletes the old SA. Its SA holds
// the Child SAs whichever of its two messages we read first.
TEST_F(InitiatorIkeRekeyTest, CollisionThePeerFinishedFirst) {
  for (const bool delete_first : {false, true}) {
    SetUp();
    const uint32_t child_in = i->child()->spi_in;
    const Bytes ours = i->rekey_ike(now);
    const Bytes our_answer = i->handle(r->rekey_sa(peer_spi(), now), now);
    ASSERT_FALSE(our_answer.empty());
    const Bytes their_delete = to_peer(our_answer);  // its rekey done: the old SA's Delete
    ASSERT_FALSE(their_delete.empty());
    const Bytes refusal = to_peer(ours);  // ours on the SA it is deleting
    ASSERT_FALSE(refusal.empty());
    if (delete_first) {
      EXPECT_TRUE(to_peer(i->handle(their_delete, now)).empty());
      EXPECT_TRUE(i->handle(refusal, now).empty());  // the old SA is gone: not ours any more
    } else {
      EXPECT_TRUE(i->handle(refusal, now).empty());
      EXPECT_TRUE(to_peer(i->handle(their_delete, now)).empty());
    }
    EXPECT_EQ(i->counters()[InitFailure::rekey_refused], 1u) << delete_first;
    EXPECT_FALSE(i->rekeying_ike());
    EXPECT_TRUE(i->sa()->peer_initiated);
    EXPECT_EQ(i->old_sa_count(), 0u);
    ASSERT_EQ(r->sas().size(), 1u);
    expect_same_ike_sa();
    ASSERT_EQ(i->child_count(), 1u);
    EXPECT_EQ(i->child()->spi_in, child_in);
    expect_pairs();
    EXPECT_FALSE(i->request_outstanding());
    EXPECT_TRUE(i->handle(to_peer(i->liveness(now)), now).empty());
    EXPECT_EQ(i->state(), InitiatorState::established);
  }
}

}  // namespace
}  // namespace wp::ike
