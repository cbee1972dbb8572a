// IKE SA state of the HA pair; see ike_sa_sync.h.
#include "dataplane/control/ike/ike_sa_sync.h"

#include <algorithm>
#include <cstdio>

#include "dataplane/control/ike/ike_responder.h"

namespace wp::ike {
namespace {

namespace pb = waypoint::ha;

std::string bytes_str(const Bytes& b) { return std::string(b.begin(), b.end()); }
Bytes str_bytes(const std::string& s) { return Bytes(s.begin(), s.end()); }

void put_ts(const TrafficSelector& t, pb::IkeTrafficSelector& out) {
  out.set_type(t.type);
  out.set_ip_protocol(t.ip_protocol);
  out.set_start_port(t.start_port);
  out.set_end_port(t.end_port);
  out.set_start_addr(bytes_str(t.start_addr));
  out.set_end_addr(bytes_str(t.end_addr));
}

bool get_ts(const pb::IkeTrafficSelector& in, TrafficSelector& t) {
  if (in.type() > 255 || in.ip_protocol() > 255 || in.start_port() > 65535 || in.end_port() > 65535) return false;
  if (in.start_addr().size() != in.end_addr().size() || (in.start_addr().size() != 4 && in.start_addr().size() != 16))
    return false;
  t.type = static_cast<uint8_t>(in.type());
  t.ip_protocol = static_cast<uint8_t>(in.ip_protocol());
  t.start_port = static_cast<uint16_t>(in.start_port());
  t.end_port = static_cast<uint16_t>(in.end_port());
  t.start_addr = str_bytes(in.start_addr());
  t.end_addr = str_bytes(in.end_addr());
  return true;
}

uint64_t mix(uint64_t h, uint64_t v) { return (h ^ v) * 0x100000001b3ull + (h >> 29); }

}  // namespace

void encode_ike_sa(const IkeSa& sa, uint32_t node, std::chrono::steady_clock::time_point now, const ChildSeqs& seqs,
                   pb::IkeSaRecord& rec) {
  rec.set_kind(pb::IkeSaRecord::UPSERT);
  rec.set_spi_i(sa.spi_i);
  rec.set_spi_r(sa.spi_r);
  rec.set_owner_node(node);
  rec.set_peer_addr(bytes_str(sa.peer.addr));
  rec.set_peer_port(sa.peer.port);
  rec.set_local_addr(bytes_str(sa.local.addr));
  rec.set_local_port(sa.local.port);
  rec.set_nat_detected(sa.nat_detected);
  rec.set_udp_encap(sa.udp_encap);
  rec.set_we_initiated(sa.we_initiated);
  rec.set_peer_initiated(sa.peer_initiated);
  rec.set_encr(sa.suite.encr);
  rec.set_encr_key_bits(sa.suite.encr_key_bits);
  rec.set_integ(sa.suite.integ);
  rec.set_prf(sa.suite.prf);
  rec.set_dh(sa.suite.dh);
  rec.set_sk_d(bytes_str(sa.keys.sk_d));
  rec.set_sk_ai(bytes_str(sa.keys.sk_ai));
  rec.set_sk_ar(bytes_str(sa.keys.sk_ar));
  rec.set_sk_ei(bytes_str(sa.keys.sk_ei));
  rec.set_sk_er(bytes_str(sa.keys.sk_er));
  rec.set_sk_pi(bytes_str(sa.keys.sk_pi));
  rec.set_sk_pr(bytes_str(sa.keys.sk_pr));
  if (sa.config) {
    rec.set_peer_config(sa.config->name);
    rec.set_tunnel(sa.config->tunnel);
  }
  rec.set_remote_id(sa.remote_id);
  rec.set_next_request_id(sa.next_request_id);
  rec.set_own_next_request_id(sa.own_next_request_id);
  rec.set_has_response(sa.has_response);
  rec.set_last_response_id(sa.last_response_id);
  rec.set_last_response(bytes_str(sa.last_response));
  rec.set_age_ms(static_cast<uint64_t>(
      std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::milliseconds>(now - sa.created).count())));
  for (const ChildSa* child : children_oldest_first(sa)) {  // decode_ike_sa keeps that order (ChildSa::made)
    const ChildSa& c = *child;
    const uint32_t spi_in = c.spi_in;
    pb::IkeChildRecord* r = rec.add_children();
    r->set_spi_in(c.spi_in);
    r->set_spi_out(c.spi_out);
    r->set_encr(c.suite.encr);
    r->set_integ(c.suite.integ);
    r->set_esn(c.suite.esn);
    for (const TrafficSelector& t : c.ts_local) put_ts(t, *r->add_ts_local());
    for (const TrafficSelector& t : c.ts_remote) put_ts(t, *r->add_ts_remote());
    r->set_enc_in(bytes_str(c.enc_in));
    r->set_integ_in(bytes_str(c.integ_in));
    r->set_enc_out(bytes_str(c.enc_out));
    r->set_integ_out(bytes_str(c.integ_out));
    if (auto s = seqs.find(spi_in); s != seqs.end()) {
      r->set_seq_out(s->second.seq_out);
      r->set_replay_top(s->second.replay_top);
      r->set_bytes(s->second.bytes);
      if (s->second.born)
        r->set_age_ms(static_cast<uint64_t>(std::max<int64_t>(
            0, std::chrono::duration_cast<std::chrono::milliseconds>(now - *s->second.born).count())));
    }
  }
}

