// The responder's own requests on IKE SAs the peer began (RFC 7296 § 2.3:
// each end numbers its requests from 0; we send with neither the Initiator
// nor the Response flag, the peer answers with both): Child SA rekeys when
// our lifetimes expire (§ 2.8, ike_child_rekey.h), Deletes of a Child SA or
// of the IKE SA at a hard lifetime. Retransmitted by RequestWindow as the
// initiator's requests; an SA that never answers is deleted (§ 2.4).
// Liveness checks (our DPD, § 2.4, when IkeService finds the SA silent):
// an empty INFORMATIONAL; unanswered, the SA is deleted as a dead peer.
// Collisions (§ 2.8.1): when the peer rekeys the Child SA ours rekeys, both
// new SAs come up; the one made with the lowest of the four nonces is
// deleted by whoever made it, the other end's survivor replaces the old SA.
#include <cstdio>
#include <utility>

#include "dataplane/control/ike/ike_bytes.h"
#include "dataplane/control/ike/ike_lifetime.h"
#include "dataplane/control/ike/ike_responder.h"
#include "dataplane/ipsec/esp_owner.h"

namespace wp::ike {
Responder::OwnRequests* Responder::own_idle(uint64_t spi_r, IkeSa*& sa) {
  auto it = sas_.find(spi_r);
  if (it == sas_.end() || it->second->state != IkeSaState::established || !it->second->config) return nullptr;
  sa = it->second.get();
  auto [o_it, made] = own_.try_emplace(spi_r);
  OwnRequests& o = o_it->second;
  if (made) o.window.reset(sa->own_next_request_id);  // 0, or where an HA peer's copy stopped
  return o.window.outstanding() ? nullptr : &o;
}

bool Responder::request_outstanding(uint64_t spi_r) const {
  auto it = own_.find(spi_r);
  return it != own_.end() && it->second.window.outstanding();
}

uint32_t Responder::rekeying(uint64_t spi_r) const {
  auto it = own_.find(spi_r);
  return it != own_.end() && it->second.window.outstanding() && it->second.rekeying ? it->second.rekey.old_spi() : 0;
}

Bytes Responder::own_send(IkeSa& sa, OwnRequests& o, Exchange ex, const std::vector<Payload>& inner,
                          Clock::time_point now) {
  ++own_counters_.requests_sent;
  const uint32_t id = o.window.take_id();
  sa.own_next_request_id = o.window.next_id();
  return o.window.send(seal(sa, ex, id, inner, /*response=*/false), ex, now);
}

Bytes Responder::rekey_child(uint64_t spi_r, uint32_t spi_in, Clock::time_point now, uint16_t pfs_group) {
  IkeSa* sa = nullptr;
  OwnRequests* o = own_idle(spi_r, sa);
  if (!o || !sa->children.count(spi_in)) return {};
  o->collided = 0;
  Bytes r = own_rekey_request(*sa, *o, spi_in, pfs_group, now);
  if (!r.empty()) ++own_counters_.child_rekeys_started;
  return r;
}

Bytes Responder::own_rekey_request(IkeSa& sa, OwnRequests& o, uint32_t old_spi, uint16_t group,
                                   Clock::time_point now) {
  std::vector<Payload> in;
  std::string why;
  const uint32_t new_spi = new_esp_spi(sa.config->tunnel);
  if (!o.rekey.request(sa, *sa.config, old_spi, new_spi, group, in, why)) {
    refuse(Refusal::crypto_failure, sa.peer, "Child SA rekey: " + why);
    return {};
  }
  esp_spis_[new_spi] = sa.spi_r;  // reserved: no other SA of ours takes it meanwhile
  o.rekeying = true;
  log_("ike: " + sa.peer.str() + ": rekeying Child SA " + hex8(old_spi) + " of " + sa.remote_id);
  return own_send(sa, o, Exchange::create_child_sa, in, now);
}

Bytes Responder::delete_child(uint64_t spi_r, uint32_t spi_in, Clock::time_point now) {
  IkeSa* sa = nullptr;
  OwnRequests* o = own_idle(spi_r, sa);
  if (!o || !sa->children.count(spi_in)) return {};
  return own_delete_child(*sa, *o, spi_in, now);
}

Bytes Responder::own_delete_child(IkeSa& sa, OwnRequests& o, uint32_t spi_in, Clock::time_point now) {
  o.deleting_child = spi_in;
  ++own_counters_.child_deletes_sent;
  return own_send(sa, o, Exchange::informational,
                  {{PayloadType::del, false, DeletePayload{Protocol::esp, 4, {spi_bytes(spi_in)}}}}, now);
}

Bytes Responder::delete_sa(uint64_t spi_r, Clock::time_point now) {
  IkeSa* sa = nullptr;
  OwnRequests* o = own_idle(spi_r, sa);
  if (!o) return {};
  o->deleting_sa = true;
  ++own_counters_.ike_deletes_sent;
  log_("ike: " + sa->peer.str() + ": deleting the IKE SA of " + sa->remote_id);
  return own_send(*sa, *o, Exchange::informational, {{PayloadType::del, false, DeletePayload{Protocol::ike, 0, {}}}},
                  now);
}

Bytes Responder::liveness(uint64_t spi_r, Clock::time_point now) {
  IkeSa* sa = nullptr;
  OwnRequests* o = own_idle(spi_r, sa);
  if (!o) return {};
  o->liveness = true;
  ++own_counters_.liveness_sent;
  return own_send(*sa, *o, Exchange::informational, {}, now);
}

std::vector<std::pair<uint64_t, Bytes>> Responder::tick(Clock::time_point now) {
  std::vector<std::pair<uint64_t, Bytes>> out;
  std::vector<uint64_t> dead;
  for (auto& [spi_r, o] : own_) {
    Bytes b;
    switch (o.window.tick(now, b)) {
      case RequestWindow::Tick::nothing: break;
      case RequestWindow::Tick::resend:
        ++own_counters_.retransmits;
        out.emplace_back(spi_r, std::move(b));
        break;
      case RequestWindow::Tick::failed: dead.push_back(spi_r); break;
    }
  }
  for (uint64_t spi_r : dead) {
    const OwnRequests& o = own_.at(spi_r);
    ++(o.liveness ? own_counters_.dead_peers : own_counters_.timeouts);
    if (auto it = sas_.find(spi_r); it != sas_.end())
      log_("ike: " + it->second->peer.str() + ": no answer to our " + (o.liveness ? "liveness check" : "request") +
           " after " + std::to_string(o.window.sends()) + " sends: IKE SA of " + it->second->remote_id + " deleted" +
           (o.liveness ? " (dead peer)" : ""));
    erase(spi_r);
  }
  return out;
}

Bytes Responder::on_own_answer(CSpan datagram, const Message& m, const Endpoint& peer, Clock::time_point now) {
  auto it = sas_.find(m.header.spi_r);
  if (it == sas_.end() || it->second->spi_i != m.header.spi_i) {
    refuse(Refusal::unknown_spi, peer, "an answer for no IKE SA of ours");
    return {};
  }
  IkeSa& sa = *it->second;
  auto o_it = own_.find(sa.spi_r);
  if (o_it == own_.end() || !o_it->second.window.answers(m.header.message_id, m.header.exchange)) {
    refuse(Refusal::old_message_id, peer, "an answer to no request of ours outstanding");
    return {};
  }
  Bytes plain;
  if (const SkError e = open_sk(sa.suite, sa.keys.sk_ei, sa.keys.sk_ai, datagram, m, plain); e != SkError::ok) {
    refuse(Refusal::integrity_failed, peer, std::string(sk_error_name(e)));
    return {};
  }
  sa.last_inbound = now;
  std::vector<Payload> in;
  const auto* sk = m.get<SkPayload>(PayloadType::sk);
  const ParseResult pr = parse_payload_chain(sk->first_inner, plain, in, false);
  wipe(plain);
  if (!pr.ok()) {
    refuse(Refusal::inner_malformed, peer, std::string(ike_error_name(pr.error)));
    return {};
  }
  OwnRequests& o = o_it->second;
  o.window.answered();
  ++own_counters_.answers;
  if (o.rekeying_ike) return on_own_ike_rekey_answer(sa, o, in, now);
  if (o.rekeying) return on_own_rekey_answer(sa, o, in, now);
  if (std::exchange(o.liveness, false)) {  // alive: last_inbound moved above, nothing else
    ++own_counters_.liveness_answered;
    return {};
  }
  if (o.deleting_sa) {
    log_("ike: " + sa.peer.str() + ": IKE SA of " + sa.remote_id + " deleted");
    erase(sa.spi_r);
    return {};
  }
  if (const uint32_t spi = std::exchange(o.deleting_child, 0); spi && sa.children.erase(spi)) {
    esp_spis_.erase(spi);
    ++counters_.child_sas_deleted;
    log_("ike: " + sa.peer.str() + ": Child SA " + hex8(spi) + " deleted");
  }
  return {};
}

Bytes Responder::on_own_rekey_answer(IkeSa& sa, OwnRequests& o, const std::vector<Payload>& in,
                                     Clock::time_point now) {
  o.rekeying = false;
  std::string why;
  switch (o.rekey.on_answer(sa, *sa.config, in, why)) {
    case ChildRekey::Answer::retry:
      esp_spis_.erase(o.rekey.new_spi());
      return own_rekey_request(sa, o, o.rekey.old_spi(), o.rekey.group(), now);
    case ChildRekey::Answer::refused:
      esp_spis_.erase(o.rekey.new_spi());
      ++own_counters_.child_rekeys_refused;
      log_("ike: " + sa.peer.str() + ": our Child SA rekey refused: " + why);
      return {};
    case ChildRekey::Answer::installed: break;
  }
  const ChildSa& c = sa.children.at(o.rekey.new_spi());
  ++counters_.child_sas_installed;
  ++own_counters_.child_rekeys_completed;
  log_("ike: " + sa.peer.str() + ": Child SA rekeyed by us, SPI in " + hex8(c.spi_in) + " out " + hex8(c.spi_out) +
       " (replaces " + hex8(o.rekey.old_spi()) + ")" + (o.rekey.group() ? " (PFS)" : ""));
  uint32_t doomed = o.rekey.old_spi();
  if (o.collided && sa.children.count(o.collided)) {
    ++own_counters_.collisions;
    const bool ours_redundant = our_rekey_redundant(o.rekey.ni(), o.rekey.nr(), o.collided_ni, o.collided_nr);
    log_("ike: " + sa.peer.str() + ": rekey collision (§ 2.8.1): " +
         (ours_redundant ? "ours (" + hex8(c.spi_in) + ")" : "the peer's (" + hex8(o.collided) + ")") +
         " has the lowest nonce and is redundant");
    // The redundant SA is deleted by whoever made it; the old one by the
    // maker of the survivor.
    if (ours_redundant) doomed = c.spi_in;
    ++(ours_redundant ? own_counters_.collisions_lost : own_counters_.collisions_won);
  }
  o.collided = 0;
  if (!sa.children.count(doomed)) return {};  // the peer deleted the old SA meanwhile
  return own_delete_child(sa, o, doomed, now);
}

void Responder::note_collision(const IkeSa& sa, uint32_t rekeyed, uint32_t new_spi, const Bytes& ni, const Bytes& nr) {
  auto it = own_.find(sa.spi_r);
  if (it == own_.end() || !it->second.window.outstanding() || !it->second.rekeying ||
      it->second.rekey.old_spi() != rekeyed)
    return;
  it->second.collided = new_spi;
  it->second.collided_ni = ni;
  it->second.collided_nr = nr;
}

}  // namespace wp::ike
