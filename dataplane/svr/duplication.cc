// Packet duplication; see duplication.h.
#include "dataplane/svr/duplication.h"

#include "dataplane/control/waypoint6_addr.h"
#include "dataplane/ip/checksum.h"
#include "dataplane/ip/packet_edit.h"
#include "dataplane/paths/path_table.h"

namespace wp {
namespace {

uint32_t saturating_add(uint32_t a, uint32_t b) { return a + b < a ? UINT32_MAX : a + b; }

// The copy's addresses are the second path's: IPv4 and L4 checksums updated
// incrementally, TTL untouched (rewrite_tuple already took one off).
void readdress(rte_mbuf* m, ParsedPacket& pp, Ipv4 src, Ipv4 dst) {
  uint8_t* d = pkt_data(m);
  uint8_t* ip = d + pp.l3;
  uint8_t* l4 = d + pp.l4;
  const uint16_t off = l4_check_offset(pp.proto);
  uint16_t ipcheck = load_be16(ip + 10);
  uint16_t l4check = load_be16(l4 + off);
  const bool l4_has_check = !(pp.proto == kProtoUdp && l4check == 0);
  ipcheck = csum_update32(csum_update32(ipcheck, pp.src, src), pp.dst, dst);
  l4check = csum_update32(csum_update32(l4check, pp.src, src), pp.dst, dst);
  store_be32(ip + 12, src);
  store_be32(ip + 16, dst);
  store_be16(ip + 10, ipcheck);
  if (l4_has_check) store_be16(l4 + off, pp.proto == kProtoUdp && l4check == 0 ? 0xffff : l4check);
  pp.src = src;
  pp.dst = dst;
}

}  // namespace

Duplication::Duplication(WorkerContext& ctx) : ctx_(ctx) {
  if (ctx.model && ctx.model->duplication && ctx.table.ok())
    states_ = std::make_unique<DupState[]>(ctx.table.capacity());  // control path: before the worker runs
}

void Duplication::start(Session& s) {
  if (!enabled() || !s.side_b_wan() || !ctx_.rm().services[static_cast<size_t>(s.service)].duplicate) return;
  if (is_waypoint6_standin(s.out_fwd.tuple.dst)) return;  // IPv6 waypoints: one pair, no second path (svr/waypoint6.h)
  s.set_duplicated();
  state_of(s) = DupState{};
}

bool Duplication::learn(Session& s, const Metadata& md) {
  if (!md.duplicated || s.duplicated()) return true;
  if (!enabled()) return false;
  s.set_duplicated();
  state_of(s) = DupState{};
  return true;
}

bool Duplication::tag(rte_mbuf* m, ParsedPacket& pp, Session& s) {
  trim_padding(m, pp);
  if (m->nb_segs != 1 || rte_pktmbuf_tailroom(m) < kDupSeqLen) return false;
  auto* tail = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, kDupSeqLen));
  DupState& st = state_of(s);
  store_be32(tail, ++st.tx_seq);
  pp.end = static_cast<uint16_t>(pp.end + kDupSeqLen);
  set_lengths(pkt_data(m), pp);
  finish_checksums(m, pp);
  ctx_.counters->add(Counter::dup_packets_sent);
  return true;
}

int Duplication::second_path(const Session& s, int from) const {
  const PathTable* pt = ctx_.shared.paths;
  if (!pt) return -1;
  const size_t service = static_cast<size_t>(s.service);
  int best = -1;
  uint8_t best_rank = 0;
  const bool v6 = is_waypoint6_standin(s.out_fwd.tuple.dst);  // the copy rides the same family's waypoints
  for (size_t p = 0; p < pt->size(); ++p) {
    if (static_cast<int>(p) == from || pt->path(p).peer != s.out_fwd.peer || pt->path(p).v6 != v6) continue;
    const uint8_t r = pt->rank(service, p);
    if (r == kRankUnusable) continue;
    if (best < 0 || r < best_rank) {
      best = static_cast<int>(p);
      best_rank = r;
    }
  }
  return best;
}

rte_mbuf* Duplication::copy(rte_mbuf* m, const ParsedPacket& pp, Session& s, const SideOut& out, SideOut& out2) {
  const PathTable* pt = ctx_.shared.paths;
  const int p = pt ? second_path(s, pt->find(out.peer, out.iface, is_waypoint6_standin(out.tuple.dst))) : -1;
  if (p < 0) {
    ctx_.counters->add(Counter::dup_single_path);
    return nullptr;
  }
  const PathModel& path = pt->path(static_cast<size_t>(p));
  out2 = out;
  out2.tuple.src = path.local;
  out2.tuple.dst = path.remote;
  out2.iface = static_cast<int8_t>(path.iface);
  out2.next_hop = path.next_hop;
  // The pair may belong to another of our sessions on that path: its replies
  // arrive with this key. Then this session's copies stay home.
  if (SessionRef other = ctx_.table.lookup(out2.tuple.reversed()); other && other.session != &s) {
    ctx_.counters->add(Counter::dup_single_path);
    return nullptr;
  }
  rte_mbuf* c = rte_pktmbuf_copy(m, m->pool, 0, UINT32_MAX);
  if (!c) {
    ctx_.counters->add(Counter::dup_single_path);
    return nullptr;
  }
  ParsedPacket cp = pp;
  readdress(c, cp, out2.tuple.src, out2.tuple.dst);
  DupState& st = state_of(s);
  st.copies_sent = saturating_add(st.copies_sent, 1);
  ctx_.counters->add(Counter::dup_copies_sent);
  return c;
}

bool Duplication::accept(rte_mbuf* m, ParsedPacket& pp, Session& s) {
  if (!enabled()) return true;  // learn() never marked a session here
  if (pp.payload_len() < kDupSeqLen) {
    ctx_.drop(m, DropReason::dup_short);
    return false;
  }
  const uint32_t seq = load_be32(pkt_data(m) + pp.end - kDupSeqLen);
  DupState& st = state_of(s);
  const DedupResult r = dedup_accept(st.rx, seq);
  if (r.gaps) {
    ctx_.counters->add(Counter::dup_gaps, r.gaps);
    st.gaps = saturating_add(st.gaps, r.gaps);
  }
  switch (r.verdict) {
    case DedupVerdict::first: break;
    case DedupVerdict::duplicate:
      st.removed = saturating_add(st.removed, 1);
      ctx_.drop(m, DropReason::dup_removed);
      return false;
    case DedupVerdict::late: ctx_.drop(m, DropReason::dup_late); return false;
  }
  strip_at_payload(m, pp, 0, kDupSeqLen);
  return true;
}

SessionRef Duplication::alias(const ParsedPacket& pp) const {
  const PathTable* pt = ctx_.shared.paths;
  if (!enabled() || !pt) return {};
  int at = -1;
  for (size_t p = 0; p < pt->size() && at < 0; ++p)
    if (pt->path(p).remote == pp.src && pt->path(p).local == pp.dst) at = static_cast<int>(p);
  if (at < 0) return {};
  const int peer = pt->path(static_cast<size_t>(at)).peer;
  for (size_t p = 0; p < pt->size(); ++p) {
    const PathModel& other = pt->path(p);
    if (static_cast<int>(p) == at || other.peer != peer) continue;
    SessionRef ref = ctx_.table.lookup({other.remote, other.local, pp.sport, pp.dport, pp.proto});
    if (ref && ref.dir == Dir::forward && ref.session->duplicated() && ref.session->out_rev.peer == peer) return ref;
  }
  return {};
}

}  // namespace wp
