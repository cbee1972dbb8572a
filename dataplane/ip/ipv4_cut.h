// Cutting a flat IPv4 datagram into fragments (RFC 791 § 3.2), byte-oriented:
// NAT64 sends a reassembled IPv6 datagram that exceeds the IPv4 MTU this way
// (worker/nat64_step.h § Fragments), and fuzz_ipv6 checks that what is cut
// reassembles to the same datagram. Every fragment gets the datagram's
// 20-byte header (we originate no options), its own length, offset and MF,
// DF clear and a fresh header checksum; all but the last carry a multiple of
// 8 payload bytes. ip/fragment.h cuts an mbuf's datagram the same way.
#pragma once

#include <algorithm>
#include <cstdint>

#include "dataplane/ip/checksum.h"
#include "dataplane/ip/packet.h"

namespace wp {

struct Ipv4Cut {
  uint32_t chunk = 0;  // payload bytes per fragment (the last may hold fewer)
  uint32_t count = 0;  // fragments; 0: `max_ip` leaves no room for 8 payload bytes
};

// `payload` bytes after a 20-byte header, in fragments of at most `max_ip` IP bytes.
inline Ipv4Cut ipv4_cut(uint32_t payload, uint32_t max_ip) {
  if (max_ip < 20 + 8) return {};
  const uint32_t chunk = (max_ip - 20) & ~7u;
  return {chunk, payload == 0 ? 1 : (payload + chunk - 1) / chunk};
}

// Makes `ip` (a copy of the datagram's 20-byte header) fragment `i` of `c`;
// returns where its payload starts in the datagram's payload and writes its length to `len`.
inline uint32_t ipv4_cut_header(uint8_t* ip, const Ipv4Cut& c, uint32_t i, uint32_t payload, uint32_t& len) {
  const uint32_t off = i * c.chunk;
  len = std::min(c.chunk, payload - off);
  store_be16(ip + 2, static_cast<uint16_t>(20 + len));
  store_be16(ip + 6, static_cast<uint16_t>(off / 8 | (i + 1 < c.count ? 0x2000 : 0)));
  store_be16(ip + 10, 0);
  store_be16(ip + 10, ipv4_header_checksum(ip));
  return off;
}

}  // namespace wp
