// IPv6 fragments of a packet that leaves too big for its link (the NAT64 and NAT46 steps:
// a translated packet without DF, RFC 7915 § 4.1; a restored SVR datagram its sender had
// fragmented, svr/svr6_lan.h), cut and sent in one call.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "dataplane/ip/fragment.h"
#include "dataplane/worker/tx.h"

namespace wp {

inline constexpr uint32_t kMaxFragments6 = 16;  // IPv6 fragments of one translated packet

// `m` (fragment_ipv6's form) cut into fragments of at most `mtu` IPv6 bytes with
// identification `id`, each queued on `iface` to the header's on-link destination.
// Not ok: nothing was sent and `m` is the caller's, to drop with the reason for the status.
inline Fragment6Result transmit6_fragments(Tx& tx, rte_mbuf* m, int iface, uint32_t mtu, uint32_t id) {
  rte_mbuf* out[kMaxFragments6];
  const Fragment6Result r = fragment_ipv6(m, mtu, id, out, kMaxFragments6);
  for (uint32_t i = 0; i < r.count; ++i) tx.transmit6(out[i], iface);
  return r;
}

// The same, each fragment queued to `next_hop` on `iface` (a restored SVR datagram's next hop,
// svr/svr6_lan.h: the server may be behind a gateway).
inline Fragment6Result transmit6_fragments(Tx& tx, rte_mbuf* m, int iface, const Ipv6& next_hop, uint32_t mtu,
                                           uint32_t id) {
  rte_mbuf* out[kMaxFragments6];
  const Fragment6Result r = fragment_ipv6(m, mtu, id, out, kMaxFragments6);
  for (uint32_t i = 0; i < r.count; ++i) tx.transmit6(out[i], iface, next_hop);
  return r;
}

}  // namespace wp