std::unique_ptr<IkeSa> decode_ike_sa(const pb::IkeSaRecord& rec, const ResponderConfig& config,
                                     std::chrono::steady_clock::time_point now, ChildSeqs& seqs, std::string& error) {
  const std::string what = "IKE SA " + spi_text(rec.spi_i()) + "_i " + spi_text(rec.spi_r()) + "_r: ";
  const PeerConfig* peer = nullptr;
  for (const PeerConfig& p : config.peers)
    if (p.name == rec.peer_config()) peer = &p;
  if (!peer) return error = what + "ipsec_peers has no peer \"" + rec.peer_config() + "\" here", nullptr;
  if (peer->tunnel != rec.tunnel())
    return error = what + "peer \"" + peer->name + "\" feeds tunnel " + std::to_string(rec.tunnel()) +
                   " on the HA peer, " + std::to_string(peer->tunnel) +
                   " here: configure the same tunnels and ipsec_peers on both nodes",
           nullptr;
  // IPv4 or IPv6 (docs/ipsec.md § IPv6 outer addresses), both ends of one family.
  const size_t alen = rec.peer_addr().size();
  if ((alen != 4 && alen != 16) || rec.local_addr().size() != alen || rec.peer_port() > 65535 ||
      rec.local_port() > 65535)
    return error = what + "endpoints are not two IPv4 or two IPv6 addresses with ports", nullptr;
  auto sa = std::make_unique<IkeSa>();
  sa->spi_i = rec.spi_i();
  sa->spi_r = rec.spi_r();
  sa->state = IkeSaState::established;
  sa->peer = {str_bytes(rec.peer_addr()), static_cast<uint16_t>(rec.peer_port())};
  sa->local = {str_bytes(rec.local_addr()), static_cast<uint16_t>(rec.local_port())};
  sa->nat_detected = rec.nat_detected();
  sa->udp_encap = rec.udp_encap();
  sa->we_initiated = rec.we_initiated();
  sa->peer_initiated = rec.peer_initiated();
  sa->suite.encr = static_cast<uint16_t>(rec.encr());
  sa->suite.encr_key_bits = static_cast<uint16_t>(rec.encr_key_bits());
  sa->suite.integ = static_cast<uint16_t>(rec.integ());
  sa->suite.prf = static_cast<uint16_t>(rec.prf());
  sa->suite.dh = static_cast<uint16_t>(rec.dh());
  const IkeSuite& s = sa->suite;
  if ((s.encr != kEncrAesCbc && s.encr != kEncrAesGcm16) || s.encr_key_bits != 256 || s.prf != kPrfHmacSha256 ||
      (s.aead() ? s.integ != 0 : s.integ != kIntegHmacSha256_128))
    return error = what + "IKE suite is not one Waypoint uses", nullptr;
  sa->keys.sk_d = str_bytes(rec.sk_d());
  sa->keys.sk_ai = str_bytes(rec.sk_ai());
  sa->keys.sk_ar = str_bytes(rec.sk_ar());
  sa->keys.sk_ei = str_bytes(rec.sk_ei());
  sa->keys.sk_er = str_bytes(rec.sk_er());
  sa->keys.sk_pi = str_bytes(rec.sk_pi());
  sa->keys.sk_pr = str_bytes(rec.sk_pr());
  const IkeKeys& k = sa->keys;
  if (k.sk_d.size() != s.prf_len() || k.sk_pi.size() != s.prf_len() || k.sk_pr.size() != s.prf_len() ||
      k.sk_ei.size() != s.encr_key_len() || k.sk_er.size() != s.encr_key_len() ||
      k.sk_ai.size() != s.integ_key_len() || k.sk_ar.size() != s.integ_key_len())
    return error = what + "IKE key lengths do not match its suite", nullptr;
  sa->config = peer;
  sa->remote_id = rec.remote_id();
  sa->next_request_id = rec.next_request_id();
  sa->own_next_request_id = rec.own_next_request_id();
  sa->has_response = rec.has_response();
  sa->last_response_id = rec.last_response_id();
  sa->last_response = str_bytes(rec.last_response());
  // An IKE SA lives at most its hard lifetime (ike_lifetime_s <= 86400): a week is past any real age.
  constexpr uint64_t kMaxAgeMs = 7ull * 86400 * 1000;  // a Child SA's too
  if (rec.age_ms() > kMaxAgeMs) return error = what + "age of " + std::to_string(rec.age_ms()) + " ms is past a week", nullptr;
  sa->created = now - std::chrono::milliseconds(rec.age_ms());
  for (const pb::IkeChildRecord& r : rec.children()) {
    ChildSa c;
    c.spi_in = r.spi_in();
    c.spi_out = r.spi_out();
    c.suite.encr = static_cast<uint16_t>(r.encr());
    c.suite.integ = static_cast<uint16_t>(r.integ());
    c.suite.esn = r.esn();
    if ((c.suite.encr != kEncrAesGcm16 && c.suite.encr != kEncrAesCbc) ||
        (c.suite.aead() ? c.suite.integ != 0 : c.suite.integ != kIntegHmacSha256_128))
      return error = what + "Child SA " + std::to_string(c.spi_in) + ": ESP suite is not one Waypoint uses", nullptr;
    for (const auto& t : r.ts_local())
      if (!get_ts(t, c.ts_local.emplace_back())) return error = what + "bad traffic selector", nullptr;
    for (const auto& t : r.ts_remote())
      if (!get_ts(t, c.ts_remote.emplace_back())) return error = what + "bad traffic selector", nullptr;
    c.enc_in = str_bytes(r.enc_in());
    c.integ_in = str_bytes(r.integ_in());
    c.enc_out = str_bytes(r.enc_out());
    c.integ_out = str_bytes(r.integ_out());
    if (c.enc_in.size() != c.suite.encr_key_len() || c.enc_out.size() != c.suite.encr_key_len() ||
        c.integ_in.size() != c.suite.integ_key_len() || c.integ_out.size() != c.suite.integ_key_len())
      return error = what + "Child SA " + std::to_string(c.spi_in) + ": key lengths do not match its suite", nullptr;
    if (c.spi_in == 0 || sa->children.count(c.spi_in))
      return error = what + "Child SA inbound SPI 0 or listed twice", nullptr;
    if (r.has_age_ms() && r.age_ms() > kMaxAgeMs)
      return error = what + "Child SA " + std::to_string(c.spi_in) + ": age past a week", nullptr;
    ChildSeq& s = seqs[c.spi_in] = {r.seq_out(), r.replay_top(), r.bytes()};
    if (r.has_age_ms()) s.born = now - std::chrono::milliseconds(r.age_ms());  // else: an older peer's, unknown
    const uint32_t spi_in = c.spi_in;
    sa->children.emplace(spi_in, std::move(c));
  }
  return sa;
}

