// Transport over a Corosync CPG group (corosync/cpg.h).
//
// Messages go out CPG_TYPE_AGREED (total order, delivered to every member
// including us). cpg_mcast_joined answers CS_ERR_TRY_AGAIN under flow
// control; the caller keeps the message and retries, it never blocks.
// Corosync going away shows up as a dispatch error: dispatch() returns false
// and the HA node acts as if the peer were unreachable (see ha_node.h).
// Votequorum is tracked on a second connection with the same lifetime
// (votequorum_source.h); losing either is losing corosync. dispatch()
// delivers a bounded number of events per call, so the HA thread's pass
// (Acks, timers, the backlog to the workers) runs while a peer streams.
#pragma once

#include <corosync/cpg.h>

#include <string>

#include "ha/transport.h"
#include "ha/votequorum_source.h"

namespace wp::ha {

class CpgTransport : public Transport {
 public:
  ~CpgTransport() override;
  // Connects to the local corosync and joins `group`. False with `error` set.
  bool open(const std::string& group, std::string& error);
  void close();
  SendResult send(const std::string& bytes) override;
  bool dispatch(TransportHandler& h) override;
  uint32_t local_node() const override { return local_node_; }
  int fd() const override { return fd_; }

 private:
  static constexpr int kMaxDispatch = 64;  // events per dispatch(): the HA thread's pass stays short
  static void deliver(cpg_handle_t, const cpg_name*, uint32_t nodeid, uint32_t pid, void* msg, size_t len);
  static void confchg(cpg_handle_t, const cpg_name*, const cpg_address* members, size_t n_members,
                      const cpg_address* left, size_t n_left, const cpg_address* joined, size_t n_joined);

  cpg_handle_t handle_ = 0;
  bool open_ = false;
  int fd_ = -1;
  uint32_t local_node_ = 0;
  cpg_name group_{};
  TransportHandler* handler_ = nullptr;  // set for the duration of dispatch()
  VotequorumSource quorum_;
};

}  // namespace wp::ha
