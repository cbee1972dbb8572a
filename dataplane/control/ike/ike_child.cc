// The responder's Child SAs (RFC 7296): the first one, in IKE_AUTH (§ 1.2),
// and the ones CREATE_CHILD_SA creates or rekeys (§ 1.3.1, § 1.3.3), with
// an optional KE for perfect forward secrecy. Traffic selectors are narrowed
// to the peer's configured ones (§ 2.9); KEYMAT = prf+(SK_d, [g^ir new |]
// Ni | Nr), initiator->responder keys first (§ 2.17). A rekeyed Child SA
// stays until the initiator deletes it (§ 2.8: make before break). Rekeying
// the IKE SA itself (§ 1.3.2, § 2.18) is in ike_rekey.cc.
#include <algorithm>
#include <cstdio>

#include "dataplane/control/ike/ike_child_answer.h"
#include "dataplane/control/ike/ike_responder.h"
#include "dataplane/control/ike/ike_sa_rekey.h"  // kNotifyTemporaryFailure

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

bool narrow_child_selectors(const TsPayload& tsi, const TsPayload& tsr, const PeerConfig& peer, ChildSa& child) {
  child.ts_remote = narrow(tsi.selectors, peer.remote_ts);
  child.ts_local = narrow(tsr.selectors, peer.local_ts);
  return !child.ts_remote.empty() && !child.ts_local.empty();
}

