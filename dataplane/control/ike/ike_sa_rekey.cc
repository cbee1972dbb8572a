// An IKE SA rekey we request; see ike_sa_rekey.h.
#include "dataplane/control/ike/ike_sa_rekey.h"

#include "dataplane/control/ike/ike_proposal.h"
#include "dataplane/control/ike/ike_responder.h"  // random_bytes

namespace wp::ike {
bool IkeSaRekey::request(const IkeSa& sa, uint64_t new_spi, std::vector<Payload>& out, std::string& why) {
  dh_ = DhKey::generate(sa.suite.dh, why);
  if (!dh_) return false;
  new_spi_ = new_spi;
  ni_ = random_bytes(32);
  out = {{PayloadType::sa, false, ike_answer(1, sa.suite, new_spi)},
         {PayloadType::nonce, false, NoncePayload{ni_}},
         {PayloadType::ke, false, KePayload{sa.suite.dh, dh_->public_value()}}};
  return true;
}

std::unique_ptr<IkeSa> IkeSaRekey::on_answer(IkeSa& old, const std::vector<Payload>& in,
                                             std::chrono::steady_clock::time_point now, std::string& why) {
  auto refused = [&](std::string w) {
    why = std::move(w);
    dh_.reset();
    return std::unique_ptr<IkeSa>{};
  };
  for (const Payload& p : in)
    if (auto* n = std::get_if<NotifyPayload>(&p.body); n && n->type < 16384)
      return refused(n->type == kNotifyTemporaryFailure ? "TEMPORARY_FAILURE" : "notify " + std::to_string(n->type));
  const auto* sa_p = find_payload<SaPayload>(in, PayloadType::sa);
  const auto* nonce = find_payload<NoncePayload>(in, PayloadType::nonce);
  const auto* ke = find_payload<KePayload>(in, PayloadType::ke);
  if (!sa_p || !nonce || !ke || sa_p->proposals.size() != 1) return refused("answer without SA, Nonce or KE");
  if (!dh_) return refused("no IKE SA rekey outstanding");
  const auto choice = choose_ike_proposal(*sa_p, {old.suite}, 8);
  if (!choice || choice->proposal->number != 1 || spi64(choice->proposal->spi) == 0)
    return refused("the IKE answer is not the proposal we offered");
  if (ke->group != old.suite.dh) return refused("KE of group " + std::to_string(ke->group));
  Bytes g_ir;
  std::string err;
  if (!dh_->shared_secret(ke->data, g_ir, err)) return refused("KE: " + err);
  dh_.reset();
  auto next = std::make_unique<IkeSa>();
  next->spi_i = new_spi_;  // § 2.18: the rekey's initiator is the new SA's
  next->spi_r = spi64(choice->proposal->spi);
  next->state = IkeSaState::established;
  next->created = next->last_inbound = now;
  next->peer = old.peer;
  next->local = old.local;
  next->nat_detected = old.nat_detected;
  next->udp_encap = old.udp_encap;
  next->suite = old.suite;
  next->ni = ni_;
  next->nr = nonce->data;
  next->keys = derive_rekeyed_ike_keys(old.suite, old.keys.sk_d, next->ni, next->nr, g_ir, next->spi_i, next->spi_r);
  wipe(g_ir);
  next->config = old.config;
  next->remote_id = old.remote_id;
  next->next_request_id = 0;      // § 2.18: a new IKE SA counts from 0
  next->own_next_request_id = 0;
  next->children = std::move(old.children);
  old.children.clear();
  return next;
}

}  // namespace wp::ike
