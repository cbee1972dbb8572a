// LAN IPv6 fragments of IPv6 sessions over SVR; see svr6_reassembly.h.
#include "dataplane/worker/svr6_reassembly.h"

#include <cstring>

#include "dataplane/ip/packet.h"
#include "dataplane/session/owner.h"
#include "dataplane/worker/fragment_intake.h"

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
  const uint32_t owner = owner_of_class(fragment_class6(v), ctx_.shared.workers);
  if (owner != ctx_.id) return handoff_.stage(m, owner), false;
  if (!fragment_completes(ctx_, table_, table_.add(pkt_data(m), v, ctx_.now_ms), m, Counter::ipv6_fragments_received))
    return false;
  const uint32_t id = v.frag.id;
  // Into `m` itself: the last fragment's Ethernet header, 8 bytes for the marker, the datagram.
  const size_t n = take_datagram(table_, m, kFragHdrLen);
  if (n == 0) return ctx_.drop(m, DropReason::ipv6_frag_too_big), false;
  uint8_t* ip = pkt_data(m) + kEthHdrLen;
  const uint8_t upper = ip[kFragHdrLen + 6];
  if (upper == kProtoHopByHop || upper == kProtoRouting || upper == kProtoDestOpts) {
    // Per-fragment extension headers: whole without the marker (Svr6Lan refuses them, svr6_ext_header).
    std::memmove(ip, ip + kFragHdrLen, n);
    m->data_len = static_cast<uint16_t>(kEthHdrLen + n);
    m->pkt_len = m->data_len;
  } else {
    // The IPv6 header moves back over the gap, which becomes an atomic Fragment header (RFC 6946).
    std::memmove(ip, ip + kFragHdrLen, kIpv6HdrLen);
    uint8_t* f = ip + kIpv6HdrLen;
    f[0] = upper;
    f[1] = 0;
    store_be16(f + 2, 0);  // offset 0, M clear
    store_be32(f + 4, id);
    ip[6] = kProtoFragment;
    store_be16(ip + 4, static_cast<uint16_t>(load_be16(ip + 4) + kFragHdrLen));  // m's lengths count the gap
  }
  ctx_.counters->add(Counter::ipv6_datagrams_reassembled);
  return true;
}

void Svr6Reassembly::age() { expire_fragments(ctx_, table_, kExpireBudget); }

}  // namespace wp
