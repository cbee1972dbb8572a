// The owner rule for ESP (docs/ipsec.md § Which worker owns an SA).
//
// Both directions of a tunnel's SAs live on the worker that owns the
// tunnel's affinity class, `tunnel & 63` (session/owner.h: class % workers).
// Our inbound SPIs carry that class in their low 6 bits (we choose them as
// IKE responder, RFC 7296 § 2.17; RFC 4303 § 2.1 reserves 1..255), so an ESP
// packet dispatches on its SPI alone, without a lookup, like a WAN packet on
// its waypoint port; HA peers with other worker counts agree, as for
// sessions. Outbound, a packet routed into a tunnel is handed to the
// tunnel's owner before sealing, so one worker numbers each SA. Header-only:
// the IKE responder (control side) picks SPIs with it.
#pragma once

#include <cstdint>

#include "dataplane/session/owner.h"

namespace wp {

inline uint32_t tunnel_class(uint32_t tunnel) { return tunnel & (kAffinityClasses - 1); }
inline uint32_t class_of_spi(uint32_t spi) { return spi & (kAffinityClasses - 1); }
// An inbound SPI for `tunnel` from any random value above 255 (RFC 4303 § 2.1
// reserves 1..255): its low 6 bits replaced by the tunnel's class.
inline uint32_t spi_for_tunnel(uint32_t random, uint32_t tunnel) {
  uint32_t spi = (random & ~(kAffinityClasses - 1)) | tunnel_class(tunnel);
  return spi < 256 ? spi | 256 : spi;
}
inline uint32_t owner_of_spi(uint32_t spi, uint32_t workers) { return owner_of_class(class_of_spi(spi), workers); }
inline uint32_t owner_of_tunnel(uint32_t tunnel, uint32_t workers) {
  return owner_of_class(tunnel_class(tunnel), workers);
}

}  // namespace wp
