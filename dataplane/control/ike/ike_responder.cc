// The IKEv2 responder: datagram dispatch, IKE_SA_INIT, message IDs and
// INFORMATIONAL; IKE_AUTH and the Child SA are in ike_auth.cc. See ike_responder.h.
#include "dataplane/control/ike/ike_responder.h"

#include <utility>

#include <arpa/inet.h>
#include <openssl/rand.h>

#include <algorithm>
#include <atomic>
#include <cstdio>

#include "dataplane/control/ike/ike_cert.h"
#include "dataplane/ipsec/esp_owner.h"
#include "dataplane/ipsec/esp_sa.h"  // kIkeNattPort

namespace wp::ike {
namespace {

Payload notify(uint16_t type, Bytes data = {}) {
  return {PayloadType::notify, false, NotifyPayload{Protocol::none, {}, type, std::move(data)}};
}

// An unencrypted IKE_SA_INIT answer: a lone Notify, no state kept.
Bytes init_error(const Header& req, uint16_t type, Bytes data = {}) {
  Message r;
  r.header = req;
  r.header.spi_r = 0;
  r.header.flags = kFlagResponse;
  r.payloads.push_back(notify(type, std::move(data)));
  return encode_message(r);
}

Payload natd(uint16_t type, uint64_t spi_i, uint64_t spi_r, const Endpoint& e) {
  return notify(type, nat_hash(spi_i, spi_r, e));
}

// § 2.23: the initiator's hashes use the request header's SPIs (SPIr zero).
bool nat_seen(const Message& m, const Endpoint& peer, const Endpoint& local) {
  const NotifyPayload* dst = m.notify(kNotifyNatDestinationIp);
  bool src_ok = false;
  for (const Payload& p : m.payloads) {
    const auto* n = std::get_if<NotifyPayload>(&p.body);
    if (n && n->type == kNotifyNatSourceIp && n->data == nat_hash(m.header.spi_i, 0, peer)) src_ok = true;
  }
  if (!dst && !m.notify(kNotifyNatSourceIp)) return false;  // the initiator does not do NAT-T
  return !src_ok || !dst || dst->data != nat_hash(m.header.spi_i, 0, local);
}

}  // namespace

std::string Endpoint::str() const {
  char buf[INET6_ADDRSTRLEN] = "?";
  if (addr.size() == 4 || addr.size() == 16)
    inet_ntop(addr.size() == 4 ? AF_INET : AF_INET6, addr.data(), buf, sizeof buf);
  if (addr.size() == 16) return "[" + std::string(buf) + "]:" + std::to_string(port);  // RFC 5952 § 6
  return std::string(buf) + ":" + std::to_string(port);
}

uint64_t ChildSa::next_child_order() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

std::vector<const ChildSa*> children_oldest_first(const IkeSa& sa) {
  std::vector<const ChildSa*> out;
  for (const auto& [spi_in, c] : sa.children) out.push_back(&c);
  std::sort(out.begin(), out.end(), [](const ChildSa* a, const ChildSa* b) { return a->made < b->made; });
  return out;
}

ChildSa::~ChildSa() {
  for (Bytes* b : {&enc_in, &integ_in, &enc_out, &integ_out}) wipe(*b);
}

IkeSa::~IkeSa() {
  wipe(ni);
  wipe(nr);
}

std::string_view refusal_name(Refusal r) {
  static constexpr std::string_view kNames[] = {
#define WP_X(n) #n,
      WP_IKE_REFUSALS(WP_X)
#undef WP_X
  };
  return kNames[static_cast<size_t>(r)];
}

Bytes random_bytes(size_t n) {
  Bytes b(n);
  if (RAND_bytes(b.data(), static_cast<int>(n)) != 1) std::abort();  // no entropy: nothing is safe to do
  return b;
}

Responder::Responder(ResponderConfig config, Log log) : config_(std::move(config)), log_(std::move(log)) {
  if (!log_) log_ = [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); };
  rotate_cookie_secret();
  set_cert_request();
}

// The site names itself only in IKE_AUTH: every IKE_SA_INIT answer asks for
// certificates from every CA a certificate peer trusts (and announces RFC
// 7427 signatures), the same CERTREQ each time.
void Responder::set_cert_request() {
  std::vector<const CertAuth*> cert_peers;
  for (const PeerConfig& p : config_.peers)
    if (p.cert) cert_peers.push_back(p.cert.get());
  cert_request_.reset();
  if (!cert_peers.empty()) cert_request_ = cert_request(cert_peers);
}

