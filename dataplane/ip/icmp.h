// ICMP errors the router originates (RFC 792): "fragmentation needed and DF
// set" (type 3 code 4) with the next-hop MTU of RFC 1191, quoting the
// offending datagram's IP header and first 64 bits of data.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "dataplane/ip/ipv4.h"

namespace wp {

// An Ethernet frame (addresses left to the transmitter) from `src` to `dst`
// quoting `ip` (the IPv4 header of the datagram refused, `quote` bytes of it
// and its data). nullptr when `pool` has no mbuf.
rte_mbuf* build_icmp_frag_needed(rte_mempool* pool, const uint8_t* ip, uint16_t quote, Ipv4 src, Ipv4 dst,
                                 uint16_t mtu);

}  // namespace wp
