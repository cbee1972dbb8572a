// In-line flow monitoring on a worker; see flow_monitor.h.
#include "dataplane/svr/flow_monitor.h"

#include <cstring>

#include "dataplane/control/waypoint6_addr.h"
#include "dataplane/crypto/hmac.h"
#include "dataplane/ip/packet_edit.h"
#include "dataplane/paths/path_table.h"
#include "dataplane/svr/session_tlvs.h"

namespace wp {
namespace {

constexpr int kLegA = 0, kLegB = 1;  // FlowMonitorTable::Slot::leg
constexpr uint16_t kInlineMarkerLen = kMetadataHeaderLen + kTlvHeaderLen + kPathMetricsLen;
// TLV 16 and TLV 22 at most (session_tlvs.h: write_key_tlvs).
constexpr uint16_t kKeyTlvsMaxLen = 2 * kTlvHeaderLen + 4 + kMaxAdvertised;

}  // namespace

FlowMonitor::FlowMonitor(WorkerContext& ctx, MetadataOnly& metadata_only) : ctx_(ctx), metadata_only_(metadata_only) {
  // A sample of sessions is measured: the table holds flow_sessions() of them per worker.
  const PathTable* paths = ctx.shared.paths;
  if (paths && paths->flow_period_ms() && ctx.is_worker()) {
    flows_.init(paths->flow_sessions());
    period_ms_ = paths->flow_period_ms();
  }
}

FlowMonitorTable::Slot* FlowMonitor::slot(const Session& s, bool claim) {
  uint32_t idx = ctx_.table.index_of(&s);
  FlowMonitorTable::Slot& sl = flows_.slot_for(idx);
  if (FlowMonitorTable::owns(sl, idx, s.uuid)) return &sl;
  if (!claim) return nullptr;
  if (sl.session != UINT32_MAX && sl.session < ctx_.table.capacity()) {
    // Another session's slot: taken over only once that one is gone or idle.
    const Session& o = *ctx_.table.at(sl.session);
    if (o.in_use && o.uuid == sl.uuid && ctx_.now_ms - sl.last_ms < FlowMonitorTable::kIdleMs) return nullptr;
  }
  sl = FlowMonitorTable::Slot{};
  sl.session = idx;
  sl.uuid = s.uuid;
  sl.last_ms = ctx_.now_ms;
  return &sl;
}

void FlowMonitor::count_rx(const Session& s, Dir dir) {
  int leg = dir == Dir::forward ? kLegA : kLegB;
  if (!(leg == kLegA ? s.side_a_wan() : s.side_b_wan())) return;
  if (FlowMonitorTable::Slot* sl = slot(s, false)) sl->leg[leg].count_rx();
}

size_t FlowMonitor::count_tx(rte_mbuf* m, ParsedPacket& pp, Session& s, Dir dir, const SideOut& out, bool may_mark) {
  int leg = dir == Dir::forward ? kLegB : kLegA;
  FlowMonitorTable::Slot* sl = slot(s, may_mark);
  if (!sl) return 0;
  LegMonitor& lm = sl->leg[leg];
  size_t len = 0;
  if (may_mark && lm.marker_due(ctx_.now_ms, period_ms_)) {
    len = send_marker(m, pp, s, out, leg, lm);
    sl->last_ms = ctx_.now_ms;
  }
  lm.count_tx();  // after the marker: it opens its block, on both ends
  return len;
}

// `leg` is the leaving side (kLegA = side A): the pair-key version the block
// names is the one CryptoBatch::seal signs an inline marker with.
size_t FlowMonitor::send_marker(rte_mbuf* m, ParsedPacket& pp, const Session& s, const SideOut& out, int leg,
                                LegMonitor& lm) {
  const PairKey& key = ctx_.md_key(s, leg, out.peer);
  // Inline only where the receiver treats the block as nothing but TLV 26
  // (and the pair-key TLVs while rotating).
  uint8_t inline_block[kInlineMarkerLen + kKeyTlvsMaxLen];
  MetadataWriter iw(inline_block, sizeof inline_block);
  write_key_tlvs(iw, ctx_.rm().peers[out.peer], key.version, false);  // while rotating: which key signs it
  PathMetricsTlv t = lm.next_marker(ctx_.now_ms);
  iw.path_metrics(t);
  const size_t inline_len = iw.finish();
  // A duplicated session's forward packets carry no block (each goes on two
  // paths with its sequence number): its markers go alone.
  bool inline_ok = (s.crypto & ~kCryptoAdaptiveSkip) == 0 && !(s.duplicated() && leg == kLegB) &&
                   uint32_t{pp.end} - pp.l3 + inline_len + kHmacTagLen <= ctx_.rm().interfaces[out.iface].mtu &&
                   !has_cookie(pkt_data(m) + pp.payload, pp.payload_len());
  uint8_t alone_block[sizeof inline_block + kTlvHeaderLen + 1];
  const uint8_t* block = inline_block;
  size_t n = inline_len;
  if (!inline_ok) {
    MetadataWriter w(alone_block, sizeof alone_block);
    write_key_tlvs(w, ctx_.rm().peers[out.peer], key.version, false);
    w.control_message(kControlKeepAlive);
    w.path_metrics(t);
    n = w.finish();
    block = alone_block;
  }
  size_t len = 0;
  bool sent = false;
  if (inline_ok) {
    uint8_t* gap = n ? insert_at_payload(m, pp, static_cast<uint16_t>(n)) : nullptr;
    if (gap) {
      std::memcpy(gap, block, n);
      len = n;
      sent = true;
      ctx_.counters->add(Counter::flow_markers_inline);
    }
  } else if (n && metadata_only_.send_block(m->pool, out, key, block, n)) {
    sent = true;
    ctx_.counters->add(Counter::flow_markers_alone);
  }
  if (PathTable* pt = ctx_.shared.paths; sent && pt) {
    int p = pt->find(out.peer, out.iface, is_waypoint6_standin(out.tuple.dst));
    if (p >= 0) PathWorkerCounters::bump(pt->counters(ctx_.id, static_cast<size_t>(p)).flow_markers_tx);
  }
  return len;
}

void FlowMonitor::marker_in(Session& s, Dir dir, const PathMetricsTlv& t) {
  int leg = dir == Dir::forward ? kLegA : kLegB;
  const SideOut& side = leg == kLegA ? s.out_rev : s.out_fwd;
  if (side.peer < 0) return;
  FlowMonitorTable::Slot* sl = slot(s, true);
  ctx_.counters->add(Counter::flow_markers_received);
  if (!sl) return;
  sl->last_ms = ctx_.now_ms;
  record(side, sl->leg[leg].on_marker(t, ctx_.now_ms));
}

// A block of ours the far end counted, and delay samples, into the per-worker
// counters of the leg's path (single writer; the control thread sums them).
void FlowMonitor::record(const SideOut& side, const FlowSample& fs) {
  PathTable* pt = ctx_.shared.paths;
  int p = pt ? pt->find(side.peer, side.iface, is_waypoint6_standin(side.tuple.dst)) : -1;
  if (p < 0) return;
  PathWorkerCounters& c = pt->counters(ctx_.id, static_cast<size_t>(p));
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

void FlowMonitor::leg_moved(const Session& s, int side) {
  if (!period_ms_) return;
  if (FlowMonitorTable::Slot* sl = slot(s, false)) sl->leg[side].reset();
}

}  // namespace wp