Responder::~Responder() {
  wipe(cookie_secret_);
  wipe(previous_cookie_secret_);
}

void Responder::rotate_cookie_secret() {
  wipe(previous_cookie_secret_);
  previous_cookie_secret_ = std::move(cookie_secret_);
  cookie_secret_ = random_bytes(32);
  ++cookie_version_;
}

// RFC 7296 § 2.6: <version of the secret> | prf(secret, Ni | IPi | SPIi).
Bytes Responder::cookie(uint8_t version, const Message& m, const Endpoint& peer) const {
  const Bytes& secret = version == cookie_version_ ? cookie_secret_ : previous_cookie_secret_;
  Bytes in = m.get<NoncePayload>(PayloadType::nonce)->data;
  in.insert(in.end(), peer.addr.begin(), peer.addr.end());
  for (int i = 7; i >= 0; --i) in.push_back(static_cast<uint8_t>(m.header.spi_i >> (8 * i)));
  Bytes c = prf(secret, in);
  c.insert(c.begin(), version);
  return c;
}

bool Responder::cookie_ok(const Message& m, const Endpoint& peer) {
  const NotifyPayload* n = m.notify(kNotifyCookie);
  if (!n) return false;
  const uint8_t v = n->data.empty() ? 0 : n->data[0];
  const bool known = v == cookie_version_ || (v == uint8_t(cookie_version_ - 1) && !previous_cookie_secret_.empty());
  if (known && equal_ct(n->data, cookie(v, m, peer))) return true;
  refuse(Refusal::bad_cookie, peer, "a COOKIE we did not make, or made with a retired secret");
  return false;
}

void Responder::refuse(Refusal r, const Endpoint& peer, const std::string& detail) {
  ++counters_[r];
  log_("ike: " + peer.str() + ": " + std::string(refusal_name(r)) + (detail.empty() ? "" : ": " + detail));
}

uint64_t Responder::new_ike_spi() const {
  for (;;) {
    const Bytes b = random_bytes(8);
    uint64_t spi = 0;
    for (uint8_t x : b) spi = spi << 8 | x;
    if (spi != 0 && !sas_.count(spi)) return spi;
  }
}

// Random but for the low 6 bits, the tunnel's affinity class (the owner
// rule for ESP, dataplane/ipsec/esp_owner.h); never 1..255 (RFC 4303 § 2.1).
uint32_t Responder::new_esp_spi(uint32_t tunnel) const {
  for (;;) {
    const Bytes b = random_bytes(4);
    const uint32_t spi = spi_for_tunnel(uint32_t(b[0]) << 24 | uint32_t(b[1]) << 16 | uint32_t(b[2]) << 8 | b[3], tunnel);
    if (!esp_spis_.count(spi)) return spi;
  }
}

Bytes Responder::handle(CSpan datagram, const Endpoint& peer, const Endpoint& local, Clock::time_point now) {
  Message m;
  const ParseResult pr = parse_message(datagram, m);
  if (!pr.ok()) {
    ++counters_.parse_errors[static_cast<size_t>(pr.error)];
    refuse(Refusal::malformed, peer, std::string(ike_error_name(pr.error)) + " at offset " + std::to_string(pr.offset));
    return {};
  }
  if (!m.header.initiator()) {
    // An SA we hold as its initiator (IkeSa::we_initiated): read the header
    // from our side, as if the peer had begun it.
    const auto it = sas_.find(m.header.spi_i);
    if (it != sas_.end() && it->second->we_initiated && it->second->spi_i == m.header.spi_r) {
      std::swap(m.header.spi_i, m.header.spi_r);
      m.header.flags ^= kFlagInitiator;
    }
  }
  if (m.header.response() && m.header.initiator()) return on_own_answer(datagram, m, peer, now);
  if (m.header.response() || !m.header.initiator()) {
    refuse(Refusal::not_a_request, peer, "we only respond");
    return {};
  }
  ++counters_.requests;
  if (m.header.exchange == Exchange::ike_sa_init) return on_sa_init(datagram, m, peer, local, now);
  auto it = sas_.find(m.header.spi_r);
  if (it == sas_.end() || it->second->spi_i != m.header.spi_i) {
    refuse(Refusal::unknown_spi, peer, "no IKE SA for this SPI pair");
    return {};
  }
  return on_encrypted(datagram, m, *it->second, peer, local.port, now);
}

