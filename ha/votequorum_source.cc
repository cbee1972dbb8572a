// Votequorum tracking; see votequorum_source.h.
#include "ha/votequorum_source.h"

#include <vector>

namespace wp::ha {

VotequorumSource::~VotequorumSource() { close(); }

bool VotequorumSource::open(std::string& error) {
  votequorum_callbacks_t cb{};
  cb.votequorum_quorum_notify_fn = notify;
  cs_error_t rc = votequorum_initialize(&handle_, &cb);
  if (rc != CS_OK)
    return error = "ha: cannot connect to votequorum (error " + std::to_string(rc) +
                   "); corosync.conf needs quorum { provider: corosync_votequorum }",
           false;
  open_ = true;
  rc = votequorum_trackstart(handle_, reinterpret_cast<uint64_t>(this), CS_TRACK_CURRENT | CS_TRACK_CHANGES);
  if (rc != CS_OK) {
    close();
    return error = "ha: votequorum_trackstart failed (error " + std::to_string(rc) + ")", false;
  }
  return true;
}

void VotequorumSource::close() {
  if (!open_) return;
  votequorum_trackstop(handle_);
  votequorum_finalize(handle_);
  open_ = false;
}

bool VotequorumSource::dispatch(TransportHandler& h) {
  if (!open_) return false;
  handler_ = &h;
  cs_error_t rc = votequorum_dispatch(handle_, CS_DISPATCH_ALL);
  handler_ = nullptr;
  if (rc == CS_OK || rc == CS_ERR_TRY_AGAIN) return true;
  votequorum_finalize(handle_);  // corosync is gone: this handle is dead
  open_ = false;
  return false;
}

void VotequorumSource::notify(votequorum_handle_t, uint64_t context, uint32_t quorate, uint32_t n,
                              votequorum_node_t nodes[]) {
  auto* self = reinterpret_cast<VotequorumSource*>(context);
  if (!self || !self->handler_) return;
  std::vector<uint32_t> members;
  for (uint32_t i = 0; i < n; ++i)
    if (nodes[i].state == VOTEQUORUM_NODESTATE_MEMBER) members.push_back(nodes[i].nodeid);
  self->handler_->on_quorum(quorate != 0, members);
}

}  // namespace wp::ha
