// Votequorum tracking (corosync/votequorum.h) beside the CPG connection.
//
// CPG membership alone cannot tell a peer that died from a corosync that has
// just restarted and formed a one-node ring of its own: both look like "the
// peer left". Votequorum can: with `two_node: 1` and `wait_for_all: 1` a
// restarted node is not quorate until it has seen its peer again, while the
// survivor of a real failure stays quorate (corosync's votequorum(5), "two
// node clusters"). Changes are delivered through TransportHandler::on_quorum.
#pragma once

#include <corosync/votequorum.h>

#include <string>

#include "ha/transport.h"

namespace wp::ha {

class VotequorumSource {
 public:
  ~VotequorumSource();
  // Connects and starts tracking (current state first, then changes).
  bool open(std::string& error);
  void close();
  // Delivers pending quorum changes. False once corosync is gone.
  bool dispatch(TransportHandler& h);

 private:
  static void notify(votequorum_handle_t, uint64_t context, uint32_t quorate, uint32_t n, votequorum_node_t nodes[]);

  votequorum_handle_t handle_ = 0;
  bool open_ = false;
  TransportHandler* handler_ = nullptr;  // set for the duration of dispatch()
};

}  // namespace wp::ha