Bytes Responder::on_sa_init(CSpan datagram, const Message& m, const Endpoint& peer, const Endpoint& local,
                            Clock::time_point now) {
  if (m.header.spi_r != 0 || m.header.message_id != 0) {
    refuse(Refusal::malformed, peer, "IKE_SA_INIT with a responder SPI or a message ID");
    return {};
  }
  if (auto h = by_initiator_.find({m.header.spi_i, peer.addr}); h != by_initiator_.end()) {
    IkeSa& sa = *sas_.at(h->second);
    if (sa.state == IkeSaState::init_done && equal_ct(sa.init_request, datagram)) {
      ++counters_.retransmits;
      return sa.init_response;
    }
    refuse(Refusal::old_message_id, peer, "IKE_SA_INIT for an SA past it");
    return {};
  }
  const auto* sa_p = m.get<SaPayload>(PayloadType::sa);
  const auto* ke = m.get<KePayload>(PayloadType::ke);
  if (!sa_p || !ke || !m.get<NoncePayload>(PayloadType::nonce)) {
    refuse(Refusal::missing_payload, peer, "IKE_SA_INIT needs SA, KE and Nonce");
    return init_error(m.header, kNotifyInvalidSyntax);
  }
  if (half_open_ >= config_.cookie_threshold && !cookie_ok(m, peer)) {
    refuse(Refusal::cookie_required, peer, std::to_string(half_open_) + " half-open IKE SAs");
    return init_error(m.header, kNotifyCookie, cookie(cookie_version_, m, peer));
  }
  const auto choice = choose_ike_proposal(*sa_p, config_.ike_suites);
  if (!choice) {
    refuse(Refusal::no_proposal_chosen, peer, std::to_string(sa_p->proposals.size()) + " IKE proposals offered");
    return init_error(m.header, kNotifyNoProposalChosen);
  }
  if (ke->group != choice->suite.dh) {
    refuse(Refusal::invalid_ke_payload, peer,
           "KE group " + std::to_string(ke->group) + ", we chose " + std::to_string(choice->suite.dh));
    const uint16_t g = choice->suite.dh;
    return init_error(m.header, kNotifyInvalidKePayload, Bytes{static_cast<uint8_t>(g >> 8), static_cast<uint8_t>(g)});
  }
  return sa_init_reply(datagram, m, *choice, peer, local, now);
}

Bytes Responder::sa_init_reply(CSpan datagram, const Message& m, const IkeChoice& choice, const Endpoint& peer,
                               const Endpoint& local, Clock::time_point now) {
  std::string error;
  auto dh = DhKey::generate(choice.suite.dh, error);
  Bytes g_ir;
  if (!dh || !dh->shared_secret(m.get<KePayload>(PayloadType::ke)->data, g_ir, error)) {
    refuse(dh ? Refusal::bad_ke_data : Refusal::crypto_failure, peer, error);
    return init_error(m.header, kNotifyInvalidSyntax);
  }
  auto sa = std::make_unique<IkeSa>();
  sa->spi_i = m.header.spi_i;
  sa->spi_r = new_ike_spi();
  sa->created = sa->last_inbound = now;
  sa->peer = peer;
  sa->local = local;
  sa->suite = choice.suite;
  sa->nat_detected = nat_seen(m, peer, local);
  sa->udp_encap = sa->nat_detected || local.port == kIkeNattPort;
  sa->ni = m.get<NoncePayload>(PayloadType::nonce)->data;
  sa->nr = random_bytes(32);
  sa->keys = derive_ike_keys(sa->suite, sa->ni, sa->nr, g_ir, sa->spi_i, sa->spi_r);
  wipe(g_ir);
  Message r;
  r.header = m.header;
  r.header.spi_r = sa->spi_r;
  r.header.flags = kFlagResponse;
  r.payloads.push_back({PayloadType::sa, false, ike_answer(choice.proposal->number, sa->suite)});
  r.payloads.push_back({PayloadType::ke, false, KePayload{sa->suite.dh, dh->public_value()}});
  r.payloads.push_back({PayloadType::nonce, false, NoncePayload{sa->nr}});
  if (cert_request_) r.payloads.push_back(*cert_request_);
  r.payloads.push_back(natd(kNotifyNatSourceIp, sa->spi_i, sa->spi_r, local));
  r.payloads.push_back(natd(kNotifyNatDestinationIp, sa->spi_i, sa->spi_r, peer));
  if (cert_request_) r.payloads.push_back(signature_hash_algorithms());
  sa->init_request.assign(datagram.begin(), datagram.end());
  sa->init_response = encode_message(r);
  by_initiator_[{sa->spi_i, peer.addr}] = sa->spi_r;
  Bytes out = sa->init_response;
  sas_[sa->spi_r] = std::move(sa);
  ++half_open_;
  ++counters_.responses_sent;
  return out;
}

