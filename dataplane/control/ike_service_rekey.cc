// IkeService's side of our lifetimes (docs/ipsec.md § Rekeying; RFC 7296
// § 2.8): every poll checks the IKE SAs and the Child SAs in the workers'
// table, whichever end began the IKE SA, against ike::SaLifetime.
// - A Child SA past its soft lifetime, by time or by bytes, that is the
//   newest of its IKE SA (an older one is being replaced already) is rekeyed
//   by us: the initiator's rekey_child or the responder's, with a KE of
//   the DH group esp_proposals name (PFS, ike::PeerConfig::pfs_group; none
//   without one, as strongSwan). Make before break: the answer installs the new SA (the
//   table is published before the Delete of the old one leaves, sync_sas in
//   input()), and the old SA keeps opening until that Delete is answered.
// - Its bytes are the inner bytes the workers sealed and opened on its
//   tunnel since it was installed (the tunnel's relaxed per-worker counters,
//   DataplaneShared::esp_counters, summed): one Child SA seals per tunnel,
//   and while an old one still opens after a rekey its bytes count for the
//   new one too, which only brings the next rekey slightly forward. No
//   per-SA counter had to join the workers' fast path.
// - A rekey that failed is tried again after ike::kRekeyRetry; at the hard
//   lifetime the SA is deleted (a Child SA with a Delete of it, an IKE SA
//   with a Delete of the IKE SA, which takes its Child SAs; an SA we
//   initiated then starts again through its InitiateSchedule).
// - IKE SAs are rekeyed by us at their soft lifetime (ike_lifetime_s,
//   jittered), whichever end began them: the initiator's rekey_ike or the
//   responder's rekey_sa (both ike_sa_rekey.h) make the new IKE SA, move the
//   Child SAs to it (their entries in the workers' table, keyed by our
//   inbound SPI, do not change) and delete the old one; the new SA gets a
//   lifetime of its own (ike_lives_ by SPIs). Past our hard lifetime, when
//   every rekey failed, an IKE SA is deleted.
#include <algorithm>
#include <cstdio>
#include <set>

#include "dataplane/control/ike_service.h"

