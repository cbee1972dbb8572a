// How the HA thread talks to its pair (docs/architecture.md § HA).
//
// Corosync CPG in production (cpg_transport.h): totally ordered multicast to
// the group, our own messages delivered back to us, membership changes with
// a reason, and votequorum's view (quorate or not, and which nodes are in
// corosync's membership) so the node acts on membership only inside the
// quorate primary component. Tests pair two HA nodes in-process with a
// transport that keeps the same contract, so the sync and takeover logic is
// tested without daemons.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace wp::ha {

struct Member {
  uint32_t node = 0;
  uint32_t pid = 0;
  bool operator==(const Member&) const = default;
};

class TransportHandler {
 public:
  virtual ~TransportHandler() = default;
  virtual void on_message(const Member& from, const void* data, size_t len) = 0;
  virtual void on_membership(const std::vector<Member>& members, const std::vector<Member>& left,
                             const std::vector<Member>& joined) = 0;
  // Votequorum's view: whether this node is in the quorate partition and the
  // node ids corosync counts as members of it. Until the first call a node
  // must assume it is not quorate.
  virtual void on_quorum(bool quorate, const std::vector<uint32_t>& members) = 0;
};

class Transport {
 public:
  enum class SendResult { sent, try_again, failed };
  virtual ~Transport() = default;
  virtual SendResult send(const std::string& bytes) = 0;
  // Delivers whatever arrived to the handler. False once the transport is
  // gone for good (corosync died): the node must act alone.
  virtual bool dispatch(TransportHandler& h) = 0;
  virtual uint32_t local_node() const = 0;
  // Event-loop hook: readable when dispatch() has work (-1: poll on a timer).
  virtual int fd() const { return -1; }
};

}  // namespace wp::ha
