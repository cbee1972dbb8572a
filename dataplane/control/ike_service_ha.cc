// The IKE service's side of the HA pair (docs/ipsec.md § HA); see
// ike_service.h and ike/ike_sa_sync.h.
//
// Level-triggered, run after every datagram and every poll():
// 1. the peer's IkeSync messages (from the HA thread, IkeHaChannel) become
//    copies: an IKE SA record replaces the copy, a DELETE forgets it, a
//    sequence mark updates a Child SA's numbers;
// 2. a copy whose local address we answer for now (HaDataplane: the peer's
//    address taken over, or our own once we hold it again after a restart)
//    is installed in the responder and, through sync_sas, in the workers'
//    SA table with its outbound counter at the synced number + margin and
//    its replay window at the synced top; an installed copy whose address
//    we stopped answering for (the peer took it back) is removed again,
//    silently: no Delete to the site, no DELETE to the peer, which now
//    holds the state we synced;
// 3. every SA we hold whose sync_fingerprint changed goes to the peer
//    whole, one that is gone as a DELETE; the workers' sequence marks once
//    a second; everything when the HA thread asks for a full dump.
#include <cstdio>
#include <set>

#include "dataplane/control/ike_service.h"
#include "dataplane/ipsec/esp_replay.h"

namespace wp {
namespace {

namespace pb = waypoint::ha;
using std::chrono::steady_clock;

}  // namespace

void IkeService::set_ha(IkeHaChannel* channel, uint32_t node, const EspSeqMarks* marks, AnswersFn answers) {
  ha_ = channel;
  ha_node_ = node;
  ha_marks_ = marks;
  ha_answers_ = std::move(answers);
  if (ha_) ha_->attached.store(true, std::memory_order_release);
}

// Not while the HA pair's address is the peer's now: the SA is set aside at this poll's ha_step
// and the peer may carry it already, so a request of ours (a liveness check, a rekey, a Delete)
// would take a message ID the peer's copy does not know of.
bool IkeService::ha_answers_for(const ike::IkeSa& sa) const {
  return !ha_ || !ha_answers_ || ha_answers_(ike::record_address(sa.local.addr)) != HaAddress::not_ours_now;
}

const char* IkeService::ha_role(const ike::IkeSa& sa) const {
  if (!ha_) return "none";
  auto it = ha_installed_.find(sa.spi_r);
  return it != ha_installed_.end() && it->second ? "taken over" : "own";
}

IkeService::HaCopy IkeService::ha_set_aside(const ike::IkeSa& sa) {
  HaCopy copy;
  copy.seqs = ha_seqs(sa);
  copy.node = ha_node_;
  for (const auto& [spi_in, c] : sa.children) {
    ha_starts_.erase(spi_in);
    ha_seq_.erase(spi_in);
    ha_waiting_since_.erase(spi_in);
    if (const auto inst = installed_.find(spi_in); c.seal_deferred && inst != installed_.end())
      copy.waiting_since[spi_in] = inst->second.since;  // still waiting for the site's switch
  }
  return copy;
}

bool IkeService::ha_step(steady_clock::time_point now) {
  if (!ha_ || !ha_answers_) return false;
  const auto before = counters_;
  ha_receive(now);
  const bool responder_changed = ha_ownership(now);
  if (ha_initiator_ownership(now) || responder_changed) sync_sas(now);
  ha_send(now);
  return counters_ != before;  // the document shows copies, roles and counters
}

void IkeService::ha_receive(steady_clock::time_point now) {
  for (const std::string& body : ha_->take_from_peer()) {
    pb::IkeSync msg;
    if (!msg.ParseFromString(body)) {
      add(IkeServiceCounter::ike_ha_decode_errors);
      continue;
    }
    for (const pb::IkeSaRecord& rec : msg.sas()) {
      if (rec.initiator()) {
        ha_receive_initiator(rec, now);
        continue;
      }
      const uint64_t spi_r = rec.spi_r();
      if (ha_installed_.count(spi_r) || responder_.sas().count(spi_r)) continue;  // we answer for it now
      if (rec.kind() == pb::IkeSaRecord::DELETE) {
        if (ha_copies_.erase(spi_r)) add(IkeServiceCounter::ike_ha_deletes_applied);
        continue;
      }
      HaCopy copy;
      if (!ha_decode_copy(rec, now, copy)) continue;
      ha_copies_[spi_r] = std::move(copy);
      add(IkeServiceCounter::ike_ha_sas_applied);
    }
    auto mark = [](HaCopy& copy, const pb::IkeSeqMark& m) {
      if (auto it = copy.seqs.find(m.spi_in()); it != copy.seqs.end()) {
        it->second.seq_out = std::max(it->second.seq_out, m.seq_out());
        it->second.replay_top = std::max(it->second.replay_top, m.replay_top());
        it->second.bytes = std::max(it->second.bytes, m.bytes());
      }
    };
    for (const pb::IkeSeqMark& m : msg.seqs()) {
      for (auto& [spi_r, copy] : ha_copies_) mark(copy, m);
      for (auto& [peer, copy] : ha_init_copies_) mark(copy, m);
    }
  }
}

bool IkeService::ha_decode_copy(const pb::IkeSaRecord& rec, steady_clock::time_point now, HaCopy& copy) {
  std::string error;
  copy.sa = ike::decode_ike_sa(rec, responder_.config(), now, copy.seqs, error);
  if (!copy.sa) {
    add(IkeServiceCounter::ike_ha_decode_errors);
    if (log_) log_("ike: HA: the peer's " + error);
    return false;
  }
  copy.node = rec.owner_node();
  return true;
}

// Returns whether the responder's SAs changed (sync_sas then follows).
bool IkeService::ha_ownership(steady_clock::time_point now) {
  bool changed = false;
  for (auto& [spi_r, copy] : ha_copies_) {
    if (!copy.sa) continue;
    const HaAddress where = ha_answers_(ike::record_address(copy.sa->local.addr));
    if (where == HaAddress::not_ours_now) continue;
    const bool taken = where == HaAddress::peers_taken_over;  // else: ours, handed back after our restart
    std::map<uint32_t, ike::ChildSeq> starts;
    for (const auto& [spi_in, c] : copy.sa->children) {
      const ike::ChildSeq s = copy.seqs.count(spi_in) ? copy.seqs.at(spi_in) : ike::ChildSeq{};
      starts[spi_in] = {esp_seq_takeover(s.seq_out, kIkeHaSeqMargin, c.suite.esn), s.replay_top, s.bytes, s.born};
    }
    const std::string what = "IKE SA " + ike::spi_text(copy.sa->spi_i) + "_i " + ike::spi_text(spi_r) + "_r of " +
                             copy.sa->peer.str() + " at " + copy.sa->local.str();
    const size_t children = copy.sa->children.size();
    if (!responder_.adopt(std::move(copy.sa), now)) {
      // Our own negotiation holds its SPIs: keep ours, drop the copy.
      add(IkeServiceCounter::ike_ha_install_failed);
      if (log_) log_("ike: HA: " + what + " not installed: its SPIs are already held here");
      continue;
    }
    ha_starts_.insert(starts.begin(), starts.end());
    ha_waiting_since_.insert(copy.waiting_since.begin(), copy.waiting_since.end());
    ha_installed_[spi_r] = taken;
    add(taken ? IkeServiceCounter::ike_ha_taken_over : IkeServiceCounter::ike_ha_resumed);
    if (log_)
      log_("ike: HA: " + what + (taken ? " taken over" : " resumed from the peer's copy") + " with " +
           std::to_string(children) + " Child SA(s), outbound ESP numbers +" + std::to_string(kIkeHaSeqMargin));
    changed = true;
  }
  for (auto it = ha_copies_.begin(); it != ha_copies_.end();)
    it = it->second.sa || ha_installed_.count(it->first) ? std::next(it) : ha_copies_.erase(it);
  for (auto it = ha_installed_.begin(); it != ha_installed_.end();) {
    if (responder_.sas().count(it->first)) {
      ++it;
      continue;
    }
    ha_copies_.erase(it->first);  // deleted or rekeyed here: an SA of ours now, synced as such
    it = ha_installed_.erase(it);
  }
  // Every SA whose address we no longer answer for is set aside as a copy,
  // silently (no Delete to the site, no DELETE to the peer): a taken-over
  // one because its owner claimed its address back after our resync, one
  // of our own because we gave our address up (quorum or corosync lost) and
  // the peer may be carrying it; the peer's newer record replaces the copy,
  // and we resume from it once we answer for the address again.
  std::vector<uint64_t> away;
  for (const auto& [spi_r, sa] : responder_.sas())
    if (sa->state == ike::IkeSaState::established && sa->config &&
        ha_answers_(ike::record_address(sa->local.addr)) == HaAddress::not_ours_now)
      away.push_back(spi_r);
  for (const uint64_t spi_r : away) {
    const ike::IkeSa& sa = *responder_.sas().at(spi_r);
    auto inst = ha_installed_.find(spi_r);
    const bool taken = inst != ha_installed_.end() && inst->second;
    HaCopy copy = ha_set_aside(sa);
    copy.sa = responder_.release(spi_r);
    if (log_)
      log_("ike: HA: IKE SA " + ike::spi_text(spi_r) + "_r " + (taken ? "handed back" : "set aside") +
           ": we do not answer for " + copy.sa->local.str() + " now");
    add(taken ? IkeServiceCounter::ike_ha_given_back : IkeServiceCounter::ike_ha_set_aside);
    ha_copies_[spi_r] = std::move(copy);
    ha_sent_.erase(spi_r);  // not gone: the peer holds it (or will), no DELETE
    if (inst != ha_installed_.end()) ha_installed_.erase(inst);
    changed = true;
  }
  return changed;
}

// The numbers of `sa`'s Child SAs as the workers published them, never
// below where they started (a taken-over SA the site has not used yet),
// with their lifetimes' start and bytes.
ike::ChildSeqs IkeService::ha_seqs(const ike::IkeSa& sa) {
  ike::ChildSeqs out;
  for (const auto& [spi_in, c] : sa.children) {
    ike::ChildSeq s;
    if (auto st = ha_starts_.find(spi_in); st != ha_starts_.end()) s = st->second;
    EspSaBook::Slots slots;
    if (ha_marks_ && book_.slots(spi_in, slots)) {
      s.seq_out = std::max(s.seq_out, ha_marks_->read(slots.out, slots.out_generation));
      s.replay_top = std::max(s.replay_top, ha_marks_->read(slots.in, slots.in_generation));
    }
    if (const auto inst = installed_.find(spi_in); inst != installed_.end()) {
      s.born = inst->second.life.start();
      s.bytes = std::max(s.bytes, child_bytes(spi_in));
    }
    out[spi_in] = s;
  }
  return out;
}

void IkeService::ha_send(steady_clock::time_point now) {
  const uint32_t dump = ha_->dump_req.load(std::memory_order_acquire);
  const bool full = dump != ha_->dump_done.load(std::memory_order_relaxed);
  const bool marks = now - ha_last_seq_ >= kIkeHaSeqInterval;
  if (marks) ha_last_seq_ = now;
  pb::IkeSync msg;
  msg.set_full(full);
  for (const auto& [spi_r, sa] : responder_.sas()) {
    if (sa->state != ike::IkeSaState::established || !sa->config) continue;
    const uint64_t fp = ike::sync_fingerprint(*sa);
    auto sent = ha_sent_.find(spi_r);
    const bool changed = sent == ha_sent_.end() || sent->second != fp;
    if (!full && !changed && !marks) continue;
    const ike::ChildSeqs seqs = ha_seqs(*sa);
    if (full || changed) {
      ike::encode_ike_sa(*sa, ha_node_, now, seqs, *msg.add_sas());
      ha_sent_[spi_r] = fp;
      for (const auto& [spi_in, s] : seqs) ha_seq_[spi_in] = s;
      add(IkeServiceCounter::ike_ha_sas_synced);
      continue;
    }
    for (size_t n = ike::add_seq_marks(seqs, ha_seq_, msg); n > 0; --n) add(IkeServiceCounter::ike_ha_seq_synced);
  }
  for (auto it = ha_sent_.begin(); it != ha_sent_.end();) {
    auto sa = responder_.sas().find(it->first);
    if (sa != responder_.sas().end() && sa->second->state == ike::IkeSaState::established) {
      ++it;
      continue;
    }
    pb::IkeSaRecord* r = msg.add_sas();
    r->set_kind(pb::IkeSaRecord::DELETE);
    r->set_spi_r(it->first);
    r->set_owner_node(ha_node_);
    add(IkeServiceCounter::ike_ha_deletes_synced);
    it = ha_sent_.erase(it);
  }
  ha_send_initiators(msg, full, marks, now);
  forget_gone_children();
  if (msg.sas_size() || msg.seqs_size() || full) ha_->to_peer(msg.SerializeAsString());
  if (full) ha_->dump_done.store(dump, std::memory_order_release);
}

// What HA keeps per Child SA (the numbers the peer last heard, where a taken-over one started)
// goes with the Child SA: rekeyed away, deleted, or its IKE SA gone.
void IkeService::forget_gone_children() {
  if (ha_seq_.empty() && ha_starts_.empty()) return;
  std::set<uint32_t> live;
  auto add_children = [&live](const ike::IkeSa& sa) {
    for (const auto& [spi_in, c] : sa.children) live.insert(spi_in);
  };
  for (const auto& [spi_r, sa] : responder_.sas()) add_children(*sa);
  for (const Initiating& in : initiating_)
    if (in.initiator && in.initiator->sa()) add_children(*in.initiator->sa());
  std::erase_if(ha_seq_, [&live](const auto& e) { return !live.count(e.first); });
  std::erase_if(ha_starts_, [&live](const auto& e) { return !live.count(e.first); });
}

}  // namespace wp