uint64_t sync_fingerprint(const IkeSa& sa) {
  uint64_t h = 0xcbf29ce484222325ull;
  h = mix(h, static_cast<uint64_t>(sa.state));
  h = mix(h, sa.spi_i);
  h = mix(h, sa.we_initiated);
  h = mix(h, sa.peer_initiated);
  h = mix(h, sa.next_request_id);
  h = mix(h, sa.own_next_request_id);
  h = mix(h, uint64_t{sa.has_response} << 32 | sa.last_response_id);
  h = mix(h, sa.last_response.size());
  for (uint8_t b : sa.peer.addr) h = mix(h, b);
  h = mix(h, sa.peer.port);
  h = mix(h, sa.local.port);
  h = mix(h, sa.config ? reinterpret_cast<uintptr_t>(sa.config) : 0);
  for (const auto& [spi_in, c] : sa.children) h = mix(h, uint64_t{spi_in} << 32 | c.spi_out);
  return h;
}

// --- the responder's side of a takeover ---------------------------------------

bool Responder::adopt(std::unique_ptr<IkeSa> sa, Clock::time_point now) {
  if (!sa || sa->state != IkeSaState::established || sas_.count(sa->spi_r) ||
      by_initiator_.count({sa->spi_i, sa->peer.addr}))
    return false;
  for (const auto& [spi, child] : sa->children)
    if (esp_spis_.count(spi)) return false;
  for (const auto& [spi, child] : sa->children) esp_spis_[spi] = sa->spi_r;
  by_initiator_[{sa->spi_i, sa->peer.addr}] = sa->spi_r;
  sa->last_inbound = now;  // the holder's silence is not synced: counted from the takeover
  const uint64_t spi_r = sa->spi_r;
  sas_.emplace(spi_r, std::move(sa));
  return true;
}

std::unique_ptr<IkeSa> Responder::release(uint64_t spi_r) {
  auto it = sas_.find(spi_r);
  if (it == sas_.end()) return nullptr;
  std::unique_ptr<IkeSa> sa = std::move(it->second);
  for (const auto& [spi, child] : sa->children) esp_spis_.erase(spi);
  by_initiator_.erase({sa->spi_i, sa->peer.addr});
  own_.erase(spi_r);  // a request of ours still unanswered is the new holder's to forget (its ID is spent)
  if (sa->state == IkeSaState::init_done) --half_open_;
  sas_.erase(it);
  return sa;
}

std::string spi_text(uint64_t spi) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(spi));
  return buf;
}

size_t add_seq_marks(const ChildSeqs& seqs, ChildSeqs& heard, pb::IkeSync& msg) {
  size_t n = 0;
  for (const auto& [spi_in, s] : seqs) {
    if (heard[spi_in] == s) continue;
    heard[spi_in] = s;
    pb::IkeSeqMark* m = msg.add_seqs();
    m->set_spi_in(spi_in);
    m->set_seq_out(s.seq_out);
    m->set_replay_top(s.replay_top);
    m->set_bytes(s.bytes);
    ++n;
  }
  return n;
}

}  // namespace wp::ike