Bytes Responder::on_encrypted(CSpan datagram, const Message& m, IkeSa& sa, const Endpoint& from, uint16_t local_port,
                              Clock::time_point now) {
  const uint32_t id = m.header.message_id;
  if (sa.has_response && id == sa.last_response_id) {
    ++counters_.retransmits;
    return sa.last_response;  // § 2.1: the same bytes, not a new answer
  }
  if (id != sa.next_request_id) {
    refuse(id < sa.next_request_id ? Refusal::old_message_id : Refusal::future_message_id, sa.peer,
           "message ID " + std::to_string(id) + ", expected " + std::to_string(sa.next_request_id));
    return {};
  }
  Bytes plain;
  const SkError e = open_sk(sa.suite, sa.keys.sk_ei, sa.keys.sk_ai, datagram, m, plain);
  if (e != SkError::ok) {
    refuse(Refusal::integrity_failed, from, std::string(sk_error_name(e)));  // § 2.21.2: no answer
    return {};
  }
  // § 2.23: behind a NAT (or after the initiator floated to port 4500) the
  // peer is where its last authenticated request came from.
  if (sa.nat_detected) sa.peer = from;
  // Floated to 4500 without a NAT (IKE_AUTH there, the address unchanged): our own requests (a
  // rekey, a Delete, our DPD) follow, from 4500 with the non-ESP marker to the port it uses now;
  // from 500 they would come back marked to our 500 and not parse.
  if (local_port == kIkeNattPort && sa.local.port != kIkeNattPort) {
    sa.local.port = kIkeNattPort;
    sa.peer.port = from.port;
  }
  sa.last_inbound = now;
  std::vector<Payload> inner;
  const auto* sk = m.get<SkPayload>(PayloadType::sk);
  const ParseResult pr = parse_payload_chain(sk->first_inner, plain, inner, false);
  wipe(plain);
  bool erase_sa = false;
  Bytes out;
  if (!pr.ok()) {
    ++counters_.parse_errors[static_cast<size_t>(pr.error)];
    refuse(Refusal::inner_malformed, sa.peer, std::string(ike_error_name(pr.error)));
    out = seal(sa, m.header.exchange, id, {notify(kNotifyInvalidSyntax)});
  } else {
    out = dispatch(m, inner, sa, erase_sa, now);
  }
  if (out.empty()) return out;
  ++sa.next_request_id;
  sa.has_response = true;
  sa.last_response_id = id;
  sa.last_response = out;
  ++counters_.responses_sent;
  if (erase_sa) erase(sa.spi_r);
  return out;
}

Bytes Responder::dispatch(const Message& m, std::vector<Payload>& inner, IkeSa& sa, bool& erase_sa,
                          Clock::time_point now) {
  const Exchange ex = m.header.exchange;
  const bool established = sa.state == IkeSaState::established;
  if (ex == Exchange::ike_auth && !established) return seal(sa, ex, m.header.message_id, on_auth(inner, sa, erase_sa));
  if (ex == Exchange::informational && established)
    return seal(sa, ex, m.header.message_id, on_informational(inner, sa, erase_sa));
  if (ex == Exchange::create_child_sa && established)
    return seal(sa, ex, m.header.message_id, on_create_child(inner, sa, now));
  refuse(Refusal::unexpected_exchange, sa.peer,
         "exchange " + std::to_string(static_cast<int>(ex)) + (established ? " after IKE_AUTH" : " before IKE_AUTH"));
  return {};
}

