// An Ethernet/IPv4 ARP frame's EtherType and body (RFC 826), written into a
// zeroed frame of at least kArpFrameLen bytes; the caller sets the
// Ethernet addresses. Shared by the control thread's own ARP and the
// answers it gives the punt path's kernel interfaces.
#pragma once

#include <cstdint>
#include <cstring>

#include "dataplane/ip/packet.h"

namespace wp {

inline constexpr uint16_t kArpFrameLen = kEthHdrLen + 28;

inline void write_arp(uint8_t* frame, uint16_t op, const uint8_t* sha, Ipv4 spa, const uint8_t* tha, Ipv4 tpa) {
  store_be16(frame + 12, kEtherTypeArp);
  uint8_t* a = frame + kEthHdrLen;
  store_be16(a, 1);  // Ethernet
  store_be16(a + 2, kEtherTypeIpv4);
  a[4] = 6;
  a[5] = 4;
  store_be16(a + 6, op);
  std::memcpy(a + 8, sha, 6);
  store_be32(a + 14, spa);
  std::memcpy(a + 18, tha, 6);
  store_be32(a + 24, tpa);
}

}  // namespace wp
