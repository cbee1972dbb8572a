// What the peer has acknowledged of the sessions we replicate (proto/ha.proto Ack).
//
// Every message that carries session ops (a live batch or a resync chunk) is
// kept, as the bytes that went out, until the peer's HA thread acknowledges
// it. Acks are cumulative: CPG delivers in one total order, so an Ack for
// sequence N covers every earlier message of this incarnation. Whatever is
// still unacknowledged when the pair re-forms (our corosync came back, or the
// peer rejoined) is sent again before anything else: a session created just
// before corosync died is not lost with corosync's queue. What is kept is the
// replication lag an operator sees: sessions not yet held by the peer and the
// age of the oldest. Bounded: past max_ops the oldest messages are forgotten
// (counted; the full resync on rejoin still carries them).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

namespace wp::ha {

class ReplicationLedger {
 public:
  explicit ReplicationLedger(size_t max_ops) : max_ops_(max_ops) {}
  struct Message {
    uint64_t seq = 0;
    uint64_t oldest_ms = 0;  // when a worker posted the oldest op inside
    size_t ops = 0;
    std::string bytes;  // the HaMessage as sent
  };
  void sent(Message m);
  void acked(uint64_t seq);
  // Everything unacknowledged, oldest first; the ledger is left empty (what
  // is sent again is recorded again under its new sequence number).
  std::deque<Message> take_unacked();
  size_t unacked_ops() const { return ops_; }
  uint64_t lag_ms(uint64_t now_ms) const;
  uint64_t forgotten_ops() const { return forgotten_; }

 private:
  std::deque<Message> kept_;
  size_t ops_ = 0;
  size_t max_ops_;
  uint64_t forgotten_ = 0;
};

}  // namespace wp::ha
