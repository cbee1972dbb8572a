// The peer's rekey of an IKE SA we initiated (RFC 7296 § 1.3.2, § 2.18;
// docs/ipsec.md § Rekeying). The responder of an IKE SA may rekey it as the
// initiator may: its CREATE_CHILD_SA with an IKE proposal is answered by the
// responder's code (answer_ike_rekey, ike_sa_rekey.h: our new SPI, Nr, KEr,
// SKEYSEED = prf(SK_d (old), g^ir | Ni | Nr), the Child SAs moved to the new
// SA unchanged). The new SA is the peer's (§ 2.18: the rekey's initiator is
// the new SA's initiator); the Initiator keeps it from its own side
// (flip_sides, IkeSa::peer_initiated) so that every other path (DPD, Child
// SA rekeys either way, our next IKE SA rekey, HA records) works on it
// unchanged, and handle()/seal_on() translate the wire header. Make before
// break: the answer is sealed on the old SA, then the new SA takes over and
// the old one waits (olds_) for the peer's Delete, answered there.
//
// While a request of ours is outstanding on the SA (a Child SA rekey or
// Delete, DPD, a Delete of the IKE SA) the peer's IKE SA rekey is answered
// TEMPORARY_FAILURE (§ 2.25.2; its answer would come on the SA the rekey
// replaces). § 2.8.2: one that crosses our own IKE SA rekey is answered and
// its SA kept aside (collided_ike_); when our answer comes both new SAs
// exist and of the four nonces the lowest marks the redundant one, deleted
// by whoever made it, while the survivor's maker deletes the old SA (the
// Child SAs wait on the old SA meanwhile, where the service sees them):
// - ours redundant: the Child SAs on the peer's SA, which becomes ours to
//   use; we delete ours on itself (message ID 0, its keys); the peer
//   deletes the old SA.
// - the peer's redundant: the Child SAs on ours; we delete the old SA (as
//   after an uncontested rekey); the peer deletes its own.
// A peer that finished its rekey before it saw ours answers ours
// TEMPORARY_FAILURE (its SA then holds the Child SAs) or deletes the old SA
// first: the same outcome. Messages of the peer on its new SA before our
// answer arrives are not ours yet (dropped; the peer retransmits them).
#include <string>
#include <utility>

#include "dataplane/control/ike/ike_bytes.h"
#include "dataplane/control/ike/ike_initiator.h"
#include "dataplane/control/ike/ike_lifetime.h"  // our_rekey_redundant

namespace wp::ike {
std::vector<Payload> Initiator::on_peer_ike_rekey(const std::vector<Payload>& in, Clock::time_point now) {
  const std::string who = "ike: " + config_.remote.str() + ": initiator: ";
  if ((window_.outstanding() && !outstanding_ike_rekey_) || collided_ike_) {
    ++counters_.peer_rekeys_deferred;
    log_(who + "the peer's IKE SA rekey while a request of ours is outstanding: TEMPORARY_FAILURE");
    return {make_notify(kNotifyTemporaryFailure)};
  }
  IkeRekeyAnswer a = answer_ike_rekey(in, *sa_, config_.ike_suites, random_ike_spi(), now);
  if (!a.next) {
    ++counters_.peer_refused[static_cast<size_t>(*a.refused)];
    log_(who + "the peer's IKE SA rekey refused: " + std::string(refusal_name(*a.refused)) + ": " + a.why);
    return std::move(a.out);
  }
  ++counters_.peer_ike_rekeys;
  IkeSa& next = *a.next;
  log_(who + "IKE SA rekeyed by the peer, SPIs " + hex16(next.spi_i) + "_i " + hex16(next.spi_r) + "_r (replaces " +
       hex16(sa_->spi_i) + "_i), " + std::to_string(next.children.size()) + " Child SAs moved to it");
  const Bytes ni = next.ni, nr = next.nr;  // the peer's Ni, our Nr
  flip_sides(next);
  next.peer_initiated = true;
  if (outstanding_ike_rekey_) {
    // The Child SAs stay on the SA the service sees (and our rekey's answer
    // moves on) until the nonces have decided.
    sa_->children = std::move(next.children);
    next.children.clear();
    collided_ike_ = std::move(a.next);
    collided_ike_ni_ = ni;
    collided_ike_nr_ = nr;
    ++counters_.ike_rekey_collisions;
    log_(who + "IKE SA rekey collision (§ 2.8.2): the peer rekeyed the IKE SA while ours is outstanding");
  } else {
    peer_rekeyed_ = std::move(a.next);
  }
  return std::move(a.out);
}

void Initiator::take_peer_rekeyed() { retire_sa(std::move(peer_rekeyed_)); }

Bytes Initiator::resolve_ike_collision(std::unique_ptr<IkeSa> ours, Clock::time_point now) {
  std::unique_ptr<IkeSa> theirs = std::move(collided_ike_);
  // Ours: our Ni, the peer's Nr; the peer's: its Ni, our Nr.
  const bool ours_redundant = our_rekey_redundant(ours->ni, ours->nr, collided_ike_ni_, collided_ike_nr_);
  ++(ours_redundant ? counters_.ike_collisions_lost : counters_.ike_collisions_won);
  IkeSa& survivor = ours_redundant ? *theirs : *ours;
  IkeSa& redundant = ours_redundant ? *ours : *theirs;
  for (auto& [spi, child] : redundant.children) survivor.children.emplace(spi, std::move(child));
  redundant.children.clear();
  log_("ike: " + config_.remote.str() + ": initiator: IKE SA rekey collision (§ 2.8.2): " +
       (ours_redundant ? "ours" : "the peer's") + " (" + hex16(redundant.spi_i) +
       "_ours) has the lowest nonce and is redundant; " + std::to_string(survivor.children.size()) +
       " Child SAs on the survivor (" + hex16(survivor.spi_i) + "_ours)");
  if (ours_redundant) {
    // The peer deletes the old SA (it made the survivor); we delete ours on itself.
    retire_sa(std::move(theirs));
    olds_.push_back({std::move(ours), RequestWindow{config_.retransmit_base, config_.tries}, 0, {}});
    return delete_on(olds_.back(), now);
  }
  // We made the survivor: the old SA's Delete is ours; the peer deletes its own.
  Bytes del = delete_on(retire_sa(std::move(ours)), now);
  olds_.push_back({std::move(theirs), RequestWindow{config_.retransmit_base, config_.tries}, 0, {}});
  return del;
}

// The peer deleted the IKE SA while its crossing rekey waits in
// collided_ike_: it finished its rekey before it saw ours (whose answer, on
// the deleted SA, will not come), so its new SA is the one to go on with.
void Initiator::peer_deleted_during_collision() {
  log_("ike: " + config_.remote.str() + ": initiator: the peer deleted the old IKE SA after its rekey (§ 2.8.2): "
       "going on with its new SA; our rekey is forgotten");
  outstanding_ike_rekey_ = false;
  window_.answered();
  ++counters_[InitFailure::rekey_refused];
  for (auto& [spi, child] : sa_->children) collided_ike_->children.emplace(spi, std::move(child));
  sa_->children.clear();
  sa_ = std::move(collided_ike_);
  window_.reset(0);
  peer_next_id_ = 0;
  peer_last_answer_.clear();
  ++counters_.old_ike_sas_deleted;
}

}  // namespace wp::ike