std::vector<Payload> Responder::on_informational(const std::vector<Payload>& in, IkeSa& sa, bool& erase_sa) {
  std::vector<Payload> out;
  DeletePayload ours{Protocol::esp, 4, {}};
  for (const Payload& p : in) {
    const auto* d = std::get_if<DeletePayload>(&p.body);
    if (!d) continue;
    if (d->protocol == Protocol::ike) {  // § 1.4.1: answered empty, then gone
      log_("ike: " + sa.peer.str() + ": IKE SA deleted by the peer");
      erase_sa = true;
      return {};
    }
    for (const Bytes& spi : d->spis) {  // the peer names its inbound SPIs, our outbound ones
      if (d->protocol != Protocol::esp || spi.size() != 4) continue;
      const uint32_t out_spi = uint32_t(spi[0]) << 24 | uint32_t(spi[1]) << 16 | uint32_t(spi[2]) << 8 | spi[3];
      for (auto it = sa.children.begin(); it != sa.children.end(); ++it) {
        if (it->second.spi_out != out_spi) continue;
        const uint32_t s = it->first;
        ours.spis.push_back({uint8_t(s >> 24), uint8_t(s >> 16), uint8_t(s >> 8), uint8_t(s)});
        esp_spis_.erase(s);
        sa.children.erase(it);
        peer_deleted_.push_back(s);
        ++counters_.child_sas_deleted;
        break;
      }
    }
  }
  if (!ours.spis.empty()) out.push_back({PayloadType::del, false, ours});
  return out;
}

bool Responder::child_sealed(uint32_t spi_in) {
  for (auto& [spi_r, sa] : sas_)
    if (auto it = sa->children.find(spi_in); it != sa->children.end()) {
      it->second.seal_deferred = false;
      return true;
    }
  return false;
}

Bytes Responder::seal(IkeSa& sa, Exchange ex, uint32_t id, const std::vector<Payload>& inner, bool response) {
  Header h;
  h.spi_i = sa.we_initiated ? sa.spi_r : sa.spi_i;  // IkeSa::we_initiated: ours first on the wire
  h.spi_r = sa.we_initiated ? sa.spi_i : sa.spi_r;
  h.exchange = ex;
  // Initiator only on an SA we initiated by rekeying (§ 3.1: the flag names
  // the SA's original initiator).
  h.flags = static_cast<uint8_t>((response ? kFlagResponse : 0) | (sa.we_initiated ? kFlagInitiator : 0));
  h.message_id = id;
  PayloadType first = PayloadType::none;
  const Bytes plain = encode_payload_chain(inner, first);
  return seal_sk(sa.suite, sa.keys.sk_er, sa.keys.sk_ar, h, first, plain, random_bytes(sa.suite.iv_len()));
}

void Responder::erase(uint64_t spi_r) {
  auto it = sas_.find(spi_r);
  if (it == sas_.end()) return;
  IkeSa& sa = *it->second;
  return_collided_children(sa);  // § 2.8.2: a redundant SA of the peer's keeps no Child SA
  for (auto& [spi, child] : sa.children) {
    esp_spis_.erase(spi);
    ++counters_.child_sas_deleted;
  }
  by_initiator_.erase({sa.spi_i, sa.peer.addr});
  own_.erase(spi_r);
  if (sa.state == IkeSaState::established) ++counters_.ike_sas_deleted;
  if (sa.state == IkeSaState::init_done) --half_open_;
  sas_.erase(it);  // the destructors wipe every key
}

void Responder::expire_half_open(std::chrono::steady_clock::time_point now, std::chrono::seconds max_age) {
  std::vector<uint64_t> old;
  for (const auto& [spi, sa] : sas_)
    if (sa->state == IkeSaState::init_done && now - sa->created > max_age) old.push_back(spi);
  for (uint64_t spi : old) {
    refuse(Refusal::half_open_expired, sas_.at(spi)->peer,
           "no IKE_AUTH within " + std::to_string(max_age.count()) + " s");
    erase(spi);
  }
}

// § 2.4: INITIAL_CONTACT from an authenticated peer means it forgot every
// other IKE SA it had with us (it restarted): they go.
void Responder::initial_contact(const IkeSa& sa) {
  std::vector<uint64_t> stale;
  for (const auto& [spi, other] : sas_)
    if (spi != sa.spi_r && other->state == IkeSaState::established && other->config == sa.config) stale.push_back(spi);
  for (uint64_t spi : stale) {
    log_("ike: " + sa.peer.str() + ": INITIAL_CONTACT from " + sa.remote_id + ": its older IKE SA is deleted");
    erase(spi);
  }
}

}  // namespace wp::ike
