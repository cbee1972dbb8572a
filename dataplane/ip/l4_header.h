// The TCP header fields both IP versions' parsers read (RFC 793 § 3.1:
// ports, flags, data offset), checked against what is left of the datagram.
#pragma once

#include <cstdint>

#include "dataplane/ip/packet.h"

namespace wp {

struct TcpHeader {
  uint16_t sport = 0, dport = 0;
  uint16_t len = 0;  // data offset, bytes
  uint8_t flags = 0;
};

// False when `left` bytes cannot hold the header or its data offset is below 20 or past `left`.
inline bool read_tcp_header(const uint8_t* l4, uint32_t left, TcpHeader& h) {
  if (left < 20) return false;
  uint32_t hlen = (l4[12] >> 4) * 4u;
  if (hlen < 20 || hlen > left) return false;
  h = {load_be16(l4), load_be16(l4 + 2), static_cast<uint16_t>(hlen), l4[13]};
  return true;
}

}  // namespace wp