namespace wp {
namespace {

using std::chrono::duration_cast;
using std::chrono::seconds;
using std::chrono::steady_clock;

std::string spi_text(uint32_t spi) {
  char b[12];
  std::snprintf(b, sizeof b, "%08x", spi);
  return b;
}

}  // namespace

uint64_t IkeService::tunnel_bytes(uint16_t tunnel) const {
  uint64_t v = 0;
  for (uint32_t w = 0; tunnel_counters_ && w < counter_readers_ && tunnel < kEspCounterTunnels; ++w) {
    const EspTunnelCounters& c = tunnel_counters_[w * kEspCounterTunnels + tunnel];
    v += c.in_bytes.load(std::memory_order_relaxed) + c.out_bytes.load(std::memory_order_relaxed);
  }
  return v;
}

uint64_t IkeService::child_bytes(uint32_t spi_in) const {
  const auto it = installed_.find(spi_in);
  if (it == installed_.end()) return 0;
  const uint64_t now = tunnel_bytes(it->second.tunnel);
  return it->second.bytes_before + (now > it->second.bytes_base ? now - it->second.bytes_base : 0);
}

void IkeService::queue_request(const ike::IkeSa& sa, ike::Bytes request) {
  if (request.empty()) return;
  if (sa.local.port == kIkeNattPort) request.insert(request.begin(), 4, 0);  // the non-ESP marker
  outgoing_.push_back({ike::record_address(sa.local.addr), ike::record_address(sa.peer.addr), sa.local.port, sa.peer.port, std::move(request)});
}

namespace {

// What an initiator's counters add to the rekey counters (GET /api/v1/ipsec `rekey`).
ike::RekeyCounters rekeys_of(const ike::InitiatorCounters& c) {
  using ike::RekeyCounter;
  ike::RekeyCounters r;
  r[RekeyCounter::child_rekeys_completed] = c.child_sas_rekeyed;
  r[RekeyCounter::rekey_failures] = c[ike::InitFailure::rekey_refused];
  r[RekeyCounter::ike_rekeys_completed] = c.ike_sas_rekeyed;
  r[RekeyCounter::rekey_collisions] = c.ike_rekey_collisions + c.child_collisions_won + c.child_collisions_lost;
  r[RekeyCounter::rekey_collisions_won] = c.child_collisions_won + c.ike_collisions_won;
  r[RekeyCounter::rekey_collisions_lost] = c.child_collisions_lost + c.ike_collisions_lost;
  r[RekeyCounter::peer_ike_rekeys] = c.peer_ike_rekeys;
  r[RekeyCounter::peer_child_rekeys] = c.peer_child_rekeys;
  r[RekeyCounter::peer_child_sas] = c.peer_child_sas;
  uint64_t refused = c.peer_rekeys_deferred;
  for (uint64_t n : c.peer_refused) refused += n;
  r[RekeyCounter::peer_requests_refused] = refused;
  return r;
}

}  // namespace

// Outcomes of an initiator's rekeys not counted yet (before it goes away too).
void IkeService::fold_rekeys(Initiating& in) {
  if (!in.initiator) return;
  const ike::RekeyCounters now = rekeys_of(in.initiator->counters());
  for (size_t k = 0; k < ike::kRekeyCounters; ++k) rekey_.v[k] += now.v[k] - in.seen_rekeys.v[k];
  in.seen_rekeys = now;
}

void IkeService::enforce_lifetimes(steady_clock::time_point now) {
  for (auto& [spi_r, request] : responder_.tick(now)) {
    const auto it = responder_.sas().find(spi_r);
    if (it != responder_.sas().end()) queue_request(*it->second, std::move(request));
  }
  for (Initiating& in : initiating_) fold_rekeys(in);
  std::vector<std::pair<const ike::IkeSa*, Initiating*>> sas;
  for (const auto& [spi, sa] : responder_.sas()) sas.push_back({sa.get(), nullptr});
  for (Initiating& in : initiating_)
    if (in.initiator && in.initiator->sa()) sas.push_back({in.initiator->sa(), &in});
  std::set<std::pair<uint64_t, uint64_t>> live;
  for (const auto& [sa, in] : sas) {
    if (sa->state != ike::IkeSaState::established || !sa->config) continue;
    live.insert({sa->spi_i, sa->spi_r});
    if (!ha_answers_for(*sa)) continue;  // set aside below (ha_step): the peer may carry it now
    // The newest Child SA of this IKE SA is the one to rekey (by when it was
    // made: installed anew after an HA resume, they all have one `since`).
    uint32_t newest = 0;
    for (const ike::ChildSa* child : ike::children_oldest_first(*sa))
      if (installed_.count(child->spi_in)) newest = child->spi_in;
    std::vector<uint32_t> spis;
    for (const auto& [spi_in, child] : sa->children) spis.push_back(spi_in);
    for (uint32_t spi_in : spis) enforce_child(*sa, in, spi_in, spi_in == newest, now);
    enforce_ike(*sa, in, now);  // last: a Delete of the IKE SA may free `sa`
  }
  for (auto it = ike_lives_.begin(); it != ike_lives_.end();) it = live.count(it->first) ? std::next(it) : ike_lives_.erase(it);
}

void IkeService::enforce_child(const ike::IkeSa& sa, Initiating* in, uint32_t spi_in, bool newest,
                               steady_clock::time_point now) {
  const auto inst = installed_.find(spi_in);
  if (inst == installed_.end()) return;
  ike::SaLifetime& life = inst->second.life;
  const ike::Expiry e = life.check(now, child_bytes(spi_in));
  if (e == ike::Expiry::none) return;
  const bool busy = in ? in->initiator->request_outstanding() : responder_.request_outstanding(sa.spi_r);
  if (busy) return;  // one request at a time (§ 2.3): the next poll
  if (e == ike::Expiry::hard) {
    ike::Bytes r = in ? in->initiator->delete_child(now, spi_in) : responder_.delete_child(sa.spi_r, spi_in, now);
    if (r.empty()) return;
    ++rekey_[ike::RekeyCounter::child_sas_expired];
    if (log_) log_("ike: " + sa.peer.str() + ": Child SA " + spi_text(spi_in) + " past its hard lifetime: deleted");
    in ? queue(*in, std::move(r)) : queue_request(sa, std::move(r));
    return;
  }
  if (!newest || !life.may_start(now)) return;
  // PFS (RFC 7296 § 1.3, § 2.17) when esp_proposals name a DH group.
  const uint16_t pfs = sa.config->pfs_group;
  ike::Bytes r = in ? in->initiator->rekey_child(now, pfs) : responder_.rekey_child(sa.spi_r, spi_in, now, pfs);
  if (r.empty()) return;
  life.started(now);
  const bool bytes = e == ike::Expiry::soft_bytes;
  ++rekey_[bytes ? ike::RekeyCounter::child_rekeys_bytes : ike::RekeyCounter::child_rekeys_time];
  if (log_)
    log_("ike: " + sa.peer.str() + ": rekeying Child SA " + spi_text(spi_in) + " (" +
         (bytes ? std::to_string(child_bytes(spi_in)) + " bytes" : std::string("soft lifetime")) + ")");
  in ? queue(*in, std::move(r)) : queue_request(sa, std::move(r));
}

void IkeService::enforce_ike(const ike::IkeSa& sa, Initiating* in, steady_clock::time_point now) {
  const std::pair<uint64_t, uint64_t> key{sa.spi_i, sa.spi_r};
  auto it = ike_lives_.find(key);
  if (it == ike_lives_.end()) {
    const PeerInfo* peer = peer_of(sa);
    const uint32_t lifetime = peer ? peer->ike_lifetime_s : 0;
    const ike::Bytes r = ike::random_bytes(4);
    // One carried on from the HA peer draws its soft point no earlier than its age (ike_lifetime.h).
    const double floor = ike::carried_fraction(sa.created, now, seconds(lifetime));
    it = ike_lives_
             .emplace(key,
                      ike::SaLifetime(sa.created, seconds(lifetime), 0,
                                      uint32_t{r[0]} << 24 | uint32_t{r[1]} << 16 | uint32_t{r[2]} << 8 | r[3], floor))
             .first;
  }
  const ike::Expiry e = it->second.check(now, 0);
  if (e == ike::Expiry::none) return;
  const bool busy = in ? in->initiator->request_outstanding() : responder_.request_outstanding(sa.spi_r);
  if (busy) return;
  if (e != ike::Expiry::hard) {
    // Soft: rekeyed by us, whichever end began it (a refused rekey again after kRekeyRetry).
    if (!it->second.may_start(now)) return;
    ike::Bytes r = in ? in->initiator->rekey_ike(now) : responder_.rekey_sa(sa.spi_r, now);
    if (r.empty()) return;
    it->second.started(now);
    ++rekey_[ike::RekeyCounter::ike_rekeys_time];
    if (log_) log_("ike: " + sa.peer.str() + ": rekeying the IKE SA of " + sa.remote_id + " (soft lifetime)");
    in ? queue(*in, std::move(r)) : queue_request(sa, std::move(r));
    return;
  }
  ike::Bytes r = in ? in->initiator->delete_sa(now) : responder_.delete_sa(sa.spi_r, now);
  if (r.empty()) return;
  ++rekey_[ike::RekeyCounter::ike_sas_expired];
  if (log_) log_("ike: " + sa.peer.str() + ": IKE SA of " + sa.remote_id + " past its hard lifetime: deleted");
  in ? queue(*in, std::move(r)) : queue_request(sa, std::move(r));
}

int64_t IkeService::ike_expires_in(const ike::IkeSa& sa, steady_clock::time_point now) const {
  const auto it = ike_lives_.find({sa.spi_i, sa.spi_r});
  if (it != ike_lives_.end()) return it->second.seconds_left(now);
  // Not polled yet (a rekey just made it): its hard lifetime is not jittered.
  if (const PeerInfo* p = peer_of(sa); p && p->ike_lifetime_s)
    return std::max<int64_t>(0, p->ike_lifetime_s - duration_cast<seconds>(now - sa.created).count());
  return -1;
}

ike::RekeyCounters IkeService::rekey_counters() const {
  ike::RekeyCounters c = rekey_;
  for (const Initiating& in : initiating_)
    if (in.initiator) {
      const ike::RekeyCounters now = rekeys_of(in.initiator->counters());
      for (size_t k = 0; k < ike::kRekeyCounters; ++k) c.v[k] += now.v[k] - in.seen_rekeys.v[k];
    }
  const ike::OwnRequestCounters& o = responder_.own_counters();
  c[ike::RekeyCounter::rekey_collisions_won] += o.collisions_won;
  c[ike::RekeyCounter::rekey_collisions_lost] += o.collisions_lost;
  c[ike::RekeyCounter::peer_child_rekeys] += responder_.counters().peer_child_rekeys;
  c[ike::RekeyCounter::peer_child_sas] += responder_.counters().peer_child_sas;
  c[ike::RekeyCounter::child_rekeys_completed] += o.child_rekeys_completed;
  c[ike::RekeyCounter::rekey_collisions] += o.collisions;
  c[ike::RekeyCounter::rekey_failures] += o.child_rekeys_refused + o.ike_rekeys_refused + o.timeouts;
  c[ike::RekeyCounter::ike_rekeys_completed] += o.ike_rekeys_completed;
  return c;
}

}  // namespace wp
