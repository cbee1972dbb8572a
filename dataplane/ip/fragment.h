// IPv4 fragmentation on the way out (RFC 791 § 3.2 "fragmentation"):
// a sealed SVR packet (metadata, IV, padding, sequence number, HMAC added)
// that no longer fits the WAN MTU leaves as fragments instead of being
// dropped; the next router reassembles (ip/reassembly.h) before it verifies.
//
// Copying, not chaining: the dataplane keeps every packet in one segment
// (pkt_data, parse, crypto all assume it), and oversize packets are the
// exception (UDP near the LAN MTU), so the first fragment stays in the
// original mbuf (truncated) and each further one is a fresh mbuf from the
// same pool with a copy of the L2 + IPv4 base header and its slice of data.
// Options are not copied to later fragments (IHL 5): we originate none, and
// RFC 791 copies only those with the copy flag. DPDK's rte_ip_frag would
// need indirect-mbuf chains and a second pool, which every later step would
// then have to linearise. DF is the caller's decision (svr/fragments.cc).
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "dataplane/ip/packet.h"

namespace wp {

inline constexpr uint32_t kMaxTxFragments = 8;

// Splits the datagram in `m` (L2 header of `pp.l3` bytes first, single
// segment) into fragments of at most `mtu` IP bytes, all with IP id `ip_id`
// and DF clear. out[0] is `m` itself. Returns the number of fragments, or 0
// (m untouched) when more than `cap` would be needed or the pool is empty.
uint32_t fragment_ipv4(rte_mbuf* m, const ParsedPacket& pp, uint16_t mtu, uint16_t ip_id, rte_mbuf** out, uint32_t cap);

}  // namespace wp
