// Corosync CPG transport; see cpg_transport.h.
#include "ha/cpg_transport.h"

#include <sys/uio.h>

#include <cstring>

namespace wp::ha {
namespace {

std::vector<Member> members_of(const cpg_address* a, size_t n) {
  std::vector<Member> out;
  for (size_t i = 0; i < n; ++i) out.push_back({a[i].nodeid, a[i].pid});
  return out;
}

}  // namespace

CpgTransport::~CpgTransport() { close(); }

bool CpgTransport::open(const std::string& group, std::string& error) {
  cpg_model_v1_data_t model{};
  model.model = CPG_MODEL_V1;
  model.cpg_deliver_fn = deliver;
  model.cpg_confchg_fn = confchg;
  cs_error_t rc = cpg_model_initialize(&handle_, CPG_MODEL_V1, reinterpret_cast<cpg_model_data_t*>(&model), this);
  if (rc != CS_OK)
    return error = "ha: cannot connect to corosync (cpg_model_initialize error " + std::to_string(rc) +
                   "); is corosync running in this network namespace?",
           false;
  open_ = true;
  unsigned int node = 0;
  if (cpg_local_get(handle_, &node) == CS_OK) local_node_ = node;
  group_.length = static_cast<uint32_t>(group.size());
  std::memcpy(group_.value, group.data(), group.size());
  for (int attempt = 0; attempt < 50; ++attempt) {
    rc = cpg_join(handle_, &group_);
    if (rc != CS_ERR_TRY_AGAIN) break;
    struct timespec ts {
      0, 20 * 1000 * 1000
    };
    nanosleep(&ts, nullptr);
  }
  if (rc != CS_OK) {
    close();
    return error = "ha: cannot join CPG group \"" + group + "\" (error " + std::to_string(rc) + ")", false;
  }
  cpg_fd_get(handle_, &fd_);
  if (!quorum_.open(error)) {
    close();
    return false;
  }
  return true;
}

void CpgTransport::close() {
  quorum_.close();
  if (!open_) return;
  cpg_leave(handle_, &group_);
  cpg_finalize(handle_);
  open_ = false;
  fd_ = -1;
}

Transport::SendResult CpgTransport::send(const std::string& bytes) {
  if (!open_) return SendResult::failed;
  iovec iov{const_cast<char*>(bytes.data()), bytes.size()};
  cs_error_t rc = cpg_mcast_joined(handle_, CPG_TYPE_AGREED, &iov, 1);
  if (rc == CS_OK) return SendResult::sent;
  return rc == CS_ERR_TRY_AGAIN ? SendResult::try_again : SendResult::failed;
}

bool CpgTransport::dispatch(TransportHandler& h) {
  if (!open_) return false;
  handler_ = &h;
  // #17: at most kMaxDispatch events a call. CS_DISPATCH_ALL returns only
  // once the queue runs dry, and a peer that sends faster than we apply
  // kept it from ever running dry: one call delivered a whole 1 M-session
  // resync (8.6 s) while the HA thread's clock, Acks, backlog and timers
  // stood still (bench_ha timed that resync as 44 ms).
  cs_error_t rc = CS_OK;
  for (int i = 0; i < kMaxDispatch && rc == CS_OK; ++i) rc = cpg_dispatch(handle_, CS_DISPATCH_ONE_NONBLOCKING);
  handler_ = nullptr;
  if ((rc == CS_OK || rc == CS_ERR_TRY_AGAIN) && quorum_.dispatch(h)) return true;
  quorum_.close();
  cpg_finalize(handle_);  // corosync is gone: this handle is dead
  open_ = false;
  fd_ = -1;
  return false;
}

void CpgTransport::deliver(cpg_handle_t handle, const cpg_name*, uint32_t nodeid, uint32_t pid, void* msg, size_t len) {
  void* ctx = nullptr;
  cpg_context_get(handle, &ctx);
  auto* self = static_cast<CpgTransport*>(ctx);
  if (self && self->handler_) self->handler_->on_message({nodeid, pid}, msg, len);
}

void CpgTransport::confchg(cpg_handle_t handle, const cpg_name*, const cpg_address* members, size_t n_members,
                           const cpg_address* left, size_t n_left, const cpg_address* joined, size_t n_joined) {
  void* ctx = nullptr;
  cpg_context_get(handle, &ctx);
  auto* self = static_cast<CpgTransport*>(ctx);
  if (self && self->handler_)
    self->handler_->on_membership(members_of(members, n_members), members_of(left, n_left),
                                  members_of(joined, n_joined));
}

}  // namespace wp::ha
