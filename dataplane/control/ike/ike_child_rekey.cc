// A Child SA rekey we request; see ike_child_rekey.h.
#include "dataplane/control/ike/ike_child_rekey.h"

#include <utility>

#include "dataplane/control/ike/ike_bytes.h"
#include "dataplane/control/ike/ike_proposal.h"
#include "dataplane/control/ike/ike_responder.h"  // random_bytes

namespace wp::ike {

bool ChildRekey::request(const IkeSa& sa, const PeerConfig& peer, uint32_t old_spi, uint32_t new_spi,
                         uint16_t group, std::vector<Payload>& out, std::string& why) {
  dh_.reset();
  if (!sa.children.count(old_spi)) return why = "the Child SA is gone", false;
  if (group != 0 && !(dh_ = DhKey::generate(group, why))) return false;
  ke_retried_ = std::exchange(retry_pending_, false);  // one INVALID_KE_PAYLOAD followed per rekey
  old_spi_ = old_spi;
  new_spi_ = new_spi;
  group_ = group;
  ni_ = random_bytes(32);
  nr_.clear();
  const ChildSa& old = sa.children.at(old_spi);
  SaPayload esp;
  uint8_t n = 1;
  for (const EspSuite& e : peer.esp_suites) esp.proposals.push_back(esp_answer(n++, e, new_spi, group).proposals[0]);
  out = {{PayloadType::notify, false, NotifyPayload{Protocol::esp, spi_bytes(old_spi), kNotifyRekeySa, {}}},
         {PayloadType::sa, false, std::move(esp)},
         {PayloadType::nonce, false, NoncePayload{ni_}}};
  if (dh_) out.push_back({PayloadType::ke, false, KePayload{group, dh_->public_value()}});
  out.push_back({PayloadType::tsi, false, TsPayload{old.ts_local}});
  out.push_back({PayloadType::tsr, false, TsPayload{old.ts_remote}});
  return true;
}

ChildRekey::Answer ChildRekey::on_answer(IkeSa& sa, const PeerConfig& peer, const std::vector<Payload>& in,
                                         std::string& why) {
  auto refused = [&](std::string w) {
    why = std::move(w);
    dh_.reset();
    return Answer::refused;
  };
  if (const NotifyPayload* k = find_notify(in, kNotifyInvalidKePayload); k && !ke_retried_) {
    const uint16_t g = be16(k->data);
    if (dh_public_len(g) == 0) return refused("INVALID_KE_PAYLOAD for group " + std::to_string(g));
    group_ = g;
    retry_pending_ = true;
    return Answer::retry;
  }
  for (const Payload& p : in)
    if (auto* n = std::get_if<NotifyPayload>(&p.body); n && n->type < 16384)
      return refused("notify " + std::to_string(n->type));
  const auto* esp = find_payload<SaPayload>(in, PayloadType::sa);
  const auto* nonce = find_payload<NoncePayload>(in, PayloadType::nonce);
  const auto* ke = find_payload<KePayload>(in, PayloadType::ke);
  const auto* tsi = find_payload<TsPayload>(in, PayloadType::tsi);
  const auto* tsr = find_payload<TsPayload>(in, PayloadType::tsr);
  if (!esp || !nonce || !tsi || !tsr || esp->proposals.size() != 1) return refused("answer without SA, Nonce or TS");
  const auto choice = choose_esp_proposal(*esp, peer.esp_suites, group_);
  if (!choice || choice->proposal->number == 0 || choice->proposal->number > peer.esp_suites.size() ||
      !(peer.esp_suites[choice->proposal->number - 1] == choice->suite) || choice->dh != group_)
    return refused("the ESP answer is not one we offered");
  if (narrow(tsi->selectors, peer.local_ts) != tsi->selectors || tsi->selectors.empty() ||
      narrow(tsr->selectors, peer.remote_ts) != tsr->selectors || tsr->selectors.empty())
    return refused("traffic selectors wider than ours");
  Bytes g_ir;
  if (dh_) {
    std::string err;
    if (!ke || ke->group != group_ || !dh_->shared_secret(ke->data, g_ir, err))
      return refused("PFS KE missing or invalid " + err);
  } else if (ke) {
    return refused("a KE we did not ask for");
  }
  dh_.reset();
  nr_ = nonce->data;
  ChildSa c;
  c.suite = choice->suite;
  c.spi_in = new_spi_;
  c.spi_out = choice->peer_spi;
  c.ts_local = tsi->selectors;
  c.ts_remote = tsr->selectors;
  derive_child_keys(c, sa.keys.sk_d, ni_, nr_, g_ir, /*initiator=*/true);  // of this exchange (§ 2.17)
  wipe(g_ir);
  sa.children.emplace(new_spi_, std::move(c));
  return Answer::installed;
}

}  // namespace wp::ike
