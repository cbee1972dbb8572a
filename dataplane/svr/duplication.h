// Packet duplication: lossless delivery for the QoS classes listed in
// qos.duplicate (docs/qos.md § Packet duplication, wire format:
// docs/svr-wire-format.md § Duplication sequence number).
//
// Sender (the router whose side B is the WAN leg: ingress, or transit onward):
// a session of a duplicated class says so in its forward metadata (TLV 27,
// payload section, no value). Once its handshake is over, every forward packet
// that leaves without a metadata block gets a 4-byte sequence number appended
// to its data (before sealing, so it is encrypted and HMACed with the data
// where the session protects its packets), and a copy of it leaves on the
// second-best usable path to the same peer: same ports, that path's waypoint
// addresses. Both copies are sealed separately (each has its own per-packet
// crypto sequence, so the replay window passes both). No second path, the copy's
// port pair taken by another session of ours on it, or no mbuf for the copy:
// the packet leaves on one path only (dup_single_path).
//
// Receiver (side A is the WAN leg): TLV 27 marks the session; every forward
// packet without a block must end with the number. The copy that arrives on
// the other path matches no table key (its addresses are the other path's):
// on that miss the receiver looks the same ports up on the peer's other paths
// (alias()). The window (qos/dedup.h) passes the first copy, drops the
// second (dup_removed: expected, not an error), drops a number older than the
// window (dup_late) and counts numbers that left it unseen (dup_gaps: lost on
// both paths). Counts also per session (DupState).
//
// State per session lives in an array indexed like the session table,
// allocated when the worker starts and only if qos.duplicate is set (32
// bytes per session); a router without it drops a TLV 27 first packet
// (dup_unsupported). No allocation, no locks on the fast path; the copy's mbuf
// comes from the packet's pool.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>
#include <memory>

#include "dataplane/ip/packet.h"
#include "dataplane/qos/dedup.h"
#include "dataplane/session/session.h"
#include "dataplane/session/table.h"
#include "dataplane/svr/metadata.h"
#include "dataplane/worker/context.h"

namespace wp {

inline constexpr uint16_t kDupSeqLen = 4;

struct DupState {
  DedupWindow rx;             // receiver: side A's window
  uint32_t tx_seq = 0;        // sender: the last number sent on side B
  uint32_t removed = 0;       // receiver: second copies dropped (saturating)
  uint32_t gaps = 0;          // receiver: numbers lost on both paths (saturating)
  uint32_t copies_sent = 0;   // sender: second copies sent (saturating)
};

class Duplication {
 public:
  explicit Duplication(WorkerContext& ctx);
  // This worker keeps duplication state (qos.duplicate is set).
  bool enabled() const { return states_ != nullptr; }

  // Ingress / transit: a new session whose service's class is duplicated and
  // whose side B is a WAN leg becomes a duplicated session.
  void start(Session& s);
  // Receiver: a verified forward block of `s`. False when it carries TLV 27
  // and this router keeps no duplication state (the caller drops it:
  // dup_unsupported).
  bool learn(Session& s, const Metadata& md);
  // Sender, a forward packet of a duplicated session leaving on side B
  // without a block: appends the next sequence number (lengths and checksums
  // fixed). False when the mbuf has no room (the caller drops it).
  bool tag(rte_mbuf* m, ParsedPacket& pp, Session& s);
  // Then the copy for the second-best usable path (addresses rewritten,
  // checksums fixed), with `out2` to send it by; nullptr when it leaves on
  // one path only (counted).
  rte_mbuf* copy(rte_mbuf* m, const ParsedPacket& pp, Session& s, const SideOut& out, SideOut& out2);
  // Receiver, a forward packet of a duplicated session without a block
  // (after it verified and was decrypted): reads and removes the number and
  // runs the window. False when it consumed `m` (dropped, counted).
  bool accept(rte_mbuf* m, ParsedPacket& pp, Session& s);
  // Receiver, a WAN packet without metadata whose tuple matched nothing: the
  // duplicated session it is the other path's copy for, if any (the same
  // ports between the same peer's waypoint and ours on another path).
  SessionRef alias(const ParsedPacket& pp) const;

  const DupState* state(const Session& s) const {
    return states_ ? &states_[ctx_.table.index_of(&s)] : nullptr;
  }
  // The second-best usable path for `s` (its side B on `from`), -1 when none.
  int second_path(const Session& s, int from) const;

 private:
  DupState& state_of(const Session& s) { return states_[ctx_.table.index_of(&s)]; }

  WorkerContext& ctx_;
  std::unique_ptr<DupState[]> states_;
};

}  // namespace wp
