// The peer's CREATE_CHILD_SA requests on an IKE SA we initiated (RFC 7296
// § 1.3; docs/ipsec.md § Rekeying). The responder of an IKE SA may rekey its
// Child SAs (§ 1.3.3, REKEY_SA) and ask for new ones (§ 1.3.1) as the
// initiator may: both are answered with the responder's code
// (ike_child_answer.h: proposal, optional KE, narrowed selectors, Nr, KEYMAT
// with the peer as the exchange's initiator). The new Child SA is in the
// SA's children before the answer is sealed, so the caller publishes its
// inbound SA before the answer leaves (make before break); a rekeyed one is
// kept until the peer's Delete of it, and the peer's new SA seals from then
// on (the newest).
//
// Collisions (§ 2.8.1): the peer's rekey of the Child SA our own rekey is
// rekeying (its request arrives while ours is outstanding) is answered; when
// our answer comes both new SAs exist, and of the four nonces the lowest
// marks the redundant SA, deleted by whoever made it; the maker of the
// survivor deletes the old SA. The peer's rekey of a Child SA we already
// rekeyed and are deleting is answered TEMPORARY_FAILURE (§ 2.25.1), and so
// is any CREATE_CHILD_SA for a Child SA while our IKE SA rekey is
// outstanding (§ 2.25.2). A rekey of the IKE SA itself by the peer is
// answered in ike_initiator_ike_rekey.cc.
#include <string>
#include <utility>

#include "dataplane/control/ike/ike_bytes.h"
#include "dataplane/control/ike/ike_child_answer.h"
#include "dataplane/control/ike/ike_initiator.h"
#include "dataplane/control/ike/ike_lifetime.h"  // our_rekey_redundant

namespace wp::ike {

bool Initiator::child_sealed(uint32_t spi_in) {
  if (!sa_) return false;
  const auto it = sa_->children.find(spi_in);
  if (it == sa_->children.end()) return false;
  it->second.seal_deferred = false;
  return true;
}

std::vector<Payload> Initiator::on_peer_create_child(const std::vector<Payload>& in, Clock::time_point now) {
  const std::string who = "ike: " + config_.remote.str() + ": initiator: ";
  const auto* sa_p = find_payload<SaPayload>(in, PayloadType::sa);
  if (sa_p && !sa_p->proposals.empty() && sa_p->proposals.front().protocol == Protocol::ike)
    return on_peer_ike_rekey(in, now);  // ike_initiator_ike_rekey.cc
  if (outstanding_ike_rekey_) {
    ++counters_.ike_rekey_collisions;
    log_(who + "the peer's CREATE_CHILD_SA during our IKE SA rekey: TEMPORARY_FAILURE");
    return {make_notify(kNotifyTemporaryFailure)};
  }
  bool named = false;
  if (const uint32_t target = rekey_target(in, *sa_, named); target != 0 && target == deleting_child_) {
    ++counters_.peer_rekeys_deferred;
    log_(who + "the peer rekeys Child SA " + hex8(target) + ", which we rekeyed and are deleting: TEMPORARY_FAILURE");
    return {make_notify(kNotifyTemporaryFailure)};
  }
  ChildRequestAnswer a = answer_child_request(in, *sa_, new_child_spi(config_.peer.tunnel, sa_->children));
  if (a.refused) {
    ++counters_.peer_refused[static_cast<size_t>(*a.refused)];
    log_(who + "the peer's CREATE_CHILD_SA refused: " + std::string(refusal_name(*a.refused)) + ": " + a.why);
    return std::move(a.out);
  }
  const ChildSa& c = sa_->children.at(a.spi_in);
  ++counters_.child_sas_installed;
  ++(a.rekeyed ? counters_.peer_child_rekeys : counters_.peer_child_sas);
  newest_child_ = a.spi_in;  // the peer seals into it once it has our answer
  log_(who + (a.rekeyed ? "Child SA rekeyed by the peer" : "new Child SA for the peer") + ", SPI in " +
       hex8(c.spi_in) + " out " + hex8(c.spi_out) + (a.rekeyed ? " (replaces " + hex8(a.rekeyed) + ")" : "") +
       (a.pfs ? " (PFS)" : ""));
  if (a.rekeyed && outstanding_rekey_ && rekey_.old_spi() == a.rekeyed) {
    collided_ = a.spi_in;
    collided_ni_ = a.ni;
    collided_nr_ = a.nr;
    log_(who + "rekey collision (§ 2.8.1): the peer rekeyed Child SA " + hex8(a.rekeyed) +
         " while our rekey of it is outstanding");
  }
  return std::move(a.out);
}

uint32_t Initiator::resolve_child_collision(uint32_t ours, uint32_t old) {
  const uint32_t theirs = std::exchange(collided_, 0);
  if (theirs == 0 || !sa_->children.count(theirs)) return old;  // no collision, or the peer deleted its SA
  // Ours: our Ni, the peer's Nr; the peer's: its Ni, our Nr.
  const bool ours_redundant = our_rekey_redundant(rekey_.ni(), rekey_.nr(), collided_ni_, collided_nr_);
  ++(ours_redundant ? counters_.child_collisions_lost : counters_.child_collisions_won);
  log_("ike: " + config_.remote.str() + ": initiator: rekey collision (§ 2.8.1): " +
       (ours_redundant ? "ours (" + hex8(ours) + ")" : "the peer's (" + hex8(theirs) + ")") +
       " has the lowest nonce and is redundant");
  if (!ours_redundant) return old;  // the peer deletes its own
  newest_child_ = theirs;           // the survivor; the peer deletes the old SA
  return ours;
}

}  // namespace wp::ike
