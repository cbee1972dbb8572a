// The HA pair and the IKE SAs our own initiators hold (ipsec_peers[].
// initiate; docs/ipsec.md § HA, issue #20). They travel like the
// responder's (ike_service_ha.cc), as IkeSaRecords with `initiator` set
// (SPIi ours, keys in wire order, the message-ID windows as
// ike::Initiator::ha_view leaves them), one copy per peer at the receiver:
// - the holder sends its initiator's established SA whenever its
//   sync_fingerprint changed (established, rekeyed, a message ID moved, a
//   Child SA added or deleted), its ESP marks once a second, a DELETE when
//   the SA is gone;
// - a copy whose local address we answer for now is installed into our own
//   Initiator for that peer (ike::Initiator::adopt): it answers the site's
//   requests, its next requests take the synced message IDs, DPD and our
//   lifetimes run on it, its Child SAs join the workers' table with the
//   takeover's ESP starts; no IKE_SA_INIT while it holds the SA or while a
//   copy waits (IkeService::start, initiate_standby);
// - an SA whose local address we no longer answer for is released into a
//   copy without a Delete (given back to its owner, or set aside while we
//   gave our own address up).
// Who initiates in a pair: the node that answers for ipsec_peers[].
// initiate_from (config_validate_ipsec_ha.cc makes it required with HA).
#include <cstdio>

#include "dataplane/control/ike_service.h"
#include "dataplane/ipsec/esp_replay.h"

