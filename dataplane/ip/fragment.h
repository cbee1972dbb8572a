// IPv4 and IPv6 fragmentation on the way out (RFC 791 § 3.2 "fragmentation",
// RFC 8200 § 4.5):
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
// IPv6 only at the source of the header: the outer header of a packet to a
// peer's IPv6 waypoint (svr/fragments.cc) and NAT64's translated replies
// (worker/nat64_step.cc); ip/ipv6_cut.h writes the headers.
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

enum class Fragment6Status : uint8_t {
  ok,
  too_big,  // more than `cap` fragments, or a fragment larger than an mbuf of the pool
  no_room,  // no headroom for the first fragment's Fragment header
  no_mbuf,  // the pool is empty
};
struct Fragment6Result {
  Fragment6Status status = Fragment6Status::too_big;
  uint32_t count = 0;  // fragments in out[], out[0] being `m`; 0 unless ok
};
// Splits the IPv6 packet in `m` (Ethernet, a 40-byte IPv6 header without
// extension headers, the payload; one segment) into fragments of at most
// `mtu` IPv6 bytes (ip/ipv6_cut.h: a Fragment header with identification
// `id`, 8-byte multiples), each with the Ethernet header, port and hash
// (QoS class) of `m`. Not ok: `m` is untouched and nothing is allocated.
Fragment6Result fragment_ipv6(rte_mbuf* m, uint32_t mtu, uint32_t id, rte_mbuf** out, uint32_t cap);

}  // namespace wp
