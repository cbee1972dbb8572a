// In-line flow performance monitoring on the fast path (docs/svr-wire-format.md
// TLV 26; the maths and the theory are in flow_monitor.h).
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
//    26, no data, signed; svr_metadata_only.cc builds it), which neither side
//    counts and the receiving router consumes.
// The receiving router acts on TLV 26 before stripping the block, so hosts
// never see it. Results go to the per-worker counters of the leg's path
// (PathWorkerCounters: single writer, no locks); the control thread sums
// them per window (path_monitor.cc) into the path's live metrics.
#include <cstring>

#include "dataplane/ip/packet_edit.h"
#include "dataplane/worker/worker.h"

namespace wp {
namespace {

constexpr int kLegA = 0, kLegB = 1;  // FlowMonitorTable::Slot::leg
constexpr uint16_t kInlineMarkerLen = kMetadataHeaderLen + kTlvHeaderLen + kPathMetricsLen;

}  // namespace

FlowMonitorTable::Slot* Worker::flow_slot(const Session& s, bool claim) {
  uint32_t idx = table_.index_of(&s);
  FlowMonitorTable::Slot& sl = flows_.slot_for(idx);
  if (FlowMonitorTable::owns(sl, idx, s.uuid)) return &sl;
  if (!claim) return nullptr;
  if (sl.session != UINT32_MAX && sl.session < table_.capacity()) {
    // Another session's slot: taken over only once that one is gone or idle.
    const Session& o = *table_.at(sl.session);
    if (o.in_use && o.uuid == sl.uuid && now_ms_ - sl.last_ms < FlowMonitorTable::kIdleMs) return nullptr;
  }
  sl = FlowMonitorTable::Slot{};
  sl.session = idx;
  sl.uuid = s.uuid;
  sl.last_ms = now_ms_;
  return &sl;
}

void Worker::flow_count_rx(const Session& s, Dir dir) {
  int leg = dir == Dir::forward ? kLegA : kLegB;
  if (!(leg == kLegA ? s.side_a_wan() : s.side_b_wan())) return;
  if (FlowMonitorTable::Slot* sl = flow_slot(s, false)) sl->leg[leg].count_rx();
}

size_t Worker::flow_out(rte_mbuf* m, ParsedPacket& pp, Session& s, Dir dir, const SideOut& out, bool may_mark) {
  int leg = dir == Dir::forward ? kLegB : kLegA;
  FlowMonitorTable::Slot* sl = flow_slot(s, may_mark);
  if (!sl) return 0;
  LegMonitor& lm = sl->leg[leg];
  size_t len = 0;
  if (may_mark && lm.marker_due(now_ms_, flow_period_ms_)) {
    // Inline only where the receiver treats the block as nothing but TLV 26.
    bool inline_ok = (s.crypto & ~kCryptoAdaptiveSkip) == 0 &&
                     uint32_t{pp.end} - pp.l3 + kInlineMarkerLen + kHmacTagLen <= model().interfaces[out.iface].mtu &&
                     !has_cookie(pkt_data(m) + pp.payload, pp.payload_len());
    uint8_t block[kMetadataHeaderLen + 2 * (kTlvHeaderLen + kPathMetricsLen)];
    MetadataWriter w(block, sizeof block);
    PathMetricsTlv t = lm.next_marker(now_ms_);
    if (!inline_ok) w.control_message(kControlKeepAlive);
    w.path_metrics(t);
    size_t n = w.finish();
    bool sent = false;
    if (inline_ok) {
      uint8_t* gap = n ? insert_at_payload(m, pp, static_cast<uint16_t>(n)) : nullptr;
      if (gap) {
        std::memcpy(gap, block, n);
        len = n;
        sent = true;
        counters_->add(Counter::flow_markers_inline);
      }
    } else if (n && send_control_block(m->pool, out, block, n)) {
      sent = true;
      counters_->add(Counter::flow_markers_alone);
    }
    sl->last_ms = now_ms_;
    if (sent) {
      if (PathTable* pt = shared_.paths; pt) {
        int p = pt->find(out.peer, out.iface);
        if (p >= 0) PathWorkerCounters::bump(pt->counters(id_, static_cast<size_t>(p)).flow_markers_tx);
      }
    }
  }
  lm.count_tx();  // after the marker: it opens its block, on both ends
  return len;
}

void Worker::flow_marker_in(Session& s, Dir dir, const PathMetricsTlv& t) {
  int leg = dir == Dir::forward ? kLegA : kLegB;
  const SideOut& side = leg == kLegA ? s.out_rev : s.out_fwd;
  if (side.peer < 0) return;
  FlowMonitorTable::Slot* sl = flow_slot(s, true);
  counters_->add(Counter::flow_markers_received);
  if (!sl) return;
  sl->last_ms = now_ms_;
  FlowSample fs = sl->leg[leg].on_marker(t, now_ms_);
  PathTable* pt = shared_.paths;
  int p = pt ? pt->find(side.peer, side.iface) : -1;
  if (p < 0) return;
  PathWorkerCounters& c = pt->counters(id_, static_cast<size_t>(p));
  PathWorkerCounters::bump(c.flow_markers_rx);
  if (fs.block) {
    PathWorkerCounters::bump(c.flow_blocks);
    PathWorkerCounters::bump(c.flow_sent, fs.sent);
    PathWorkerCounters::bump(c.flow_received, fs.received);
  }
  if (fs.rtt) {
    PathWorkerCounters::bump(c.flow_rtt_ms_sum, fs.rtt_ms);
    PathWorkerCounters::bump(c.flow_rtt_samples);
  }
  if (fs.delay_variation) {
    PathWorkerCounters::bump(c.flow_delta_ms_sum, fs.delta_ms);
    PathWorkerCounters::bump(c.flow_delta_samples);
  }
}

void Worker::flow_leg_moved(const Session& s, int side) {
  if (!flow_period_ms_) return;
  if (FlowMonitorTable::Slot* sl = flow_slot(s, false)) sl->leg[side].reset();
}

}  // namespace wp
