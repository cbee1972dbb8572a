// Membership, quorum and address ownership of the HA node; see ha_node.h.
//
// Who answers for which address is decided here and nowhere else: the
// control thread only reports gratuitous ARPs it saw (with their epochs) and
// announces what HaDataplane says we hold.
#include <algorithm>

#include "ha/ha_node.h"

namespace wp::ha {
namespace {
using C = HaStatus::Counter;
}  // namespace

void HaNode::on_membership(const std::vector<Member>& members, const std::vector<Member>& left,
                           const std::vector<Member>&) {
  bool peer_now = false;
  for (const Member& m : members)
    if (m.node != settings_.node_id) {
      peer_now = true;
      peer_node_ = m.node;
    }
  bool was = peer_present_;
  peer_present_ = peer_now;
  if (joined_ && was == peer_now) return publish_view();
  if (peer_now) return peer_joined();
  for (const Member& m : left)
    if (joined_ && m.node != settings_.node_id) ha_log("peer node " + std::to_string(m.node) + " left the group");
  peer_left_ = joined_ && was;
  found_alone();
}

// Both in the group (our join, or the peer's): exchange full state; each side
// claims its own addresses once it applied the other's. A takeover not
// finished yet is called off (membership can flap while corosync re-forms its
// ring); a finished one lasts until the peer's Takeback.
void HaNode::peer_joined() {
  if (takeover_pending_) {
    takeover_pending_ = false;
    if (!shared_.ha.peer_taken.load()) {
      shared_.ha.adopt_peer.store(false, std::memory_order_release);
      shared_.ha.ownership_gen.fetch_add(1, std::memory_order_acq_rel);
    }
  }
  ha_log("peer node " + std::to_string(peer_node_) + (joined_ ? " joined" : " present") +
         ": exchanging full state before claiming our addresses");
  joined_ = true;
  state_ = State::syncing;
  resync_in_ = ResyncTracker{};
  claim_pending_ = false;
  resync_in_started_ms_ = now_ms_;
  begin_reconcile();
  resend_unacked();
  start_resync_out();
  publish_view();
}

void HaNode::found_alone() {
  joined_ = true;
  state_ = State::alone;
  resync_in_ = ResyncTracker{};
  claim_pending_ = false;
  alone_since_ms_ = now_ms_;
  decide_alone();
  publish_view();
}

// Alone in the group: take our own and the peer's addresses only inside the
// quorate partition, and only once the peer is really gone: it left our
// group, or its corosync is not in our membership, or it stayed out of the
// group for the join grace.
void HaNode::decide_alone() {
  if (state_ != State::alone && state_ != State::unquorate) return;  // not alone, or we yielded
  if (!joined_ || peer_present_ || !transport_ || takeover_pending_ || shared_.ha.peer_taken.load()) return;
  if (!quorate_) {
    if (state_ != State::unquorate)
      ha_log(std::string(peer_left_ ? "the peer left" : "alone in the group") +
             " but not quorate: taking nothing over until corosync is quorate or the peer is back");
    state_ = State::unquorate;
    return publish_view();
  }
  if (!peer_left_ && peer_in_quorum_ && now_ms_ - alone_since_ms_ < settings_.peer_join_grace_ms) return;
  ha_log(peer_left_ ? "peer left the quorate group: taking over its addresses"
                    : "alone in the quorate group (peer absent): taking our own and the peer's addresses");
  state_ = State::alone;
  quorum_lost_ms_ = 0;
  if (!shared_.ha.own_held.exchange(true, std::memory_order_acq_rel)) {
    next_epoch();
    shared_.ha.announce_gen.fetch_add(1, std::memory_order_acq_rel);
  }
  begin_takeover();
  publish_view();
}

void HaNode::on_quorum(bool quorate, const std::vector<uint32_t>& members) {
  peer_in_quorum_ = std::any_of(members.begin(), members.end(), [&](uint32_t n) { return n != settings_.node_id; });
  bool was = quorate_;
  quorate_ = quorate;
  if (was && !quorate) lose_quorum();
  if (!was && quorate) {
    ha_log("corosync is quorate (" + std::to_string(members.size()) + " node(s) in the membership)");
    quorum_lost_ms_ = 0;
    decide_alone();
  }
  publish_view();
}

// Outside the primary component the peer may be quorate and carrying our
// addresses: its are given up at once, ours after unquorate_release_ms (a
// membership change that settles within a token round keeps our traffic).
void HaNode::lose_quorum() {
  status_.add(C::quorum_lost);
  ha_log("lost quorum: giving up the peer's addresses now and our own in " +
         std::to_string(settings_.unquorate_release_ms) + " ms unless quorum returns");
  give_up_peer_addresses();
  quorum_lost_ms_ = now_ms_;
  if (!peer_present_) state_ = State::unquorate;
}

void HaNode::step_quorum() {
  if (!quorate_ && quorum_lost_ms_ && now_ms_ - quorum_lost_ms_ >= settings_.unquorate_release_ms) {
    quorum_lost_ms_ = 0;
    if (shared_.ha.own_held.exchange(false, std::memory_order_acq_rel)) {
      next_epoch();
      ha_log("still not quorate: no longer answering for our own addresses");
      publish_view();
    }
  }
  if (state_ == State::alone && !takeover_pending_ && !shared_.ha.peer_taken.load()) decide_alone();
}

// Gratuitous ARPs the control thread saw from another node, by epoch: the
// peer's owner announcing its address after our takeover means it is alive
// and serving it, so we yield; our address announced as taken over while we
// are quorate and hold it is defended with a newer epoch.
void HaNode::step_defense() {
  uint64_t owner = shared_.ha.owner_claim_epoch.load(std::memory_order_acquire);
  uint64_t taker = shared_.ha.takeover_claim_epoch.load(std::memory_order_acquire);
  epoch_ = std::max({epoch_, owner, taker});
  if (owner > taken_epoch_ && (shared_.ha.peer_taken.load() || takeover_pending_)) {
    status_.add(C::ownership_yields);
    ha_log("the peer announces its own addresses with epoch " + std::to_string(owner) + " (ours " +
           std::to_string(taken_epoch_) + "): it is alive, yielding them");
    give_up_peer_addresses();
    state_ = State::active;  // serving our own; the peer's stay its own until the group changes
    publish_view();
  }
  if (taker > defended_epoch_) {
    defended_epoch_ = taker;
    if (!quorate_ || !shared_.ha.own_held.load()) return;
    status_.add(C::address_defenses);
    ha_log("our addresses announced as taken over (epoch " + std::to_string(taker) + "): defending them with epoch " +
           std::to_string(next_epoch()));
    shared_.ha.announce_gen.fetch_add(1, std::memory_order_acq_rel);
  }
}

uint64_t HaNode::next_epoch() {
  ++epoch_;
  shared_.ha.epoch.store(epoch_, std::memory_order_release);
  return epoch_;
}

void HaNode::give_up_peer_addresses() {
  bool had = takeover_pending_ || shared_.ha.peer_taken.load() || shared_.ha.adopt_peer.load();
  takeover_pending_ = false;
  if (!had) return;
  shared_.ha.peer_taken.store(false, std::memory_order_release);
  shared_.ha.adopt_peer.store(false, std::memory_order_release);
  shared_.ha.ownership_gen.fetch_add(1, std::memory_order_acq_rel);
  next_epoch();
}

// The takeover's epoch is fixed when it begins, above every claim seen so far:
// an owner's announcement from before it must not call it off.
void HaNode::begin_takeover() {
  epoch_ = std::max({epoch_, shared_.ha.owner_claim_epoch.load(std::memory_order_acquire),
                     shared_.ha.takeover_claim_epoch.load(std::memory_order_acquire)});
  taken_epoch_ = next_epoch();
  shared_.ha.adopt_peer.store(true, std::memory_order_release);
  takeover_gen_ = shared_.ha.ownership_gen.fetch_add(1, std::memory_order_acq_rel) + 1;
  takeover_pending_ = true;
  takeover_started_ms_ = now_ms_;
}

// Addresses only after every worker applied what the peer sent and made its
// sessions ours: a packet to a taken-over address must find its session.
void HaNode::step_takeover() {
  if (!takeover_pending_ || !inbound_idle()) return;
  for (uint32_t w = 0; w < shared_.workers; ++w)
    if (static_cast<int32_t>(shared_.ha.ownership_seen[w].load(std::memory_order_acquire) - takeover_gen_) < 0) return;
  takeover_pending_ = false;
  shared_.ha.peer_taken.store(true, std::memory_order_release);
  shared_.ha.own_held.store(true, std::memory_order_release);
  shared_.ha.announce_gen.fetch_add(1, std::memory_order_acq_rel);
  status_.add(C::takeovers);
  status_.last_takeover_ms.store(now_ms_ - takeover_started_ms_, std::memory_order_relaxed);
  ha_log("took over the peer's addresses (epoch " + std::to_string(taken_epoch_) + ", " +
         std::to_string(now_ms_ - takeover_started_ms_) + " ms after the peer left)");
  publish_view();
}

// After the peer's resync is applied, answer for our own addresses again and
// tell the peer to stop (preempt), with an epoch newer than its takeover.
void HaNode::step_claim() {
  if (!claim_pending_ || !inbound_idle() || !transport_) return;
  claim_pending_ = false;
  uint64_t took = now_ms_ - resync_in_started_ms_;
  status_.last_resync_ms.store(took, std::memory_order_relaxed);
  ha_log("resync from the peer applied: " + std::to_string(status_.last_resync_sessions.load()) + " sessions in " +
         std::to_string(took) + " ms");
  if (!settings_.preempt) {
    state_ = State::standby;
    return publish_view();
  }
  // Sent even when we already answer for our addresses (we were alone for a
  // moment while membership flapped): the peer may hold them too.
  if (!shared_.ha.own_held.exchange(true, std::memory_order_acq_rel)) ha_log("answering for our own addresses again");
  next_epoch();
  shared_.ha.announce_gen.fetch_add(1, std::memory_order_acq_rel);
  status_.add(C::claims);
  pb::HaMessage m;
  m.mutable_takeback();
  send(m);
  state_ = State::active;
  publish_view();
}

void HaNode::release_peer_addresses(uint64_t claim_epoch) {
  if (!peer_present_) return;  // a Takeback from before the peer left
  if (shared_.ha.peer_taken.load() && claim_epoch <= taken_epoch_) {
    status_.add(C::stale_messages);
    ha_log("ignoring a Takeback with epoch " + std::to_string(claim_epoch) + ", older than our takeover (" +
           std::to_string(taken_epoch_) + ")");
    return;
  }
  takeover_pending_ = false;
  if (!shared_.ha.peer_taken.load() && !shared_.ha.adopt_peer.load()) return;
  give_up_peer_addresses();
  status_.add(C::handbacks);
  state_ = State::active;
  ha_log("peer took its addresses back");
  publish_view();
}

void HaNode::transport_lost() {
  if (!transport_) return;
  transport_.reset();
  status_.add(C::transport_lost);
  ha_log("lost corosync: giving up all addresses until we rejoin and resync");
  shared_.ha.own_held.store(false);
  give_up_peer_addresses();
  joined_ = false;
  peer_present_ = peer_left_ = false;
  quorate_ = peer_in_quorum_ = false;
  quorum_lost_ms_ = 0;
  takeover_pending_ = claim_pending_ = false;
  resync_out_active_ = resync_out_finishing_ = false;
  encoder_.set_peer_present(false);
  encoder_.reset();
  state_ = State::connecting;
  last_connect_try_ms_ = now_ms_;
  publish_view();
}

void HaNode::check_split_brain() {
  uint64_t arps = shared_.ha.split_brain_arps.load(std::memory_order_relaxed);
  if (arps == split_brain_arps_seen_) return;
  split_brain_arps_seen_ = arps;
  if (peer_present_) return;  // a hand-back in flight, not a split
  status_.add(C::split_brain_detected);
  if (now_ms_ - last_split_log_ms_ >= 1000) {
    last_split_log_ms_ = now_ms_;
    ha_log("SPLIT BRAIN: the peer announces an address we hold but is not in our CPG group (ring link down?); "
           "the older ownership epoch yields");
  }
}

void HaNode::publish_view() {
  static constexpr const char* kStates[] = {"connecting", "syncing", "active", "standby", "alone", "unquorate"};
  HaStatus::View v;
  v.node_id = settings_.node_id;
  v.state = kStates[static_cast<int>(state_)];
  v.quorate = quorate_;
  v.epoch = epoch_;
  v.members.push_back(settings_.node_id);
  if (peer_present_) v.members.push_back(peer_node_);
  v.peer_present = peer_present_;
  v.own_held = shared_.ha.own_held.load();
  v.peer_taken = shared_.ha.peer_taken.load();
  const RouterModel& rm = model();
  for (const InterfaceModel& i : rm.interfaces)
    v.roles.emplace_back(format_ipv4(i.addr), v.own_held ? "own, active" : "own, not answering");
  for (const HaAddress& a : shared_.ha.peer_addresses)
    v.roles.emplace_back(format_ipv4(a.addr), v.peer_taken ? "peer's, taken over" : "peer's");
  status_.set_view(std::move(v));
}

}  // namespace wp::ha
