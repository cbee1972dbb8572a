// Bounds-checked parsing of Ethernet / ARP / IPv4 / TCP / UDP / ICMP.
//
// The parser works on a contiguous byte range (one mbuf segment) and never
// reads past `len`: every header is checked against what is left before it is
// touched (RFC 791 § 3.1 IHL/total length, RFC 793 § 3.1 data offset, RFC 768
// length). The result is a set of offsets plus the 5-tuple in host order, so
// later steps (session lookup, NAT, metadata insert/strip) never re-parse.
// Frames may carry Ethernet padding: `end` is where the IP datagram ends.
#pragma once

#include <cstdint>

#include "dataplane/ip/ipv4.h"

namespace wp {

inline constexpr uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr uint16_t kEtherTypeArp = 0x0806;
inline constexpr uint8_t kProtoIcmp = 1;
inline constexpr uint8_t kProtoTcp = 6;
inline constexpr uint8_t kProtoUdp = 17;
inline constexpr uint16_t kEthHdrLen = 14;

inline constexpr uint8_t kTcpFin = 0x01;
inline constexpr uint8_t kTcpSyn = 0x02;
inline constexpr uint8_t kTcpRst = 0x04;
inline constexpr uint8_t kTcpAck = 0x10;

enum class ParseStatus : uint8_t {
  ipv4,       // IPv4 with a complete L4 header for TCP/UDP/ICMP (or other proto: l4 only)
  arp,        // Ethernet/IPv4 ARP, fields in `arp`
  not_ipv4,   // some other ethertype
  fragment,   // IPv4 fragment: l3 fields valid, no L4
  malformed,  // truncated or inconsistent headers
};

struct ArpFields {
  uint16_t op;  // 1 request, 2 reply
  uint8_t sha[6];
  Ipv4 spa;
  uint8_t tha[6];
  Ipv4 tpa;
};

struct ParsedPacket {
  ParseStatus status = ParseStatus::malformed;
  uint16_t l3 = 0;       // IPv4 header offset
  uint16_t l4 = 0;       // L4 header offset
  uint16_t payload = 0;  // L4 payload offset
  uint16_t end = 0;      // one past the IP datagram (frame may be longer: padding)
  uint8_t proto = 0;
  uint8_t ttl = 0;
  uint8_t tcp_flags = 0;
  Ipv4 src = 0, dst = 0;
  uint16_t sport = 0, dport = 0;  // for ICMP echo: identifier in both
  ArpFields arp{};

  uint16_t payload_len() const { return static_cast<uint16_t>(end - payload); }
};

ParsedPacket parse_packet(const uint8_t* data, uint32_t len);

// Big-endian loads/stores on unaligned bytes.
inline uint16_t load_be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline uint32_t load_be32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}
inline void store_be16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void store_be32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

}  // namespace wp
