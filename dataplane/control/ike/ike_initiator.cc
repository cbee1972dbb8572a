// The IKEv2 initiator (ike_initiator.h). The primitives (codec, keys, AUTH,
// SK payload, proposal choice and narrowing) are the responder's.
#include "dataplane/control/ike/ike_initiator.h"

#include <cstdio>
#include <utility>

#include "dataplane/control/ike/ike_bytes.h"
#include "dataplane/control/ike/ike_cert.h"
#include "dataplane/control/ike/ike_responder.h"  // id_body, random_bytes
#include "dataplane/ipsec/esp_owner.h"
#include "dataplane/ipsec/esp_sa.h"  // kIkeNattPort

namespace wp::ike {
namespace {

// Whether the peer's message with header `h` is on `sa` (kept from our side,
// IkeSa::peer_initiated): on an SA we began its SPI second and no Initiator
// flag; on one it began by its rekey its SPI first and the flag set.
// `spi_r`: check our SPI on SAs we began too (not before the IKE_SA_INIT
// answer named the peer's).
bool from_peer_on(const IkeSa& sa, const Header& h, bool spi_r) {
  if (sa.peer_initiated) return h.initiator() && h.spi_i == sa.spi_r && h.spi_r == sa.spi_i;
  return !h.initiator() && h.spi_i == sa.spi_i && (!spi_r || h.spi_r == sa.spi_r);
}

bool same_suite(const IkeSuite& a, const IkeSuite& b) {
  return a.encr == b.encr && a.encr_key_bits == b.encr_key_bits && a.integ == b.integ && a.prf == b.prf &&
         a.dh == b.dh;
}

}  // namespace

uint64_t random_ike_spi() {
  const Bytes b = random_bytes(8);
  uint64_t v = 0;
  for (uint8_t x : b) v = v << 8 | x;
  return v == 0 ? 1 : v;
}

uint32_t new_child_spi(uint32_t tunnel, const std::map<uint32_t, ChildSa>& taken) {
  for (;;) {
    const Bytes b = random_bytes(4);
    const uint32_t spi = spi_for_tunnel(uint32_t(b[0]) << 24 | uint32_t(b[1]) << 16 | uint32_t(b[2]) << 8 | b[3], tunnel);
    if (!taken.count(spi)) return spi;
  }
}

std::string_view initiator_state_name(InitiatorState s) {
  switch (s) {
    case InitiatorState::idle: return "idle";
    case InitiatorState::sa_init_sent: return "sa_init_sent";
    case InitiatorState::auth_sent: return "auth_sent";
    case InitiatorState::established: return "established";
    case InitiatorState::failed: return "failed";
    case InitiatorState::deleted: return "deleted";
  }
  return "?";
}

std::string_view init_failure_name(InitFailure f) {
  static constexpr std::string_view names[] = {
#define WP_X(n) #n,
      WP_IKE_INIT_FAILURES(WP_X)
#undef WP_X
  };
  return static_cast<size_t>(f) < kInitFailures ? names[static_cast<size_t>(f)] : "?";
}

Initiator::Initiator(InitiatorConfig config, Log log) : config_(std::move(config)), log_(std::move(log)) {
  if (!log_) log_ = [](const std::string&) {};
}

Initiator::~Initiator() = default;

const ChildSa* Initiator::child() const {
  if (!sa_ || sa_->children.empty()) return nullptr;
  const auto it = sa_->children.find(newest_child_);
  return it != sa_->children.end() ? &it->second : &sa_->children.begin()->second;
}

void Initiator::fail(InitFailure f, const std::string& detail) {
  ++counters_[f];
  failure_ = f;
  state_ = InitiatorState::failed;
  window_.answered();
  dh_.reset();
  if (sa_) sa_->children.clear();  // keys wiped (~ChildSa)
  olds_.clear();
  peer_rekeyed_.reset();
  collided_ike_.reset();
  outstanding_ike_rekey_ = false;
  log_("ike: " + config_.remote.str() + ": initiator: " + std::string(init_failure_name(f)) +
       (detail.empty() ? "" : ": " + detail));
}

Bytes Initiator::send(Bytes request, Exchange ex, Clock::time_point now) {
  ++counters_.requests_sent;
  return window_.send(std::move(request), ex, now);
}

Bytes Initiator::tick(Clock::time_point now) {
  Bytes out;
  for (size_t k = 0; k < olds_.size();) {  // our Deletes of IKE SAs a rekey replaced
    switch (olds_[k].window.tick(now, out)) {
      case RequestWindow::Tick::nothing: ++k; break;
      case RequestWindow::Tick::resend: ++counters_.retransmits; return out;
      case RequestWindow::Tick::failed:
        ++counters_.old_ike_deletes_unanswered;
        log_("ike: " + config_.remote.str() + ": initiator: no answer to the Delete of the old IKE SA: dropped");
        olds_.erase(olds_.begin() + static_cast<long>(k));
        break;
    }
  }
  switch (window_.tick(now, out)) {
    case RequestWindow::Tick::nothing: return {};
    case RequestWindow::Tick::resend: ++counters_.retransmits; return out;
    case RequestWindow::Tick::failed: break;
  }
  const std::string sends = std::to_string(window_.sends());
  if (outstanding_liveness_) fail(InitFailure::dead_peer, "no answer to " + sends + " liveness checks");
  else fail(InitFailure::timeout, "no answer after " + sends + " sends");
  return {};
}

Bytes Initiator::start(Clock::time_point now) {
  sa_ = std::make_unique<IkeSa>();
  sa_->spi_i = random_ike_spi();
  sa_->created = now;
  sa_->peer = config_.remote;
  sa_->local = config_.local;
  sa_->ni = random_bytes(32);
  sa_->config = &config_.peer;
  failure_.reset();
  cookie_.clear();
  ke_group_ = config_.ike_suites.empty() ? kDhModp2048 : config_.ike_suites[0].dh;
  peer_next_id_ = 0;
  peer_last_answer_.clear();
  outstanding_liveness_ = outstanding_delete_ = outstanding_rekey_ = outstanding_ike_rekey_ = false;
  olds_.clear();
  peer_rekeyed_.reset();
  collided_ike_.reset();
  deleting_child_ = 0;
  nat_t_ = nat_local_ = nat_remote_ = false;
  Bytes r = sa_init_request();
  if (r.empty()) return {};
  state_ = InitiatorState::sa_init_sent;
  return send(std::move(r), Exchange::ike_sa_init, now);
}

Bytes Initiator::sa_init_request() {
  std::string err;
  dh_ = DhKey::generate(ke_group_, err);
  if (!dh_) {
    fail(InitFailure::crypto_failure, "DH group " + std::to_string(ke_group_) + ": " + err);
    return {};
  }
  SaPayload offer;
  uint8_t n = 1;
  for (const IkeSuite& s : config_.ike_suites) offer.proposals.push_back(ike_answer(n++, s).proposals[0]);
  Message m;
  m.header.spi_i = sa_->spi_i;
  m.header.flags = kFlagInitiator;
  m.header.exchange = Exchange::ike_sa_init;
  window_.reset(0);
  m.header.message_id = window_.take_id();
  if (!cookie_.empty()) m.payloads.push_back(make_notify(kNotifyCookie, cookie_));
  m.payloads.push_back({PayloadType::sa, false, std::move(offer)});
  m.payloads.push_back({PayloadType::ke, false, KePayload{ke_group_, dh_->public_value()}});
  m.payloads.push_back({PayloadType::nonce, false, NoncePayload{sa_->ni}});
  // § 2.23: SPIr is zero in the request's hashes (as the responder checks them).
  m.payloads.push_back(make_notify(kNotifyNatSourceIp, nat_hash(sa_->spi_i, 0, config_.local)));
  m.payloads.push_back(make_notify(kNotifyNatDestinationIp, nat_hash(sa_->spi_i, 0, config_.remote)));
  if (config_.peer.cert) m.payloads.push_back(signature_hash_algorithms());  // RFC 7427 § 4
  sa_->init_request = encode_message(m);
  return sa_->init_request;
}

// RFC 7296 § 2.23: a NAT in front of the peer may give it a new mapping (a
// reboot, an expired binding); a host not behind a NAT itself follows the
// peer to where a validated message of the SA came from. Called only after
// the message opened with the SA's keys.
void Initiator::follow_peer(const Endpoint* from) {
  if (!from || !sa_ || !nat_remote_ || nat_local_ || *from == sa_->peer) return;
  log_("ike: " + config_.remote.str() + ": initiator: the peer moved from " + sa_->peer.str() + " to " + from->str() +
       " (NAT, RFC 7296 § 2.23)");
  sa_->peer = *from;
  ++counters_.peer_moved;
}

Bytes Initiator::handle(CSpan datagram, Clock::time_point now, const Endpoint* from) {
  Message m;
  if (!parse_message(datagram, m).ok()) {
    ++counters_[InitFailure::malformed];
    return {};
  }
  for (size_t k = 0; k < olds_.size(); ++k)
    if (from_peer_on(*olds_[k].sa, m.header, true)) return on_old_sa(k, m, datagram, now);
  if (!sa_ || !from_peer_on(*sa_, m.header, false)) {
    ++counters_[InitFailure::unexpected_message];
    return {};
  }
  if (m.header.exchange == Exchange::ike_sa_init) {
    if (state_ != InitiatorState::sa_init_sent || !m.header.response() || m.header.message_id != 0) {
      ++counters_[InitFailure::unexpected_message];
      return {};
    }
    last_inbound_ = now;
    return on_sa_init(m, datagram);
  }
  // Encrypted: from here on only with the SA's keys.
  if (state_ != InitiatorState::auth_sent && state_ != InitiatorState::established) {
    ++counters_[InitFailure::unexpected_message];
    return {};
  }
  if (!from_peer_on(*sa_, m.header, true)) {
    ++counters_[InitFailure::unexpected_message];
    return {};
  }
  Bytes plain;
  if (open_sk(sa_->suite, sa_->keys.sk_er, sa_->keys.sk_ar, datagram, m, plain) != SkError::ok) {
    ++counters_[InitFailure::integrity_failed];
    return {};
  }
  std::vector<Payload> in;
  const auto* sk = m.get<SkPayload>(PayloadType::sk);
  if (!sk || !parse_payload_chain(sk->first_inner, plain, in, false).ok()) {
    wipe(plain);
    ++counters_[InitFailure::malformed];
    return {};
  }
  wipe(plain);
  last_inbound_ = now;
  follow_peer(from);
  if (!m.header.response()) return on_peer_request(m, in, now);
  if (!window_.answers(m.header.message_id, m.header.exchange)) {
    ++counters_[InitFailure::old_message_id];
    return {};
  }
  ++counters_.responses;
  window_.answered();
  if (m.header.exchange == Exchange::ike_auth) {
    on_auth(in);
    return {};
  }
  if (outstanding_ike_rekey_) return on_ike_rekey(in, now);
  if (outstanding_rekey_) return on_rekey(in, now);
  if (deleting_child_ != 0) {
    // The peer's answer deletes its side of the pair (§ 1.4.1): the old SA goes.
    if (sa_->children.erase(deleting_child_) != 0) ++counters_.child_sas_deleted;
    char spi[12];
    std::snprintf(spi, sizeof spi, "%08x", deleting_child_);
    log_("ike: " + config_.remote.str() + ": initiator: old Child SA " + spi + " deleted");
    deleting_child_ = 0;
    return {};
  }
  if (outstanding_delete_) {
    outstanding_delete_ = false;
    state_ = InitiatorState::deleted;
    sa_->children.clear();
    log_("ike: " + config_.remote.str() + ": initiator: IKE SA deleted");
    return {};
  }
  if (outstanding_liveness_) {
    outstanding_liveness_ = false;
    ++counters_.liveness_answered;
  }
  return {};
}

Bytes Initiator::on_sa_init(const Message& m, CSpan datagram) {
  if (const NotifyPayload* c = m.notify(kNotifyCookie); c && !m.get<KePayload>(PayloadType::ke)) {
    if (!cookie_.empty() && cookie_ == c->data) {
      fail(InitFailure::error_notify, "the same COOKIE asked twice");
      return {};
    }
    cookie_ = c->data;
    ++counters_.cookie_retries;
    const Bytes r = sa_init_request();
    return r.empty() ? r : send(r, Exchange::ike_sa_init, last_inbound_);
  }
  if (const NotifyPayload* k = m.notify(kNotifyInvalidKePayload)) {
    const uint16_t g = be16(k->data);
    bool offered = false;
    for (const IkeSuite& s : config_.ike_suites) offered |= s.dh == g;
    if (!offered || g == ke_group_ || counters_.ke_retries >= 8) {
      fail(InitFailure::invalid_ke_payload, "asked for group " + std::to_string(g));
      return {};
    }
    ke_group_ = g;
    ++counters_.ke_retries;
    const Bytes r = sa_init_request();
    return r.empty() ? r : send(r, Exchange::ike_sa_init, last_inbound_);
  }
  if (m.notify(kNotifyNoProposalChosen)) {
    fail(InitFailure::no_proposal_chosen, "the responder has none of our " +
                                              std::to_string(config_.ike_suites.size()) + " IKE proposals");
    return {};
  }
  const auto* sa_p = m.get<SaPayload>(PayloadType::sa);
  const auto* ke = m.get<KePayload>(PayloadType::ke);
  const auto* nonce = m.get<NoncePayload>(PayloadType::nonce);
  if (!sa_p || !ke || !nonce || m.header.spi_r == 0) {
    for (const Payload& p : m.payloads)
      if (auto* n = std::get_if<NotifyPayload>(&p.body); n && n->type < 16384) {
        fail(InitFailure::error_notify, "IKE_SA_INIT answered with notify " + std::to_string(n->type));
        return {};
      }
    fail(InitFailure::malformed, "IKE_SA_INIT answer without SA, KE or Nonce");
    return {};
  }
  IkeSuite chosen;
  bool ours = sa_p->proposals.size() == 1 && suite_from_proposal(sa_p->proposals[0], chosen);
  bool offered = false;
  for (const IkeSuite& s : config_.ike_suites) offered |= ours && same_suite(s, chosen);
  if (!offered || chosen.dh != ke_group_ || ke->group != ke_group_) {
    fail(InitFailure::bad_proposal_answer, "the responder chose a suite or group we did not offer");
    return {};
  }
  Bytes g_ir;
  std::string err;
  if (!dh_->shared_secret(ke->data, g_ir, err)) {
    fail(InitFailure::bad_ke_data, err);
    return {};
  }
  sa_->spi_r = m.header.spi_r;
  sa_->suite = chosen;
  sa_->nr = nonce->data;
  sa_->init_response.assign(datagram.begin(), datagram.end());
  sa_->keys = derive_ike_keys(chosen, sa_->ni, sa_->nr, g_ir, sa_->spi_i, sa_->spi_r);
  wipe(g_ir);
  dh_.reset();
  window_.answered();
  check_nat(m);
  state_ = InitiatorState::auth_sent;
  Bytes request = auth_request();
  if (request.empty()) return {};  // failed (signing)
  return send(std::move(request), Exchange::ike_auth, last_inbound_);
}

// § 2.23: the answer's hashes cover both SPIs. Its NAT_DETECTION_SOURCE_IP
// (possibly several) names where the peer sent from, its
// NAT_DETECTION_DESTINATION_IP where it sent to; either present: the peer
// does NAT-T and IKE moves to UDP 4500, both ends of the SA with it.
void Initiator::check_nat(const Message& m) {
  const NotifyPayload* dst = m.notify(kNotifyNatDestinationIp);
  bool any_src = false, src_ok = false;
  const Bytes peer_hash = nat_hash(sa_->spi_i, sa_->spi_r, config_.remote);
  for (const Payload& p : m.payloads)
    if (const auto* n = std::get_if<NotifyPayload>(&p.body); n && n->type == kNotifyNatSourceIp) {
      any_src = true;
      src_ok |= n->data == peer_hash;
    }
  if (!dst && !any_src) return;  // the responder does not do NAT-T: IKE stays on port 500
  nat_t_ = true;
  nat_local_ = !dst || dst->data != nat_hash(sa_->spi_i, sa_->spi_r, config_.local);
  nat_remote_ = !src_ok;
  sa_->nat_detected = nat_local_ || nat_remote_;
  // Our move to 4500 without a NAT does not encapsulate ESP (§ 2.23 does
  // not require it): only a NAT on the path does.
  sa_->udp_encap = sa_->nat_detected;
  sa_->local.port = kIkeNattPort;
  sa_->peer.port = kIkeNattPort;
  log_("ike: " + config_.remote.str() + ": initiator: NAT-T, IKE moves to UDP 4500" +
       (nat_local_ ? ", NAT in front of us" : "") + (nat_remote_ ? ", NAT in front of the peer" : "") +
       (sa_->nat_detected ? "" : ", no NAT"));
}

Bytes Initiator::auth_request() {
  const PeerConfig& p = config_.peer;
  const Identity ours = p.local_identity(), theirs = p.remote_identity();
  const IdPayload idi{ours.type, ours.data};
  const IdPayload idr{theirs.type, theirs.data};
  AuthPayload auth{kAuthPsk, {}};
  std::vector<Payload> in{{PayloadType::idi, false, idi}};
  if (p.cert) {
    // § 3.6, § 3.7: our certificate, then which CAs we trust for theirs.
    std::string why;
    if (!sign_auth(*p.cert, signed_octets(sa_->keys.sk_pi, sa_->init_request, sa_->nr, id_body(idi)), auth, why)) {
      fail(InitFailure::crypto_failure, why);
      return {};
    }
    for (Payload& c : cert_payloads(*p.cert)) in.push_back(std::move(c));
    in.push_back(cert_request({p.cert.get()}));
  } else {
    auth.data = psk_auth(p.psk, sa_->keys.sk_pi, sa_->init_request, sa_->nr, id_body(idi));
  }
  our_esp_spi_ = new_child_spi(p.tunnel, sa_->children);
  SaPayload esp;
  uint8_t n = 1;
  for (const EspSuite& e : p.esp_suites) esp.proposals.push_back(esp_answer(n++, e, our_esp_spi_).proposals[0]);
  in.push_back({PayloadType::idr, false, idr});
  in.push_back({PayloadType::auth, false, std::move(auth)});
  in.push_back({PayloadType::sa, false, std::move(esp)});
  in.push_back({PayloadType::tsi, false, TsPayload{p.local_ts}});
  in.push_back({PayloadType::tsr, false, TsPayload{p.remote_ts}});
  return seal(Exchange::ike_auth, window_.take_id(), false, in);
}

void Initiator::on_auth(const std::vector<Payload>& in) {
  if (find_notify(in, kNotifyAuthenticationFailed)) {
    fail(InitFailure::authentication_failed, "the responder refused our AUTH");
    return;
  }
  const auto* idr = find_payload<IdPayload>(in, PayloadType::idr);
  const auto* auth = find_payload<AuthPayload>(in, PayloadType::auth);
  if (!idr || !auth) {
    for (const Payload& p : in)
      if (auto* n = std::get_if<NotifyPayload>(&p.body); n && n->type < 16384) {
        fail(InitFailure::error_notify, "IKE_AUTH answered with notify " + std::to_string(n->type));
        return;
      }
    fail(InitFailure::malformed, "IKE_AUTH answer without IDr or AUTH");
    return;
  }
  const Identity theirs = config_.peer.remote_identity();
  if (!identity_matches(theirs, *idr)) {
    fail(InitFailure::peer_id_mismatch, "IDr " + identity_text(*idr) + ", expected " + config_.peer.remote_id);
    return;
  }
  if (config_.peer.cert) {
    std::string why;
    const CertVerdict v =
        verify_peer_auth(*config_.peer.cert, in, theirs, *auth,
                         signed_octets(sa_->keys.sk_pr, sa_->init_response, sa_->ni, id_body(*idr)), why);
    if (v != CertVerdict::ok) {
      fail(v == CertVerdict::bad_certificate ? InitFailure::peer_bad_certificate
           : v == CertVerdict::revoked       ? InitFailure::peer_certificate_revoked
                                             : InitFailure::peer_auth_failed,
           "the responder's certificate AUTH: " + why);
      return;
    }
  } else if (config_.peer.psk.empty()) {
    fail(InitFailure::peer_auth_failed, "no credentials configured for the peer");
    return;
  } else {
    Bytes expected = psk_auth(config_.peer.psk, sa_->keys.sk_pr, sa_->init_response, sa_->ni, id_body(*idr));
    const bool ok = auth->method == kAuthPsk && equal_ct(expected, auth->data);
    wipe(expected);
    if (!ok) {
      fail(InitFailure::peer_auth_failed, "the responder's PSK AUTH does not verify");
      return;
    }
  }
  sa_->remote_id = config_.peer.remote_id;
  if (!check_child(in)) return;
  sa_->state = IkeSaState::established;
  state_ = InitiatorState::established;
  ++counters_.ike_sas_established;
  log_("ike: " + config_.remote.str() + ": initiator: IKE SA established with " + sa_->remote_id);
}

bool Initiator::check_child(const std::vector<Payload>& in) {
  if (find_notify(in, kNotifyNoProposalChosen)) {
    fail(InitFailure::child_no_proposal_chosen, "the responder has none of our ESP proposals");
    return false;
  }
  if (find_notify(in, kNotifyTsUnacceptable)) {
    fail(InitFailure::ts_unacceptable, "the responder refused our traffic selectors");
    return false;
  }
  const auto* esp = find_payload<SaPayload>(in, PayloadType::sa);
  const auto* tsi = find_payload<TsPayload>(in, PayloadType::tsi);
  const auto* tsr = find_payload<TsPayload>(in, PayloadType::tsr);
  if (!esp || !tsi || !tsr) {
    fail(InitFailure::child_refused, "IKE_AUTH answer without a Child SA");
    return false;
  }
  const auto choice = esp->proposals.size() == 1 ? choose_esp_proposal(*esp, config_.peer.esp_suites) : std::nullopt;
  if (!choice || choice->proposal->number == 0 || choice->proposal->number > config_.peer.esp_suites.size() ||
      !(config_.peer.esp_suites[choice->proposal->number - 1] == choice->suite)) {
    fail(InitFailure::bad_proposal_answer, "the responder's ESP proposal is not one we offered");
    return false;
  }
  // Narrowed (§ 2.9): every selector within what we offered.
  if (narrow(tsi->selectors, config_.peer.local_ts) != tsi->selectors || tsi->selectors.empty() ||
      narrow(tsr->selectors, config_.peer.remote_ts) != tsr->selectors || tsr->selectors.empty()) {
    fail(InitFailure::ts_unacceptable, "the responder's traffic selectors are wider than ours");
    return false;
  }
  const ChildSa& c = install_child(*choice, our_esp_spi_, *tsi, *tsr, sa_->ni, sa_->nr, {});
  char spis[40];
  std::snprintf(spis, sizeof spis, "in %08x out %08x", c.spi_in, c.spi_out);
  log_("ike: " + config_.remote.str() + ": initiator: Child SA negotiated, SPI " + spis);
  return true;
}

const ChildSa& Initiator::install_child(const EspChoice& choice, uint32_t spi_in, const TsPayload& tsi,
                                        const TsPayload& tsr, CSpan ni, CSpan nr, CSpan g_ir) {
  ChildSa c;
  c.suite = choice.suite;
  c.spi_in = spi_in;
  c.spi_out = choice.peer_spi;
  c.ts_local = tsi.selectors;
  c.ts_remote = tsr.selectors;
  derive_child_keys(c, sa_->keys.sk_d, ni, nr, g_ir, /*initiator=*/true);
  newest_child_ = spi_in;
  ++counters_.child_sas_installed;
  return sa_->children.emplace(spi_in, std::move(c)).first->second;
}

Bytes Initiator::on_peer_request(const Message& m, const std::vector<Payload>& in, Clock::time_point now) {
  if (m.header.message_id + 1 == peer_next_id_ && !peer_last_answer_.empty()) return peer_last_answer_;
  if (m.header.message_id != peer_next_id_ || state_ != InitiatorState::established) {
    ++counters_[InitFailure::old_message_id];
    return {};
  }
  if (m.header.exchange != Exchange::informational) {
    ++peer_next_id_;
    std::vector<Payload> out;
    if (m.header.exchange == Exchange::create_child_sa) {
      out = on_peer_create_child(in, now);
    } else {
      ++counters_[InitFailure::unexpected_message];
      out.push_back(make_notify(kNotifyNoAdditionalSas));
    }
    peer_last_answer_ = seal(m.header.exchange, m.header.message_id, true, out);
    const Bytes answer = peer_last_answer_;
    if (peer_rekeyed_) take_peer_rekeyed();  // sealed on the old SA, now the new one's turn
    return answer;
  }
  ++counters_.peer_requests;
  std::vector<Payload> out;
  bool ike_deleted = false;
  for (const Payload& p : in) {
    const auto* d = std::get_if<DeletePayload>(&p.body);
    if (!d) continue;
    if (d->protocol == Protocol::ike) ike_deleted = true;
    if (d->protocol != Protocol::esp) continue;
    DeletePayload ours{Protocol::esp, 4, {}};
    for (const Bytes& spi : d->spis) {
      if (spi.size() != 4) continue;
      const uint32_t v = uint32_t(spi[0]) << 24 | uint32_t(spi[1]) << 16 | uint32_t(spi[2]) << 8 | spi[3];
      for (auto it = sa_->children.begin(); it != sa_->children.end(); ++it)
        if (it->second.spi_out == v) {
          const uint32_t in_spi = it->second.spi_in;
          ours.spis.push_back({uint8_t(in_spi >> 24), uint8_t(in_spi >> 16), uint8_t(in_spi >> 8), uint8_t(in_spi)});
          sa_->children.erase(it);
          peer_deleted_.push_back(in_spi);
          break;
        }
    }
    if (!ours.spis.empty()) out.push_back({PayloadType::del, false, std::move(ours)});
  }
  ++peer_next_id_;
  peer_last_answer_ = seal(Exchange::informational, m.header.message_id, true, ike_deleted ? std::vector<Payload>{} : out);
  if (ike_deleted && collided_ike_) {
    const Bytes answer = peer_last_answer_;  // sealed on the old SA, which goes
    peer_deleted_during_collision();
    return answer;
  }
  if (ike_deleted) {
    ++counters_.deleted_by_peer;
    state_ = InitiatorState::deleted;
    window_.answered();
    sa_->children.clear();
    log_("ike: " + config_.remote.str() + ": initiator: IKE SA deleted by the peer");
  }
  return peer_last_answer_;
}

Bytes Initiator::liveness(Clock::time_point now) {
  if (state_ != InitiatorState::established || window_.outstanding()) return {};
  outstanding_liveness_ = true;
  ++counters_.liveness_sent;
  return send(seal(Exchange::informational, window_.take_id(), false, {}), Exchange::informational, now);
}

Bytes Initiator::delete_sa(Clock::time_point now) {
  if (state_ != InitiatorState::established) return {};
  outstanding_liveness_ = false;
  outstanding_delete_ = true;
  ++counters_.deletes_sent;
  return send(seal(Exchange::informational, window_.take_id(), false,
                   {{PayloadType::del, false, DeletePayload{Protocol::ike, 0, {}}}}),
              Exchange::informational, now);
}

Bytes Initiator::rekey_child(Clock::time_point now, uint16_t pfs_group) {
  if (state_ != InitiatorState::established || window_.outstanding() || !child()) return {};
  Bytes r = rekey_request(child()->spi_in, pfs_group);
  if (r.empty()) return {};
  ++counters_.child_rekeys_started;
  return send(std::move(r), Exchange::create_child_sa, now);
}

Bytes Initiator::rekey_request(uint32_t old_spi, uint16_t group) {
  std::vector<Payload> in;
  std::string why;
  if (!rekey_.request(*sa_, config_.peer, old_spi, new_child_spi(config_.peer.tunnel, sa_->children), group, in, why)) {
    ++counters_[InitFailure::crypto_failure];
    log_("ike: " + config_.remote.str() + ": initiator: Child SA rekey: " + why);
    return {};
  }
  outstanding_rekey_ = true;
  collided_ = 0;
  return seal(Exchange::create_child_sa, window_.take_id(), false, in);
}

Bytes Initiator::on_rekey(const std::vector<Payload>& in, Clock::time_point now) {
  outstanding_rekey_ = false;
  std::string why;
  switch (rekey_.on_answer(*sa_, config_.peer, in, why)) {
    case ChildRekey::Answer::retry: {
      Bytes r = rekey_request(rekey_.old_spi(), rekey_.group());
      return r.empty() ? r : send(std::move(r), Exchange::create_child_sa, now);
    }
    case ChildRekey::Answer::refused:
      ++counters_[InitFailure::rekey_refused];
      log_("ike: " + config_.remote.str() + ": initiator: Child SA rekey refused: " + why);
      return {};
    case ChildRekey::Answer::installed: break;
  }
  const uint32_t o = rekey_.old_spi();
  const ChildSa& c = sa_->children.at(rekey_.new_spi());
  newest_child_ = c.spi_in;
  ++counters_.child_sas_installed;
  char spis[64];
  std::snprintf(spis, sizeof spis, "in %08x out %08x (replaces %08x)", c.spi_in, c.spi_out, o);
  log_("ike: " + config_.remote.str() + ": initiator: Child SA rekeyed, SPI " + spis +
       (rekey_.group() ? " (PFS)" : ""));
  ++counters_.child_sas_rekeyed;
  // Make before break: the new SA is in place, now the old one's Delete
  // (or, after a collision, the redundant SA's, ike_initiator_peer.cc).
  const uint32_t doomed = resolve_child_collision(c.spi_in, o);
  if (!sa_->children.count(doomed)) return {};  // the peer deleted it meanwhile
  return delete_child_request(doomed, now);
}

Bytes Initiator::delete_child(Clock::time_point now, uint32_t spi_in) {
  if (state_ != InitiatorState::established || window_.outstanding() || !sa_->children.count(spi_in)) return {};
  return delete_child_request(spi_in, now);
}

Bytes Initiator::delete_child_request(uint32_t spi_in, Clock::time_point now) {
  deleting_child_ = spi_in;
  const uint32_t o = spi_in;
  return send(seal(Exchange::informational, window_.take_id(), false,
                   {{PayloadType::del, false,
                     DeletePayload{Protocol::esp, 4, {{uint8_t(o >> 24), uint8_t(o >> 16), uint8_t(o >> 8), uint8_t(o)}}}}}),
              Exchange::informational, now);
}

Bytes Initiator::rekey_ike(Clock::time_point now) {
  if (state_ != InitiatorState::established || request_outstanding()) return {};
  std::vector<Payload> in;
  std::string why;
  if (!ike_rekey_.request(*sa_, random_ike_spi(), in, why)) {
    ++counters_[InitFailure::crypto_failure];
    log_("ike: " + config_.remote.str() + ": initiator: IKE SA rekey: " + why);
    return {};
  }
  outstanding_ike_rekey_ = true;
  ++counters_.ike_rekeys_started;
  log_("ike: " + config_.remote.str() + ": initiator: rekeying the IKE SA");
  return send(seal(Exchange::create_child_sa, window_.take_id(), false, in), Exchange::create_child_sa, now);
}

Bytes Initiator::on_ike_rekey(const std::vector<Payload>& in, Clock::time_point now) {
  outstanding_ike_rekey_ = false;
  std::string why;
  std::unique_ptr<IkeSa> next = ike_rekey_.on_answer(*sa_, in, now, why);
  if (!next) {
    ++counters_[InitFailure::rekey_refused];
    log_("ike: " + config_.remote.str() + ": initiator: IKE SA rekey refused: " + why);
    // § 2.8.2: the peer finished its crossing rekey before it saw ours: its
    // new SA holds the Child SAs, and the peer deletes the old one.
    if (collided_ike_) {
      collided_ike_->children = std::move(sa_->children);
      sa_->children.clear();
      peer_rekeyed_ = std::move(collided_ike_);
      take_peer_rekeyed();
    }
    return {};
  }
  ++counters_.ike_sas_rekeyed;
  char spis[80];
  std::snprintf(spis, sizeof spis, "%016llx_i %016llx_r (replaces %016llx_i)",
                static_cast<unsigned long long>(next->spi_i), static_cast<unsigned long long>(next->spi_r),
                static_cast<unsigned long long>(sa_->spi_i));
  log_("ike: " + config_.remote.str() + ": initiator: IKE SA rekeyed, SPIs " + spis + ", " +
       std::to_string(next->children.size()) + " Child SAs moved to it");
  if (collided_ike_) return resolve_ike_collision(std::move(next), now);
  // Make before break: the new SA holds the Child SAs; the old one is
  // deleted on itself, with its own next message ID (§ 2.18), and kept
  // until that Delete is answered.
  return delete_on(retire_sa(std::move(next)), now);
}

Initiator::OldIkeSa& Initiator::retire_sa(std::unique_ptr<IkeSa> next) {
  constexpr size_t kMaxOld = 4;  // a peer that never deletes the old SAs of its rekeys
  if (olds_.size() >= kMaxOld) olds_.erase(olds_.begin());
  olds_.push_back({std::exchange(sa_, std::move(next)), window_, std::exchange(peer_next_id_, 0),
                   std::exchange(peer_last_answer_, {})});
  window_.reset(0);
  return olds_.back();
}

Bytes Initiator::delete_on(OldIkeSa& o, Clock::time_point now) {
  const uint32_t id = o.window.take_id();
  ++counters_.requests_sent;
  return o.window.send(seal_on(*o.sa, Exchange::informational, id, false,
                               {{PayloadType::del, false, DeletePayload{Protocol::ike, 0, {}}}}),
                       Exchange::informational, now);
}

bool Initiator::request_outstanding() const {
  if (window_.outstanding()) return true;
  for (const OldIkeSa& o : olds_)
    if (o.window.outstanding()) return true;
  return false;
}

bool Initiator::owns(uint64_t spi_i, uint64_t spi_r, bool initiator_flag) const {
  Header h;
  h.spi_i = spi_i;
  h.spi_r = spi_r;
  h.flags = initiator_flag ? kFlagInitiator : 0;
  if (sa_ && from_peer_on(*sa_, h, false)) return true;
  for (const OldIkeSa& o : olds_)
    if (from_peer_on(*o.sa, h, false)) return true;
  return false;
}

// A datagram on an IKE SA a rekey replaced: the answer to our Delete of it,
// or a request of the peer still on it (answered; its own Delete ends it too).
Bytes Initiator::on_old_sa(size_t k, const Message& m, CSpan datagram, Clock::time_point now) {
  OldIkeSa& o = olds_[k];
  const auto drop = [&] { olds_.erase(olds_.begin() + static_cast<long>(k)); };
  Bytes plain;
  if (open_sk(o.sa->suite, o.sa->keys.sk_er, o.sa->keys.sk_ar, datagram, m, plain) != SkError::ok) {
    ++counters_[InitFailure::integrity_failed];
    return {};
  }
  std::vector<Payload> in;
  const auto* sk = m.get<SkPayload>(PayloadType::sk);
  const bool ok = sk && parse_payload_chain(sk->first_inner, plain, in, false).ok();
  wipe(plain);
  if (!ok) {
    ++counters_[InitFailure::malformed];
    return {};
  }
  last_inbound_ = now;
  if (m.header.response()) {
    if (!o.window.answers(m.header.message_id, m.header.exchange)) {
      ++counters_[InitFailure::old_message_id];
      return {};
    }
    ++counters_.responses;
    ++counters_.old_ike_sas_deleted;
    log_("ike: " + config_.remote.str() + ": initiator: old IKE SA deleted");
    drop();
    return {};
  }
  if (m.header.message_id + 1 == o.peer_next_id && !o.peer_last_answer.empty()) return o.peer_last_answer;
  if (m.header.message_id != o.peer_next_id) {
    ++counters_[InitFailure::old_message_id];
    return {};
  }
  ++o.peer_next_id;
  ++counters_.peer_requests;
  bool ike_deleted = false;
  for (const Payload& p : in)
    if (const auto* d = std::get_if<DeletePayload>(&p.body); d && d->protocol == Protocol::ike) ike_deleted = true;
  // No new SA on the old IKE SA (§ 2.25.2); liveness and Deletes answered empty
  // (its Child SAs live on the new one).
  std::vector<Payload> out;
  if (m.header.exchange == Exchange::create_child_sa) out.push_back(make_notify(kNotifyTemporaryFailure));
  Bytes answer = seal_on(*o.sa, m.header.exchange, m.header.message_id, true, out);
  if (ike_deleted) {
    ++counters_.old_ike_sas_deleted;
    log_("ike: " + config_.remote.str() + ": initiator: old IKE SA deleted by the peer");
    drop();
    return answer;
  }
  o.peer_last_answer = answer;
  return answer;
}

Bytes Initiator::seal(Exchange ex, uint32_t id, bool response, const std::vector<Payload>& inner) {
  return seal_on(*sa_, ex, id, response, inner);
}

Bytes Initiator::seal_on(const IkeSa& sa, Exchange ex, uint32_t id, bool response, const std::vector<Payload>& inner) {
  Header h;
  // An SA the peer began by its rekey: its SPI first, our Initiator flag clear.
  h.spi_i = sa.peer_initiated ? sa.spi_r : sa.spi_i;
  h.spi_r = sa.peer_initiated ? sa.spi_i : sa.spi_r;
  h.exchange = ex;
  h.flags = static_cast<uint8_t>((sa.peer_initiated ? 0 : kFlagInitiator) | (response ? kFlagResponse : 0));
  h.message_id = id;
  PayloadType first = PayloadType::none;
  Bytes plain = encode_payload_chain(inner, first);
  Bytes out = seal_sk(sa.suite, sa.keys.sk_ei, sa.keys.sk_ai, h, first, plain, random_bytes(sa.suite.iv_len()));
  wipe(plain);
  return out;
}

}  // namespace wp::ike
