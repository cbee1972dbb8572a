// The responder's IKE_AUTH (RFC 7296 § 1.2, § 2.15); the Child SA it creates
// is negotiated in ike_child.cc. See ike_responder.h.
#include <algorithm>

#include "dataplane/control/ike/ike_cert.h"
#include "dataplane/control/ike/ike_responder.h"

namespace wp::ike {

Bytes id_body(const IdPayload& id) {
  Bytes b(4 + id.data.size(), 0);
  b[0] = id.type;
  std::copy(id.data.begin(), id.data.end(), b.begin() + 4);
  return b;
}

std::vector<Payload> Responder::on_auth(const std::vector<Payload>& in, IkeSa& sa, bool& erase_sa) {
  if (!authenticate(in, sa)) {
    erase_sa = true;  // § 2.21.2: the IKE SA is not created
    return {make_notify(kNotifyAuthenticationFailed)};
  }
  const PeerConfig& peer = *sa.config;
  const Identity ours = peer.local_identity();
  const IdPayload idr{ours.type, ours.data};
  std::vector<Payload> out{{PayloadType::idr, false, idr}};
  AuthPayload auth{kAuthPsk, {}};
  if (peer.cert) {
    std::string why;
    if (!sign_auth(*peer.cert, signed_octets(sa.keys.sk_pr, sa.init_response, sa.ni, id_body(idr)), auth, why)) {
      refuse(Refusal::crypto_failure, sa.peer, why);
      erase_sa = true;
      return {make_notify(kNotifyAuthenticationFailed)};
    }
    for (Payload& c : cert_payloads(*peer.cert)) out.push_back(std::move(c));
  } else {
    auth.data = psk_auth(peer.psk, sa.keys.sk_pr, sa.init_response, sa.ni, id_body(idr));
  }
  out.push_back({PayloadType::auth, false, std::move(auth)});
  sa.state = IkeSaState::established;
  --half_open_;
  ++counters_.ike_sas_established;
  log_("ike: " + sa.peer.str() + ": IKE SA established with " + sa.remote_id + (sa.nat_detected ? " (NAT)" : ""));
  if (find_notify(in, kNotifyInitialContact)) initial_contact(sa);
  add_child(in, sa, out);
  return out;
}

bool Responder::authenticate(const std::vector<Payload>& in, IkeSa& sa) {
  const auto* idi = find_payload<IdPayload>(in, PayloadType::idi);
  const auto* auth = find_payload<AuthPayload>(in, PayloadType::auth);
  if (!idi || !auth) {
    refuse(Refusal::missing_payload, sa.peer, "IKE_AUTH without IDi or AUTH (EAP is not supported)");
    return false;
  }
  // By IDi and, for a peer bound to one of our addresses (local_address),
  // the address the site reached: one site identity may have a tunnel to
  // each of two headend addresses.
  const PeerConfig* peer = nullptr;
  Identity theirs;
  for (const PeerConfig& p : config_.peers) {
    if (!p.local_addr.empty() && p.local_addr != sa.local.addr) continue;
    if (Identity id = p.remote_identity(); identity_matches(id, *idi)) {
      peer = &p;
      theirs = std::move(id);
    }
  }
  const auto* idr = find_payload<IdPayload>(in, PayloadType::idr);
  if (!peer || (idr && !identity_matches(peer->local_identity(), *idr))) {
    refuse(Refusal::unknown_id, sa.peer, "IDi " + identity_text(*idi) + (idr ? ", IDr " + identity_text(*idr) : ""));
    return false;
  }
  const std::string id_text = identity_text(*idi);
  if (peer->cert) {
    std::string why;
    const CertVerdict v = verify_peer_auth(*peer->cert, in, theirs, *auth,
                                           signed_octets(sa.keys.sk_pi, sa.init_request, sa.nr, id_body(*idi)), why);
    if (v != CertVerdict::ok) {
      refuse(v == CertVerdict::unsupported_method ? Refusal::unsupported_auth_method
             : v == CertVerdict::bad_certificate  ? Refusal::bad_certificate
             : v == CertVerdict::revoked          ? Refusal::certificate_revoked
                                                  : Refusal::authentication_failed,
             sa.peer, id_text + ": " + why);
      return false;
    }
  } else {
    if (peer->psk.empty()) {  // a certificate peer whose credentials did not load: never an empty PSK
      refuse(Refusal::authentication_failed, sa.peer, id_text + ": no credentials configured");
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
      refuse(Refusal::authentication_failed, sa.peer, "PSK AUTH of " + id_text + " does not verify");
      return false;
    }
  }
  sa.config = peer;
  sa.remote_id = peer->remote_id;  // as configured (a DN's received spelling may differ)
  return true;
}

}  // namespace wp::ike
