// The initiator's side of the HA pair (docs/ipsec.md § HA): an IKE SA we
// initiated (ipsec_peers[].initiate) travels to the HA peer like a
// responder SA (ike_sa_sync.h) and is carried on there without a new IKE
// exchange. The IkeSa holds SPIs, keys (wire order: we are the SA's
// initiator, RFC 7296 § 2.14), endpoints and Child SAs; what lives in the
// Initiator itself, the two message-ID windows (§ 2.3) and the NAT-T state
// (§ 2.23), is copied into the IkeSa's window fields (ha_view) and back
// (adopt). Control thread only; no key is logged.
#include "dataplane/control/ike/ike_initiator.h"

namespace wp::ike {

const IkeSa* Initiator::ha_view() {
  if (state_ != InitiatorState::established || !sa_ || sa_->state != IkeSaState::established) return nullptr;
  sa_->next_request_id = peer_next_id_;
  sa_->has_response = !peer_last_answer_.empty();
  sa_->last_response_id = peer_next_id_ - 1;
  if (sa_->last_response != peer_last_answer_) sa_->last_response = peer_last_answer_;
  sa_->own_next_request_id = window_.next_id();
  return sa_.get();
}

InitiatorHaState Initiator::ha_state() const {
  InitiatorHaState st;
  st.nat_t = nat_t_;
  st.nat_local = nat_local_;
  st.nat_remote = nat_remote_;
  const ChildSa* c = child();
  st.newest_child = c ? c->spi_in : 0;
  return st;
}

bool Initiator::adopt(std::unique_ptr<IkeSa> sa, const InitiatorHaState& st, Clock::time_point now) {
  if (!sa || sa->state != IkeSaState::established) return false;
  if (state_ == InitiatorState::sa_init_sent || state_ == InitiatorState::auth_sent ||
      state_ == InitiatorState::established)
    return false;
  sa_ = std::move(sa);
  sa_->config = &config_.peer;
  state_ = InitiatorState::established;
  failure_.reset();
  dh_.reset();
  cookie_.clear();
  peer_next_id_ = sa_->next_request_id;
  peer_last_answer_ = sa_->has_response ? sa_->last_response : Bytes{};
  window_.reset(sa_->own_next_request_id);
  outstanding_liveness_ = outstanding_delete_ = outstanding_rekey_ = outstanding_ike_rekey_ = false;
  olds_.clear();
  peer_rekeyed_.reset();
  collided_ike_.reset();
  deleting_child_ = 0;
  nat_t_ = st.nat_t;
  nat_local_ = st.nat_local;
  nat_remote_ = st.nat_remote;
  newest_child_ = sa_->children.count(st.newest_child) ? st.newest_child
                  : sa_->children.empty()                ? 0
                                                         : sa_->children.rbegin()->first;
  last_inbound_ = now;
  log_("ike: " + config_.remote.str() + ": initiator: IKE SA carried on from the HA copy (our next request " +
       std::to_string(window_.next_id()) + ", the peer's " + std::to_string(peer_next_id_) + ")");
  return true;
}

std::unique_ptr<IkeSa> Initiator::release() {
  if (!ha_view()) return nullptr;
  std::unique_ptr<IkeSa> out = std::move(sa_);
  out->config = nullptr;  // ours points into this initiator's config
  state_ = InitiatorState::idle;
  window_.reset(0);
  peer_next_id_ = 0;
  peer_last_answer_.clear();
  outstanding_liveness_ = outstanding_delete_ = outstanding_rekey_ = outstanding_ike_rekey_ = false;
  olds_.clear();
  peer_rekeyed_.reset();
  collided_ike_.reset();
  deleting_child_ = 0;
  return out;
}

}  // namespace wp::ike