bool Responder::narrow_child(const TsPayload& tsi, const TsPayload& tsr, IkeSa& sa, ChildSa& child,
                             std::vector<Payload>& out) {
  if (narrow_child_selectors(tsi, tsr, *sa.config, child)) return true;
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

uint32_t rekey_target(const std::vector<Payload>& in, const IkeSa& sa, bool& named) {
  const NotifyPayload* rekey = find_notify(in, kNotifyRekeySa);
  named = rekey != nullptr;
  if (!rekey || rekey->spi.size() != 4) return 0;
  for (const auto& [spi, c] : sa.children)
    if (c.spi_out == spi32(rekey->spi)) return spi;
  return 0;
}

ChildRequestAnswer answer_child_request(const std::vector<Payload>& in, IkeSa& sa, uint32_t new_spi) {
  ChildRequestAnswer a;
  auto refuse = [&a](Refusal r, std::string why, Payload notify) {
    a.refused = r;
    a.why = std::move(why);
    a.out = {std::move(notify)};
    return a;
  };
  const PeerConfig& peer = *sa.config;
  const auto* sa_p = find_payload<SaPayload>(in, PayloadType::sa);
  const auto* nonce = find_payload<NoncePayload>(in, PayloadType::nonce);
  const auto* tsi = find_payload<TsPayload>(in, PayloadType::tsi);
  const auto* tsr = find_payload<TsPayload>(in, PayloadType::tsr);
  if (!sa_p || !nonce || !tsi || !tsr)
    return refuse(Refusal::missing_payload, "CREATE_CHILD_SA for a Child SA needs SA, Nonce, TSi and TSr",
                  make_notify(kNotifyInvalidSyntax));
  bool named = false;
  a.rekeyed = rekey_target(in, sa, named);
  if (named && a.rekeyed == 0)
    return refuse(Refusal::child_sa_not_found, "REKEY_SA for an unknown Child SA", make_notify(kNotifyChildSaNotFound));
  const auto* ke = find_payload<KePayload>(in, PayloadType::ke);
  const auto choice = choose_esp_proposal(*sa_p, peer.esp_suites, ke ? ke->group : 0);
  if (!choice) {
    const uint16_t g = esp_group_wanted(*sa_p, peer.esp_suites);
    if (ke && g != 0)
      return refuse(Refusal::invalid_ke_payload,
                    "KE group " + std::to_string(ke->group) + ", we want " + std::to_string(g),
                    make_notify(kNotifyInvalidKePayload, Bytes{uint8_t(g >> 8), uint8_t(g)}));
    return refuse(Refusal::child_no_proposal_chosen, std::to_string(sa_p->proposals.size()) + " ESP proposals",
                  make_notify(kNotifyNoProposalChosen));
  }
  ChildSa child;
  if (!narrow_child_selectors(*tsi, *tsr, peer, child))
    return refuse(Refusal::ts_unacceptable, "no overlap with the configured traffic selectors",
                  make_notify(kNotifyTsUnacceptable));
  std::unique_ptr<DhKey> dh;
  Bytes g_ir;
  std::string error;
  if (ke && (!(dh = DhKey::generate(ke->group, error)) || !dh->shared_secret(ke->data, g_ir, error)))
    return refuse(Refusal::bad_ke_data, error, make_notify(kNotifyInvalidSyntax));
  a.ni = nonce->data;
  a.nr = random_bytes(32);
  a.pfs = dh != nullptr;
  std::vector<Payload> ts{{PayloadType::tsi, false, TsPayload{child.ts_remote}},
                          {PayloadType::tsr, false, TsPayload{child.ts_local}}};
  child.suite = choice->suite;
  child.spi_out = choice->peer_spi;
  child.spi_in = new_spi;
  child.seal_deferred = a.rekeyed != 0;  // § 2.8: the responder seals on it once the peer uses it
  derive_child_keys(child, sa.keys.sk_d, a.ni, a.nr, g_ir, /*initiator=*/false);  // the peer began this exchange
  wipe(g_ir);
  sa.children.emplace(new_spi, std::move(child));
  a.spi_in = new_spi;
  a.out.push_back({PayloadType::sa, false, esp_answer(choice->proposal->number, choice->suite, new_spi, choice->dh)});
  a.out.push_back({PayloadType::nonce, false, NoncePayload{a.nr}});
  if (dh) a.out.push_back({PayloadType::ke, false, KePayload{ke->group, dh->public_value()}});
  a.out.insert(a.out.end(), ts.begin(), ts.end());
  return a;
}

std::vector<Payload> Responder::on_create_child(const std::vector<Payload>& in, IkeSa& sa, Clock::time_point now) {
  const auto* sa_p = find_payload<SaPayload>(in, PayloadType::sa);
  if (!sa_p || !find_payload<NoncePayload>(in, PayloadType::nonce)) {
    refuse(Refusal::missing_payload, sa.peer, "CREATE_CHILD_SA needs SA and Nonce");
    return {make_notify(kNotifyInvalidSyntax)};
  }
  if (sa_p->proposals.front().protocol == Protocol::ike) return rekey_ike(in, sa, now);
  // § 2.25.2: no Child SA made or rekeyed while our IKE SA rekey is outstanding.
  if (const auto o = own_.find(sa.spi_r); o != own_.end() && o->second.window.outstanding() && o->second.rekeying_ike) {
    ++own_counters_.collisions;
    log_("ike: " + sa.peer.str() + ": CREATE_CHILD_SA while our IKE SA rekey is outstanding: TEMPORARY_FAILURE");
    return {make_notify(kNotifyTemporaryFailure)};
  }
  ChildRequestAnswer a = answer_child_request(in, sa, new_esp_spi(sa.config->tunnel));
  if (a.refused) {
    refuse(*a.refused, sa.peer, a.why);
    return std::move(a.out);
  }
  esp_spis_[a.spi_in] = sa.spi_r;
  ++counters_.child_sas_installed;
  ++(a.rekeyed ? counters_.peer_child_rekeys : counters_.peer_child_sas);
  const ChildSa& c = sa.children.at(a.spi_in);
  char spis[40];
  std::snprintf(spis, sizeof spis, "in %08x out %08x", c.spi_in, c.spi_out);
  log_("ike: " + sa.peer.str() + ": Child SA negotiated, SPI " + spis + (a.pfs ? " (PFS)" : ""));
  if (a.rekeyed) note_collision(sa, a.rekeyed, a.spi_in, a.ni, a.nr);
  return std::move(a.out);
}

}  // namespace wp::ike