namespace wp {
namespace {

namespace pb = waypoint::ha;
using std::chrono::steady_clock;

}  // namespace

IkeService::Initiating* IkeService::initiating_for(size_t peer) {
  for (Initiating& in : initiating_)
    if (in.peer == peer) return &in;
  return nullptr;
}

// Whether `in` holds an established SA whose address we answer for: ours to
// sync, and a record about it from the peer is stale.
bool IkeService::ha_carries(Initiating& in) const {
  return in.initiator && in.initiator->state() == ike::InitiatorState::established &&
         ha_answers_(in.local) != HaAddress::not_ours_now;
}

void IkeService::ha_receive_initiator(const pb::IkeSaRecord& rec, steady_clock::time_point now) {
  size_t peer = peers_.size();
  for (size_t i = 0; i < peers_.size(); ++i)
    if (peers_[i].name == rec.peer_config()) peer = i;
  Initiating* in = peer < peers_.size() ? initiating_for(peer) : nullptr;
  if (!in) {
    add(IkeServiceCounter::ike_ha_decode_errors);
    if (log_)
      log_("ike: HA: the peer's IKE SA " + ike::spi_text(rec.spi_i()) + "_i " + ike::spi_text(rec.spi_r()) +
           "_r: ipsec_peers has no peer \"" + rec.peer_config() + "\" with initiate here");
    return;
  }
  if (ha_carries(*in)) return;  // we hold that peer's SA now
  if (rec.kind() == pb::IkeSaRecord::DELETE) {
    auto it = ha_init_copies_.find(peer);
    if (it != ha_init_copies_.end() && it->second.sa && it->second.sa->spi_i == rec.spi_i()) {
      ha_init_copies_.erase(it);
      add(IkeServiceCounter::ike_ha_deletes_applied);
    }
    return;
  }
  HaCopy copy;
  if (!ha_decode_copy(rec, now, copy)) return;
  copy.init = {rec.nat_t(), rec.nat_local(), rec.nat_remote(), rec.newest_child()};
  ha_init_copies_[peer] = std::move(copy);
  add(IkeServiceCounter::ike_ha_sas_applied);
}

// Returns whether an initiator's SAs changed (sync_sas then follows).
bool IkeService::ha_initiator_ownership(steady_clock::time_point now) {
  bool changed = false;
  for (auto it = ha_init_copies_.begin(); it != ha_init_copies_.end();) {
    Initiating* in = initiating_for(it->first);
    HaCopy& copy = it->second;
    if (!in || !copy.sa) {
      it = ha_init_copies_.erase(it);
      continue;
    }
    const IpAddress local = ike::record_address(copy.sa->local.addr);
    const HaAddress where = ha_answers_(local);
    if (where == HaAddress::not_ours_now) {
      ++it;
      continue;
    }
    const bool taken = where == HaAddress::peers_taken_over;
    const std::string what = "IKE SA " + ike::spi_text(copy.sa->spi_i) + "_i " + ike::spi_text(copy.sa->spi_r) + "_r to " +
                             copy.sa->peer.str() + " from " + copy.sa->local.str() + " (we initiated)";
    if (in->initiator && in->initiator->state() != ike::InitiatorState::failed &&
        in->initiator->state() != ike::InitiatorState::deleted) {
      // Our own attempt or SA toward that peer is in place: keep it.
      add(IkeServiceCounter::ike_ha_install_failed);
      if (log_) log_("ike: HA: " + what + " not installed: our own initiator holds " + peers_[in->peer].name);
      it = ha_init_copies_.erase(it);
      continue;
    }
    std::map<uint32_t, ike::ChildSeq> starts;
    for (const auto& [spi_in, c] : copy.sa->children) {
      const ike::ChildSeq s = copy.seqs.count(spi_in) ? copy.seqs.at(spi_in) : ike::ChildSeq{};
      starts[spi_in] = {esp_seq_takeover(s.seq_out, kIkeHaSeqMargin, c.suite.esn), s.replay_top, s.bytes, s.born};
    }
    const size_t children = copy.sa->children.size();
    ike::InitiatorConfig c;
    c.peer = in->config;
    c.ike_suites = in->ike_suites;
    c.local = {copy.sa->local.addr, kIkePort};
    c.remote = {copy.sa->peer.addr, kIkePort};
    auto init = std::make_unique<ike::Initiator>(std::move(c), log_);
    if (in->initiator) fold_rekeys(*in);
    if (!init->adopt(std::move(copy.sa), copy.init, now)) {
      add(IkeServiceCounter::ike_ha_install_failed);
      if (log_) log_("ike: HA: " + what + " not installed");
      it = ha_init_copies_.erase(it);
      continue;
    }
    in->initiator = std::move(init);
    in->local = local;
    in->up = true;
    in->ha_taken = taken;
    in->last_keepalive = now;
    in->seen_rekeys = {};
    in->schedule.started();
    in->schedule.established();
    ha_starts_.insert(starts.begin(), starts.end());
    ha_waiting_since_.insert(copy.waiting_since.begin(), copy.waiting_since.end());
    add(taken ? IkeServiceCounter::ike_ha_taken_over : IkeServiceCounter::ike_ha_resumed);
    if (log_)
      log_("ike: HA: " + what + (taken ? " taken over" : " resumed from the peer's copy") + " with " +
           std::to_string(children) + " Child SA(s), outbound ESP numbers +" + std::to_string(kIkeHaSeqMargin));
    it = ha_init_copies_.erase(it);
    changed = true;
  }
  // An SA whose address we no longer answer for: a copy again, silently.
  for (Initiating& in : initiating_) {
    if (!in.initiator || in.initiator->state() != ike::InitiatorState::established) continue;
    if (ha_answers_(in.local) != HaAddress::not_ours_now) continue;
    const ike::IkeSa* view = in.initiator->ha_view();
    if (!view) continue;
    HaCopy copy = ha_set_aside(*view);
    copy.init = in.initiator->ha_state();
    fold_rekeys(in);
    copy.sa = in.initiator->release();
    copy.sa->config = &responder_.config().peers[in.peer];
    if (log_)
      log_("ike: HA: IKE SA " + ike::spi_text(copy.sa->spi_i) + "_i to " + peers_[in.peer].name + " " +
           (in.ha_taken ? "handed back" : "set aside") + ": we do not answer for " + copy.sa->local.str() + " now");
    add(in.ha_taken ? IkeServiceCounter::ike_ha_given_back : IkeServiceCounter::ike_ha_set_aside);
    in.initiator.reset();  // its Child SAs leave the table at the next sync_sas
    in.up = false;
    in.ha_taken = false;
    in.schedule.ended(now);  // start() stays on standby while the copy waits or the address is not ours
    ha_init_sent_.erase(in.peer);  // not gone: the peer holds it (or will), no DELETE
    ha_init_copies_[in.peer] = std::move(copy);
    changed = true;
  }
  return changed;
}

void IkeService::ha_send_initiators(pb::IkeSync& msg, bool full, bool marks, steady_clock::time_point now) {
  for (Initiating& in : initiating_) {
    if (!ha_carries(in)) continue;
    const ike::IkeSa* sa = in.initiator->ha_view();
    if (!sa || !sa->config) continue;
    const uint64_t fp = ike::sync_fingerprint(*sa);
    auto sent = ha_init_sent_.find(in.peer);
    const bool changed = sent == ha_init_sent_.end() || sent->second.fingerprint != fp;
    if (!full && !changed && !marks) continue;
    const ike::ChildSeqs seqs = ha_seqs(*sa);
    if (full || changed) {
      pb::IkeSaRecord* rec = msg.add_sas();
      ike::encode_ike_sa(*sa, ha_node_, now, seqs, *rec);
      const ike::InitiatorHaState st = in.initiator->ha_state();
      rec->set_initiator(true);
      rec->set_nat_t(st.nat_t);
      rec->set_nat_local(st.nat_local);
      rec->set_nat_remote(st.nat_remote);
      rec->set_newest_child(st.newest_child);
      ha_init_sent_[in.peer] = {sa->spi_i, sa->spi_r, fp};
      for (const auto& [spi_in, s] : seqs) ha_seq_[spi_in] = s;
      add(IkeServiceCounter::ike_ha_sas_synced);
      continue;
    }
    for (size_t n = ike::add_seq_marks(seqs, ha_seq_, msg); n > 0; --n) add(IkeServiceCounter::ike_ha_seq_synced);
  }
  for (auto it = ha_init_sent_.begin(); it != ha_init_sent_.end();) {
    Initiating* in = initiating_for(it->first);
    if (in && ha_carries(*in)) {
      ++it;
      continue;
    }
    pb::IkeSaRecord* r = msg.add_sas();
    r->set_kind(pb::IkeSaRecord::DELETE);
    r->set_initiator(true);
    r->set_peer_config(peers_[it->first].name);
    r->set_spi_i(it->second.spi_i);
    r->set_spi_r(it->second.spi_r);
    r->set_owner_node(ha_node_);
    add(IkeServiceCounter::ike_ha_deletes_synced);
    it = ha_init_sent_.erase(it);
  }
}

}  // namespace wp
