// The responder's own rekey of an IKE SA the peer began (RFC 7296 § 1.3.2,
// § 2.18; ike_sa_rekey.h builds the request and the new SA). The rekey's
// initiator is the new SA's, so the new SA is one we initiated although the
// responder holds it: it is stored from our side (IkeSa::we_initiated: our
// SPI as spi_r, the key pairs swapped) so that every other path of the
// responder (Child SA rekeys, Deletes, DPD answers, HA records, the next
// rekey by either end) works on it unchanged; handle() and seal() translate
// the wire header. Make before break: the Child SAs move to the new SA as
// they are, then the old IKE SA is deleted on itself and goes when that
// Delete is answered (or never is, § 2.4: then only the old SA goes).
#include <utility>

#include "dataplane/control/ike/ike_responder.h"

namespace wp::ike {

Bytes Responder::rekey_sa(uint64_t spi_r, Clock::time_point now) {
  IkeSa* sa = nullptr;
  OwnRequests* o = own_idle(spi_r, sa);
  if (!o) return {};
  std::vector<Payload> in;
  std::string why;
  if (!o->ike_rekey.request(*sa, new_ike_spi(), in, why)) {
    refuse(Refusal::crypto_failure, sa->peer, "IKE SA rekey: " + why);
    return {};
  }
  o->rekeying_ike = true;
  ++own_counters_.ike_rekeys_started;
  log_("ike: " + sa->peer.str() + ": rekeying the IKE SA of " + sa->remote_id);
  return own_send(*sa, *o, Exchange::create_child_sa, in, now);
}

Bytes Responder::on_own_ike_rekey_answer(IkeSa& sa, OwnRequests& o, const std::vector<Payload>& in,
                                         Clock::time_point now) {
  o.rekeying_ike = false;
  std::string why;
  std::unique_ptr<IkeSa> next = o.ike_rekey.on_answer(sa, in, now, why);
  if (!next) {
    // A crossing rekey of the peer's (§ 2.8.2) keeps the Child SAs: the peer
    // did not see the collision and refused ours; it deletes the old SA.
    o.collided_ike = 0;
    ++own_counters_.ike_rekeys_refused;
    log_("ike: " + sa.peer.str() + ": our IKE SA rekey refused: " + why);
    return {};
  }
  // From our side (IkeSa::we_initiated): our SPI in spi_r, the peer's
  // direction's keys where the responder looks for them.
  flip_sides(*next);
  next->we_initiated = true;
  for (const auto& [spi, child] : next->children) esp_spis_[spi] = next->spi_r;
  ++own_counters_.ike_rekeys_completed;
  ++counters_.ike_sas_rekeyed;
  log_("ike: " + sa.peer.str() + ": IKE SA of " + sa.remote_id + " rekeyed by us, " +
       std::to_string(next->children.size()) + " Child SAs moved to it");
  const uint64_t ours = next->spi_r;
  IkeSa& made = *next;
  sas_[ours] = std::move(next);
  if (o.collided_ike) return resolve_ike_collision(sa, made, o, now);
  // The old SA's Delete, on the old SA (its own next message ID and keys).
  o.deleting_sa = true;
  return own_send(sa, o, Exchange::informational, {{PayloadType::del, false, DeletePayload{Protocol::ike, 0, {}}}}, now);
}

}  // namespace wp::ike
