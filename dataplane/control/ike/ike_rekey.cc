// The responder's side of rekeying the IKE SA (RFC 7296 § 1.3.2, § 2.18):
// CREATE_CHILD_SA with an IKE proposal (the initiator's new SPI), Ni and KEi;
// we answer with our new SPI, Nr and KEr. The new IKE SA's SKEYSEED is
// prf(SK_d (old), g^ir (new) | Ni | Nr); its message IDs start at 0; the
// Child SAs move to it at once. The old IKE SA stays (answering on its own
// keys) until the initiator deletes it, which then deletes no Child SA.
// While our own Child SA rekey or Delete is outstanding on the SA, the
// rekey is answered TEMPORARY_FAILURE (§ 2.25.2, § 2.8.2); while our own IKE
// SA rekey is, it is answered and the collision resolved by the nonces
// (ike_responder_ike_collision.cc).
#include <utility>

#include "dataplane/control/ike/ike_proposal.h"
#include "dataplane/control/ike/ike_responder.h"
#include "dataplane/control/ike/ike_sa_rekey.h"  // kNotifyTemporaryFailure

namespace wp::ike {
std::vector<Payload> Responder::rekey_ike(const std::vector<Payload>& in, IkeSa& sa, Clock::time_point now) {
  // § 2.25.2: a rekey of the IKE SA while we rekey or delete one of its
  // Child SAs waits: TEMPORARY_FAILURE (the peer tries again later). Moving
  // the Child SAs now would leave our answer's new Child SA on the old SA.
  // § 2.8.2: so does one on an IKE SA we are closing (our own rekey of it
  // done before we saw the peer's, its Delete outstanding, or our Delete at
  // its hard lifetime). One that crosses our own IKE SA rekey is answered
  // as usual: the nonce rule decides once ours is answered.
  if (const auto o = own_.find(sa.spi_r);
      o != own_.end() && o->second.window.outstanding() &&
      (o->second.rekeying || o->second.deleting_child || o->second.deleting_sa ||
       (o->second.rekeying_ike && o->second.collided_ike))) {
    ++own_counters_.collisions;
    log_("ike: " + sa.peer.str() + ": IKE SA rekey of " + sa.remote_id + " while our " +
         (o->second.deleting_sa ? "Delete of the IKE SA" : o->second.rekeying_ike ? "IKE SA rekey" : "Child SA request") +
         " is outstanding: TEMPORARY_FAILURE");
    return {make_notify(kNotifyTemporaryFailure)};
  }
  IkeRekeyAnswer a = answer_ike_rekey(in, sa, config_.ike_suites, new_ike_spi(), now);
  if (!a.next) {
    refuse(*a.refused, sa.peer, "IKE SA rekey: " + a.why);
    return std::move(a.out);
  }
  for (const auto& [spi, child] : a.next->children) esp_spis_[spi] = a.next->spi_r;
  log_("ike: " + sa.peer.str() + ": IKE SA of " + sa.remote_id + " rekeyed, " +
       std::to_string(a.next->children.size()) + " Child SAs moved to it");
  ++counters_.ike_sas_rekeyed;
  note_ike_collision(sa, *a.next);
  sas_[a.next->spi_r] = std::move(a.next);
  return std::move(a.out);
}

IkeRekeyAnswer answer_ike_rekey(const std::vector<Payload>& in, IkeSa& old, const std::vector<IkeSuite>& suites,
                                uint64_t new_spi, std::chrono::steady_clock::time_point now) {
  IkeRekeyAnswer a;
  auto refused = [&a](Refusal r, std::string why, Payload notify) {
    a.refused = r;
    a.why = std::move(why);
    a.out = {std::move(notify)};
    return std::move(a);
  };
  const auto* sa_p = find_payload<SaPayload>(in, PayloadType::sa);
  const auto* ke = find_payload<KePayload>(in, PayloadType::ke);
  const auto* nonce = find_payload<NoncePayload>(in, PayloadType::nonce);
  if (!sa_p || !nonce)
    return refused(Refusal::missing_payload, "without SA or Nonce", make_notify(kNotifyInvalidSyntax));
  const auto choice = choose_ike_proposal(*sa_p, suites, 8);
  if (!choice || spi64(choice->proposal->spi) == 0)
    return refused(Refusal::no_proposal_chosen, std::to_string(sa_p->proposals.size()) + " proposals",
                   make_notify(kNotifyNoProposalChosen));
  if (!ke || ke->group != choice->suite.dh) {
    const uint16_t g = choice->suite.dh;
    return refused(Refusal::invalid_ke_payload, "KE group " + std::to_string(ke ? ke->group : 0),
                   make_notify(kNotifyInvalidKePayload, Bytes{uint8_t(g >> 8), uint8_t(g)}));
  }
  std::string error;
  auto dh = DhKey::generate(choice->suite.dh, error);
  Bytes g_ir;
  if (!dh || !dh->shared_secret(ke->data, g_ir, error))
    return refused(dh ? Refusal::bad_ke_data : Refusal::crypto_failure, error, make_notify(kNotifyInvalidSyntax));
  auto next = std::make_unique<IkeSa>();
  next->spi_i = spi64(choice->proposal->spi);  // § 2.18: the rekey's initiator is the new SA's
  next->spi_r = new_spi;
  next->state = IkeSaState::established;
  next->created = next->last_inbound = now;
  next->peer = old.peer;
  next->local = old.local;
  next->nat_detected = old.nat_detected;
  next->udp_encap = old.udp_encap;
  next->suite = choice->suite;
  next->ni = nonce->data;
  next->nr = random_bytes(32);
  next->keys =
      derive_rekeyed_ike_keys(choice->suite, old.keys.sk_d, next->ni, next->nr, g_ir, next->spi_i, next->spi_r);
  wipe(g_ir);
  next->config = old.config;
  next->remote_id = old.remote_id;
  next->next_request_id = 0;  // § 2.18: a new IKE SA counts from 0
  next->own_next_request_id = 0;
  next->children = std::move(old.children);
  old.children.clear();
  a.out = {{PayloadType::sa, false, ike_answer(choice->proposal->number, next->suite, next->spi_r)},
           {PayloadType::nonce, false, NoncePayload{next->nr}},
           {PayloadType::ke, false, KePayload{next->suite.dh, dh->public_value()}}};
  a.next = std::move(next);
  return a;
}

void flip_sides(IkeSa& sa) {
  std::swap(sa.spi_i, sa.spi_r);
  std::swap(sa.keys.sk_ei, sa.keys.sk_er);
  std::swap(sa.keys.sk_ai, sa.keys.sk_ar);
  std::swap(sa.keys.sk_pi, sa.keys.sk_pr);
}

}  // namespace wp::ike
