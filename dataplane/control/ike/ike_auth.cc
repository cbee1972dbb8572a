// The responder's IKE_AUTH (RFC 7296 § 1.2, § 2.15) and the Child SA it
// creates (§ 2.9 traffic selectors, § 2.17 KEYMAT). See ike_responder.h.
#include "dataplane/control/ike/ike_responder.h"

#include <algorithm>

namespace wp::ike {
namespace {

Payload notify(uint16_t type) { return {PayloadType::notify, false, NotifyPayload{Protocol::none, {}, type, {}}}; }

std::string id_text(const IdPayload& id) { return std::string(id.data.begin(), id.data.end()); }

template <class T>
const T* find(const std::vector<Payload>& in, PayloadType type) {
  for (const Payload& p : in)
    if (p.type == type) return std::get_if<T>(&p.body);
  return nullptr;
}

bool has_notify(const std::vector<Payload>& in, uint16_t type) {
  for (const Payload& p : in)
    if (const auto* n = std::get_if<NotifyPayload>(&p.body); n && n->type == type) return true;
  return false;
}

Bytes take(const Bytes& km, size_t& off, size_t n) {
  Bytes b(km.begin() + static_cast<long>(off), km.begin() + static_cast<long>(off + n));
  off += n;
  return b;
}

}  // namespace

Bytes id_body(const IdPayload& id) {
  Bytes b(4 + id.data.size(), 0);
  b[0] = id.type;
  std::copy(id.data.begin(), id.data.end(), b.begin() + 4);
  return b;
}

std::vector<Payload> Responder::on_auth(const std::vector<Payload>& in, IkeSa& sa, bool& erase_sa) {
  if (!authenticate(in, sa)) {
    erase_sa = true;  // § 2.21.2: the IKE SA is not created
    return {notify(kNotifyAuthenticationFailed)};
  }
  const PeerConfig& peer = *sa.config;
  const IdPayload idr{kIdFqdn, Bytes(peer.local_id.begin(), peer.local_id.end())};
  const Bytes auth = psk_auth(peer.psk, sa.keys.sk_pr, sa.init_response, sa.ni, id_body(idr));
  std::vector<Payload> out{{PayloadType::idr, false, idr}, {PayloadType::auth, false, AuthPayload{kAuthPsk, auth}}};
  sa.state = IkeSaState::established;
  ++counters_.ike_sas_established;
  log_("ike: " + sa.peer.str() + ": IKE SA established with " + sa.remote_id + (sa.nat_detected ? " (NAT)" : ""));
  if (has_notify(in, kNotifyInitialContact)) initial_contact(sa);
  add_child(in, sa, out);
  return out;
}

bool Responder::authenticate(const std::vector<Payload>& in, IkeSa& sa) {
  const auto* idi = find<IdPayload>(in, PayloadType::idi);
  const auto* auth = find<AuthPayload>(in, PayloadType::auth);
  if (!idi || !auth) {
    refuse(Refusal::missing_payload, sa.peer, "IKE_AUTH without IDi or AUTH (EAP is not supported)");
    return false;
  }
  const PeerConfig* peer = nullptr;
  for (const PeerConfig& p : config_.peers)
    if (idi->type == kIdFqdn && id_text(*idi) == p.remote_id) peer = &p;
  const auto* idr = find<IdPayload>(in, PayloadType::idr);
  if (!peer || (idr && (idr->type != kIdFqdn || id_text(*idr) != peer->local_id))) {
    refuse(Refusal::unknown_id, sa.peer, "IDi " + id_text(*idi) + (idr ? ", IDr " + id_text(*idr) : ""));
    return false;
  }
  if (auth->method != kAuthPsk) {
    refuse(Refusal::unsupported_auth_method, sa.peer, "AUTH method " + std::to_string(auth->method));
    return false;
  }
  Bytes expected = psk_auth(peer->psk, sa.keys.sk_pi, sa.init_request, sa.nr, id_body(*idi));
  const bool ok = equal_ct(expected, auth->data);
  wipe(expected);
  if (!ok) {
    refuse(Refusal::authentication_failed, sa.peer, "PSK AUTH of " + id_text(*idi) + " does not verify");
    return false;
  }
  sa.config = peer;
  sa.remote_id = id_text(*idi);
  return true;
}

void Responder::add_child(const std::vector<Payload>& in, IkeSa& sa, std::vector<Payload>& out) {
  const auto* esp = find<SaPayload>(in, PayloadType::sa);
  const auto* tsi = find<TsPayload>(in, PayloadType::tsi);
  const auto* tsr = find<TsPayload>(in, PayloadType::tsr);
  if (!esp || !tsi || !tsr) return;  // childless IKE SA (RFC 6023)
  const PeerConfig& peer = *sa.config;
  const auto choice = choose_esp_proposal(*esp, peer.esp_suites);
  if (!choice) {
    refuse(Refusal::child_no_proposal_chosen, sa.peer, std::to_string(esp->proposals.size()) + " ESP proposals");
    out.push_back(notify(kNotifyNoProposalChosen));
    return;
  }
  ChildSa child;
  child.ts_remote = narrow(tsi->selectors, peer.remote_ts);
  child.ts_local = narrow(tsr->selectors, peer.local_ts);
  if (child.ts_remote.empty() || child.ts_local.empty()) {
    refuse(Refusal::ts_unacceptable, sa.peer, "no overlap with the configured traffic selectors");
    out.push_back(notify(kNotifyTsUnacceptable));
    return;
  }
  child.suite = choice->suite;
  child.spi_out = choice->peer_spi;
  child.spi_in = new_esp_spi();
  // § 2.17: initiator->responder keys first, encryption before integrity.
  const size_t e = child.suite.encr_key_len(), a = child.suite.integ_key_len();
  Bytes km = child_keymat(sa.keys.sk_d, sa.ni, sa.nr, 2 * (e + a));
  size_t off = 0;
  child.enc_in = take(km, off, e);
  child.integ_in = take(km, off, a);
  child.enc_out = take(km, off, e);
  child.integ_out = take(km, off, a);
  wipe(km);
  out.push_back({PayloadType::sa, false, esp_answer(choice->proposal->number, child.suite, child.spi_in)});
  out.push_back({PayloadType::tsi, false, TsPayload{child.ts_remote}});
  out.push_back({PayloadType::tsr, false, TsPayload{child.ts_local}});
  esp_spis_[child.spi_in] = sa.spi_r;
  ++counters_.child_sas_installed;
  log_("ike: " + sa.peer.str() + ": Child SA stored (not in a dataplane yet), SPI in " +
       std::to_string(child.spi_in) + " out " + std::to_string(child.spi_out));
  sa.children.emplace(child.spi_in, std::move(child));
}

}  // namespace wp::ike
