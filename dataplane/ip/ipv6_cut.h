// Cutting an IPv6 packet into fragments (RFC 8200 § 4.5), byte-oriented:
// NAT64 sends an IPv4 reply without DF that exceeds the client's link MTU
// once translated this way (RFC 7915 § 4; worker/nat64_step.h § Fragments).
// The packet has no extension headers (we translated it: the unfragmentable
// part is the 40-byte IPv6 header); every fragment gets a copy of it, its own
// payload length and next header 44, then an 8-byte Fragment header with the
// original next header, its offset, M and the datagram's 32-bit
// identification; all but the last carry a multiple of 8 payload bytes.
// ipv4_cut.h is the IPv4 counterpart.
#pragma once

#include <algorithm>
#include <cstdint>

#include "dataplane/ip/packet.h"

namespace wp {

inline constexpr uint8_t kIpv6FragmentHeader = 44;
inline constexpr uint32_t kIpv6FragHdrLen = 8;

struct Ipv6Cut {
  uint32_t chunk = 0;  // payload bytes per fragment (the last may hold fewer)
  uint32_t count = 0;  // fragments; 0: `max_ip` leaves no room for 8 payload bytes
};

// `payload` bytes after a 40-byte header, in fragments of at most `max_ip` IPv6 bytes.
inline Ipv6Cut ipv6_cut(uint32_t payload, uint32_t max_ip) {
  if (max_ip < 40 + kIpv6FragHdrLen + 8) return {};
  const uint32_t chunk = (max_ip - 40 - kIpv6FragHdrLen) & ~7u;
  return {chunk, payload == 0 ? 1 : (payload + chunk - 1) / chunk};
}

// Writes fragment `i` of `c`'s headers at `out` (48 bytes): the datagram's
// 40-byte IPv6 header `ip` with the fragment's payload length and next
// header 44, then the Fragment header (next header `next`, identification
// `id`). Returns where its payload starts in the datagram's payload and
// writes its length to `len`.
inline uint32_t ipv6_cut_header(uint8_t* out, const uint8_t* ip, const Ipv6Cut& c, uint32_t i, uint32_t payload,
                                uint8_t next, uint32_t id, uint32_t& len) {
  const uint32_t off = i * c.chunk;
  len = std::min(c.chunk, payload - off);
  std::copy(ip, ip + 40, out);
  store_be16(out + 4, static_cast<uint16_t>(kIpv6FragHdrLen + len));
  out[6] = kIpv6FragmentHeader;
  uint8_t* fh = out + 40;
  fh[0] = next;
  fh[1] = 0;
  store_be16(fh + 2, static_cast<uint16_t>(off | (i + 1 < c.count ? 1u : 0u)));  // offset in 8-byte units << 3
  store_be32(fh + 4, id);
  return off;
}

}  // namespace wp
