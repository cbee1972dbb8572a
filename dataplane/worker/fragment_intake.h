// What every worker step that reassembles does with a fragment its table
// (ip/reassembly.h, ip/ipv6_reassembly.h) answered: the WAN's IPv4 and IPv6
// waypoint tables (svr/fragments.h), NAT64's on the LAN (nat64_step.h) and
// the LAN's IPv6 sessions over SVR (svr6_reassembly.h). A held fragment's
// data is in the table, so its mbuf is freed and counted as received; a
// refused one is dropped with the table's verdict as its reason (IPv4's
// frag_* or IPv6's ipv6_frag_* reasons); the datagrams a table discarded on
// timeout are counted on every call and on every aging sweep. Fast path: no
// allocation, no exceptions, the table's type picks its reasons at compile time.
#pragma once

#include <rte_mbuf.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "dataplane/ip/ipv6_reassembly.h"
#include "dataplane/ip/packet.h"
#include "dataplane/ip/packet_edit.h"
#include "dataplane/ip/reassembly.h"
#include "dataplane/worker/context.h"
#include "dataplane/worker/ipv6_drops.h"

namespace wp {

// Each table's drop reasons: a datagram it discarded on timeout, a fragment it refused.
template <class Table>
struct FragmentDrops;

template <>
struct FragmentDrops<ReassemblyTable> {
  static constexpr DropReason timeout = DropReason::frag_timeout;
  static constexpr DropReason refused(ReassemblyResult r) {
    switch (r) {
      case ReassemblyResult::duplicate: return DropReason::frag_duplicate;
      case ReassemblyResult::overlap: return DropReason::frag_overlap;
      case ReassemblyResult::too_many: return DropReason::frag_too_many;
      case ReassemblyResult::too_big: return DropReason::frag_too_big;
      case ReassemblyResult::table_full: return DropReason::frag_table_full;
      case ReassemblyResult::source_limit: return DropReason::frag_source_limit;
      case ReassemblyResult::pending:
      case ReassemblyResult::complete:
      case ReassemblyResult::malformed:
      case ReassemblyResult::not_fragment: break;  // IPv6 only
    }
    return DropReason::frag_malformed;
  }
};

template <>
struct FragmentDrops<Ipv6ReassemblyTable> {
  static constexpr DropReason timeout = DropReason::ipv6_frag_timeout;
  static constexpr DropReason refused(ReassemblyResult r) { return ipv6_frag_drop_reason(r); }
};

// After `table` answered `res` for fragment `m`: true when `m` completed its
// datagram (`m` is still the caller's, the datagram to take out of the table,
// counted `received`); false when `m` is gone, held (freed, counted
// `received`) or dropped with the table's reason.
template <class Table>
bool fragment_completes(WorkerContext& ctx, Table& table, ReassemblyResult res, rte_mbuf* m, Counter received) {
  if (uint32_t t = table.take_timeouts()) ctx.counters->drop(FragmentDrops<Table>::timeout, t);
  if (res == ReassemblyResult::pending) {
    ctx.counters->add(received);
    rte_pktmbuf_free(m);
    return false;
  }
  if (res != ReassemblyResult::complete) return ctx.drop(m, FragmentDrops<Table>::refused(res)), false;
  ctx.counters->add(received);
  return true;
}

// The datagram `table` just completed, written over `m` (the last fragment's
// mbuf, whose Ethernet header it keeps) `gap` bytes after that header, from
// the start of the mbuf's buffer; `m`'s lengths are Ethernet, gap and
// datagram. Returns the datagram's length, 0 when it does not fit `m` (the
// datagram is gone from the table either way).
template <class Table>
size_t take_datagram(Table& table, rte_mbuf* m, size_t gap = 0) {
  uint8_t l2[kEthHdrLen];
  std::memcpy(l2, pkt_data(m), kEthHdrLen);
  m->data_off = RTE_PKTMBUF_HEADROOM;
  uint8_t* d = pkt_data(m);
  const size_t n = table.take(d + kEthHdrLen + gap, m->buf_len - RTE_PKTMBUF_HEADROOM - kEthHdrLen - gap);
  if (n == 0) return 0;
  std::memcpy(d, l2, kEthHdrLen);
  m->data_len = static_cast<uint16_t>(kEthHdrLen + gap + n);
  m->pkt_len = m->data_len;
  return n;
}

// The aging sweep: up to `budget` of `table`'s slots, its timeouts counted.
template <class Table>
void expire_fragments(WorkerContext& ctx, Table& table, uint32_t budget) {
  if (table.in_use() != 0)
    if (uint32_t n = table.expire(ctx.now_ms, budget)) ctx.counters->drop(FragmentDrops<Table>::timeout, n);
}

}  // namespace wp
