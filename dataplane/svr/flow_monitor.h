// In-line flow performance monitoring on the fast path (docs/svr-wire-format.md
// TLV 26; the maths and the theory are in paths/flow_monitor.h).
//
// Every packet that passes emit() is counted on the WAN leg it arrived from
// and the one it leaves on, for sessions that own a monitor slot. When a
// leg's block is due, the packet leaving on it opens the next block:
//  - inline: a metadata block holding only TLV 26 (26 bytes) is inserted
//    and the packet signed with the pair key like any metadata packet, when
//    the handshake is closed, the packet has room under the MTU and the
//    session's data is not encrypted/HMACed per packet (the receiver must
//    not mistake it for a crypto-handshake packet);
//  - otherwise in a packet of its own ahead of it (TLV 24 keep-alive + TLV
//    26, no data, signed; MetadataOnly::send_block builds it), which neither side
//    counts and the receiving router consumes.
// The receiving router acts on TLV 26 before stripping the block, so hosts
// never see it. Results go to the per-worker counters of the leg's path
// (PathWorkerCounters: single writer, no locks); the control thread sums
// them per window (paths/path_monitor.cc) into the path's live metrics.
#pragma once

#include <rte_mbuf.h>

#include <cstddef>
#include <cstdint>

#include "dataplane/ip/packet.h"
#include "dataplane/paths/flow_monitor.h"
#include "dataplane/session/session.h"
#include "dataplane/svr/metadata_only.h"
#include "dataplane/worker/context.h"

namespace wp {

class FlowMonitor {
 public:
  FlowMonitor(WorkerContext& ctx, MetadataOnly& metadata_only);
  bool enabled() const { return period_ms_ != 0; }

  // A packet of `s` arrived in `dir` (counted on the WAN leg it came from).
  void count_rx(const Session& s, Dir dir);
  // A packet leaving on WAN leg `out`: counts it, and opens a new block when
  // due; returns the length of an inline marker block inserted (to be signed
  // with the pair key), 0 when none (none due, or sent in a packet of its own).
  size_t count_tx(rte_mbuf* m, ParsedPacket& pp, Session& s, Dir dir, const SideOut& out, bool may_mark);
  // TLV 26 received on a packet of `s` travelling in `dir`.
  void marker_in(Session& s, Dir dir, const PathMetricsTlv& t);
  // The session's `side` moved path: its blocks there belong to the old one.
  void leg_moved(const Session& s, int side);

 private:
  FlowMonitorTable::Slot* slot(const Session& s, bool claim);
  size_t send_marker(rte_mbuf* m, ParsedPacket& pp, const Session& s, const SideOut& out, int leg, LegMonitor& lm);
  void record(const SideOut& side, const FlowSample& fs);

  WorkerContext& ctx_;
  MetadataOnly& metadata_only_;
  FlowMonitorTable flows_;
  uint32_t period_ms_ = 0;
};

}  // namespace wp
