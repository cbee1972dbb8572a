// Simultaneous IKE SA rekeys on an IKE SA the peer began (RFC 7296 § 2.8.1,
// § 2.8.2). Our CREATE_CHILD_SA rekeying the IKE SA (ike_responder_ike_rekey.cc)
// is outstanding when the peer's own rekey of the same SA arrives: we answer
// it as usual (ike_rekey.cc: its new SA, the Child SAs move to it) and note
// the collision here. When our answer comes, both new IKE SAs exist; of the
// four nonces the lowest marks the redundant one:
// - ours redundant: the Child SAs stay on the peer's new SA; we delete ours
//   (on itself: its own message ID 0, its keys); the peer, the survivor's
//   maker, deletes the old SA.
// - the peer's redundant: the Child SAs move to ours, we delete the old SA
//   (as after an uncontested rekey); the peer deletes its own.
// Make before break: ESP never stops, the Child SAs (SPIs, keys) do not
// change, only which IKE SA holds them. Counted `collisions` (REST
// rekey_collisions). When the peer noticed no collision (it finished its
// rekey first) it answers ours TEMPORARY_FAILURE and deletes the old SA;
// when we finish ours before the peer's arrives, the peer's is answered
// TEMPORARY_FAILURE (ike_rekey.cc, § 2.8.2). When the peer deletes its
// redundant SA before our answer arrives, the Child SAs go back to the old
// SA first, so that our answer moves them to ours.
#include <string>
#include <utility>

#include "dataplane/control/ike/ike_bytes.h"
#include "dataplane/control/ike/ike_lifetime.h"
#include "dataplane/control/ike/ike_responder.h"

namespace wp::ike {
bool Responder::note_ike_collision(const IkeSa& old, const IkeSa& theirs) {
  const auto it = own_.find(old.spi_r);
  if (it == own_.end() || !it->second.window.outstanding() || !it->second.rekeying_ike) return false;
  OwnRequests& o = it->second;
  o.collided_ike = theirs.spi_r;
  o.collided_ike_ni = theirs.ni;
  o.collided_ike_nr = theirs.nr;
  ++own_counters_.collisions;
  log_("ike: " + old.peer.str() + ": IKE SA rekey collision (§ 2.8.2): the peer rekeyed the IKE SA of " +
       old.remote_id + " while ours is outstanding; its new SA " + hex16(theirs.spi_r) + " answered");
  return true;
}

Bytes Responder::resolve_ike_collision(IkeSa& old, IkeSa& ours, OwnRequests& o, Clock::time_point now) {
  const uint64_t theirs_spi = std::exchange(o.collided_ike, 0);
  // ours: our Ni, the peer's Nr (stored from our side: ni ours, nr the peer's).
  const bool ours_redundant = our_rekey_redundant(ours.ni, ours.nr, o.collided_ike_ni, o.collided_ike_nr);
  const auto t = sas_.find(theirs_spi);
  IkeSa* theirs = t == sas_.end() ? nullptr : t->second.get();
  ++(ours_redundant && theirs ? own_counters_.collisions_lost : own_counters_.collisions_won);
  if (ours_redundant && theirs) {
    // The Child SAs stay on the peer's SA; ours goes, deleted by us on itself.
    log_("ike: " + old.peer.str() + ": IKE SA rekey collision (§ 2.8.2): ours (" + hex16(ours.spi_r) +
         ") has the lowest nonce and is redundant; the peer's (" + hex16(theirs_spi) + ") holds " +
         std::to_string(theirs->children.size()) + " Child SAs");
    IkeSa* sa = nullptr;
    OwnRequests* mine = own_idle(ours.spi_r, sa);
    if (!mine) return {};
    for (auto& [spi, child] : ours.children) {  // none unless the peer moved them back meanwhile
      esp_spis_[spi] = theirs_spi;
      theirs->children.emplace(spi, std::move(child));
    }
    ours.children.clear();
    mine->deleting_sa = true;
    ++own_counters_.ike_deletes_sent;
    return own_send(ours, *mine, Exchange::informational,
                    {{PayloadType::del, false, DeletePayload{Protocol::ike, 0, {}}}}, now);
  }
  // Ours survives: it takes the Child SAs from the peer's (which the peer
  // deletes) and we delete the old SA, as after an uncontested rekey.
  if (theirs) {
    for (auto& [spi, child] : theirs->children) {
      esp_spis_[spi] = ours.spi_r;
      ours.children.emplace(spi, std::move(child));
    }
    theirs->children.clear();
  }
  log_("ike: " + old.peer.str() + ": IKE SA rekey collision (§ 2.8.2): the peer's (" + hex16(theirs_spi) +
       (theirs ? ") has the lowest nonce and is redundant" : ") already deleted by the peer") + "; ours (" +
       hex16(ours.spi_r) + ") holds " + std::to_string(ours.children.size()) + " Child SAs");
  o.deleting_sa = true;
  return own_send(old, o, Exchange::informational, {{PayloadType::del, false, DeletePayload{Protocol::ike, 0, {}}}},
                  now);
}

void Responder::return_collided_children(IkeSa& theirs) {
  for (auto& [spi_r, o] : own_) {
    if (o.collided_ike != theirs.spi_r || !o.window.outstanding() || !o.rekeying_ike) continue;
    const auto old = sas_.find(spi_r);
    if (old == sas_.end()) return;
    for (auto& [spi, child] : theirs.children) {
      esp_spis_[spi] = spi_r;
      old->second->children.emplace(spi, std::move(child));
    }
    theirs.children.clear();
    log_("ike: " + theirs.peer.str() + ": the peer deleted its new IKE SA " + hex16(theirs.spi_r) +
         " (redundant, § 2.8.2) before our rekey was answered; its Child SAs wait on the old SA");
    return;
  }
}

}  // namespace wp::ike
