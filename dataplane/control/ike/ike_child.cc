// The responder's Child SAs (RFC 7296): the first one, in IKE_AUTH (§ 1.2),
// and the ones CREATE_CHILD_SA creates or rekeys (§ 1.3.1, § 1.3.3), with
// an optional KE for perfect forward secrecy. Traffic selectors are narrowed
// to the peer's configured ones (§ 2.9); KEYMAT = prf+(SK_d, [g^ir new |]
// Ni | Nr), initiator->responder keys first (§ 2.17). A rekeyed Child SA
// stays until the initiator deletes it (§ 2.8: make before break). Rekeying
// the IKE SA itself (§ 1.3.2, § 2.18) is in ike_rekey.cc.
#include <algorithm>
#include <cstdio>

#include "dataplane/control/ike/ike_responder.h"

namespace wp::ike {
namespace {

uint32_t spi32(const Bytes& b) { return uint32_t(b[0]) << 24 | uint32_t(b[1]) << 16 | uint32_t(b[2]) << 8 | b[3]; }

}  // namespace

void split_child_keys(ChildSa& child, CSpan km, bool initiator) {
  const size_t e = child.suite.encr_key_len(), a = child.suite.integ_key_len();
  auto take = [&, off = size_t{0}](size_t n) mutable {
    Bytes b(km.begin() + static_cast<long>(off), km.begin() + static_cast<long>(off + n));
    off += n;
    return b;
  };
  // Initiator -> responder first (§ 2.17).
  Bytes& enc_ir = initiator ? child.enc_out : child.enc_in;
  Bytes& integ_ir = initiator ? child.integ_out : child.integ_in;
  Bytes& enc_ri = initiator ? child.enc_in : child.enc_out;
  Bytes& integ_ri = initiator ? child.integ_in : child.integ_out;
  enc_ir = take(e);
  integ_ir = take(a);
  enc_ri = take(e);
  integ_ri = take(a);
}

void derive_child_keys(ChildSa& child, CSpan sk_d, CSpan ni, CSpan nr, CSpan g_ir, bool initiator) {
  const size_t e = child.suite.encr_key_len(), a = child.suite.integ_key_len();
  Bytes km = child_keymat(sk_d, ni, nr, 2 * (e + a), g_ir);
  split_child_keys(child, km, initiator);
  wipe(km);
}

bool Responder::narrow_child(const TsPayload& tsi, const TsPayload& tsr, IkeSa& sa, ChildSa& child,
                             std::vector<Payload>& out) {
  child.ts_remote = narrow(tsi.selectors, sa.config->remote_ts);
  child.ts_local = narrow(tsr.selectors, sa.config->local_ts);
  if (!child.ts_remote.empty() && !child.ts_local.empty()) return true;
  refuse(Refusal::ts_unacceptable, sa.peer, "no overlap with the configured traffic selectors");
  out.push_back(make_notify(kNotifyTsUnacceptable));
  return false;
}

uint32_t Responder::install_child(IkeSa& sa, ChildSa child, const EspChoice& choice, CSpan ni, CSpan nr, CSpan g_ir) {
  child.suite = choice.suite;
  child.spi_out = choice.peer_spi;
  child.spi_in = new_esp_spi(sa.config->tunnel);
  derive_child_keys(child, sa.keys.sk_d, ni, nr, g_ir, /*initiator=*/false);
  const uint32_t spi = child.spi_in;
  esp_spis_[spi] = sa.spi_r;
  ++counters_.child_sas_installed;
  char spis[40];
  std::snprintf(spis, sizeof spis, "in %08x out %08x", spi, child.spi_out);
  log_("ike: " + sa.peer.str() + ": Child SA negotiated, SPI " + spis +
       (g_ir.empty() ? "" : " (PFS)"));
  sa.children.emplace(spi, std::move(child));
  return spi;
}

void Responder::add_child(const std::vector<Payload>& in, IkeSa& sa, std::vector<Payload>& out) {
  const auto* esp = find_payload<SaPayload>(in, PayloadType::sa);
  const auto* tsi = find_payload<TsPayload>(in, PayloadType::tsi);
  const auto* tsr = find_payload<TsPayload>(in, PayloadType::tsr);
  if (!esp || !tsi || !tsr) return;  // childless IKE SA (RFC 6023)
  const auto choice = choose_esp_proposal(*esp, sa.config->esp_suites);
  if (!choice) {
    refuse(Refusal::child_no_proposal_chosen, sa.peer, std::to_string(esp->proposals.size()) + " ESP proposals");
    out.push_back(make_notify(kNotifyNoProposalChosen));
    return;
  }
  ChildSa child;
  if (!narrow_child(*tsi, *tsr, sa, child, out)) return;
  std::vector<Payload> ts{{PayloadType::tsi, false, TsPayload{child.ts_remote}},
                          {PayloadType::tsr, false, TsPayload{child.ts_local}}};
  const uint32_t spi = install_child(sa, std::move(child), *choice, sa.ni, sa.nr, {});
  out.push_back({PayloadType::sa, false, esp_answer(choice->proposal->number, choice->suite, spi)});
  out.insert(out.end(), ts.begin(), ts.end());
}

std::vector<Payload> Responder::on_create_child(const std::vector<Payload>& in, IkeSa& sa) {
  const auto* sa_p = find_payload<SaPayload>(in, PayloadType::sa);
  if (!sa_p || !find_payload<NoncePayload>(in, PayloadType::nonce)) {
    refuse(Refusal::missing_payload, sa.peer, "CREATE_CHILD_SA needs SA and Nonce");
    return {make_notify(kNotifyInvalidSyntax)};
  }
  if (sa_p->proposals.front().protocol == Protocol::ike) return rekey_ike(in, sa);
  // § 2.25.2: no Child SA made or rekeyed while our IKE SA rekey is outstanding.
  if (const auto o = own_.find(sa.spi_r); o != own_.end() && o->second.window.outstanding() && o->second.rekeying_ike) {
    ++own_counters_.collisions;
    log_("ike: " + sa.peer.str() + ": CREATE_CHILD_SA while our IKE SA rekey is outstanding: TEMPORARY_FAILURE");
    return {make_notify(kNotifyTemporaryFailure)};
  }
  if (!find_payload<TsPayload>(in, PayloadType::tsi) || !find_payload<TsPayload>(in, PayloadType::tsr)) {
    refuse(Refusal::missing_payload, sa.peer, "CREATE_CHILD_SA for a Child SA needs TSi and TSr");
    return {make_notify(kNotifyInvalidSyntax)};
  }
  uint32_t rekeyed = 0;  // the old Child SA's inbound SPI
  if (const NotifyPayload* rekey = find_notify(in, kNotifyRekeySa)) {
    for (const auto& [spi, c] : sa.children)
      if (rekey->spi.size() == 4 && c.spi_out == spi32(rekey->spi)) rekeyed = spi;
    if (rekeyed == 0) {
      refuse(Refusal::child_sa_not_found, sa.peer, "REKEY_SA for an unknown Child SA");
      return {make_notify(kNotifyChildSaNotFound)};
    }
  }
  const auto* ke = find_payload<KePayload>(in, PayloadType::ke);
  const auto choice = choose_esp_proposal(*sa_p, sa.config->esp_suites, ke ? ke->group : 0);
  if (!choice) {
    const uint16_t g = esp_group_wanted(*sa_p, sa.config->esp_suites);
    if (ke && g != 0) {
      refuse(Refusal::invalid_ke_payload, sa.peer,
             "KE group " + std::to_string(ke->group) + ", we want " + std::to_string(g));
      return {make_notify(kNotifyInvalidKePayload, Bytes{uint8_t(g >> 8), uint8_t(g)})};
    }
    refuse(Refusal::child_no_proposal_chosen, sa.peer, std::to_string(sa_p->proposals.size()) + " ESP proposals");
    return {make_notify(kNotifyNoProposalChosen)};
  }
  return rekey_answer(in, sa, *choice, ke, rekeyed);
}

std::vector<Payload> Responder::rekey_answer(const std::vector<Payload>& in, IkeSa& sa, const EspChoice& choice,
                                             const KePayload* ke, uint32_t rekeyed) {
  std::vector<Payload> out;
  ChildSa child;
  if (!narrow_child(*find_payload<TsPayload>(in, PayloadType::tsi), *find_payload<TsPayload>(in, PayloadType::tsr), sa, child, out))
    return out;
  std::unique_ptr<DhKey> dh;
  Bytes g_ir;
  std::string error;
  if (ke && (!(dh = DhKey::generate(ke->group, error)) || !dh->shared_secret(ke->data, g_ir, error))) {
    refuse(Refusal::bad_ke_data, sa.peer, error);
    return {make_notify(kNotifyInvalidSyntax)};
  }
  const Bytes& ni = find_payload<NoncePayload>(in, PayloadType::nonce)->data;
  const Bytes nr = random_bytes(32);
  std::vector<Payload> ts{{PayloadType::tsi, false, TsPayload{child.ts_remote}},
                          {PayloadType::tsr, false, TsPayload{child.ts_local}}};
  const uint32_t spi = install_child(sa, std::move(child), choice, ni, nr, g_ir);
  wipe(g_ir);
  if (rekeyed) note_collision(sa, rekeyed, spi, ni, nr);
  out.push_back({PayloadType::sa, false, esp_answer(choice.proposal->number, choice.suite, spi, choice.dh)});
  out.push_back({PayloadType::nonce, false, NoncePayload{nr}});
  if (dh) out.push_back({PayloadType::ke, false, KePayload{ke->group, dh->public_value()}});
  out.insert(out.end(), ts.begin(), ts.end());
  return out;
}

}  // namespace wp::ike
