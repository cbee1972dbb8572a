// LAN IPv6 fragments of IPv6 sessions over SVR; see svr6_reassembly.h.
#include "dataplane/worker/svr6_reassembly.h"

#include <cstring>

#include "dataplane/ip/packet.h"
#include "dataplane/session/owner.h"
#include "dataplane/worker/ipv6_drops.h"

namespace wp {
namespace {

constexpr uint32_t kFragHdrLen = 8;

// Whether `a` is under one of the services' IPv6 prefixes.
bool under_service(const RouterModel& rm, const Ipv6& a) {
  for (const ServiceModel& s : rm.services)
    for (const auto& p : s.prefixes6)
      if (p.contains(a)) return true;
  return false;
}

}  // namespace

bool Svr6Reassembly::wants(const Ipv6View& v, int iface) const {
  const RouterModel& rm = ctx_.rm();
  if (!rm.ipv6_routing || iface < 0 || rm.interfaces[static_cast<size_t>(iface)].wan) return false;
  return under_service(rm, v.dst) || under_service(rm, v.src);
}

bool Svr6Reassembly::take(rte_mbuf* m, const Ipv6View& v) {
  // The datagram's worker: every fragment of it has the same key, ports or not.
  const uint32_t owner = owner_of_class(fragment_class6(v), ctx_.shared.workers ? ctx_.shared.workers : 1);
  if (owner != ctx_.id) return handoff_.stage(m, owner), false;
  const ReassemblyResult res = table_.add(pkt_data(m), v, ctx_.now_ms);
  if (uint32_t t = table_.take_timeouts()) ctx_.counters->drop(DropReason::ipv6_frag_timeout, t);
  if (res == ReassemblyResult::pending) {
    ctx_.counters->add(Counter::ipv6_fragments_received);
    rte_pktmbuf_free(m);
    return false;
  }
  if (res != ReassemblyResult::complete) return ctx_.drop(m, ipv6_frag_drop_reason(res)), false;
  ctx_.counters->add(Counter::ipv6_fragments_received);
  const uint32_t id = v.frag.id;
  // Into `m` itself: the last fragment's Ethernet header, 8 bytes for the marker, the datagram.
  uint8_t l2[kEthHdrLen];
  std::memcpy(l2, pkt_data(m), kEthHdrLen);
  m->data_off = RTE_PKTMBUF_HEADROOM;
  uint8_t* d = pkt_data(m);
  const size_t room = m->buf_len - RTE_PKTMBUF_HEADROOM - kEthHdrLen - kFragHdrLen;
  const size_t n = table_.take(d + kEthHdrLen + kFragHdrLen, room);
  if (n == 0) return ctx_.drop(m, DropReason::ipv6_frag_too_big), false;
  std::memcpy(d, l2, kEthHdrLen);
  uint8_t* ip = d + kEthHdrLen;
  const uint8_t upper = ip[kFragHdrLen + 6];
  if (upper == kProtoHopByHop || upper == kProtoRouting || upper == kProtoDestOpts) {
    // Per-fragment extension headers: whole without the marker (Svr6Lan refuses them, svr6_ext_header).
    std::memmove(ip, ip + kFragHdrLen, n);
    m->data_len = static_cast<uint16_t>(kEthHdrLen + n);
  } else {
    // The IPv6 header moves back over the gap, which becomes an atomic Fragment header (RFC 6946).
    std::memmove(ip, ip + kFragHdrLen, kIpv6HdrLen);
    uint8_t* f = ip + kIpv6HdrLen;
    f[0] = upper;
    f[1] = 0;
    store_be16(f + 2, 0);  // offset 0, M clear
    store_be32(f + 4, id);
    ip[6] = kProtoFragment;
    store_be16(ip + 4, static_cast<uint16_t>(load_be16(ip + 4) + kFragHdrLen));
    m->data_len = static_cast<uint16_t>(kEthHdrLen + n + kFragHdrLen);
  }
  m->pkt_len = m->data_len;
  ctx_.counters->add(Counter::ipv6_datagrams_reassembled);
  return true;
}

void Svr6Reassembly::age() {
  if (table_.in_use())
    if (uint32_t n = table_.expire(ctx_.now_ms, kExpireBudget)) ctx_.counters->drop(DropReason::ipv6_frag_timeout, n);
}

}  // namespace wp
